"""The release before the audit head moved into the database, run as it shipped.

`fill` extracts the newest commit whose store was at revision 0008 (`git
archive`) and runs its own code in a child process: it migrates an empty
database and decides a few alerts, writing keyed audit entries and its head
checkpoint file, exactly what an installation upgraded by this release holds.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REVISION = 'HEAD_REVISION = "0008"'

_SCRIPT = """
import json, sys
from pathlib import Path
from remediator.actions.base import ActionRegistry
from remediator.alertmanager import Alert
from remediator.services import Services
from remediator.settings import load_settings

url, key_file, state_dir, rules, alerts = sys.argv[1:6]
settings = load_settings(rules=[rules], database_url=url, dev=True,
                         audit_key_file=Path(key_file), state_dir=Path(state_dir))
services = Services.build(settings, actions=ActionRegistry({}))
try:
    for alert in json.loads(alerts):
        services.intake.receive([Alert.model_validate(alert)], group_key="g")
finally:
    services.database.dispose()
"""


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


@functools.cache
def commit() -> str:
    """The newest commit whose schema head was 0008."""
    for sha in _git("log", "--format=%H", "--", "remediator/store/database.py").split():
        text = _git("show", f"{sha.decode()}:remediator/store/database.py").decode()
        if REVISION in text:
            return sha.decode()
    raise AssertionError("no commit at revision 0008 in this checkout's history")


def extract(into: Path) -> Path:
    """That commit's `remediator/` and `rules/`, unpacked under `into`."""
    into.mkdir(parents=True, exist_ok=True)
    archive = _git("archive", "--format=tar", commit(), "remediator", "rules")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def fill(code: Path, *, url: str, key_file: Path, state_dir: Path,
         alerts: list[dict[str, object]]) -> None:
    """Decide `alerts` with the previous release's code, on `url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env["PYTHONPATH"] = str(code)
    subprocess.run([sys.executable, "-c", _SCRIPT, url, str(key_file), str(state_dir),
                    str(code / "rules"), json.dumps(alerts)],
                   cwd=code, env=env, check=True, capture_output=True, timeout=120)
