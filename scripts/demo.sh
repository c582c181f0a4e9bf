#!/usr/bin/env bash
# The main job on the embedded default: install, serve SmolLM2-135M-Instruct
# with a local CPU vLLM, run configs/quick.yaml against it, write the report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
exec .venv/bin/python -m contour demo "$@"
