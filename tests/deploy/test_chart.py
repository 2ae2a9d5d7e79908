"""The Helm chart, rendered by the real Helm engine and checked against real schemas."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import helm_python as helm
import pytest
import yaml

from .chart import CHART, NAMESPACE, VALUE_SETS, Rendered, render, render_error
from .validation import crd_versions, validate

SETS = [pytest.param(name, id=name) for name in VALUE_SETS]


def container(rendered: Rendered) -> dict[str, Any]:
    containers = rendered.one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    found: dict[str, Any] = containers[0]
    return found


def env(rendered: Rendered) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container(rendered)["env"]}


def volumes(rendered: Rendered) -> dict[str, dict[str, Any]]:
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    return {volume["name"]: volume for volume in pod["volumes"]}


def mounts(rendered: Rendered) -> dict[str, str]:
    return {m["name"]: m["mountPath"] for m in container(rendered)["volumeMounts"]}


@pytest.mark.parametrize("name", SETS)
def test_lint_finds_no_error_or_warning(name: str) -> None:
    result = helm.lint(str(CHART), VALUE_SETS[name], strict=True, namespace=NAMESPACE,
                       kube_version="1.31.0")
    serious = [m for m in result["messages"] if m["severity"] > 1]
    assert result["errors"] == []
    assert serious == []


@pytest.mark.parametrize("name", SETS)
def test_every_object_is_valid_for_kubernetes_1_31(name: str) -> None:
    for manifest in render(VALUE_SETS[name]):
        validate(manifest.body)


@pytest.mark.parametrize("name", SETS)
def test_every_namespaced_object_names_the_release_namespace(name: str) -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding"}
    for manifest in render(VALUE_SETS[name]):
        namespace = manifest.body["metadata"].get("namespace")
        if manifest.kind in cluster_scoped:
            assert namespace is None
        elif manifest.kind not in {"Role", "RoleBinding"}:
            assert namespace == NAMESPACE, manifest.template


def test_the_validators_reject_unknown_fields() -> None:
    """Strictness is what makes the validation above worth something."""
    deployment = copy.deepcopy(render().one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(Exception, match="livenesProbe"):
        validate(deployment)
    monitor = copy.deepcopy(render().one("ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(AssertionError, match="intervall"):
        validate(monitor)


def test_crd_schemas_come_from_one_operator_release() -> None:
    versions = crd_versions()
    assert set(versions) == {"servicemonitor-v1", "prometheusrule-v1",
                             "alertmanagerconfig-v1alpha1"}
    assert len(set(versions.values())) == 1


@pytest.mark.parametrize("name", SETS)
def test_the_pod_is_hardened(name: str) -> None:
    rendered = render(VALUE_SETS[name])
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    security = container(rendered)["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    assert mounts(rendered)["tmp"] == "/tmp"
    assert mounts(rendered)["data"] == "/var/lib/remediator"


def test_the_service_listens_on_all_interfaces_and_is_probed() -> None:
    rendered = render()
    probes = container(rendered)
    assert env(rendered)["REMEDIATOR_LISTEN"] == "0.0.0.0:9095"
    assert probes["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "http"}
    assert probes["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "http"}
    assert probes["startupProbe"]["httpGet"]["path"] == "/-/healthy"
    assert probes["resources"]["limits"]["memory"] == "512Mi"


def test_the_image_is_pinned_by_digest_when_one_is_given() -> None:
    digest = "sha256:" + "0f" * 32
    assert container(render({"image": {"digest": digest}}))["image"] == (
        f"ghcr.io/remediator/remediator@{digest}")
    assert container(render())["image"] == "ghcr.io/remediator/remediator:0.1.0"


def test_the_service_account_token_is_projected_where_the_service_reads_it() -> None:
    rendered = render()
    sources = volumes(rendered)["serviceaccount"]["projected"]["sources"]
    assert sources[0]["serviceAccountToken"]["path"] == "token"
    assert sources[1]["configMap"] == {"name": "kube-root-ca.crt",
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    assert mounts(rendered)["serviceaccount"] == env(rendered)[
        "REMEDIATOR_KUBE_SERVICEACCOUNT_DIR"]


def test_generated_tokens_are_mounted_as_files() -> None:
    rendered = render()
    secret = rendered.one("Secret")
    assert set(secret["data"]) == {"webhook-token", "api-token"}
    assert volumes(rendered)["tokens"]["secret"]["secretName"] == secret["metadata"]["name"]
    assert env(rendered)["REMEDIATOR_WEBHOOK_TOKEN_FILE"] == "/etc/remediator/tokens/webhook-token"
    assert env(rendered)["REMEDIATOR_API_TOKEN_FILE"] == "/etc/remediator/tokens/api-token"
    assert not any("secretKeyRef" in str(item) for item in container(rendered)["env"])


def test_an_existing_secret_replaces_the_generated_one() -> None:
    rendered = render(VALUE_SETS["existing-secrets"])
    assert rendered.of_kind("Secret") == []
    tokens = volumes(rendered)["tokens"]["secret"]
    assert tokens["secretName"] == "remediator-tokens"
    assert [item["key"] for item in tokens["items"]] == ["webhook", "api"]
    assert env(rendered)["REMEDIATOR_WEBHOOK_TOKEN_FILE"] == "/etc/remediator/tokens/webhook"
    assert volumes(rendered)["data"]["persistentVolumeClaim"] == {"claimName": "remediator-data"}
    assert rendered.of_kind("PersistentVolumeClaim") == []


def test_rules_default_to_the_repository_examples() -> None:
    data = _rules_configmap(render())
    assert set(data) == {p.name for p in (CHART / "files" / "rules").glob("*.yml")}
    assert {"workloads.yml", "node-repairs.yml"} <= set(data)
    assert env(render())["REMEDIATOR_RULES"] == "/etc/remediator/rules"


def test_inline_rules_replace_the_examples_and_roll_the_pods() -> None:
    inline = VALUE_SETS["existing-secrets"]["rules"]
    data = _rules_configmap(render({"rules": inline}))
    assert set(data) == {"mine.yml"}
    assert yaml.safe_load(data["mine.yml"]) == inline["files"]["mine.yml"]
    changed = copy.deepcopy(inline)
    changed["files"]["mine.yml"]["rules"][0]["name"] = "renamed"
    assert _checksum(render({"rules": inline})) != _checksum(render({"rules": changed}))


def test_inline_rules_as_text_are_kept_verbatim() -> None:
    text = "rules: []  # nothing yet\n"
    assert _rules_configmap(render({"rules": {"files": {"empty.yml": text}}})) == {
        "empty.yml": text}


def _rules_configmap(rendered: Rendered) -> dict[str, str]:
    [found] = [c for c in rendered.of_kind("ConfigMap")
               if c["metadata"]["name"].endswith("-rules")]
    data: dict[str, str] = found["data"]
    return data


def _checksum(rendered: Rendered) -> str:
    annotations = rendered.one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    return str(annotations["checksum/rules"])


def test_one_replica_keeps_sqlite_on_a_claim_and_recreates() -> None:
    rendered = render()
    deployment = rendered.one("Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert env(rendered)["REMEDIATOR_DATABASE_URL"] == (
        "sqlite:////var/lib/remediator/remediator.db")
    claim = rendered.one("PersistentVolumeClaim")
    assert volumes(rendered)["data"]["persistentVolumeClaim"]["claimName"] == (
        claim["metadata"]["name"])
    assert "topologySpreadConstraints" not in deployment["spec"]["template"]["spec"]


def test_several_replicas_run_on_postgresql_spread_over_nodes() -> None:
    rendered = render(VALUE_SETS["ha-postgresql"])
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    assert rendered.one("Deployment")["spec"]["replicas"] == 3
    assert "REMEDIATOR_DATABASE_URL" not in env(rendered)
    assert env(rendered)["REMEDIATOR_DATABASE_URL_FILE"] == "/etc/remediator/database/database-url"
    assert volumes(rendered)["database"]["secret"]["secretName"] == "remediator-db"
    assert rendered.of_kind("PersistentVolumeClaim") == []
    [spread] = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == "remediator"


@pytest.mark.parametrize(("values", "message"), [
    pytest.param({"replicaCount": 2}, "replicaCount > 1 needs database.postgresql.enabled",
                 id="replicas-without-postgresql"),
    pytest.param({"database": {"postgresql": {"enabled": True}}},
                 "needs database.postgresql.existingSecret", id="postgresql-without-secret"),
    pytest.param({"replicaCount": 0}, "/replicaCount", id="zero-replicas"),
    pytest.param({"rbac": {"actions": ["kubernetes.exec"]}}, "/rbac/actions/0",
                 id="unknown-action"),
    pytest.param({"rbac": {"namespaces": ["Apps_A"]}}, "/rbac/namespaces/0",
                 id="bad-namespace"),
    pytest.param({"image": {"digest": "latest"}}, "/image/digest", id="bad-digest"),
    pytest.param({"replicas": 2}, "additional properties 'replicas' not allowed",
                 id="misspelt-key"),
])
def test_bad_values_fail_at_install_with_a_clear_message(values: dict[str, Any],
                                                         message: str) -> None:
    assert message in render_error(values)


def test_network_policy_admits_alertmanager_and_prometheus_only() -> None:
    policy = render().one("NetworkPolicy")["spec"]
    [rule] = policy["ingress"]
    assert policy["policyTypes"] == ["Ingress"]
    assert [peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for peer in rule["from"]] == ["alertmanager", "prometheus"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    custom = render({"networkPolicy": {"alertmanager": {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}}})
    first = custom.one("NetworkPolicy")["spec"]["ingress"][0]["from"][0]
    assert first["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "observability"}


def test_pod_disruption_budget_selects_the_pods() -> None:
    rendered = render()
    budget = rendered.one("PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"]["matchLabels"] == (
        rendered.one("Deployment")["spec"]["selector"]["matchLabels"])


def test_monitoring_objects_can_each_be_switched_off() -> None:
    kinds = {m.kind for m in render(VALUE_SETS["no-monitoring-crds"])}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "AlertmanagerConfig",
                        "NetworkPolicy"}
    assert [c["metadata"]["name"] for c in render(VALUE_SETS["no-monitoring-crds"])
            .of_kind("ConfigMap")] == ["remediator-rules"]


def test_service_monitor_names_the_job_the_alerts_expect() -> None:
    rendered = render()
    monitor = rendered.one("ServiceMonitor")
    service = rendered.one("Service")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "remediator"
    assert monitor["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}]


def test_alertmanager_config_routes_to_the_webhook_with_the_token_secret() -> None:
    config = render(VALUE_SETS["ha-postgresql"]).one("AlertmanagerConfig")["spec"]
    [receiver] = config["receivers"]
    [webhook] = receiver["webhookConfigs"]
    assert config["route"]["receiver"] == receiver["name"]
    assert webhook["url"] == (
        f"http://remediator.{NAMESPACE}.svc:9095/webhook/alertmanager")
    assert webhook["httpConfig"]["authorization"]["credentials"] == {
        "name": "remediator-tokens", "key": "webhook-token"}
    assert webhook["sendResolved"] is True


def test_notes_warn_when_rbac_is_cluster_wide() -> None:
    assert "WARNING: rbac.namespaces is empty" in render(VALUE_SETS["cluster-wide"]).notes
    assert "WARNING" not in render().notes


def _chart_keys() -> list[tuple[str, bool, bool]]:
    """(dotted key, documented, is a leaf) for every key of the chart in values.yaml.

    Keys below a documented key are that key's content (labels, selectors, a
    security context), not keys of the chart, and are left out.
    """
    lines = (CHART / "values.yaml").read_text().splitlines()
    keys: list[tuple[str, bool, bool]] = []
    stack: list[tuple[int, str, bool]] = []  # indent, key, documented
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z_]\w*):(.*)$", line)
        if not match:
            continue
        indent, key, value = len(match[1]), match[2], match[3].strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        documented = number > 0 and lines[number - 1].strip().startswith("#")
        if not any(doc for _, _, doc in stack):
            keys.append((".".join([k for _, k, _ in stack] + [key]), documented, bool(value)))
        stack.append((indent, key, documented))
    return keys


def _schema_node(schema: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for part in dotted.split("."):
        node = (node or {}).get("properties", {}).get(part)
    return node


def test_values_are_documented_key_by_key_and_typed_by_the_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    keys = _chart_keys()
    assert len(keys) > 80
    assert [key for key, documented, leaf in keys if leaf and not documented] == []
    assert [key for key, _, _ in keys if _schema_node(schema, key) is None] == []
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(chart.values)


def test_reconciliation_reads_only_the_receiver_the_chart_routes_to() -> None:
    """Issue 20, item 1: one Alertmanager serves many teams. The chart's own
    AlertmanagerConfig receiver is named by prometheus-operator
    `<namespace>/<config name>/<receiver>`; reconciliation must ask for exactly that."""
    rendered = render({"alertmanagerConfig": {"enabled": True}})
    config = rendered.one("AlertmanagerConfig")
    (receiver,) = config["spec"]["receivers"]
    expected = f"{NAMESPACE}/{config['metadata']['name']}/{receiver['name']}"
    assert env(rendered)["REMEDIATOR_ALERTMANAGER_RECEIVER"] == expected
    assert "REMEDIATOR_ALERTMANAGER_RECEIVER" not in env(render())  # webhook-seen only
    chosen = render({"config": {"alertmanagerReceiver": "team-a-remediator"}})
    assert env(chosen)["REMEDIATOR_ALERTMANAGER_RECEIVER"] == "team-a-remediator"
