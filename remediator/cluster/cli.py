"""`remediator cluster ...`: provision the K3s cluster and edit its inventory."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# The inventory (ruamel.yaml) and provisioning (ansible-runner) modules are
# imported by the commands that use them: every `remediator` invocation,
# `serve` included, builds this app, and should not pay for them.

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="Provision the K3s cluster with Ansible and edit its inventory.",
    no_args_is_help=True,
)


class NodeRole(StrEnum):
    server = "server"
    agent = "agent"


InventoryOption = Annotated[Path, typer.Option(
    "--inventory", "-i", envvar="REMEDIATOR_ANSIBLE_INVENTORY",
    help="the cluster's inventory file (see playbooks/inventory/hosts.example.yml)")]
PlaybookDirOption = Annotated[Path, typer.Option(
    "--playbook-dir", envvar="REMEDIATOR_PLAYBOOK_DIR", help="directory holding site.yml")]

KubeconfigOption = Annotated[Path | None, typer.Option(
    "--kubeconfig", envvar="KUBECONFIG",
    help="kubeconfig of the cluster (default ~/.kube/k3s.yaml, which site.yml writes)")]

_DEFAULT_INVENTORY = Path("playbooks/inventory/hosts.yml")
_EXAMPLE_INVENTORY = _DEFAULT_INVENTORY.with_name("hosts.example.yml")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _fail(message: str, code: int = 1) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def _no_inventory(inventory: Path) -> str:
    """A missing inventory, and how a first one is made."""
    return (f"inventory {inventory} not found: copy {_EXAMPLE_INVENTORY} to {inventory} "
            "and list your nodes in it (or pass --inventory FILE)")


def _split_tags(values: list[str] | None) -> list[str]:
    return [tag.strip() for value in values or [] for tag in value.split(",") if tag.strip()]


@app.command("provision")
def provision_command(
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    check: Annotated[bool, typer.Option("--check", help="dry run (ansible --check)")] = False,
    tags: Annotated[list[str] | None, typer.Option(
        "--tags", help="only tasks with these tags (repeat or comma-separate)")] = None,
    limit: Annotated[str | None, typer.Option("--limit", help="only these hosts")] = None,
    playbook_dir: PlaybookDirOption = Path("playbooks"),
) -> None:
    """Run site.yml against the inventory, with live progress and a recap table."""
    _run_play("site.yml", "provisioning", inventory=inventory, playbook_dir=playbook_dir,
              check=check, tags=_split_tags(tags), limit=limit)


def _run_play(playbook: str, what: str, *, inventory: Path, playbook_dir: Path,
              check: bool = False, tags: list[str] | None = None, limit: str | None = None,
              extravars: Mapping[str, Any] | None = None) -> None:
    """Run one of the cluster playbooks with live progress and the recap; exit 1 on failure."""
    from remediator.cluster.provision import failure_summary, provision

    if not inventory.is_file():
        raise _fail(_no_inventory(inventory))
    if not (playbook_dir / playbook).is_file():
        raise _fail(f"{playbook_dir / playbook} not found (use --playbook-dir)")
    try:
        result = provision(inventory=inventory, playbook_dir=playbook_dir, console=_console(),
                           playbook=playbook, check=check, tags=tags or (), limit=limit,
                           extravars=extravars)
    except ValueError as error:
        raise _fail(str(error), 2) from None
    if not result.ok:
        raise _fail(f"{what} {result.status}:\n{failure_summary(result)}")


@app.command("add-node")
def add_node_command(
    name: Annotated[str, typer.Argument(help="node name (RFC 1123), also its inventory host")],
    ip: Annotated[str, typer.Option("--ip", help="the node's (Tailscale) IP address")],
    role: Annotated[NodeRole, typer.Option("--role", help="server or agent")],
    gpu: Annotated[bool, typer.Option("--gpu", help="the node has NVIDIA GPUs")] = False,
    label: Annotated[list[str] | None, typer.Option(
        "--label", help="node label key=value (repeatable)")] = None,
    taint: Annotated[list[str] | None, typer.Option(
        "--taint", help="node taint key[=value]:Effect (repeatable)")] = None,
    inventory: InventoryOption = _DEFAULT_INVENTORY,
) -> None:
    """Add a node to the inventory (then run playbooks/add_node.yml -e k3s_new_node=NAME)."""
    from remediator.cluster import inventory as inv

    try:
        node = inv.Node(name=name, ip=ip, role=role.value, gpu=gpu,
                        labels=tuple(label or ()), taints=tuple(taint or ()))
        inv.add_node(inventory, node)
    except inv.InventoryError as error:
        raise _fail(str(error)) from None
    console = _console()
    console.print(f"added {role.value} [bold]{node.name}[/] ({node.ip}) to {inventory}",
                  soft_wrap=True)
    servers = len(inv.group_members(inventory.read_text(encoding="utf-8"), "server"))
    if role is NodeRole.server and servers == 2:
        console.print("[yellow]warning:[/] 2 servers: embedded etcd needs 1, or 3 and more; "
                      "add a third server before provisioning", soft_wrap=True)


@app.command("remove-node")
def remove_node_command(
    name: Annotated[str, typer.Argument(help="node name")],
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    force: Annotated[bool, typer.Option(
        "--force", help="go on when the drain does not finish or the node is unreachable "
        "(the Node object is deleted anyway)")] = False,
    drain_timeout: Annotated[str, typer.Option(
        "--drain-timeout", help="give the drain this long (kubectl duration: 90s, 5m)")] = "300s",
    inventory_only: Annotated[bool, typer.Option(
        "--inventory-only", help="only edit the inventory; the cluster is not touched")] = False,
    playbook_dir: PlaybookDirOption = Path("playbooks"),
) -> None:
    """Drain the node, uninstall K3s, delete its Node object, then drop it from the inventory.

    The inventory keeps the node if the removal stopped (a drain blocked by a
    PodDisruptionBudget, an unreachable node): run again with --force.
    """
    from remediator.cluster import inventory as inv

    try:
        inv.node_name(name)
        known = inv.hosts(inv.read_inventory(inventory))
        if name not in known:
            raise inv.InventoryError(f"node {name!r} is not in the inventory")
        timeout = inv.duration(drain_timeout)
    except inv.InventoryError as error:
        raise _fail(str(error)) from None
    if not inventory_only:
        _run_play("remove_node.yml", f"removal of {name}", inventory=inventory,
                  playbook_dir=playbook_dir,
                  extravars={"k3s_remove_node": name, "k3s_remove_force": force,
                             "k3s_remove_drain_timeout": timeout})
    try:
        removed = inv.remove_node(inventory, name)
    except inv.InventoryError as error:
        raise _fail(str(error)) from None
    address = removed.get("ansible_host", "")
    _console().print(f"removed [bold]{name}[/] {f'({address}) ' if address else ''}"
                     f"from {inventory}", soft_wrap=True)


@app.command("upgrade")
def upgrade_command(
    version: Annotated[str, typer.Option("--version", help="K3s release, e.g. v1.32.1+k3s1")],
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    check: Annotated[bool, typer.Option(
        "--check", help="change nothing: print the per-node plan (current and target "
        "version, upgrade / already at target / skipped and why, in the order they go)")] = False,
    limit: Annotated[str | None, typer.Option("--limit", help="only these hosts")] = None,
    playbook_dir: PlaybookDirOption = Path("playbooks"),
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Upgrade K3s one node at a time (upgrade.yml): drain, swap, health gate, uncordon.

    A node that fails its health gate gets its previous binary back and the
    run stops before the next node. With --check, the play runs in check mode
    and the plan is printed; the current versions come from the cluster API
    (--kubeconfig) when it answers.
    """
    from remediator.cluster.versions import VersionError, k3s_version

    try:
        wanted = k3s_version(version)
    except VersionError as error:
        raise _fail(str(error), 2) from None
    if check:
        _upgrade_plan(wanted, inventory=inventory, playbook_dir=playbook_dir, limit=limit,
                      kubeconfig=kubeconfig)
        return
    _run_play("upgrade.yml", f"upgrade to {wanted}", inventory=inventory,
              playbook_dir=playbook_dir, check=check, limit=limit,
              extravars={"k3s_version": wanted})


def _upgrade_plan(wanted: str, *, inventory: Path, playbook_dir: Path, limit: str | None,
                  kubeconfig: Path | None) -> None:
    """Run upgrade.yml in check mode and print what it would do to each node."""
    from remediator.cluster import inventory as inv
    from remediator.cluster import upgrade_plan
    from remediator.cluster.provision import failure_summary, provision
    from remediator.cluster.status import read_cluster

    text = _inventory_text(inventory)
    try:
        members = inv.role_members(text)
    except inv.InventoryError as error:
        raise _fail(str(error)) from None
    if not (playbook_dir / "upgrade.yml").is_file():
        raise _fail(f"{playbook_dir / 'upgrade.yml'} not found (use --playbook-dir)")
    console = _console()
    recorder = upgrade_plan.PlanRecorder()
    try:
        result = provision(inventory=inventory, playbook_dir=playbook_dir, console=console,
                           playbook="upgrade.yml", check=True, limit=limit,
                           extravars={"k3s_version": wanted}, observe=recorder.update)
    except ValueError as error:
        raise _fail(str(error), 2) from None
    cluster, source = read_cluster(kubeconfig)
    versions = None if cluster is None else {node.name: node.version for node in cluster}
    rows = upgrade_plan.plan_rows(
        servers=members["server"], agents=members["agent"], target=wanted, recorder=recorder,
        failures=result.failures, versions=versions, limited=limit is not None)
    console.print(upgrade_plan.plan_table(rows, wanted, source))
    if not result.ok:
        raise _fail(f"check of the upgrade to {wanted} {result.status}:\n"
                    f"{failure_summary(result)}")


@app.command("preflight")
def preflight_command(
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    limit: Annotated[str | None, typer.Option("--limit", help="only these hosts")] = None,
    playbook_dir: PlaybookDirOption = Path("playbooks"),
) -> None:
    """Check that the nodes can form a cluster (preflight.yml); changes nothing.

    Every node pings every other over its Tailscale IP and reaches its K3s
    ports (failures name the pair); disk, memory, kernel modules and time.
    """
    _run_play("preflight.yml", "pre-flight", inventory=inventory, playbook_dir=playbook_dir,
              limit=limit)


GroupOption = Annotated[str, typer.Option("--group", help="inventory group of the variables")]


def _inventory_text(inventory: Path) -> str:
    from remediator.cluster import inventory as inv

    if not inventory.exists():
        raise _fail(_no_inventory(inventory))
    try:
        return inv.read_inventory(inventory)
    except inv.InventoryError as error:
        raise _fail(str(error)) from None


@app.command("status")
def status_command(
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    kubeconfig: KubeconfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Nodes, roles, versions, Ready, GPUs and Tailscale IPs: the inventory joined with the API.

    Without a kubeconfig only the inventory is shown.
    """
    import json

    from remediator.cluster import inventory as inv
    from remediator.cluster import status

    text = _inventory_text(inventory)
    try:
        hosts = inv.hosts(text)
        roles = {name: group for group in ("server", "agent")
                 for name in inv.group_members(text, group)}
    except inv.InventoryError as error:
        raise _fail(str(error)) from None
    cluster, note = status.read_cluster(kubeconfig)
    rows = status.node_rows(status.inventory_nodes(hosts, roles), cluster)
    if as_json:
        typer.echo(json.dumps({"source": note, "nodes": [row.to_json() for row in rows]},
                              indent=2))
        return
    _console().print(status.status_table(rows, note))


@app.command("discover")
def discover_command(
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    limit: Annotated[str | None, typer.Option("--limit", help="only these hosts")] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="add the proposed labels to each host's k3s_node_labels "
        "(keys already set are kept)")] = False,
    playbook_dir: PlaybookDirOption = Path("playbooks"),
) -> None:
    """Gather arch, CPUs, memory and GPUs of the inventory's nodes and propose labels."""
    import tempfile

    from rich.table import Table

    from remediator.cluster import discover
    from remediator.cluster import inventory as inv

    with tempfile.TemporaryDirectory(prefix="remediator-discover-") as directory:
        _run_play("discover.yml", "discovery", inventory=inventory, playbook_dir=playbook_dir,
                  limit=limit, extravars={"discover_dir": directory})
        found = discover.read_facts(Path(directory))
    table = Table(title="discovered", title_justify="left")
    for column in ("node", "arch", "cpus", "memory", "gpu", "proposed labels"):
        table.add_column(column)
    for facts in found:
        table.add_row(facts.name, facts.architecture or "?", str(facts.vcpus),
                      f"{facts.memory_mb / 1024:.1f} GiB", discover.gpu_summary(facts),
                      " ".join(discover.propose_labels(facts)))
    console = _console()
    console.print(table)
    if not apply:
        console.print("--apply adds them to k3s_node_labels in the inventory (site.yml applies "
                      "them); GPU nodes also need k3s_gpu: true", soft_wrap=True)
        return
    try:
        for facts in found:
            inv.add_labels(inventory, facts.name, tuple(discover.propose_labels(facts)))
    except inv.InventoryError as error:
        raise _fail(str(error)) from None
    console.print(f"labels added to {inventory}", soft_wrap=True)


config_app = typer.Typer(help="Read and edit the cluster's group variables (comments kept).",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("get")
def config_get_command(
    key: Annotated[str, typer.Argument(help="variable, dotted for nested keys")],
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    group: GroupOption = "k3s_cluster",
) -> None:
    """Print a group variable."""
    from remediator.cluster import groupvars

    try:
        value = groupvars.get(inventory, group, key)
    except groupvars.ConfigError as error:
        raise _fail(str(error)) from None
    typer.echo(groupvars.render(value))


@config_app.command("set")
def config_set_command(
    key: Annotated[str, typer.Argument(help="variable, dotted for nested keys")],
    value: Annotated[str, typer.Argument(help="value, read as YAML (4, true, [a, b], text)")],
    inventory: InventoryOption = _DEFAULT_INVENTORY,
    group: GroupOption = "k3s_cluster",
) -> None:
    """Set a group variable, keeping the file's comments, order and quoting."""
    from remediator.cluster import groupvars

    try:
        parsed = groupvars.parse_value(value)
        written = groupvars.set_(inventory, group, key, parsed)
    except groupvars.ConfigError as error:
        raise _fail(str(error)) from None
    _console().print(f"{group}: {key} = {groupvars.render(parsed)} ({written})", soft_wrap=True,
                     markup=False)
