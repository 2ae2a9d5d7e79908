"""A button press or form from chat, as one `Press`: who, where, what, on which request.

Parsing is strict (a payload we did not ask for is a 400 naming the field),
but happens only after the request's signature or token was checked. The
allow-list is the chat's own: Slack user ids or emails, Mattermost user ids
or usernames; whoever is not on it is refused, and the refusal is an
`operator` entry like any refused answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from remediator.operate import operator_log
from remediator.operate.chat.messages import DECLINE_CALLBACK
from remediator.operate.operator_log import Actor
from remediator.store.operating import OperatorStore

VERBS = ("approve", "decline")
_ID_MAX = 64
_REMEDIATION_ID = re.compile(r"[0-9a-f-]{8,36}")
"""What our buttons carry (a remediation's UUID): anything else is refused before it
reaches the store (the audit's `remediation_id` column holds 36 characters)."""


class BadPayload(ValueError):
    """The payload is not one of ours: answered 400 with this message."""


@dataclass(frozen=True, kw_only=True)
class Press:
    integration: str
    verb: str
    """`approve` or `decline`; `decline_form` when Slack's Decline button asks why."""
    remediation_id: str
    user_id: str
    user_name: str = ""
    channel: str = ""
    reason: str = ""
    trigger_id: str = ""
    response_url: str = ""
    message_ref: str = ""

    def actor(self) -> Actor:
        """The audit's actor: `slack:alice`, with the user id and channel as its client."""
        return Actor(name=f"{self.integration}:{self.user_name or self.user_id}",
                     via=self.integration,
                     client=f"{self.integration} user {self.user_id} in {self.channel or '-'}")


def allowed(operators: frozenset[str], *identities: str | None) -> bool:
    """Whether any identity (id, name, email) of the user is on the allow-list."""
    return any(who and who in operators for who in identities)


def refuse(store: OperatorStore, press: Press, *, setting: str, now: datetime) -> str:
    """Audit a press by someone not allowed; what to tell them."""
    reason = (f"{press.verb.removesuffix('_form')} refused: {press.actor().name} is not in "
              f"{setting}")
    said = operator_log.entry(action=press.verb.removesuffix("_form"), actor=press.actor(),
                              reason=reason, now=now, remediation_id=press.remediation_id)
    store.record_operator_action(entry=said)
    operator_log.announce(said)
    return f"You are not allowed to answer approval requests ({setting}); this was audited."


def _text(data: Mapping[str, Any], *path: str, limit: int = _ID_MAX) -> str:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise BadPayload(f"{'.'.join(path)}: expected a string of at most {limit} characters")
    return value


def _rid(data: Mapping[str, Any], *path: str, at: str = "") -> str:
    value = _text(data, *path)
    if not _REMEDIATION_ID.fullmatch(value):
        raise BadPayload(f"{at}{'.'.join(path)}: expected a remediation id, got "
                         f"{value[:40]!r}")
    return value


def slack_press(body: bytes) -> Press | None:
    """The press in a Slack interaction (`payload=<json>` form body); None: not ours to answer."""
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError) as error:
        raise BadPayload(f"payload: not a Slack interaction ({type(error).__name__})") from None
    if not isinstance(payload, dict):
        raise BadPayload("payload: expected an object")
    kind = payload.get("type")
    user = {"user_id": _text(payload, "user", "id"),
            "user_name": _text(payload, "user", "username", limit=200)}
    if kind == "block_actions":
        return _slack_button(payload, user)
    if kind == "view_submission" and _text(payload, "view", "callback_id") == DECLINE_CALLBACK:
        meta = _metadata(_text(payload, "view", "private_metadata", limit=3000))
        reason = _text(payload, "view", "state", "values", "reason", "reason", "value",
                       limit=3000)
        return Press(integration="slack", verb="decline", reason=reason,
                     remediation_id=_rid(meta, "rid", at="view.private_metadata."),
                     channel=_text(meta, "channel"), message_ref=_text(meta, "ts"), **user)
    return None


def _metadata(text: str) -> Mapping[str, Any]:
    """The decline form's `private_metadata` (ours, echoed by Slack)."""
    try:
        meta = json.loads(text or "{}")
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise BadPayload("view.private_metadata: expected the JSON object we sent")
    return meta


def _slack_button(payload: Mapping[str, Any], user: Mapping[str, str]) -> Press | None:
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadPayload("actions: expected a list of actions")
    verb = _text(actions[0], "action_id")
    if verb not in VERBS:
        return None  # a link button or someone else's block
    return Press(integration="slack", verb="approve" if verb == "approve" else "decline_form",
                 remediation_id=_rid(actions[0], "value", at="actions[0]."),
                 channel=_text(payload, "channel", "id"),
                 message_ref=_text(payload, "container", "message_ts"),
                 trigger_id=_text(payload, "trigger_id", limit=200),
                 response_url=_text(payload, "response_url", limit=500), **user)


def mattermost_token(payload: Any) -> object:
    """The token a Mattermost action's context carries (checked before anything else)."""
    context = payload.get("context") if isinstance(payload, dict) else None
    return context.get("token") if isinstance(context, dict) else None


def mattermost_press(payload: Any) -> Press:
    """The press in a Mattermost action request (its token already checked)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("context"), dict):
        raise BadPayload("context: expected an object")
    context = payload["context"]
    verb = _text(context, "action")
    if verb not in VERBS:
        raise BadPayload(f"context.action: expected one of {', '.join(VERBS)}")
    trigger = _text(payload, "trigger_id", limit=500)
    return Press(integration="mattermost",
                 verb="decline_form" if verb == "decline" and trigger else verb,
                 remediation_id=_rid(context, "remediation_id", at="context."),
                 user_id=_text(payload, "user_id"),
                 user_name=_text(payload, "user_name", limit=200), trigger_id=trigger,
                 channel=_text(payload, "channel_id"), message_ref=_text(payload, "post_id"))


def mattermost_dialog(payload: Mapping[str, Any], claims: tuple[str, str]) -> Press:
    """The decline dialog's submission; `claims` is what its verified `state` holds."""
    return Press(integration="mattermost", verb="decline",
                 remediation_id=_rid({"state": claims[0]}, "state"),
                 user_id=_text(payload, "user_id"), user_name=claims[1],
                 channel=_text(payload, "channel_id"),
                 reason=_text(payload, "submission", "reason", limit=3000))
