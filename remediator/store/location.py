"""Where the store is: the database URL and the audit chain's files, without pydantic.

`Settings` (pydantic-settings) costs ~0.2 s to import, a third of a CLI
read such as `remediator audit` (issue 11: < 0.5 s). `from_environment`
reads the same sources as `Settings` (flag, `REMEDIATOR_*` variable,
default) for the few settings that locate the store, and answers None
whenever anything else is in play: a `--config` file, another
`REMEDIATOR_` variable, a value that does not pass. Then the full
`Settings` decides, with its own messages, so an answer from here is
always the one `Settings` would give. `Settings` uses the rules below too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///remediator.db"
STORE_SETTINGS = frozenset({"database_url", "database_url_file", "state_dir", "audit_key_file"})
"""The settings a read of the store needs; any other `REMEDIATOR_` variable goes to `Settings`."""
_PREFIX = "remediator_"


@dataclass(frozen=True, kw_only=True)
class StoreLocation:
    database_url: str
    state_dir: Path | None = None
    audit_key_file: Path | None = None

    def audit_files(self) -> tuple[Path, Path]:
        return audit_files(self.database_url, state_dir=self.state_dir,
                           audit_key_file=self.audit_key_file)


def database_scheme(value: str) -> str:
    """SQLite or PostgreSQL through psycopg 3; anything else is refused at once."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ValueError("database_url must be sqlite:///FILE or "
                         "postgresql+psycopg://USER@HOST/DB")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"  # the driver we ship, not psycopg2
    if scheme not in ("sqlite", "sqlite+pysqlite"):
        raise ValueError(f"unsupported database scheme {scheme!r}: use sqlite:///FILE "
                         "or postgresql+psycopg://USER@HOST/DB")
    return value


def read_database_url_file(path: Path) -> str:
    """The URL in `database_url_file` (a mounted Secret), checked."""
    try:
        url = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"cannot read database_url_file {path}: {error.strerror}") from None
    if not url:
        raise ValueError(f"database_url_file {path} is empty")
    return database_scheme(url)


def audit_files(database_url: str, *, state_dir: Path | None,
                audit_key_file: Path | None) -> tuple[Path, Path]:
    """(key file, pre-0010 head checkpoint file, read once to adopt it) of the audit chain."""
    base, stem = state_dir, "remediator"
    if database_url.startswith("sqlite") and "///" in database_url:
        database = Path(database_url.split("///", 1)[1].split("?", 1)[0])
        if database.name and database.name != ":memory:":
            base, stem = base or database.parent, database.name
    base = base or Path()
    return audit_key_file or base / f"{stem}.audit-key", base / f"{stem}.audit-head"


def from_environment(database_url: str | None,
                     environ: Mapping[str, str] | None = None) -> StoreLocation | None:
    """The store's location from a `--database-url` flag and the environment, as `Settings`
    would find it; None when `Settings` must decide (see the module's docstring)."""
    # pydantic-settings matches variable names case-insensitively, the last one winning.
    env = {name.lower(): value for name, value in (os.environ if environ is None
                                                   else environ).items()}
    ours = {name.removeprefix(_PREFIX): value for name, value in env.items()
            if name.startswith(_PREFIX)}
    if not ours.keys() <= STORE_SETTINGS or "" in ours.values():
        return None
    url = database_url if database_url is not None else ours.get("database_url",
                                                                 DEFAULT_DATABASE_URL)
    try:
        url = database_scheme(url)
        if "database_url_file" in ours:
            url = read_database_url_file(Path(ours["database_url_file"]))
    except ValueError:
        return None
    return StoreLocation(database_url=url, state_dir=_path(ours.get("state_dir")),
                         audit_key_file=_path(ours.get("audit_key_file")))


def _path(value: str | None) -> Path | None:
    return None if value is None else Path(value)
