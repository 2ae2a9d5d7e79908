"""Where requests were posted, on both backends: kept per remediation and integration,
overwritten by a re-post, forgotten after a week (no retention job needed)."""

from __future__ import annotations

from datetime import timedelta

from remediator.model.clock import FakeClock
from remediator.store import Database
from remediator.store.chat import ChatStore, Posted


def test_posts_are_kept_per_integration_and_forgotten_after_a_week(
        database: Database, clock: FakeClock) -> None:
    store = ChatStore(database)
    store.remember("r1", Posted("slack", "C1", "1.1"), now=clock())
    store.remember("r1", Posted("mattermost", "m1", "post1"), now=clock())
    store.remember("r1", Posted("slack", "C1", "1.2"), now=clock())  # re-posted: replaced
    store.remember("r2", Posted("slack", "C2", "2.1"), now=clock())
    found = store.posted({"r1", "r2", "r3"})
    assert sorted(found["r1"], key=lambda p: p.integration) == [
        Posted("mattermost", "m1", "post1"), Posted("slack", "C1", "1.2")]
    assert found["r2"] == [Posted("slack", "C2", "2.1")]
    assert "r3" not in found and store.posted(set()) == {}
    clock.advance(timedelta(days=8))
    store.remember("r4", Posted("slack", "C1", "4.1"), now=clock())
    assert set(store.posted({"r1", "r2", "r4"})) == {"r4"}

