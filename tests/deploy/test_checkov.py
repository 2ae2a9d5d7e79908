"""checkov's Kubernetes checks on every rendered value set, its Dockerfile checks on the
Containerfile: nothing fails. A check that does not fit is skipped inline
(`checkov.io/skipN` annotations), with its reason, where it is skipped.

checkov pins many of its dependencies (packaging<24, cyclonedx-python-lib<8),
so scripts/setup installs it into its own virtualenv, .venv-tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .chart import REPO, VALUE_SETS, render, write_manifests


def checkov() -> str:
    path = os.environ.get("CHECKOV") or str(REPO / ".venv-tools" / "bin" / "checkov")
    assert Path(path).is_file(), f"{path} is missing: run scripts/setup test"
    return path


def scan(target: Path, framework: str) -> dict[str, Any]:
    flag = "-d" if target.is_dir() else "-f"
    result = subprocess.run(
        [checkov(), flag, str(target), "--framework", framework, "--output", "json",
         "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert result.stdout.strip(), result.stderr[-2000:]
    report: Any = json.loads(result.stdout)
    if isinstance(report, list):  # one report per framework
        [report] = [r for r in report if r["check_type"] == framework]
    found: dict[str, Any] = report
    return found


def failures(report: dict[str, Any]) -> list[str]:
    return [f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
            for c in report["results"]["failed_checks"]]


@pytest.mark.slow
def test_rendered_manifests_pass_checkovs_kubernetes_checks(tmp_path: Path) -> None:
    for name, values in VALUE_SETS.items():
        write_manifests(render(values), tmp_path / name)

    report = scan(tmp_path, "kubernetes")

    assert failures(report) == []
    assert report["summary"]["passed"] > 100
    skipped = report["results"].get("skipped_checks", [])
    assert all(c["check_id"] in {"CKV_K8S_15", "CKV_K8S_21", "CKV_K8S_43"} for c in skipped)


@pytest.mark.slow
def test_containerfile_passes_checkovs_dockerfile_checks(tmp_path: Path) -> None:
    # checkov recognises Dockerfiles by name only.
    shutil.copy(REPO / "Containerfile", tmp_path / "Dockerfile")

    report = scan(tmp_path / "Dockerfile", "dockerfile")

    assert failures(report) == []
    assert report["summary"]["passed"] > 10
