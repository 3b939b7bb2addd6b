"""τ²-bench's ``banking_knowledge`` domain, the bank's side: its database, the agent's tools and the agent's
discoverable tools (``KnowledgeTools`` in τ²-bench's ``src/tau2/domains/banking_knowledge/tools.py``).

Written against plain JSON data with τ²-bench's semantics kept on purpose:

- **Results are text.** Nearly every tool answers a refusal as a returned ``"Error: ..."`` string, which is a
  normal tool result (not a tool error), exactly as there; only what raises is an error.
- **Fixed clock.** Every date is 11/14/2025 (now: 2025-11-14 03:40:00), so ids and records are reproducible.
- **Deterministic ids** are the first bytes of sha256 over the same seed strings, so a record made by the
  agent gets the id the gold replay gives it.
- **Discoverable tools** are not offered to the model: the agent unlocks one by name
  (``unlock_discoverable_agent_tool``, kept in memory only) and calls it through
  ``call_discoverable_agent_tool`` with its arguments as a JSON string, whose integers are read as floats
  (τ³-bench 1.0.1: ``25`` and ``25.0`` make the same records). A call is logged in the
  ``agent_discoverable_tools`` table when the tool writes, or when it is a read the task's gold trajectory
  makes (``read_log_allowlist``, 1.0.1): extra verification reads leave the database alone.
- **Quirks kept:** records are keyed by tool name, so a second call of a tool logs nothing new;
  ``submit_interest_discrepancy_report_7294`` writes to a table the database does not have, so it changes
  nothing; ``list_discoverable_agent_tools`` never says "no tools" (it looks for a text the query never
  writes).

Descriptions here are this project's own wording; the arguments' names, types and the texts the tools
return are τ²-bench's, because the model and the grader read them.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from evalharness.adapters.tau.domains._common import TauToolkit
from evalharness.adapters.tau.toolkit import ToolKind, tool

TODAY = "11/14/2025"
NOW = datetime(2025, 11, 14, 3, 40, 0)
NOW_TEXT = "2025-11-14 03:40:00 EST"

TransferReason = Literal[
    "fraud_or_security_concern", "account_closure_request", "deceased_account_holder",
    "legal_or_regulatory_matter", "account_ownership_dispute", "complex_billing_dispute",
    "abusive_customer_behavior", "third_party_inquiry", "technical_system_error",
    "unconfirmed_external_communication", "customer_demands_after_unavailable_offer_refusal",
    "kb_search_unsuccessful_customer_requests_transfer", "specialized_department_required",
    "accessibility_or_special_needs", "customer_frustrated_demands_human",
    "supervisor_request_service_complaint", "customer_requests_human_no_specific_reason",
    "request_completed_customer_wants_human_followup", "other",
]
TRANSFER_REASONS: tuple[str, ...] = get_args(TransferReason)


class DatabaseTable(BaseModel):
    data: dict[str, dict[str, Any]] = Field(default_factory=dict)
    notes: str = ""


class TransactionalDB(BaseModel):
    """τ²-bench's tables, in its order (the order a dump and a diff show)."""

    users: DatabaseTable = Field(default_factory=DatabaseTable)
    accounts: DatabaseTable = Field(default_factory=DatabaseTable)
    debit_cards: DatabaseTable = Field(default_factory=DatabaseTable)
    referrals: DatabaseTable = Field(default_factory=DatabaseTable)
    credit_card_applications: DatabaseTable = Field(default_factory=DatabaseTable)
    user_discoverable_tools: DatabaseTable = Field(default_factory=DatabaseTable)
    user_discoverable_tool_calls: DatabaseTable = Field(default_factory=DatabaseTable)
    verification_history: DatabaseTable = Field(default_factory=DatabaseTable)
    credit_card_transaction_history: DatabaseTable = Field(default_factory=DatabaseTable)
    cash_back_disputes: DatabaseTable = Field(default_factory=DatabaseTable)
    bank_account_transaction_history: DatabaseTable = Field(default_factory=DatabaseTable)
    credit_card_accounts: DatabaseTable = Field(default_factory=DatabaseTable)
    agent_discoverable_tools: DatabaseTable = Field(default_factory=DatabaseTable)
    task_config: DatabaseTable = Field(default_factory=DatabaseTable)
    human_transfer_requests: DatabaseTable = Field(default_factory=DatabaseTable)
    transaction_disputes: DatabaseTable = Field(default_factory=DatabaseTable)
    credit_card_orders: DatabaseTable = Field(default_factory=DatabaseTable)
    debit_card_orders: DatabaseTable = Field(default_factory=DatabaseTable)
    credit_card_closure_reasons: DatabaseTable = Field(default_factory=DatabaseTable)
    credit_card_account_flags: DatabaseTable = Field(default_factory=DatabaseTable)
    credit_limit_increase_requests: DatabaseTable = Field(default_factory=DatabaseTable)
    payment_history: DatabaseTable = Field(default_factory=DatabaseTable)
    debit_card_disputes: DatabaseTable = Field(default_factory=DatabaseTable)


# tables the query helper knows, in the order it lists them in its "not found" answer
QUERY_TABLES = ("users", "accounts", "referrals", "credit_card_applications", "user_discoverable_tools",
                "user_discoverable_tool_calls", "agent_discoverable_tools", "task_config", "verification_history",
                "credit_card_transaction_history", "cash_back_disputes", "bank_account_transaction_history",
                "credit_card_accounts", "human_transfer_requests", "transaction_disputes", "credit_card_orders",
                "credit_card_closure_reasons", "credit_card_account_flags", "debit_cards", "debit_card_orders",
                "debit_card_disputes", "credit_limit_increase_requests", "payment_history")

# --- ids -------------------------------------------------------------------------------------------------


def hex_id(seed: str, length: int = 16) -> str:
    return hashlib.sha256(seed.encode()).digest()[: length // 2].hex()


def transaction_id(user_id: Any, card_type: Any, merchant: Any, amount: float, category: Any) -> str:
    return "txn_" + hex_id(":".join(["transaction", user_id, card_type, merchant, f"{amount:.2f}", category]), 12)


def dispute_id(user_id: Any, transaction: Any) -> str:
    return "dsp_" + hex_id(f"dispute:{user_id}:{transaction}", 12)


def tool_record_id(side: str, name: str) -> str:
    return hex_id(f"{side}_discoverable_tool:{name}")


def cli_request_id(account_id: Any, user_id: Any, amount: float) -> str:
    return "cli_" + hex_id(f"cli_request:{account_id}:{user_id}:{amount:.2f}", 12)


# --- money -----------------------------------------------------------------------------------------------


def parse_balance(value: Any) -> float:
    """A balance stored as a number or as text such as ``$2,850.00``."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value.replace("$", "").replace(",", ""))
    return 0.0


def account_balance(account: dict[str, Any]) -> float:
    return parse_balance(account.get("current_holdings", account.get("balance", 0)))


def parse_dollars(value: Any) -> float:
    """A credit card's dollar field (``$1,200.00``); 0 when it does not read as a number."""
    try:
        return float(str(value).replace("$", "").replace(",", ""))
    except (ValueError, TypeError):
        return 0.0


def titled(code: str) -> str:
    return code.replace("_", " ").title()


def days_since(date_text: str) -> int:
    return (NOW - datetime.strptime(date_text, "%m/%d/%Y")).days


# --- discoverable tools ----------------------------------------------------------------------------------

DISCOVERABLE_ATTR = "__bank_discoverable__"
TAU2_CLASSES = {"agent": "KnowledgeTools", "user": "KnowledgeUserTools"}


def discoverable(side: str, kind: ToolKind, mutates: bool | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a discoverable tool of one side (``agent`` or ``user``); a write mutates unless told otherwise."""
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, DISCOVERABLE_ATTR, (side, kind, kind == "write" if mutates is None else mutates))
        # a call with wrong arguments answers with Python's message, which names the class: τ²-bench's
        fn.__qualname__ = f"{TAU2_CLASSES[side]}.{fn.__name__}"
        return fn
    return mark


_ARG_LINE = re.compile(r"^\s*(\w+)\s*(?:\(([^)]+)\))?\s*:\s*(.+?)$", re.MULTILINE)


def tool_info(fn: Callable[..., Any]) -> dict[str, Any]:
    """A discoverable tool's description and parameters, read off its docstring as τ²-bench reads its own:
    ``name (type[, optional]): description`` lines under ``Args:``."""
    doc = inspect.getdoc(fn) or ""
    parts = re.split(r"\n\s*Args:\s*\n", doc, maxsplit=1)
    parameters: dict[str, dict[str, Any]] = {}
    if len(parts) > 1:
        args_section = re.split(r"\n\s*Returns:\s*\n", parts[1], maxsplit=1)[0]
        for m in _ARG_LINE.finditer(args_section):
            type_info = m.group(2) or "string"
            kind = re.sub(r",?\s*optional", "", type_info, flags=re.IGNORECASE).strip() or "string"
            parameters[m.group(1)] = {"type": kind, "description": m.group(3).strip(),
                                      "required": "optional" not in type_info.lower()}
    return {"name": fn.__name__, "description": parts[0].strip(), "parameters": parameters}


def describe_for_agent(info: dict[str, Any]) -> str:
    lines = [f"  - {name}: {p['type']}{' (required)' if p['required'] else ' (optional)'} - {p['description']}"
             for name, p in info["parameters"].items()]
    params = "\n".join(lines) if lines else "  (no parameters)"
    return f"Tool: {info['name']}\nDescription: {info['description']}\nParameters:\n{params}"


class BankData(TauToolkit):
    """The database and its query helpers, shared by both sides' tools."""

    DB_MODEL = TransactionalDB

    @classmethod
    @functools.cache
    def discoverables(cls, side: str) -> dict[str, Callable[..., Any]]:
        return {name: fn for name, fn in inspect.getmembers(cls, predicate=inspect.isfunction)
                if getattr(fn, DISCOVERABLE_ATTR, ("",))[0] == side}

    @classmethod
    def discoverable_mutates(cls, side: str, name: str) -> bool:
        return getattr(cls.discoverables(side)[name], DISCOVERABLE_ATTR)[2]

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.db[name]["data"]

    def missing(self, name: str, account_id: str) -> bool:
        """No record of the table has this ``account_id`` field (τ²-bench looks accounts up by query, not key)."""
        return "No records found" in self.query(name, "account_id", account_id)

    def add(self, name: str, record_id: str, record: dict[str, Any]) -> bool:
        """A new record; False when the table does not exist or the id is taken."""
        if name not in self.db or record_id in self.table(name):
            return False
        self.table(name)[record_id] = record
        return True

    def update(self, name: str, record_id: str, updates: dict[str, Any]) -> bool:
        if name not in self.db or record_id not in self.table(name):
            return False
        self.table(name)[record_id].update(updates)
        return True

    def query(self, name: str, field: str, value: Any) -> str:
        """τ²-bench's ``query_database_tool`` with a one-field constraint spelled into JSON text, as its
        tools do (a value with a quote in it is an invalid-JSON answer there too)."""
        return self.query_text(name, f'{{"{field}": "{value}"}}')

    def query_text(self, name: str, constraints: str) -> str:
        if name not in QUERY_TABLES:
            return f"Error: Database '{name}' not found. Available: {list(QUERY_TABLES)}"
        try:
            wanted = json.loads(constraints) if constraints else {}
        except json.JSONDecodeError as e:
            return f"Error: Invalid JSON: {e}"
        rows = [(rid, rec) for rid, rec in self.table(name).items()
                if all(rec.get(k) == v for k, v in wanted.items())]
        if not rows:
            return f"No records found in '{name}'."
        return format_records(name, rows)


def format_records(name: str, rows: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [f"Found {len(rows)} record(s) in '{name}':\n"]
    for i, (record_id, record) in enumerate(rows, 1):
        lines.append(f"{i}. Record ID: {record_id}")
        lines += [f"   {field}: {value}" for field, value in record.items()]
        lines.append("")
    return "\n".join(lines)


def found(result: str) -> bool:
    """A query's answer lists records (τ²-bench's tools test for both of its "none" texts)."""
    return "No records found" not in result and "No results found" not in result


def executed(name: str, arguments: dict[str, Any]) -> str:
    return f"Executed: {name}\nArguments: {json.dumps(arguments, indent=2)}\n"


def history(title: str, name: str, heading: str, result: str, empty: str) -> str:
    """The answer of the history reads: a title, the tool's name, a heading, then the records or ``empty``."""
    return "\n".join([title, "", f"Executed: {name}", heading, result if found(result) else empty])


class KnowledgeTools(BankData):
    """The agent's tools (named as τ²-bench's class, so a bad call's message names the same class)."""

    _unlocked: dict[str, dict[str, Any]]
    read_log_allowlist: set[str]

    def __init__(self, db: dict[str, Any], user_db: dict[str, Any] | None = None) -> None:
        super().__init__(db, user_db)
        self._unlocked = {}
        self.read_log_allowlist = set()

    # --- base tools ------------------------------------------------------------------------------------

    @tool("generic")
    def transfer_to_human_agents(self, summary: str, reason: TransferReason = "other") -> str:
        """Hand the customer over to a human agent. Look up the right reason code in the knowledge base first.

        Args:
            summary: What the customer needs and what was tried.
            reason: The reason code of the transfer.
        """
        if reason not in TRANSFER_REASONS:
            return f"Error: Invalid transfer reason '{reason}'. Must be one of: {', '.join(TRANSFER_REASONS)}"
        return f"Transfer successful (reason: {reason}). A human agent will assist you shortly."

    @tool("read")
    def get_current_time(self) -> str:
        """The current date and time, for the timestamp of a verification record."""
        return f"The current time is {NOW_TEXT}."

    @tool("read")
    def get_user_information_by_id(self, user_id: str) -> str:
        """A customer's profile (date of birth, email, phone, address) by user id.

        Args:
            user_id: The customer's user id.
        """
        return self.query("users", "user_id", user_id)

    @tool("read")
    def get_user_information_by_name(self, customer_name: str) -> str:
        """A customer's profile by full name (exact, case-sensitive).

        Args:
            customer_name: The customer's full name.
        """
        return self.query("users", "name", customer_name)

    @tool("read")
    def get_user_information_by_email(self, email: str) -> str:
        """A customer's profile by email address.

        Args:
            email: The customer's email address.
        """
        return self.query("users", "email", email)

    @tool("write")
    def change_user_email(self, user_id: str, new_email: str) -> str:
        """Change a customer's email address.

        Args:
            user_id: The customer's user id.
            new_email: The new email address.
        """
        if not self.update("users", user_id, {"email": new_email}):
            return f"Error: User with ID '{user_id}' not found."
        return f"Email updated successfully.\n  - User ID: {user_id}\n  - New Email: {new_email}"

    @tool("read")
    def get_referrals_by_user(self, user_id: str) -> str:
        """The referrals a customer has made.

        Args:
            user_id: The referring customer's user id.
        """
        return self.query("referrals", "referrer_id", user_id)

    @tool("read")
    def get_credit_card_transactions_by_user(self, user_id: str) -> str:
        """A customer's credit card transactions.

        Args:
            user_id: The customer's user id.
        """
        return self.query("credit_card_transaction_history", "user_id", user_id)

    @tool("read")
    def get_credit_card_accounts_by_user(self, user_id: str) -> str:
        """A customer's credit card accounts: card type, opening date, balance, reward points.

        Args:
            user_id: The customer's user id.
        """
        return self.query("credit_card_accounts", "user_id", user_id)

    @tool("write")
    def log_verification(self, name: str, user_id: str, address: str, email: str, phone_number: str,
                         date_of_birth: str, time_verified: str) -> str:
        """Record that a customer's identity was verified (two of: date of birth, email, phone, address).

        Args:
            name: The customer's full name.
            user_id: The customer's user id.
            address: The customer's address.
            email: The customer's email.
            phone_number: The customer's phone number.
            date_of_birth: The customer's date of birth (MM/DD/YYYY).
            time_verified: When the identity was verified (e.g. "2025-11-14 03:40:00 EST").
        """
        record_id = f"{user_id}_" + time_verified.replace(" ", "_").replace(":", "").replace("-", "")
        record = {"name": name, "user_id": user_id, "address": address, "email": email,
                  "phone_number": phone_number, "date_of_birth": date_of_birth, "time_verified": time_verified}
        if not self.add("verification_history", record_id, record):
            return "Failed to log verification: Record may already exist."
        return f"Verification logged successfully.\n  - User: {name} (ID: {user_id})\n  - Verified at: {time_verified}"

    @tool("generic")
    def give_discoverable_user_tool(self, discoverable_tool_name: str, arguments: str = "{}") -> str:
        """Give the customer a tool the knowledge base says they should use themselves.

        Args:
            discoverable_tool_name: The name of the customer's tool.
            arguments: The tool's arguments as a JSON object in a string.
        """
        fn = self.discoverables("user").get(discoverable_tool_name)
        if fn is None:
            return f"Error: Unknown discoverable tool '{discoverable_tool_name}'."
        try:
            given = json.loads(arguments)
        except json.JSONDecodeError as e:
            return f"Error: Invalid JSON in arguments: {e}"
        accepted = inspect.signature(fn).parameters
        for name in given:
            if name not in accepted and name != "self":
                return f"Error: Unexpected parameter: {name}"
        info = tool_info(fn)
        self.add("user_discoverable_tools", tool_record_id("user", discoverable_tool_name),
                 {"tool_name": discoverable_tool_name, "status": "GIVEN"})
        shown = json.dumps(given, indent=2) if given else "(no arguments)"
        return (f"Tool given to user: {discoverable_tool_name}\nDescription: {info['description']}\n"
                f"Arguments: {shown}\n\nThe user can now execute this action by calling `call_discoverable_user_tool` "
                f"with discoverable_tool_name='{discoverable_tool_name}' and the same arguments.")

    @tool("generic")
    def unlock_discoverable_agent_tool(self, agent_tool_name: str) -> str:
        """Unlock one of your own specialised tools that the knowledge base names.

        Args:
            agent_tool_name: The tool's name.
        """
        fn = self.discoverables("agent").get(agent_tool_name)
        if fn is None:
            return f"Error: Unknown agent tool '{agent_tool_name}'. This tool is not available."
        info = tool_info(fn)
        self._unlocked[agent_tool_name] = info
        return (f"Tool unlocked: {agent_tool_name}\nDescription: {info['description']}\n\n{describe_for_agent(info)}\n\n"
                f"You can now use this tool by calling `call_discoverable_agent_tool` with "
                f"agent_tool_name='{agent_tool_name}' and the required arguments.")

    @tool("write")
    def call_discoverable_agent_tool(self, agent_tool_name: str, arguments: str = "{}") -> str:
        """Call a specialised tool you have unlocked.

        Args:
            agent_tool_name: The tool's name.
            arguments: The tool's arguments as a JSON object in a string.
        """
        fn = self.discoverables("agent").get(agent_tool_name)
        if fn is None:
            return f"Error: Unknown agent tool '{agent_tool_name}'. This tool is not available."
        if agent_tool_name not in self._unlocked:
            return (f"Error: Tool '{agent_tool_name}' has not been unlocked. You must first use "
                    f"`unlock_discoverable_agent_tool` to unlock this tool before calling it.")
        try:
            given = json.loads(arguments, parse_int=float)
        except json.JSONDecodeError as e:
            return f"Error: Invalid JSON in arguments: {e}"
        try:
            result = fn(self, **given)
        except TypeError as e:
            return f"Error: Invalid arguments: {e}"
        if self.discoverable_mutates("agent", agent_tool_name) or agent_tool_name in self.read_log_allowlist:
            self.add("agent_discoverable_tools", tool_record_id("agent", agent_tool_name),
                     {"tool_name": agent_tool_name, "status": "CALLED"})
        return result

    @tool("read")
    def list_discoverable_agent_tools(self) -> str:
        """The specialised tools you have called so far."""
        result = self.query_text("agent_discoverable_tools", "{}")
        if "No results found" in result:
            return "No agent tools have been called yet. Search the knowledge base to discover available tools."
        return f"Your called agent tools:\n{result}"

