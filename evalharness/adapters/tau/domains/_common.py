"""What the τ²-bench domains (``retail``, ``airline``, ``mock``) share: τ²-bench's own conventions on top of ``Toolkit``.

τ²-bench keeps a domain's database as pydantic models and serialises them when a tool returns one. Here the
database stays plain JSON data, so the fidelity lives in four places:

- **Shape.** A toolkit puts its databases through the domain's data model once, when it is made
  (``DB_MODEL.model_validate(db).model_dump()``, written back into the same dict): fields get the model's
  order and the defaults τ²-bench adds (an order's ``cancel_reason: null`` ...), numbers its types. A loaded
  domain does this once (``shape``) and gives each task's toolkit a copy of the result (``over_shaped``).
  Objects a tool creates are built through the same models, so a bad argument fails with pydantic's own
  message.
- **Output.** A returned object reads as ``json.dumps(obj)`` of that dump (τ²-bench's
  ``Environment.to_json_str``: default separators, no indentation, every field); a string reads as itself.
- **Errors.** Whatever a tool raises reaches the model as ``Error: <str(exception)>``, as in τ²-bench's
  ``get_response``; calls go straight to the method, so a wrong argument name reads as Python's own
  ``TypeError`` (the classes are named as τ²-bench's so that message names the same class).
- **Initial state.** ``apply_initial_state`` does what τ²-bench's ``Environment.set_state`` does with a
  task's ``initial_state``: merge ``initialization_data`` into the databases and re-validate them, run
  ``initialization_actions`` (tools or the domain's helper functions, on the side ``env_type`` names), then
  replay the state-changing tool calls of ``message_history`` and check each result against the recorded one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ValidationError

from evalharness.adapters.tau.toolkit import Databases, Toolkit, already_shaped
from evalharness.errors import DataError
from evalharness.tools import ToolError

ENV_TYPES = {"assistant": "agent", "user": "user"}


def env_function(env_type: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a non-tool function that tasks may name (``initialization_actions``, ``env_assertions``) and the
    side it belongs to (``assistant``: the agent's toolkit, ``user``: the user's)."""
    if env_type not in ENV_TYPES:
        raise ValueError(f"env_type must be one of {sorted(ENV_TYPES)}")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__tau_env__ = env_type  # type: ignore[attr-defined]
        return fn
    return mark


def dump(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """A new object of the data model as plain data (validated as τ²-bench validates it on construction)."""
    return model(**fields).model_dump()


def deep_merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    """τ²-bench's ``update_db`` merge (addict's ``Dict.update``): nested objects merge key by key, anything
    else (lists included) is replaced."""
    for key, value in update.items():
        if key in target and isinstance(target[key], dict) and isinstance(value, dict):
            deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class TauToolkit(Toolkit):
    """Base of the τ²-bench domains. Subclasses set ``domain``, ``DB_MODEL`` and, with a user side,
    ``USER_DB_MODEL``."""

    DB_MODEL: ClassVar[type[BaseModel]]
    USER_DB_MODEL: ClassVar[type[BaseModel] | None] = None
    # "json" for data models that type their dates: the databases stay plain JSON data either way
    DUMP_MODE: ClassVar[Literal["python", "json"]] = "python"
    raw_arguments = True

    def __init__(self, db: dict[str, Any], user_db: dict[str, Any] | None = None) -> None:
        super().__init__(db, user_db)
        if not already_shaped(db):
            self._normalise("assistant")
        if user_db is not None:
            self._check_user_side()
            if not already_shaped(user_db):
                self._normalise("user")

    @classmethod
    def shape(cls, db: dict[str, Any], user_db: dict[str, Any] | None) -> Databases:
        shaped_db = cls._shaped("assistant", db)
        if user_db is None:
            return shaped_db, None
        cls._check_user_side()
        return shaped_db, cls._shaped("user", user_db)

    # --- state ---------------------------------------------------------------------------------------

    @classmethod
    def _check_user_side(cls) -> None:
        if cls.USER_DB_MODEL is None:
            raise DataError(f"domain {cls.domain} has no user database")

    @classmethod
    def _shaped(cls, env_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """A database put through its data model: the model's field order, defaults and number types."""
        model = cls.DB_MODEL if env_type == "assistant" else cls.USER_DB_MODEL
        assert model is not None
        try:
            return model.model_validate(data).model_dump(mode=cls.DUMP_MODE)
        except ValidationError as e:
            raise DataError(f"{cls.domain}: the {'user ' if env_type == 'user' else ''}database does not "
                            f"fit τ²-bench's data model: {e}") from None

    def _normalise(self, env_type: str) -> None:
        target = self.db if env_type == "assistant" else self.user_db
        assert target is not None
        shaped = self._shaped(env_type, target)
        target.clear()
        target.update(shaped)

    def update_db(self, data: dict[str, Any], env_type: str = "assistant") -> None:
        """Merge ``data`` into a database and re-validate it (τ²-bench's ``ToolKitBase.update_db``)."""
        target = self.db if env_type == "assistant" else self.user_db
        if target is None:
            raise DataError(f"domain {self.domain} has no {env_type} database")
        deep_merge(target, data)
        self._normalise(env_type)

    # --- calling -------------------------------------------------------------------------------------

    def call(self, name: str, arguments: dict[str, Any], side: str = "agent") -> str:
        """Run a tool as τ²-bench does: the method is called directly, whatever it raises becomes the
        message, and the result is rendered by ``render``."""
        member = self._members(side).get(name)
        if member is None:
            raise ToolError(f"Tool '{name}' not found.")
        if side == "user" and self.user_db is None:
            raise ToolError("User tools not available")
        fn, _ = member
        try:
            result = fn(self, **arguments)
        except Exception as e:  # noqa: BLE001 - τ²-bench turns every exception into the tool message
            raise ToolError(str(e)) from None
        return self.render(result)

    @staticmethod
    def render(result: Any) -> str:
        """τ²-bench's ``Environment.to_json_str``: a string as it is; an object (a dump of a model, or a list
        of them) as ``json.dumps``; a bare number or boolean as a JSON string of its ``str``."""
        if isinstance(result, str):
            return result
        if isinstance(result, (bool, int, float)):
            return json.dumps(str(result))
        return json.dumps(result, default=str)

    def response(self, name: str, arguments: dict[str, Any], requestor: str = "assistant") -> tuple[str, bool]:
        """The tool message τ²-bench's ``get_response`` makes: (content, is_error)."""
        try:
            return self.call(name, arguments, side=ENV_TYPES.get(requestor, requestor)), False
        except ToolError as e:
            return f"Error: {e}", True

    @classmethod
    def is_mutating(cls, name: str, side: str = "agent") -> bool:
        """τ²-bench replays only these when it rebuilds a state from a conversation (``write`` tools)."""
        return cls.tool_kind(name, side) == "write"

    def run_env_function(self, env_type: str, func_name: str, arguments: dict[str, Any]) -> Any:
        """A function a task names for one side (τ²-bench's ``run_env_function_call``): a tool of that side
        or one of the domain's helpers; the raw result."""
        side = ENV_TYPES.get(env_type)
        if side is None:
            raise DataError(f"invalid env_type {env_type!r}; expected one of {sorted(ENV_TYPES)}")
        if side == "user" and self.user_db is None:
            raise DataError(f"domain {self.domain} has no user tools")
        fn = self._members(side).get(func_name, (None, None))[0]
        if fn is None:
            candidate = getattr(type(self), func_name, None)
            if getattr(candidate, "__tau_env__", None) == env_type:
                fn = candidate
        if fn is None:
            raise DataError(f"Function {func_name} not found in {env_type} tools of domain {self.domain}")
        return fn(self, **arguments)

    def check_env_assertion(self, assertion: dict[str, Any]) -> bool:
        """τ²-bench's ``run_env_assertion``: the function must return a bool; it holds when that equals
        ``assert_value`` (default true)."""
        result = self.run_env_function(assertion.get("env_type", "assistant"), assertion["func_name"],
                                       assertion.get("arguments") or {})
        if not isinstance(result, bool):
            raise DataError(f"Function {assertion['func_name']} returned {type(result)} instead of bool")
        return result == assertion.get("assert_value", True)

    # --- initial state -------------------------------------------------------------------------------

    def apply_initial_state(self, initial_state: dict[str, Any] | None) -> None:
        """A task's ``initial_state`` as τ²-bench's ``Environment.set_state`` applies it (strict replay)."""
        if not initial_state:
            return
        data = initial_state.get("initialization_data") or {}
        if data.get("agent_data") is not None:
            self.update_db(data["agent_data"], "assistant")
        if data.get("user_data") is not None:
            self.update_db(data["user_data"], "user")
        for action in initial_state.get("initialization_actions") or []:
            self.run_env_function(action.get("env_type", "assistant"), action["func_name"],
                                  action.get("arguments") or {})
        for call, expected in _tool_calls_with_results(initial_state.get("message_history") or []):
            requestor = call.get("requestor", "assistant")
            side = ENV_TYPES.get(requestor, requestor)
            if self.tool_kind(call["name"], side) is None:
                continue  # a hallucinated tool changed nothing
            if not self.is_mutating(call["name"], side):
                continue
            content, _ = self.response(call["name"], call.get("arguments") or {}, requestor)
            if _loads(content) != _loads(expected.get("content")):
                raise DataError(f"replaying {call['name']}({call.get('arguments')}) from the task's message "
                                f"history returned {content!r}, the history records {expected.get('content')!r}")


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _tool_calls_with_results(messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each tool call of the history with the tool message that answers it (τ²-bench requires they follow
    the call, in order, with the same id)."""
    pairs = []
    queue = list(messages)
    while queue:
        message = queue.pop(0)
        if message.get("role") == "tool":
            raise DataError("message history: a tool message that follows no tool call")
        if message.get("role") in ("assistant", "user"):
            for call in message.get("tool_calls") or []:
                if not queue:
                    raise DataError("message history: a tool call without its tool message")
                answer = queue.pop(0)
                if answer.get("role") != "tool":
                    raise DataError(f"message history: expected a tool message, got {answer.get('role')!r}")
                if answer.get("id") != call.get("id"):
                    raise DataError(f"message history: tool call id mismatch ({call.get('id')} vs {answer.get('id')})")
                pairs.append((call, answer))
    return pairs
