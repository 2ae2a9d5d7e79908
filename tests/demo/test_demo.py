"""`serve --demo`: a remediation executed and verified, an approval, guards, the banner.

Everything is read from the outside: the service's HTTP API and console,
and the emulated cluster's Kubernetes API (what `kubectl` would show).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from remediator.demo import scene
from remediator.demo.alertmanager import CRASHING

from .conftest import Demo, until

pytestmark = pytest.mark.slow  # one demo, its script and two 20 s verifications


def test_the_crash_looping_pod_is_deleted_in_the_cluster_and_verified(demo: Demo) -> None:
    verified = demo.entry(rule="restart-crashlooping-pod", outcome="verified")

    assert verified["target"] == f"pod/{scene.SHOP}/{CRASHING}"
    assert verified["reason"] == "the alert resolved"
    gone = demo.kube(f"/api/v1/namespaces/{scene.SHOP}/pods/{CRASHING}")
    assert gone.status_code == 404
    cart = [p["metadata"]["name"] for p in pods(demo) if p["metadata"]["labels"]["app"] == "cart"]
    assert len(cart) == 3 and CRASHING not in cart  # the controller replaced it


def test_the_remediation_keeps_the_pods_evidence(demo: Demo) -> None:
    entry = demo.entry(rule="restart-crashlooping-pod", outcome="succeeded")
    remediation = demo.api(f"/api/v1/remediations/{entry['remediation_id']}")

    [evidence] = remediation["evidence"]
    document = evidence["document"]
    [container] = document["containers"]
    assert container["state"]["reason"] == "CrashLoopBackOff"
    assert container["lastTermination"]["exitCode"] == 1
    logs = document["previous_logs"]["cart"]
    assert any("database unavailable" in line for line in logs)
    assert any("password=<redacted>" in line for line in logs)
    assert "s3cr3t" not in str(remediation)
    assert {e["reason"] for e in document["events"]} == {"BackOff", "Unhealthy"}
    assert document["errors"] == []


def test_approving_the_rollback_executes_it_on_the_cluster(demo: Demo) -> None:
    waiting = demo.entry(rule="undo-stuck-rollout", outcome="awaiting_approval")
    assert image(demo) == "registry.example.org/checkout:2.4.0"

    answer = httpx.post(f"{demo.url}/api/v1/remediations/{waiting['remediation_id']}/approve",
                        json={"reason": "2.4.0 lacks payments.endpoint"}, timeout=10)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "approved"
    done = demo.entry(rule="undo-stuck-rollout", outcome="succeeded")
    assert "from revision 2 to revision 1" in done["reason"]
    assert image(demo) == "registry.example.org/checkout:2.3.1"
    remediation = demo.api(f"/api/v1/remediations/{waiting['remediation_id']}")
    assert remediation["evidence"][0]["document"]["rollout"]["revision"] == 2
    until(lambda: True if not [p for p in pods(demo) if scene.CHECKOUT_NEW in
                               p["metadata"]["name"]] else None,
          "the crashing checkout pod replaced by the old revision's")
    demo.entry(rule="undo-stuck-rollout", outcome="verified")


def test_guards_hold_back_the_stock_twin_and_the_dry_run_rule(demo: Demo) -> None:
    cooldown = demo.entry(rule="raise-hpa-ceiling", outcome="cooldown")
    dry_run = demo.entry(rule="rollout-restart-on-memory-pressure", outcome="dry_run")
    demo.entry(rule="raise-hpa-ceiling", outcome="succeeded")

    assert cooldown["alertname"] == "KubeHpaMaxedOut"
    hpa = demo.kube(f"/apis/autoscaling/v2/namespaces/{scene.SHOP}/horizontalpodautoscalers/cart")
    assert hpa.json()["spec"]["maxReplicas"] == 8  # raised once, not twice
    assert dry_run["target"] == f"deployment/{scene.STREAM}/encoder"
    encoder = demo.kube(f"/apis/apps/v1/namespaces/{scene.STREAM}/deployments/encoder").json()
    assert "annotations" not in encoder["spec"]["template"]["metadata"]  # never restarted


def test_every_console_page_says_demo(demo: Demo) -> None:
    for path in ("/", "/audit", "/login"):
        page = httpx.get(f"{demo.url}{path}", timeout=10)
        assert page.status_code == 200
        assert '<div class="demo-banner" role="status"><strong>DEMO</strong>' in page.text


def test_the_start_says_what_it_runs_against(demo: Demo) -> None:
    line = demo.wait_for("demo mode: emulated cluster at")

    assert "nothing real is touched" in line
    assert demo.cluster.startswith("http://127.0.0.1:")
    assert "remediator-demo.db" in line
    assert demo.kube("/version").json()["major"] == "1"


def pods(demo: Demo) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = demo.kube(f"/api/v1/namespaces/{scene.SHOP}/pods").json()["items"]
    return items


def image(demo: Demo) -> str:
    found = demo.kube(f"/apis/apps/v1/namespaces/{scene.SHOP}/deployments/checkout").json()
    return str(found["spec"]["template"]["spec"]["containers"][0]["image"])
