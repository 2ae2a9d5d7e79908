"""What people do to a running service: approvals, operations, the operator
log, console sessions, notifications."""
