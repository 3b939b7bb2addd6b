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

import functools
import inspect
import json
import pickle
import re
import tomllib
import typing
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import orjson
from pydantic import BaseModel, Field, create_model

from evalharness.errors import DataError
from evalharness.gc_pause import no_gc
from evalharness.tools import ToolError
from evalharness.types import ToolSpec

ToolKind = Literal["read", "write", "think", "generic"]

# a domain's database and its user database (None: the domain has none)
Databases = tuple[dict[str, Any], dict[str, Any] | None]

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


def spec_of(fn: Callable[..., Any], name: str, tau2_shape: bool = False) -> ToolSpec:
    """The tool's spec from its signature and docstring. ``tau2_shape``: the parameters' JSON schema as
    τ²-bench builds it (a pydantic model named ``parameters`` made from the signature: titles, defaults,
    ``$defs`` for model-typed arguments), so that a model shown τ²-bench's wording sees τ²-bench's schema."""
    description, arg_docs = _doc_parts(fn)
    if tau2_shape:
        return ToolSpec(name=name, description=description, parameters=tau2_parameters_schema(fn, arg_docs))
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


def tau2_parameters_schema(fn: Callable[..., Any], arg_docs: dict[str, str]) -> dict[str, Any]:
    """The JSON schema of a tool's arguments made the way τ²-bench makes it: one pydantic field per
    argument (its annotation, its default, the docstring's description) in a model named ``parameters``.
    Annotations keep their pydantic markers (``SkipJsonSchema``: a type the code accepts and the schema omits)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if pname == "self":
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        if pname in arg_docs:
            default = Field(default, description=arg_docs[pname])
        fields[pname] = (hints.get(pname, Any), default)
    return create_model("parameters", **fields).model_json_schema()


class Toolkit:
    """Subclass per domain. ``db`` (and ``user_db``) are the live states the tools read and write."""

    domain: ClassVar[str]
    # True: a τ²-bench toolkit. A call's arguments reach the method unchecked and it answers a bad call
    # itself (its error messages must read the same), and the tools' schemas have τ²-bench's shape.
    # False: the harness checks arguments against the schema
    raw_arguments: ClassVar[bool] = False
    # False in a domain whose environment does more after a call in a conversation than when τ²-bench's
    # evaluator replays gold actions (telecom re-synchronises the user's phone): its ``replay_gold`` differs
    gold_replay_is_live: ClassVar[bool] = True

    def __init__(self, db: dict[str, Any], user_db: dict[str, Any] | None = None) -> None:
        self.db = db
        self.user_db = user_db

    @classmethod
    def shape(cls, db: dict[str, Any], user_db: dict[str, Any] | None) -> Databases:
        """The databases as a new toolkit keeps them. A domain whose toolkits reshape the data they are given
        (τ²-bench's, through their data models) does it here too, so that a domain loaded once can hand every
        toolkit a copy of the result (``over_shaped``) instead of reshaping megabytes per task."""
        return db, user_db

    @classmethod
    def over_shaped(cls, db: dict[str, Any], user_db: dict[str, Any] | None) -> Self:
        """A toolkit over databases that ``shape`` returned (or copies of them), which it does not shape
        again; whatever else its constructor does, it does."""
        token = _SHAPED.set(frozenset(id(data) for data in (db, user_db) if data is not None))
        try:
            return cls(db, user_db)
        finally:
            _SHAPED.reset(token)

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
        """One side's tools in τ²-bench's toolkit order: each class's own tools in the order they are
        defined, the subclass's before those of its bases."""
        found: dict[str, tuple[Callable[..., Any], ToolKind]] = {}
        for klass in cls.__mro__:
            for name, fn in vars(klass).items():
                mark = getattr(fn, "__tau_tool__", None)
                if mark and mark[0] == side and name not in found:
                    found[name] = (fn, mark[1])
        return found

    @classmethod
    @functools.cache
    def tool_specs(cls, side: str = "agent") -> list[ToolSpec]:
        return [spec_of(fn, name, tau2_shape=cls.raw_arguments) for name, (fn, _) in cls._members(side).items()]

    @classmethod
    def tool_kind(cls, name: str, side: str = "agent") -> ToolKind | None:
        member = cls._members(side).get(name)
        return member[1] if member else None

    # --- calling ---------------------------------------------------------------------------------------

    def replay_gold(self, name: str, arguments: dict[str, Any], side: str = "agent") -> str:
        """A gold action as τ²-bench's evaluator replays it to build the gold state (``make_tool_call``)."""
        return self.call(name, arguments, side)

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

    def same_state(self, other: Toolkit) -> bool:
        """``self.snapshot() == other.snapshot()``, mostly without building either string: states equal in
        Python and in ``typed_json`` are equal as canonical JSON (Python alone takes 1 for 1.0 and True,
        orjson alone NaN for null); any other pair is left to the snapshots."""
        mine, theirs = self.state(), other.state()
        if mine == theirs and (fast := typed_json(mine)) is not None and fast == typed_json(theirs):
            return True
        return self.snapshot() == other.snapshot()


# the databases a toolkit under construction got from ``over_shaped`` (by id: only while it is being made)
_SHAPED: ContextVar[frozenset[int]] = ContextVar("tau_shaped_databases", default=frozenset())


def already_shaped(data: dict[str, Any]) -> bool:
    """Whether the toolkit being made got ``data`` from ``Toolkit.over_shaped``."""
    return id(data) in _SHAPED.get()


def typed_json(value: Any) -> bytes | None:
    """orjson's JSON of a value in its own key order (None for what orjson does not encode), about fifteen
    times faster than canonical JSON from ``json.dumps``. Values equal in Python whose ``typed_json`` is
    equal too read the same as canonical JSON: their keys come in the same order, their numbers have the
    same types; values it tells apart may still be equal as canonical JSON (keys in another order)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None


class FrozenData:
    """Plain data kept pickled and handed out as fresh copies: unpickling builds a database several times
    faster than ``copy.deepcopy`` walks one, and what a toolkit does to its copy reaches no other. The
    garbage collector pauses meanwhile: a million new containers would set off collections that walk the
    whole heap, the domain's other copies included."""

    __slots__ = ("_pickled",)

    def __init__(self, data: Any) -> None:
        self._pickled = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)

    def thaw(self) -> Any:
        with no_gc():
            return pickle.loads(self._pickled)


def load_data_file(directory: Path, stem: str, required: bool = True) -> dict[str, Any] | None:
    """``<stem>.json`` or ``<stem>.toml`` from a domain directory."""
    for suffix in (".json", ".toml"):
        path = directory / f"{stem}{suffix}"
        if path.is_file():
            try:
                if suffix == ".json":
                    return json.loads(path.read_text(encoding="utf-8"))
                return tomllib.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
            except tomllib.TOMLDecodeError as e:
                raise DataError(_toml_problem(path, e)) from None
    if required:
        raise DataError(f"{directory}: no {stem}.json or {stem}.toml")
    return None


_TOML_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _toml_problem(path: Path, error: tomllib.TOMLDecodeError) -> str:
    """``file:line:column: not valid TOML (reason)``: Python 3.11's TOML errors carry their place only in
    the message's text."""
    text = str(error)
    place = _TOML_PLACE.search(text)
    where = f"{path}:{place[1]}:{place[2]}" if place else str(path)
    return f"{where}: not valid TOML ({_TOML_PLACE.sub('', text)})"
