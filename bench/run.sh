#!/usr/bin/env bash
# The issue-11 benchmark in one run: every scenario, three times each, min/median/max,
# JSON in bench/results/<UTC time>-<scenarios>.json. Takes about 1.5 hours (the soak
# is 3 x 10 min; audit-size pre-fills 10 million rows 3 times; recovery waits out
# today's 5-minute lease 3 times). Run it on a quiet machine.
#   bench/run.sh                              # all --repeat 3
#   bench/run.sh storm single --repeat 5      # any `python -m bench` arguments instead
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-$repo/.venv/bin/python}"
cd "$repo"
if [ "$#" -eq 0 ]; then set -- all --repeat 3; fi
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m bench "$@"
