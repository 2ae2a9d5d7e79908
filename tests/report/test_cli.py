"""`remediator report rightsizing`: bad input is one line and exit 2, before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from remediator.cli import app


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--namespace", "apps"], "no Prometheus URL", id="no-url"),
    pytest.param(["--namespace", "Apps Shop", "--prometheus-url", "http://p:9090"],
                 "not a valid RFC 1123 label", id="bad-namespace"),
    pytest.param(["--namespace", "apps", "--prometheus-url", "http://p:9090", "--window",
                  "a week"], "invalid duration 'a week'", id="bad-window"),
    pytest.param(["--namespace", "apps", "--prometheus-url", "http://p:9090"],
                 "no Kubernetes configuration found", id="no-cluster"),
])
def test_bad_input_is_an_error_naming_it(args: list[str], message: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMEDIATOR_PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    result = CliRunner().invoke(app, ["report", "rightsizing", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_an_unreachable_cluster_is_one_line(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n", encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(config))
    result = CliRunner().invoke(app, ["report", "rightsizing", "--namespace", "apps",
                                      "--prometheus-url", "http://127.0.0.1:1", "--timeout", "2"])
    assert result.exit_code == 2
    assert "cannot reach Kubernetes: MaxRetryError" in result.stderr
    assert "Traceback" not in result.output
