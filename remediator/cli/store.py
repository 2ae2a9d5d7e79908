"""Settings, the database and its reads for CLI commands, without typer.

The CLI works on the service's database directly (it needs no running
service: break-glass), through the store's facades: `read_model` for what
`show` and `status` read, `audit_reads` for `audit` (which must not import
pydantic), never a connection of its own.

`remediator audit` runs without typer (see `remediator.cli.audit`), so these
helpers end a command with `SystemExit`, which typer lets through
unchanged: the exit status and the message are the same either way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Never, Protocol

from remediator.cli.remote import CLIENT_ENV
from remediator.cli.terminal import err
from remediator.store.location import from_environment

if TYPE_CHECKING:
    from remediator.app.settings import Settings
    from remediator.store import Database
    from remediator.store.audit.reads import AuditReads
    from remediator.store.audit.seal import AuditSeal
    from remediator.store.readmodel import ReadModel

class StoreSettings(Protocol):
    """What opening the database needs: `Settings` or a `StoreLocation`."""

    @property
    def database_url(self) -> str: ...

    def audit_files(self) -> tuple[Path, Path]: ...


def load_settings(config: Path | None, **overrides: Any) -> Settings:
    """Every setting (pydantic-settings); an invalid one ends the command in one line."""
    from remediator.app.settings import load_settings as load
    from remediator.app.settings import settings_problem

    try:
        return load(config, **overrides)
    except (ValueError, OSError) as error:  # one line: `name: what is wrong; ...`
        _exit(f"invalid settings: {settings_problem(error)}")


def store_settings(config: Path | None, database_url: str | None) -> StoreSettings:
    """Where the store is, without pydantic unless a file or another setting needs it."""
    if config is None:
        # The CLI's own variables (REMEDIATOR_SERVER, _TOKEN...) are no settings of the store.
        found = from_environment(database_url, {name: value for name, value in os.environ.items()
                                                if name.upper() not in CLIENT_ENV})
        if found is not None:
            return found
    return load_settings(config, database_url=database_url)


def open_database(settings: StoreSettings) -> Database:
    """The service's database, refusing to create an empty one by mistake."""
    from remediator.store import Database

    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        err.print(f"no database at {url.removeprefix('sqlite:///')} (use --database-url or "
                  "REMEDIATOR_DATABASE_URL)")
        raise SystemExit(2)
    return Database(url, seal=_seal(settings))


def read_model(database: Database) -> ReadModel:
    """The service's read model over `database` (remediations, audit, evidence)."""
    from remediator.store.readmodel import ReadModel

    return ReadModel(database=database)


def audit_reads(database: Database) -> AuditReads:
    """The audit log's reads alone: `remediator audit` stays free of pydantic."""
    from remediator.store.audit.reads import AuditReads

    return AuditReads(database=database)


def _seal(settings: StoreSettings) -> AuditSeal | None:
    """The service's audit key, when its file exists (the CLI never invents one:
    a second key would split the chain). Without it the chain is unkeyed (legacy)."""
    from remediator.store.audit.seal import AuditSeal, SealError

    key_file, head_file = settings.audit_files()
    if not key_file.exists():
        return None
    try:
        return AuditSeal.open(key_file, head_file, create=False)
    except SealError as error:
        err.print(str(error))
        raise SystemExit(2) from None


def _exit(message: str) -> Never:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    raise SystemExit(2)
