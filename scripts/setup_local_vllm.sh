#!/usr/bin/env bash
# The setup ships inside the package (contour/local/setup/) so that an installed
# Contour can build its local vLLM too; this path stays for the README and habits.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../contour/local/setup/setup_local_vllm.sh" "$@"
