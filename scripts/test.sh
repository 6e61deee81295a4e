#!/usr/bin/env bash
# The full test suite, from a fresh clone: installs system packages the integration tests
# run for real (redis-server, promtool), sets up .venv, runs the static checks (scripts/check.sh: ruff,
# mypy --strict, import contracts), then pytest with every service required (a test that
# needs PostgreSQL, Redis or moto fails instead of skipping). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# redis-server for the cache tests; prometheus for promtool (the alert rules' unit tests).
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

bash scripts/setup.sh
bash scripts/check.sh

set +e
LLMOPS_REQUIRE_SERVICES=1 .venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
