"""Reconciliation with Alertmanager: missed firings and missed resolves, this
receiver's alerts only. Alertmanager's API is served by a small fake at the
httpx transport (`httpx.MockTransport`), honouring its query parameters."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from remediator.clients.alertmanager import AlertmanagerClient
from remediator.intake.reconcile import reconcile
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.alerts import Alert
from remediator.store.tables import alerts as alerts_table
from tests.support.payloads import crashloop
from tests.worker.conftest import Rig
from tests.worker.test_worker import history, settle


@dataclass
class FakeAlertmanager:
    """Alerts per receiver, answered like `GET /api/v2/alerts` does."""

    alerts: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.queries.append(params)
        wanted = re.compile(f"^(?:{params['receiver']})$") if "receiver" in params else None
        muted_ok = params.get("silenced") == "true"
        # Alertmanager reports an active alert's endsAt in the future.
        body = [{**alert, "endsAt": "2099-01-01T00:00:00Z", "status": {"state": state}}
                for receiver, alert, state in self.alerts
                if (wanted is None or wanted.match(receiver))
                and (state == "active" or muted_ok)]
        return httpx.Response(200, json=body)

    @contextlib.asynccontextmanager
    async def client(self, receiver: str | None = "remediator",
                     ) -> AsyncIterator[AlertmanagerClient]:
        client = AlertmanagerClient(
            "http://alertmanager:9093", receiver=receiver, client=httpx.AsyncClient(
                transport=httpx.MockTransport(lambda request: self.handle(request))))
        try:
            yield client
        finally:
            await client.aclose()


def revert() -> ActionRequest:
    return ActionRequest(type="kubernetes.hpa_revert", kind="hpa", name="web",
                         namespace="apps-a", params={"min_replicas": 2, "max_replicas": 5,
                                                     "expect_min": 2, "expect_max": 6})


async def test_a_missed_resolve_is_reconciled_and_runs_the_followups(rig: Rig) -> None:
    rig.delete.script = [ActionResult(message="raised", followups=(revert(),))]
    am = FakeAlertmanager(alerts=[("remediator", crashloop(), "active")])
    rig.intake.receive([Alert.model_validate(crashloop())], group_key="g")
    await settle(rig)
    rig.clock.advance(minutes=5)
    async with am.client() as client:
        assert await reconcile(client, rig.intake) == []
        am.alerts.clear()  # the resolve notification was lost
        rig.clock.advance(minutes=1)
        decided = await reconcile(client, rig.intake)
    assert [d["outcome"] for d in decided] == ["resolved"]
    await settle(rig)
    assert rig.restart.calls == [revert()]
    assert "resolved" in history(rig)
    assert history(rig)[-1] == "succeeded"
    with rig.database.reading() as connection:  # `unless_firing` no longer sees it
        statuses = connection.execute(select(alerts_table.c.status)).scalars().all()
    assert statuses == ["resolved"]
    assert am.queries[-1]["receiver"] == "remediator"


async def test_silenced_alerts_still_fire_and_are_not_resolved(rig: Rig) -> None:
    am = FakeAlertmanager(alerts=[("remediator", crashloop(), "suppressed")])
    rig.intake.receive([Alert.model_validate(crashloop())], group_key="g")
    rig.clock.advance(minutes=5)
    async with am.client() as client:
        assert await reconcile(client, rig.intake) == []


async def test_only_this_receivers_alerts_are_acted_on(rig: Rig) -> None:
    am = FakeAlertmanager(alerts=[("oncall", crashloop(pod="theirs"), "active"),
                                  ("remediator", crashloop(pod="ours"), "active")])
    async with am.client() as client:
        decided = await reconcile(client, rig.intake)
    assert [(d["outcome"], d["target"]) for d in decided] == [
        ("executed", "pod/apps-a/ours")]


async def test_an_alert_delivered_after_the_question_is_not_resolved(rig: Rig) -> None:
    am = FakeAlertmanager()
    async with am.client() as client:
        real = am.handle

        def deliver_meanwhile(request: httpx.Request) -> httpx.Response:
            response = real(request)  # Alertmanager answered without it...
            rig.intake.receive([Alert.model_validate(crashloop())], group_key="g")
            return response  # ...and its webhook arrived right after

        am.handle = deliver_meanwhile  # type: ignore[method-assign]
        assert await reconcile(client, rig.intake) == []


async def test_every_read_is_filtered_by_the_clients_receiver(rig: Rig) -> None:
    am = FakeAlertmanager()
    async with am.client(receiver="ns/team-a.remediator") as client:
        await reconcile(client, rig.intake)
    assert [q.get("receiver") for q in am.queries] == [re.escape("ns/team-a.remediator")]


async def test_without_a_receiver_only_alerts_received_by_webhook_are_decided(
        rig: Rig) -> None:
    """Issue 20, item 1: unfiltered, Alertmanager answers with every team's alerts."""
    ours = crashloop(pod="ours")
    rig.intake.receive([Alert.model_validate(ours)], group_key="g")
    rig.intake.receive([Alert.model_validate({**ours, "status": "resolved"})], group_key="g")
    rig.clock.advance(minutes=30)
    again = crashloop(pod="ours", starts_at=rig.clock())  # a new episode of our alert
    am = FakeAlertmanager(alerts=[("oncall", crashloop(pod="theirs"), "active"),
                                  ("remediator", again, "active")])
    async with am.client(receiver=None) as client:
        decided = await reconcile(client, rig.intake)
    assert "receiver" not in am.queries[-1]
    assert [(d["outcome"], d["target"]) for d in decided] == [
        ("executed", "pod/apps-a/ours")]


async def test_without_a_receiver_a_stored_alert_still_firing_anywhere_stays(
        rig: Rig) -> None:
    rig.intake.receive([Alert.model_validate(crashloop())], group_key="g")
    rig.clock.advance(minutes=5)
    am = FakeAlertmanager(alerts=[("remediator", crashloop(), "active")])
    async with am.client(receiver=None) as client:
        assert await reconcile(client, rig.intake) == []
        am.alerts.clear()
        decided = await reconcile(client, rig.intake)
    assert [d["outcome"] for d in decided] == ["resolved"]


async def test_an_alert_the_webhook_would_refuse_is_skipped_not_fatal(rig: Rig) -> None:
    """An alertname longer than the store holds is a 422 at the webhook; from the API it
    must not fail the whole run and leave everyone else's missed alerts undecided."""
    too_long = {**crashloop(pod="odd"), "labels": {**crashloop(pod="odd")["labels"],
                                                   "alertname": "A" * 300}}
    am = FakeAlertmanager(alerts=[("remediator", too_long, "active"),
                                  ("remediator", crashloop(pod="ours"), "active")])
    async with am.client() as client:
        decided = await reconcile(client, rig.intake)
    assert [(d["outcome"], d["target"]) for d in decided] == [
        ("executed", "pod/apps-a/ours")]
