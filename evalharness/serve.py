"""``evalharness serve``: a model backend behind an OpenAI-compatible HTTP API.

``POST /v1/chat/completions`` (non-streaming; ``tools`` in, ``tool_calls`` out in the OpenAI schema) and
``GET /v1/models``. Every request goes to the same backend, so with ``--model hf:...`` concurrent clients share
one model through its batching engine; ``--model openai:NAME --base-url URL`` on the other end evaluates a local
checkpoint exactly as it would a hosted one. A tool call the model wrote badly is passed on with its raw
``arguments`` text, which the client's own parser then reports as malformed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web

from evalharness.models.base import GenerateConfig, ModelBackend, ModelError
from evalharness.types import Message, ToolCall, ToolSpec

log = logging.getLogger(__name__)


class BadRequest(Exception):
    pass


def _messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'messages' must be a non-empty list")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise BadRequest(f"messages[{i}] needs a role of system, user, assistant or tool")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        calls = []
        for j, c in enumerate(m.get("tool_calls") or ()):
            fn = (c or {}).get("function") or {}
            raw_args = fn.get("arguments")
            call_id = c.get("id") or f"call_{i}_{j}"
            if isinstance(raw_args, dict):
                calls.append(ToolCall(call_id, fn.get("name", ""), raw_args))
                continue
            try:
                args = json.loads(raw_args or "{}")
                if not isinstance(args, dict):
                    raise ValueError("not an object")
                calls.append(ToolCall(call_id, fn.get("name", ""), args))
            except ValueError as e:
                calls.append(ToolCall(call_id, fn.get("name", ""), {}, raw_arguments=str(raw_args), parse_error=str(e)))
        role = "system" if m["role"] == "developer" else m["role"]
        out.append(Message(role=role, content=content, tool_calls=calls, tool_call_id=m.get("tool_call_id"),
                           name=m.get("name")))
    return out


def _tools(raw: Any) -> list[ToolSpec]:
    specs = []
    for i, t in enumerate(raw or ()):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise BadRequest(f"tools[{i}] must be {{'type': 'function', 'function': {{'name': ...}}}}")
        specs.append(ToolSpec(fn["name"], fn.get("description") or "", fn.get("parameters") or {"type": "object"}))
    return specs


def _config(body: dict[str, Any]) -> GenerateConfig:
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]

    def number(key: str, kind: type) -> Any:
        value = body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(f"'{key}' must be a number")
        return kind(value)

    return GenerateConfig(
        temperature=number("temperature", float),
        top_p=number("top_p", float),
        max_tokens=number("max_completion_tokens", int) or number("max_tokens", int),
        seed=number("seed", int),
        stop=list(stop) if stop else None,
    )


def _error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind}}, status=status)


def build_app(backend: ModelBackend, model_id: str) -> web.Application:
    created = int(time.time())

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": model_id, "object": "model", "created": created, "owned_by": "evalharness"}]})

    async def chat(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        if body.get("stream"):
            return _error(400, "streaming is not supported by this server; send stream=false")
        if (body.get("n") or 1) != 1:
            return _error(400, "only n=1 is supported")
        try:
            messages, tools, config = _messages(body.get("messages")), _tools(body.get("tools")), _config(body)
        except BadRequest as e:
            return _error(400, str(e))
        if body.get("tool_choice") == "none":
            tools = []
        try:
            output = await backend.generate(messages, tools, config)
        except ModelError as e:
            status = 400 if e.kind == "bad_request" or e.is_context_overflow else 500
            return _error(status, str(e), "server_error" if status == 500 else "invalid_request_error")
        msg = output.message
        message: dict[str, Any] = {"role": "assistant", "content": msg.content}
        if msg.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {
                    "name": c.name,
                    "arguments": c.raw_arguments if c.parse_error is not None
                    else json.dumps(c.arguments, ensure_ascii=False)}}
                for c in msg.tool_calls
            ]
        usage = output.usage
        return web.json_response({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": output.finish_reason or "stop",
                         "logprobs": None}],
            "usage": {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                      "total_tokens": usage.total_tokens},
        })

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    return app


async def serve(backend: ModelBackend, model_id: str, host: str, port: int,
                ready: asyncio.Event | None = None) -> None:
    """Load the model, listen, print the address, and serve until cancelled (Ctrl-C)."""
    await backend.check()
    runner = web.AppRunner(build_app(backend, model_id), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    print(f"serving {backend.name} at http://{host}:{bound}/v1 (model id {model_id!r}); Ctrl-C stops",
          flush=True)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await backend.aclose()
