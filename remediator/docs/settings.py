"""docs/reference/settings.md: every setting of `app.settings.Settings`, as a
`serve` flag, an environment variable and a `--config` YAML key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from remediator.app.settings import Settings
from remediator.docs.tables import GENERATED, code, table
from remediator.model.durations import format_duration

_INTRO = """\
# Settings reference

{generated}

Every setting is a `remediator serve` flag, an environment variable
`REMEDIATOR_<NAME>` and a key of the optional `--config` YAML file (the name in
lower case, as in the first column). Flags win over the environment, which
wins over the file. Lists are comma-separated in flags and the environment,
YAML lists in the file; durations are Prometheus-style (`30s`, `10m`, `1h`).
A setting that ends in `_file` names a file to read the secret from (a mounted
Secret), so the secret is not in the process environment.
"""


def default_text(value: Any) -> str:
    """A default as a user would write it: `10m`, `kube-system`, unset."""
    if value is None:
        return "unset"
    if isinstance(value, timedelta):
        return code(format_duration(value))
    if isinstance(value, bool):
        return code(str(value).lower())
    if isinstance(value, list):
        return code(",".join(map(str, value))) if value else "empty"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, Path):
        return code(str(value))
    return code(str(value))


_NAMES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean",
                          Path: "path", SecretStr: "secret", timedelta: "duration"}


def type_text(annotation: Any) -> str:
    """`string`, `duration`, `list`, `one of auto, on, off`; `X | None` is just X (unset)."""
    origin = get_origin(annotation)
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if origin is Literal:
        return "one of " + ", ".join(code(str(arg)) for arg in args)
    if origin is list:
        return "list"
    if origin in (Union, UnionType):
        return " or ".join(type_text(arg) for arg in args)
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _flag(name: str, field: FieldInfo) -> str:
    flag = "--" + name.replace("_", "-")
    return f"{flag} / --no-{flag[2:]}" if field.annotation is bool else flag


def settings_page() -> str:
    rows = [(code(name), code(_flag(name, field)), code("REMEDIATOR_" + name.upper()),
             type_text(field.annotation), default_text(field.default), field.description or "")
            for name, field in Settings.model_fields.items()]
    header = ["setting", "flag", "environment", "type", "default", "description"]
    return _INTRO.format(generated=GENERATED) + "\n" + table(header, rows) + "\n"
