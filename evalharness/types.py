"""The serialisable records that flow between adapters, models, the runner, the store and the reporter.

Messages follow the OpenAI chat format so transcripts can be replayed against any compatible server.
Plain dataclasses (not pydantic) keep the hot path cheap: a run creates several of these per model call.
Each type has ``to_dict``/``from_dict`` that round-trip through JSON exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]

StopReason = Literal[
    "completed",  # the model answered without tool calls (or the adapter's stop condition held)
    "max_turns",
    "max_tokens",
    "time_limit",
    "model_length",  # the model hit its own generation limit (finish_reason == "length")
    # the conversation outgrew the model's context window: a limit of the model, scored like the others
    "context_length",
    "error",
]


@dataclass(slots=True)
class ToolCall:
    """A tool call as the model emitted it.

    When the model's arguments are not a JSON object, ``arguments`` is empty, ``raw_arguments`` keeps
    the text and ``parse_error`` says what was wrong; the agent returns that to the model as a tool error.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None
    parse_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "name": self.name, "arguments": self.arguments}
        if self.parse_error is not None:
            d["raw_arguments"] = self.raw_arguments
            d["parse_error"] = self.parse_error
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        return cls(
            id=d["id"],
            name=d["name"],
            arguments=d.get("arguments") or {},
            raw_arguments=d.get("raw_arguments"),
            parse_error=d.get("parse_error"),
        )


@dataclass(slots=True)
class Message:
    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # tool messages: the call they answer
    name: str | None = None  # tool messages: the tool's name
    is_error: bool = False  # tool messages: the call failed
    server: str | None = None  # tool messages: the MCP server that answered (None: the task's own tool)

    def to_openai(self) -> dict[str, Any]:
        """The message as the OpenAI chat API expects it (no harness-only fields)."""
        import orjson

        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            d["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": c.raw_arguments
                        if c.parse_error is not None
                        else orjson.dumps(c.arguments).decode(),
                    },
                }
                for c in self.tool_calls
            ]
        if self.role == "tool":
            d["tool_call_id"] = self.tool_call_id
        return d

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            d["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            d["name"] = self.name
        if self.is_error:
            d["is_error"] = True
        if self.server is not None:
            d["server"] = self.server
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(
            role=d["role"],
            content=d.get("content"),
            tool_calls=[ToolCall.from_dict(c) for c in d.get("tool_calls") or ()],
            tool_call_id=d.get("tool_call_id"),
            name=d.get("name"),
            is_error=bool(d.get("is_error", False)),
            server=d.get("server"),
        )


@dataclass(slots=True, frozen=True)
class ToolSpec:
    """What the model is told about a tool: its name, purpose and JSON-schema arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Usage:
        d = d or {}
        return cls(input_tokens=int(d.get("input_tokens", 0)), output_tokens=int(d.get("output_tokens", 0)))


@dataclass(slots=True)
class ModelOutput:
    message: Message
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency: float = 0.0  # seconds, including retries


@dataclass(slots=True)
class Sample:
    """One unit of work. ``id`` is stable across runs so checkpoints can be compared sample by sample."""

    id: str
    input: str | list[Message]
    target: Any = None
    domain: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ToolCallRecord:
    """One executed tool call, for the transcript viewer and for per-domain tool statistics."""

    name: str
    arguments: dict[str, Any]
    output: str
    is_error: bool
    duration: float
    server: str | None = None  # the MCP server that ran the tool; None: the task's own

    def to_dict(self) -> dict[str, Any]:
        d = {
            "name": self.name,
            "arguments": self.arguments,
            "output": self.output,
            "is_error": self.is_error,
            "duration": round(self.duration, 6),
        }
        if self.server is not None:
            d["server"] = self.server
        return d

    @property
    def label(self) -> str:
        """The tool as summaries name it: an MCP server's tools under their server."""
        return self.name if self.server is None else f"{self.server}/{self.name}"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCallRecord:
        return cls(d["name"], d.get("arguments") or {}, d.get("output", ""), bool(d["is_error"]), d["duration"],
                   d.get("server"))


@dataclass(slots=True)
class SampleError:
    """Why a sample could not be evaluated. Errored samples are reported apart, never scored as 0."""

    kind: str  # model_error | task_error | scorer_error | internal
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SampleError | None:
        return None if d is None else cls(kind=d["kind"], message=d["message"])


@dataclass(slots=True)
class Episode:
    """What happened while the model worked on a sample. Mutated in place as the episode runs, so a
    time limit or an error still leaves the partial transcript for scoring and debugging.

    ``error`` is how the episode reports a failure to the runner, which records it on
    ``SampleResult.error``; it is therefore not part of the episode's own serialised form. Neither are
    ``artifacts`` (e.g. output files an adapter collects for its scorer): scores record what matters."""

    messages: list[Message] = field(default_factory=list)
    tool_log: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_calls: int = 0
    model_time: float = 0.0
    tool_time: float = 0.0
    stop_reason: StopReason = "completed"
    error: SampleError | None = None
    artifacts: dict[str, Any] = field(default_factory=dict)  # what run_episode leaves for score (not stored)

    @property
    def final_answer(self) -> str:
        """The last assistant message's text: what scorers read."""
        for m in reversed(self.messages):
            if m.role == "assistant":
                return m.content or ""
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "tool_log": [t.to_dict() for t in self.tool_log],
            "usage": self.usage.to_dict(),
            "model_calls": self.model_calls,
            "model_time": round(self.model_time, 6),
            "tool_time": round(self.tool_time, 6),
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Episode:
        return cls(
            messages=[Message.from_dict(m) for m in d.get("messages", ())],
            tool_log=[ToolCallRecord.from_dict(t) for t in d.get("tool_log", ())],
            usage=Usage.from_dict(d.get("usage")),
            model_calls=d.get("model_calls", 0),
            model_time=d.get("model_time", 0.0),
            tool_time=d.get("tool_time", 0.0),
            stop_reason=d.get("stop_reason", "completed"),
        )


@dataclass(slots=True)
class Score:
    """A value in [0, 1] for one metric of one sample. ``domain`` is what the reporter groups by."""

    value: float
    domain: str
    name: str = "score"
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"score {self.name!r} must lie in [0, 1], got {self.value}")

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "domain": self.domain, "name": self.name, "details": self.details}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Score:
        return cls(value=d["value"], domain=d["domain"], name=d.get("name", "score"), details=d.get("details") or {})


@dataclass(slots=True)
class SampleResult:
    """One line of ``samples.jsonl``: everything known about one sample in one epoch.

    ``(task, sample_id, epoch)`` is the key: unique within a run, and what comparisons pair on.
    The first score is the sample's primary score.
    """

    task: str
    sample_id: str
    epoch: int
    domain: str
    target: Any
    episode: Episode
    scores: list[Score]
    error: SampleError | None
    started_at: float
    duration: float
    seed: int | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.task, self.sample_id, self.epoch)

    @property
    def score(self) -> float | None:
        return self.scores[0].value if self.scores else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "sample_id": self.sample_id,
            "epoch": self.epoch,
            "domain": self.domain,
            "target": self.target,
            "scores": [s.to_dict() for s in self.scores],
            "error": self.error.to_dict() if self.error else None,
            "started_at": round(self.started_at, 3),
            "duration": round(self.duration, 6),
            "seed": self.seed,
            "episode": self.episode.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleResult:
        return cls(
            task=d["task"],
            sample_id=d["sample_id"],
            epoch=d["epoch"],
            domain=d["domain"],
            target=d.get("target"),
            episode=Episode.from_dict(d.get("episode") or {}),
            scores=[Score.from_dict(s) for s in d.get("scores") or ()],
            error=SampleError.from_dict(d.get("error")),
            started_at=d.get("started_at", 0.0),
            duration=d.get("duration", 0.0),
            seed=d.get("seed"),
        )
