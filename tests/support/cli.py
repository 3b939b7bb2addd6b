"""The real ``evalharness`` command in its own process, for tests of what a user sees and of exit codes.

Every run gets this process's environment without OpenAI settings (a developer's key or URL must never reach
a test run), with unbuffered output, from the repository root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "evalharness"]


def cli_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def evalharness(*args: str, timeout: float = 600, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command to its end; its output as text."""
    return subprocess.run([*COMMAND, *args], check=False, capture_output=True, text=True, timeout=timeout,
                          env=env or cli_env(), cwd=cwd or ROOT)


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the command and return at once (a server, or a run a test interrupts)."""
    return subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or cli_env(), cwd=ROOT)
