"""The on-call commands: `status`, `show ID`, `approve|decline ID --reason`; the audit
log, rendered for a terminal (80 columns and up) or followed as it grows, is in
`remediator.cli.audit` (`audit_table`, `follow`, re-exported here).

They read and write the service's database directly, like `pause`, so they
work against a running service and every replica sees the result; actions
approved here are run by the service's worker at its next poll. They read
through the store's read model (`cli.store.read_model`) and act through
`remediator.operate`, holding no connection of their own.

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

config_opt = Annotated[Path | None, typer.Option("--config", help="YAML settings file")]
db_opt = Annotated[str | None, typer.Option(
    "--database-url", help="defaults to REMEDIATOR_DATABASE_URL or sqlite:///remediator.db")]
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
               config: config_opt = None, database_url: db_opt = None) -> None:
        """Paused? Breaker open? Queue depth? Waiting approvals? (as /api/v1/status)."""
        from remediator.operate import operations
        from remediator.store.operating import OperatorStore

        settings = settings_of(config, database_url=database_url)
        database = database_of(settings)
        now = utcnow()
        found = operations.status(OperatorStore(database), policy_of(settings), now)
        if as_json:
            sys.stdout.write(json.dumps(found, default=str) + "\n")
            return
        _print_status(found)


def _print_status(found: dict[str, Any]) -> None:
    paused = (f"[red]PAUSED[/red]: {found['paused_reason']}" if found["paused"]
              else "[green]active[/green]")
    breaker = (f"[red]OPEN[/red]: {found['breaker_reason']}" if found["breaker_open"]
               else "[green]closed[/green]")
    out.print(f"remediation   {paused}")
    out.print(f"breaker       {breaker}")
    out.print(f"dry-run       {'yes' if found['dry_run'] else 'no'}")
    queued = ", ".join(f"{k} {v}" for k, v in sorted(found["jobs_queued"].items()))
    out.print(f"jobs queued   {queued or 'none'}")
    out.print(f"approvals     {found['awaiting_approval']} waiting")


def _register_show(app: typer.Typer, settings_of: SettingsOf,
                   database_of: DatabaseOf) -> None:
    @app.command()
    def show(remediation_id: Annotated[str, typer.Argument(metavar="ID",
                                                           help="id or unique prefix")],
             as_json: Annotated[bool, typer.Option("--json")] = False,
             config: config_opt = None, database_url: db_opt = None) -> None:
        """One remediation: alert, action, state, escalation steps and its timeline."""
        from remediator.store.readmodel import LookupError_

        settings = settings_of(config, database_url=database_url)
        try:
            view = read_model(database_of(settings)).remediation(
                remediation_id, alertmanager_url=(settings.alertmanager_external_url
                                                  or settings.alertmanager_url))
        except LookupError_ as error:
            err.print(str(error))
            raise typer.Exit(1) from None
        if as_json:
            sys.stdout.write(view.model_dump_json() + "\n")
            return
        _print_view(view)


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
    def answer(verb: str, remediation_id: str, reason: str, config: Path | None,
               database_url: str | None) -> None:
        settings = settings_of(config, database_url=database_url)
        _answer(verb, remediation_id, reason, settings, database_of(settings))

    @app.command()
    def approve(remediation_id: Annotated[str, typer.Argument(metavar="ID")],
                reason: reason_opt, config: config_opt = None,
                database_url: db_opt = None) -> None:
        """Approve a remediation awaiting approval (every guard is checked again first)."""
        answer("approve", remediation_id, reason, config, database_url)

    @app.command()
    def decline(remediation_id: Annotated[str, typer.Argument(metavar="ID")],
                reason: reason_opt, config: config_opt = None,
                database_url: db_opt = None) -> None:
        """Decline a remediation awaiting approval: nothing runs."""
        answer("decline", remediation_id, reason, config, database_url)


def _answer(verb: str, remediation_id: str, reason: str, settings: Settings,
            database: Database) -> None:
    from remediator.operate import approvals
    from remediator.operate.operator_log import Actor
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
                                       actor=Actor.cli(),
                                       reason=reason, now=utcnow(), rules=rules,
                                       policy=policy_of(settings), target_exists=exists)
        else:
            answer = approvals.decline(ApprovalStore(database), remediation_id=full,
                                       actor=Actor.cli(),
                                       reason=reason, now=utcnow())
    except approvals.ApprovalError as error:
        err.print(str(error))
        raise typer.Exit(1) from None
    out.print(f"{answer.outcome.value}: {answer.reason}", soft_wrap=True)
    if verb == "approve" and not answer.queued:
        raise typer.Exit(1)
