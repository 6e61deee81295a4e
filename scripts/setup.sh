#!/usr/bin/env bash
# Creates the project virtualenv at .venv (the one Pulumi.yaml names) and installs the
# project with everything it needs, including the `llmops` command. Safe to re-run: it
# reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: Python >= 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.llmops-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    # CPU build of torch first, so the serving extra's torch range is already satisfied
    # and pip never pulls a multi-GB CUDA build.
    .venv/bin/python -m pip install --quiet "torch==2.13.0"
    .venv/bin/python -m pip install --quiet -e ".[serving,dev]"
    echo "$want" > "$stamp"
fi
echo "ready: $(.venv/bin/llmops --version 2>/dev/null || echo llmops) in .venv"
