"""τ²-bench's ``mock`` domain: users with tasks, plus a user-side notification inbox.

Same semantics as τ²-bench's ``MockTools`` and ``MockUserTools`` (``src/tau2/domains/mock/``), written
against plain JSON data: the agent creates tasks and changes their status; the simulated user can read its
inbox and dismiss notifications. τ²-bench behaviour kept on purpose:

- ``create_task`` names the new task ``task_<number of tasks + 1>`` and overwrites a task of that id if one
  exists; the description is optional (``null``).
- ``update_task_status`` stores the status it is given without checking it against "pending"/"completed".
- ``add_notification`` (used by ``initialization_actions``) and the ``assert_*`` functions are not tools.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from evalharness.adapters.tau.domains._common import TauToolkit, dump, env_function
from evalharness.adapters.tau.toolkit import assertion, tool, user_tool

TaskStatus = Literal["pending", "completed"]


class Task(BaseModel):
    task_id: str
    title: str
    description: str | None = None
    status: TaskStatus


class User(BaseModel):
    user_id: str
    name: str
    tasks: list[str]


class MockDB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: dict[str, Task] = Field(description="tasks by task id")
    users: dict[str, User] = Field(description="users by user id")


class Notification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notification_id: str
    message: str
    status: Literal["unread", "read"] = "unread"
    task_id: str | None = None


class MockUserDB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notifications: dict[str, Notification] = Field(default_factory=dict)


class MockUserTools:
    """The simulated user's side (a mixin of ``MockTools``; named as τ²-bench's class)."""

    user_db: dict[str, Any]

    @user_tool("read")
    def check_notifications(self) -> list[dict[str, Any]]:
        """List every notification in the user's inbox."""
        return list(self.user_db["notifications"].values())

    @user_tool("write")
    def dismiss_notification(self, notification_id: str) -> str:
        """Mark a notification as read.

        Args:
            notification_id: The id of the notification to dismiss.
        """
        if notification_id not in self.user_db["notifications"]:
            raise ValueError(f"Notification {notification_id} not found")
        self.user_db["notifications"][notification_id]["status"] = "read"
        return f"Notification {notification_id} dismissed"

    @env_function("user")
    def add_notification(self, notification_id: str, message: str, task_id: str | None = None) -> dict[str, Any]:
        """Put a notification in the user's inbox (for ``initialization_actions``)."""
        notification = dump(Notification, notification_id=notification_id, message=message, task_id=task_id)
        self.user_db["notifications"][notification_id] = notification
        return notification

    @assertion
    @env_function("user")
    def assert_notification_status(self, notification_id: str, expected_status: str) -> bool:
        """Whether a notification has the given status."""
        if notification_id not in self.user_db["notifications"]:
            raise ValueError(f"Notification {notification_id} not found")
        return self.user_db["notifications"][notification_id]["status"] == expected_status


class MockTools(TauToolkit, MockUserTools):
    """The mock domain's agent tools, with the user's tools of ``MockUserTools``."""

    domain = "mock"
    DB_MODEL = MockDB
    USER_DB_MODEL = MockUserDB

    @tool("write")
    def create_task(self, user_id: str, title: str,
                    description: str | SkipJsonSchema[None] = None) -> dict[str, Any]:
        """Create a new task for a user. Returns the task.

        Args:
            user_id: The id of the user the task is for.
            title: The title of the task.
            description: An optional description of the task.
        """
        if user_id not in self.db["users"]:
            raise ValueError(f"User {user_id} not found")
        task_id = f"task_{len(self.db['tasks']) + 1}"
        task = dump(Task, task_id=task_id, title=title, description=description, status="pending")
        self.db["tasks"][task_id] = task
        self.db["users"][user_id]["tasks"].append(task_id)
        return task

    @tool("read")
    def get_users(self) -> list[dict[str, Any]]:
        """List every user of the database."""
        return list(self.db["users"].values())

    @tool("write")
    def update_task_status(self, task_id: str, status: TaskStatus) -> dict[str, Any]:
        """Set the status of a task. Returns the task.

        Args:
            task_id: The id of the task to update.
            status: The new status of the task.
        """
        if task_id not in self.db["tasks"]:
            raise ValueError(f"Task {task_id} not found")
        task = self.db["tasks"][task_id]
        task["status"] = status
        return task

    @tool("generic")
    def transfer_to_human_agents(self, summary: str) -> str:
        """Hand the conversation to a human agent with a summary of the user's issue. Only transfer when the
        user explicitly asks for a human, or when the policy and the tools give no way to solve the issue.

        Args:
            summary: A short summary of the user's issue.
        """
        return "Transfer successful"

    @assertion
    @env_function("assistant")
    def assert_number_of_tasks(self, user_id: str, expected_number: int) -> bool:
        """Whether a user has the given number of tasks."""
        if user_id not in self.db["users"]:
            raise ValueError(f"User {user_id} not found")
        return len(self.db["users"][user_id]["tasks"]) == expected_number

    @assertion
    @env_function("assistant")
    def assert_task_status(self, task_id: str, expected_status: str) -> bool:
        """Whether a task has the given status."""
        if task_id not in self.db["tasks"]:
            raise ValueError(f"Task {task_id} not found")
        return self.db["tasks"][task_id]["status"] == expected_status
