#!/usr/bin/env bash
# Static checks, as CI runs them (scripts/test.sh runs this first): ruff, mypy --strict and
# the import contracts of docs/architecture.md. Needs the .venv from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# serving/ is configured for mypy --strict too (pyproject.toml) and joins this list once clean.
TARGETS=(core components stacks llmops policies)

.venv/bin/ruff check "${TARGETS[@]}"
.venv/bin/mypy "${TARGETS[@]}"
.venv/bin/lint-imports
