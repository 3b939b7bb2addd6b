"""τ²-bench's ``telecom`` domain: a carrier's customers, lines, plans and bills, and the user's own phone.

The agent's tools (this module) follow τ²-bench's ``TelecomTools`` (``src/tau2/domains/telecom/tools.py``);
the user's phone and the functions tasks call on it are in ``telecom_user``. The two sides meet in
``sync_tools``, τ²-bench's ``TelecomEnvironment.sync_tools``: the user's surroundings learn from the line
of the user's phone number whether it is active, may roam and has used up its data, a paid payment
request marks its bill paid, and a bill awaiting payment becomes the user's payment request.

When the sides are synchronised is part of the semantics, as in τ²-bench's ``Environment``:

- ``call`` (a tool call in a conversation, τ²-bench's ``get_response``) synchronises after every call
  that succeeds; ``run_env_function`` (initialisation actions, assertions: ``run_env_function_call``)
  after every function; a toolkit is synchronised when made and at the end of ``apply_initial_state``.
- τ²-bench's evaluator replays a task's gold actions with ``make_tool_call``, which does **not**
  synchronise, and hashes the result: ``call_without_sync`` reproduces that replay, so after an agent's
  ``refuel_data`` the gold user database still says the allowance is used up, and a user's
  ``make_payment`` that follows ``send_payment_request`` finds no payment request. The gold state (what
  ``tau validate --dump-states`` writes, what a DB check compares with) is that replay's (``replay_gold``);
  whether the gold calls satisfy the env assertions is checked on the state a conversation making them
  reaches (``call``), which is what the assertions are written for (telecom's reward is made of them).

τ²-bench behaviour kept on purpose:

- Phone numbers match on their digits alone; names case- and accent-insensitively with the date of
  birth exact; a line's phone number may also be one of the database's ``phone_number_aliases``.
- ``get_details_by_id`` picks the record type from the id's first letter (L, D, B, C, P).
- ``resume_line`` also activates a line pending activation; ``refuel_data`` does not check that the line
  is active; ``send_payment_request`` does not check that the bill is unpaid.
- A one-off charge goes to the customer's first draft bill; without one a draft bill for next month is
  made. τ²-bench names it ``B`` + 8 random hex digits; here the 8 digits come from a uuid5 of the
  customer and the number of bills, so that a replay reaches the same state (no task reaches this case).
- A plain object a tool returns shows its numbers as strings (``"charge": "4.0"``: τ²-bench's
  ``to_json_str`` turns every number outside a data model into its ``str``); records of the data model
  keep theirs.
- Today is 2025-02-25. Dates and times are kept as ISO strings and shown as τ²-bench shows them
  (``str()`` of the Python value: a date-time reads ``2025-01-15 10:30:00``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalharness.adapters.tau.domains._common import TauToolkit, env_function
from evalharness.adapters.tau.domains.retail import fold_for_match
from evalharness.adapters.tau.domains.telecom_user import PaymentRequest, TelecomUserDB, TelecomUserTools
from evalharness.adapters.tau.toolkit import assertion, tool
from evalharness.errors import DataError
from evalharness.tools import ToolError

TODAY = dt.date(2025, 2, 25)
DEFAULT_START_DATE = dt.date(2025, 1, 1)
DRAFT_BILL_NAMESPACE = uuid.UUID("6f1d2a4e-5b7c-4e0a-9c3d-2b1f0e8a7d65")

LineStatus = Literal["Active", "Suspended", "Pending Activation", "Closed"]
BillStatus = Literal["Draft", "Issued", "Awaiting Payment", "Paid", "Overdue", "Disputed"]


class NoExtra(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Plan(NoExtra):
    plan_id: str
    name: str
    data_limit_gb: float
    price_per_month: float
    data_refueling_price_per_gb: float


class Device(NoExtra):
    device_id: str
    device_type: Literal["phone", "router", "tablet", "watch", "other"]
    model: str
    imei: str | None = None
    is_esim_capable: bool
    activated: bool = False
    activation_date: dt.datetime | None = None
    last_esim_transfer_date: dt.datetime | None = None


class Line(NoExtra):
    line_id: str
    phone_number: str
    status: LineStatus = "Pending Activation"
    plan_id: str
    device_id: str | None = None
    data_used_gb: float = 0.0
    data_refueling_gb: float = 0.0
    roaming_enabled: bool = False
    contract_end_date: dt.date | None = None
    last_plan_change_date: dt.date | None = None
    last_sim_replacement_date: dt.date | None = None
    suspension_start_date: dt.date | None = None


class LineItem(NoExtra):
    description: str
    amount: float
    date: dt.date
    item_type: str


class Bill(NoExtra):
    bill_id: str
    customer_id: str
    period_start: dt.date
    period_end: dt.date
    issue_date: dt.date
    total_due: float
    due_date: dt.date
    line_items: list[LineItem] = Field(default_factory=list)
    status: BillStatus = "Draft"


class Address(NoExtra):
    street: str
    city: str
    state: str
    zip_code: str


class PaymentMethod(NoExtra):
    method_type: Literal["Credit Card", "Debit Card", "PayPal"]
    account_number_last_4: str
    expiration_date: str


class Customer(NoExtra):
    customer_id: str
    full_name: str
    date_of_birth: str
    email: str
    phone_number: str
    address: Address
    account_status: Literal["Active", "Suspended", "Pending Verification", "Closed"] = "Pending Verification"
    payment_methods: list[PaymentMethod] = Field(default_factory=list)
    line_ids: list[str] = Field(default_factory=list)
    bill_ids: list[str] = Field(default_factory=list)
    created_at: dt.datetime = DEFAULT_START_DATE  # type: ignore[assignment]  # τ²-bench's default is a date
    last_extension_date: dt.date | None = None
    goodwill_credit_used_this_year: float = 0.0


class TelecomDB(NoExtra):
    plans: list[Plan] = Field(default_factory=list)
    customers: list[Customer] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    bills: list[Bill] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    phone_number_aliases: dict[str, str] = Field(default_factory=dict)


def shown(model: type[BaseModel], record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as τ²-bench returns it: the model's Python values (dates as dates), so the
    rendering shows them with ``str()``."""
    return model.model_validate(record).model_dump()


def phone_digits(phone_number: str) -> str:
    return "".join(ch for ch in phone_number if ch.isdigit())


def first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


class TelecomTools(TauToolkit, TelecomUserTools):
    """The telecom domain's agent tools, with the user's phone of ``TelecomUserTools``."""

    domain = "telecom"
    DB_MODEL = TelecomDB
    USER_DB_MODEL = TelecomUserDB
    DUMP_MODE = "json"

    def __init__(self, db: dict[str, Any], user_db: dict[str, Any] | None = None) -> None:
        super().__init__(db, user_db)
        self.sync_tools()

    @classmethod
    def read_policy(cls, directory: Path) -> str:
        """τ²-bench's telecom policy: the main policy and the tech-support manual, each in its own tag."""
        parts = []
        documents = (("main_policy", "main_policy.md"), ("tech_support_policy", "tech_support_manual.md"))
        for tag, name in documents:
            path = directory / name
            if not path.is_file():
                raise DataError(f"{directory}: no {name} (the telecom policy is main_policy.md and "
                                "tech_support_manual.md)")
            parts.append(f"<{tag}>\n{path.read_text(encoding='utf-8')}\n</{tag}>")
        return "\n".join(parts)

    # --- synchronising the two sides -----------------------------------------------------------------

    def sync_tools(self) -> None:
        """Tell the user's surroundings what the carrier's database says about the user's line and bills."""
        if self.user_db is None or self.surroundings["phone_number"] is None:
            return
        phone_number = self.surroundings["phone_number"]
        line = self._line_by_phone(phone_number)
        plan = self._plan(line["plan_id"])
        allowance = plan["data_limit_gb"] + line["data_refueling_gb"]
        self.surroundings.update(line_active=line["status"] == "Active",
                                 roaming_allowed=bool(line["roaming_enabled"]),
                                 mobile_data_usage_exceeded=line["data_used_gb"] >= allowance)
        request = self.surroundings["payment_request"]
        if request is not None and request["paid"]:
            self._bill(request["bill_id"])["status"] = "Paid"
            self.surroundings["payment_request"] = request = None
        if request is None:
            awaiting = self._bills_awaiting_payment(self._customer_by_phone(phone_number))
            if awaiting:
                request = PaymentRequest(bill_id=awaiting[0]["bill_id"], amount_due=awaiting[0]["total_due"])
                self.surroundings["payment_request"] = request.model_dump(mode="json")

    def call(self, name: str, arguments: dict[str, Any], side: str = "agent") -> str:
        """A tool call in a conversation: the sides are synchronised after a call that succeeds."""
        text = super().call(name, arguments, side)
        try:
            self.sync_tools()
        except Exception as e:  # noqa: BLE001 - τ²-bench answers a failing sync as the call's error
            raise ToolError(str(e)) from None
        return text

    def call_without_sync(self, name: str, arguments: dict[str, Any], side: str = "agent") -> str:
        """A tool call as τ²-bench's evaluator replays gold actions: no synchronisation."""
        return super().call(name, arguments, side)

    gold_replay_is_live = False

    def replay_gold(self, name: str, arguments: dict[str, Any], side: str = "agent") -> str:
        return self.call_without_sync(name, arguments, side)

    def run_env_function(self, env_type: str, func_name: str, arguments: dict[str, Any]) -> Any:
        result = super().run_env_function(env_type, func_name, arguments)
        self.sync_tools()
        return result

    def run_assertion(self, name: str, arguments: dict[str, Any]) -> bool:
        held = super().run_assertion(name, arguments)
        self.sync_tools()
        return held

    def apply_initial_state(self, initial_state: dict[str, Any] | None) -> None:
        super().apply_initial_state(initial_state)
        self.sync_tools()

    # --- look-ups ------------------------------------------------------------------------------------

    def _record(self, table: str, key: str, value: Any, kind: str) -> dict[str, Any]:
        found = next((record for record in self.db[table] if record[key] == value), None)
        if found is None:
            raise ValueError(f"{kind} with ID {value} not found")
        return found

    def _customer(self, customer_id: str) -> dict[str, Any]:
        return self._record("customers", "customer_id", customer_id, "Customer")

    def _line(self, line_id: str) -> dict[str, Any]:
        return self._record("lines", "line_id", line_id, "Line")

    def _plan(self, plan_id: str) -> dict[str, Any]:
        return self._record("plans", "plan_id", plan_id, "Plan")

    def _bill(self, bill_id: str) -> dict[str, Any]:
        return self._record("bills", "bill_id", bill_id, "Bill")

    def _customer_by_phone(self, phone_number: str) -> dict[str, Any]:
        wanted = phone_digits(phone_number)
        if wanted:
            for customer in self.db["customers"]:
                if phone_digits(customer["phone_number"]) == wanted:
                    return customer
                for line_id in customer["line_ids"]:
                    if phone_digits(self._line(line_id)["phone_number"]) == wanted:
                        return customer
        raise ValueError(f"Customer with phone number {phone_number} not found")

    def _line_by_phone(self, phone_number: str) -> dict[str, Any]:
        wanted = phone_digits(phone_number)
        wanted = next((phone_digits(canonical) for alias, canonical in self.db["phone_number_aliases"].items()
                       if phone_digits(alias) == wanted), wanted)
        for line in self.db["lines"]:
            if wanted and phone_digits(line["phone_number"]) == wanted:
                return line
        raise ValueError(f"Line with phone number {phone_number} not found")

    def _target_line(self, customer_id: str, line_id: str) -> dict[str, Any]:
        """A line of a customer's (the customer must exist and own it)."""
        if line_id not in self._customer(customer_id)["line_ids"]:
            raise ValueError(f"Line {line_id} not found for customer {customer_id}")
        return self._line(line_id)

    def _bills_awaiting_payment(self, customer: dict[str, Any]) -> list[dict[str, Any]]:
        bills = [self._bill(bill_id) for bill_id in customer["bill_ids"]]
        return [bill for bill in bills if bill["status"] == "Awaiting Payment"]

    # --- customers -----------------------------------------------------------------------------------

    @tool("read")
    def get_customer_by_phone(self, phone_number: str) -> dict[str, Any]:
        """Find the customer whose contact number, or one of whose lines, is this phone number.

        Args:
            phone_number: The phone number, in any format.
        """
        return shown(Customer, self._customer_by_phone(phone_number))

    @tool("read")
    def get_customer_by_id(self, customer_id: str) -> dict[str, Any]:
        """Look up a customer by customer id.

        Args:
            customer_id: The customer's id, such as C1001.
        """
        return shown(Customer, self._customer(customer_id))

    @tool("read")
    def get_customer_by_name(self, full_name: str, dob: str) -> list[dict[str, Any]]:
        """Find the customers with this full name and date of birth (there may be several).

        Args:
            full_name: The customer's full name.
            dob: The date of birth, as YYYY-MM-DD.
        """
        wanted = fold_for_match(full_name)
        return [shown(Customer, customer) for customer in self.db["customers"]
                if fold_for_match(customer["full_name"]) == wanted and customer["date_of_birth"] == dob]

    @tool("read")
    def get_details_by_id(self, id: str) -> dict[str, Any]:  # noqa: A002 - the argument's name in τ²-bench
        """Look up a line, device, bill, customer or plan by its id (its first letter says which: L, D, B,
        C, P).

        Args:
            id: The id of the record.
        """
        kinds = {"L": ("lines", "line_id", "Line", Line), "D": ("devices", "device_id", "Device", Device),
                 "B": ("bills", "bill_id", "Bill", Bill),
                 "C": ("customers", "customer_id", "Customer", Customer),
                 "P": ("plans", "plan_id", "Plan", Plan)}
        if not id.startswith(tuple(kinds)):
            raise ValueError(f"Unknown ID format or type: {id}")
        table, key, name, model = kinds[id[0]]
        return shown(model, self._record(table, key, id, name))

    # --- lines ---------------------------------------------------------------------------------------

    @tool("write")
    def suspend_line(self, customer_id: str, line_id: str, reason: str) -> dict[str, Any]:
        """Suspend an active line (for at most 6 months; a $5 monthly holding fee applies).

        Args:
            customer_id: The id of the customer who owns the line.
            line_id: The id of the line.
            reason: Why the line is suspended.
        """
        line = self._target_line(customer_id, line_id)
        if line["status"] != "Active":
            raise ValueError("Line must be active to suspend")
        line.update(status="Suspended", suspension_start_date=TODAY.isoformat())
        return {"message": "Line suspended successfully. $5/month holding fee will apply.",
                "line": shown(Line, line)}

    @tool("write")
    def resume_line(self, customer_id: str, line_id: str) -> dict[str, Any]:
        """Reactivate a suspended line (or one pending activation).

        Args:
            customer_id: The id of the customer who owns the line.
            line_id: The id of the line.
        """
        line = self._target_line(customer_id, line_id)
        if line["status"] not in ("Suspended", "Pending Activation"):
            raise ValueError("Line must be suspended to resume")
        line.update(status="Active", suspension_start_date=None)
        return {"message": "Line resumed successfully", "line": shown(Line, line)}

    @tool("read")
    def get_data_usage(self, customer_id: str, line_id: str) -> dict[str, Any]:
        """A line's data use this billing cycle, its plan's allowance, the data refuelled and when the cycle
        ends.

        Args:
            customer_id: The id of the customer who owns the line.
            line_id: The id of the line.
        """
        line = self._target_line(customer_id, line_id)
        plan = self._plan(line["plan_id"])
        return {"line_id": line_id, "data_used_gb": str(line["data_used_gb"]),
                "data_limit_gb": str(plan["data_limit_gb"]),
                "data_refueling_gb": str(line["data_refueling_gb"]),
                "cycle_end_date": (first_of_next_month(TODAY) - dt.timedelta(days=1)).isoformat()}

    @tool("write")
    def enable_roaming(self, customer_id: str, line_id: str) -> str:
        """Allow international roaming on a line.

        Args:
            customer_id: The id of the customer who owns the line.
            line_id: The id of the line.
        """
        line = self._target_line(customer_id, line_id)
        if line["roaming_enabled"]:
            return "Roaming was already enabled"
        line["roaming_enabled"] = True
        return "Roaming enabled successfully"

    @tool("write")
    def disable_roaming(self, customer_id: str, line_id: str) -> str:
        """Stop international roaming on a line.

        Args:
            customer_id: The id of the customer who owns the line.
            line_id: The id of the line.
        """
        line = self._target_line(customer_id, line_id)
        if not line["roaming_enabled"]:
            return "Roaming was already disabled"
        line["roaming_enabled"] = False
        return "Roaming disabled successfully"

    @tool("write")
    def refuel_data(self, customer_id: str, line_id: str, gb_amount: float) -> dict[str, Any]:
        """Add data to a line for this cycle, charged at the plan's refuelling price on the next bill.

        Args:
            customer_id: The id of the customer who owns the line.
            line_id: The id of the line.
            gb_amount: How many gigabytes to add.
        """
        line = self._target_line(customer_id, line_id)
        if gb_amount <= 0:
            raise ValueError("Refuel amount must be positive")
        plan = self._plan(line["plan_id"])
        price = plan["data_refueling_price_per_gb"]
        charge = gb_amount * price
        line["data_refueling_gb"] += gb_amount
        self._apply_one_time_charge(customer_id, charge, f"Data refueling: {gb_amount} GB at ${price}/GB")
        return {"message": f"Successfully added {gb_amount} GB of data for line {line_id} for ${charge:.2f}",
                "new_data_refueling_gb": str(line["data_refueling_gb"]), "charge": str(charge)}

    def _apply_one_time_charge(self, customer_id: str, amount: float, description: str) -> None:
        customer = self._customer(customer_id)
        bills = [self._bill(bill_id) for bill_id in customer["bill_ids"]]
        draft = next((bill for bill in bills if bill["status"] == "Draft"), None)
        if draft is None:
            draft = self._new_draft_bill(customer)
        item = LineItem(description=description, amount=amount, date=TODAY,
                        item_type="Credit" if amount < 0 else "Charge")
        draft["line_items"].append(item.model_dump(mode="json"))
        draft["total_due"] += amount

    def _new_draft_bill(self, customer: dict[str, Any]) -> dict[str, Any]:
        start = first_of_next_month(TODAY)
        seed = f"{customer['customer_id']}:{len(self.db['bills'])}"
        suffix = uuid.uuid5(DRAFT_BILL_NAMESPACE, seed).hex[:8]
        bill = Bill(bill_id=f"B{suffix}", customer_id=customer["customer_id"], period_start=start,
                    period_end=first_of_next_month(start) - dt.timedelta(days=1), issue_date=start,
                    total_due=0, due_date=start + dt.timedelta(days=14), status="Draft").model_dump(mode="json")
        self.db["bills"].append(bill)
        customer["bill_ids"].append(bill["bill_id"])
        return bill

    # --- bills ---------------------------------------------------------------------------------------

    @tool("read")
    def get_bills_for_customer(self, customer_id: str, limit: int = 12) -> list[dict[str, Any]]:
        """A customer's bills, newest first.

        Args:
            customer_id: The customer's id.
            limit: At most this many bills.
        """
        bills = [self._bill(bill_id) for bill_id in self._customer(customer_id)["bill_ids"]]
        bills.sort(key=lambda bill: bill["issue_date"], reverse=True)
        return [shown(Bill, bill) for bill in bills[:limit]]

    @tool("write")
    def send_payment_request(self, customer_id: str, bill_id: str) -> str:
        """Ask the customer to pay a bill (only one bill may await payment at a time; check first that the
        bill is not paid already).

        Args:
            customer_id: The id of the customer who owns the bill.
            bill_id: The id of the bill.
        """
        customer = self._customer(customer_id)
        if self._bills_awaiting_payment(customer):
            raise ValueError("A bill is already awaiting payment for this customer")
        if bill_id not in customer["bill_ids"]:
            raise ValueError(f"Bill {bill_id} not found for customer {customer_id}")
        self._bill(bill_id)["status"] = "Awaiting Payment"
        return f"Payment request sent to the customer for bill {bill_id}"

    @tool("generic")
    def transfer_to_human_agents(self, summary: str) -> str:
        """Hand the conversation to a human agent with a summary of the user's issue. Only transfer when the
        user explicitly asks for a human, or when the policy and the tools give no way to solve the issue.

        Args:
            summary: A short summary of the user's issue.
        """
        return "Transfer successful"

    # --- scenario set-up -----------------------------------------------------------------------------

    @env_function("assistant")
    def set_data_usage(self, customer_id: str, line_id: str, data_used_gb: float) -> str:
        """Set how much data a line has used this cycle."""
        self._target_line(customer_id, line_id)["data_used_gb"] = data_used_gb
        return f"Data usage set to {data_used_gb} GB for line {line_id}"

    @env_function("assistant")
    def suspend_line_for_overdue_bill(self, customer_id: str, line_id: str, new_bill_id: str,
                                      contract_ended: bool) -> str:
        """Suspend an active line for last month's unpaid bill (a new overdue bill of the plan's price)."""
        line = self._line(line_id)
        if line["status"] != "Active":
            raise ValueError("Line must be active to suspend for unpaid bill")
        amount = self._plan(line["plan_id"])["price_per_month"]
        if amount <= 0:
            raise ValueError("Amount must be positive for overdue bill")
        customer = self._customer(customer_id)
        if any(self._bill(bill_id)["status"] == "Overdue"
               for bill_id in customer["bill_ids"]):
            raise ValueError("Customer already has an overdue bill")
        last_month_end = TODAY.replace(day=1) - dt.timedelta(days=1)
        last_month_start = last_month_end.replace(day=1)
        item = LineItem(description=f"Charge for line {line_id}", amount=amount, date=TODAY,
                        item_type="Charge")
        bill = Bill(bill_id=new_bill_id, customer_id=customer_id, period_start=last_month_start,
                    period_end=last_month_end, issue_date=last_month_start, total_due=0,
                    due_date=last_month_start + dt.timedelta(days=14),
                    status="Overdue").model_dump(mode="json")
        bill["line_items"].append(item.model_dump(mode="json"))
        bill["total_due"] += amount
        self.db["bills"].append(bill)
        customer["bill_ids"].append(new_bill_id)
        line.update(status="Suspended", suspension_start_date=TODAY.isoformat())
        if contract_ended:
            line["contract_end_date"] = last_month_end.isoformat()
        return f"Line {line_id} suspended for unpaid bill {new_bill_id}. Contract ended: {contract_ended}"

    # --- assertions ----------------------------------------------------------------------------------

    @assertion
    @env_function("assistant")
    def assert_data_refueling_amount(self, customer_id: str, line_id: str, expected_amount: float) -> bool:
        """Whether a line's refuelled data is the expected amount."""
        return abs(self._target_line(customer_id, line_id)["data_refueling_gb"] - expected_amount) < 1e-6

    @assertion
    @env_function("assistant")
    def assert_line_status(self, customer_id: str, line_id: str, expected_status: str) -> bool:
        """Whether a line has the expected status."""
        return self._target_line(customer_id, line_id)["status"] == expected_status

    @assertion
    @env_function("assistant")
    def assert_overdue_bill_exists(self, customer_id: str, overdue_bill_id: str) -> bool:
        """That a customer has this overdue bill (an error otherwise)."""
        if overdue_bill_id not in self._customer(customer_id)["bill_ids"]:
            raise ValueError(f"Overdue bill {overdue_bill_id} not found")
        if self._bill(overdue_bill_id)["status"] != "Overdue":
            raise ValueError(f"Overdue bill {overdue_bill_id} is not overdue")
        return True

    @assertion
    @env_function("assistant")
    def assert_no_overdue_bill(self, overdue_bill_id: str) -> bool:
        """Whether the bill is gone or paid."""
        bill = next((bill for bill in self.db["bills"] if bill["bill_id"] == overdue_bill_id), None)
        return bill is None or bill["status"] == "Paid"
