"""τ²-bench's ``retail`` domain: an online store's users, products and orders.

Same semantics as τ²-bench's ``RetailTools`` (read from ``sierra-research/tau2-bench``,
``src/tau2/domains/retail/tools.py``), written against plain JSON data. Things that look like mistakes
are τ²-bench's behaviour and are kept on purpose, because its gold database is computed with them:

- ``modify_pending_order_items`` gives *every* modified item the price and options of the *last* new item
  in the list (the loop that applies the change reuses the variant left over from the checking loop), and
  records the price difference unrounded (``abs`` of a float sum) while gift-card balances are rounded.
- ``exchange_delivered_order_items`` rounds the difference but moves no money; it accepts an item
  exchanged for itself (only ``modify_pending_order_items`` refuses that).
- ``cancel_pending_order`` refunds every entry of the payment history, refunds included.
- ``modify_pending_order_address`` and ``modify_pending_order_payment`` accept any status containing
  "pending" (so also "pending (item modified)"); cancelling and modifying items need exactly "pending".
- An exchange or return with no items still changes the status (and an empty exchange records a price
  difference of integer ``0``, which serialises as ``0``, not ``0.0``).
- Names and emails are matched case- and accent-insensitively (``fold_for_match``), zip codes exactly.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalharness.adapters.tau.domains._common import TauToolkit, dump
from evalharness.adapters.tau.toolkit import tool

# --- τ²-bench's data model (field order and defaults are what the outputs and the state show) ---------


class Variant(BaseModel):
    item_id: str
    options: dict[str, str]
    available: bool
    price: float


class Product(BaseModel):
    name: str
    product_id: str
    variants: dict[str, Variant]


class UserName(BaseModel):
    first_name: str
    last_name: str


class UserAddress(BaseModel):
    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


class CreditCard(BaseModel):
    source: Literal["credit_card"]
    id: str
    brand: str
    last_four: str


class GiftCard(BaseModel):
    source: Literal["gift_card"]
    id: str
    balance: float


class Paypal(BaseModel):
    source: Literal["paypal"]
    id: str


class User(BaseModel):
    user_id: str
    name: UserName
    address: UserAddress
    email: str
    payment_methods: dict[str, CreditCard | GiftCard | Paypal]  # τ²-bench's union order
    orders: list[str]


class OrderFullfilment(BaseModel):  # sic, as τ²-bench spells it
    tracking_id: list[str]
    item_ids: list[str]


class OrderItem(BaseModel):
    name: str
    product_id: str
    item_id: str
    price: float
    options: dict[str, str]


class OrderPayment(BaseModel):
    transaction_type: Literal["payment", "refund"]
    amount: float
    payment_method_id: str


OrderStatus = Literal["processed", "pending", "pending (item modified)", "delivered", "cancelled",
                      "exchange requested", "return requested"]


class Order(BaseModel):
    order_id: str
    user_id: str
    address: UserAddress
    items: list[OrderItem]
    status: OrderStatus
    fulfillments: list[OrderFullfilment]
    payment_history: list[OrderPayment]
    cancel_reason: Literal["no longer needed", "ordered by mistake"] | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: float | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None


class RetailDB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    products: dict[str, Product] = Field(description="products by product id")
    users: dict[str, User] = Field(description="users by user id")
    orders: dict[str, Order] = Field(description="orders by order id")


CANCEL_REASONS = ("no longer needed", "ordered by mistake")
CALCULATOR_CHARACTERS = set("0123456789+-*/(). ")


def fold_for_match(text: str) -> str:
    """Case- and accent-folded text for name and email look-ups (surrounding spaces dropped)."""
    decomposed = unicodedata.normalize("NFD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _is_gift_card(method: dict[str, Any]) -> bool:
    return method.get("source") == "gift_card"


class RetailTools(TauToolkit):
    """The retail agent's tools (the class is named as τ²-bench's so Python's own error texts match)."""

    domain = "retail"
    DB_MODEL = RetailDB

    # --- look-ups ------------------------------------------------------------------------------------

    def _order(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.db["orders"]:
            raise ValueError("Order not found")
        return self.db["orders"][order_id]

    def _user(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.db["users"]:
            raise ValueError("User not found")
        return self.db["users"][user_id]

    def _product(self, product_id: str) -> dict[str, Any]:
        if product_id not in self.db["products"]:
            raise ValueError("Product not found")
        return self.db["products"][product_id]

    def _variant(self, product_id: str, item_id: str) -> dict[str, Any]:
        product = self._product(product_id)
        if item_id not in product["variants"]:
            raise ValueError("Variant not found")
        return product["variants"][item_id]

    def _payment_method(self, user_id: str, payment_method_id: str) -> dict[str, Any]:
        user = self._user(user_id)
        if payment_method_id not in user["payment_methods"]:
            raise ValueError("Payment method not found")
        return user["payment_methods"][payment_method_id]

    @staticmethod
    def _first_item(order: dict[str, Any], item_id: str) -> dict[str, Any]:
        item = next((i for i in order["items"] if i["item_id"] == item_id), None)
        if item is None:
            raise ValueError(f"Item {item_id} not found")
        return item

    # --- generic -------------------------------------------------------------------------------------

    @tool("generic")
    def calculate(self, expression: str) -> str:
        """Evaluate an arithmetic expression and return the result rounded to 2 decimals.

        Args:
            expression: The expression, such as '2 + 2'; only digits, + - * /, parentheses, '.' and spaces.
        """
        if not all(c in CALCULATOR_CHARACTERS for c in expression):
            raise ValueError("Invalid characters in expression")
        return str(round(float(eval(expression, {"__builtins__": None}, {})), 2))

    @tool("generic")
    def transfer_to_human_agents(self, summary: str) -> str:
        """Hand the conversation to a human agent with a summary of the user's issue. Only transfer when the
        user explicitly asks for a human, or when the policy and the tools give no way to solve the issue.

        Args:
            summary: A short summary of the user's issue.
        """
        return "Transfer successful"

    # --- read ----------------------------------------------------------------------------------------

    @tool("read")
    def find_user_id_by_email(self, email: str) -> str:
        """Look up a user's id by email address. Returns an error if no user has that email.

        Args:
            email: The user's email address, such as 'someone@example.com'.
        """
        wanted = fold_for_match(email)
        for user_id, user in self.db["users"].items():
            if fold_for_match(user["email"]) == wanted:
                return user_id
        raise ValueError("User not found")

    @tool("read")
    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        """Look up a user's id by first name, last name and zip code. Returns an error if there is no such
        user. Use the email look-up first; use this one only if the user cannot be found by email or does
        not remember it.

        Args:
            first_name: The user's first name, such as 'John'.
            last_name: The user's last name, such as 'Doe'.
            zip: The zip code of the user's address, such as '12345'.
        """
        first, last = fold_for_match(first_name), fold_for_match(last_name)
        for user_id, user in self.db["users"].items():
            if (fold_for_match(user["name"]["first_name"]) == first
                    and fold_for_match(user["name"]["last_name"]) == last
                    and user["address"]["zip"] == zip):
                return user_id
        raise ValueError("User not found")

    @tool("read")
    def get_item_details(self, item_id: str) -> dict[str, Any]:
        """Get the details of one item (a variant of a product): options, availability and price.

        Args:
            item_id: The item id, such as '6086499569'. Item ids and product ids are different things.
        """
        for product in self.db["products"].values():
            if item_id in product["variants"]:
                return product["variants"][item_id]
        raise ValueError("Item not found")

    @tool("read")
    def get_order_details(self, order_id: str) -> dict[str, Any]:
        """Get the status and the details of an order.

        Args:
            order_id: The order id, such as '#W0000000'; note the '#' at its start.
        """
        return self._order(order_id)

    @tool("read")
    def get_product_details(self, product_id: str) -> dict[str, Any]:
        """Get the inventory of a product: each of its items with options, availability and price.

        Args:
            product_id: The product id, such as '6086499569'. Product ids and item ids are different things.
        """
        return self._product(product_id)

    @tool("read")
    def get_user_details(self, user_id: str) -> dict[str, Any]:
        """Get a user's details: name, address, email, payment methods and order ids.

        Args:
            user_id: The user id, such as 'sara_doe_496'.
        """
        return self._user(user_id)

    @tool("read")
    def list_all_product_types(self) -> str:
        """List every product type of the store (there are 50) as a JSON object from product name to product
        id, sorted by name. Each product type has several items, each with its own item id and options."""
        return json.dumps({p["name"]: p["product_id"] for p in self.db["products"].values()}, sort_keys=True)

    # --- write ---------------------------------------------------------------------------------------

    @tool("write")
    def cancel_pending_order(self, order_id: str, reason: str) -> dict[str, Any]:
        """Cancel a pending order; processed or delivered orders cannot be cancelled. Explain the details
        and get the user's explicit confirmation (yes) first. The order becomes 'cancelled' and its payments
        are refunded: at once to a gift card, otherwise within 5 to 7 business days. Returns the order.

        Args:
            order_id: The order id, such as '#W0000000'; note the '#' at its start.
            reason: Why the order is cancelled: either 'no longer needed' or 'ordered by mistake'.
        """
        order = self._order(order_id)
        if order["status"] != "pending":
            raise ValueError("Non-pending order cannot be cancelled")
        if reason not in CANCEL_REASONS:
            raise ValueError("Invalid reason")
        refunds = []
        for payment in order["payment_history"]:
            method_id = payment["payment_method_id"]
            refunds.append(dump(OrderPayment, transaction_type="refund", amount=payment["amount"],
                                payment_method_id=method_id))
            user = self._user(order["user_id"])
            method = self._payment_method(user["user_id"], method_id)
            if _is_gift_card(method):
                method["balance"] = round(method["balance"] + payment["amount"], 2)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        order["payment_history"].extend(refunds)
        return order

    @tool("write")
    def exchange_delivered_order_items(self, order_id: str, item_ids: list[str], new_item_ids: list[str],
                                       payment_method_id: str) -> dict[str, Any]:
        """Exchange items of a delivered order for other items of the same products. A delivered order can
        be returned or exchanged only once. Explain the details and get the user's explicit confirmation
        (yes) first. The order becomes 'exchange requested'. Returns the order.

        Args:
            order_id: The order id, such as '#W0000000'; note the '#' at its start.
            item_ids: The ids of the items to exchange, such as '1008292230'; an id may appear more than once.
            new_item_ids: The ids of the new items, one per entry of item_ids and in the same order, each of the same product as the item it replaces; an id may appear more than once.
            payment_method_id: The payment method that pays or receives the price difference, such as 'gift_card_0000000' or 'credit_card_0000000' (see the user's or the order's details).
        """
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ValueError("Non-delivered order cannot be exchanged")
        in_order = [i["item_id"] for i in order["items"]]
        for item_id in item_ids:
            if item_ids.count(item_id) > in_order.count(item_id):
                raise ValueError(f"Number of {item_id} not found.")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match.")
        difference: float = 0
        for item_id, new_item_id in zip(item_ids, new_item_ids):
            item = self._first_item(order, item_id)
            variant = self._variant(item["product_id"], new_item_id)
            if not variant["available"]:
                raise ValueError(f"New item {new_item_id} not found or available")
            difference += variant["price"] - item["price"]
        difference = round(difference, 2)
        method = self._payment_method(order["user_id"], payment_method_id)
        if _is_gift_card(method) and method["balance"] < difference:
            raise ValueError("Insufficient gift card balance to pay for the price difference")
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(item_ids)
        order["exchange_new_items"] = sorted(new_item_ids)
        order["exchange_payment_method_id"] = payment_method_id
        order["exchange_price_difference"] = difference
        return order

    @tool("write")
    def modify_pending_order_address(self, order_id: str, address1: str, address2: str, city: str, state: str,
                                     country: str, zip: str) -> dict[str, Any]:
        """Change the shipping address of a pending order. Explain the change and get the user's explicit
        confirmation (yes) first. Returns the order.

        Args:
            order_id: The order id, such as '#W0000000'; note the '#' at its start.
            address1: The first line of the address, such as '123 Main St'.
            address2: The second line of the address, such as 'Apt 1', or ''.
            city: The city, such as 'San Francisco'.
            state: The state, such as 'CA'.
            country: The country, such as 'USA'.
            zip: The zip code, such as '12345'.
        """
        order = self._order(order_id)
        if "pending" not in order["status"]:
            raise ValueError("Non-pending order cannot be modified")
        order["address"] = dump(UserAddress, address1=address1, address2=address2, city=city, state=state,
                                country=country, zip=zip)
        return order

    @tool("write")
    def modify_pending_order_items(self, order_id: str, item_ids: list[str], new_item_ids: list[str],
                                   payment_method_id: str) -> dict[str, Any]:
        """Change items of a pending order to other items of the same products. This can be done only once
        per order, after which the order can no longer be modified or cancelled. Explain the change and get
        the user's explicit confirmation (yes) first. Returns the order.

        Args:
            order_id: The order id, such as '#W0000000'; note the '#' at its start.
            item_ids: The ids of the items to change, such as '1008292230'; an id may appear more than once.
            new_item_ids: The ids of the new items, one per entry of item_ids and in the same order, each of the same product as the item it replaces; an id may appear more than once.
            payment_method_id: The payment method that pays or receives the price difference, such as 'gift_card_0000000' or 'credit_card_0000000' (see the user's or the order's details).
        """
        order = self._order(order_id)
        if order["status"] != "pending":
            raise ValueError("Non-pending order cannot be modified")
        in_order = [i["item_id"] for i in order["items"]]
        for item_id in item_ids:
            if item_ids.count(item_id) > in_order.count(item_id):
                raise ValueError(f"{item_id} not found")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match")
        difference: float = 0
        variant: dict[str, Any] | None = None
        for item_id, new_item_id in zip(item_ids, new_item_ids):
            if item_id == new_item_id:
                raise ValueError("The new item id should be different from the old item id")
            item = self._first_item(order, item_id)
            variant = self._variant(item["product_id"], new_item_id)
            if not variant["available"]:
                raise ValueError(f"New item {new_item_id} not found or available")
            difference += variant["price"] - item["price"]
        method = self._payment_method(order["user_id"], payment_method_id)
        if _is_gift_card(method) and method["balance"] < difference:
            raise ValueError("Insufficient gift card balance to pay for the new item")
        order["payment_history"].append(dump(
            OrderPayment, transaction_type="payment" if difference > 0 else "refund", amount=abs(difference),
            payment_method_id=payment_method_id))
        if _is_gift_card(method):
            method["balance"] = round(method["balance"] - difference, 2)
        for item_id, new_item_id in zip(item_ids, new_item_ids):
            item = self._first_item(order, item_id)
            item["item_id"] = new_item_id
            # τ²-bench applies the last checked variant to every changed item (see the module docstring).
            assert variant is not None
            item["price"] = variant["price"]
            item["options"] = dict(variant["options"])
        order["status"] = "pending (item modified)"
        return order

    @tool("write")
    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> dict[str, Any]:
        """Pay a pending order with another payment method. Explain the change and get the user's explicit
        confirmation (yes) first. Returns the order.

        Args:
            order_id: The order id, such as '#W0000000'; note the '#' at its start.
            payment_method_id: The new payment method, such as 'gift_card_0000000' or 'credit_card_0000000' (see the user's or the order's details).
        """
        order = self._order(order_id)
        if "pending" not in order["status"]:
            raise ValueError("Non-pending order cannot be modified")
        method = self._payment_method(order["user_id"], payment_method_id)
        history = order["payment_history"]
        if len(history) != 1 or history[0]["transaction_type"] != "payment":
            raise ValueError("There should be exactly one payment for a pending order")
        if history[0]["payment_method_id"] == payment_method_id:
            raise ValueError("The new payment method should be different from the current one")
        amount = history[0]["amount"]
        if _is_gift_card(method) and method["balance"] < amount:
            raise ValueError("Insufficient gift card balance to pay for the order")
        history.extend([
            dump(OrderPayment, transaction_type="payment", amount=amount, payment_method_id=payment_method_id),
            dump(OrderPayment, transaction_type="refund", amount=amount,
                 payment_method_id=history[0]["payment_method_id"]),
        ])
        if _is_gift_card(method):
            method["balance"] = round(method["balance"] - amount, 2)
        old_method = self._payment_method(order["user_id"], history[0]["payment_method_id"])
        if _is_gift_card(old_method):
            old_method["balance"] = round(old_method["balance"] + amount, 2)
        return order

    @tool("write")
    def modify_user_address(self, user_id: str, address1: str, address2: str, city: str, state: str,
                            country: str, zip: str) -> dict[str, Any]:
        """Change a user's default address. Explain the change and get the user's explicit confirmation
        (yes) first. Returns the user's details.

        Args:
            user_id: The user id, such as 'sara_doe_496'.
            address1: The first line of the address, such as '123 Main St'.
            address2: The second line of the address, such as 'Apt 1', or ''.
            city: The city, such as 'San Francisco'.
            state: The state, such as 'CA'.
            country: The country, such as 'USA'.
            zip: The zip code, such as '12345'.
        """
        user = self._user(user_id)
        user["address"] = dump(UserAddress, address1=address1, address2=address2, city=city, state=state,
                               country=country, zip=zip)
        return user

    @tool("write")
    def return_delivered_order_items(self, order_id: str, item_ids: list[str],
                                     payment_method_id: str) -> dict[str, Any]:
        """Return items of a delivered order. The order becomes 'return requested' and the user gets an
        email on how and where to send the items back. Explain the details and get the user's explicit
        confirmation (yes) first. Returns the order.

        Args:
            order_id: The order id, such as '#W0000000'; note the '#' at its start.
            item_ids: The ids of the items to return, such as '1008292230'; an id may appear more than once.
            payment_method_id: The payment method that receives the refund: the order's original payment method or a gift card of the user, such as 'gift_card_0000000' or 'credit_card_0000000'.
        """
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ValueError("Non-delivered order cannot be returned")
        user = self._user(order["user_id"])
        method = self._payment_method(user["user_id"], payment_method_id)
        if not _is_gift_card(method) and payment_method_id != order["payment_history"][0]["payment_method_id"]:
            raise ValueError("Payment method should be the original payment method")
        in_order = [i["item_id"] for i in order["items"]]
        for item_id in item_ids:
            if item_ids.count(item_id) > in_order.count(item_id):
                raise ValueError("Some item not found")
        order["status"] = "return requested"
        order["return_items"] = sorted(item_ids)
        order["return_payment_method_id"] = payment_method_id
        return order
