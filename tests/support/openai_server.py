"""A real OpenAI-compatible HTTP server on 127.0.0.1 with scripted answers and injectable faults.

Tests and benchmarks drive the real ``openai`` client over real HTTP against it. Answers come from a
*policy* (a function from the request body to an assistant message); faults are queued and each one
replaces the answer to one chat request.

Run standalone (for benchmarks): ``python -m tests.support.openai_server --port 0`` prints its URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Policy = Callable[[dict[str, Any]], dict[str, Any]]

_BACKTICKED = re.compile(r"`([^`]+)`")


def calculator_policy(body: dict[str, Any]) -> dict[str, Any]:
    """Solve the calculator task like a competent model: call the tool it was given (``calculator`` or
    ``python``), then report the tool's result."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        return {"role": "assistant", "content": f"The answer is {last['content']}."}
    match = _BACKTICKED.search(last.get("content") or "")
    tools = [t["function"]["name"] for t in body.get("tools") or ()]
    if not match or not tools:
        return {"role": "assistant", "content": "I cannot help with that."}
    expression = match.group(1)
    arguments = {"code": f"print({expression})"} if tools[0] == "python" else {"expression": expression}
    n = sum(1 for m in body["messages"] if m["role"] == "assistant")
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": f"call_{n}", "type": "function",
             "function": {"name": tools[0], "arguments": json.dumps(arguments)}}
        ],
    }


@dataclass
class Fault:
    """One injected failure. ``kind``: status | timeout | truncated | bad_tool_args | disconnect."""

    kind: str
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None


@dataclass
class ServerLog:
    chat_requests: int = 0
    models_requests: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


class ScriptedOpenAIServer:
    def __init__(
        self, policy: Policy = calculator_policy, latency: float = 0.0, record_bodies: bool = True,
        model: str = "scripted-model", api_key: str | None = None,
    ) -> None:
        self.policy = policy
        self.latency = latency
        self.record_bodies = record_bodies
        self.model = model
        self.api_key = api_key  # when set, requests with another bearer token get 401
        self.faults: deque[Fault] = deque()
        self.log = ServerLog()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def inject(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "invalid API key", "type": "auth"}}, status=401)
        return await handler(request)

    async def _models(self, request: web.Request) -> web.Response:
        self.log.models_requests += 1
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "test"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.log.in_flight += 1
        self.log.max_in_flight = max(self.log.max_in_flight, self.log.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.log.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.log.chat_requests += 1
        self.log.request_times.append(time.monotonic())
        if self.record_bodies:
            self.log.bodies.append(body)
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self.faults.popleft() if self.faults else None
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                payload = fault.body or {"error": {"message": f"injected {fault.status}", "type": "test"}}
                return web.json_response(payload, status=fault.status, headers=headers)
            if fault.kind == "truncated":
                text = json.dumps(self._completion(self.policy(body)))
                return web.Response(text=text[: len(text) // 2], content_type="application/json")
            if fault.kind == "disconnect":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
            if fault.kind == "bad_tool_args":
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_bad", "type": "function",
                         "function": {"name": "calculator", "arguments": '{"expression": "1 +'}}
                    ],
                }
                return web.json_response(self._completion(message))
            # "timeout": the delay above outlasted the client's timeout; answer normally if it is still there
        return web.json_response(self._completion(self.policy(body)))

    def _completion(self, message: dict[str, Any]) -> dict[str, Any]:
        prompt_tokens, completion_tokens = 20, 5
        return {
            "id": f"chatcmpl-{self.log.chat_requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    # --- running in a background thread (tests) ------------------------------------------------------

    def start(self) -> ScriptedOpenAIServer:
        self._thread = threading.Thread(target=self._serve, name="openai-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")
        return self

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start_site())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
        # requests whose clients went away mid-answer (a run stopped, a node killed) end here, not at exit
        left = asyncio.all_tasks(self._loop)
        for task in left:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        self._loop.close()

    async def _start_site(self, port: int = 0) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every chat request")
    args = parser.parse_args()
    server = ScriptedOpenAIServer(latency=args.latency, record_bodies=False)

    async def serve() -> None:
        await server._start_site(args.port)
        print(server.base_url, flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
