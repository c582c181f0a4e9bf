#!/usr/bin/env bash
# Install what is missing, then run the whole test suite (real vLLM included).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
export CONTOUR_REQUIRE_VLLM="${CONTOUR_REQUIRE_VLLM:-1}"
exec .venv/bin/python -m pytest "$@"
