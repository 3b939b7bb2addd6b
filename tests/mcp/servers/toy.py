"""An MCP server written with the official SDK, for the tests: arithmetic, a tool error, a crash, a hang, a
per-process counter. ``--http PORT`` serves streamable HTTP on 127.0.0.1 instead of stdio; ``--marker PATH``
makes ``evaluate`` crash (or, with ``--hang-once``, hang) the first time, when PATH does not exist yet;
``--pid-dir DIR`` leaves a file named after the process's pid in DIR once the process is up; ``--journal
FILE`` appends ``PID up PPID`` to FILE once the process is up and ``PID closed PPID`` when its client stops
it (closes its stdin, then sends SIGTERM if it has not exited), with the parent it has then: a server whose
parent died before it was stopped (or that was killed) has no line saying it was closed by the parent that
started it."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from mcp.server.fastmcp import FastMCP

ARITHMETIC = re.compile(r"^[0-9+\-*/() .]+$")

server = FastMCP("toy")
state = {"count": 0}
options = argparse.Namespace(marker=None, hang_once=False, pid_dir=None, journal=None)


@server.tool()
async def evaluate(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    if options.marker is not None and not Path(options.marker).exists():
        Path(options.marker).write_text("tripped")
        if options.hang_once:
            await asyncio.sleep(3600)
        crash()
    if not ARITHMETIC.match(expression):
        raise ValueError(f"not arithmetic: {expression}")
    return str(eval(expression, {"__builtins__": {}}))  # noqa: S307 - digits and operators only


@server.tool()
def fail(message: str) -> str:
    """Always fails with ``message``."""
    raise ValueError(message)


@server.tool()
def crash() -> str:
    """Ends the server process at once."""
    print("toy server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
async def hang() -> str:
    """Never answers."""
    await asyncio.sleep(3600)
    return "late"


@server.tool()
def count() -> int:
    """How many times this process was asked (state that must not leak between samples)."""
    state["count"] += 1
    return state["count"]


@server.tool()
def pid() -> int:
    """The server process's pid (which process served a sample)."""
    return os.getpid()


def journal(event: str) -> None:
    """One line appended at once (lines of several processes sharing the file never interleave)."""
    if options.journal is not None:
        with options.journal.open("a") as f:
            f.write(f"{os.getpid()} {event} {os.getppid()}\n")


def closed_by_signal(signum: int, frame: object) -> None:
    journal("closed")
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, metavar="PORT")
    parser.add_argument("--marker")
    parser.add_argument("--hang-once", action="store_true")
    parser.add_argument("--pid-dir", type=Path)
    parser.add_argument("--journal", type=Path)
    parser.parse_args(namespace=options)
    if options.pid_dir is not None:
        (options.pid_dir / str(os.getpid())).touch()
    if options.journal is not None:
        signal.signal(signal.SIGTERM, closed_by_signal)
    journal("up")
    if options.http is None:
        server.run("stdio")
        journal("closed")
    else:
        server.settings.host = "127.0.0.1"
        server.settings.port = options.http
        server.settings.log_level = "WARNING"
        server.run("streamable-http")


if __name__ == "__main__":
    main()
