"""`python -m remediator.docs [--check] [DOCS_DIR]`: write (or check) the reference pages."""

from __future__ import annotations

import sys
from pathlib import Path

from remediator.docs.pages import stale, write


def main(argv: list[str]) -> int:
    check = "--check" in argv
    rest = [arg for arg in argv if arg != "--check"]
    docs = Path(rest[0]) if rest else Path("docs")
    if check:
        out_of_date = stale(docs)
        for path in out_of_date:
            print(f"{docs / path} is out of date: run python -m remediator.docs",
                  file=sys.stderr)
        return 1 if out_of_date else 0
    for path in write(docs):
        print(f"wrote {docs / path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
