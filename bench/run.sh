#!/usr/bin/env bash
# Run the webhook benchmark with the project's virtualenv and keep the figures.
#   bench/run.sh                       # defaults: 400 x 50 alerts, 4 senders, <= 60 s
#   bench/run.sh --batches 1500 --max-seconds 50 --py-spy /tmp/prof
# Every argument is passed to bench/loadgen.py (see --help).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-$repo/.venv/bin/python}"
mkdir -p "$here/results"
exec "$python" "$here/loadgen.py" --json "$here/results/$(date -u +%Y%m%dT%H%M%SZ).json" "$@"
