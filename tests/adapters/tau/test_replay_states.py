"""The states the gold replay reaches, pinned byte for byte.

``tau validate --dump-states`` writes what a task's gold actions leave in the databases; other implementations'
states are diffed against these files, and the DB reward compares the same states. The digests below were taken
from the straightforward replay (a deep copy of the databases per task, every toolkit validating them through
the domain's data model), so any faster way of reaching the states must reach exactly these bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from evalharness.adapters.tau.data import load_domain
from evalharness.adapters.tau.toolkit import Toolkit
from evalharness.adapters.tau.validate import StateWriter, validate_domain
from evalharness.resources import builtin_tasks_dir

TAU2 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tau2"


class Pinned(NamedTuple):
    directory: Path
    split: str | None
    tasks: int
    digest: str  # sha256 over "<file> <sha256 of file>\n" for every dumped file, in name order
    failing: list[str]  # tasks whose gold actions raise or leave an env assertion false in τ²-bench's data too
    files: dict[str, str]  # a few files that differ from every other task's, by name


PINNED = {
    "bikeshop": Pinned(
        builtin_tasks_dir() / "tau" / "bikeshop", None, 41,
        "c969c35a07104f9563e60c25816f43cf27905693883fba4cf95eb3c42abc8023", [],
        {"compute_1.json": "0403462831113856141b2dc4b587360c92d5b028492608bdc16ae97572c198b4",
         "write_1.json": "767b4c8a4976bffa0d9d1cb912f4b3f8fd6cb02641b9f718868b28db12c863b4"}),
    "mock": Pinned(
        TAU2 / "mock", "base", 10,
        "bbcf06bf7260a9e162beecda5ba50f4377be3360d538864ec9b784b607f3d12f",
        ["update_task_with_history_and_env_assertions", "update_task_with_user_tools"],
        {"update_task_with_history_and_env_assertions.json":
             "8e1f2042f31d5f84eba275c5b5947967e112d53a84c72888653d9b8efe903894",
         "update_task_with_user_tools.json": "efedf164d30040e5a1498ebefc0f332f8262a2bf2c5d39ec400a8fcceda2f25d"}),
    "retail": Pinned(
        TAU2 / "retail", "base", 114,
        "3c023b984b28c712978738db724e02921ea2f3b7064789c0f0caf3307d5a4f90",
        ["2", "3", "4", "35", "37", "38", "39", "46", "47", "54", "55", "64", "67", "68", "105"],
        {"0.json": "99a55d0e33616d9daf83ae7cc915f0d816ff6c575fdd22f1cc625fd8fe414c24",
         "64.json": "fab40f27ff84bd667c49a0cc587a9622daf056c0304d15f50637ba9f62cd1af7",
         "105.json": "3acf43b41fca2e38c0628584357b174224aeca078cb1af94d863759395437e93"}),
    "airline": Pinned(
        TAU2 / "airline", "base", 50,
        "c8a265d9e46d6e4f1695ad8272b36e95a6af4c65bf8559b2fb118295a9c473b8", [],
        {"11.json": "4c1510290a1d535f878700b267b32b5047b4f73f116a94fd677a771662ebc8de",
         "12.json": "ba0c7a6d25a1a0c69498b70200f9689df318338cf7c53b3fab322c6fd8d2a9d4",
         "14.json": "2e825f1fe65feaccc2e47716b776207e8d0786137e509cfb19e848e82b400c3f"}),
    "telecom": Pinned(
        TAU2 / "telecom", "base", 114,  # τ²-bench's evaluator's replay (no sync): see test_telecom
        "d8e6b2e43c765944a801f5813e7be63193016a805de24a43d6b29a4f7ba0f91c", [],
        {"_service_issue_airplane_mode_on_break_apn_settings_contract_end_suspension_lock_sim_card_pin_PERSONA_None_"
         ".json": "7958be8adfe15acda8c9f68c570f0764b64dba529350aff9eb2b25665b5948d6"}),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", sorted(PINNED))
def test_dumped_states_are_byte_identical_to_the_pinned_ones(tmp_path: Path, name: str) -> None:
    pinned = PINNED[name]
    checks = validate_domain(pinned.directory, tmp_path, pinned.split)
    files = {path.name: sha256(path.read_bytes()) for path in sorted(tmp_path.iterdir())}
    assert len(checks) == len(files) == pinned.tasks
    assert [c.task_id for c in checks if not c.ok] == pinned.failing
    assert {file: files[file] for file in pinned.files} == pinned.files
    assert sha256("".join(f"{file} {digest}\n" for file, digest in files.items()).encode()) == pinned.digest


def scramble(value: object) -> None:
    """Every scalar inside a value set to None and every list lengthened, at any depth."""
    children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        scramble(child)
    if isinstance(value, dict):
        value.update({key: None for key, child in value.items() if not isinstance(child, (dict, list))})
    elif isinstance(value, list):
        value.append(None)


@pytest.mark.parametrize("name", ["airline", "mock"])
def test_a_task_s_writes_reach_neither_the_domain_nor_the_next_task(name: str) -> None:
    domain = load_domain(PINNED[name].directory)
    pristine = domain.new_toolkit().snapshot()
    first = domain.new_toolkit()
    scramble(first.db)
    scramble(first.user_db)
    assert first.snapshot() != pristine
    assert domain.new_toolkit().snapshot() == pristine


def initial_state() -> dict[str, Any]:
    return {"db": {"flights": {"F1": {"seats": 1, "price": 10.5, "open": True, "tags": ["a", "b"]},
                               "F2": {"seats": 0, "price": 0.0, "open": False, "tags": []}},
                   "users": {"u1": {"name": "Zoë", "balance": None}}},
            "user_db": None}


# each a change a gold replay or a model could make, among them values Python calls equal but JSON does not
CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "nothing": lambda s: None,
    "an int becomes a float": lambda s: s["db"]["flights"]["F1"].update(seats=1.0),
    "an int becomes a bool": lambda s: s["db"]["flights"]["F1"].update(seats=True),
    "a float's sign": lambda s: s["db"]["flights"]["F2"].update(price=-0.0),
    "null becomes NaN": lambda s: s["db"]["users"]["u1"].update(balance=math.nan),
    "a list becomes a tuple": lambda s: s["db"]["flights"]["F1"].update(tags=("a", "b")),
    "text out of ASCII": lambda s: s["db"]["users"]["u1"].update(name="Zoé ✈"),
    "a record added": lambda s: s["db"]["users"].update(u0={"name": "A", "balance": 3}),
    "a record removed": lambda s: s["db"]["flights"].pop("F2"),
    "a table emptied": lambda s: s["db"]["users"].clear(),
    "a table becomes a list": lambda s: s["db"].update(users=[1, {"b": 2, "a": 1}]),
    "number keys": lambda s: s["db"].update(seats_by_row={2: "b", 1: "a"}),
    "a user database": lambda s: s.update(user_db={"phone": {"on": True}}),
    "keys in another order": lambda s: s["db"]["flights"].update(
        F1=dict(reversed(s["db"]["flights"]["F1"].items()))),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_states_are_written_as_python_s_encoder_writes_them(tmp_path: Path, change: str) -> None:
    writer = StateWriter(tmp_path, initial_state())
    state = initial_state()
    CHANGES[change](state)
    writer.write("task/1", state)
    assert (tmp_path / "task_1.json").read_text() == json.dumps(state, sort_keys=True, indent=1)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_states_compare_as_their_canonical_json_compares(change: str) -> None:
    state = initial_state()
    CHANGES[change](state)
    before = initial_state()
    gold, final = Toolkit(before["db"], before["user_db"]), Toolkit(state["db"], state["user_db"])
    assert gold.same_state(final) == (gold.snapshot() == final.snapshot())
    assert final.same_state(final)
