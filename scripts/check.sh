#!/usr/bin/env bash
# Static checks, as CI runs them (scripts/test.sh runs this first): ruff, mypy --strict and
# the import contracts of docs/architecture.md. Needs the .venv from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(core components stacks llmops policies serving)

.venv/bin/ruff check "${TARGETS[@]}"
.venv/bin/mypy "${TARGETS[@]}"
.venv/bin/lint-imports
