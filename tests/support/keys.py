"""The audit key replicas share, as the chart's Secret mounts it.

With PostgreSQL the service never generates its audit key (each replica would
draw its own and the chain would not verify across them): tests that serve on
PostgreSQL write one first, as an operator or the chart does.
"""

from __future__ import annotations

import secrets
from pathlib import Path


def shared_audit_key(directory: Path) -> Path:
    """`directory`/audit.key, written (0600, 32 random bytes as hex) unless it exists."""
    key = directory / "audit.key"
    if not key.exists():
        key.write_text(secrets.token_hex(32))
        key.chmod(0o600)
    return key
