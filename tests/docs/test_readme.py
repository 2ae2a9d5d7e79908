"""README is the first hour: it starts with the two commands, its first alert
runs as written, and every link in README and docs/ leads somewhere."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.edge.serving import running

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_starts_with_the_two_commands() -> None:
    first = _BLOCK.search(README)
    assert first is not None
    assert README.index("```sh") < README.index("\n## ")
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands == ["scripts/run", "scripts/test"]


def _curl_words() -> list[str]:
    (line,) = [line for line in README.splitlines() if line.startswith("curl ")]
    return shlex.split(line, comments=True)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_first_alert_runs_as_written(tmp_path: Path) -> None:
    """README's curl against `serve --dev` without a cluster, as `scripts/run` serves."""
    words = _curl_words()
    assert words[-1] == "http://127.0.0.1:9095/webhook/alertmanager"
    with running(tmp_path) as server:
        words[-1] = f"{server.url}/webhook/alertmanager"
        done = subprocess.run(words, cwd=ROOT, capture_output=True, text=True, timeout=30,
                              check=True)
    (decision,) = [d for d in json.loads(done.stdout)["decisions"]
                   if d["rule"] == "restart-crashlooping-pod"]
    assert decision["outcome"] == "dry_run"
    said = "no Kubernetes connection: would run kubernetes.delete_pod on pod/apps-shop/"
    assert decision["reason"].startswith(said)
    assert f'"{said}...".' in " ".join(README.split()), "README says what it answers"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        assert where.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor and where.suffix == ".md":
            assert anchor in _anchors(where), f"{page.name} links to a missing #{anchor}"
