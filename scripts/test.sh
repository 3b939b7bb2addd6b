#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite. Idempotent: safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e ".[test]"

# pytest exits 5 when it collects nothing: that is a failure here, never a pass.
exec python3 -m pytest -n 2 "$@"
