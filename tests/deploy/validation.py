"""Validating rendered objects: Kubernetes 1.31 schemas, prometheus-operator CRD schemas.

Built-in kinds go through kubernetes-validate in strict mode (unknown fields
are errors). The prometheus-operator kinds are checked against the
openAPIV3Schema of their CRDs (crds/*.json, extracted from the operator's
CRD manifests), made strict the way the API server's field validation is:
an object schema with `properties` admits no other field unless it says
`x-kubernetes-preserve-unknown-fields`.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from .chart import KUBERNETES_VERSION

CRDS = Path(__file__).parent / "crds"
CRD_GROUP = "monitoring.coreos.com"


def validate(body: dict[str, Any]) -> None:
    """Raise with the object's kind/name and the path of the first problem."""
    if body["apiVersion"].startswith(CRD_GROUP + "/"):
        _validate_crd_object(body)
    else:
        kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)


def _validate_crd_object(body: dict[str, Any]) -> None:
    version = body["apiVersion"].split("/", 1)[1]
    validator = _crd_validator(body["kind"].lower(), version)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise AssertionError(f"{body['kind']} {body['metadata']['name']}: {where}: "
                             f"{first.message}")


@functools.cache
def _crd_validator(kind: str, version: str) -> jsonschema.protocols.Validator:
    path = CRDS / f"{kind}-{version}.json"
    assert path.is_file(), f"no CRD schema for {kind} {version} in {CRDS}"
    schema = _strict(copy.deepcopy(json.loads(path.read_text())["openAPIV3Schema"]))
    return jsonschema.Draft7Validator(schema)


def _strict(schema: Any) -> Any:
    """Unknown fields are errors, and int-or-string admits both, as the API server does."""
    if isinstance(schema, dict):
        if schema.pop("x-kubernetes-int-or-string", False):
            schema.pop("type", None)
            schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for item in schema:
            _strict(item)
    return schema


def crd_versions() -> dict[str, str]:
    """kind-version -> the prometheus-operator release the schema comes from."""
    return {path.stem: json.loads(path.read_text())["operatorVersion"]
            for path in sorted(CRDS.glob("*.json"))}
