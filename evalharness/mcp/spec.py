"""What a suite or the command line says about an MCP server attached to a task.

Kept free of the ``mcp`` SDK so that suites validate (and runs resume) where the extra is not installed; the
SDK is needed only once a server is actually started.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evalharness.errors import ConfigError

# what OpenAI-compatible APIs accept as a tool name; a server's tools are offered under these names
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SERVER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class McpServerSpec(BaseModel):
    """One MCP server: a stdio command (``command``, ``args``, ``env``) or a streamable-HTTP ``url`` (with
    ``headers``). ``lifecycle: sample`` (the default) starts a fresh server for every sample, so no state
    leaks between samples; ``run`` shares one, for servers the user knows to be stateless. ``sandbox`` names
    a sandbox image the stdio server runs in (a fresh container per sample), so its side effects stay
    there."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SERVER_NAME.pattern, description="names the server in transcripts and reports")
    command: str | None = Field(default=None, min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    url: str | None = Field(default=None, pattern=r"^https?://")
    headers: dict[str, str] = Field(default_factory=dict)
    tools: list[str] | None = Field(default=None, description="allow-list of the server's tool names")
    prefix: str = Field(default="", pattern=r"^[A-Za-z0-9_-]*$", description="put before every tool name")
    lifecycle: Literal["sample", "run"] = "sample"
    sandbox: str | None = Field(default=None, description="sandbox image the stdio server runs in")
    call_timeout: float = Field(default=120.0, gt=0, description="seconds a tool call may take")
    start_timeout: float = Field(default=60.0, gt=0, description="seconds the server may take to start")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (a stdio server) and `url` (streamable HTTP)")
        if self.url is not None and (self.args or self.env or self.sandbox):
            raise ValueError("`args`, `env` and `sandbox` go with `command`, not with `url`")
        if self.command is not None and self.headers:
            raise ValueError("`headers` go with `url`, not with `command`")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    def resolved_env(self) -> dict[str, str]:
        """``env`` with ``$NAME``/``${NAME}`` read from this process's environment when the server starts, so
        that a secret stays out of the suite and the run's manifest."""
        return {key: os.path.expandvars(value) for key, value in self.env.items()}

    def resolved_headers(self) -> dict[str, str]:
        """``headers``, with environment variables read as for ``env`` (an ``Authorization`` token, say)."""
        return {key: os.path.expandvars(value) for key, value in self.headers.items()}

    def offered_name(self, tool: str) -> str:
        """The name the model calls a tool of this server by."""
        return self.prefix + tool

    def describe(self) -> str:
        """The server as a user would recognise it in a message."""
        where = self.url if self.url is not None else shlex.join([self.command or "", *self.args])
        return f"MCP server {self.name!r} ({where})"


def parse_cli_server(text: str) -> McpServerSpec:
    """``--mcp-server``: a JSON object with the suite's keys, ``NAME=URL`` or ``NAME=COMMAND ARGS...``."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise ConfigError(f"--mcp-server: not valid JSON: {e}") from None
    else:
        name, sep, rest = text.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise ConfigError(f"--mcp-server {text!r}: expected NAME=COMMAND ARGS..., NAME=URL "
                              "or a JSON object")
        if rest.strip().startswith(("http://", "https://")):
            data = {"name": name.strip(), "url": rest.strip()}
        else:
            try:
                argv = shlex.split(rest)
            except ValueError as e:
                raise ConfigError(f"--mcp-server {text!r}: {e}") from None
            data = {"name": name.strip(), "command": argv[0], "args": argv[1:]}
    try:
        return McpServerSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError("\n".join(_cli_problem(error) for error in e.errors())) from None


def _cli_problem(error: dict[str, object]) -> str:
    loc = ".".join(str(part) for part in error["loc"])  # type: ignore[union-attr]
    message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    return f"--mcp-server: {loc + ': ' if loc else ''}{message}"
