"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, SGLang, llama.cpp, TGI, our own `serve`).

The SDK's own retries are off: this backend retries with tenacity so that the policy (which errors, how
long, ``Retry-After``) is ours and visible, and so a sample that still fails is recorded, not lost.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from typing import Any

import httpx2 as httpx
import openai
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from evalharness.budget import pause_current
from evalharness.errors import ModelUnavailable
from evalharness.models.base import CONTEXT_LENGTH, BackendOptions, CallContext, GenerateConfig, ModelError
from evalharness.tools import MAX_ARGUMENT_CHARS, oversize_reason
from evalharness.types import Message, ModelOutput, ToolCall, ToolSpec, Usage

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 409, 425, 429}


class BadResponse(Exception):
    """The server answered 200 with a body that is not a usable completion (truncated, no choices, a shape
    the chat-completions format does not allow)."""


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, BadResponse)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """The wait a server asked for in ``Retry-After`` (seconds or HTTP date) or ``retry-after-ms``."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


class _Wait:
    """Exponential backoff with jitter, unless the server said how long to wait."""

    def __init__(self, options: BackendOptions) -> None:
        self._max = options.retry_max_wait
        self._backoff = wait_random_exponential(multiplier=options.retry_initial_wait, max=options.retry_max_wait)

    def __call__(self, state: RetryCallState) -> float:
        asked = retry_after_seconds(state.outcome.exception() if state.outcome else None)
        if asked is not None:
            return min(asked, self._max)
        return self._backoff(state)


# How servers word a prompt that does not fit the context: OpenAI (context_length_exceeded), vLLM and SGLang
# ("maximum context length"/"longer than the model's context length"), llama.cpp ("exceeds the available
# context size"), TGI ("must have less than N tokens")
_CONTEXT_OVERFLOW = re.compile(r"context_length_exceeded|context (length|size|window)|maximum context"
                               r"|input validation error: `inputs` tokens", re.I)


def _describe(exc: BaseException) -> tuple[str, str]:
    """(kind, one-line message) for an error that ended a sample."""
    if isinstance(exc, openai.APIStatusError):
        detail = ""
        body = exc.body
        if isinstance(body, dict):
            err = body.get("error", body)
            detail = str(err.get("message", "")) if isinstance(err, dict) else str(err)
        text = f"HTTP {exc.status_code}" + (f": {detail}" if detail else "")
        if exc.status_code in (400, 413) and _CONTEXT_OVERFLOW.search(detail):
            return CONTEXT_LENGTH, text
        return ("rate_limit" if exc.status_code == 429 else f"http_{exc.status_code}", text)
    if isinstance(exc, openai.APITimeoutError):
        return "timeout", "request timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return "connection", f"connection failed: {cause or exc}"
    if isinstance(exc, BadResponse):
        return "bad_response", str(exc)
    return "model_error", f"{type(exc).__name__}: {exc}"


def parse_completion(body: Any) -> ModelOutput:
    """The first choice of a chat completion as our types.

    A shape the chat-completions format does not allow (no choices, no message, tool calls that are not a
    list of functions with string arguments) is the server's failure, not the model's: it raises
    BadResponse, which is retried and in the end recorded as ``model_error:bad_response``. What the model
    controls (a tool's name, its arguments' JSON) is kept as it came and answered by the tool layer.
    """
    if not isinstance(body, dict):
        raise BadResponse(f"response body is not a JSON object but {_json_kind(body)}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        error = body.get("error")  # some servers answer 200 with an error object
        detail = error.get("message", error) if isinstance(error, dict) else error
        raise BadResponse("response has no choices" + (f" (error: {_first_line(str(detail))})" if error else ""))
    choice = choices[0]
    if not isinstance(choice, dict):
        raise BadResponse(f"choices[0] is not an object but {_json_kind(choice)}")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise BadResponse("choices[0] has no message" + ("" if message is None else f" ({_json_kind(message)})"))
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise BadResponse(f"choices[0].message.content is not a string but {_json_kind(content)}")
    finish_reason = choice.get("finish_reason")
    return ModelOutput(
        message=Message(role="assistant", content=content, tool_calls=parse_tool_calls(message.get("tool_calls"))),
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        usage=_usage(body.get("usage")),
    )


def parse_tool_calls(raw_calls: Any) -> list[ToolCall]:
    if raw_calls is None:
        return []
    if not isinstance(raw_calls, list):
        raise BadResponse(f"choices[0].message.tool_calls is not a list but {_json_kind(raw_calls)}")
    return [_tool_call(i, c) for i, c in enumerate(raw_calls)]


def _tool_call(index: int, raw: Any) -> ToolCall:
    where = f"choices[0].message.tool_calls[{index}]"
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(function, dict):
        raise BadResponse(f"{where} has no function")
    arguments = function.get("arguments")
    if arguments is None:
        arguments = "{}"
    if not isinstance(arguments, str):
        raise BadResponse(f"{where}.function.arguments is not a string but {_json_kind(arguments)}")
    call_id = raw.get("id")
    call_id = call_id if isinstance(call_id, str) and call_id else f"call_{index}"
    name = _tool_name(function.get("name"))
    if len(arguments) > MAX_ARGUMENT_CHARS:  # never parsed: the tool layer refuses the call
        return ToolCall(call_id, name, {}, raw_arguments=arguments, parse_error=oversize_reason(len(arguments)))
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError as e:
        return ToolCall(call_id, name, {}, raw_arguments=arguments, parse_error=str(e))
    if not isinstance(parsed, dict):
        return ToolCall(call_id, name, {}, raw_arguments=arguments,
                        parse_error=f"expected an object, got {arguments[:80]}")
    try:  # the transcript and the next request write the arguments out again
        orjson.dumps(parsed)
    except orjson.JSONEncodeError as e:
        return ToolCall(call_id, name, {}, raw_arguments=arguments, parse_error=str(e))
    return ToolCall(call_id, name, parsed)


def _tool_name(raw: Any) -> str:
    """The name as the model gave it, always a string: a missing one becomes "" and any other JSON value its
    JSON text, so the call is recorded and answered as a bad call instead of breaking what reads names."""
    if isinstance(raw, str):
        return raw
    try:
        return "" if raw is None else orjson.dumps(raw).decode()
    except orjson.JSONEncodeError:  # nested too deeply to write out
        return ""


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    return Usage(_token_count(raw.get("prompt_tokens")), _token_count(raw.get("completion_tokens")))


def _token_count(raw: Any) -> int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else 0


def _json_kind(value: Any) -> str:
    """How a JSON value reads in an error message: "null", "a string", "a list"..."""
    if value is None:
        return "null"
    return _JSON_KINDS.get(type(value), type(value).__name__)


_JSON_KINDS = {bool: "a boolean", str: "a string", list: "a list", dict: "an object", int: "a number",
               float: "a number"}


class OpenAICompatBackend:
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None,
        api_key: str | None,
        options: BackendOptions,
        max_connections: int,
    ) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.max_connections = max_connections
        self._options = options
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "sk-no-key",
            base_url=base_url,
            max_retries=0,
            timeout=httpx.Timeout(options.timeout, connect=min(10.0, options.timeout)),
            http_client=openai.DefaultAsyncHttpxClient(
                limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
            ),
        )
        self._wait = _Wait(options)
        self._slots = asyncio.Semaphore(max_connections)

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def describe(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model, "base_url": self.base_url}

    async def check(self) -> None:
        """Reach the server once before the run. Any HTTP answer will do (some servers have no /models);
        only no answer at all, or a rejected key, stops the run."""
        try:
            await self._client.with_options(timeout=10.0).models.list()
        except openai.AuthenticationError:
            raise ModelUnavailable(
                f"the server at {self.base_url} rejected the API key (HTTP 401); pass --api-key or set OPENAI_API_KEY"
            ) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as e:
            reason = e.__cause__ or e
            raise ModelUnavailable(
                f"cannot reach the OpenAI-compatible server at {self.base_url} ({_short(reason)}); "
                "start it or pass the right --base-url"
            ) from None
        except openai.APIStatusError:
            pass

    async def generate(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        config: GenerateConfig,
        context: CallContext | None = None,
    ) -> ModelOutput:
        params: dict[str, Any] = config.request_params()
        if tools:
            params["tools"] = [t.to_openai() for t in tools]
        else:  # a tool choice without tools is an error to most servers
            params.pop("tool_choice", None)
        params.update(config.extra_body or {})  # the server's own knobs, at the top level of the body
        payload = [m.to_openai() for m in messages]
        start = time.perf_counter()
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_is_retryable),
                stop=stop_after_attempt(self._options.max_retries + 1),
                wait=self._wait,
                before_sleep=self._log_retry,
                reraise=True,
            ):
                with attempt:
                    output = await self._create(payload, params)
        except Exception as e:
            kind, message = _describe(e)
            fatal = isinstance(e, (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError))
            raise ModelError(kind, message, fatal=fatal) from e
        output.latency = time.perf_counter() - start
        return output

    async def _create(self, payload: list[dict[str, Any]], params: dict[str, Any]) -> ModelOutput:
        with pause_current():  # a free connection is the other samples' doing: the sample's clock stands
            await self._slots.acquire()
        try:
            # The payload is already plain OpenAI JSON: posting it directly skips the SDK's per-request
            # re-transformation of every message (a third of the harness's CPU per call, measured), and
            # the answer comes back as plain JSON too, for parse_completion to check field by field.
            body = await self._client.post(
                "/chat/completions",
                body={"model": self.model, "messages": payload, **params},
                cast_to=object,
            )
        except (ValueError, openai.APIResponseValidationError) as e:  # JSON body cut short or malformed
            raise BadResponse(f"malformed response body: {_short(e)}") from e
        finally:
            self._slots.release()
        return parse_completion(body)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        kind, message = _describe(exc) if exc else ("", "")
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info("model call failed (%s: %s); retry %d in %.2fs", kind, message, state.attempt_number, wait)

    async def aclose(self) -> None:
        await self._client.close()


def _short(exc: BaseException) -> str:
    return _first_line(str(exc)) if str(exc) else type(exc).__name__


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else text
