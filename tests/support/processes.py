"""Identities of real processes, for tests of what the harness does about a dead or live owner."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from evalharness.ownership import ProcessIdentity, process_start


def finished_process() -> ProcessIdentity:
    """The identity of a process on this host that ran and has been waited for: nothing runs as it now."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_start(proc.pid)
    proc.wait()
    return dataclasses.replace(ProcessIdentity.current(), pid=proc.pid, started=started or "")
