#!/usr/bin/env bash
# Install evalharness with the embedded model and everything its sandboxes need, then run the agentic suite
# on the embedded defaults: the SmolLM2-135M model on the CPU, Docker sandboxes built from local images, the
# built-in search index. Idempotent. Arguments go to `evalharness run` (after the defaults, so they win).
#
# The defaults keep a first run to a few minutes on two CPU cores by bounding each sample's work, not its time:
# 2 samples per domain, at most 3 model turns per sample (a 135M model rarely ends a customer-service
# conversation by itself) and 128 new tokens per turn. A slow or busy machine takes longer but evaluates the
# same work: every sample is scored on the model's own replies.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ensure_docker
ensure_torch
pip_install ".[local]"
ensure_embedded_model
ensure_sandbox_images

log "running the agentic suite on the embedded model"
exec evalharness run --suite agentic --limit 2 --max-turns 3 --model-args max_new_tokens=128 "$@"
