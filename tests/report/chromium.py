"""Open a page in real headless Chromium (Debian's `chromium`, installed by scripts/test.sh) and return the
DOM after its scripts ran, and the browser's console messages."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0"]


@dataclass
class Page:
    dom: str
    console: list[str]  # every console message (the report logs none: any is an error or a CSP violation)
    stderr: str

    def attr(self, name: str) -> str | None:
        """A data-* attribute the report's script sets on <html>."""
        head = self.dom[: self.dom.find(">", self.dom.find("<html")) + 1]
        m = re.search(rf'\bdata-{name}="([^"]*)"', head)
        return m.group(1) if m else None


def open_page(path: Path, fragment: str = "", budget_ms: int = 8000) -> Page:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Chromium is missing: ./scripts/test.sh installs Debian's chromium (apt-get install chromium)"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom",
             path.resolve().as_uri() + fragment],
            capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return Page(proc.stdout, console, proc.stderr)
