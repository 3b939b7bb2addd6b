#!/usr/bin/env bash
# Install evalharness with the embedded model and everything its sandboxes need, then run the agentic suite
# on the embedded defaults: the SmolLM2-135M model on the CPU, Docker sandboxes built from local images, the
# built-in search index. Idempotent. Arguments go to `evalharness run` (after the defaults, so they win).
#
# The defaults keep a first run to a few minutes on two CPU cores: 2 samples per domain, 256 new tokens per
# model call, and 150 s per sample (a 135M model rarely ends a customer-service conversation by itself).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ensure_docker
ensure_torch
pip_install ".[local]"
ensure_embedded_model
ensure_sandbox_images

log "running the agentic suite on the embedded model"
exec evalharness run --suite agentic --limit 2 --model-args max_new_tokens=256 --time-limit 150 "$@"
