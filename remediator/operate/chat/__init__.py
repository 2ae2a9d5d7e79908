"""Approval requests in Slack and Mattermost, answered with the console's guarantees.

`signature` checks who sent a request (Slack's signing secret, Mattermost's
per-integration token); `messages` says what a request and its outcome look
like; `slack` and `mattermost` speak each Web API through httpx; `outbox`
sends off the decision path with a bounded backlog; `relay` follows the audit
log to post requests and update them wherever they were answered;
`interactions` turns a button press into the console's approval path.
"""
