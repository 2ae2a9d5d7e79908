"""The JSON Schema of a rule file, from the pydantic models that load it.

Published as docs/rules.schema.json so editors (yaml-language-server) check a
rule file while it is written, and rendered as docs/reference/rules.md. Two
things pydantic's default generator would get wrong for rule authors: our
durations are Prometheus-style strings (`10m`, or seconds as a number), not
ISO 8601, and a default must be shown as it is written in YAML (`10m`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from remediator.model.durations import format_duration

DURATION_PATTERN = r"^\s*([0-9]+(ms|s|m|h|d|w|y))+\s*$"
DURATION = {"anyOf": [{"type": "string", "pattern": DURATION_PATTERN},
                      {"type": "number"}],
            "description": "a Prometheus duration (30s, 10m, 1h30m) or seconds"}


class _RuleSchema(GenerateJsonSchema):
    """Durations as they are written in rule files."""

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        return dict(DURATION)

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def rule_file_schema() -> dict[str, Any]:
    """The schema of one rule file (`rules: [...]`), as editors and `jsonschema` read it."""
    from remediator.rules.model import RuleFile

    schema = RuleFile.model_json_schema(schema_generator=_RuleSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "remediator rule file",
            "description": "Rules mapping Alertmanager alerts to remediations "
                           "(remediator rules check validates the same, and more).",
            **{k: v for k, v in schema.items() if k not in ("title", "description")}}
