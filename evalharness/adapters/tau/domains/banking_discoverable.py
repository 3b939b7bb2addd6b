"""The agent's discoverable tools of τ²-bench's ``banking_knowledge`` domain: unlocked by name, called through
``call_discoverable_agent_tool``. Semantics, texts and checks as τ²-bench's (see ``banking_agent``); the
docstrings are this project's own and say only what a tool does and what its arguments are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evalharness.adapters.tau.domains.banking_agent import (
    TODAY,
    BankData,
    account_balance,
    cli_request_id,
    days_since,
    discoverable,
    dispute_id,
    executed,
    format_records,
    found,
    hex_id,
    history,
    parse_dollars,
    titled,
    transaction_id,
)

CC_DISPUTE_REASONS = ["unauthorized_fraudulent_charge", "duplicate_charge", "incorrect_amount",
                      "goods_services_not_received", "goods_services_not_as_described",
                      "canceled_subscription_still_charging", "refund_never_processed"]
DEBIT_DISPUTE_CATEGORIES = ["unauthorized_transaction", "atm_cash_discrepancy", "atm_deposit_not_credited",
                            "duplicate_charge", "incorrect_amount", "goods_services_not_received",
                            "recurring_charge_after_cancellation", "card_present_fraud", "card_not_present_fraud"]
DEBIT_TRANSACTION_TYPES = ["pin_purchase", "signature_purchase", "online_purchase", "atm_withdrawal", "atm_deposit",
                           "recurring_payment", "person_to_person"]
FRAUD_CATEGORIES = ("unauthorized_transaction", "card_present_fraud", "card_not_present_fraud")
STATEMENT_CREDIT_REASONS = ["goodwill_adjustment", "promotional_credit", "annual_fee_reversal", "late_fee_reversal",
                            "interest_charge_reversal", "dispute_resolution", "price_match", "retention_offer",
                            "error_correction", "other"]
CLI_DENIAL_REASONS = ["insufficient_account_age", "cooldown_period_active", "pending_disputes",
                      "pending_replacement_card", "past_due_balance", "high_utilization",
                      "insufficient_payment_history", "requested_amount_exceeds_limit", "other"]
# early closure: (fee, window in days) by account level
CHECKING_EARLY_CLOSURE = {"Light Blue Account": (15, 30), "Light Green Account": (15, 30),
                          "Green Fee-Free Account": (15, 30), "Blue Account": (25, 60), "Green Account": (25, 60),
                          "Evergreen Account": (50, 90), "Bluest Account": (100, 180)}
SAVINGS_EARLY_CLOSURE = {"Bronze Account": (20, 60), "Silver Account": (35, 90), "Silver Plus Account": (35, 90),
                         "Gold Account": (75, 180), "Gold Plus Account": (75, 180), "Gold Years Account": (75, 180),
                         "Platinum Account": (150, 270), "Platinum Plus Account": (150, 270),
                         "Diamond Elite Account": (150, 270)}
DEFAULT_ATM_LIMITS = {"blue account": 500, "green account": 600, "light blue account": 400,
                      "green fee-free account": 500, "evergreen account": 750, "bluest account": 1500,
                      "dark green account": 300, "gold years account": 600, "purple account": 1000}
ACTIVATION_TOOL_BY_REASON = {"new_account": "activate_debit_card_8291", "first_card": "activate_debit_card_8291",
                             "lost": "activate_debit_card_8292", "stolen": "activate_debit_card_8292",
                             "fraud": "activate_debit_card_8292", "expired": "activate_debit_card_8293",
                             "damaged": "activate_debit_card_8293", "upgrade": "activate_debit_card_8293",
                             "bank_reissue": "activate_debit_card_8293"}
SEQUENTIAL_PINS = {"0123", "1234", "2345", "3456", "4567", "5678", "6789", "9876", "8765", "7654", "6543", "5432",
                   "4321", "3210"}


def pin_problem(pin: Any) -> str | None:
    if not pin or not pin.isdigit() or len(pin) != 4:
        return "PIN must be exactly 4 digits."
    if pin in SEQUENTIAL_PINS:
        return "PIN cannot be sequential (e.g., 1234). Please choose a more secure PIN."
    if len(set(pin)) == 1:
        return "PIN cannot be all the same digit (e.g., 1111). Please choose a more secure PIN."
    return None


def positive_number(value: Any, invalid: str, not_positive: str) -> float | str:
    """An amount argument as a float, or the tool's error text when it is not a number or not above 0."""
    try:
        number = float(value)
    except (ValueError, TypeError):
        return invalid
    return not_positive if number <= 0 else number


def status_change_problem(card_id: str, card: dict[str, Any], required: str, target: str, verb: str) -> str | None:
    """Why a debit card cannot go from status ``required`` to ``target`` (``verb`` names the change in the
    message); None when it can."""
    status = card.get("status")
    if status == target:
        return f"Error: Debit card '{card_id}' is already {target.lower()}."
    if status != required:
        return (f"Error: Debit card '{card_id}' cannot be {verb}. Current status: {status}. Only {required} cards "
                f"can be {verb}.")
    return None


@dataclass(frozen=True)
class HistoryRead:
    """A discoverable read listing the records of one table whose ``field`` equals the tool's one argument
    (named as the field)."""

    table: str
    field: str
    title: str
    heading: str  # ``{}`` stands for the argument
    empty: str


HISTORY_READS = {
    "get_user_dispute_history_7291": HistoryRead(
        "transaction_disputes", "user_id", "User transaction dispute history retrieved successfully.",
        "Transaction dispute history for user {}:", "\nNo transaction disputes found for this user."),
    "get_debit_dispute_status_7483": HistoryRead(
        "debit_card_disputes", "user_id", "Debit card dispute history retrieved successfully.",
        "Debit card dispute history for user {}:", "\nNo debit card disputes found for this user."),
    "get_pending_replacement_orders_5765": HistoryRead(
        "credit_card_orders", "credit_card_account_id", "Pending replacement orders check completed.",
        "Replacement orders for credit card account {}:",
        "\nNo pending replacement orders found for this credit card account."),
    "get_closure_reason_history_8293": HistoryRead(
        "credit_card_closure_reasons", "credit_card_account_id", "Closure reason history retrieved successfully.",
        "Closure reason history for credit card account {}:",
        "\nNo closure reason records found for this credit card account."),
    "get_credit_limit_increase_history_4829": HistoryRead(
        "credit_limit_increase_requests", "credit_card_account_id", "Credit limit increase history retrieved.",
        "Credit limit increase history for account {}:", "\nNo credit limit increase requests found for this account."),
}


class AgentDiscoverableTools(BankData):
    """Mixed into the agent's toolkit: every method here is a discoverable tool of the agent."""

    def _history_read(self, name: str, value: str) -> str:
        read = HISTORY_READS[name]
        if not value:
            return f"Error: Missing required parameter: {read.field}"
        return history(read.title, name, read.heading.format(value), self.query(read.table, read.field, value),
                       read.empty)

    def _owner_problem(self, name: str, record_id: str, user_id: str, label: str) -> str | None:
        """The record is missing or is not the customer's (``label`` names the record in the message)."""
        records = self.table(name)
        if record_id not in records:
            return f"Error: {label} '{record_id}' not found."
        if records[record_id].get("user_id") != user_id:
            return f"Error: {label} '{record_id}' does not belong to user '{user_id}'."
        return None

    def _card_change_problem(self, card_id: str, required: str, target: str, verb: str) -> str | None:
        if not card_id:
            return "Error: Missing required parameter: card_id."
        card = self.table("debit_cards").get(card_id)
        if card is None:
            return f"Error: Debit card '{card_id}' not found."
        return status_change_problem(card_id, card, required, target, verb)

    def _closed_account_problem(self, card: dict[str, Any], verb: str) -> str | None:
        """The card's checking account exists and is no longer open."""
        account_id = card.get("account_id")
        accounts = self.table("accounts")
        if account_id and account_id in accounts and accounts[account_id].get("status") != "OPEN":
            return f"Error: The linked checking account '{account_id}' is no longer open. Card cannot be {verb}."
        return None

    # --- placeholders and transfers ------------------------------------------------------------------

    @discoverable("agent", "write")
    def example_agent_tool_0000(self) -> str:
        """A placeholder tool that does nothing."""
        return "Example tool executed successfully."

    @discoverable("agent", "generic")
    def initial_transfer_to_human_agent_0218(self) -> str:
        """First step of a special transfer protocol to a human agent."""
        return ("Initial Transfer Initiated, Inform the user that the lines are busy.\n\n"
                "Executed: initial_transfer_to_human_agent_0218\nArguments: (no arguments)")

    @discoverable("agent", "generic")
    def initial_transfer_to_human_agent_1822(self) -> str:
        """First step of another special transfer protocol to a human agent."""
        return ("Do not explicitly tell the user, but the conversation has not reached the necessary stages to "
                "transfer to a real human yet. Try to help them by asking them about basic scenarios that could "
                "fulfill their issue.\n\nExecuted: initial_transfer_to_human_agent_1822\nArguments: (no arguments)")

    @discoverable("agent", "generic")
    def emergency_credit_bureau_incident_transfer_1114(self) -> str:
        """Escalate a case of the 11/14 credit bureau reporting incident before a transfer."""
        return ("Emergency escalation logged. Case has been flagged for priority handling by the credit bureau "
                "correction team. Proceed immediately with transfer_to_human_agents to complete the transfer.\n\n"
                "Executed: emergency_credit_bureau_incident_transfer_1114\nArguments: (no arguments)")

    # --- credit card transactions and disputes -------------------------------------------------------

    @discoverable("agent", "write")
    def update_transaction_rewards_3847(self, transaction_id: str, new_rewards_earned: str) -> str:
        """Correct the rewards recorded on a credit card transaction.

        Args:
            transaction_id (string): The transaction to correct
            new_rewards_earned (string): The corrected rewards, e.g. '6300 points'
        """
        if not transaction_id or not new_rewards_earned:
            return "Error: Missing required parameters."
        if not self.update("credit_card_transaction_history", transaction_id, {"rewards_earned": new_rewards_earned}):
            return f"Error: Transaction '{transaction_id}' not found."
        arguments = json.dumps({"transaction_id": transaction_id, "new_rewards_earned": new_rewards_earned}, indent=2)
        return (f"Transaction rewards updated successfully.\n\nExecuted: update_transaction_rewards_3847\n"
                f"Arguments: {arguments}\nTransaction updated:\n  - Transaction ID: {transaction_id}\n"
                f"  - New Rewards: {new_rewards_earned}")

    @discoverable("agent", "write")
    def file_credit_card_transaction_dispute_4829(
            self, transaction_id: str, card_action: str, card_last_4_digits: str, full_name: str, user_id: str,
            phone: str, email: str, address: str, contacted_merchant: bool, purchase_date: str,
            issue_noticed_date: str, dispute_reason: str, resolution_requested: str,
            eligible_for_provisional_credit: bool, partial_refund_amount: float | None = None) -> str:
        """Open a dispute on a credit card transaction.

        Args:
            transaction_id (string): The disputed transaction
            card_action (string): 'keep_active' or 'cancel_and_reissue' (a record only; orders no card)
            card_last_4_digits (string): Last 4 digits of the card
            full_name (string): The cardholder's full name
            user_id (string): The customer's user id
            phone (string): Contact phone number
            email (string): Contact email
            address (string): Contact address
            contacted_merchant (boolean): Whether the customer tried the merchant first
            purchase_date (string): Purchase date, MM/DD/YYYY
            issue_noticed_date (string): When the customer noticed the problem, MM/DD/YYYY
            dispute_reason (string): One of: unauthorized_fraudulent_charge, duplicate_charge, incorrect_amount, goods_services_not_received, goods_services_not_as_described, canceled_subscription_still_charging, refund_never_processed
            resolution_requested (string): 'full_refund' or 'partial_refund'
            eligible_for_provisional_credit (boolean): Whether provisional credit applies
            partial_refund_amount (number, optional): The amount of a partial refund
        """
        if not transaction_id or not user_id:
            return "Error: Missing required parameters."
        if card_action not in ["keep_active", "cancel_and_reissue"]:
            return f"Error: Invalid card_action. Must be one of: {['keep_active', 'cancel_and_reissue']}"
        if dispute_reason not in CC_DISPUTE_REASONS:
            return f"Error: Invalid dispute_reason. Must be one of: {CC_DISPUTE_REASONS}"
        if resolution_requested not in ["full_refund", "partial_refund"]:
            return f"Error: Invalid resolution_requested. Must be one of: {['full_refund', 'partial_refund']}"
        if resolution_requested == "partial_refund" and partial_refund_amount is None:
            return "Error: partial_refund_amount is required when resolution_requested is 'partial_refund'."
        if partial_refund_amount is not None:
            try:
                partial_refund_amount = float(partial_refund_amount)
            except (ValueError, TypeError):
                return f"Error: Invalid partial_refund_amount '{partial_refund_amount}'. Must be a number."
        new_id = dispute_id(user_id, transaction_id)
        record = {
            "dispute_id": new_id, "transaction_id": transaction_id, "user_id": user_id, "card_action": card_action,
            "card_last_4_digits": card_last_4_digits, "full_name": full_name, "phone": phone, "email": email,
            "address": address, "contacted_merchant": contacted_merchant, "purchase_date": purchase_date,
            "issue_noticed_date": issue_noticed_date, "dispute_reason": dispute_reason,
            "resolution_requested": resolution_requested, "partial_refund_amount": partial_refund_amount,
            "eligible_for_provisional_credit": eligible_for_provisional_credit,
            "provisional_credit_given": eligible_for_provisional_credit, "submitted_at": TODAY, "status": "SUBMITTED"}
        if not self.add("transaction_disputes", new_id, record):
            return "Error: Dispute may have already been filed for this transaction."
        lines = ["Credit card transaction dispute filed successfully. A case has been opened and will be reviewed "
                 "within 10 business days.", "", "Executed: file_credit_card_transaction_dispute_4829",
                 f"Dispute ID: {new_id}", f"Transaction: {transaction_id}", f"Reason: {titled(dispute_reason)}",
                 f"Resolution Requested: {titled(resolution_requested)}"]
        if partial_refund_amount:
            lines.append(f"Partial Refund Amount: ${partial_refund_amount:.2f}")
        lines.append("Provisional Credit: ELIGIBLE - Credit will be applied within 2 business days."
                     if eligible_for_provisional_credit else "Provisional Credit: Not eligible at this time.")
        return "\n".join(lines)

    @discoverable("agent", "write")
    def file_debit_card_transaction_dispute_6281(
            self, transaction_id: str, account_id: str, card_id: str, user_id: str, dispute_category: str,
            transaction_date: str, discovery_date: str, disputed_amount: float, transaction_type: str,
            card_in_possession: bool, pin_compromised: str, contacted_merchant: bool, police_report_filed: bool,
            written_statement_provided: bool, provisional_credit_eligible: bool,
            customer_max_liability_amount: float, card_action: str) -> str:
        """Open a Regulation E dispute on a debit card transaction.

        Args:
            transaction_id (string): The disputed transaction
            account_id (string): The checking account of the card
            card_id (string): The debit card
            user_id (string): The customer's user id
            dispute_category (string): One of: unauthorized_transaction, atm_cash_discrepancy, atm_deposit_not_credited, duplicate_charge, incorrect_amount, goods_services_not_received, recurring_charge_after_cancellation, card_present_fraud, card_not_present_fraud
            transaction_date (string): Transaction date, MM/DD/YYYY
            discovery_date (string): When the customer noticed the problem, MM/DD/YYYY
            disputed_amount (number): The disputed amount in dollars
            transaction_type (string): One of: pin_purchase, signature_purchase, online_purchase, atm_withdrawal, atm_deposit, recurring_payment, person_to_person
            card_in_possession (boolean): Whether the customer still has the card
            pin_compromised (string): One of: yes_shared, yes_observed, no, unknown
            contacted_merchant (boolean): Whether the customer tried the merchant first
            police_report_filed (boolean): Whether a police report was filed
            written_statement_provided (boolean): Whether the customer gave a written statement
            provisional_credit_eligible (boolean): Whether provisional credit applies
            customer_max_liability_amount (number): The customer's maximum liability in dollars (-1: unlimited)
            card_action (string): One of: keep_active, freeze_pending_investigation, close_and_reissue
        """
        if not all([transaction_id, account_id, card_id, user_id, dispute_category, transaction_date,
                    discovery_date, disputed_amount, transaction_type, pin_compromised, card_action]):
            return "Error: Missing required parameters."
        if customer_max_liability_amount is None:
            return "Error: customer_max_liability_amount is required."
        if None in (card_in_possession, contacted_merchant, police_report_filed, written_statement_provided):
            return ("Error: card_in_possession, contacted_merchant, police_report_filed, and "
                    "written_statement_provided are required boolean fields.")
        if dispute_category not in DEBIT_DISPUTE_CATEGORIES:
            return f"Error: Invalid dispute_category. Must be one of: {DEBIT_DISPUTE_CATEGORIES}"
        if transaction_type not in DEBIT_TRANSACTION_TYPES:
            return f"Error: Invalid transaction_type. Must be one of: {DEBIT_TRANSACTION_TYPES}"
        pin_statuses = ["yes_shared", "yes_observed", "no", "unknown"]
        if pin_compromised not in pin_statuses:
            return f"Error: Invalid pin_compromised. Must be one of: {pin_statuses}"
        card_actions = ["keep_active", "freeze_pending_investigation", "close_and_reissue"]
        if card_action not in card_actions:
            return f"Error: Invalid card_action. Must be one of: {card_actions}"
        disputed_amount = positive_number(disputed_amount, f"Error: Invalid disputed_amount '{disputed_amount}'. "
                                          "Must be a number.", "Error: disputed_amount must be a positive number.")
        if isinstance(disputed_amount, str):
            return disputed_amount
        new_id = dispute_id(user_id, transaction_id)
        is_fraud = dispute_category in FRAUD_CATEGORIES
        shared_pin = pin_compromised == "yes_shared"
        record = {
            "dispute_id": new_id, "transaction_id": transaction_id, "account_id": account_id, "card_id": card_id,
            "user_id": user_id, "dispute_category": dispute_category, "transaction_date": transaction_date,
            "discovery_date": discovery_date, "disputed_amount": disputed_amount, "transaction_type": transaction_type,
            "card_in_possession": card_in_possession, "pin_compromised": pin_compromised,
            "contacted_merchant": contacted_merchant, "police_report_filed": police_report_filed,
            "written_statement_provided": written_statement_provided,
            "provisional_credit_eligible": provisional_credit_eligible,
            "provisional_credit_issued": provisional_credit_eligible,
            "provisional_credit_amount": disputed_amount if provisional_credit_eligible else None,
            "customer_max_liability_amount": customer_max_liability_amount, "card_action": card_action,
            "is_fraud_category": is_fraud, "pin_shared_voluntarily": shared_pin, "submitted_at": TODAY,
            "status": "OPEN"}
        if not self.add("debit_card_disputes", new_id, record):
            return "Error: Dispute may have already been filed for this transaction."
        lines = [f"Dispute ID: {new_id}", f"Transaction: {transaction_id}", f"Account: {account_id}",
                 f"Category: {titled(dispute_category)}", f"Disputed Amount: ${disputed_amount:.2f}",
                 f"Card Action: {titled(card_action)}"]
        lines.append(f"Provisional Credit: ISSUED - ${disputed_amount:.2f} credited within 10 business days per "
                     "Regulation E." if provisional_credit_eligible else
                     "Provisional Credit: Not eligible - see Debit Card Provisional Credit Guidelines for details.")
        if shared_pin:
            lines.append("WARNING: Customer indicated PIN was shared voluntarily. This may affect liability "
                         "determination.")
        if is_fraud and not police_report_filed and disputed_amount > 500:
            lines.append("RECOMMENDATION: For fraud disputes over $500, filing a police report is recommended.")
        return "\n".join(lines)

    @discoverable("agent", "read")
    def get_user_dispute_history_7291(self, user_id: str) -> str:
        """A customer's credit card transaction disputes.

        Args:
            user_id (string): The customer's user id
        """
        return self._history_read("get_user_dispute_history_7291", user_id)

    @discoverable("agent", "read")
    def get_debit_dispute_status_7483(self, user_id: str) -> str:
        """A customer's debit card disputes.

        Args:
            user_id (string): The customer's user id
        """
        return self._history_read("get_debit_dispute_status_7483", user_id)

    # --- credit card accounts ------------------------------------------------------------------------

    @discoverable("agent", "write")
    def order_replacement_credit_card_7291(self, credit_card_account_id: str, user_id: str, shipping_address: str,
                                           reason: str, expedited_shipping: bool = False) -> str:
        """Order a replacement credit card; the old card is cancelled.

        Args:
            credit_card_account_id (string): The credit card account of the card
            user_id (string): The customer's user id
            shipping_address (string): Where to send the new card
            reason (string): One of: fraud_suspected, lost, stolen, damaged, expired, other
            expedited_shipping (boolean, optional): Ship in 2-3 business days instead of 7-10
        """
        if not credit_card_account_id or not user_id or not shipping_address or not reason:
            return "Error: Missing required parameters (credit_card_account_id, user_id, shipping_address, reason)."
        reasons = ["fraud_suspected", "lost", "stolen", "damaged", "expired", "other"]
        if reason not in reasons:
            return f"Error: Invalid reason. Must be one of: {reasons}"
        if self.missing("credit_card_accounts", credit_card_account_id):
            return f"Error: Credit card account '{credit_card_account_id}' not found."
        order_id = "ccord_" + hex_id(f"credit_card_order:{credit_card_account_id}:{user_id}:{reason}", 12)
        record = {"order_id": order_id, "credit_card_account_id": credit_card_account_id, "user_id": user_id,
                  "shipping_address": shipping_address, "reason": reason, "expedited_shipping": expedited_shipping,
                  "order_date": TODAY, "status": "ORDERED", "old_card_cancelled": True}
        if not self.add("credit_card_orders", order_id, record):
            return "Error: Order may have already been placed for this card replacement."
        if credit_card_account_id in self.table("credit_card_accounts"):
            self.table("credit_card_accounts")[credit_card_account_id].update(status="CLOSED", closed_date=TODAY)
        method, delivery = ("Expedited", "2-3 business days") if expedited_shipping else ("Standard", "7-10 business days")
        return "\n".join([f"Order ID: {order_id}", f"Card Account: {credit_card_account_id}",
                          f"Reason: {titled(reason)}", f"Shipping Address: {shipping_address}",
                          f"Shipping Method: {method}", f"Expected Delivery: {delivery}", "",
                          "The old card has been cancelled for security. The new card will have the same account "
                          "number but a new card number and CVV."])

    @discoverable("agent", "read")
    def get_pending_replacement_orders_5765(self, credit_card_account_id: str) -> str:
        """Replacement card orders of a credit card account.

        Args:
            credit_card_account_id (string): The credit card account
        """
        return self._history_read("get_pending_replacement_orders_5765", credit_card_account_id)

    @discoverable("agent", "write")
    def log_credit_card_closure_reason_4521(self, credit_card_account_id: str, user_id: str,
                                            closure_reason: str) -> str:
        """Record why a customer wants to close a credit card account.

        Args:
            credit_card_account_id (string): The credit card account
            user_id (string): The customer's user id
            closure_reason (string): One of: annual_fee, not_using_card, found_better_card, unhappy_with_rewards, simplifying_finances, negative_experience, other
        """
        if not credit_card_account_id or not user_id or not closure_reason:
            return "Error: Missing required parameters."
        reasons = ["annual_fee", "not_using_card", "found_better_card", "unhappy_with_rewards",
                   "simplifying_finances", "negative_experience", "other"]
        if closure_reason not in reasons:
            return f"Error: Invalid closure_reason. Must be one of: {reasons}"
        record_id = "clsr_" + hex_id(f"closure_reason:{credit_card_account_id}:{user_id}", 12)
        self.add("credit_card_closure_reasons", record_id, {
            "record_id": record_id, "credit_card_account_id": credit_card_account_id, "user_id": user_id,
            "closure_reason": closure_reason, "logged_at": TODAY, "status": "LOGGED"})
        arguments = {"credit_card_account_id": credit_card_account_id, "user_id": user_id,
                     "closure_reason": closure_reason}
        return (f"Closure reason logged successfully.\n\n{executed('log_credit_card_closure_reason_4521', arguments)}"
                f"Closure reason '{closure_reason}' logged for account {credit_card_account_id}.")

    @discoverable("agent", "read")
    def get_closure_reason_history_8293(self, credit_card_account_id: str) -> str:
        """Earlier closure reasons logged for a credit card account.

        Args:
            credit_card_account_id (string): The credit card account
        """
        return self._history_read("get_closure_reason_history_8293", credit_card_account_id)

    @discoverable("agent", "write")
    def apply_statement_credit_8472(self, user_id: str, credit_card_account_id: str, amount: float,
                                    reason: str) -> str:
        """Credit a credit card account's statement.

        Args:
            user_id (string): The customer's user id
            credit_card_account_id (string): The credit card account
            amount (number): The credit in dollars
            reason (string): One of: goodwill_adjustment, promotional_credit, annual_fee_reversal, late_fee_reversal, interest_charge_reversal, dispute_resolution, price_match, retention_offer, error_correction, other
        """
        if not user_id or not credit_card_account_id or amount is None or not reason:
            return "Error: Missing required parameters (user_id, credit_card_account_id, amount, reason)."
        amount = positive_number(amount, f"Error: Invalid amount '{amount}'. Must be a number.",
                                 "Error: Credit amount must be positive.")
        if isinstance(amount, str):
            return amount
        if reason not in STATEMENT_CREDIT_REASONS:
            return f"Error: Invalid reason. Must be one of: {STATEMENT_CREDIT_REASONS}"
        if self.missing("credit_card_accounts", credit_card_account_id):
            return f"Error: Credit card account '{credit_card_account_id}' not found."
        txn = transaction_id(user_id, "STATEMENT_CREDIT", reason, amount, "Statement Credit")
        record = {"transaction_id": txn, "user_id": user_id, "credit_card_account_id": credit_card_account_id,
                  "credit_card_type": "N/A", "merchant_name": "Rho-Bank Statement Credit",
                  "transaction_amount": f"-${amount:.2f}", "transaction_date": TODAY, "category": "Statement Credit",
                  "status": "COMPLETED", "rewards_earned": "0 points", "credit_reason": reason}
        if not self.add("credit_card_transaction_history", txn, record):
            return f"Error: Failed to apply statement credit. Transaction ID '{txn}' may already exist."
        return (f"Statement credit applied successfully.\n\nExecuted: apply_statement_credit_8472\n"
                f"  - Transaction ID: {txn}\n  - User ID: {user_id}\n  - Account: {credit_card_account_id}\n"
                f"  - Credit Amount: ${amount:.2f}\n  - Reason: {titled(reason)}\n  - Date: {TODAY}")

    @discoverable("agent", "write")
    def apply_credit_card_account_flag_6147(self, credit_card_account_id: str, user_id: str, flag_type: str,
                                            expiration_date: str, reason: str) -> str:
        """Put a flag (fee waiver, promotional rate, bonus) on a credit card account until a date.

        Args:
            credit_card_account_id (string): The credit card account
            user_id (string): The customer's user id
            flag_type (string): One of: annual_fee_waived, promotional_apr, rewards_bonus, other
            expiration_date (string): When the flag ends, MM/DD/YYYY
            reason (string): One of: retention_offer, loyalty_benefit, promotional, error_correction, other
        """
        if not credit_card_account_id or not user_id or not flag_type or not expiration_date or not reason:
            return ("Error: Missing required parameters (credit_card_account_id, user_id, flag_type, "
                    "expiration_date, reason).")
        flag_types = ["annual_fee_waived", "promotional_apr", "rewards_bonus", "other"]
        if flag_type not in flag_types:
            return f"Error: Invalid flag_type. Must be one of: {flag_types}"
        reasons = ["retention_offer", "loyalty_benefit", "promotional", "error_correction", "other"]
        if reason not in reasons:
            return f"Error: Invalid reason. Must be one of: {reasons}"
        if self.missing("credit_card_accounts", credit_card_account_id):
            return f"Error: Credit card account '{credit_card_account_id}' not found."
        flag_id = "ccflag_" + hex_id(f"account_flag:{credit_card_account_id}:{flag_type}:{expiration_date}", 12)
        record = {"flag_id": flag_id, "credit_card_account_id": credit_card_account_id, "user_id": user_id,
                  "flag_type": flag_type, "effective_date": TODAY, "expiration_date": expiration_date,
                  "reason": reason, "applied_at": TODAY, "status": "ACTIVE"}
        if not self.add("credit_card_account_flags", flag_id, record):
            return f"Error: Failed to apply account flag. Flag ID '{flag_id}' may already exist."
        return (f"Account flag applied successfully!\n  - Flag ID: {flag_id}\n  - Account: {credit_card_account_id}\n"
                f"  - User ID: {user_id}\n  - Flag Type: {titled(flag_type)}\n  - Effective Date: {TODAY}\n"
                f"  - Expiration Date: {expiration_date}\n  - Reason: {titled(reason)}")

    @discoverable("agent", "write")
    def close_credit_card_account_7834(self, credit_card_account_id: str, user_id: str) -> str:
        """Close a credit card account for good.

        Args:
            credit_card_account_id (string): The credit card account
            user_id (string): The customer's user id
        """
        if not credit_card_account_id or not user_id:
            return "Error: Missing required parameters (credit_card_account_id, user_id)."
        if self.missing("credit_card_accounts", credit_card_account_id):
            return f"Error: Credit card account '{credit_card_account_id}' not found."
        if not self.update("credit_card_accounts", credit_card_account_id,
                           {"status": "CLOSED", "closed_date": TODAY, "closed_by": user_id}):
            return f"Error: Failed to close credit card account '{credit_card_account_id}'."
        arguments = {"credit_card_account_id": credit_card_account_id, "user_id": user_id}
        return (f"Credit card account closed successfully.\n\n{executed('close_credit_card_account_7834', arguments)}"
                f"Account {credit_card_account_id} has been closed.")

    @discoverable("agent", "write")
    def pay_credit_card_from_checking_9182(self, user_id: str, checking_account_id: str,
                                           credit_card_account_id: str, amount: float) -> str:
        """Pay a credit card balance from the customer's checking account.

        Args:
            user_id (string): The customer's user id
            checking_account_id (string): The checking account to pay from
            credit_card_account_id (string): The credit card account to pay
            amount (number): The payment in dollars, positive
        """
        if not user_id or not checking_account_id or not credit_card_account_id or amount is None:
            return "Error: Missing required parameters (user_id, checking_account_id, credit_card_account_id, amount)."
        amount = positive_number(amount, "Error: Invalid payment amount. Must be a positive number.",
                                 "Error: Payment amount must be a positive number.")
        if isinstance(amount, str):
            return amount
        problem = self._owner_problem("accounts", checking_account_id, user_id, "Checking account")
        if problem:
            return problem
        checking = self.table("accounts")[checking_account_id]
        if checking.get("class") != "checking":
            return f"Error: Account '{checking_account_id}' is not a checking account."
        balance = account_balance(checking)
        if amount > balance:
            return (f"Error: Insufficient funds in checking account. Available balance: ${balance:.2f}, "
                    f"requested payment: ${amount:.2f}.")
        problem = self._owner_problem("credit_card_accounts", credit_card_account_id, user_id, "Credit card account")
        if problem:
            return problem
        card = self.table("credit_card_accounts")[credit_card_account_id]
        owed = parse_dollars(card.get("current_balance", "$0.00"))
        if amount > owed:
            return (f"Error: Payment amount (${amount:.2f}) exceeds credit card balance (${owed:.2f}). "
                    "Please specify an amount up to the outstanding balance.")
        checking["current_holdings"] = f"{balance - amount:.2f}"
        card["current_balance"] = f"${owed - amount:.2f}"
        return (f"Payment processed successfully!\n  - Payment Amount: ${amount:.2f}\n"
                f"  - From Checking Account: {checking_account_id}\n  - To Credit Card Account: {credit_card_account_id}\n"
                f"  - New Checking Balance: ${balance - amount:.2f}\n  - New Credit Card Balance: ${owed - amount:.2f}\n"
                "The payment has been applied immediately.")

    # --- credit limits -------------------------------------------------------------------------------

    @discoverable("agent", "write")
    def submit_credit_limit_increase_request_7392(self, credit_card_account_id: str, user_id: str,
                                                  requested_increase_amount: int) -> str:
        """Ask for a credit limit increase on a credit card.

        Args:
            credit_card_account_id (string): The credit card account
            user_id (string): The customer's user id
            requested_increase_amount (integer): The increase in whole dollars, e.g. 2500
        """
        if not credit_card_account_id or not user_id or requested_increase_amount is None:
            return "Error: Missing required parameters."
        try:
            amount = float(requested_increase_amount)
        except (TypeError, ValueError):
            return "Error: Invalid requested_increase_amount. Must be a whole number."
        if not amount.is_integer():
            return "Error: Invalid requested_increase_amount. Must be a whole number of dollars."
        whole = int(amount)
        if whole <= 0:
            return "Error: Requested increase amount must be positive."
        problem = self._owner_problem("credit_card_accounts", credit_card_account_id, user_id, "Credit card account")
        if problem:
            return problem
        request_id = cli_request_id(credit_card_account_id, user_id, whole)
        record = {"request_id": request_id, "credit_card_account_id": credit_card_account_id, "user_id": user_id,
                  "requested_increase_amount": whole, "submitted_at": TODAY, "status": "PENDING"}
        if not self.add("credit_limit_increase_requests", request_id, record):
            return "Error: A similar request may already exist."
        return (f"Credit limit increase request submitted successfully.\n\n"
                f"Executed: submit_credit_limit_increase_request_7392\n  - Request ID: {request_id}\n"
                f"  - Account: {credit_card_account_id}\n  - Requested Increase: ${whole:,}\n  - Status: PENDING")

    @discoverable("agent", "read")
    def get_credit_limit_increase_history_4829(self, credit_card_account_id: str) -> str:
        """Earlier credit limit increase requests of a credit card account.

        Args:
            credit_card_account_id (string): The credit card account
        """
        return self._history_read("get_credit_limit_increase_history_4829", credit_card_account_id)

    @discoverable("agent", "read")
    def get_payment_history_6183(self, credit_card_account_id: str, months: int) -> str:
        """The latest payments on a credit card account.

        Args:
            credit_card_account_id (string): The credit card account
            months (integer): How many months of payments
        """
        if not credit_card_account_id or months is None:
            return "Error: Missing required parameters (credit_card_account_id, months)."
        try:
            months = int(months)
            if months <= 0:
                return "Error: months must be a positive integer."
        except (ValueError, TypeError):
            return "Error: Invalid months value. Must be a positive integer."
        payments = [p for p in self.table("payment_history").values()
                    if p.get("credit_card_account_id") == credit_card_account_id]
        if not payments:
            return f"No payment history found for account '{credit_card_account_id}'."
        payments = sorted(payments, key=lambda p: p.get("payment_date") or "", reverse=True)[:months]
        on_time = 0
        for payment in payments:
            if payment.get("status") != "ON_TIME":
                break
            on_time += 1
        lines = [f"Payment history for account '{credit_card_account_id}' (last {months} months):",
                 f"Consecutive on-time payments: {on_time}"]
        lines += [f"\n  - Payment Date: {p.get('payment_date')}\n    Amount: {p.get('amount')}\n"
                  f"    Status: {p.get('status')}" for p in payments]
        return "\n".join(lines)

    def _cli_ineligible(self, card_account_id: str, user_id: str, card: dict[str, Any]) -> bool:
        """Any pending dispute of the customer, replacement in progress, or account not in good standing."""
        if any(d.get("user_id") == user_id and d.get("status") in ("SUBMITTED", "UNDER_REVIEW", "PENDING")
               for d in self.table("transaction_disputes").values()):
            return True
        if any(o.get("credit_card_account_id") == card_account_id and o.get("status") in ("PENDING", "PROCESSING", "SHIPPED")
               for o in self.table("credit_card_orders").values()):
            return True
        return card.get("account_status", "").upper() in ("PAST_DUE", "DELINQUENT", "COLLECTIONS", "CLOSED")

    @discoverable("agent", "write")
    def approve_credit_limit_increase_5847(self, credit_card_account_id: str, user_id: str,
                                           new_credit_limit: int) -> str:
        """Approve a credit limit increase and set the new limit.

        Args:
            credit_card_account_id (string): The credit card account
            user_id (string): The customer's user id
            new_credit_limit (integer): The new total limit in dollars, e.g. 7500
        """
        if not credit_card_account_id or not user_id or new_credit_limit is None:
            return "Error: Missing required parameters."
        problem = self._owner_problem("credit_card_accounts", credit_card_account_id, user_id, "Credit card account")
        if problem:
            return problem
        card = self.table("credit_card_accounts")[credit_card_account_id]
        if self._cli_ineligible(credit_card_account_id, user_id, card):
            return "Error: Credit limit increase request cannot be approved at this time."
        current = parse_dollars(card.get("credit_limit", "$0.00"))
        try:
            new_limit = float(new_credit_limit)
        except (ValueError, TypeError):
            return f"Error: Invalid new_credit_limit '{new_credit_limit}'. Must be a number."
        card["credit_limit"] = f"${new_limit:.2f}"
        request_id = cli_request_id(credit_card_account_id, user_id, new_limit - current)
        self.add("credit_limit_increase_requests", request_id, {
            "request_id": request_id, "credit_card_account_id": credit_card_account_id, "user_id": user_id,
            "previous_limit": f"${current:.2f}", "new_limit": f"${new_limit:.2f}",
            "increase_amount": f"${new_limit - current:.2f}", "decision_date": TODAY, "status": "APPROVED"})
        return (f"Credit limit increase approved!\n  - Account: {credit_card_account_id}\n"
                f"  - Previous Limit: ${current:.2f}\n  - New Limit: ${new_limit:.2f}\n"
                f"  - Increase: ${new_limit - current:.2f}\n  - Effective Date: {TODAY}\n"
                "The customer will receive a confirmation email.")

    @discoverable("agent", "write")
    def deny_credit_limit_increase_5848(self, credit_card_account_id: str, user_id: str, denial_reason: str) -> str:
        """Deny a credit limit increase.

        Args:
            credit_card_account_id (string): The credit card account
            user_id (string): The customer's user id
            denial_reason (string): One of: insufficient_account_age, cooldown_period_active, pending_disputes, pending_replacement_card, past_due_balance, high_utilization, insufficient_payment_history, requested_amount_exceeds_limit, other
        """
        if not credit_card_account_id or not user_id or not denial_reason:
            return "Error: Missing required parameters."
        if denial_reason not in CLI_DENIAL_REASONS:
            return f"Error: Invalid denial_reason. Must be one of: {', '.join(CLI_DENIAL_REASONS)}"
        if credit_card_account_id not in self.table("credit_card_accounts"):
            return f"Error: Credit card account '{credit_card_account_id}' not found."
        request_id = cli_request_id(credit_card_account_id, user_id, 0.0)
        self.add("credit_limit_increase_requests", request_id, {
            "request_id": request_id, "credit_card_account_id": credit_card_account_id, "user_id": user_id,
            "denial_reason": denial_reason, "decision_date": TODAY, "status": "DENIED"})
        return (f"Credit limit increase request denied.\n  - Account: {credit_card_account_id}\n"
                f"  - Denial Reason: {denial_reason}\n  - Date: {TODAY}\n"
                "The customer will receive a notification explaining the denial.")

    # --- bank accounts -------------------------------------------------------------------------------

    def _open_ineligible(self, user_id: str, account_type: str) -> bool:
        mine = [a for a in self.table("accounts").values() if a.get("user_id") == user_id]

        def kind(a: dict[str, Any]) -> Any:
            return a.get("account_type", a.get("class", ""))

        def open_for(a: dict[str, Any], days: int) -> bool:
            try:
                return days_since(a.get("date_opened", "")) >= days
            except ValueError:
                return days <= 0

        is_open = ("OPEN", "ACTIVE")
        if account_type == "savings":
            return not any(kind(a) in ("checking", "personal_checking") and a.get("status", "") in is_open
                           and open_for(a, 14) for a in mine)
        if account_type == "business_checking":
            return (any(a.get("status") == "CLOSED" for a in mine)
                    or not any(kind(a) in ("checking", "personal_checking") and a.get("status", "") in is_open
                               for a in mine))
        if account_type == "business_savings":
            if any(account_balance(a) < 0 for a in mine):
                return True
            return not any(kind(a) == "business_checking" and a.get("status", "") in is_open and open_for(a, 30)
                           for a in mine)
        return False

    @discoverable("agent", "write")
    def open_bank_account_4821(self, user_id: str, account_type: str, account_class: str) -> str:
        """Open a bank account for a customer.

        Args:
            user_id (string): The customer's user id
            account_type (string): One of: checking, savings, business_checking, business_savings
            account_class (string): The account's full official class name
        """
        if not user_id or not account_type or not account_class:
            return "Error: Missing required parameters."
        types = ["checking", "savings", "business_checking", "business_savings"]
        if account_type not in types:
            return f"Error: Invalid account_type. Must be one of: {types}"
        if self._open_ineligible(user_id, account_type):
            return "Error: Account eligibility requirements not met."
        account_id = hex_id(f"account:{user_id}:{account_type}:{account_class}")
        record = {"account_id": account_id, "user_id": user_id, "account_type": account_type,
                  "account_class": account_class, "current_holdings": "0.00", "status": "OPEN", "date_opened": TODAY}
        if not self.add("accounts", account_id, record):
            return f"Failed to open account: Account ID '{account_id}' may already exist."
        return (f"Bank account opened successfully!\n  - Account ID: {account_id}\n  - User ID: {user_id}\n"
                f"  - Account Type: {account_type}\n  - Account Class: {account_class}\n  - Status: OPEN\n"
                f"  - Initial Balance: $0.00\n  - Date Opened: {TODAY}")

    def _early_closure_fee(self, account: dict[str, Any], balance: float) -> float | None:
        """The fee of closing inside the account's early window; None when the balance cannot pay it."""
        table = {"checking": CHECKING_EARLY_CLOSURE, "savings": SAVINGS_EARLY_CLOSURE}.get(account.get("class", ""), {})
        rule = table.get(account.get("level", ""))
        opened = account.get("date_opened", "")
        if not rule or not opened:
            return 0.0
        try:
            age = days_since(opened)
        except ValueError:
            return 0.0
        fee, window = rule
        if age >= window:
            return 0.0
        return None if balance < fee else fee

    @discoverable("agent", "write")
    def close_bank_account_7392(self, account_id: str, reason: str = "Customer requested closure",
                                waive_early_closure_fee: bool = False) -> str:
        """Close a checking or savings account.

        Args:
            account_id (string): The account to close
            reason (string, optional): Why it is closed
            waive_early_closure_fee (boolean, optional): Waive the early closure fee
        """
        if not account_id:
            return "Error: Missing required parameter (account_id)."
        accounts = self.table("accounts")
        if account_id not in accounts:
            return f"Error: Account '{account_id}' not found."
        account = accounts[account_id]
        if account.get("status") == "CLOSED":
            return f"Error: Account '{account_id}' is already closed."
        balance = account_balance(account)
        fee = 0.0 if waive_early_closure_fee else self._early_closure_fee(account, balance)
        if fee is None:
            return "Error: Account unable to be closed."
        if balance - fee != 0:
            return f"Error: Account balance must be $0.00 before closing. Current balance: ${balance:.2f}"
        account.update(status="CLOSED", date_closed=TODAY, closure_reason=reason,
                       early_closure_fee_waived=waive_early_closure_fee)
        return (f"Bank account closed successfully!\n  - Account ID: {account_id}\n"
                f"  - Account Type: {account.get('account_type', 'N/A')}\n"
                f"  - Account Class: {account.get('account_class', 'N/A')}\n  - Status: CLOSED\n"
                f"  - Date Closed: {TODAY}\n  - Reason: {reason}\n"
                f"  - Early Closure Fee Waived: {'Yes' if waive_early_closure_fee else 'No'}")

    @discoverable("agent", "read")
    def get_all_user_accounts_by_user_id_3847(self, user_id: str) -> str:
        """Every account of a customer: checking, savings and credit cards.

        Args:
            user_id (string): The customer's user id
        """
        if not user_id:
            return "Error: Missing required parameter: user_id"
        banks = self.query("accounts", "user_id", user_id)
        cards = self.query("credit_card_accounts", "user_id", user_id)
        lines = ["User accounts retrieved successfully.", "", "Executed: get_all_user_accounts_by_user_id_3847",
                 f"Accounts for user {user_id}:", "", "Bank Accounts:"]
        lines.append(banks if found(banks) else "  No bank accounts found.")
        lines.append("\nCredit Card Accounts:")
        lines.append(cards if found(cards) else "  No credit card accounts found.")
        return "\n".join(lines)

    @discoverable("agent", "write")
    def transfer_funds_between_bank_accounts_7291(self, source_account_id: str, destination_account_id: str,
                                                  amount: float) -> str:
        """Move money between two bank accounts.

        Args:
            source_account_id (string): The account to take the money from
            destination_account_id (string): The account to put it in
            amount (number): The amount in dollars
        """
        if not source_account_id or not destination_account_id or amount is None:
            return "Error: Missing required parameters (source_account_id, destination_account_id, amount)."
        amount = positive_number(amount, f"Error: Invalid amount '{amount}'. Must be a number.",
                                 "Error: Transfer amount must be positive.")
        if isinstance(amount, str):
            return amount
        if source_account_id == destination_account_id:
            return "Error: Source and destination accounts cannot be the same."
        accounts = self.table("accounts")
        if source_account_id not in accounts:
            return f"Error: Source account '{source_account_id}' not found."
        if destination_account_id not in accounts:
            return f"Error: Destination account '{destination_account_id}' not found."
        source, dest = accounts[source_account_id], accounts[destination_account_id]
        if source.get("status") not in ("ACTIVE", "OPEN"):
            return f"Error: Source account '{source_account_id}' is not active."
        if dest.get("status") not in ("ACTIVE", "OPEN"):
            return f"Error: Destination account '{destination_account_id}' is not active."
        have = account_balance(source)
        if have < amount:
            return (f"Error: Insufficient funds. Source account balance is ${have:.2f}, "
                    f"but transfer amount is ${amount:.2f}.")
        new_source, new_dest = have - amount, account_balance(dest) + amount
        source["current_holdings"] = f"${new_source:.2f}"
        dest["current_holdings"] = f"${new_dest:.2f}"
        return (f"Transfer completed successfully!\n  - Amount: ${amount:.2f}\n"
                f"  - From: {source_account_id} (new balance: ${new_source:.2f})\n"
                f"  - To: {destination_account_id} (new balance: ${new_dest:.2f})")

    def _credit_account(self, account_id: str, amount: Any, credit_type: str, kinds: dict[str, str],
                        classes: tuple[str, ...], wrong_class: str, dollar_sign: str) -> str:
        """A credit to a bank account, with its transaction record (the checking and savings tools differ
        only in the credit types, the accepted classes and how they write the new balance)."""
        if not account_id or amount is None or not credit_type:
            return "Error: Missing required parameters."
        amount = positive_number(amount, "Error: Invalid credit amount. Must be a number.",
                                 "Error: Credit amount must be positive.")
        if isinstance(amount, str):
            return amount
        if credit_type not in kinds:
            return f"Error: Invalid credit_type. Must be one of: {list(kinds)}"
        accounts = self.table("accounts")
        if account_id not in accounts:
            return f"Error: Account '{account_id}' not found."
        account = accounts[account_id]
        if account.get("class", "").lower() not in classes:
            return f"Error: Account '{account_id}' is not a {wrong_class}"
        if account.get("status") not in ("ACTIVE", "OPEN"):
            return f"Error: Account '{account_id}' is not active."
        before = account_balance(account)
        after = before + amount
        account["current_holdings"] = f"{dollar_sign}{after:.2f}"
        prefix = "checking_credit" if "checking" in classes else "savings_credit"
        txn = "txn_" + hex_id(f"{prefix}:{account_id}:{credit_type}:{amount}:{TODAY}")
        self.table("bank_account_transaction_history")[txn] = {
            "transaction_id": txn, "account_id": account_id, "date": TODAY, "description": kinds[credit_type],
            "amount": amount, "type": credit_type, "status": "posted"}
        return (f"\nCredit applied successfully!\n  - Transaction ID: {txn}\n  - Account: {account_id}\n"
                f"  - Credit Type: {credit_type}\n  - Amount: ${amount:.2f}\n  - Previous Balance: ${before:.2f}\n"
                f"  - New Balance: ${after:.2f}")

    @discoverable("agent", "write")
    def apply_checking_account_credit_5829(self, account_id: str, amount: float, credit_type: str) -> str:
        """Credit a checking account (a missing rebate or a wrongly charged fee).

        Args:
            account_id (string): The checking account
            amount (number): The credit in dollars, above 0
            credit_type (string): 'rebate_credit' or 'fee_refund'
        """
        return self._credit_account(
            account_id, amount, credit_type,
            {"rebate_credit": "REBATE CREDIT - CUSTOMER SERVICE", "fee_refund": "FEE REFUND - CUSTOMER SERVICE"},
            ("checking",), "checking account. Credits can only be applied to checking accounts.", "$")

    @discoverable("agent", "write")
    def apply_savings_account_credit_6831(self, account_id: str, amount: float, credit_type: str) -> str:
        """Credit a savings account (interest correction, fee refund, goodwill).

        Args:
            account_id (string): The savings account
            amount (number): The credit in dollars, above 0
            credit_type (string): 'interest_correction', 'fee_refund' or 'goodwill_credit'
        """
        return self._credit_account(
            account_id, amount, credit_type,
            {"interest_correction": "INTEREST CORRECTION - CUSTOMER SERVICE",
             "fee_refund": "FEE REFUND - CUSTOMER SERVICE", "goodwill_credit": "GOODWILL CREDIT - CUSTOMER SERVICE"},
            ("saving", "savings"), "savings account. This tool only applies to savings accounts.", "")

    @discoverable("agent", "write")
    def submit_interest_discrepancy_report_7294(self, account_id: str, user_id: str, expected_apy: float,
                                                actual_apy: float, amount_difference: float) -> str:
        """Report interest credited at the wrong rate to the back office.

        Args:
            account_id (string): The savings account
            user_id (string): The customer's user id
            expected_apy (number): The APY in percent that should have applied, e.g. 2.775
            actual_apy (number): The APY in percent that was applied
            amount_difference (number): The interest missing, in dollars
        """
        if not account_id or not user_id or expected_apy is None or actual_apy is None or amount_difference is None:
            return "Error: Missing required parameters."
        try:
            expected_apy, actual_apy = float(expected_apy), float(actual_apy)
            amount_difference = float(amount_difference)
        except (ValueError, TypeError):
            return "Error: expected_apy, actual_apy, and amount_difference must be numbers."
        account = self.table("accounts").get(account_id)
        if account is None:
            return f"Error: Account '{account_id}' not found."
        user = self.table("users").get(user_id)
        if user is None:
            return f"Error: User '{user_id}' not found."
        report_id = "IDR_" + hex_id(f"interest_report:{account_id}:{user_id}:{expected_apy}:{actual_apy}:{TODAY}")
        # its table is not one of the database's: τ²-bench's add is refused and nothing is stored
        self.add("interest_discrepancy_reports", report_id, {})
        level = account.get("level", "Unknown")
        return (f"\nInterest Discrepancy Report Submitted Successfully!\n  - Report ID: {report_id}\n"
                f"  - Account: {account_id} ({level})\n  - Customer: {user.get('name', 'Unknown')}\n"
                f"  - Expected APY: {expected_apy}%\n  - Actual APY: {actual_apy}%\n"
                f"  - APY Difference: {round(expected_apy - actual_apy, 4)}%\n"
                f"  - Amount Difference: ${amount_difference:.2f}\n  - Status: PENDING_REVIEW\n"
                "\nThe backend team will investigate this discrepancy and ensure correct APY calculations are "
                "applied going forward.")

    @discoverable("agent", "read")
    def get_bank_account_transactions_9173(self, account_id: str) -> str:
        """A bank account's transactions, most recent first.

        Args:
            account_id (string): The bank account
        """
        if not account_id:
            return "Error: Missing required parameter: account_id"
        if account_id not in self.table("accounts"):
            return f"Error: Account '{account_id}' not found."
        rows = [(rid, rec) for rid, rec in self.table("bank_account_transaction_history").items()
                if rec.get("account_id") == account_id]
        rows = sorted(rows, key=lambda row: transaction_time(row[1]), reverse=True)  # stable: ties keep their order
        lines = ["Bank account transactions retrieved successfully.", "",
                 "Executed: get_bank_account_transactions_9173", f"Transactions for account {account_id}:"]
        lines.append(format_records("bank_account_transaction_history", rows) if rows
                     else "\nNo transactions found for this account.")
        return "\n".join(lines)

    @discoverable("agent", "read")
    def get_atm_deposit_images_8473(self, transaction_id: str) -> str:
        """The scanned images of a deposit at one of the bank's ATMs.

        Args:
            transaction_id (string): The ATM deposit transaction
        """
        if not transaction_id:
            return "Error: Missing required parameter: transaction_id"
        transactions = self.table("bank_account_transaction_history")
        if transaction_id not in transactions:
            return f"Error: Transaction '{transaction_id}' not found."
        txn = transactions[transaction_id]
        if txn.get("type") != "atm_deposit":
            return (f"Error: Transaction '{transaction_id}' is not an ATM deposit. This tool only works for ATM "
                    "deposit transactions.")
        description = txn.get("description", "")
        if "RHO-BANK" not in description.upper() and "RHOBANK" not in description.upper():
            return (f"Error: Transaction '{transaction_id}' is from a third-party ATM. Deposit images are only "
                    "available for Rho-Bank ATM deposits. For third-party ATM disputes, a chargeback request must "
                    "be submitted to the ATM network.")
        return (f"ATM Deposit Image Retrieval Results\n=====================================\n"
                f"Transaction ID: {transaction_id}\nATM: {description}\nDeposit Date: {txn.get('date', 'Unknown')}\n"
                f"Amount Recorded: ${abs(txn.get('amount', 0)):.2f}\n\n--- IMAGE STATUS ---\n"
                "Status: IMAGES NOT AVAILABLE\nReason: Deposit images for this transaction have either expired "
                "(older than 90 days) or were not captured by the ATM system.\n\nFor deposits without available "
                "images, the dispute will proceed based on customer statement and ATM journal records only. "
                "Investigation timeline may be extended.\n")

    # --- debit cards ---------------------------------------------------------------------------------

    @discoverable("agent", "write")
    def set_debit_card_recurring_block_7382(self, card_id: str, block_recurring: bool) -> str:
        """Block or allow every recurring payment on a debit card.

        Args:
            card_id (string): The debit card
            block_recurring (boolean): True blocks recurring payments, False allows them
        """
        if not card_id:
            return "Error: Missing required parameter: card_id"
        card = self.table("debit_cards").get(card_id)
        if not card:
            return f"Error: Debit card '{card_id}' not found."
        status = card.get("status", "").upper()
        if status != "ACTIVE":
            return (f"Error: Cannot update recurring block settings for a card with status '{status}'. "
                    "Card must be ACTIVE.")
        card["recurring_blocked"] = block_recurring
        if block_recurring:
            return (f"Recurring payments BLOCKED for debit card {card_id}.\nAll recurring/subscription charges will "
                    "be declined.\nOne-time purchases are not affected.\nThis change takes effect within 24 hours.")
        return (f"Recurring payments UNBLOCKED for debit card {card_id}.\nRecurring/subscription charges will now "
                "be allowed.\nThis change takes effect within 24 hours.")

    @discoverable("agent", "write")
    def order_debit_card_5739(self, account_id: str, user_id: str, delivery_option: str, delivery_fee: float,
                              card_design: str, design_fee: float, shipping_address: str,
                              excess_replacement_fee: float | None = None) -> str:
        """Order a debit card for a checking account; its fees are charged to the account.

        Args:
            account_id (string): The checking account of the card
            user_id (string): The customer's user id
            delivery_option (string): STANDARD, EXPEDITED or RUSH
            delivery_fee (number): The delivery fee in dollars
            card_design (string): CLASSIC, PREMIUM or CUSTOM
            design_fee (number): The design fee in dollars
            shipping_address (string): Where to send the card
            excess_replacement_fee (number, optional): The fee for replacements past the limit
        """
        excess = excess_replacement_fee or 0
        try:
            delivery_fee = float(delivery_fee) if delivery_fee is not None else None
        except (TypeError, ValueError):
            return "Error: delivery_fee must be a number."
        try:
            design_fee = float(design_fee) if design_fee is not None else None
        except (TypeError, ValueError):
            return "Error: design_fee must be a number."
        try:
            excess = float(excess)
        except (TypeError, ValueError):
            excess = 0
        if not all([account_id, user_id, delivery_option, delivery_fee is not None, card_design,
                    design_fee is not None, shipping_address]):
            return ("Error: Missing required parameters. Required: account_id, user_id, delivery_option, "
                    "delivery_fee, card_design, design_fee, shipping_address.")
        assert delivery_fee is not None and design_fee is not None
        deliveries = {"STANDARD": "7-10 business days", "EXPEDITED": "3-5 business days", "RUSH": "1-2 business days"}
        if delivery_option.upper() not in deliveries:
            return f"Error: Invalid delivery_option. Must be one of: {list(deliveries)}"
        delivery_option = delivery_option.upper()
        designs = ["CLASSIC", "PREMIUM", "CUSTOM"]
        if card_design.upper() not in designs:
            return f"Error: Invalid card_design. Must be one of: {designs}"
        card_design = card_design.upper()
        problem = self._debit_order_problem(account_id, user_id)
        if problem:
            return problem
        holdings = holdings_without_sign(self.table("accounts")[account_id])
        total = delivery_fee + design_fee + excess
        if total > 0 and holdings < total:
            return f"Error: Insufficient funds for fees. Total fees: ${total:.2f}. Current balance: ${holdings:.2f}"
        order_id = "dcord_" + hex_id(f"debit_card_order:{account_id}:{user_id}:{delivery_option}", 12)
        order = {"order_id": order_id, "account_id": account_id, "user_id": user_id,
                 "delivery_option": delivery_option, "card_design": card_design, "shipping_address": shipping_address,
                 "delivery_fee": delivery_fee, "design_fee": design_fee, "excess_replacement_fee": excess,
                 "total_fee": total, "order_date": TODAY, "expected_delivery": deliveries[delivery_option],
                 "status": "PENDING"}
        if not self.add("debit_card_orders", order_id, order):
            return "Error: Failed to create debit card order. Order may already exist."
        fees = [(f"Delivery ${delivery_fee}", f"Delivery: ${delivery_fee}") if delivery_fee > 0 else None,
                (f"Design ${design_fee}", f"Design: ${design_fee}") if design_fee > 0 else None,
                (f"Excess Replacement ${excess:.0f}", f"Excess Replacement: ${excess:.0f}") if excess > 0 else None]
        charged = [f for f in fees if f]
        if total > 0:
            self.table("accounts")[account_id]["current_holdings"] = f"{holdings - total:.2f}"
            fee_id = f"btxn_dcfee_{order_id[-8:]}"
            self.add("bank_account_transaction_history", fee_id, {
                "transaction_id": fee_id, "account_id": account_id, "date": TODAY,
                "description": f"DEBIT CARD ORDER FEE - {', '.join(f[0] for f in charged)}", "amount": -total,
                "type": "debit_card_fee", "status": "posted"})
        card_id = self._new_pending_card(account_id, user_id, card_design)
        lines = ["Debit Card Order Confirmed", f"Order ID: {order_id}", f"Card ID: {card_id}",
                 f"Linked Account: {account_id}", f"Delivery Option: {delivery_option}", f"Card Design: {card_design}",
                 f"Shipping Address: {shipping_address}", f"Expected Delivery: {deliveries[delivery_option]}", "",
                 "Note: Card will arrive with status PENDING. Customer must call to activate after receiving the card."]
        if total > 0:
            lines.append(f"Total Fees: ${total:.2f} ({', '.join(f[1] for f in charged)}) - CHARGED to account "
                         f"{account_id}")
            lines.append(f"New Account Balance: ${holdings - total:.2f}")
        else:
            lines.append("Total Fees: $0 (No additional charges)")
        return "\n".join(lines)

    def _debit_order_problem(self, account_id: str, user_id: str) -> str | None:
        accounts = self.table("accounts")
        if account_id not in accounts:
            return f"Error: Account '{account_id}' not found."
        account = accounts[account_id]
        if account.get("class") != "checking":
            return (f"Error: Debit cards can only be ordered for checking accounts. Account '{account_id}' is a "
                    f"{account.get('class')} account.")
        if account.get("status") != "OPEN":
            return f"Error: Account must be OPEN. Account '{account_id}' has status: {account.get('status')}"
        if account.get("user_id") != user_id:
            return f"Error: Account '{account_id}' does not belong to user '{user_id}'."
        holdings = holdings_without_sign(account)
        if holdings < 25.0:
            return f"Error: Account must have a minimum balance of $25. Current balance: ${holdings:.2f}"
        if any(o.get("account_id") == account_id and o.get("status") == "PENDING"
               for o in self.table("debit_card_orders").values()):
            return f"Error: There is already a pending debit card order for account '{account_id}'."
        if any(c.get("account_id") == account_id and c.get("status") == "ACTIVE"
               for c in self.table("debit_cards").values()):
            return (f"Error: Account '{account_id}' already has an active debit card. Maximum 1 active card per "
                    "checking account.")
        return None

    def _new_pending_card(self, account_id: str, user_id: str, design: str) -> str:
        """The ordered card, PENDING until activated; its number, CVV and issue reason derived as τ²-bench does."""
        card_id = "dbc_" + hex_id(f"debit_card:{account_id}:{user_id}:{TODAY}", 12)
        last4 = "".join(c for c in hex_id(f"card_details:{card_id}:last4", 8) if c.isdigit())[:4].zfill(4)
        cvv = "".join(c for c in hex_id(f"card_details:{card_id}:cvv", 6) if c.isdigit())[:3].zfill(3)
        holder = "CARDHOLDER"
        if user_id in self.table("users"):
            holder = self.table("users")[user_id].get("name", "CARDHOLDER").upper()
        month, _, year = TODAY.split("/")
        day = "31" if month in ("01", "03", "05", "07", "08", "10", "12") else "28" if month == "02" else "30"
        existing = [c for c in self.table("debit_cards").values() if c.get("account_id") == account_id]
        closed = next((c for c in existing if c.get("status") == "CLOSED"), None)
        if closed:
            why = closed.get("closure_reason", "first_card")
            reason = ("fraud" if why == "fraud_suspected" else why) if why in ("lost", "stolen", "fraud", "fraud_suspected") \
                else "first_card"
        else:
            reason = "first_card" if existing else "new_account"
        self.add("debit_cards", card_id, {
            "card_id": card_id, "account_id": account_id, "user_id": user_id, "cardholder_name": holder,
            "last_4_digits": last4, "cvv": cvv, "status": "PENDING", "issue_date": TODAY,
            "expiration_date": f"{month}/{day}/{int(year) + 4}", "card_design": design, "issue_reason": reason})
        return card_id

    def _activation_problem(self, card_id: Any, last_4_digits: Any, expiration_date: Any, cvv: Any, pin: Any,
                            reasons: tuple[str, ...], tool_name: str) -> str | None:
        if not all([card_id, last_4_digits, expiration_date, cvv, pin]):
            return "Error: Missing required parameters. Required: card_id, last_4_digits, expiration_date, cvv, pin."
        problem = pin_problem(pin)
        if problem:
            return f"Error: {problem}"
        if not cvv.isdigit() or len(cvv) != 3:
            return "Error: CVV must be exactly 3 digits."
        if not last_4_digits.isdigit() or len(last_4_digits) != 4:
            return "Error: Last 4 digits must be exactly 4 digits."
        cards = self.table("debit_cards")
        if card_id not in cards:
            return f"Error: Debit card '{card_id}' not found."
        card = cards[card_id]
        issue_reason = card.get("issue_reason", "new_account")
        if issue_reason not in reasons:
            right = ACTIVATION_TOOL_BY_REASON.get(issue_reason, "unknown")
            return (f"Error: Wrong activation tool. This card has issue_reason='{issue_reason}'. Please use {right} "
                    f"instead of {tool_name}.")
        problem = status_change_problem(card_id, card, "PENDING", "ACTIVE", "activated")
        if problem:
            return problem
        if card.get("last_4_digits") != last_4_digits:
            return "Error: Card verification failed. The last 4 digits do not match our records."
        return self._closed_account_problem(card, "activated")

    def _activate(self, card_id: str, new_status: str, mark: dict[str, str]) -> list[str]:
        """The card made ACTIVE; the account's other active cards given ``new_status`` and ``mark``."""
        card = self.table("debit_cards")[card_id]
        card.update(status="ACTIVE", activated_date=TODAY)
        others = []
        for other_id, other in self.table("debit_cards").items():
            if other_id != card_id and other.get("account_id") == card.get("account_id") and other.get("status") == "ACTIVE":
                other.update(status=new_status, **mark)
                others.append(other_id)
        return others

    @discoverable("agent", "write")
    def activate_debit_card_8291(self, card_id: str, last_4_digits: str, expiration_date: str, cvv: str,
                                 pin: str) -> str:
        """Activate a first debit card of a checking account (issue reason new_account or first_card).

        Args:
            card_id (string): The debit card
            last_4_digits (string): Last 4 digits of the card, to check
            expiration_date (string): The card's expiry, MM/YY
            cvv (string): The card's 3-digit CVV
            pin (string): The 4-digit PIN the customer chose
        """
        problem = self._activation_problem(card_id, last_4_digits, expiration_date, cvv, pin,
                                           ("new_account", "first_card"), "activate_debit_card_8291")
        if problem:
            return problem
        others = self._activate(card_id, "DEACTIVATED", {"deactivated_date": TODAY,
                                                         "deactivation_reason": "New card activated"})
        lines = ["New Debit Card Activation Successful", f"Card ID: {card_id}", "Status: ACTIVE",
                 f"Activation Date: {TODAY}", "", "Your card is now ready to use at any ATM or point of sale terminal.",
                 "For security, please sign the back of your card."]
        if others:
            lines.append(f"\nNote: Previous card(s) have been deactivated: {', '.join(others)}")
        return "\n".join(lines)

    @discoverable("agent", "write")
    def activate_debit_card_8292(self, card_id: str, last_4_digits: str, expiration_date: str, cvv: str,
                                 pin: str) -> str:
        """Activate a debit card that replaces a lost, stolen or compromised one.

        Args:
            card_id (string): The debit card
            last_4_digits (string): Last 4 digits of the card, to check
            expiration_date (string): The card's expiry, MM/YY
            cvv (string): The card's 3-digit CVV
            pin (string): The 4-digit PIN the customer chose
        """
        problem = self._activation_problem(card_id, last_4_digits, expiration_date, cvv, pin,
                                           ("lost", "stolen", "fraud"), "activate_debit_card_8292")
        if problem:
            return problem
        reason = self.table("debit_cards")[card_id].get("issue_reason", "lost")
        others = self._activate(card_id, "DEACTIVATED", {
            "deactivated_date": TODAY, "deactivation_reason": f"Replacement card activated ({reason})"})
        lines = ["Replacement Debit Card Activation Successful", f"Card ID: {card_id}",
                 f"Replacement Reason: {titled(reason)}", "Status: ACTIVE", f"Activation Date: {TODAY}", "",
                 "Your replacement card is now ready to use.", "", "IMPORTANT SECURITY REMINDERS:",
                 "- Please review your recent transactions for any unauthorized charges",
                 "- Report any suspicious activity immediately"]
        if reason == "fraud":
            lines.append("- Since fraud was suspected, we recommend changing your online banking password")
        if others:
            lines.append(f"\nPrevious card(s) have been deactivated for security: {', '.join(others)}")
        return "\n".join(lines)

    @discoverable("agent", "write")
    def activate_debit_card_8293(self, card_id: str, last_4_digits: str, expiration_date: str, cvv: str,
                                 pin: str) -> str:
        """Activate a reissued debit card (expired, damaged, upgraded or reissued by the bank).

        Args:
            card_id (string): The debit card
            last_4_digits (string): Last 4 digits of the card, to check
            expiration_date (string): The card's expiry, MM/YY
            cvv (string): The card's 3-digit CVV
            pin (string): The 4-digit PIN the customer chose
        """
        problem = self._activation_problem(card_id, last_4_digits, expiration_date, cvv, pin,
                                           ("expired", "damaged", "upgrade", "bank_reissue"), "activate_debit_card_8293")
        if problem:
            return problem
        reason = self.table("debit_cards")[card_id].get("issue_reason", "expired")
        others = self._activate(card_id, "GRACE_PERIOD", {
            "grace_period_ends": TODAY, "deactivation_reason": f"Reissued card activated ({reason})"})
        lines = ["Reissued Debit Card Activation Successful", f"Card ID: {card_id}", f"Reissue Reason: {titled(reason)}",
                 "Status: ACTIVE", f"Activation Date: {TODAY}", "", "Your reissued card is now ready to use."]
        if others:
            lines.append(f"\nNote: Your previous card(s) ({', '.join(others)}) will remain active for 24 hours as a "
                         "grace period.")
            lines.append("After 24 hours, the old card(s) will be automatically deactivated.")
        if reason in ("expired", "bank_reissue"):
            lines.append("\nReminder: If your card number changed, please update any recurring payments with your "
                         "new card details.")
        return "\n".join(lines)

    @discoverable("agent", "write")
    def close_debit_card_4721(self, card_id: str, reason: str) -> str:
        """Close a debit card for good.

        Args:
            card_id (string): The debit card
            reason (string): lost, stolen, fraud_suspected, damaged, no_longer_needed or account_closing
        """
        if not card_id or not reason:
            return "Error: Missing required parameters. Required: card_id, reason."
        reasons = ["lost", "stolen", "fraud_suspected", "damaged", "no_longer_needed", "account_closing"]
        if reason.lower() not in reasons:
            return f"Error: Invalid reason. Must be one of: {reasons}"
        reason = reason.lower()
        card = self.table("debit_cards").get(card_id)
        if card is None:
            return f"Error: Debit card '{card_id}' not found."
        previous = card.get("status")
        if previous not in ("ACTIVE", "PENDING"):
            return (f"Error: Debit card '{card_id}' cannot be closed. Current status: {previous}. Only ACTIVE or "
                    "PENDING cards can be closed.")
        card.update(status="CLOSED", closed_date=TODAY, closure_reason=reason)
        lines = ["Debit Card Closed Successfully", f"Card ID: {card_id}", f"Previous Status: {previous}",
                 "New Status: CLOSED", f"Closure Reason: {titled(reason)}", f"Closure Date: {TODAY}", ""]
        if reason in ("lost", "stolen", "fraud_suspected"):
            lines += ["IMPORTANT: This card has been immediately deactivated for security.",
                      "Any pending transactions may still be processed."]
            if reason == "fraud_suspected":
                lines += ["Please advise the customer to review recent transactions and file disputes for any "
                          "unauthorized charges.", "Also recommend changing their online banking password."]
        lines += ["", "Note: This card cannot be reactivated. If the customer needs a new card, they can order one "
                  "through the standard ordering process.",
                  "Any recurring payments linked to this card will need to be updated with new payment information."]
        return "\n".join(lines)

    @discoverable("agent", "write")
    def freeze_debit_card_3892(self, card_id: str) -> str:
        """Freeze a debit card for now; it can be unfrozen.

        Args:
            card_id (string): The debit card
        """
        problem = self._card_change_problem(card_id, "ACTIVE", "FROZEN", "frozen")
        if problem:
            return problem
        self.table("debit_cards")[card_id].update(status="FROZEN", frozen_date=TODAY)
        return "\n".join(["Debit Card Frozen Successfully", f"Card ID: {card_id}", "Status: FROZEN",
                          f"Frozen Date: {TODAY}", "", "While frozen:",
                          "- All new purchase transactions will be declined",
                          "- Recurring payments and subscriptions will be declined",
                          "- Pending transactions already authorized may still process", "",
                          "To unfreeze, the customer can call customer service or use the mobile app.",
                          "If the card is confirmed lost or stolen, recommend closing the card permanently instead."])

    @discoverable("agent", "write")
    def unfreeze_debit_card_3893(self, card_id: str) -> str:
        """Unfreeze a frozen debit card.

        Args:
            card_id (string): The debit card
        """
        problem = self._card_change_problem(card_id, "FROZEN", "ACTIVE", "unfrozen")
        if problem:
            return problem
        card = self.table("debit_cards")[card_id]
        problem = self._closed_account_problem(card, "unfrozen")
        if problem:
            return problem
        card.update(status="ACTIVE", unfrozen_date=TODAY)
        return "\n".join(["Debit Card Unfrozen Successfully", f"Card ID: {card_id}", "Status: ACTIVE",
                          f"Unfrozen Date: {TODAY}", "", "The card is now active and ready to use immediately.",
                          "All transactions will process normally."])

    @discoverable("agent", "write")
    def clear_debit_card_fraud_alert_4892(self, card_id: str, reason: str) -> str:
        """Clear a fraud alert or a velocity block on a debit card.

        Args:
            card_id (string): The debit card
            reason (string): 'customer_verified' (fraud alert) or 'velocity_clear' (velocity block)
        """
        if not card_id:
            return "Error: Missing required parameter: card_id."
        if not reason:
            return "Error: Missing required parameter: reason."
        if reason not in ("customer_verified", "velocity_clear"):
            return f"Error: Invalid reason '{reason}'. Must be one of: customer_verified, velocity_clear"
        card = self.table("debit_cards").get(card_id)
        if card is None:
            return f"Error: Debit card '{card_id}' not found."
        if reason == "velocity_clear":
            if not card.get("velocity_blocked", False):
                return f"Error: Debit card '{card_id}' does not have an active velocity block."
            card.update(velocity_blocked=False, velocity_cleared_date=TODAY)
            return "\n".join(["Velocity Block Cleared Successfully", f"Card ID: {card_id}", f"Cleared Date: {TODAY}",
                              "", "The card is now unblocked and ready for normal use.",
                              "The velocity monitoring will continue - if the same unusual patterns recur,",
                              "the card may be blocked again automatically."])
        if not card.get("fraud_alert_active", False):
            return f"Error: Debit card '{card_id}' does not have an active fraud alert."
        if card.get("alert_source") == "bank_initiated":
            return ("Error: BANK_INITIATED_ALERT - This fraud alert was initiated by the bank's fraud detection "
                    "system and cannot be cleared by customer service agents. Please transfer the customer to the "
                    "security team using transfer_to_human_agents.")
        card.update(fraud_alert_active=False, alert_source=None, fraud_alert_cleared_date=TODAY)
        return "\n".join(["Fraud Alert Cleared Successfully", f"Card ID: {card_id}", f"Cleared Date: {TODAY}", "",
                          "The fraud alert has been removed from the card.", "All transactions will process normally.",
                          "", "Remind the customer to review recent transactions and report any unauthorized charges."])

    @discoverable("agent", "write")
    def reset_debit_card_pin_6284(self, card_id: str, last_4_digits: str, new_pin: str) -> str:
        """Set a new PIN on a debit card whose PIN the customer forgot.

        Args:
            card_id (string): The debit card
            last_4_digits (string): Last 4 digits of the card, to check
            new_pin (string): The new 4-digit PIN
        """
        if not all([card_id, last_4_digits, new_pin]):
            return "Error: Missing required parameters. Required: card_id, last_4_digits, new_pin."
        if not last_4_digits.isdigit() or len(last_4_digits) != 4:
            return "Error: Last 4 digits must be exactly 4 digits."
        problem = pin_problem(new_pin)
        if problem:
            return f"Error: {problem}"
        card = self.table("debit_cards").get(card_id)
        if card is None:
            return f"Error: Debit card '{card_id}' not found."
        if card.get("last_4_digits") != last_4_digits:
            return "Error: Card verification failed. The last 4 digits do not match our records."
        if card.get("status") != "ACTIVE":
            return (f"Error: Cannot reset PIN. Card status is {card.get('status')}. Only ACTIVE cards can have their "
                    "PIN reset.")
        card.update(pin_last_changed=TODAY, pin_locked=False, pin_attempts_remaining=3)
        return "\n".join(["Debit Card PIN Reset Successfully", f"Card ID: {card_id}", f"PIN Changed: {TODAY}", "",
                          "The new PIN is effective immediately.", "Your card has been unlocked and is ready to use.",
                          "Customer can use the new PIN for ATM withdrawals and point-of-sale transactions.", "",
                          "Security reminder: Never share your PIN with anyone."])

    @discoverable("agent", "write")
    def change_debit_card_pin_6285(self, card_id: str, current_pin: str, new_pin: str) -> str:
        """Change a debit card's PIN when the customer knows the current one.

        Args:
            card_id (string): The debit card
            current_pin (string): The current 4-digit PIN
            new_pin (string): The new 4-digit PIN
        """
        if not all([card_id, current_pin, new_pin]):
            return "Error: Missing required parameters. Required: card_id, current_pin, new_pin."
        if not current_pin.isdigit() or len(current_pin) != 4:
            return "Error: Current PIN must be exactly 4 digits."
        problem = pin_problem(new_pin)
        if problem:
            return f"Error: {problem}"
        if current_pin == new_pin:
            return "Error: New PIN must be different from current PIN."
        card = self.table("debit_cards").get(card_id)
        if card is None:
            return f"Error: Debit card '{card_id}' not found."
        if card.get("status") != "ACTIVE":
            return (f"Error: Cannot change PIN. Card status is {card.get('status')}. Only ACTIVE cards can have their "
                    "PIN changed.")
        card["pin_last_changed"] = TODAY
        return "\n".join(["Debit Card PIN Changed Successfully", f"Card ID: {card_id}", f"PIN Changed: {TODAY}", "",
                          "The new PIN is effective immediately.",
                          "Customer can use the new PIN for ATM withdrawals and point-of-sale transactions.", "",
                          "Security reminder: Never share your PIN with anyone."])

    @discoverable("agent", "read")
    def get_debit_cards_by_account_id_7823(self, account_id: str) -> str:
        """The debit cards of a checking account, newest first.

        Args:
            account_id (string): The checking account
        """
        if not account_id:
            return "Error: Missing required parameter 'account_id'."
        account = self.table("accounts").get(account_id)
        if account is None:
            return f"Error: Account '{account_id}' not found."
        if account.get("class", "").lower() not in ("checking", "business_checking"):
            return (f"Error: Account '{account_id}' is not a checking account. Debit cards are only available for "
                    "checking accounts.")
        cards = [card_view(card_id, card) for card_id, card in self.table("debit_cards").items()
                 if card.get("account_id") == account_id]
        if not cards:
            return f"No debit cards found for account '{account_id}'."
        cards.sort(key=lambda c: c.get("date_issued") or "", reverse=True)
        return json.dumps(cards, indent=2)

    @discoverable("agent", "write")
    def request_temporary_debit_card_limit_increase_8374(self, card_id: str, limit_type: str, new_limit: int) -> str:
        """Raise a debit card's daily ATM or purchase limit for 24 hours.

        Args:
            card_id (string): The debit card
            limit_type (string): 'atm' or 'purchase'
            new_limit (integer): The temporary limit in dollars
        """
        if not card_id:
            return "Error: Missing required parameter: card_id."
        if not limit_type:
            return "Error: Missing required parameter: limit_type."
        if limit_type not in ("atm", "purchase"):
            return f"Error: Invalid limit_type '{limit_type}'. Must be 'atm' or 'purchase'."
        if new_limit is None:
            return "Error: Missing required parameter: new_limit."
        try:
            wanted = float(new_limit)
        except (ValueError, TypeError):
            return f"Error: new_limit must be an integer, got '{new_limit}'."
        if not wanted.is_integer():
            return f"Error: new_limit must be an integer, got '{wanted}'."
        limit = int(wanted)
        if limit <= 0:
            return "Error: new_limit must be a positive amount."
        card = self.table("debit_cards").get(card_id)
        if card is None:
            return f"Error: Debit card '{card_id}' not found."
        if card.get("status") != "ACTIVE":
            return (f"Error: Debit card '{card_id}' is not active. Current status: {card.get('status')}. Only ACTIVE "
                    "cards can have limit increases.")
        account_id = card.get("account_id")
        if not account_id or account_id not in self.table("accounts"):
            return f"Error: Could not find linked account for debit card '{card_id}'."
        account = self.table("accounts")[account_id]
        if account.get("status") != "OPEN":
            return (f"Error: The linked account '{account_id}' is not in good standing. Account status: "
                    f"{account.get('status')}.")
        opened = account.get("date_opened")
        if opened:
            try:
                age = (datetime.strptime(TODAY, "%m/%d/%Y") - datetime.strptime(opened, "%m/%d/%Y")).days
                if age < 60:
                    return f"Error: Account must be at least 60 days old for a temporary limit increase. Account age: {age} days."
            except ValueError:
                pass
        current, name = self._current_limit(card, account, limit_type)
        if isinstance(current, str):
            return current
        if current is None:
            return (f"Error: The card does not have a {name.lower()} configured. This may be a restricted account type "
                    "where limits are set by account policy and cannot be modified.")
        most = int(current * 1.5)
        if limit > most:
            return (f"Error: Requested limit ${limit} exceeds the maximum allowed temporary increase. Maximum temporary "
                    f"limit is ${most} (150% of current ${current} limit).")
        if limit <= current:
            return f"Error: Requested limit ${limit} is not higher than the current limit of ${current}."
        card[f"daily_{limit_type}_limit"] = limit
        card[f"temporary_{limit_type}_limit_increase"] = True
        card[f"original_{limit_type}_limit"] = current
        card[f"temporary_{limit_type}_limit_expires"] = TODAY
        return "\n".join([f"Temporary {name} Increase Granted Successfully", f"Card ID: {card_id}",
                          f"Previous Limit: ${current}", f"New Temporary Limit: ${limit}",
                          f"Increase Amount: ${limit - current}", "", "Important Information:",
                          "- This temporary increase expires in 24 hours",
                          f"- After expiration, the limit will revert to ${current}",
                          "- Only one temporary increase is allowed per 24-hour period", "",
                          "Note: If the customer is at a third-party (non-Rho-Bank) ATM, that ATM may have its own",
                          "per-transaction or daily limits that Rho-Bank cannot override. The customer may need to",
                          "use a Rho-Bank ATM or make multiple smaller withdrawals at third-party ATMs."])

    @staticmethod
    def _current_limit(card: dict[str, Any], account: dict[str, Any], limit_type: str) -> tuple[Any, str]:
        """The card's current limit and its display name; an error text instead of a limit for a teen account
        or an account level without a default ATM limit."""
        if limit_type == "purchase":
            return card.get("daily_purchase_limit"), "Daily Purchase Limit"
        name = "Daily ATM Withdrawal Limit"
        current = card.get("daily_atm_limit")
        if current is not None:
            return current, name
        level = account.get("level", "").lower()
        if "light green" in level:
            return ("Error: Light Green Account (teen checking) cards have policy-based limits that cannot be modified. "
                    "The daily ATM withdrawal limit of $150 is fixed by account policy for safety reasons. The customer "
                    "may request the parent/guardian to withdraw cash from their own account if needed."), name
        if level not in DEFAULT_ATM_LIMITS:
            return (f"Error: Could not determine the default ATM limit for account type '{account.get('level')}'. "
                    "Please verify the account type."), name
        return DEFAULT_ATM_LIMITS[level], name


def holdings_without_sign(account: dict[str, Any]) -> float:
    """The balance as the debit card order reads it: commas dropped but not a dollar sign (such a balance
    reads as 0, as in τ²-bench)."""
    try:
        return float(str(account.get("current_holdings", "0")).replace(",", ""))
    except ValueError:
        return 0.0


def card_view(card_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """A debit card as the card listing shows it: its id first, two fields renamed (moved to the end)."""
    view = {"card_id": card_id, **card}
    if "last_4_digits" in view and "card_number_last_4" not in view:
        view["card_number_last_4"] = view.pop("last_4_digits")
    if "issue_date" in view and "date_issued" not in view:
        view["date_issued"] = view.pop("issue_date")
    elif "created_date" in view and "date_issued" not in view:
        view["date_issued"] = view.pop("created_date")
    return view


def transaction_time(record: dict[str, Any]) -> datetime:
    text = str(record.get("date", ""))
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return datetime.min
