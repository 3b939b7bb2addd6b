"""The ``bikeshop`` domain: customer service for a network of bike rental and repair stations.

An original τ²-bench-style domain (``tasks/tau/bikeshop``; data made by ``scripts/make_bikeshop_domain.py``).
The database holds ``customers``, ``stations``, ``bikes``, ``rentals``, ``repair_tickets`` and a
``price_list``; the tools below read and change it in place. Money is euros as floats rounded half-up to
cents. The clock is fixed at ``BikeshopToolkit.NOW`` (the policy states the same time), so every replay is
deterministic, and new records get the next free number as their id.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Literal

from evalharness.adapters.tau.toolkit import Toolkit, assertion, tool

TIME_FORMAT = "%Y-%m-%d %H:%M"
MAX_RENTAL_HOURS = 168
MAX_DAYS_AHEAD = 14
DAMAGE_REPORT_WINDOW_HOURS = 24
OPEN_STATUSES = ("reserved", "active")

BikeType = Literal["city", "e-bike", "road", "mountain", "cargo", "kids"]
CancelReason = Literal["change_of_plans", "booked_by_mistake"]
DamagedPart = Literal["tires", "brakes", "drivetrain", "lights", "wheels", "frame", "battery"]


def money(value: Any) -> float:
    """A euro amount rounded half-up to cents (computed in decimal, so 0.125 becomes 0.13)."""
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def parse_time(text: str, what: str = "time") -> datetime:
    try:
        return datetime.strptime(text, TIME_FORMAT)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {what} '{text}': use the format YYYY-MM-DD HH:MM.") from None


def format_time(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def rental_price(hourly_rate: float, daily_rate: float, hours: int, discount_pct: float, insurance: bool,
                 insurance_per_day: float) -> dict[str, Any]:
    """The price of ``hours`` on one bike: whole days at the daily rate, the remaining hours at the hourly
    rate but never more than one daily rate; the membership discount applies to that base price only; damage
    cover costs ``insurance_per_day`` per started 24 hours and is not discounted."""
    days, rest = divmod(hours, 24)
    base = Decimal(str(daily_rate)) * days + min(Decimal(str(hourly_rate)) * rest, Decimal(str(daily_rate)))
    discount = Decimal(str(money(base * Decimal(str(discount_pct)))))
    cover = Decimal(str(insurance_per_day)) * math.ceil(hours / 24) if insurance else Decimal(0)
    return {
        "hours": hours, "hourly_rate": money(hourly_rate), "daily_rate": money(daily_rate),
        "base_price": money(base), "discount_pct": discount_pct, "discount": money(discount),
        "insurance_fee": money(cover), "total": money(base - discount + cover),
    }


class BikeshopToolkit(Toolkit):
    """Agent tools for the bike rental and repair network."""

    domain = "bikeshop"
    NOW: ClassVar[str] = "2025-06-14 10:00"

    # --- helpers -------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return parse_time(self.NOW)

    def _customer(self, customer_id: str) -> dict[str, Any]:
        customer = self.db["customers"].get(customer_id)
        if customer is None:
            raise ValueError(f"Customer '{customer_id}' not found.")
        return customer

    def _rental(self, rental_id: str) -> dict[str, Any]:
        rental = self.db["rentals"].get(rental_id)
        if rental is None:
            raise ValueError(f"Rental '{rental_id}' not found.")
        return rental

    def _bike(self, bike_id: str) -> dict[str, Any]:
        bike = self.db["bikes"].get(bike_id)
        if bike is None:
            raise ValueError(f"Bike '{bike_id}' not found.")
        return bike

    def _station(self, station_id: str) -> dict[str, Any]:
        station = self.db["stations"].get(station_id)
        if station is None:
            raise ValueError(f"Station '{station_id}' not found.")
        return station

    def _payment_method(self, customer: dict[str, Any], payment_method_id: str) -> dict[str, Any]:
        method = customer["payment_methods"].get(payment_method_id)
        if method is None:
            raise ValueError(f"Payment method '{payment_method_id}' does not belong to customer "
                             f"'{customer['customer_id']}'.")
        return method

    @staticmethod
    def _charge(method: dict[str, Any], amount: float) -> None:
        """Take ``amount`` from a store-credit balance (cards and PayPal are simply charged)."""
        if method["type"] == "store_credit":
            if Decimal(str(method["balance"])) < Decimal(str(amount)):
                raise ValueError(f"Store credit balance {method['balance']:.2f} is insufficient for a charge "
                                 f"of {amount:.2f}.")
            method["balance"] = money(Decimal(str(method["balance"])) - Decimal(str(amount)))

    @staticmethod
    def _store_credit(customer: dict[str, Any]) -> dict[str, Any]:
        for method in customer["payment_methods"].values():
            if method["type"] == "store_credit":
                return method
        raise ValueError(f"Customer '{customer['customer_id']}' has no store credit account.")

    def _bookings(self, bike_id: str, exclude: str | None = None) -> list[dict[str, Any]]:
        """Reserved and active rentals of a bike, by start time."""
        found = [r for r in self.db["rentals"].values()
                 if r["bike_id"] == bike_id and r["status"] in OPEN_STATUSES and r["rental_id"] != exclude]
        return sorted(found, key=lambda r: r["start_time"])

    def _check_free(self, bike_id: str, start: datetime, end: datetime, exclude: str | None = None) -> None:
        for other in self._bookings(bike_id, exclude):
            if parse_time(other["start_time"]) < end and start < parse_time(other["end_time"]):
                raise ValueError(f"Bike '{bike_id}' is already booked from {other['start_time']} to "
                                 f"{other['end_time']}.")

    def _next_id(self, table: str, prefix: str) -> str:
        numbers = [int(key[len(prefix):]) for key in self.db[table] if key[len(prefix):].isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1}"

    def _cancellation_terms(self, rental: dict[str, Any]) -> dict[str, Any]:
        customer = self._customer(rental["customer_id"])
        hours_before = (parse_time(rental["start_time"]) - self.now).total_seconds() / 3600
        fee_pct = 0.0
        for bracket in self.db["price_list"]["cancellation_fees"]:  # ordered by min_hours_before_start desc
            if hours_before >= bracket["min_hours_before_start"]:
                fee_pct = bracket["fee_pct"]
                break
        if customer["membership"] == "gold" and hours_before >= self.db["price_list"]["gold_free_cancellation_hours"]:
            fee_pct = 0.0
        total = Decimal(str(rental["price"]["total"]))
        fee = money(total * Decimal(str(fee_pct)))
        return {"hours_until_start": round(hours_before, 2), "fee_pct": fee_pct, "fee": fee,
                "refund": money(total - Decimal(str(fee)))}

    # --- read tools ----------------------------------------------------------------------------------

    @tool("read")
    def find_customer_id(self, email: str, first_name: str, last_name: str) -> str:
        """Find a customer's id from their email address together with their first and last name.

        Both must match the same customer; this is how a customer who does not know their customer id is
        authenticated.

        Args:
            email: The customer's email address, such as 'lena.fischer17@example.com'.
            first_name: The customer's first name, such as 'Lena'.
            last_name: The customer's last name, such as 'Fischer'.

        Returns:
            The customer id.
        """
        wanted = (email.strip().lower(), first_name.strip().lower(), last_name.strip().lower())
        for customer in self.db["customers"].values():
            have = (customer["email"].lower(), customer["name"]["first_name"].lower(),
                    customer["name"]["last_name"].lower())
            if have == wanted:
                return customer["customer_id"]
        raise ValueError("No customer matches that email and name.")

    @tool("read")
    def get_customer_details(self, customer_id: str) -> dict[str, Any]:
        """Get a customer's profile: name, contact details, membership tier, account status, payment methods
        (with the store credit balance), rental ids and repair ticket ids.

        Args:
            customer_id: The customer id, such as 'lena_fischer_4821'.
        """
        return copy.deepcopy(self._customer(customer_id))

    @tool("read")
    def get_rental_details(self, rental_id: str) -> dict[str, Any]:
        """Get a rental: customer, bike, pickup station, times, status, price breakdown, payments,
        incidents, cancellation and compensation. For a reserved rental it also shows what cancelling it now
        would cost (``cancellation_if_cancelled_now``).

        Args:
            rental_id: The rental id, such as 'R10042'.
        """
        rental = copy.deepcopy(self._rental(rental_id))
        if rental["status"] == "reserved":
            rental["cancellation_if_cancelled_now"] = self._cancellation_terms(rental)
        return rental

    @tool("read")
    def list_available_bikes(self, station_id: str, bike_type: BikeType | None = None) -> dict[str, Any]:
        """List the bikes currently available at a station (optionally of one type), with their size,
        rates and the times they are already booked.

        Args:
            station_id: The station id, such as 'ST03'.
            bike_type: Only bikes of this type: 'city', 'e-bike', 'road', 'mountain', 'cargo' or 'kids'.
                Omit it to list all types.
        """
        station = self._station(station_id)
        bikes = []
        for bike_id in station["bike_ids"]:
            bike = self.db["bikes"][bike_id]
            if bike["status"] != "available" or (bike_type is not None and bike["type"] != bike_type):
                continue
            bikes.append({
                "bike_id": bike_id, "type": bike["type"], "model": bike["model"], "size": bike["size"],
                "hourly_rate": bike["hourly_rate"], "daily_rate": bike["daily_rate"],
                "booked": [{"start_time": r["start_time"], "end_time": r["end_time"]}
                           for r in self._bookings(bike_id)],
            })
        info = {k: v for k, v in station.items() if k != "bike_ids"}
        return {"station": info, "available_bikes": bikes}

    @tool("read")
    def get_price_quote(self, bike_id: str, hours: int, customer_id: str, insurance: bool) -> dict[str, Any]:
        """Quote the price of renting a bike for a number of hours for a customer, with the customer's
        membership discount and optional damage cover. Changes nothing.

        Args:
            bike_id: The bike id, such as 'B1042'.
            hours: The rental length in whole hours (1 to 168).
            customer_id: The customer the quote is for (their membership tier sets the discount).
            insurance: Whether to add damage cover (charged per started 24 hours, not discounted).
        """
        bike = self._bike(bike_id)
        customer = self._customer(customer_id)
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_RENTAL_HOURS:
            raise ValueError(f"hours must be a whole number from 1 to {MAX_RENTAL_HOURS}.")
        prices = self.db["price_list"]
        quote = rental_price(bike["hourly_rate"], bike["daily_rate"], hours,
                             prices["membership_discounts"][customer["membership"]], bool(insurance),
                             prices["insurance_per_day"])
        return {"bike_id": bike_id, "bike_type": bike["type"], "bike_status": bike["status"],
                "membership": customer["membership"], "insurance": bool(insurance), **quote}

    @tool("read")
    def get_repair_ticket(self, ticket_id: str) -> dict[str, Any]:
        """Get a repair ticket: its type (service of a customer's own bike, damage to a rental bike, or a
        mechanical failure of a rental bike), station, status, work, estimate or charge and dates.

        Args:
            ticket_id: The repair ticket id, such as 'RT5012'.
        """
        ticket = self.db["repair_tickets"].get(ticket_id)
        if ticket is None:
            raise ValueError(f"Repair ticket '{ticket_id}' not found.")
        return copy.deepcopy(ticket)

    # --- write tools ---------------------------------------------------------------------------------

    @tool("write")
    def create_rental(self, customer_id: str, bike_id: str, start_time: str, hours: int, insurance: bool,
                      payment_method_id: str) -> dict[str, Any]:
        """Book a bike for a customer. The full price is charged to the payment method at booking; store
        credit can only be used if its balance covers the whole price.

        Args:
            customer_id: The customer id.
            bike_id: The id of an available bike, such as 'B1042'.
            start_time: When the rental starts, 'YYYY-MM-DD HH:MM' (not in the past, at most 14 days ahead).
            hours: The rental length in whole hours (1 to 168).
            insurance: Whether to add damage cover.
            payment_method_id: One of the customer's payment method ids, such as 'card_482193'.

        Returns:
            The new rental.
        """
        customer = self._customer(customer_id)
        bike = self._bike(bike_id)
        if bike["status"] != "available":
            raise ValueError(f"Bike '{bike_id}' is not available (status: {bike['status']}).")
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_RENTAL_HOURS:
            raise ValueError(f"hours must be a whole number from 1 to {MAX_RENTAL_HOURS}.")
        start = parse_time(start_time, "start_time")
        if start < self.now:
            raise ValueError(f"start_time {start_time} is in the past (now: {self.NOW}).")
        if start > self.now + timedelta(days=MAX_DAYS_AHEAD):
            raise ValueError(f"Rentals can be booked at most {MAX_DAYS_AHEAD} days ahead.")
        end = start + timedelta(hours=hours)
        self._check_free(bike_id, start, end)
        method = self._payment_method(customer, payment_method_id)
        prices = self.db["price_list"]
        price = rental_price(bike["hourly_rate"], bike["daily_rate"], hours,
                             prices["membership_discounts"][customer["membership"]], bool(insurance),
                             prices["insurance_per_day"])
        self._charge(method, price["total"])
        rental_id = self._next_id("rentals", "R")
        rental = {
            "rental_id": rental_id, "customer_id": customer_id, "bike_id": bike_id,
            "station_id": bike["station_id"], "status": "reserved", "booked_at": self.NOW,
            "start_time": format_time(start), "end_time": format_time(end), "hours": hours,
            "insurance": bool(insurance), "price": price, "payment_method_id": payment_method_id,
            "payments": [{"type": "charge", "amount": price["total"], "payment_method_id": payment_method_id,
                          "time": self.NOW}],
            "incident": None, "damage_ticket_id": None, "cancellation": None, "compensation": None,
        }
        self.db["rentals"][rental_id] = rental
        customer["rental_ids"].append(rental_id)
        return copy.deepcopy(rental)

    @tool("write")
    def cancel_rental(self, rental_id: str, reason: CancelReason) -> dict[str, Any]:
        """Cancel a reserved rental (one not yet picked up). The cancellation fee follows the policy's
        deadlines; the rest is refunded to the original payment method (store credit at once).

        Args:
            rental_id: The rental id, such as 'R10042'.
            reason: Why the customer cancels: 'change_of_plans' or 'booked_by_mistake'.

        Returns:
            The fee, the refund and where it goes.
        """
        rental = self._rental(rental_id)
        if rental["status"] != "reserved":
            raise ValueError(f"Rental '{rental_id}' is {rental['status']}; only reserved rentals can be "
                             "cancelled.")
        if reason not in ("change_of_plans", "booked_by_mistake"):
            raise ValueError("reason must be 'change_of_plans' or 'booked_by_mistake'.")
        terms = self._cancellation_terms(rental)
        customer = self._customer(rental["customer_id"])
        method = self._payment_method(customer, rental["payment_method_id"])
        if method["type"] == "store_credit":
            method["balance"] = money(Decimal(str(method["balance"])) + Decimal(str(terms["refund"])))
        rental["status"] = "cancelled"
        rental["cancellation"] = {"reason": reason, "cancelled_at": self.NOW, "fee": terms["fee"],
                                  "refund": terms["refund"]}
        if terms["refund"] > 0:
            rental["payments"].append({"type": "refund", "amount": terms["refund"],
                                       "payment_method_id": rental["payment_method_id"], "time": self.NOW})
        result = {"rental_id": rental_id, "status": "cancelled", "fee": terms["fee"], "refund": terms["refund"],
                  "refund_payment_method_id": rental["payment_method_id"]}
        if method["type"] == "store_credit":
            result["store_credit_balance"] = method["balance"]
        return result

    @tool("write")
    def extend_rental(self, rental_id: str, extra_hours: int, payment_method_id: str) -> dict[str, Any]:
        """Extend a reserved or active rental by whole hours. The rental is re-priced for its new length
        (same discount and damage cover) and the difference is charged to the payment method.

        Args:
            rental_id: The rental id, such as 'R10042'.
            extra_hours: How many hours to add (at least 1; the rental may not exceed 168 hours in total).
            payment_method_id: One of the customer's payment method ids to pay the difference.

        Returns:
            The new end time, the extension charge and the new total.
        """
        rental = self._rental(rental_id)
        if rental["status"] not in OPEN_STATUSES:
            raise ValueError(f"Rental '{rental_id}' is {rental['status']}; only reserved or active rentals can "
                             "be extended.")
        if not isinstance(extra_hours, int) or isinstance(extra_hours, bool) or extra_hours < 1:
            raise ValueError("extra_hours must be a whole number of at least 1.")
        hours = rental["hours"] + extra_hours
        if hours > MAX_RENTAL_HOURS:
            raise ValueError(f"A rental may last at most {MAX_RENTAL_HOURS} hours; this one would last {hours}.")
        old_end = parse_time(rental["end_time"])
        new_end = old_end + timedelta(hours=extra_hours)
        self._check_free(rental["bike_id"], old_end, new_end, exclude=rental_id)
        customer = self._customer(rental["customer_id"])
        method = self._payment_method(customer, payment_method_id)
        old = rental["price"]
        price = rental_price(old["hourly_rate"], old["daily_rate"], hours, old["discount_pct"],
                             rental["insurance"], self.db["price_list"]["insurance_per_day"])
        charge = money(Decimal(str(price["total"])) - Decimal(str(old["total"])))
        self._charge(method, charge)
        rental["hours"] = hours
        rental["end_time"] = format_time(new_end)
        rental["price"] = price
        rental["payments"].append({"type": "extension_charge", "amount": charge,
                                   "payment_method_id": payment_method_id, "time": self.NOW})
        return {"rental_id": rental_id, "end_time": rental["end_time"], "hours": hours,
                "extension_charge": charge, "new_total": price["total"], "payment_method_id": payment_method_id}

    @tool("write")
    def report_damage(self, rental_id: str, part: DamagedPart) -> dict[str, Any]:
        """Report damage to a rental bike, during the rental or within 24 hours after it ended. Opens a
        repair ticket, takes the bike out of service and charges the damage fee for the part to the
        rental's payment method (no fee when the rental has damage cover).

        Args:
            rental_id: The rental id, such as 'R10042'.
            part: The damaged part: 'tires', 'brakes', 'drivetrain', 'lights', 'wheels', 'frame' or 'battery'.

        Returns:
            The new repair ticket.
        """
        rental = self._rental(rental_id)
        fees = self.db["price_list"]["damage_fees"]
        if part not in fees:
            raise ValueError(f"Unknown part '{part}'; one of: {', '.join(fees)}.")
        if rental["status"] == "completed":
            if self.now - parse_time(rental["end_time"]) > timedelta(hours=DAMAGE_REPORT_WINDOW_HOURS):
                raise ValueError(f"Rental '{rental_id}' ended more than {DAMAGE_REPORT_WINDOW_HOURS} hours ago; "
                                 "damage can no longer be reported for it.")
        elif rental["status"] != "active":
            raise ValueError(f"Rental '{rental_id}' is {rental['status']}; damage can only be reported for "
                             "active or completed rentals.")
        if rental["damage_ticket_id"] is not None:
            raise ValueError(f"Damage was already reported for rental '{rental_id}' "
                             f"(ticket {rental['damage_ticket_id']}).")
        customer = self._customer(rental["customer_id"])
        fee = 0.0 if rental["insurance"] else money(fees[part])
        method = self._payment_method(customer, rental["payment_method_id"])
        if fee > 0:
            self._charge(method, fee)
            rental["payments"].append({"type": "damage_fee", "amount": fee,
                                       "payment_method_id": rental["payment_method_id"], "time": self.NOW})
        bike = self._bike(rental["bike_id"])
        ticket_id = self._next_id("repair_tickets", "RT")
        ticket = {
            "ticket_id": ticket_id, "type": "rental_damage", "customer_id": customer["customer_id"],
            "station_id": bike["station_id"], "bike_id": bike["bike_id"], "rental_id": rental_id,
            "part": part, "status": "open", "opened_at": self.NOW, "customer_charge": fee,
        }
        self.db["repair_tickets"][ticket_id] = ticket
        bike["status"] = "maintenance"
        rental["damage_ticket_id"] = ticket_id
        customer["repair_ticket_ids"].append(ticket_id)
        return copy.deepcopy(ticket)

    @tool("write")
    def issue_store_credit(self, customer_id: str, rental_id: str, amount: float) -> dict[str, Any]:
        """Credit a compensation for one of the customer's rentals to their store credit balance, at once.
        A rental can be compensated only once, and never by more than its total.

        Args:
            customer_id: The customer id.
            rental_id: The rental being compensated, such as 'R10042'.
            amount: The euro amount to credit, with at most two decimals, such as 12.5.

        Returns:
            The amount credited and the new store credit balance.
        """
        customer = self._customer(customer_id)
        rental = self._rental(rental_id)
        if rental["customer_id"] != customer_id:
            raise ValueError(f"Rental '{rental_id}' does not belong to customer '{customer_id}'.")
        if rental["compensation"] is not None:
            raise ValueError(f"Rental '{rental_id}' was already compensated.")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise TypeError("amount must be a number.")
        if money(amount) != amount:
            raise ValueError("amount must have at most two decimals.")
        if amount <= 0:
            raise ValueError("amount must be positive.")
        if amount > rental["price"]["total"]:
            raise ValueError(f"amount {amount:.2f} exceeds the rental total {rental['price']['total']:.2f}.")
        method = self._store_credit(customer)
        method["balance"] = money(Decimal(str(method["balance"])) + Decimal(str(amount)))
        rental["compensation"] = {"amount": money(amount), "issued_at": self.NOW, "payment_method_id": method["id"]}
        return {"customer_id": customer_id, "rental_id": rental_id, "amount": money(amount),
                "store_credit_balance": method["balance"]}

    # --- generic -------------------------------------------------------------------------------------

    @tool("generic")
    def transfer_to_human_agents(self, summary: str) -> str:
        """Transfer the customer to a human agent, with a summary of their issue. Only when the policy says
        so or the request cannot be handled with the available tools.

        Args:
            summary: A short summary of the customer's issue.
        """
        return "Transfer successful"

    # --- assertions for tasks' env_assertions ---------------------------------------------------------

    @assertion
    def assert_rental_status(self, rental_id: str, status: str) -> bool:
        """The rental exists and has the given status."""
        rental = self.db["rentals"].get(rental_id)
        return rental is not None and rental["status"] == status

    @assertion
    def assert_bike_status(self, bike_id: str, status: str) -> bool:
        """The bike exists and has the given status."""
        bike = self.db["bikes"].get(bike_id)
        return bike is not None and bike["status"] == status

    @assertion
    def assert_store_credit_balance(self, customer_id: str, balance: float) -> bool:
        """The customer's store credit balance equals ``balance`` (to the cent)."""
        customer = self.db["customers"].get(customer_id)
        if customer is None:
            return False
        credits = [m for m in customer["payment_methods"].values() if m["type"] == "store_credit"]
        return bool(credits) and money(credits[0]["balance"]) == money(balance)
