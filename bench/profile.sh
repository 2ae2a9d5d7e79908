#!/usr/bin/env bash
# Profile the service with py-spy during a storm (issue 11: "profile first").
#   bench/profile.sh                      # storm of 400 x 50 alerts, 4 senders
#   bench/profile.sh --batches 1000 -c 1  # any `python -m bench storm` option
# Writes bench/results/profile-<UTC time>.txt (py-spy collapsed stacks, "raw":
# feed it to inferno-flamegraph/flamegraph.pl for an SVG) and .summary.txt
# (bench/hotspots.py: share by thread and by layer, top frames by total and own time),
# plus the storm's figures as JSON next to them. Needs py-spy (the `test` extra)
# and permission to ptrace the service (root, or kernel.yama.ptrace_scope=0).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-$repo/.venv/bin/python}"
prefix="$here/results/profile-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$here/results"
cd "$repo"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" "$python" -m bench storm --batches 400 \
  --profile "$prefix" --json "$prefix.json" "$@"
echo
cat "$prefix.summary.txt"
