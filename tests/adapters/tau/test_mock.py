"""τ²-bench's mock domain: gold replay of all 10 tasks (initial states included), the tools' effects and text,
the user-side inbox, the assertion functions and the tool specs.

Expected outputs and states are τ²-bench's (its ``MockTools`` run on the same tasks give the same text and
``model_dump``), written out literally.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.domains import toolkit_for
from evalharness.adapters.tau.domains.mock import MockTools
from evalharness.errors import DataError
from evalharness.tools import ToolError

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data" / "tau2" / "mock"
TASKS: list[dict[str, Any]] = json.loads((DATA / "tasks.json").read_text(encoding="utf-8"))
DB = json.loads((DATA / "db.json").read_text(encoding="utf-8"))
USER_DB = json.loads((DATA / "user_db.json").read_text(encoding="utf-8"))


def fresh(task: dict[str, Any] | None = None) -> MockTools:
    toolkit = MockTools(copy.deepcopy(DB), copy.deepcopy(USER_DB))
    if task is not None:
        toolkit.apply_initial_state(task.get("initial_state"))
    return toolkit


def task(task_id: str) -> dict[str, Any]:
    return next(t for t in TASKS if t["id"] == task_id)


TASK_1 = {"task_id": "task_1", "title": "Test task", "description": "A test task", "status": "pending"}
TASK_1_DONE = {**TASK_1, "status": "completed"}
MEETING = {"task_id": "task_2", "title": "Important Meeting", "description": None, "status": "pending"}
REVIEW = {"task_id": "task_2", "title": "Project Review", "description": "Review Q4 project status",
          "status": "pending"}
REVIEW_DONE = {**REVIEW, "status": "completed"}
MEETING_TEXT = '{"task_id": "task_2", "title": "Important Meeting", "description": null, "status": "pending"}'
REVIEW_DONE_TEXT = ('{"task_id": "task_2", "title": "Project Review", "description": "Review Q4 project status", '
                    '"status": "completed"}')
TASK_1_DONE_TEXT = '{"task_id": "task_1", "title": "Test task", "description": "A test task", "status": "completed"}'
NOTIF_UNREAD = {"notification_id": "notif_1", "message": "Task 'Test task' has been assigned to you.",
                "status": "unread", "task_id": "task_1"}


def agent_db(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": {t["task_id"]: t for t in tasks},
            "users": {"user_1": {"user_id": "user_1", "name": "Test User", "tasks": [t["task_id"] for t in tasks]}}}


# task id -> (gold action results, assertion results after the gold actions, agent database afterwards)
GOLD: dict[str, tuple[list[str], list[bool], dict[str, Any]]] = {
    "create_task_1": ([MEETING_TEXT], [], agent_db(TASK_1, MEETING)),
    "create_task_1_with_env_assertions": ([MEETING_TEXT], [True], agent_db(TASK_1, MEETING)),
    "create_task_1_nl_eval": ([], [], agent_db(TASK_1)),
    "update_task_1": ([TASK_1_DONE_TEXT], [], agent_db(TASK_1_DONE)),
    "update_task_with_message_history": ([REVIEW_DONE_TEXT], [], agent_db(TASK_1, REVIEW_DONE)),
    "update_task_with_initialization_data": ([REVIEW_DONE_TEXT], [], agent_db(TASK_1, REVIEW_DONE)),
    "update_task_with_initialization_actions": ([REVIEW_DONE_TEXT], [], agent_db(TASK_1, REVIEW_DONE)),
    # no gold action at all: the assertion needs the agent's own update (see the next test)
    "update_task_with_history_and_env_assertions": ([], [False], agent_db(TASK_1, REVIEW)),
    # the assertion needs the user's dismiss_notification, which is no gold action (see the next test)
    "update_task_with_user_tools": ([TASK_1_DONE_TEXT], [False], agent_db(TASK_1_DONE)),
    "impossible_task_1": (["Transfer successful"], [], agent_db(TASK_1)),
}


# --- gold replay ---------------------------------------------------------------------------------------


def test_every_task_is_pinned() -> None:
    assert [t["id"] for t in TASKS] == list(GOLD)


@pytest.mark.parametrize("task_data", TASKS, ids=[t["id"] for t in TASKS])
def test_gold_replay(task_data: dict[str, Any]) -> None:
    toolkit = fresh(task_data)
    criteria = task_data["evaluation_criteria"]
    results = []
    for action in criteria.get("actions") or []:
        side = "user" if action.get("requestor") == "user" else "agent"
        results.append(toolkit.call(action["name"], action["arguments"], side=side))  # no gold action fails
    held = [toolkit.check_env_assertion(a) for a in criteria.get("env_assertions") or []]
    via_base = [toolkit.run_assertion(a["func_name"], a["arguments"]) == a.get("assert_value", True)
                for a in criteria.get("env_assertions") or []]
    expected_results, expected_held, expected_db = GOLD[task_data["id"]]
    assert results == expected_results
    assert held == via_base == expected_held
    assert toolkit.db == expected_db
    assert json.dumps(toolkit.db) == json.dumps(expected_db)  # field order too
    assert toolkit.user_db == {"notifications": {"notif_1": NOTIF_UNREAD}}


def test_the_trajectories_the_scenarios_ask_for_satisfy_the_assertions() -> None:
    history = task("update_task_with_history_and_env_assertions")
    toolkit = fresh(history)
    assert toolkit.call("update_task_status", {"task_id": "task_2", "status": "completed"}) == REVIEW_DONE_TEXT
    assert all(toolkit.check_env_assertion(a) for a in history["evaluation_criteria"]["env_assertions"])

    user_tools = task("update_task_with_user_tools")
    toolkit = fresh(user_tools)
    assert json.loads(toolkit.call("check_notifications", {}, side="user")) == [NOTIF_UNREAD]
    toolkit.call("update_task_status", {"task_id": "task_1", "status": "completed"})
    assert not toolkit.check_env_assertion(user_tools["evaluation_criteria"]["env_assertions"][0])
    assert toolkit.call("dismiss_notification", {"notification_id": "notif_1"}, side="user") == \
        "Notification notif_1 dismissed"
    assert toolkit.check_env_assertion(user_tools["evaluation_criteria"]["env_assertions"][0])
    assert toolkit.user_db["notifications"]["notif_1"]["status"] == "read"


# --- initial state -------------------------------------------------------------------------------------


def test_initialization_data_merges_objects_and_replaces_lists() -> None:
    toolkit = fresh(task("update_task_with_initialization_data"))
    assert toolkit.db == agent_db(TASK_1, REVIEW)  # user_1 keeps its name; its task list is replaced
    toolkit.update_db({"tasks": {"task_3": {"task_id": "task_3", "title": "No description", "status": "pending"}}})
    assert toolkit.db["tasks"]["task_3"] == {"task_id": "task_3", "title": "No description", "description": None,
                                             "status": "pending"}  # the model's default added
    with pytest.raises(DataError, match="status"):
        toolkit.update_db({"tasks": {"task_1": {"status": "archived"}}})


def test_initialization_actions_run_tools_and_helpers_on_their_side() -> None:
    toolkit = fresh(task("update_task_with_initialization_actions"))
    assert toolkit.db == agent_db(TASK_1, REVIEW)
    toolkit = fresh()
    toolkit.apply_initial_state({"initialization_actions": [
        {"env_type": "user", "func_name": "add_notification",
         "arguments": {"notification_id": "notif_2", "message": "Hello"}}]})
    assert toolkit.user_db["notifications"]["notif_2"] == {"notification_id": "notif_2", "message": "Hello",
                                                           "status": "unread", "task_id": None}
    with pytest.raises(DataError, match="add_notification not found in assistant tools"):
        toolkit.run_env_function("assistant", "add_notification", {"notification_id": "x", "message": "m"})
    with pytest.raises(DataError, match="create_task not found in user tools"):
        toolkit.run_env_function("user", "create_task", {"user_id": "user_1", "title": "t"})


def test_message_history_replays_write_calls_and_checks_their_results() -> None:
    original = task("update_task_with_message_history")["initial_state"]
    assert fresh(task("update_task_with_message_history")).db == agent_db(TASK_1, REVIEW)
    state = copy.deepcopy(original)
    history = state["message_history"]
    # a read call and an unknown tool in the history are not replayed
    history[1:1] = [
        {"role": "assistant", "tool_calls": [{"id": "r", "name": "get_users", "arguments": {}},
                                             {"id": "u", "name": "delete_task", "arguments": {"task_id": "task_1"}}]},
        {"role": "tool", "id": "r", "content": "whatever"},
        {"role": "tool", "id": "u", "content": "Error: Tool 'delete_task' not found."},
    ]
    toolkit = fresh()
    toolkit.apply_initial_state(state)
    assert toolkit.db == agent_db(TASK_1, REVIEW)
    # a recorded result that the replay does not reproduce is an error, as in τ²-bench's strict replay
    state = copy.deepcopy(original)
    state["message_history"][2]["content"] = state["message_history"][2]["content"].replace("task_2", "task_9")
    with pytest.raises(DataError, match="history records"):
        fresh().apply_initial_state(state)
    state = copy.deepcopy(original)
    del state["message_history"][2]
    with pytest.raises(DataError, match="expected a tool message"):
        fresh().apply_initial_state(state)


# --- tools ---------------------------------------------------------------------------------------------


def test_create_task_numbers_by_count_and_overwrites_like_tau2() -> None:
    toolkit = fresh()
    assert toolkit.call("create_task", {"user_id": "user_1", "title": "With text", "description": "d"}) == \
        '{"task_id": "task_2", "title": "With text", "description": "d", "status": "pending"}'
    toolkit.update_db({"tasks": {"task_4": {"task_id": "task_4", "title": "Four", "status": "pending"}}})
    # three tasks, so the next id is task_4: τ²-bench overwrites it and lists it twice
    assert json.loads(toolkit.call("create_task", {"user_id": "user_1", "title": "New"}))["task_id"] == "task_4"
    assert toolkit.db["tasks"]["task_4"]["title"] == "New"
    assert toolkit.db["users"]["user_1"]["tasks"] == ["task_1", "task_2", "task_4"]


def test_update_task_status_stores_any_status() -> None:
    toolkit = fresh()
    assert toolkit.call("update_task_status", {"task_id": "task_1", "status": "done"}) == \
        '{"task_id": "task_1", "title": "Test task", "description": "A test task", "status": "done"}'
    assert toolkit.run_assertion("assert_task_status", {"task_id": "task_1", "expected_status": "done"}) is True


def test_tool_errors() -> None:
    toolkit = fresh()
    cases = [
        ("create_task", {"user_id": "user_9", "title": "x"}, "agent", "User user_9 not found"),
        ("update_task_status", {"task_id": "task_9", "status": "completed"}, "agent", "Task task_9 not found"),
        ("dismiss_notification", {"notification_id": "notif_9"}, "user", "Notification notif_9 not found"),
        ("create_task", {"title": "x"}, "agent",
         "MockTools.create_task() missing 1 required positional argument: 'user_id'"),
        ("check_notifications", {}, "agent", "Tool 'check_notifications' not found."),
        ("get_users", {}, "user", "Tool 'get_users' not found."),
        ("add_notification", {"notification_id": "n", "message": "m"}, "user", "Tool 'add_notification' not found."),
    ]
    for name, arguments, side, message in cases:
        with pytest.raises(ToolError) as e:
            toolkit.call(name, arguments, side=side)
        assert str(e.value) == message
    with pytest.raises(ToolError) as e:
        toolkit.call("create_task", {"user_id": "user_1", "title": 5})
    assert str(e.value).startswith("1 validation error for Task\ntitle\n  Input should be a valid string")
    assert toolkit.db == agent_db(TASK_1)
    assert toolkit.response("update_task_status", {"task_id": "x", "status": "completed"}) == \
        ("Error: Task x not found", True)


def test_read_tools_text() -> None:
    toolkit = fresh()
    assert toolkit.call("get_users", {}) == '[{"user_id": "user_1", "name": "Test User", "tasks": ["task_1"]}]'
    assert toolkit.call("check_notifications", {}, side="user") == (
        '[{"notification_id": "notif_1", "message": "Task \'Test task\' has been assigned to you.", '
        '"status": "unread", "task_id": "task_1"}]')
    assert toolkit.call("transfer_to_human_agents", {"summary": "delete my tasks"}) == "Transfer successful"


def test_without_a_user_database_the_user_side_is_unavailable() -> None:
    toolkit = MockTools(copy.deepcopy(DB))
    with pytest.raises(ToolError, match="User tools not available"):
        toolkit.call("check_notifications", {}, side="user")
    with pytest.raises(DataError, match="no user tools"):
        toolkit.run_env_function("user", "add_notification", {"notification_id": "n", "message": "m"})


def test_assertion_functions() -> None:
    toolkit = fresh()
    assert toolkit.run_assertion("assert_number_of_tasks", {"user_id": "user_1", "expected_number": 1}) is True
    assert toolkit.run_assertion("assert_number_of_tasks", {"user_id": "user_1", "expected_number": 2}) is False
    assert toolkit.run_assertion("assert_task_status", {"task_id": "task_1", "expected_status": "pending"}) is True
    assert toolkit.run_assertion("assert_notification_status",
                                 {"notification_id": "notif_1", "expected_status": "read"}) is False
    assert toolkit.check_env_assertion({"env_type": "assistant", "func_name": "assert_task_status",
                                        "arguments": {"task_id": "task_1", "expected_status": "completed"},
                                        "assert_value": False}) is True
    with pytest.raises(ToolError, match="Task task_9 not found"):
        toolkit.run_assertion("assert_task_status", {"task_id": "task_9", "expected_status": "pending"})
    with pytest.raises(DataError, match="no assertion function"):
        toolkit.run_assertion("create_task", {"user_id": "user_1", "title": "t"})
    with pytest.raises(DataError, match="instead of bool"):
        toolkit.check_env_assertion({"env_type": "assistant", "func_name": "create_task",
                                     "arguments": {"user_id": "user_1", "title": "t"}})


# --- specs ---------------------------------------------------------------------------------------------


def test_tool_specs() -> None:
    agent = {s.name: s for s in MockTools.tool_specs()}
    user = {s.name: s for s in MockTools.tool_specs("user")}
    assert {n: MockTools.tool_kind(n) for n in agent} == {
        "create_task": "write", "get_users": "read", "update_task_status": "write",
        "transfer_to_human_agents": "generic"}
    assert {n: MockTools.tool_kind(n, "user") for n in user} == {
        "check_notifications": "read", "dismiss_notification": "write"}
    assert agent["create_task"].parameters["required"] == ["user_id", "title"]
    assert list(agent["create_task"].parameters["properties"]) == ["user_id", "title", "description"]
    assert agent["update_task_status"].parameters["properties"]["status"]["enum"] == ["pending", "completed"]
    assert user["dismiss_notification"].parameters["required"] == ["notification_id"]
    for spec in [*agent.values(), *user.values()]:
        assert spec.description, spec.name
        assert all(p.get("description") for p in spec.parameters["properties"].values()), spec.name
    assert MockTools.is_mutating("create_task") and not MockTools.is_mutating("get_users")
    assert MockTools.is_mutating("dismiss_notification", "user")
    assert toolkit_for("mock") is MockTools
