"""What reaches the chat is safe whatever the alert said: untrusted text cannot mention
`@channel`, forge a link or break the payload; any signed payload is a 200 or a 400."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from remediator.operate.chat.interactions import BadPayload, slack_press
from remediator.operate.chat.messages import Summary, slack_blocks

HOSTILE = "<!channel> <https://evil.example|click> &amp; *bold*"


def test_untrusted_text_cannot_mention_or_link_in_slack() -> None:
    summary = Summary(id="r", short_id="r", alertname=HOSTILE, target="pay-0",
                      namespace="apps", rule=HOSTILE, evidence=[HOSTILE], hints=[HOSTILE],
                      runbook_url="https://ok.example/x>|<!here", console_url="javascript:x")
    text = json.dumps([b for b in slack_blocks(summary, outcome=HOSTILE)
                       if b["type"] != "header"])  # plain_text: never parsed
    assert "<!channel>" not in text and "<!here" not in text
    assert "<https://evil" not in text
    assert "&lt;!channel&gt;" in text
    links = [b for b in slack_blocks(summary) if b["type"] == "context"]
    assert json.dumps(links) == json.dumps([{"type": "context", "elements": [{
        "type": "mrkdwn", "text": "<https://ok.example/x&gt;|&lt;!here|Runbook>"}]}])


def test_long_evidence_is_cut_to_slacks_limit() -> None:
    summary = Summary(id="r", short_id="r", alertname="A", target="t", namespace="n",
                      rule="r", evidence=["x" * 5000])
    for block in slack_blocks(summary):
        assert len(block.get("text", {}).get("text", "")) <= 3000


payloads = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "user", "id", "username", "actions", "action_id", "value",
                         "view", "callback_id", "private_metadata", "state", "values",
                         "reason", "channel", "container", "message_ts", "trigger_id",
                         "response_url"]), inner, max_size=6),
    max_leaves=20)


@given(payload=payloads)
def test_any_payload_is_a_press_nothing_or_a_bad_payload(payload: Any) -> None:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    with contextlib.suppress(BadPayload):
        slack_press(body)


@given(body=st.binary(max_size=300))
def test_any_body_is_a_press_nothing_or_a_bad_payload(body: bytes) -> None:
    with contextlib.suppress(BadPayload):
        slack_press(body)
