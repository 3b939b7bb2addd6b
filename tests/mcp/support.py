"""What the MCP tests share: the test servers, a model policy that calls a chosen tool, an HTTP server."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from evalharness.mcp.spec import McpServerSpec

SERVERS = Path(__file__).parent / "servers"
TOY = SERVERS / "toy.py"
STDLIB_SERVER = SERVERS / "stdlib_server.py"
START_GUARD_SECONDS = 60.0  # a hang guard only: a healthy server answers long before


def toy_spec(name: str = "toy", *args: str, **fields: Any) -> McpServerSpec:
    return McpServerSpec(name=name, command=sys.executable, args=[str(TOY), *args], **fields)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def http_toy(*args: str) -> Iterator[str]:
    """The toy server over streamable HTTP on 127.0.0.1; yields its URL once it accepts connections."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(TOY), "--http", str(port), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_GUARD_SECONDS
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the HTTP toy server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait()


Arguments = Callable[[str], dict[str, Any]]  # a tool call's arguments, from the sample's user message


def call_then_answer(tool: str, arguments: Arguments) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A model that calls ``tool`` once (arguments from the user's message), then answers with the result."""
    return calls_then_answer((tool, arguments))


def calls_then_answer(*calls: tuple[str, Arguments]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A model that calls each tool of ``calls`` once, all in one turn, then answers with the first one's
    result: the others say what served the sample (a server's ``pid``, its ``count``)."""

    def policy(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        if messages[-1]["role"] == "tool":
            first = next(m for m in messages if m["role"] == "tool" and m["tool_call_id"] == "call_1")
            return {"role": "assistant", "content": f"The answer is {first['content']}."}
        user = next(m["content"] for m in messages if m["role"] == "user")
        tool_calls = [{"id": f"call_{n}", "type": "function",
                       "function": {"name": tool, "arguments": json.dumps(arguments(user))}}
                      for n, (tool, arguments) in enumerate(calls, start=1)]
        return {"role": "assistant", "content": None, "tool_calls": tool_calls}

    return policy


def expression_of(user_message: str) -> dict[str, Any]:
    """The calculator task's expression, as ``evaluate`` takes it."""
    return {"expression": user_message.split("`")[1]}
