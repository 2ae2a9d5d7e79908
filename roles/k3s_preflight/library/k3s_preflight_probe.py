#!/usr/bin/python
"""Ansible module: from this node, ping each peer and open a TCP connection to its K3s ports."""

from __future__ import annotations

DOCUMENTATION = r"""
module: k3s_preflight_probe
short_description: Probe the other nodes of the cluster over their (Tailscale) addresses
description:
  - Sends ICMP echo requests (the ping command) to every peer and opens a TCP
    connection to each of its K3s ports. A refused connection counts as reached
    (the peer answered; nothing listens before K3s is installed); a timeout or an
    unreachable network does not (a firewall drops the packets, or there is no route).
  - Changes nothing; safe in check mode.
options:
  peers:
    description: The peers, each a dict with name, address and ports (list of int).
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds to wait for each ping reply and each connection.
    type: float
    default: 2
  ping:
    description: The ping command.
    type: str
    default: ping
author: remediator maintainers
"""

RETURN = r"""
problems:
  description: One line per failed probe, naming this node, the peer, its address and the port.
  type: list
  elements: str
  returned: always
probes:
  description: Every probe and its outcome (ok, refused, timeout, unreachable, no-reply).
  type: list
  elements: dict
  returned: always
"""

import errno
import socket
import subprocess

from ansible.module_utils.basic import AnsibleModule


def tcp_outcome(address, port, timeout):
    """ok or refused: the peer answered; anything else: it did not."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "ok"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as error:
        if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "unreachable"
        return error.strerror or str(error)


def ping_outcome(command, address, timeout):
    argv = [command, "-c", "1", "-W", str(max(1, int(round(timeout)))), address]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return "cannot ping: %s" % error
    return "ok" if done.returncode == 0 else "no-reply"


def main():
    module = AnsibleModule(
        argument_spec={"peers": {"type": "list", "elements": "dict", "required": True},
                       "timeout": {"type": "float", "default": 2.0},
                       "ping": {"type": "str", "default": "ping"}},
        supports_check_mode=True)
    timeout = module.params["timeout"]
    probes, problems = [], []
    for peer in module.params["peers"]:
        name, address = str(peer["name"]), str(peer["address"])
        outcome = ping_outcome(module.params["ping"], address, timeout)
        probes.append({"peer": name, "address": address, "port": None, "outcome": outcome})
        if outcome != "ok":
            problems.append("-> %s (%s): ping %s" % (name, address, outcome))
        for port in peer.get("ports") or []:
            outcome = tcp_outcome(address, int(port), timeout)
            probes.append({"peer": name, "address": address, "port": int(port),
                           "outcome": outcome})
            if outcome not in ("ok", "refused"):
                problems.append("-> %s (%s) port %s/tcp: %s" % (name, address, port, outcome))
    module.exit_json(changed=False, probes=probes, problems=problems)


if __name__ == "__main__":
    main()
