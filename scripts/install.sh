#!/usr/bin/env bash
# Installs everything Contour needs on a new machine; safe to run again.
#   .venv/                  the project (editable) and its test tools
#   ~/.cache/contour/       the local vLLM server venv and models (scripts/setup_local_vllm.sh)
#   chromium, chromedriver  Debian packages, for the HTML report browser test
# Set CONTOUR_SKIP_VLLM=1 to install only the project (offline mode, evaluation).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${CONTOUR_PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
    echo "[install] creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi
stamp="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat .venv/.contour-installed 2>/dev/null)" != "$stamp" ]; then
    echo "[install] installing the project into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$stamp" > .venv/.contour-installed
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "[install] installing Debian's chromium and chromium-driver"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ "${CONTOUR_SKIP_VLLM:-0}" != "1" ]; then
    bash scripts/setup_local_vllm.sh
fi
echo "[install] done"
