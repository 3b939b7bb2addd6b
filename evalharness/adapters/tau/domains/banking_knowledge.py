"""τ²-bench's ``banking_knowledge`` domain (τ-Knowledge): a bank's customer service over one database that
both sides act on.

The agent's tools and discoverable tools are in ``banking_agent`` and ``banking_discoverable``; here are the
customer's (``KnowledgeUserTools`` in τ²-bench) and the toolkit that joins them. As there:

- The customer's tools act on the bank's database (there is no separate user database); which of them a
  customer has is the task's ``user_tools`` (all of them when a task does not say).
- A discoverable tool of the customer can be used only once the agent gave it
  (``give_discoverable_user_tool``), through ``call_discoverable_user_tool``; each use is logged.
- A task's gold trajectory decides which discoverable reads are logged (``prepare_for_task``).

The agent's policy is the domain's policy header; the knowledge base and the retrieval configurations are
served by the harness beside these tools.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from evalharness.adapters.tau.domains.banking_agent import (
    TODAY,
    BankData,
    KnowledgeTools,
    account_balance,
    discoverable,
    dispute_id,
    executed,
    found,
    hex_id,
    transaction_id,
)
from evalharness.adapters.tau.domains.banking_discoverable import AgentDiscoverableTools
from evalharness.adapters.tau.toolkit import user_tool
from evalharness.errors import DataError

CREDIT_CARD_TYPES = ["Bronze Rewards Card", "Business Bronze Rewards Card", "Business Gold Rewards Card",
                     "Business Platinum Rewards Card", "Business Silver Rewards Card", "Crypto-Cash Back",
                     "Diamond Elite Card", "EcoCard", "Gold Rewards Card", "Green Rewards Card",
                     "Platinum Rewards Card", "Silver Rewards Card", "Silver Zoom Card"]

# reward rate in percent by card type and category ("default" for any other category)
CARD_REWARDS: dict[str, dict[str, float]] = {
    "Bronze Rewards Card": {"default": 1.0},
    "Silver Rewards Card": {"Travel": 4.0, "Software": 4.0, "default": 1.0},
    "Gold Rewards Card": {"default": 2.5},
    "Platinum Rewards Card": {"default": 10.0},
    "Business Bronze Rewards Card": {"default": 1.0},
    "Business Silver Rewards Card": {"Travel": 10.0, "Software": 10.0, "default": 1.0},
    "Green Rewards Card": {"Sustainable": 3.0, "default": 1.0},
    "Business Gold Rewards Card": {"Operations": 2.5, "default": 1.0},
    "Business Platinum Rewards Card": {"Travel": 4.0, "Software": 4.0, "Media": 4.0, "default": 1.5},
    "Silver Zoom Card": {"Transportation": 3.0, "default": 1.0},
    "Diamond Elite Card": {"default": 5.0},
    "EcoCard": {"Green": 5.0, "default": 1.0},
    "Crypto-Cash Back": {"default": 2.0},
}

POLICY_FILE = Path("prompts") / "components" / "policy_header.md"


class NoUserDB(BaseModel):
    """The customer has no database of their own: this empty one keeps the harness's user side on."""


class KnowledgeUserTools(BankData):
    """The customer's tools and discoverable tools (named as τ²-bench's class, for the same reason)."""

    def _not_given(self, name: str) -> str | None:
        if "No records found" in self.query("user_discoverable_tools", "tool_name", name):
            return (f"Error: Tool '{name}' has not been given to you by the agent. "
                    f"The agent must first use `give_discoverable_user_tool` to give this tool to you.")
        return None

    def _log_use(self, name: str, arguments: dict[str, Any]) -> None:
        call_id = hex_id(f"user_discoverable_tool_call:{name}:{json.dumps(arguments, sort_keys=True)}")
        self.add("user_discoverable_tool_calls", call_id,
                 {"tool_name": name, "arguments": arguments, "called_at": TODAY, "status": "CALLED"})

    # --- discoverable ---------------------------------------------------------------------------------

    @discoverable("user", "write")
    def submit_cash_back_dispute_0589(self, user_id: str, transaction_id: str) -> str:
        """Dispute the cash back of one transaction.

        Args:
            user_id (string): Your user id
            transaction_id (string): The transaction whose cash back is wrong
        """
        refused = self._not_given("submit_cash_back_dispute_0589")
        if refused:
            return refused
        arguments = {"user_id": user_id, "transaction_id": transaction_id}
        self._log_use("submit_cash_back_dispute_0589", arguments)
        new_id = dispute_id(user_id, transaction_id)
        settings = self.table("task_config").get("dispute_settings", {})
        record = {"dispute_id": new_id, "user_id": user_id, "transaction_id": transaction_id, "submitted_at": TODAY}
        if settings.get("auto_resolve_disputes", False):
            record.update(status="RESOLVED", resolution="APPROVED")
            status = ("Status: RESOLVED - The dispute has been reviewed and approved. The transaction rewards need to "
                      "be updated.")
        else:
            record["status"] = "SUBMITTED"
            status = "Status: SUBMITTED - Your dispute has been queued for review."
        added = self.add("cash_back_disputes", new_id, record)
        text = ("Cash back dispute submitted successfully. Your case has been queued for review.\n\n"
                + executed("submit_cash_back_dispute_0589", arguments))
        return text + (f"Dispute ID: {new_id}\n{status}" if added
                       else "Note: Dispute may have already been submitted for this transaction.")

    @discoverable("user", "write")
    def get_referral_link(self, user_id: str, card_name: str) -> str:
        """Make a referral link for a credit card.

        Args:
            user_id (string): Your user id (the referrer)
            card_name (string): The credit card, e.g. 'Gold Rewards Card'
        """
        refused = self._not_given("get_referral_link")
        if refused:
            return refused
        arguments = {"user_id": user_id, "card_name": card_name}
        self._log_use("get_referral_link", arguments)
        referral_id = hex_id(f"referral_link:{user_id}:{card_name}")
        added = self.add("referrals", referral_id, {"referral_id": referral_id, "referrer_id": user_id,
                                                    "referred_account_type": card_name,
                                                    "referral_status": "NO_PROGRESS", "date": TODAY})
        text = ("Referral link generated successfully. Share this link with the person you want to refer.\n\n"
                + executed("get_referral_link", arguments))
        return text + (f"Referral ID: {referral_id}\nReferral link: https://rhobank.com/refer/{referral_id}" if added
                       else "Note: A referral link for this card may have already been generated.")

    @discoverable("user", "read")
    def get_card_last_4_digits(self, credit_card_account_id: str) -> str:
        """Read the last 4 digits of one of your credit cards.

        Args:
            credit_card_account_id (string): The credit card account, e.g. 'cc_76ad9cc60e_gold'
        """
        refused = self._not_given("get_card_last_4_digits")
        if refused:
            return refused
        arguments = {"credit_card_account_id": credit_card_account_id}
        self._log_use("get_card_last_4_digits", arguments)
        if self.missing("credit_card_accounts", credit_card_account_id):
            return f"Error: Credit card account '{credit_card_account_id}' not found."
        digest = hashlib.sha256(f"card_last4:{credit_card_account_id}".encode()).hexdigest()
        last4 = "".join(c for c in digest if c.isdigit())[:4].ljust(4, "0")
        return ("Card information retrieved successfully.\n\n" + executed("get_card_last_4_digits", arguments)
                + f"Last 4 digits of card: {last4}")

    @discoverable("user", "write")
    def deposit_check_3847(self, account_id: str, check_amount: float) -> str:
        """Deposit a check into one of your bank accounts from the mobile app.

        Args:
            account_id (string): The bank account
            check_amount (number): The check's amount in dollars
        """
        refused = self._not_given("deposit_check_3847")
        if refused:
            return refused
        arguments = {"account_id": account_id, "check_amount": check_amount}
        self._log_use("deposit_check_3847", arguments)
        try:
            amount = float(check_amount)
        except (ValueError, TypeError):
            return f"Error: Invalid check amount '{check_amount}'. Must be a number."
        if amount <= 0:
            return "Error: Check amount must be positive."
        account = self.table("accounts").get(account_id)
        if account is None:
            return f"Error: Account '{account_id}' not found."
        if account.get("status") not in ("ACTIVE", "OPEN"):
            return f"Error: Account '{account_id}' is not active."
        before = account_balance(account)
        account["current_holdings"] = f"${before + amount:.2f}"
        return ("Check deposited successfully. Funds will be available according to your account's deposit policy."
                f"\n\n{executed('deposit_check_3847', arguments)}Check deposit processed!\n  - Account: {account_id}\n"
                f"  - Check Amount: ${amount:.2f}\n  - Previous Balance: ${before:.2f}\n"
                f"  - New Balance: ${before + amount:.2f}")

    # --- tools ----------------------------------------------------------------------------------------

    @user_tool("write")
    def apply_for_credit_card(self, card_type: str, customer_name: str, annual_income: float,
                              rho_bank_subscription: bool = False) -> str:
        """Apply for a credit card.

        Args:
            card_type: The credit card.
            customer_name: Your full legal name.
            annual_income: Your yearly income in dollars.
            rho_bank_subscription: Whether you have a Rho-Bank+ subscription.
        """
        if card_type not in CREDIT_CARD_TYPES:
            return f"Error: Invalid card_type '{card_type}'. Must be one of: {CREDIT_CARD_TYPES}"
        try:
            income = float(annual_income)
        except (TypeError, ValueError):
            return "Error: Invalid annual_income. Must be a number."
        application_id = hex_id(f"credit_card:{card_type}:{customer_name}:{income}:{rho_bank_subscription}")
        record = {"application_id": application_id, "card_type": card_type, "customer_name": customer_name,
                  "annual_income": income, "rho_bank_subscription": rho_bank_subscription, "status": "PENDING",
                  "date": TODAY}
        if not self.add("credit_card_applications", application_id, record):
            return f"Failed to submit application: Record ID '{application_id}' may already exist."
        return ("Credit card application submitted:\nYour application has been successfully submitted. "
                "You will receive a decision within 5-7 business days via email.")

    @user_tool("write")
    def submit_referral(self, user_id: str, account_type: str) -> str:
        """Refer someone to open an account.

        Args:
            user_id: Your user id (the referrer).
            account_type: The account you refer them to.
        """
        referral_id = hex_id(f"referral:{user_id}:{account_type}")
        record = {"referral_id": referral_id, "referrer_id": user_id, "referred_account_type": account_type,
                  "referral_status": "NO_PROGRESS", "date": TODAY}
        if not self.add("referrals", referral_id, record):
            return f"Failed to submit referral: Record ID '{referral_id}' may already exist."
        return (f"Referral request submitted successfully!\n  - Referral ID: {referral_id}\n  - Referrer ID: {user_id}\n"
                f"  - Account Type: {account_type}\n  - Status: NO_PROGRESS\n  - Date: {TODAY}\n\n"
                "Share your referral ID with the person you're referring. They will need to use this when applying "
                "for their account.")

    @user_tool("write")
    def call_discoverable_user_tool(self, discoverable_tool_name: str, arguments: str = "{}") -> str:
        """Use a tool the agent gave you.

        Args:
            discoverable_tool_name: The tool's name.
            arguments: The tool's arguments as a JSON object in a string.
        """
        fn = self.discoverables("user").get(discoverable_tool_name)
        if fn is None:
            return f"Error: Unknown discoverable tool '{discoverable_tool_name}'."
        try:
            given = json.loads(arguments, parse_int=float)
        except json.JSONDecodeError as e:
            return f"Error: Invalid JSON in arguments: {e}"
        parameters = inspect.signature(fn).parameters
        for name, parameter in parameters.items():
            if name != "self" and parameter.default is inspect.Parameter.empty and name not in given:
                return f"Error: Missing required parameter: {name}"
        for name in given:
            if name not in parameters:
                return f"Error: Unexpected parameter: {name}"
        try:
            return fn(self, **given)
        except TypeError as e:
            return f"Error: Invalid arguments for tool '{discoverable_tool_name}': {e}"

    @user_tool("read")
    def list_discoverable_user_tools(self) -> str:
        """The tools the agent has given you."""
        result = self.query_text("user_discoverable_tools", "{}")
        if "No results found" in result:
            return "No tools have been given to you yet by the agent."
        return f"Tools given to you by the agent:\n{result}"

    @user_tool("write")
    def request_human_agent_transfer(self) -> str:
        """Ask to speak with a human agent; every request is recorded."""
        existing = self.query_text("human_transfer_requests", "{}")
        count = existing.count("request_id") + 1 if found(existing) else 1
        request_id = f"transfer_request_{count}"
        self.add("human_transfer_requests", request_id, {"request_id": request_id, "request_number": count,
                                                         "requested_at": TODAY, "status": "PENDING"})
        return f"Transfer request #{count} submitted.\nThe agent will process your request."

    @user_tool("write")
    def submit_transaction(self, user_id: str, credit_card_type: str, merchant_name: str, amount: float,
                           category: str) -> str:
        """Record a purchase with one of your credit cards.

        Args:
            user_id: Your user id.
            credit_card_type: The card used, e.g. "Gold Rewards Card".
            merchant_name: Where you bought.
            amount: The amount in dollars, e.g. 127.43.
            category: The purchase's category, e.g. "Travel" or "Dining".
        """
        if credit_card_type not in CARD_REWARDS:
            return f"Error: Unknown credit card type '{credit_card_type}'. Available types: {list(CARD_REWARDS)}"
        try:
            amount = float(amount)
        except (ValueError, TypeError):
            return f"Error: Invalid amount '{amount}'. Must be a number."
        txn = transaction_id(user_id, credit_card_type, merchant_name, amount, category)
        rates = CARD_REWARDS[credit_card_type]
        rate = rates.get(category, rates["default"])
        points = int(amount * rate)
        record = {"transaction_id": txn, "user_id": user_id, "credit_card_type": credit_card_type,
                  "merchant_name": merchant_name, "transaction_amount": f"${amount:.2f}", "transaction_date": TODAY,
                  "category": category, "status": "COMPLETED", "rewards_earned": f"{points} points"}
        if not self.add("credit_card_transaction_history", txn, record):
            return f"Failed to submit transaction: Record ID '{txn}' may already exist."
        return (f"Transaction submitted successfully!\n  - Transaction ID: {txn}\n  - User ID: {user_id}\n"
                f"  - Card Type: {credit_card_type}\n  - Merchant: {merchant_name}\n  - Amount: ${amount:.2f}\n"
                f"  - Category: {category}\n  - Date: {TODAY}\n"
                f"  - Rewards Earned: {points} points ({rate}% cashback rate)\n")


class BankingKnowledgeTools(KnowledgeUserTools, AgentDiscoverableTools, KnowledgeTools):
    """Both sides of the ``banking_knowledge`` domain over one database."""

    domain = "banking_knowledge"
    USER_DB_MODEL = NoUserDB
    # tools the agent's replay must re-run although they are not writes (they change what later calls do)
    STATEFUL_GENERIC: ClassVar[frozenset[str]] = frozenset({"give_discoverable_user_tool",
                                                            "unlock_discoverable_agent_tool"})

    def __init__(self, db: dict[str, Any], user_db: dict[str, Any] | None = None) -> None:
        super().__init__(db, {} if user_db is None else user_db)
        self.offered_user_tools: list[str] | None = None

    @classmethod
    def read_policy(cls, directory: Path) -> str:
        path = directory / POLICY_FILE
        if not path.is_file():
            raise DataError(f"{directory}: no {POLICY_FILE}")
        return path.read_text(encoding="utf-8")

    @classmethod
    def is_mutating(cls, name: str, side: str = "agent") -> bool:
        return super().is_mutating(name, side) or (side == "agent" and name in cls.STATEFUL_GENERIC)

    @classmethod
    def discoverable_names(cls, side: str) -> list[str]:
        return sorted(cls.discoverables(side))

    @classmethod
    def action_argument_problems(cls, action: dict[str, Any]) -> list[str]:
        """A gold action naming a discoverable tool that does not exist (its replay would answer an error and
        the task would ask for nothing): ``<field>: <problem>`` for each."""
        fields = {"call_discoverable_agent_tool": ("agent_tool_name", "agent"),
                  "unlock_discoverable_agent_tool": ("agent_tool_name", "agent"),
                  "give_discoverable_user_tool": ("discoverable_tool_name", "user"),
                  "call_discoverable_user_tool": ("discoverable_tool_name", "user")}
        if action["name"] not in fields:
            return []
        field, side = fields[action["name"]]
        named = (action.get("arguments") or {}).get(field)
        if named in cls.discoverables(side):
            return []
        return [f"arguments.{field}: {named!r} is not a discoverable tool of the {side} in domain {cls.domain} "
                f"(they are: {', '.join(cls.discoverable_names(side))})"]

    def prepare_for_task(self, task: dict[str, Any]) -> None:
        """τ³-bench 1.0.1: the reads the gold trajectory makes through ``call_discoverable_agent_tool`` are
        the ones logged; and the customer gets the task's ``user_tools``."""
        actions = (task.get("evaluation_criteria") or {}).get("actions") or []
        self.read_log_allowlist = {str(a["arguments"]["agent_tool_name"]) for a in actions
                                   if a.get("name") == "call_discoverable_agent_tool"
                                   and isinstance(a.get("arguments"), dict)
                                   and a["arguments"].get("agent_tool_name")}
        self.offered_user_tools = self.user_tools_of(task)

    @classmethod
    def user_tools_of(cls, task: dict[str, Any]) -> list[str] | None:
        """The customer's tools a task gives it (None: all of them)."""
        return task.get("user_tools")
