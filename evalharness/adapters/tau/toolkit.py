"""A customer-service domain's tools over its database, τ²-bench style.

A domain is data (``db.json``/``db.toml``, ``tasks.json``, ``policy.md``, ``split_tasks.json``, optional
``user_db.*``) plus a ``Toolkit`` subclass: its methods decorated ``@tool("read")``/``@tool("write")`` are
the agent's tools, ``@user_tool`` the simulated user's (when the domain has a user database), and
``@assertion`` the functions tasks name in ``env_assertions``. The database is plain JSON data that the
tools read and mutate in place, so a final state compares as canonical JSON.

Tool specs come from the method's signature and docstring (Google style ``Args:``), so the model sees what
the code accepts. A tool signals a domain error by raising ``ValueError`` (or ``ToolError``); the model
reads ``Error: <message>``, as in τ²-bench.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import re
import tomllib
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from evalharness.errors import DataError
from evalharness.tools import ToolError
from evalharness.types import ToolSpec

ToolKind = Literal["read", "write", "think", "generic"]

_JSON_TYPE = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def tool(kind: ToolKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__tau_tool__ = ("agent", kind)  # type: ignore[attr-defined]
        return fn
    return mark


def user_tool(kind: ToolKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__tau_tool__ = ("user", kind)  # type: ignore[attr-defined]
        return fn
    return mark


def assertion(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.__tau_assertion__ = True  # type: ignore[attr-defined]
    return fn


def _schema_of(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        options = [a for a in args if a is not type(None)]
        return _schema_of(options[0]) if len(options) == 1 else {"anyOf": [_schema_of(a) for a in options]}
    if origin is list:
        return {"type": "array", "items": _schema_of(args[0]) if args else {}}
    if origin is dict:
        return {"type": "object"}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _object_schema(annotation)
    return {"type": _JSON_TYPE.get(annotation, "string")}


def _object_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An argument shaped like a data model: the model sees the object's fields, not just "object"."""
    properties = {}
    for name, field in model.model_fields.items():
        schema = _schema_of(field.annotation)
        if field.description:
            schema["description"] = field.description
        properties[name] = schema
    required = [name for name, field in model.model_fields.items() if field.is_required()]
    return {"type": "object", "properties": properties, "required": required}


def _doc_parts(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description and the per-argument descriptions of a Google-style docstring."""
    doc = inspect.getdoc(fn) or ""
    description = re.split(r"\n\s*(?:Args|Returns|Raises):", doc)[0].strip()
    args: dict[str, str] = {}
    if m := re.search(r"Args:\n(.*?)(?:\n\s*(?:Returns|Raises):|\Z)", doc, re.S):
        current = None
        for line in m.group(1).splitlines():
            if am := re.match(r"\s*(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line):
                current = am.group(1)
                args[current] = am.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
    return description, args


def spec_of(fn: Callable[..., Any], name: str) -> ToolSpec:
    description, arg_docs = _doc_parts(fn)
    hints = typing.get_type_hints(fn)
    properties: dict[str, Any] = {}
    required = []
    for pname, param in inspect.signature(fn).parameters.items():
        if pname == "self":
            continue
        schema = _schema_of(hints.get(pname, str))
        if pname in arg_docs:
            schema["description"] = arg_docs[pname]
        properties[pname] = schema
        if param.default is inspect.Parameter.empty:
            required.append(pname)
    return ToolSpec(name=name, description=description,
                    parameters={"type": "object", "properties": properties, "required": required})


class Toolkit:
    """Subclass per domain. ``db`` (and ``user_db``) are the live states the tools read and write."""

    domain: ClassVar[str]
    # True: a call's arguments reach the method unchecked and it answers a bad call itself (τ²-bench's
    # toolkits, whose error messages must read the same); False: the harness checks them against the schema
    raw_arguments: ClassVar[bool] = False

    def __init__(self, db: dict[str, Any], user_db: dict[str, Any] | None = None) -> None:
        self.db = db
        self.user_db = user_db

    @classmethod
    def read_policy(cls, directory: Path) -> str:
        """The agent's policy from a domain directory: its ``policy.md`` (a domain whose policy is made of
        several documents says how they combine)."""
        path = directory / "policy.md"
        if not path.is_file():
            raise DataError(f"{directory}: no policy.md")
        return path.read_text(encoding="utf-8")

    # --- discovery -------------------------------------------------------------------------------------

    @classmethod
    @functools.cache
    def _members(cls, side: str) -> dict[str, tuple[Callable[..., Any], ToolKind]]:
        found = {}
        for name, fn in inspect.getmembers(cls, predicate=inspect.isfunction):
            mark = getattr(fn, "__tau_tool__", None)
            if mark and mark[0] == side:
                found[name] = (fn, mark[1])
        return found

    @classmethod
    @functools.cache
    def tool_specs(cls, side: str = "agent") -> list[ToolSpec]:
        return [spec_of(fn, name) for name, (fn, _) in sorted(cls._members(side).items())]

    @classmethod
    def tool_kind(cls, name: str, side: str = "agent") -> ToolKind | None:
        member = cls._members(side).get(name)
        return member[1] if member else None

    # --- calling ---------------------------------------------------------------------------------------

    def call(self, name: str, arguments: dict[str, Any], side: str = "agent") -> str:
        """Run a tool; its result as the text the model reads. Domain errors raise ToolError."""
        member = self._members(side).get(name)
        if member is None:
            raise ToolError(f"Tool '{name}' not found.")
        fn, _ = member
        try:
            inspect.signature(fn).bind(self, **arguments)
        except TypeError as e:
            raise ToolError(str(e)) from None
        try:
            result = fn(self, **arguments)
        except (ValueError, KeyError, TypeError) as e:
            raise ToolError(str(e.args[0]) if e.args else type(e).__name__) from None
        return self.render(result)

    @staticmethod
    def render(result: Any) -> str:
        """A tool result as text: strings as they are, everything else as JSON."""
        if isinstance(result, str):
            return result
        return json.dumps(result)

    def run_assertion(self, name: str, arguments: dict[str, Any]) -> bool:
        fn = getattr(type(self), name, None)
        if fn is None or not getattr(fn, "__tau_assertion__", False):
            raise DataError(f"domain {self.domain} has no assertion function {name!r}")
        try:
            return bool(fn(self, **arguments))
        except (ValueError, KeyError, TypeError) as e:  # e.g. the record it checks does not exist
            raise ToolError(str(e.args[0]) if e.args else type(e).__name__) from None

    # --- state -----------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {"db": self.db, "user_db": self.user_db}

    def snapshot(self) -> str:
        """Canonical JSON of the whole state (keys sorted): equal strings, equal states."""
        return json.dumps(self.state(), sort_keys=True, separators=(",", ":"))


def load_data_file(directory: Path, stem: str, required: bool = True) -> dict[str, Any] | None:
    """``<stem>.json`` or ``<stem>.toml`` from a domain directory."""
    for suffix in (".json", ".toml"):
        path = directory / f"{stem}{suffix}"
        if path.is_file():
            try:
                if suffix == ".json":
                    return json.loads(path.read_text(encoding="utf-8"))
                return tomllib.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
                line = getattr(e, "lineno", None)
                raise DataError(f"{path}{f':{line}' if line else ''}: cannot parse: {e}") from None
    if required:
        raise DataError(f"{directory}: no {stem}.json or {stem}.toml")
    return None


def fresh_copy(data: dict[str, Any] | None) -> dict[str, Any] | None:
    return copy.deepcopy(data)
