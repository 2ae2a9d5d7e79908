"""Sandboxed templates for rule fields: `{{ labels.pod }}`, `{{ annotations.x | lower }}`.

Label values come from monitored workloads, so templates see only two plain
dictionaries of strings, a handful of string filters, no attribute access on
Python objects and no globals. A missing label is an error, not an empty
string: acting on `namespace=""` is never what the rule author meant.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(ValueError):
    """A template that does not compile, or cannot render for this alert."""


def _dict_only_getattr(obj: Any, attribute: str) -> Any:
    return _dict_only_getitem(obj, attribute)


def _dict_only_getitem(obj: Any, key: Any) -> Any:
    if isinstance(obj, Mapping) and isinstance(key, str):
        if key in obj:
            return obj[key]
        return jinja2.StrictUndefined(obj=obj, name=key, hint=f"no label or annotation {key!r}")
    return jinja2.StrictUndefined(hint="only labels.<name> and annotations.<name> are available")


class _Environment(ImmutableSandboxedEnvironment):
    """Jinja sandbox reduced to dictionary look-ups and string filters."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        return _dict_only_getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return _dict_only_getitem(obj, argument)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # Filters are applied without `call`; any call in a template is code.
        raise jinja2.exceptions.SecurityError("calls are not allowed in rule templates")


_SAFE_FILTERS = ("lower", "upper", "trim", "replace", "default", "truncate", "string", "int")


def _make_environment() -> _Environment:
    env = _Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    builtin = dict(env.filters)
    env.filters.clear()
    env.filters.update({name: builtin[name] for name in _SAFE_FILTERS})
    env.tests.clear()
    env.tests.update({"defined": _is_defined, "undefined": lambda v: not _is_defined(v)})
    env.globals.clear()
    return env


def _is_defined(value: Any) -> bool:
    return not isinstance(value, jinja2.Undefined)


_ENV = _make_environment()


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> jinja2.Template:
    """Compile once per distinct source: rules repeat the same few templates
    (`{{ labels.namespace }}` in every rule), and compiling costs ~0.2 ms each."""
    return _ENV.from_string(source)


# `{{ labels.pod }}` alone is by far the most common template: look it up
# directly instead of running Jinja (same result, same error for a missing label).
_SIMPLE = re.compile(r"\{\{\s*(labels|annotations)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Template:
    """A compiled template; plain strings without `{{` render to themselves."""

    source: str

    def __post_init__(self) -> None:
        if self.is_literal:
            return
        simple = _SIMPLE.fullmatch(self.source)
        object.__setattr__(self, "_simple", (simple[1], simple[2]) if simple else None)
        try:
            object.__setattr__(self, "_compiled", _compile(self.source))
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"template {self.source!r}: {error.message}") from None

    @property
    def is_literal(self) -> bool:
        return "{" not in self.source

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
        if self.is_literal:
            return self.source
        simple: tuple[str, str] | None = self.__dict__["_simple"]
        if simple is not None:
            source = labels if simple[0] == "labels" else annotations
            if simple[1] not in source:
                raise TemplateError(f"template {self.source!r}: no label or annotation "
                                    f"{simple[1]!r}")
            return source[simple[1]]
        compiled: jinja2.Template = self.__dict__["_compiled"]
        try:
            return compiled.render(labels=dict(labels), annotations=dict(annotations))
        except jinja2.UndefinedError as error:
            raise TemplateError(f"template {self.source!r}: {error.message}") from None
        except (jinja2.TemplateError, ValueError, TypeError, OverflowError) as error:
            raise TemplateError(f"template {self.source!r}: {error}") from None

    def __str__(self) -> str:
        return self.source
