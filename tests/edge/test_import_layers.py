"""The import layers in `.importlinter` hold (also run by scripts/test)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command is not None, "import-linter is not installed (pip install -e '.[test]')"
    result = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False, env={"PYTHONPATH": str(ROOT),
                                                           "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
