"""The ``bikeshop`` domain: its shipped data and tasks (every gold action replays, every communicated value
comes from a tool or names the policy's reason, refusals change nothing, every write argument matters, an agent
that does nothing scores 0 and a refusal that says why passes) and each tool's exact behaviour on a small
hand-made database (fields changed, fees, rounding, error messages)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.domains.bikeshop import BikeshopToolkit, money, rental_price
from evalharness.adapters.tau.evaluator import evaluate
from evalharness.adapters.tau.orchestrator import GREETING
from evalharness.tools import ToolError
from evalharness.types import Message, ToolCall
from tests.support.cli import evalharness

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = ROOT / "tasks" / "tau" / "bikeshop"
DB: dict[str, Any] = json.loads((DOMAIN / "db.json").read_text(encoding="utf-8"))
TASKS: list[dict[str, Any]] = json.loads((DOMAIN / "tasks.json").read_text(encoding="utf-8"))
SPLITS: dict[str, list[str]] = json.loads((DOMAIN / "split_tasks.json").read_text(encoding="utf-8"))
POLICY = (DOMAIN / "policy.md").read_text(encoding="utf-8")
TASK_IDS = [t["id"] for t in TASKS]
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
CATEGORIES = {"lookup", "write", "multi", "compute", "refusal", "auth", "transfer"}


def category(task: dict[str, Any]) -> str:
    return task["id"].rsplit("_", 1)[0]


def is_write(name: str) -> bool:
    return BikeshopToolkit.tool_kind(name) == "write"


def replay(task: dict[str, Any], db: dict[str, Any] | None = None) -> tuple[BikeshopToolkit, list[str]]:
    kit = BikeshopToolkit(copy.deepcopy(DB if db is None else db))
    outputs = [kit.call(a["name"], a["arguments"]) for a in task["evaluation_criteria"]["actions"]]
    return kit, outputs


def snapshot(db: dict[str, Any]) -> str:
    return BikeshopToolkit(db).snapshot()


def diff_paths(a: Any, b: Any, path: str = "") -> set[str]:
    """The paths where two JSON values differ (a list that changed length counts as one path)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in set(a) | set(b):
            if key not in a or key not in b:
                out.add(f"{path}.{key}")
            else:
                out |= diff_paths(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return set().union(*(diff_paths(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)))) if a else set()
    return set() if a == b else {path}


# --- the shipped domain -----------------------------------------------------------------------------------

def test_database_sizes_and_shape() -> None:
    assert {k: len(DB[k]) for k in ("customers", "stations", "bikes", "rentals", "repair_tickets")} == {
        "customers": 60, "stations": 8, "bikes": 150, "rentals": 200, "repair_tickets": 40}
    assert set(DB["price_list"]) >= {"rental_rates", "insurance_per_day", "membership_discounts",
                                     "cancellation_fees", "damage_fees", "services"}
    assert {r["status"] for r in DB["rentals"].values()} == {"reserved", "active", "completed", "cancelled"}
    for cid, c in DB["customers"].items():
        assert c["customer_id"] == cid and c["email"] and c["phone"] and c["membership"] in ("standard", "silver", "gold")
        assert sum(m["type"] == "store_credit" for m in c["payment_methods"].values()) == 1
        assert all(DB["rentals"][r]["customer_id"] == cid for r in c["rental_ids"])
        assert all(DB["repair_tickets"][t]["customer_id"] == cid for t in c["repair_ticket_ids"])
    for sid, station in DB["stations"].items():
        assert all(DB["bikes"][b]["station_id"] == sid for b in station["bike_ids"])
    assert sorted(b for s in DB["stations"].values() for b in s["bike_ids"]) == sorted(DB["bikes"])
    for r in DB["rentals"].values():  # stored prices are what the pricing rule gives
        price = rental_price(r["price"]["hourly_rate"], r["price"]["daily_rate"], r["hours"],
                             r["price"]["discount_pct"], r["insurance"], DB["price_list"]["insurance_per_day"])
        assert price == r["price"], r["rental_id"]
        active = r["status"] == "active"
        assert (DB["bikes"][r["bike_id"]]["status"] == "rented") or not active


def test_policy_matches_the_data() -> None:
    for s in DB["stations"].values():
        assert f"| {s['station_id']} | {s['name']} | {s['address']} |" in POLICY
    for btype, rates in DB["price_list"]["rental_rates"].items():
        assert f"| {btype} | {rates['hourly']:.2f} | {rates['daily']:.2f} |" in POLICY
    for part, fee in DB["price_list"]["damage_fees"].items():
        assert f"| {part} | {fee:.2f} |" in POLICY
    assert BikeshopToolkit.NOW in POLICY


def test_tasks_format_and_splits() -> None:
    assert len(TASKS) >= 32 and len(set(TASK_IDS)) == len(TASK_IDS)
    assert sorted(SPLITS) == ["base", "test", "train"]
    assert SPLITS["base"] == TASK_IDS
    assert sorted(SPLITS["train"] + SPLITS["test"]) == sorted(TASK_IDS) and not set(SPLITS["train"]) & set(SPLITS["test"])
    tools = {s.name for s in BikeshopToolkit.tool_specs()}
    for task in TASKS:
        assert category(task) in CATEGORIES
        assert set(task["description"]) >= {"purpose", "notes"} and task["description"]["purpose"]
        scenario = task["user_scenario"]
        assert scenario["persona"]
        assert set(scenario["instructions"]) == {"domain", "reason_for_call", "known_info", "unknown_info",
                                                 "task_instructions"}
        assert scenario["instructions"]["domain"] == "bikeshop"
        assert task["initial_state"] is None
        crit = task["evaluation_criteria"]
        assert set(crit) >= {"actions", "communicate_info", "nl_assertions", "reward_basis"}
        assert set(crit["reward_basis"]) >= {"DB"} and set(crit["reward_basis"]) <= {
            "DB", "COMMUNICATE", "ACTION", "ENV_ASSERTION", "NL_ASSERTION"}
        assert ("ENV_ASSERTION" in crit["reward_basis"]) <= bool(crit.get("env_assertions"))
        for i, a in enumerate(crit["actions"]):
            assert a["action_id"] == f"{task['id']}_{i}" and a["requestor"] == "assistant" and a["name"] in tools
        assert all(isinstance(x, str) for x in crit["communicate_info"])


def test_task_mix() -> None:
    counts: dict[str, int] = {}
    for task in TASKS:
        counts[category(task)] = counts.get(category(task), 0) + 1
    assert set(counts) == CATEGORIES and min(counts.values()) >= 4
    bases = [tuple(t["evaluation_criteria"]["reward_basis"]) for t in TASKS]
    assert sum("ACTION" in b for b in bases) >= 2 and sum("ENV_ASSERTION" in b for b in bases) >= 2
    written = {a["name"] for t in TASKS for a in t["evaluation_criteria"]["actions"] if is_write(a["name"])}
    assert written == {n for n, _ in BikeshopToolkit._members("agent").items() if is_write(n)}
    # the authentication traps include one with no action at all, and the shared-name customers
    assert any(not t["evaluation_criteria"]["actions"] for t in TASKS if category(t) == "auth")


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_gold_actions_replay(task: dict[str, Any]) -> None:
    crit = task["evaluation_criteria"]
    kit, outputs = replay(task)  # raises ToolError on any failing gold call
    numbers = {float(x) for o in outputs for x in NUMBER.findall(o)}
    for info in crit["communicate_info"]:
        if NUMBER.fullmatch(info):
            assert float(info) in numbers, f"{info} is in no tool output"
        else:  # a word of the policy's rule that a refusal must give, or a value a tool showed
            assert any(info in o for o in outputs) or info in POLICY, f"{info!r} is in no tool output or policy"
    for a in crit.get("env_assertions") or []:
        assert kit.run_assertion(a["func_name"], a["arguments"]), a
    writes = [a for a in crit["actions"] if is_write(a["name"])]
    changed = kit.snapshot() != snapshot(copy.deepcopy(DB))
    assert changed == bool(writes)
    if category(task) in ("refusal", "transfer"):
        assert not writes and not changed
    if category(task) == "transfer":
        assert crit["actions"][-1]["name"] == "transfer_to_human_agents"
    if category(task) in ("write", "multi", "compute"):
        assert writes and changed and crit["communicate_info"]


def _mutations(args: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in args.items():
        if isinstance(value, bool):
            new: Any = not value
        elif isinstance(value, int):
            new = value + 1
        elif isinstance(value, float):
            new = money(value - 0.01)
        elif key == "reason":
            new = {"change_of_plans": "booked_by_mistake", "booked_by_mistake": "change_of_plans"}[value]
        elif key == "part":
            new = "tires" if value != "tires" else "brakes"
        elif key == "start_time":
            new = value[:-5] + f"{int(value[-5:-3]) + 1:02d}:00"
        elif key == "customer_id":
            new = next(c for c in sorted(DB["customers"]) if c != value)
        elif key == "rental_id":
            owner = DB["customers"][DB["rentals"][value]["customer_id"]]
            new = next((r for r in owner["rental_ids"] if r != value), "R10001")
        elif key == "bike_id":
            station = DB["stations"][DB["bikes"][value]["station_id"]]
            new = next(b for b in station["bike_ids"] if b != value and DB["bikes"][b]["status"] == "available")
        elif key == "payment_method_id":
            owner = next(c for c in DB["customers"].values() if value in c["payment_methods"])
            new = next((m for m in owner["payment_methods"] if m != value), "card_000000")
        else:
            raise AssertionError(f"no mutation for argument {key}")
        out.append({**args, key: new})
    return out


WRITE_TASKS = [t for t in TASKS if any(is_write(a["name"]) for a in t["evaluation_criteria"]["actions"])]


@pytest.mark.parametrize("task", WRITE_TASKS, ids=[t["id"] for t in WRITE_TASKS])
def test_a_wrong_write_reaches_another_state(task: dict[str, Any]) -> None:
    gold, _ = replay(task)
    actions = task["evaluation_criteria"]["actions"]
    for i, action in enumerate(actions):
        if not is_write(action["name"]):
            continue
        for wrong in _mutations(action["arguments"]):
            kit = BikeshopToolkit(copy.deepcopy(DB))
            try:
                for a in [*actions[:i], {**action, "arguments": wrong}, *actions[i + 1:]]:
                    kit.call(a["name"], a["arguments"])
            except ToolError:
                continue
            assert kit.snapshot() != gold.snapshot(), f"{action['name']}({wrong}) reaches the gold state"


def test_skipping_the_write_fails_the_db_check() -> None:
    for task in WRITE_TASKS:
        gold, _ = replay(task)
        reads_only = {**task, "evaluation_criteria": {**task["evaluation_criteria"], "actions": [
            a for a in task["evaluation_criteria"]["actions"] if not is_write(a["name"])]}}
        kit, _ = replay(reads_only)
        assert kit.snapshot() != gold.snapshot(), task["id"]


# --- a do-nothing agent fails, a proper refusal passes ------------------------------------------------------

UNHELPFUL = ["I do not know.", "I cannot help with that.", "", "Sorry, I can't do that."]
REFUSALS = {  # what a policy-following agent tells the customer, in its own words
    "refusal_1": "I'm sorry, but this rental is already active: you picked the bike up, and an active rental cannot "
                 "be cancelled or refunded. You can return the bike at any station when you are done.",
    "refusal_2": "I'm sorry, but we do not give refunds or store credit for bad weather. Compensation is only for "
                 "rentals that had a mechanical failure.",
    "refusal_3": "I'm sorry, but your account is suspended, so I cannot book a rental for you.",
    "refusal_4": "This rental was already compensated with store credit, and a rental can be compensated only once.",
    "refusal_5": "I cannot refund the whole price. For a mechanical failure, our policy gives 50% of the rental "
                 "total as store credit. Would you like that instead?",
    "refusal_6": "I'm sorry: damage must be reported while the rental is active or within 24 hours after it ended. "
                 "This rental ended three days ago, so I can no longer file a report.",
    "refusal_7": "A single rental can last at most 7 days, and a longer trip cannot be split into several rentals, "
                 "so I cannot book 10 days.",
    "auth_1": "I could not find an account with that name and email address. Without your customer ID or the email "
              "address on your account I cannot verify who you are, so I cannot cancel the reservation.",
    "auth_2": "I'm sorry, but that reservation is not on your account. I can only make changes to your own rentals; "
              "your partner needs to contact us.",
    "auth_3": "I can only make bookings on your own account, not on your friend's account.",
    "auth_5": "Before I can cancel anything I need to verify who you are: please give me your customer ID, or your "
              "email address with your first and last name.",
}
NO_WRITE_REFUSALS = [t for t in TASKS if category(t) in ("refusal", "auth")  # the ones that change and tell nothing
                     and not any(is_write(a["name"]) for a in t["evaluation_criteria"]["actions"])
                     and not any(NUMBER.fullmatch(i) for i in t["evaluation_criteria"]["communicate_info"])]


def bikeshop_domain() -> Any:
    from evalharness.adapters.tau.data import load_domain

    return load_domain(DOMAIN)


def conversation(task: dict[str, Any], final: str) -> tuple[BikeshopToolkit, list[Message]]:
    """The agent greets, makes the task's gold calls and then says ``final``; the toolkit they leave."""
    kit, outputs = replay(task)
    messages = [Message("assistant", GREETING)]
    for i, (action, output) in enumerate(zip(task["evaluation_criteria"]["actions"], outputs, strict=True)):
        messages += [Message("assistant", None, [ToolCall(f"c{i}", action["name"], action["arguments"])]),
                     Message("tool", output, tool_call_id=f"c{i}", name=action["name"])]
    return kit, [*messages, Message("assistant", final)]


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_an_agent_that_does_nothing_scores_0(task: dict[str, Any]) -> None:
    domain = bikeshop_domain()
    for reply in UNHELPFUL:
        messages = [Message("assistant", GREETING), Message("assistant", reply)]
        reward = evaluate(domain, task, domain.new_toolkit(task), messages, True, None)
        assert reward.value == 0.0, (reply, reward.components)


def test_every_refusal_without_a_write_is_covered() -> None:
    assert sorted(REFUSALS) == sorted(t["id"] for t in NO_WRITE_REFUSALS)
    assert len(NO_WRITE_REFUSALS) == 11


@pytest.mark.parametrize("task", NO_WRITE_REFUSALS, ids=[t["id"] for t in NO_WRITE_REFUSALS])
def test_a_refusal_that_gives_the_policy_reason_passes(task: dict[str, Any]) -> None:
    domain = bikeshop_domain()
    kit, messages = conversation(task, REFUSALS[task["id"]])
    reward = evaluate(domain, task, kit, messages, True, None)
    assert reward.value == 1.0, reward.details
    kit, messages = conversation(task, "I'm sorry, I cannot do that.")  # the same steps, no reason given
    reward = evaluate(domain, task, kit, messages, True, None)
    assert reward.value == 0.0 and reward.components["COMMUNICATE"] == 0.0


def test_scripted_wrong_scores_0_on_every_task(tmp_path: Path) -> None:
    proc = evalharness("run", "--model", "scripted:wrong", "--task", "tau", "--out", str(tmp_path),
                       "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stderr
    [run] = tmp_path.iterdir()
    lines = [json.loads(line) for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["sample_id"] for r in lines) == sorted(TASK_IDS)
    for r in lines:
        assert r["error"] is None and r["scores"][0]["value"] == 0.0, (r["sample_id"], r["scores"][0]["details"])


def test_the_harness_loads_the_domain() -> None:
    from evalharness.adapters.tau.data import load_domain
    from evalharness.adapters.tau.domains import TOOLKITS, toolkit_for

    assert TOOLKITS["bikeshop"] is BikeshopToolkit and toolkit_for("bikeshop") is BikeshopToolkit
    domain = load_domain(DOMAIN)
    assert domain.toolkit_cls is BikeshopToolkit and len(domain.tasks) == len(TASKS)
    assert [t["id"] for t in domain.tasks_in("test")] == SPLITS["test"]


# --- tool specs -------------------------------------------------------------------------------------------

def test_tool_specs() -> None:
    specs = {s.name: s for s in BikeshopToolkit.tool_specs()}
    assert 8 <= len(specs) <= 12
    kinds = {name: BikeshopToolkit.tool_kind(name) for name in specs}
    assert kinds == {
        "find_customer_id": "read", "get_customer_details": "read", "get_rental_details": "read",
        "list_available_bikes": "read", "get_price_quote": "read", "get_repair_ticket": "read",
        "create_rental": "write", "cancel_rental": "write", "extend_rental": "write", "report_damage": "write",
        "issue_store_credit": "write", "transfer_to_human_agents": "generic",
    }
    for spec in specs.values():
        assert spec.description and "Args:" not in spec.description
        params = spec.parameters
        assert params["type"] == "object" and params["properties"]
        for pname, schema in params["properties"].items():
            assert schema.get("description"), f"{spec.name}.{pname} has no description"
    assert specs["list_available_bikes"].parameters["required"] == ["station_id"]
    assert specs["list_available_bikes"].parameters["properties"]["bike_type"]["enum"] == [
        "city", "e-bike", "road", "mountain", "cargo", "kids"]
    assert specs["cancel_rental"].parameters["properties"]["reason"]["enum"] == ["change_of_plans", "booked_by_mistake"]
    assert set(specs["report_damage"].parameters["properties"]["part"]["enum"]) == set(DB["price_list"]["damage_fees"])
    assert specs["create_rental"].parameters["required"] == [
        "customer_id", "bike_id", "start_time", "hours", "insurance", "payment_method_id"]
    assert specs["create_rental"].parameters["properties"]["hours"]["type"] == "integer"
    assert specs["create_rental"].parameters["properties"]["insurance"]["type"] == "boolean"
    assert specs["issue_store_credit"].parameters["properties"]["amount"]["type"] == "number"


# --- tools on a small hand-made database -------------------------------------------------------------------

def card(pid: str) -> dict[str, Any]:
    return {"id": pid, "type": "credit_card", "brand": "visa", "last_four": "1111"}


def credit(pid: str, balance: float) -> dict[str, Any]:
    return {"id": pid, "type": "store_credit", "balance": balance}


def customer(cid: str, tier: str, methods: list[dict[str, Any]]) -> dict[str, Any]:
    first, last = cid.split("_")[:2]
    return {"customer_id": cid, "name": {"first_name": first.title(), "last_name": last.title()},
            "email": f"{first}.{last}@example.com", "phone": "+44 7700 900000", "membership": tier,
            "account_status": "active", "payment_methods": {m["id"]: m for m in methods}, "rental_ids": [],
            "repair_ticket_ids": []}


def bike(bid: str, btype: str, hourly: float, daily: float, status: str = "available", size: str = "M") -> dict[str, Any]:
    return {"bike_id": bid, "station_id": "ST01", "type": btype, "model": "Test", "size": size, "status": status,
            "hourly_rate": hourly, "daily_rate": daily}


def rental(rid: str, cid: str, b: dict[str, Any], start: str, hours: int, status: str, pid: str,
           tier_pct: float = 0.0, insurance: bool = False) -> dict[str, Any]:
    from datetime import timedelta

    from evalharness.adapters.tau.domains.bikeshop import format_time, parse_time

    price = rental_price(b["hourly_rate"], b["daily_rate"], hours, tier_pct, insurance, 4.0)
    return {"rental_id": rid, "customer_id": cid, "bike_id": b["bike_id"], "station_id": "ST01", "status": status,
            "booked_at": "2025-06-01 09:00", "start_time": start,
            "end_time": format_time(parse_time(start) + timedelta(hours=hours)), "hours": hours,
            "insurance": insurance, "price": price, "payment_method_id": pid,
            "payments": [{"type": "charge", "amount": price["total"], "payment_method_id": pid,
                          "time": "2025-06-01 09:00"}],
            "incident": None, "damage_ticket_id": None, "cancellation": None, "compensation": None}


def small_db() -> dict[str, Any]:
    """Now is 2025-06-14 10:00. Ann: standard; Bo: silver, pays by store credit; Cy: gold."""
    bikes = {b["bike_id"]: b for b in [
        bike("B1", "city", 3.5, 16.0), bike("B2", "e-bike", 7.5, 38.0), bike("B3", "city", 3.5, 16.0, "rented"),
        bike("B4", "road", 5.5, 27.0, "maintenance"), bike("B5", "city", 3.5, 16.0), bike("B6", "mountain", 6.0, 30.0),
        bike("B7", "city", 3.5, 16.0), bike("B8", "city", 3.5, 16.0, size="L")]}
    customers = {c["customer_id"]: c for c in [
        customer("ann_lee_1", "standard", [card("card_1"), credit("store_credit_1", 0.0)]),
        customer("bo_kim_2", "silver", [card("card_2"), credit("store_credit_2", 20.0)]),
        customer("cy_ray_3", "gold", [card("card_3"), credit("store_credit_3", 5.5)])]}
    rentals = [
        rental("R1", "ann_lee_1", bikes["B1"], "2025-06-15 10:00", 4, "reserved", "card_1"),      # 24 h ahead
        rental("R2", "ann_lee_1", bikes["B5"], "2025-06-15 09:00", 4, "reserved", "card_1"),      # 23 h ahead
        rental("R3", "bo_kim_2", bikes["B7"], "2025-06-14 11:00", 3, "reserved", "store_credit_2", 0.1),  # 1 h
        rental("R4", "cy_ray_3", bikes["B2"], "2025-06-14 12:00", 3, "reserved", "card_3", 0.2),  # 2 h ahead
        rental("R5", "ann_lee_1", bikes["B3"], "2025-06-13 18:00", 20, "active", "card_1"),
        rental("R6", "bo_kim_2", bikes["B6"], "2025-06-13 14:00", 6, "completed", "card_2", 0.1, insurance=True),
        rental("R7", "ann_lee_1", bikes["B6"], "2025-06-10 08:00", 5, "completed", "card_1"),
        rental("R8", "cy_ray_3", bikes["B1"], "2025-06-15 15:00", 2, "reserved", "card_3", 0.2),
    ]
    rentals[6]["incident"] = "mechanical_failure"
    for r in rentals:
        customers[r["customer_id"]]["rental_ids"].append(r["rental_id"])
    stations = {"ST01": {"station_id": "ST01", "name": "Test", "address": "1 Test Road", "has_workshop": True,
                         "dock_hours": "00:00-24:00", "workshop_hours": "09:00-18:00", "bike_ids": sorted(bikes)}}
    tickets = {"RT1": {"ticket_id": "RT1", "type": "service", "customer_id": "cy_ray_3", "station_id": "ST01",
                       "bike_description": "own road bike", "services": ["basic_service"], "status": "open",
                       "opened_at": "2025-06-13 10:00", "estimated_ready": "2025-06-16",
                       "estimate": {"subtotal": 55.0, "discount_pct": 0.2, "discount": 11.0, "total": 44.0}}}
    customers["cy_ray_3"]["repair_ticket_ids"].append("RT1")
    return {"customers": customers, "stations": stations, "bikes": bikes, "rentals": {r["rental_id"]: r for r in rentals},
            "repair_tickets": tickets, "price_list": copy.deepcopy(DB["price_list"])}


@pytest.fixture
def kit() -> BikeshopToolkit:
    return BikeshopToolkit(small_db())


def call(kit: BikeshopToolkit, name: str, **args: Any) -> Any:
    text = kit.call(name, args)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def error(kit: BikeshopToolkit, name: str, **args: Any) -> str:
    before = kit.snapshot()
    with pytest.raises(ToolError) as e:
        kit.call(name, args)
    assert kit.snapshot() == before, "a failing call must not change the database"
    return str(e.value)


def test_pricing_rule() -> None:
    assert rental_price(7.5, 38.0, 5, 0.0, False, 4.0)["total"] == 37.5
    assert rental_price(7.5, 38.0, 6, 0.0, False, 4.0)["base_price"] == 38.0  # hours capped at a day
    q = rental_price(6.0, 30.0, 30, 0.2, False, 4.0)
    assert (q["base_price"], q["discount"], q["total"]) == (60.0, 12.0, 48.0)  # a day plus 6 h capped at a day
    q = rental_price(7.5, 38.0, 48, 0.2, True, 4.0)
    assert (q["insurance_fee"], q["total"]) == (8.0, 68.8)
    assert rental_price(7.5, 38.0, 25, 0.0, True, 4.0)["insurance_fee"] == 8.0  # per started 24 hours
    assert rental_price(3.5, 16.0, 3, 0.1, False, 4.0)["total"] == 9.45
    assert money(10.125) == 10.13 and money(4.725) == 4.73 and money(2.675) == 2.68


def test_find_customer_and_reads(kit: BikeshopToolkit) -> None:
    assert call(kit, "find_customer_id", email="ANN.LEE@example.com", first_name="ann", last_name="Lee") == "ann_lee_1"
    assert error(kit, "find_customer_id", email="ann.lee@example.com", first_name="Bo",
                 last_name="Lee") == "No customer matches that email and name."
    assert error(kit, "get_customer_details", customer_id="nobody") == "Customer 'nobody' not found."
    assert error(kit, "get_rental_details", rental_id="R99") == "Rental 'R99' not found."
    assert error(kit, "get_repair_ticket", ticket_id="RT9") == "Repair ticket 'RT9' not found."
    assert call(kit, "get_repair_ticket", ticket_id="RT1")["estimate"]["total"] == 44.0
    r1 = call(kit, "get_rental_details", rental_id="R1")
    assert r1["cancellation_if_cancelled_now"] == {"hours_until_start": 24.0, "fee_pct": 0.0, "fee": 0.0, "refund": 14.0}
    assert "cancellation_if_cancelled_now" not in call(kit, "get_rental_details", rental_id="R5")
    listing = call(kit, "list_available_bikes", station_id="ST01", bike_type="city")
    assert [b["bike_id"] for b in listing["available_bikes"]] == ["B1", "B5", "B7", "B8"]  # not B3 (rented)
    assert listing["available_bikes"][0]["booked"] == [
        {"start_time": "2025-06-15 10:00", "end_time": "2025-06-15 14:00"},
        {"start_time": "2025-06-15 15:00", "end_time": "2025-06-15 17:00"}]
    assert "bike_ids" not in listing["station"]
    assert error(kit, "list_available_bikes", station_id="ST09") == "Station 'ST09' not found."
    quote = call(kit, "get_price_quote", bike_id="B2", hours=5, customer_id="bo_kim_2", insurance=True)
    assert (quote["base_price"], quote["discount"], quote["insurance_fee"], quote["total"]) == (37.5, 3.75, 4.0, 37.75)
    assert error(kit, "get_price_quote", bike_id="B2", hours=0, customer_id="bo_kim_2",
                 insurance=False) == "hours must be a whole number from 1 to 168."
    assert kit.snapshot() == BikeshopToolkit(small_db()).snapshot()  # reads change nothing


def test_unknown_tool_and_bad_arguments(kit: BikeshopToolkit) -> None:
    assert error(kit, "delete_customer", customer_id="ann_lee_1") == "Tool 'delete_customer' not found."
    assert "unexpected keyword argument" in error(kit, "get_rental_details", rental_id="R1", extra=1)
    assert "missing a required argument" in error(kit, "cancel_rental", rental_id="R1")


def test_create_rental_changes_exactly_the_new_rental(kit: BikeshopToolkit) -> None:
    before = copy.deepcopy(kit.db)
    out = call(kit, "create_rental", customer_id="bo_kim_2", bike_id="B8", start_time="2025-06-16 09:00", hours=26,
               insurance=True, payment_method_id="card_2")
    assert out["rental_id"] == "R9" and out["status"] == "reserved" and out["booked_at"] == BikeshopToolkit.NOW
    assert out["end_time"] == "2025-06-17 11:00" and out["station_id"] == "ST01"
    # 16 + min(2 * 3.5, 16) = 23; silver 10% = 2.30; cover 2 started days = 8.00
    assert out["price"] == {"hours": 26, "hourly_rate": 3.5, "daily_rate": 16.0, "base_price": 23.0,
                            "discount_pct": 0.1, "discount": 2.3, "insurance_fee": 8.0, "total": 28.7}
    assert out["payments"] == [{"type": "charge", "amount": 28.7, "payment_method_id": "card_2",
                                "time": BikeshopToolkit.NOW}]
    assert kit.db["rentals"]["R9"] == out
    assert diff_paths(before, kit.db) == {".rentals.R9", ".customers.bo_kim_2.rental_ids"}
    assert kit.db["customers"]["bo_kim_2"]["rental_ids"] == ["R3", "R6", "R9"]


def test_create_rental_store_credit_and_card(kit: BikeshopToolkit) -> None:
    out = call(kit, "create_rental", customer_id="bo_kim_2", bike_id="B8", start_time="2025-06-16 09:00", hours=4,
               insurance=False, payment_method_id="store_credit_2")
    assert out["price"]["total"] == 12.6  # 14.00 - 10%
    assert kit.db["customers"]["bo_kim_2"]["payment_methods"]["store_credit_2"]["balance"] == 7.4
    before = copy.deepcopy(kit.db)
    call(kit, "create_rental", customer_id="ann_lee_1", bike_id="B2", start_time="2025-06-14 10:00", hours=1,
         insurance=False, payment_method_id="card_1")
    assert diff_paths(before, kit.db) == {".rentals.R10", ".customers.ann_lee_1.rental_ids"}


def test_create_rental_errors(kit: BikeshopToolkit) -> None:
    ok = {"customer_id": "ann_lee_1", "bike_id": "B8", "start_time": "2025-06-16 09:00", "hours": 3,
          "insurance": False, "payment_method_id": "card_1"}
    assert error(kit, "create_rental", **{**ok, "bike_id": "B4"}) == "Bike 'B4' is not available (status: maintenance)."
    assert error(kit, "create_rental", **{**ok, "bike_id": "B3"}) == "Bike 'B3' is not available (status: rented)."
    assert error(kit, "create_rental", **{**ok, "bike_id": "B99"}) == "Bike 'B99' not found."
    assert error(kit, "create_rental", **{**ok, "customer_id": "x"}) == "Customer 'x' not found."
    assert error(kit, "create_rental", **{**ok, "hours": 169}) == "hours must be a whole number from 1 to 168."
    assert error(kit, "create_rental", **{**ok, "start_time": "2025-06-14 09:00"}) == (
        "start_time 2025-06-14 09:00 is in the past (now: 2025-06-14 10:00).")
    assert error(kit, "create_rental", **{**ok, "start_time": "2025-06-28 11:00"}) == (
        "Rentals can be booked at most 14 days ahead.")
    assert error(kit, "create_rental", **{**ok, "start_time": "16 June 9am"}) == (
        "Invalid start_time '16 June 9am': use the format YYYY-MM-DD HH:MM.")
    assert error(kit, "create_rental", **{**ok, "bike_id": "B1", "start_time": "2025-06-15 12:00"}) == (
        "Bike 'B1' is already booked from 2025-06-15 10:00 to 2025-06-15 14:00.")
    assert error(kit, "create_rental", **{**ok, "payment_method_id": "card_2"}) == (
        "Payment method 'card_2' does not belong to customer 'ann_lee_1'.")
    assert error(kit, "create_rental", **{**ok, "customer_id": "cy_ray_3", "bike_id": "B2", "hours": 24,
                                          "payment_method_id": "store_credit_3"}) == (
        "Store credit balance 5.50 is insufficient for a charge of 30.40.")
    # back to back with an existing booking is fine
    assert call(kit, "create_rental", **{**ok, "bike_id": "B1", "start_time": "2025-06-15 14:00", "hours": 1})["rental_id"] == "R9"


@pytest.mark.parametrize(("rental_id", "fee", "refund"), [
    ("R1", 0.0, 14.0),     # standard, exactly 24 h ahead: free
    ("R2", 3.5, 10.5),     # standard, 23 h ahead: 25%
    ("R3", 4.73, 4.72),    # silver, 1 h ahead: 50% of 9.45, half a cent rounds up
    ("R4", 0.0, 18.0),     # gold, exactly 2 h ahead: waived
])
def test_cancel_rental_fees(kit: BikeshopToolkit, rental_id: str, fee: float, refund: float) -> None:
    before = copy.deepcopy(kit.db)
    r = before["rentals"][rental_id]
    out = call(kit, "cancel_rental", rental_id=rental_id, reason="booked_by_mistake")
    assert (out["fee"], out["refund"], out["status"]) == (fee, refund, "cancelled")
    assert out["refund_payment_method_id"] == r["payment_method_id"]
    after = kit.db["rentals"][rental_id]
    assert after["cancellation"] == {"reason": "booked_by_mistake", "cancelled_at": BikeshopToolkit.NOW, "fee": fee,
                                     "refund": refund}
    assert after["payments"][-1] == {"type": "refund", "amount": refund, "payment_method_id": r["payment_method_id"],
                                     "time": BikeshopToolkit.NOW}
    expected = {f".rentals.{rental_id}.status", f".rentals.{rental_id}.cancellation", f".rentals.{rental_id}.payments"}
    if r["payment_method_id"].startswith("store_credit"):
        expected.add(f".customers.{r['customer_id']}.payment_methods.{r['payment_method_id']}.balance")
        assert out["store_credit_balance"] == money(20.0 + refund)
    else:
        assert "store_credit_balance" not in out
    assert diff_paths(before, kit.db) == expected


def test_cancel_rental_gold_under_two_hours_pays_half(kit: BikeshopToolkit) -> None:
    kit.db["rentals"]["R4"]["start_time"] = "2025-06-14 11:30"
    assert call(kit, "cancel_rental", rental_id="R4", reason="change_of_plans")["fee"] == 9.0


def test_cancel_rental_errors(kit: BikeshopToolkit) -> None:
    assert error(kit, "cancel_rental", rental_id="R5", reason="change_of_plans") == (
        "Rental 'R5' is active; only reserved rentals can be cancelled.")
    assert error(kit, "cancel_rental", rental_id="R7", reason="change_of_plans") == (
        "Rental 'R7' is completed; only reserved rentals can be cancelled.")
    assert error(kit, "cancel_rental", rental_id="R1", reason="weather") == (
        "reason must be 'change_of_plans' or 'booked_by_mistake'.")
    call(kit, "cancel_rental", rental_id="R1", reason="change_of_plans")
    assert error(kit, "cancel_rental", rental_id="R1", reason="change_of_plans") == (
        "Rental 'R1' is cancelled; only reserved rentals can be cancelled.")


def test_extend_rental_reprices_across_a_day(kit: BikeshopToolkit) -> None:
    before = copy.deepcopy(kit.db)
    quote = call(kit, "get_price_quote", bike_id="B3", hours=26, customer_id="ann_lee_1", insurance=False)
    out = call(kit, "extend_rental", rental_id="R5", extra_hours=6, payment_method_id="card_1")
    # 20 h cost one day (16.00); 26 h cost 16 + 2 * 3.5 = 23.00
    assert out == {"rental_id": "R5", "end_time": "2025-06-14 20:00", "hours": 26, "extension_charge": 7.0,
                   "new_total": 23.0, "payment_method_id": "card_1"}
    assert quote["total"] - before["rentals"]["R5"]["price"]["total"] == out["extension_charge"]
    assert diff_paths(before, kit.db) == {".rentals.R5.hours", ".rentals.R5.end_time", ".rentals.R5.price.hours",
                                          ".rentals.R5.price.base_price", ".rentals.R5.price.total",
                                          ".rentals.R5.payments"}
    assert kit.db["rentals"]["R5"]["payments"][-1] == {"type": "extension_charge", "amount": 7.0,
                                                        "payment_method_id": "card_1", "time": BikeshopToolkit.NOW}


def test_extend_rental_keeps_discount_and_uses_store_credit(kit: BikeshopToolkit) -> None:
    out = call(kit, "extend_rental", rental_id="R3", extra_hours=1, payment_method_id="store_credit_2")
    assert out["extension_charge"] == 3.15 and out["new_total"] == 12.6  # 14.00 - 10% minus 9.45
    assert kit.db["customers"]["bo_kim_2"]["payment_methods"]["store_credit_2"]["balance"] == 16.85


def test_extend_rental_errors(kit: BikeshopToolkit) -> None:
    assert error(kit, "extend_rental", rental_id="R7", extra_hours=1, payment_method_id="card_1") == (
        "Rental 'R7' is completed; only reserved or active rentals can be extended.")
    assert error(kit, "extend_rental", rental_id="R1", extra_hours=0, payment_method_id="card_1") == (
        "extra_hours must be a whole number of at least 1.")
    assert error(kit, "extend_rental", rental_id="R1", extra_hours=165, payment_method_id="card_1") == (
        "A rental may last at most 168 hours; this one would last 169.")
    assert error(kit, "extend_rental", rental_id="R1", extra_hours=2, payment_method_id="card_1") == (
        "Bike 'B1' is already booked from 2025-06-15 15:00 to 2025-06-15 17:00.")
    assert error(kit, "extend_rental", rental_id="R1", extra_hours=1, payment_method_id="card_3") == (
        "Payment method 'card_3' does not belong to customer 'ann_lee_1'.")
    assert error(kit, "extend_rental", rental_id="R5", extra_hours=30, payment_method_id="store_credit_1") == (
        "Store credit balance 0.00 is insufficient for a charge of 23.00.")


def test_report_damage_without_cover_charges_the_fee(kit: BikeshopToolkit) -> None:
    before = copy.deepcopy(kit.db)
    out = call(kit, "report_damage", rental_id="R5", part="brakes")
    assert out == {"ticket_id": "RT2", "type": "rental_damage", "customer_id": "ann_lee_1", "station_id": "ST01",
                   "bike_id": "B3", "rental_id": "R5", "part": "brakes", "status": "open",
                   "opened_at": BikeshopToolkit.NOW, "customer_charge": 25.0}
    assert kit.db["bikes"]["B3"]["status"] == "maintenance"
    assert kit.db["rentals"]["R5"]["payments"][-1] == {"type": "damage_fee", "amount": 25.0,
                                                        "payment_method_id": "card_1", "time": BikeshopToolkit.NOW}
    assert diff_paths(before, kit.db) == {".repair_tickets.RT2", ".bikes.B3.status", ".rentals.R5.damage_ticket_id",
                                          ".rentals.R5.payments", ".customers.ann_lee_1.repair_ticket_ids"}
    assert kit.run_assertion("assert_bike_status", {"bike_id": "B3", "status": "maintenance"})
    assert error(kit, "report_damage", rental_id="R5", part="tires") == (
        "Damage was already reported for rental 'R5' (ticket RT2).")


def test_report_damage_with_cover_is_free(kit: BikeshopToolkit) -> None:
    before = copy.deepcopy(kit.db)
    out = call(kit, "report_damage", rental_id="R6", part="frame")  # completed 14 h ago, with cover
    assert out["customer_charge"] == 0.0 and out["ticket_id"] == "RT2"
    assert diff_paths(before, kit.db) == {".repair_tickets.RT2", ".bikes.B6.status", ".rentals.R6.damage_ticket_id",
                                          ".customers.bo_kim_2.repair_ticket_ids"}


def test_report_damage_errors(kit: BikeshopToolkit) -> None:
    assert error(kit, "report_damage", rental_id="R7", part="lights") == (
        "Rental 'R7' ended more than 24 hours ago; damage can no longer be reported for it.")
    assert error(kit, "report_damage", rental_id="R1", part="lights") == (
        "Rental 'R1' is reserved; damage can only be reported for active or completed rentals.")
    assert error(kit, "report_damage", rental_id="R5", part="seat") == (
        "Unknown part 'seat'; one of: tires, brakes, drivetrain, lights, wheels, frame, battery.")


def test_issue_store_credit(kit: BikeshopToolkit) -> None:
    before = copy.deepcopy(kit.db)
    out = call(kit, "issue_store_credit", customer_id="ann_lee_1", rental_id="R7", amount=13.75)
    assert out == {"customer_id": "ann_lee_1", "rental_id": "R7", "amount": 13.75, "store_credit_balance": 13.75}
    assert kit.db["rentals"]["R7"]["compensation"] == {"amount": 13.75, "issued_at": BikeshopToolkit.NOW,
                                                       "payment_method_id": "store_credit_1"}
    assert diff_paths(before, kit.db) == {".rentals.R7.compensation",
                                          ".customers.ann_lee_1.payment_methods.store_credit_1.balance"}
    assert kit.run_assertion("assert_store_credit_balance", {"customer_id": "ann_lee_1", "balance": 13.75})
    assert not kit.run_assertion("assert_store_credit_balance", {"customer_id": "ann_lee_1", "balance": 0})
    assert error(kit, "issue_store_credit", customer_id="ann_lee_1", rental_id="R7", amount=1.0) == (
        "Rental 'R7' was already compensated.")


def test_issue_store_credit_errors(kit: BikeshopToolkit) -> None:
    assert error(kit, "issue_store_credit", customer_id="bo_kim_2", rental_id="R7", amount=5.0) == (
        "Rental 'R7' does not belong to customer 'bo_kim_2'.")
    assert error(kit, "issue_store_credit", customer_id="ann_lee_1", rental_id="R7", amount=30.01) == (
        "amount 30.01 exceeds the rental total 30.00.")
    assert error(kit, "issue_store_credit", customer_id="ann_lee_1", rental_id="R7", amount=1.005) == (
        "amount must have at most two decimals.")
    assert error(kit, "issue_store_credit", customer_id="ann_lee_1", rental_id="R7", amount=0) == (
        "amount must be positive.")
    assert error(kit, "issue_store_credit", customer_id="ann_lee_1", rental_id="R7", amount="5") == (
        "amount must be a number.")


def test_transfer_and_assertions(kit: BikeshopToolkit) -> None:
    before = kit.snapshot()
    assert kit.call("transfer_to_human_agents", {"summary": "injury"}) == "Transfer successful"
    assert kit.snapshot() == before
    assert kit.run_assertion("assert_rental_status", {"rental_id": "R5", "status": "active"})
    assert not kit.run_assertion("assert_rental_status", {"rental_id": "R5", "status": "cancelled"})
    assert not kit.run_assertion("assert_rental_status", {"rental_id": "R99", "status": "active"})
    assert not kit.run_assertion("assert_bike_status", {"bike_id": "B1", "status": "maintenance"})
    assert kit.run_assertion("assert_store_credit_balance", {"customer_id": "cy_ray_3", "balance": 5.5})
