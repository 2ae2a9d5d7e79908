"""How far one delivery walks through the code: intake to its committed audit row.

A newcomer follows a delivery by reading; how many files that takes, and how
often the path turns back on itself, says how well the layout tells the story.
This traces one delivery (a rule matched, dry-run, one audit row) through
`Intake.receive_many` with `sys.setprofile` and counts, over remediator's own
frames only:

- files: distinct source files entered;
- stops: times the executing file changes (a call into another file, or a
  return to the caller's);
- climbs: calls into a file that is already on the stack below (A -> B -> A:
  the path climbs back up into a module it is still inside);
- revisits: stops in a file the walk had already left earlier;
- links: distinct (caller file, callee file) pairs: the map a reader has to hold.

It runs on any layout (it finds the intake through the app), so the same
command gives before and after figures: `python -m bench.walk [--files]`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = str(ROOT / "remediator") + "/"


def _load_settings() -> Any:
    for name in ("remediator.settings", "remediator.app.settings"):  # old layout first
        try:
            return importlib.import_module(name).load_settings
        except ModuleNotFoundError:
            continue
    raise SystemExit("no settings module found")


def _alert(pod: str) -> dict[str, Any]:
    return {"status": "firing", "startsAt": datetime.now(UTC).isoformat(),
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "apps-shop",
                       "pod": pod, "severity": "warning"},
            "annotations": {}, "fingerprint": ""}


@contextmanager
def _intake() -> Iterator[tuple[Any, Any]]:
    from fastapi.testclient import TestClient

    from remediator.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = _load_settings()(
            rules=[str(ROOT / "rules")], database_url=f"sqlite:///{tmp}/walk.db",
            webhook_token="t" * 16, state_dir=Path(tmp), dry_run=True)
        with TestClient(create_app(settings, scheduler=False)) as client:
            intake = client.app.state.services.intake  # type: ignore[attr-defined]
            delivery = importlib.import_module(type(intake).__module__).Delivery
            yield intake, delivery


class _Walk:
    def __init__(self) -> None:
        self.stack: list[str | None] = []
        self.stops: list[str] = []
        self.climbs = 0
        self.links: set[tuple[str, str]] = set()

    def profile(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            path = frame.f_code.co_filename
            file = path[len(PACKAGE):] if path.startswith(PACKAGE) else None
            caller = self._current()
            if file is not None and file in self.stack and caller != file:
                self.climbs += 1
            if file is not None and caller is not None and caller != file:
                self.links.add((caller, file))
            self.stack.append(file)
        elif event == "return" and self.stack:
            self.stack.pop()
        else:
            return
        current = self._current()
        if current is not None and (not self.stops or self.stops[-1] != current):
            self.stops.append(current)

    def _current(self) -> str | None:
        return next((file for file in reversed(self.stack) if file is not None), None)

    def figures(self) -> dict[str, Any]:
        left: set[str] = set()
        revisits = 0
        for before, stop in zip(self.stops, self.stops[1:], strict=False):
            left.add(before)
            revisits += stop in left
        return {"files": len(set(self.stops)), "stops": len(self.stops),
                "climbs": self.climbs, "revisits": revisits, "links": len(self.links)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", action="store_true", help="also list the stops in order")
    args = parser.parse_args(argv)
    with _intake() as (intake, delivery):
        intake.receive_many([delivery(alerts=[_parse(_alert("warm-up"))], group_key="g")])
        walk = _Walk()
        sys.setprofile(walk.profile)
        try:
            intake.receive_many([delivery(alerts=[_parse(_alert("web-7f9c-x2"))],
                                          group_key="g")])
        finally:
            sys.setprofile(None)
    result = walk.figures()
    if args.files:
        result["path"] = walk.stops
    print(json.dumps(result, indent=2))


def _parse(raw: dict[str, Any]) -> Any:
    for name in ("remediator.alertmanager", "remediator.model.alerts"):  # old layout first
        try:
            return importlib.import_module(name).Alert.model_validate(raw)
        except ModuleNotFoundError:
            continue
    raise SystemExit("no alert model found")


if __name__ == "__main__":
    main()
