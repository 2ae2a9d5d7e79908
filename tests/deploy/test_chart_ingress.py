"""The optional Ingress: off by default, and when on, routed to the Service, with TLS,
class and auth-proxy annotations as given, its controller admitted by the NetworkPolicy,
and refused by the schema without a valid host."""

from __future__ import annotations

from typing import Any

import pytest

from .chart import VALUE_SETS, render, render_error
from .validation import validate

ON = VALUE_SETS["ingress"]


def _peers(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    [rule] = render(values).one("NetworkPolicy")["spec"]["ingress"]
    peers: list[dict[str, Any]] = rule["from"]
    return peers


def test_there_is_no_ingress_by_default() -> None:
    rendered = render()
    assert rendered.of_kind("Ingress") == []
    assert len(_peers()) == 2  # Alertmanager and Prometheus only


def test_an_enabled_ingress_routes_its_host_to_the_service() -> None:
    rendered = render(ON)
    ingress = rendered.one("Ingress")
    validate(ingress)
    service = rendered.one("Service")
    assert ingress["metadata"]["annotations"] == ON["ingress"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["remediator.example.org"],
                                       "secretName": "remediator-tls"}]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "remediator.example.org"
    [path] = rule["http"]["paths"]
    assert path == {"path": "/", "pathType": "Prefix", "backend": {"service": {
        "name": service["metadata"]["name"], "port": {"name": "http"}}}}
    assert service["spec"]["ports"][0]["name"] == "http"


def test_the_network_policy_admits_the_ingress_controller() -> None:
    controller = {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}
    assert controller in _peers(ON)
    assert controller not in _peers()


def test_without_tls_class_or_annotations_those_fields_are_left_out() -> None:
    ingress = render({"ingress": {"enabled": True, "host": "r.example.org",
                                  "path": "/console", "pathType": "Exact"}}).one("Ingress")
    validate(ingress)
    assert "tls" not in ingress["spec"] and "ingressClassName" not in ingress["spec"]
    assert "annotations" not in ingress["metadata"]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/console"


@pytest.mark.parametrize(("ingress", "message"), [
    ({"enabled": True}, "/ingress/host"),
    ({"enabled": True, "host": "Not A Host"}, "/ingress/host"),
    ({"enabled": True, "host": "r.example.org", "path": "console"}, "/ingress/path"),
    ({"enabled": True, "host": "r.example.org", "pathType": "Regex"}, "/ingress/pathType"),
    ({"enabled": True, "host": "r.example.org", "tls": {"secret": "x"}}, "/ingress/tls"),
])
def test_the_schema_refuses_a_broken_ingress(ingress: dict[str, Any], message: str) -> None:
    assert message in render_error({"ingress": ingress})
