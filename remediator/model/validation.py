"""Validation of names that come from alert labels before they reach an API.

Label values are written by the monitored workloads, not by us. Anything
used as a Kubernetes name, a namespace or an Ansible host must pass these
checks; the error text is what the audit log shows as the `denied` reason.
"""

from __future__ import annotations

import ipaddress
import re

ALERTNAME_MAX = 256
"""The longest `alertname` label an alert may have. It is stored in its own indexed
columns (the audit log's filters); Prometheus alert names are identifiers, and an
unbounded one could not be indexed on PostgreSQL (a btree entry holds ~2.7 KB)."""
NAMESPACE_MAX = 253
"""The longest `namespace` label: a Kubernetes name's limit (DNS subdomain), kept in
the audit log's indexed `namespace` column like the alert name."""

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InvalidTarget(ValueError):
    """A value that must not be used as a target name."""


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def namespace(value: str) -> str:
    """An RFC 1123 label: a Kubernetes namespace name."""
    if len(value) > 63 or not _DNS1123_LABEL.fullmatch(value):
        raise InvalidTarget(f"namespace {_shown(value)} is not a valid RFC 1123 label")
    return value


def object_name(value: str) -> str:
    """An RFC 1123 subdomain: a pod, deployment, statefulset, daemonset or HPA name."""
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise InvalidTarget(f"name {_shown(value)} is not a valid RFC 1123 subdomain")
    return value


def host(value: str) -> str:
    """An inventory host for Ansible's `--limit`: a hostname or an IP address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return value
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise InvalidTarget(f"host {_shown(value)} is not a valid hostname or IP address")
    return value


def identifier(value: str) -> str:
    """A variable name (Ansible extravar keys)."""
    if len(value) > 128 or not _IDENTIFIER.fullmatch(value):
        raise InvalidTarget(f"{_shown(value)} is not a valid identifier")
    return value
