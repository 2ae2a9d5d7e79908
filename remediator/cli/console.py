"""The on-call commands: `status`, `show ID`, `approve|decline ID --reason`; the audit
log, rendered for a terminal (80 columns and up) or followed as it grows, is in
`remediator.cli.audit` (`audit_table`, `follow`, re-exported here).

With `--server` (or `REMEDIATOR_SERVER`) they ask the running service over its
HTTP API, so `status` shows the service's own dry-run, rules and version
(issue 23), and the service decides who approved. Without it they read and
write the database directly (break-glass, said on stderr): through the store's
read model (`cli.store.read_model`) and `remediator.operate`, as before.
Either way the answer is rendered by the same code: fetch, then render.

`register` adds one command (or the approve/decline pair) per function below.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from remediator.cli.audit import audit_table, follow
from remediator.cli.controls import break_glass_actor
from remediator.cli.options import (
    CaFileOption,
    ConfigOption,
    DatabaseOption,
    ServerOption,
    TokenFileOption,
    target,
)
from remediator.cli.remote import (
    Client,
    Remote,
    Target,
    break_glass_notice,
    choose,
    fail,
    masked,
    path_id,
)
from remediator.cli.store import read_model
from remediator.cli.terminal import LazyConsole, labelled, wrap
from remediator.model.clock import utcnow

if TYPE_CHECKING:
    from remediator.app.settings import Settings
    from remediator.model.policy import Policy
    from remediator.store import Database
    from remediator.store.remediations import Remediation
    from remediator.store.views import RemediationView

    SettingsOf = Callable[..., Settings]
    DatabaseOf = Callable[[Settings], Database]

__all__ = ["audit_table", "follow", "policy_of", "register"]

reason_opt = Annotated[str, typer.Option("--reason", help="recorded in the audit log")]

out = LazyConsole()
err = LazyConsole(stderr=True)

def policy_of(settings: Settings) -> Policy:
    """The service's policy as far as the CLI can tell, including what can run here."""
    from remediator.app.policy_settings import policy_from_settings, read_inventory_hosts
    from remediator.app.services import kube_config_present

    kinds = {"kubernetes.delete_pod", "kubernetes.rollout_restart", "kubernetes.scale",
             "kubernetes.hpa_patch", "ansible.playbook"}
    if settings.kubernetes == "off" or (settings.kubernetes == "auto"
                                         and not kube_config_present()):
        kinds = {k for k in kinds if not k.startswith("kubernetes.")}
    if settings.ansible_inventory is None:
        kinds.discard("ansible.playbook")
    return policy_from_settings(settings, executable=frozenset(kinds),
                                inventory_hosts=read_inventory_hosts(settings))


def register(app: typer.Typer, *, settings_of: SettingsOf, database_of: DatabaseOf) -> None:
    """Add the on-call commands to `app` (cli.py's option helpers passed in)."""
    _register_status(app, settings_of, database_of)
    _register_show(app, settings_of, database_of)
    _register_answers(app, settings_of, database_of)


def _register_status(app: typer.Typer, settings_of: SettingsOf,
                     database_of: DatabaseOf) -> None:
    @app.command()
    def status(as_json: Annotated[bool, typer.Option("--json")] = False,
               server: ServerOption = None, token_file: TokenFileOption = None,
               ca_file: CaFileOption = None, config: ConfigOption = None,
               database_url: DatabaseOption = None) -> None:
        """The service's state: paused? breaker? dry-run? approvals waiting? (/api/v1/status)."""
        remote = choose(target(server, token_file, ca_file, database_url))
        if remote is not None:
            with Client(remote) as client:
                found: dict[str, Any] = client.get("/api/v1/status")
            where = remote.url
        else:
            settings = settings_of(config, database_url=database_url)
            break_glass_notice(settings.database_url)
            found = _database_status(settings, database_of(settings))
            where = f"{masked(settings.database_url)} (break-glass)"
        if as_json:
            sys.stdout.write(json.dumps(found, default=str) + "\n")
            return
        _print_status(found, where)


def _database_status(settings: Settings, database: Database) -> dict[str, Any]:
    """What /api/v1/status says, as far as the database and the CLI's own settings tell:
    the same keys, the service's version and rules unknown (None)."""
    from remediator.operate import operations
    from remediator.store.operating import OperatorStore

    found = operations.status(OperatorStore(database), policy_of(settings), utcnow())
    return {**found, "version": None, "rules": None}


def _print_status(found: dict[str, Any], where: str) -> None:
    paused = (f"[red]PAUSED[/red]: {found['paused_reason']}" if found["paused"]
              else "[green]active[/green]")
    breaker = (f"[red]OPEN[/red]: {found['breaker_reason']}" if found["breaker_open"]
               else "[green]closed[/green]")
    version = found.get("version")
    out.print(f"service       {where}" + (f" (remediator {version})" if version else ""),
              markup=False, highlight=False, soft_wrap=True)  # a URL stays whole, to copy
    out.print(f"remediation   {paused}")
    out.print(f"breaker       {breaker}")
    guessed = "" if version else "this shell's settings say "  # break-glass: not the service
    out.print(f"dry-run       {guessed}{dry_run_text(found['dry_run'])}", highlight=False)
    queued = ", ".join(f"{k} {v}" for k, v in sorted(found["jobs_queued"].items()))
    out.print(f"jobs queued   {queued or 'none'}")
    out.print(f"approvals     {found['awaiting_approval']} waiting")
    rules = found.get("rules")
    out.print("rules         " + (f"{rules['count']} loaded (digest {rules['digest']})"
                                  if rules else "not known (break-glass: the service's "
                                  "rules are not read)"), markup=False, highlight=False)


def dry_run_text(dry_run: dict[str, Any] | bool) -> str:
    """`operations.dry_run_status` in words: the global switch, or what is not connected."""
    if isinstance(dry_run, bool):  # an older service: the switch alone
        return "yes" if dry_run else "no"
    missing = ", ".join(dry_run.get("capabilities_missing") or [])
    if dry_run.get("global"):
        return "yes (the global switch: every action is only pretended)"
    if dry_run.get("all"):
        return f"yes (nothing can run: {missing} not connected)"
    if missing:
        return f"no ({missing} actions are only pretended: not connected)"
    return "no"


def _register_show(app: typer.Typer, settings_of: SettingsOf,
                   database_of: DatabaseOf) -> None:
    @app.command()
    def show(remediation_id: Annotated[str, typer.Argument(metavar="ID",
                                                           help="id or unique prefix")],
             as_json: Annotated[bool, typer.Option("--json")] = False,
             server: ServerOption = None, token_file: TokenFileOption = None,
             ca_file: CaFileOption = None, config: ConfigOption = None,
             database_url: DatabaseOption = None) -> None:
        """One remediation: alert, action, state, escalation steps and its timeline."""
        remote = choose(target(server, token_file, ca_file, database_url))
        if remote is not None:
            view = _fetch_view(remote, remediation_id)
        else:
            settings = settings_of(config, database_url=database_url)
            view = _read_view(settings, database_of(settings), remediation_id)
        if as_json:
            sys.stdout.write(view.model_dump_json() + "\n")
            return
        _print_view(view)


def _fetch_view(remote: Remote, remediation_id: str) -> RemediationView:
    """`GET /api/v1/remediations/{id}`: the same view the database read gives."""
    from pydantic import ValidationError

    from remediator.store.views import RemediationView

    with Client(remote) as client:
        found = client.get(f"/api/v1/remediations/{path_id(remediation_id)}")
    # A newer service may add fields (the detail's `summary`): the CLI renders what it knows.
    known = {key: value for key, value in found.items() if key in RemediationView.model_fields}
    try:
        return RemediationView.model_validate(known)
    except ValidationError as error:
        fail(f"{remote.url} answered with a remediation this CLI cannot read "
             f"({error.error_count()} problem(s)): is it another version of remediator?")


def _read_view(settings: Settings, database: Database, remediation_id: str) -> RemediationView:
    from remediator.store.readmodel import LookupError_

    try:
        return read_model(database).remediation(
            remediation_id, alertmanager_url=(settings.alertmanager_external_url
                                              or settings.alertmanager_url))
    except LookupError_ as error:
        err.print(str(error))
        raise typer.Exit(1) from None


def _print_view(view: RemediationView) -> None:
    """The remediation for a terminal of `out.width` columns: every line wraps at word
    boundaries, a URL stays whole on its own line (issue 23: split mid-word at 80)."""
    from rich.markup import escape

    width = out.width
    head = f"{view.alert.alertname} -> {view.action.type} {view.action.target}"
    out.print(f"[bold]{escape(wrap(head, width))}[/bold]", highlight=False)
    facts = (f"id {view.id}  rule {view.rule}  state {view.state}"
             + (f"  resolved {view.resolved_at[:19]}" if view.resolved_at else "")
             + (f"  repeats {view.repeats}" if view.repeats else ""))
    _plain(wrap(facts, width))
    for label, url in (("runbook", view.alert.runbook_url),
                       ("prometheus", view.alert.generator_url),
                       ("silence", view.alert.silence_url)):
        if url:
            _plain(labelled(label, url, width))
    if view.proposal:
        _plain(wrap(f"proposed in git: branch {view.proposal.get('branch')} commit "
                    f"{str(view.proposal.get('commit'))[:12]}", width))
        if view.proposal.get("pr_url"):
            _plain(labelled("pull request", str(view.proposal["pr_url"]), width))
    if len(view.steps) > 1:
        _plain(wrap("steps: " + " -> ".join(f"{s.step}:{s.action.type} ({s.state})"
                                            for s in view.steps), width))
    entries = [e.model_dump() for e in view.timeline]
    for e in entries:
        e.setdefault("alertname", "")
        e.setdefault("rule", view.rule)
    out.print(audit_table(entries, width, title="timeline"))
    if view.evidence or view.hints:
        from remediator.cli.evidence_text import render_text

        text = render_text({"evidence": view.evidence, "hints": view.hints})
        _plain("\n".join(wrap(line, width) for line in text.splitlines()))


def _plain(text: str) -> None:
    """`text` as it is: already wrapped (soft_wrap: rich must not wrap it again), no
    markup or highlighting (values are data, not rich markup)."""
    out.print(text, soft_wrap=True, markup=False, highlight=False)


def _target_exists(settings: Settings, current: Remediation) -> bool | None:
    """Ask the cluster, as the service would, whether the target is still there."""
    import asyncio

    from remediator.actions.kubernetes.client import KubeConfigError
    from remediator.actions.kubernetes.target_check import target_exists
    from remediator.app.services import default_actions

    if current.dry_run or not current.request.type.startswith("kubernetes."):
        return None
    try:
        actions = default_actions(settings)
    except KubeConfigError as error:
        # Approving from a laptop without cluster access is still an answer:
        # the worker reads the target again when it acts.
        err.print(f"the target could not be checked here ({error}); "
                  "the worker checks it when it acts")
        return None
    return asyncio.run(target_exists(actions, current.request))


def _register_answers(app: typer.Typer, settings_of: SettingsOf,
                      database_of: DatabaseOf) -> None:
    def answer(verb: str, remediation_id: str, reason: str, where: Target,
               config: Path | None) -> None:
        remote = choose(where)
        if remote is not None:
            with Client(remote) as client:
                found = client.post(f"/api/v1/remediations/{path_id(remediation_id)}/{verb}",
                                    {"reason": reason})
            _print_answer(verb, str(found.get("outcome", "?")), str(found.get("reason", "")),
                          queued=found.get("queued") is True)
            return
        settings = settings_of(config, database_url=where.database_url)
        break_glass_notice(settings.database_url, acting=True)
        _answer(verb, remediation_id, reason, settings, database_of(settings))

    @app.command()
    def approve(remediation_id: Annotated[str, typer.Argument(metavar="ID")],
                reason: reason_opt, server: ServerOption = None,
                token_file: TokenFileOption = None, ca_file: CaFileOption = None,
                config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
        """Approve a remediation awaiting approval (every guard is checked again first)."""
        answer("approve", remediation_id, reason,
               target(server, token_file, ca_file, database_url), config)

    @app.command()
    def decline(remediation_id: Annotated[str, typer.Argument(metavar="ID")],
                reason: reason_opt, server: ServerOption = None,
                token_file: TokenFileOption = None, ca_file: CaFileOption = None,
                config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
        """Decline a remediation awaiting approval: nothing runs."""
        answer("decline", remediation_id, reason,
               target(server, token_file, ca_file, database_url), config)


def _print_answer(verb: str, outcome: str, reason: str, *, queued: bool) -> None:
    """The answer in one line; an approval that queued nothing exits 1."""
    out.print(f"{outcome}: {reason}", soft_wrap=True, markup=False, highlight=False)
    if verb == "approve" and not queued:
        raise typer.Exit(1)


def _answer(verb: str, remediation_id: str, reason: str, settings: Settings,
            database: Database) -> None:
    from remediator.operate import approvals
    from remediator.rules.model import RuleLoadError, load_rules
    from remediator.store.approving import ApprovalStore
    from remediator.store.readmodel import LookupError_

    try:
        current = read_model(database).find(remediation_id)
    except LookupError_ as error:
        err.print(str(error))
        raise typer.Exit(1) from None
    full = current.id
    try:
        if verb == "approve":
            try:
                rules = load_rules(settings.rules)
            except RuleLoadError as error:
                err.print(f"cannot load the rules to re-check the guards: {error}")
                raise typer.Exit(1) from None
            exists = _target_exists(settings, current)
            answer = approvals.approve(ApprovalStore(database), remediation_id=full,
                                       actor=break_glass_actor(),
                                       reason=reason, now=utcnow(), rules=rules,
                                       policy=policy_of(settings), target_exists=exists)
        else:
            answer = approvals.decline(ApprovalStore(database), remediation_id=full,
                                       actor=break_glass_actor(),
                                       reason=reason, now=utcnow())
    except approvals.ApprovalError as error:
        err.print(str(error))
        raise typer.Exit(1) from None
    _print_answer(verb, answer.outcome.value, answer.reason, queued=answer.queued)
