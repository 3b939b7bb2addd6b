#!/usr/bin/env python3
"""Generate evalharness's ``bikeshop`` customer-service domain (tasks/tau/bikeshop/) and verify it.

Why: the ``tau`` task needs a τ²-bench-format domain the project may ship. ``bikeshop`` is original: a
network of bike rental and repair stations, made up for evalharness (no data from τ²-bench).

What it writes (nothing else; ``policy.md`` and ``README.md`` in the same folder are written by hand):
  - ``db.json``: customers, stations, bikes, rentals, repair tickets and the price list, drawn from
    ``random.Random(SEED)``. On top of random background records, "planted" customers, rentals and tickets
    give each task exactly the situation it needs (a reservation 20 hours ahead paid by PayPal, a rental with
    a mechanical failure, ...).
  - ``tasks.json``: the tasks, one function each below. Gold actions are the calls a perfect agent makes;
    the values the agent must communicate are read from the outputs of those very calls.
  - ``split_tasks.json``: ``base`` (all), ``train`` and ``test`` (every third task of each category).

Verification (exit status 1 on any failure): every task's gold actions replay through
``BikeshopToolkit.call`` on a fresh copy of the database without a tool error; every numeric
``communicate_info`` value occurs in some gold call's output, and every other one in an output or in
``policy.md`` (the reason a refusal must give); ``env_assertions`` hold afterwards; tasks without a gold write
leave the database unchanged and tasks with one change it; every argument of every gold write matters
(changing it errors or gives another final database); and an agent that touches nothing and answers
unhelpfully scores 0 on every task, by the harness's own evaluator.

Usage (with the project installed, ``pip install -e .``):
    python3 scripts/make_bikeshop_domain.py [--check]   # --check: verify the files on disk, write nothing
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.data import TauDomain
from evalharness.adapters.tau.domains.bikeshop import (
    BikeshopToolkit,
    format_time,
    money,
    parse_time,
    rental_price,
)
from evalharness.adapters.tau.evaluator import evaluate
from evalharness.adapters.tau.orchestrator import GREETING
from evalharness.tools import ToolError
from evalharness.types import Message

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tasks" / "tau" / "bikeshop"
SEED = 20250614
NOW = parse_time(BikeshopToolkit.NOW)

# --- fixed reference data (policy.md repeats it) ---------------------------------------------------------

STATIONS = [
    ("ST01", "Central Station", "1 Station Square", True),
    ("ST02", "Old Town Market", "14 Market Street", False),
    ("ST03", "Harbour Front", "2 Quay Road", True),
    ("ST04", "University Campus", "45 College Avenue", False),
    ("ST05", "Riverside Park", "8 Riverside Walk", True),
    ("ST06", "Hilltop Trails", "120 Summit Road", False),
    ("ST07", "Airport Link", "3 Terminal Road", False),
    ("ST08", "Lakeside Marina", "5 Marina Drive", True),
]
BIKES_PER_STATION = [20, 18, 20, 18, 18, 18, 18, 20]
STATION_MIX = {  # bike type weights per station
    "ST01": {"city": 8, "e-bike": 6, "road": 2, "cargo": 2, "kids": 2},
    "ST02": {"city": 9, "e-bike": 5, "cargo": 2, "kids": 2},
    "ST03": {"city": 6, "e-bike": 8, "cargo": 3, "road": 3},
    "ST04": {"city": 9, "road": 5, "e-bike": 4},
    "ST05": {"city": 6, "e-bike": 5, "kids": 4, "mountain": 3},
    "ST06": {"mountain": 10, "e-bike": 5, "road": 3},
    "ST07": {"city": 6, "e-bike": 8, "road": 4},
    "ST08": {"city": 6, "e-bike": 5, "kids": 4, "cargo": 3, "mountain": 2},
}
RATES = {  # hourly, daily (EUR)
    "city": (3.50, 16.00), "e-bike": (7.50, 38.00), "road": (5.50, 27.00),
    "mountain": (6.00, 30.00), "cargo": (6.50, 34.00), "kids": (2.50, 12.00),
}
MODELS = {
    "city": ["Urban Glide 3", "Canal Cruiser"], "e-bike": ["Volt Commuter", "Volt Trekker"],
    "road": ["Aero Sprint"], "mountain": ["Ridge Trail 29", "Ridge Enduro"], "cargo": ["Longtail Hauler"],
    "kids": ["Sprout 20", "Sprout 24"],
}
SIZES = {"kids": ["XS", "S"], "cargo": ["M"]}
ADULT_SIZES = ["S", "M", "L"]
SERVICES = {
    "flat_tire_repair": 15.00, "brake_adjustment": 22.00, "gear_tuning": 28.00, "chain_replacement": 35.00,
    "wheel_truing": 30.00, "basic_service": 55.00, "full_service": 95.00, "ebike_diagnostics": 45.00,
    "battery_replacement": 320.00,
}
DAMAGE_FEES = {"tires": 20.00, "brakes": 25.00, "drivetrain": 35.00, "lights": 10.00, "wheels": 60.00,
               "frame": 150.00, "battery": 220.00}
PRICE_LIST = {
    "currency": "EUR",
    "rental_rates": {t: {"hourly": h, "daily": d} for t, (h, d) in RATES.items()},
    "insurance_per_day": 4.00,
    "membership_discounts": {"standard": 0.0, "silver": 0.10, "gold": 0.20},
    "cancellation_fees": [
        {"min_hours_before_start": 24, "fee_pct": 0.0},
        {"min_hours_before_start": 2, "fee_pct": 0.25},
        {"min_hours_before_start": 0, "fee_pct": 0.5},
    ],
    "gold_free_cancellation_hours": 2,
    "damage_fees": DAMAGE_FEES,
    "services": SERVICES,
}
FIRST = ["Lena", "Omar", "Priya", "Jonas", "Chloe", "Mateo", "Aisha", "Henrik", "Sofia", "Kwame", "Yuki",
         "Daniel", "Freya", "Tomas", "Amara", "Lucas", "Ingrid", "Ravi", "Elena", "Finn", "Nadia", "Oscar",
         "Maya", "Emil", "Zara", "Leon", "Hana", "Pablo", "Ines", "Samuel", "Noor", "Felix", "Clara", "Idris",
         "Greta", "Marco", "Aylin", "Theo", "Rosa", "Viktor"]
LAST = ["Fischer", "Haddad", "Raman", "Berg", "Dubois", "Silva", "Okafor", "Lund", "Romano", "Mensah",
        "Tanaka", "Kowalski", "Nielsen", "Novak", "Diallo", "Moreau", "Hansen", "Iyer", "Petrova", "Walsh",
        "Karimi", "Lindqvist", "Costa", "Brandt", "Yilmaz", "Schultz", "Sato", "Garcia", "Almeida", "Park"]
OWN_BIKES = ["own city bike", "own road bike", "own e-bike", "own mountain bike", "own folding bike",
             "own cargo bike", "own gravel bike"]


def hours_from_now(h: float) -> datetime:
    return NOW + timedelta(hours=h)


class Builder:
    """The database under construction, with the random source and bookkeeping for planting."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.customers: dict[str, dict[str, Any]] = {}
        self.stations: dict[str, dict[str, Any]] = {}
        self.bikes: dict[str, dict[str, Any]] = {}
        self.rentals: list[dict[str, Any]] = []
        self.tickets: list[dict[str, Any]] = []
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}
        self.planted_customers: set[str] = set()
        self.planted_bikes: set[str] = set()
        self.pools: dict[str, list[str]] = {}
        self.ids: set[int] = set()

    def number(self, lo: int, hi: int) -> int:
        while True:
            n = self.rng.randint(lo, hi)
            if n not in self.ids:
                self.ids.add(n)
                return n

    # --- customers -----------------------------------------------------------------------------------

    def make_customers(self, n: int = 60) -> None:
        rng = self.rng
        pairs = [(f, l) for f in FIRST for l in LAST]
        rng.shuffle(pairs)
        names = pairs[: n - 1]
        names.append(names[17])  # two customers share a full name (authentication trap)
        tiers = ["standard"] * 30 + ["silver"] * 18 + ["gold"] * 12
        rng.shuffle(tiers)
        phones = rng.sample(range(1000), n)
        for i, ((first, last), tier) in enumerate(zip(names, tiers, strict=True)):
            cid = f"{first}_{last}_{self.number(1000, 9999)}".lower()
            methods: dict[str, dict[str, Any]] = {}
            for _ in range(rng.choice([1, 1, 2])):
                pid = f"card_{self.number(100000, 999999)}"
                methods[pid] = {"id": pid, "type": "credit_card", "brand": rng.choice(["visa", "mastercard", "amex"]),
                                "last_four": f"{rng.randint(0, 9999):04d}"}
            email = f"{first}.{last}{rng.randint(10, 99)}@example.com".lower()
            while any(x["email"] == email for x in self.customers.values()):
                email = f"{first}.{last}{rng.randint(10, 99)}@example.com".lower()
            if rng.random() < 0.35:
                pid = f"paypal_{self.number(100000, 999999)}"
                methods[pid] = {"id": pid, "type": "paypal", "email": email}
            sid = f"store_credit_{self.number(100000, 999999)}"
            balance = 0.0 if rng.random() < 0.55 else money(rng.randint(2, 60) + rng.choice([0, 0.25, 0.5, 0.75]))
            methods[sid] = {"id": sid, "type": "store_credit", "balance": balance}
            self.customers[cid] = {
                "customer_id": cid, "name": {"first_name": first, "last_name": last}, "email": email,
                "phone": f"+44 7700 900{phones[i]:03d}", "membership": tier, "account_status": "active",
                "member_since": f"20{rng.randint(19, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "payment_methods": methods, "rental_ids": [], "repair_ticket_ids": [],
            }
        ids = sorted(self.customers)
        rng.shuffle(ids)
        for tier in ("standard", "silver", "gold"):
            self.pools[tier] = [c for c in ids if self.customers[c]["membership"] == tier]

    def take_customer(self, tier: str) -> dict[str, Any]:
        pool = self.pools[tier]
        cid = next(c for c in pool if c not in self.planted_customers
                   and self.customers[c]["account_status"] == "active")
        self.planted_customers.add(cid)
        return self.customers[cid]

    def card(self, customer: dict[str, Any], brand: str | None = None) -> str:
        for m in customer["payment_methods"].values():
            if m["type"] == "credit_card" and (brand is None or m["brand"] == brand):
                return m["id"]
        pid = f"card_{self.number(100000, 999999)}"
        customer["payment_methods"] = {pid: {"id": pid, "type": "credit_card", "brand": brand or "visa",
                                             "last_four": f"{self.rng.randint(0, 9999):04d}"},
                                       **customer["payment_methods"]}
        return pid

    def paypal(self, customer: dict[str, Any]) -> str:
        for m in customer["payment_methods"].values():
            if m["type"] == "paypal":
                return m["id"]
        pid = f"paypal_{self.number(100000, 999999)}"
        credit = {k: v for k, v in customer["payment_methods"].items() if v["type"] == "store_credit"}
        others = {k: v for k, v in customer["payment_methods"].items() if v["type"] != "store_credit"}
        customer["payment_methods"] = {**others, pid: {"id": pid, "type": "paypal", "email": customer["email"]},
                                       **credit}
        return pid

    @staticmethod
    def store_credit(customer: dict[str, Any]) -> dict[str, Any]:
        return next(m for m in customer["payment_methods"].values() if m["type"] == "store_credit")

    # --- stations and bikes --------------------------------------------------------------------------

    def make_fleet(self) -> None:
        rng = self.rng
        number = 1001
        for (sid, name, address, workshop), count in zip(STATIONS, BIKES_PER_STATION, strict=True):
            self.stations[sid] = {"station_id": sid, "name": name, "address": address, "has_workshop": workshop,
                                  "dock_hours": "00:00-24:00",
                                  "workshop_hours": "09:00-18:00" if workshop else None, "bike_ids": []}
            mix = STATION_MIX[sid]
            types = [t for t, w in mix.items() for _ in range(w)]
            types = (types * 2)[:count]
            for btype in sorted(types, key=lambda t: list(RATES).index(t)):
                bid = f"B{number}"
                number += 1
                hourly, daily = RATES[btype]
                self.bikes[bid] = {
                    "bike_id": bid, "station_id": sid, "type": btype, "model": rng.choice(MODELS[btype]),
                    "size": rng.choice(SIZES.get(btype, ADULT_SIZES)), "status": "available",
                    "hourly_rate": hourly, "daily_rate": daily,
                }
                self.stations[sid]["bike_ids"].append(bid)
                self.busy[bid] = []
        for bid in rng.sample(sorted(self.bikes), 4):
            self.bikes[bid]["status"] = "retired"

    def free(self, bid: str, start: datetime, end: datetime) -> bool:
        return all(not (s < end and start < e) for s, e in self.busy[bid])

    def take_bike(self, btype: str, start: datetime, end: datetime, station: str | None = None) -> dict[str, Any]:
        for bid in sorted(self.bikes):
            bike = self.bikes[bid]
            if (bike["type"] == btype and bike["status"] == "available" and bid not in self.planted_bikes
                    and (station is None or bike["station_id"] == station) and self.free(bid, start, end)):
                self.planted_bikes.add(bid)
                return bike
        raise SystemExit(f"no {btype} bike left to plant")

    # --- rentals -------------------------------------------------------------------------------------

    def add_rental(self, customer: dict[str, Any], bike: dict[str, Any], start: datetime, hours: int, status: str,
                   payment_method_id: str, insurance: bool = False, booked_before: int = 48) -> dict[str, Any]:
        end = start + timedelta(hours=hours)
        booked = min(start - timedelta(hours=booked_before), NOW - timedelta(hours=1))
        price = rental_price(bike["hourly_rate"], bike["daily_rate"], hours,
                             PRICE_LIST["membership_discounts"][customer["membership"]], insurance,
                             PRICE_LIST["insurance_per_day"])
        rental = {
            "rental_id": None, "customer_id": customer["customer_id"], "bike_id": bike["bike_id"],
            "station_id": bike["station_id"], "status": status, "booked_at": format_time(booked),
            "start_time": format_time(start), "end_time": format_time(end), "hours": hours, "insurance": insurance,
            "price": price, "payment_method_id": payment_method_id,
            "payments": [{"type": "charge", "amount": price["total"], "payment_method_id": payment_method_id,
                          "time": format_time(booked)}],
            "incident": None, "damage_ticket_id": None, "cancellation": None, "compensation": None,
        }
        if status != "cancelled":
            self.busy[bike["bike_id"]].append((start, end))
        if status == "active":
            bike["status"] = "rented"
        self.rentals.append(rental)
        return rental

    def cancel(self, rental: dict[str, Any], at: datetime, reason: str) -> None:
        customer = self.customers[rental["customer_id"]]
        before = (parse_time(rental["start_time"]) - at).total_seconds() / 3600
        pct = next((b["fee_pct"] for b in PRICE_LIST["cancellation_fees"] if before >= b["min_hours_before_start"]), 1.0)
        if customer["membership"] == "gold" and before >= PRICE_LIST["gold_free_cancellation_hours"]:
            pct = 0.0
        fee = money(rental["price"]["total"] * pct)
        refund = money(rental["price"]["total"] - fee)
        rental["status"] = "cancelled"
        rental["cancellation"] = {"reason": reason, "cancelled_at": format_time(at), "fee": fee, "refund": refund}
        if refund > 0:
            rental["payments"].append({"type": "refund", "amount": refund,
                                       "payment_method_id": rental["payment_method_id"], "time": format_time(at)})

    def add_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        self.tickets.append(ticket)
        return ticket

    def fleet_ticket(self, rental: dict[str, Any], kind: str, status: str, part: str | None = None,
                     description: str | None = None) -> dict[str, Any]:
        bike = self.bikes[rental["bike_id"]]
        ticket = {"ticket_id": None, "type": kind, "customer_id": rental["customer_id"],
                  "station_id": bike["station_id"], "bike_id": bike["bike_id"], "rental_id": rental["rental_id"],
                  "_rental": rental}
        if kind == "rental_damage":
            fee = 0.0 if rental["insurance"] else DAMAGE_FEES[part]
            ticket.update({"part": part, "status": status, "opened_at": rental["end_time"], "customer_charge": fee})
            if fee:
                rental["payments"].append({"type": "damage_fee", "amount": fee,
                                           "payment_method_id": rental["payment_method_id"],
                                           "time": rental["end_time"]})
        else:
            rental["incident"] = "mechanical_failure"
            ticket.update({"description": description, "status": status, "opened_at": rental["end_time"],
                           "customer_charge": 0.0})
        upcoming = any(e > NOW for s, e in self.busy[bike["bike_id"]])
        if status in ("open", "in_progress") and bike["status"] == "available" and not upcoming:
            bike["status"] = "maintenance"
        return self.add_ticket(ticket)

    def service_ticket(self, customer: dict[str, Any], services: list[str], status: str, opened: datetime,
                       station: str | None = None, bike: str | None = None) -> dict[str, Any]:
        rng = self.rng
        station = station or rng.choice([s[0] for s in STATIONS if s[3]])
        subtotal = money(sum(SERVICES[s] for s in services))
        pct = PRICE_LIST["membership_discounts"][customer["membership"]]
        discount = money(subtotal * pct)
        ready = opened + timedelta(days=rng.randint(2, 6))
        return self.add_ticket({
            "ticket_id": None, "type": "service", "customer_id": customer["customer_id"], "station_id": station,
            "bike_description": bike or rng.choice(OWN_BIKES), "services": services, "status": status,
            "opened_at": format_time(opened), "estimated_ready": ready.strftime("%Y-%m-%d"),
            "estimate": {"subtotal": subtotal, "discount_pct": pct, "discount": discount,
                         "total": money(subtotal - discount)},
        })

    # --- assembling ----------------------------------------------------------------------------------

    def finish(self) -> dict[str, Any]:
        self.rentals.sort(key=lambda r: (r["booked_at"], r["start_time"], r["bike_id"]))
        for i, rental in enumerate(self.rentals):
            rental["rental_id"] = f"R{10001 + i}"
        for r in self.rentals:
            if r["compensation"] is not None:
                r["compensation"]["payment_method_id"] = self.store_credit(self.customers[r["customer_id"]])["id"]
        self.tickets.sort(key=lambda t: (t["opened_at"], t["customer_id"]))
        for i, ticket in enumerate(self.tickets):
            ticket["ticket_id"] = f"RT{5001 + i}"
            rental = ticket.pop("_rental", None)
            if rental is not None:
                ticket["rental_id"] = rental["rental_id"]
                if ticket["type"] == "rental_damage":
                    rental["damage_ticket_id"] = ticket["ticket_id"]
        for customer in self.customers.values():
            customer["rental_ids"] = [r["rental_id"] for r in self.rentals if r["customer_id"] == customer["customer_id"]]
            customer["repair_ticket_ids"] = [t["ticket_id"] for t in self.tickets
                                             if t["customer_id"] == customer["customer_id"]]
        return {
            "customers": self.customers, "stations": self.stations, "bikes": self.bikes,
            "rentals": {r["rental_id"]: r for r in self.rentals},
            "repair_tickets": {t["ticket_id"]: t for t in self.tickets}, "price_list": PRICE_LIST,
        }


# --- planted situations (the tasks' raw material) --------------------------------------------------------

def plant(b: Builder) -> dict[str, Any]:
    """Customers, rentals and tickets that tasks need; returns them by name (ids are set by ``finish``)."""
    p: dict[str, Any] = {}
    names = Counter((x["name"]["first_name"], x["name"]["last_name"]) for x in b.customers.values())
    twins = sorted(cid for cid, x in b.customers.items()
                   if names[(x["name"]["first_name"], x["name"]["last_name"])] == 2)
    b.planted_customers.update(twins)
    b.store_credit(b.customers[twins[0]])["balance"] = 18.50
    b.store_credit(b.customers[twins[1]])["balance"] = 0.0
    p["twin_asker.customer"] = b.customers[twins[0]]

    def rental(name: str, tier: str, btype: str, start_h: float, hours: int, status: str, pay: str = "card",
               insurance: bool = False, customer: dict[str, Any] | None = None, station: str | None = None,
               brand: str | None = None) -> dict[str, Any]:
        c = customer or b.take_customer(tier)
        start = hours_from_now(start_h)
        bike = b.take_bike(btype, start, start + timedelta(hours=hours), station)
        method = {"card": lambda: b.card(c, brand), "paypal": lambda: b.paypal(c),
                  "store_credit": lambda: b.store_credit(c)["id"]}[pay]()
        p[name] = b.add_rental(c, bike, start, hours, status, method, insurance)
        p[name + ".customer"] = c
        return p[name]

    # lookups
    c = p["credit_lookup.customer"] = b.take_customer("silver")
    b.store_credit(c)["balance"] = 37.25
    rental("completed_total", "standard", "e-bike", -3 * 24 - 26, 26, "completed", insurance=True)
    c = p["ready_ticket.customer"] = b.take_customer("standard")
    p["ready_ticket"] = b.service_ticket(c, ["full_service", "chain_replacement"], "ready_for_pickup",
                                        NOW - timedelta(days=3), station="ST05", bike="own road bike")
    p["quote_silver.customer"] = b.take_customer("silver")
    rental("cancel_quote", "standard", "city", 6, 4, "reserved")
    p["quote_gold.customer"] = b.take_customer("gold")
    # single writes
    rental("cancel_full", "standard", "road", 50, 8, "reserved")
    rental("extend_active", "silver", "e-bike", -2, 4, "active")
    rental("damage_insured", "standard", "mountain", -11, 6, "completed", insurance=True)
    mech = rental("mech_standard", "standard", "cargo", -6 * 24, 5, "completed")
    b.fleet_ticket(mech, "mechanical_failure", "closed", description="chain snapped during the ride")
    p["book_bike.customer"] = b.take_customer("standard")
    c = b.take_customer("gold")
    b.store_credit(c)["balance"] = 12.00
    rental("cancel_gold_credit", "gold", "e-bike", 8, 3, "reserved", pay="store_credit", customer=c)
    # multi-step
    p["book_flow.customer"] = b.take_customer("standard")
    b.paypal(p["book_flow.customer"])
    c = b.take_customer("silver")
    rental("two_cancel", "silver", "city", 30, 5, "reserved", customer=c)
    rental("two_extend", "silver", "road", 72, 4, "reserved", customer=c)
    rental("damage_uninsured", "silver", "mountain", -3, 6, "active")
    rental("extend_day", "gold", "city", -18, 20, "active", pay="paypal")
    rental("find_booking", "standard", "e-bike", 70, 9, "reserved")  # Tue 17 June 08:00
    c = p["book_credit.customer"] = b.take_customer("silver")
    b.store_credit(c)["balance"] = 40.00
    # computation
    rental("cancel_lt2", "silver", "city", 1, 3, "reserved")
    rental("cancel_2to24", "standard", "e-bike", 20, 5, "reserved", pay="paypal", insurance=True)
    mech = rental("mech_gold", "gold", "e-bike", -2 * 24 - 6, 6, "completed")
    b.store_credit(p["mech_gold.customer"])["balance"] = 5.50
    b.fleet_ticket(mech, "mechanical_failure", "in_progress", description="motor cut out")
    mech = rental("mech_round", "silver", "e-bike", -4 * 24 - 3, 3, "completed")
    b.fleet_ticket(mech, "mechanical_failure", "closed", description="rear derailleur broke")
    p["book_gold.customer"] = b.take_customer("gold")
    # refusals
    rental("active_refuse", "standard", "city", -1, 3, "active")
    rental("completed_rain", "silver", "road", -2 * 24 - 4, 4, "completed")
    c = p["suspended.customer"] = b.take_customer("standard")
    c["account_status"] = "suspended"
    mech = rental("mech_already", "standard", "city", -10 * 24, 6, "completed")
    b.fleet_ticket(mech, "mechanical_failure", "closed", description="flat tire that could not be fixed on the road")
    mech["compensation"] = {"amount": money(mech["price"]["total"] / 2),
                            "issued_at": format_time(NOW - timedelta(days=9)), "payment_method_id": None}
    credit = b.store_credit(p["mech_already.customer"])
    credit["balance"] = money(credit["balance"] + mech["compensation"]["amount"])
    mech = rental("mech_decline", "silver", "e-bike", -3 * 24 - 5, 5, "completed")
    b.fleet_ticket(mech, "mechanical_failure", "closed", description="battery stopped charging")
    rental("damage_late", "standard", "city", -3 * 24 - 4, 4, "completed")
    p["too_long.customer"] = b.take_customer("standard")
    # authentication traps
    rental("auth_fail", "standard", "road", 40, 6, "reserved")
    c = b.take_customer("standard")
    p["spouse_self.customer"] = c
    spouse = b.take_customer("standard")
    rental("spouse", "standard", "city", 30, 4, "reserved", customer=spouse)
    p["friend_self.customer"] = b.take_customer("standard")
    p["friend_other.customer"] = b.take_customer("silver")
    c = b.take_customer("silver")
    b.card(c, "mastercard")
    rental("partner_card", "silver", "road", -1, 3, "active", customer=c, brand="visa")
    p["no_auth.customer"] = b.take_customer("standard")
    rental("no_auth", "standard", "e-bike", 28, 2, "reserved", customer=p["no_auth.customer"])
    # transfers
    rental("injury", "standard", "e-bike", -2, 5, "active")
    rental("battery", "standard", "e-bike", -4, 8, "active")
    c = p["dispute.customer"] = b.take_customer("silver")
    p["dispute"] = b.service_ticket(c, ["battery_replacement", "ebike_diagnostics"], "open",
                                    NOW - timedelta(days=1) + timedelta(hours=4), station="ST01", bike="own e-bike")
    dup = rental("dup_charge", "standard", "mountain", -5 * 24, 8, "completed")
    dup["payments"].append(dict(dup["payments"][0]))
    rental("stolen", "silver", "city", -5, 8, "active")
    return p


def background(b: Builder) -> None:
    """Random customers' history and bookings, up to 200 rentals and 40 repair tickets."""
    rng = b.rng
    free_customers = [c for c in sorted(b.customers) if c not in b.planted_customers
                      and b.customers[c]["account_status"] == "active"]
    for cid in rng.sample(free_customers, 2):
        b.customers[cid]["account_status"] = "suspended"
    active_ok = [c for c in free_customers if b.customers[c]["account_status"] == "active"]
    everyone = sorted(b.customers)
    hours_choices = [1, 2, 2, 3, 3, 4, 4, 5, 6, 8, 24, 26, 48, 72]

    def method(cid: str) -> str:
        return rng.choice(sorted(b.customers[cid]["payment_methods"]))

    def place(btype_ok: Callable[[dict[str, Any]], bool], start: datetime, hours: int,
              need_available: bool) -> dict[str, Any] | None:
        end = start + timedelta(hours=hours)
        options = [bk for bid, bk in sorted(b.bikes.items()) if bid not in b.planted_bikes and btype_ok(bk)
                   and bk["status"] != "retired" and (not need_available or bk["status"] == "available")
                   and b.free(bid, start, end)]
        return rng.choice(options) if options else None

    planned = {"active": 14, "reserved": 18, "cancelled": 18}
    planned["completed"] = 200 - len(b.rentals) - sum(planned.values())
    for status, count in planned.items():
        made = 0
        while made < count:
            hours = rng.choice(hours_choices)
            if status == "active":
                hours = rng.choice([3, 4, 5, 6, 8, 24, 48])
                start = hours_from_now(-rng.randint(1, hours - 1))
                cid = rng.choice(active_ok)
            elif status == "reserved":
                start = hours_from_now(rng.randint(3, 13 * 24))
                cid = rng.choice(active_ok)
            elif status == "cancelled":
                start = hours_from_now(rng.randint(-40 * 24, 10 * 24))
                cid = rng.choice(everyone)
            else:
                start = hours_from_now(-rng.randint(hours + 1, 60 * 24))
                cid = rng.choice(everyone)
            bike = place(lambda bk: True, start, hours, status in ("active", "reserved"))
            if bike is None:
                continue
            rental = b.add_rental(b.customers[cid], bike, start, hours, status, method(cid), rng.random() < 0.3,
                                  booked_before=rng.randint(1, 200))
            if status == "cancelled":
                booked = parse_time(rental["booked_at"])
                at = min(booked + timedelta(hours=rng.randint(1, 72)), NOW - timedelta(hours=1),
                         parse_time(rental["start_time"]) - timedelta(hours=1))
                b.cancel(rental, max(at, booked), rng.choice(["change_of_plans", "booked_by_mistake"]))
            made += 1
    # repair tickets: fleet tickets on background completed rentals, then services of customers' own bikes
    done = [r for r in b.rentals if r["status"] == "completed" and r["customer_id"] not in b.planted_customers
            and r["incident"] is None and r["damage_ticket_id"] is None and r["bike_id"] not in b.planted_bikes]
    rng.shuffle(done)
    for rental in done[:4]:
        status = rng.choice(["closed", "closed", "in_progress"])
        b.fleet_ticket(rental, "mechanical_failure", status,
                       description=rng.choice(["chain snapped during the ride", "brake cable broke",
                                               "gear shifter jammed", "motor cut out"]))
        if rng.random() < 0.5:
            rental["compensation"] = {"amount": money(rental["price"]["total"] / 2),
                                      "issued_at": rental["end_time"], "payment_method_id": None}
    for rental in done[4:10]:
        part = rng.choice(["tires", "brakes", "lights", "wheels", "drivetrain"])
        b.fleet_ticket(rental, "rental_damage", rng.choice(["closed", "closed", "open"]), part=part)
        rental["damage_ticket_id"] = "pending"
    services_pool = [s for s in SERVICES if s != "battery_replacement"]
    while len(b.tickets) < 40:
        cid = rng.choice([c for c in everyone if c not in b.planted_customers])
        own = rng.choice(OWN_BIKES)
        pool = services_pool if own == "own e-bike" else [s for s in services_pool if not s.startswith("ebike")]
        services = sorted(rng.sample(pool, rng.choice([1, 1, 2, 3])))
        status = rng.choice(["open", "in_progress", "ready_for_pickup", "closed", "closed"])
        day = NOW.replace(hour=9) - timedelta(days=rng.randint(1 if status != "closed" else 8, 40))
        b.service_ticket(b.customers[cid], services, status, day + timedelta(hours=rng.randint(0, 8)), bike=own)


def build_db() -> tuple[dict[str, Any], dict[str, Any]]:
    b = Builder()
    b.make_customers()
    b.make_fleet()
    planted = plant(b)
    background(b)
    db = b.finish()
    return db, planted


# --- tasks ----------------------------------------------------------------------------------------------

def replay(db: dict[str, Any], actions: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """The gold calls' outputs (parsed JSON where they are JSON), on a copy of ``db``."""
    kit = BikeshopToolkit(copy.deepcopy(db))
    outputs = []
    for name, args in actions:
        text = kit.call(name, args)
        try:
            outputs.append(json.loads(text))
        except json.JSONDecodeError:
            outputs.append(text)
    return outputs


def eur(x: float) -> str:
    return f"{x:.2f}"


def name_of(c: dict[str, Any]) -> str:
    return f"{c['name']['first_name']} {c['name']['last_name']}"


def by_email(c: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "find_customer_id", {"email": c["email"], "first_name": c["name"]["first_name"],
                                "last_name": c["name"]["last_name"]}


def details(c: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "get_customer_details", {"customer_id": c["customer_id"]}


def rental_read(r: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "get_rental_details", {"rental_id": r["rental_id"]}


def extension_quote(r: dict[str, Any], extra: int) -> tuple[str, dict[str, Any]]:
    """The quote an agent gets before extending: the new total length, same bike and damage cover."""
    return "get_price_quote", {"bike_id": r["bike_id"], "hours": r["hours"] + extra, "customer_id": r["customer_id"],
                               "insurance": r["insurance"]}


def method_text(c: dict[str, Any], pid: str) -> str:
    m = c["payment_methods"][pid]
    if m["type"] == "credit_card":
        return f"your {m['brand'].capitalize()} card ending in {m['last_four']}"
    if m["type"] == "paypal":
        return "your PayPal account"
    return "your store credit"


def when(moment: str) -> str:
    t = parse_time(moment)
    return f"{t.strftime('%A')} {t.day} {t.strftime('%B %Y')} at {t.strftime('%H:%M')}"


class Tasks:
    def __init__(self, db: dict[str, Any], p: dict[str, Any]) -> None:
        self.db = db
        self.p = p
        self.tasks: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()

    def add(self, category: str, purpose: str, persona: str, reason: str, known: str, unknown: str | None,
            instructions: str, actions: list[tuple[str, dict[str, Any]]], communicate: list[str],
            nl: list[str] | None = None, env: list[tuple[str, dict[str, Any]]] | None = None,
            basis: tuple[str, ...] = ("DB", "COMMUNICATE")) -> None:
        self.counts[category] += 1
        tid = f"{category}_{self.counts[category]}"
        if category == "transfer" and "ACTION" not in basis:
            # the transfer itself leaves the DB as it was: only ACTION tells a transfer from doing nothing
            basis = (*basis, "ACTION")
        self.tasks.append({
            "id": tid,
            "description": {"purpose": purpose, "relevant_policies": None, "notes": f"category: {category}"},
            "user_scenario": {"persona": persona, "instructions": {
                "domain": "bikeshop", "reason_for_call": reason, "known_info": known, "unknown_info": unknown,
                "task_instructions": instructions}},
            "initial_state": None,
            "evaluation_criteria": {
                "actions": [{"action_id": f"{tid}_{i}", "name": n, "arguments": a, "requestor": "assistant",
                             # a transfer's summary is free text: the call itself is what must match
                             **({"compare_args": []} if n == "transfer_to_human_agents" else {})}
                            for i, (n, a) in enumerate(actions)],
                "communicate_info": communicate,
                "nl_assertions": nl,
                **({"env_assertions": [{"env_type": "assistant", "func_name": f, "arguments": a}
                                       for f, a in env]} if env else {}),
                "reward_basis": list(basis),
            },
        })

    def rental(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        r = self.p[name]
        return r, self.db["customers"][r["customer_id"]]

    def customer(self, name: str) -> dict[str, Any]:
        return self.db["customers"][self.p[name + ".customer"]["customer_id"]]

    def unique_bike(self, station: str | None, btype: str, start: datetime, hours: int,
                    exclude_stations: tuple[str, ...] = ()) -> dict[str, Any]:
        """An available bike that is the only available one of its type and size at its station, and is
        free for the whole window (so a request by station, type and size has one right answer)."""
        end = start + timedelta(hours=hours)
        stations = [station] if station else [s for s in sorted(self.db["stations"]) if s not in exclude_stations]
        for sid in stations:
            bikes = [self.db["bikes"][b] for b in self.db["stations"][sid]["bike_ids"]]
            avail = [bk for bk in bikes if bk["status"] == "available" and bk["type"] == btype]
            sizes = Counter(bk["size"] for bk in avail)
            for bk in avail:
                booked = [r for r in self.db["rentals"].values() if r["bike_id"] == bk["bike_id"]
                          and r["status"] in ("reserved", "active")
                          and parse_time(r["start_time"]) < end and start < parse_time(r["end_time"])]
                if sizes[bk["size"]] == 1 and not booked:
                    return bk
        raise SystemExit(f"no unique available {btype} bike at {station or 'any station'}")


def make_tasks(db: dict[str, Any], p: dict[str, Any]) -> list[dict[str, Any]]:
    t = Tasks(db, p)
    stations = db["stations"]

    # ---- lookups: read and tell a value --------------------------------------------------------------
    c = t.customer("credit_lookup")
    acts = [details(c)]
    out = replay(db, acts)
    bal = next(m["balance"] for m in out[0]["payment_methods"].values() if m["type"] == "store_credit")
    t.add("lookup", "Tell an authenticated customer their store credit balance.",
          "Friendly and brief.", "You want to know how much store credit you have left.",
          f"Your customer id is {c['customer_id']}.", None,
          "Ask only for your store credit balance. End the conversation once you have it.",
          acts, [eur(bal)])

    r, c = t.rental("completed_total")
    acts = [by_email(c), rental_read(r)]
    out = replay(db, acts)
    t.add("lookup", "Authenticate by email and name, then report what a completed rental cost in total.",
          "Organised; keeps records of expenses.",
          f"You need the total amount you paid for rental {r['rental_id']} for an expense report.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your customer id.",
          "Ask for the total price of the rental (including damage cover). Do not ask for anything else.",
          acts, [eur(out[1]["price"]["total"])])

    tk = p["ready_ticket"]
    c = db["customers"][tk["customer_id"]]
    acts = [details(c), ("get_repair_ticket", {"ticket_id": tk["ticket_id"]})]
    out = replay(db, acts)
    t.add("lookup", "Report the estimated total of a service ticket for the customer's own bike.",
          "Casual and a little impatient.",
          f"You left your own road bike for a service (ticket {tk['ticket_id']}) and want to know whether it is "
          "ready and how much you will pay.",
          f"Your customer id is {c['customer_id']}.", None,
          "Ask whether the bike is ready and what the total will be. Do not book or change anything.",
          acts, [eur(out[1]["estimate"]["total"])])

    c = t.customer("quote_silver")
    bikes = replay(db, [("list_available_bikes", {"station_id": "ST03", "bike_type": "e-bike"})])[0]
    bike = bikes["available_bikes"][0]
    acts = [details(c), ("list_available_bikes", {"station_id": "ST03", "bike_type": "e-bike"}),
            ("get_price_quote", {"bike_id": bike["bike_id"], "hours": 5, "customer_id": c["customer_id"],
                                 "insurance": True})]
    out = replay(db, acts)
    t.add("lookup", "Quote an e-bike rental with the silver discount and damage cover, without booking.",
          "Curious, compares prices before deciding.",
          f"You are thinking of renting an e-bike at {stations['ST03']['name']} for 5 hours with damage cover "
          "and want to know the price.",
          f"Your customer id is {c['customer_id']}.", "You have not decided on a date yet.",
          "Ask for the total price including your membership discount and the damage cover. Do not book: "
          "say you will think about it once you have the price.",
          acts, [eur(out[2]["total"])])

    r, c = t.rental("cancel_quote")
    acts = [by_email(c), rental_read(r)]
    out = replay(db, acts)
    terms = out[1]["cancellation_if_cancelled_now"]
    t.add("lookup", "Tell the cancellation fee and refund of a reservation without cancelling it.",
          "Hesitant; wants to know the consequences before acting.",
          f"You have a reservation ({r['rental_id']}) later today and wonder what you would get back if you "
          "cancelled it now.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your customer id.",
          "Ask how much the cancellation fee would be and how much would be refunded. Once told, say you will "
          "keep the reservation after all. Do not cancel.",
          acts, [eur(terms["fee"]), eur(terms["refund"])])

    c = t.customer("quote_gold")
    bikes = replay(db, [("list_available_bikes", {"station_id": "ST06", "bike_type": "mountain"})])[0]
    bike = bikes["available_bikes"][0]
    acts = [details(c), ("list_available_bikes", {"station_id": "ST06", "bike_type": "mountain"}),
            ("get_price_quote", {"bike_id": bike["bike_id"], "hours": 30, "customer_id": c["customer_id"],
                                 "insurance": False})]
    out = replay(db, acts)
    t.add("lookup", "Quote a 30-hour mountain bike rental (a day plus capped hours) with the gold discount.",
          "Outdoorsy, precise about numbers.",
          f"You plan a weekend tour and want the price of a mountain bike from {stations['ST06']['name']} for "
          "30 hours, without damage cover.",
          f"Your customer id is {c['customer_id']}.", None,
          "Ask for the total price and how much your membership discount saves you. Do not book.",
          acts, [eur(out[2]["total"]), eur(out[2]["discount"])])

    # ---- single writes -------------------------------------------------------------------------------
    r, c = t.rental("cancel_full")
    acts = [details(c), rental_read(r), ("cancel_rental", {"rental_id": r["rental_id"], "reason": "change_of_plans"})]
    out = replay(db, acts)
    t.add("write", "Cancel a reservation more than 24 hours ahead: no fee, full refund to the card.",
          "Polite and to the point.",
          f"Your plans changed and you want to cancel your road bike reservation {r['rental_id']} "
          f"for {when(r['start_time'])}.",
          f"Your customer id is {c['customer_id']}.", None,
          "Cancel the reservation; the reason is a change of plans. Confirm when asked. Ask how much you get back.",
          acts, [eur(out[2]["refund"])], env=[("assert_rental_status", {"rental_id": r["rental_id"],
                                                                         "status": "cancelled"})],
          basis=("DB", "COMMUNICATE", "ACTION"))

    r, c = t.rental("extend_active")
    pid = r["payment_method_id"]
    acts = [details(c), rental_read(r), extension_quote(r, 2),
            ("extend_rental", {"rental_id": r["rental_id"], "extra_hours": 2, "payment_method_id": pid})]
    out = replay(db, acts)
    t.add("write", "Extend an active e-bike rental by two hours, paid with the same card.",
          "Out on the bike, typing quickly.",
          f"You are riding e-bike rental {r['rental_id']} and want to keep the bike two hours longer.",
          f"Your customer id is {c['customer_id']}.", None,
          f"Extend by exactly 2 hours and pay the difference with {method_text(c, pid)}. Confirm when asked. "
          "Ask how much the extension costs.",
          acts, [eur(out[3]["extension_charge"])])

    r, c = t.rental("damage_insured")
    acts = [details(c), rental_read(r), ("report_damage", {"rental_id": r["rental_id"], "part": "lights"})]
    out = replay(db, acts)
    t.add("write", "Report minor damage after a rental with damage cover: ticket opened, no fee.",
          "Honest and a bit worried about costs.",
          f"You returned mountain bike rental {r['rental_id']} a few hours ago and noticed afterwards that you "
          "had broken its front light on the way back.",
          f"Your customer id is {c['customer_id']}.", None,
          "Report the broken light. Ask whether you have to pay anything and for the repair ticket number. "
          "Confirm when asked.",
          acts, [out[2]["ticket_id"], eur(out[2]["customer_charge"])],
          env=[("assert_bike_status", {"bike_id": r["bike_id"], "status": "maintenance"})],
          basis=("DB", "COMMUNICATE", "ENV_ASSERTION"))

    r, c = t.rental("mech_standard")
    amount = money(r["price"]["total"] * 0.5)
    acts = [details(c), rental_read(r), ("issue_store_credit", {"customer_id": c["customer_id"],
                                                               "rental_id": r["rental_id"], "amount": amount})]
    out = replay(db, acts)
    t.add("write", "Compensate a mechanical failure: 50% of the rental total as store credit (standard member).",
          "Annoyed but reasonable.",
          f"During cargo bike rental {r['rental_id']} last week the chain snapped and you had to push the bike "
          "back. You want some compensation.",
          f"Your customer id is {c['customer_id']}.", None,
          "Accept the compensation the agent offers under the policy. Confirm when asked. Ask how much you get.",
          acts, [eur(out[2]["amount"])])

    c = t.customer("book_bike")
    bike = t.unique_bike("ST02", "city", hours_from_now(23), 3)
    pid = next(m for m in c["payment_methods"].values() if m["type"] == "credit_card")["id"]
    start = format_time(hours_from_now(23))
    acts = [details(c), ("get_price_quote", {"bike_id": bike["bike_id"], "hours": 3, "customer_id": c["customer_id"],
                                             "insurance": False}),
            ("create_rental", {"customer_id": c["customer_id"], "bike_id": bike["bike_id"], "start_time": start,
                               "hours": 3, "insurance": False, "payment_method_id": pid})]
    out = replay(db, acts)
    t.add("write", "Book a specific bike the customer names, at a given time, without damage cover.",
          "Knows exactly what they want.",
          f"You want to book bike {bike['bike_id']} (a {bike['model']} city bike at {stations['ST02']['name']}) "
          f"for {when(start)}, for 3 hours.",
          f"Your customer id is {c['customer_id']}.", None,
          f"You do not want damage cover. Pay with {method_text(c, pid)}. Confirm when asked. "
          "Ask for the total price.",
          acts, [eur(out[2]["price"]["total"])])

    r, c = t.rental("cancel_gold_credit")
    acts = [by_email(c), rental_read(r), ("cancel_rental", {"rental_id": r["rental_id"], "reason": "change_of_plans"})]
    out = replay(db, acts)
    t.add("write", "Gold member cancels 8 hours ahead: fee waived, refund to store credit at once.",
          "Busy professional.",
          f"A meeting came up and you want to cancel your e-bike reservation {r['rental_id']} for today.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your customer id.",
          "The reason is a change of plans. Confirm when asked. Ask what your store credit balance is afterwards.",
          acts, [eur(out[2]["refund"]), eur(out[2]["store_credit_balance"])],
          env=[("assert_store_credit_balance", {"customer_id": c["customer_id"],
                                                "balance": out[2]["store_credit_balance"]}),
               ("assert_rental_status", {"rental_id": r["rental_id"], "status": "cancelled"})],
          basis=("DB", "COMMUNICATE", "ENV_ASSERTION"))

    # ---- multi-step ----------------------------------------------------------------------------------
    c = t.customer("book_flow")
    start_dt = parse_time("2025-06-16 09:00")
    bike = t.unique_bike("ST03", "e-bike", start_dt, 6)
    pid = next(m for m in c["payment_methods"].values() if m["type"] == "paypal")["id"]
    start = format_time(start_dt)
    acts = [by_email(c), details(c), ("list_available_bikes", {"station_id": "ST03", "bike_type": "e-bike"}),
            ("get_price_quote", {"bike_id": bike["bike_id"], "hours": 6, "customer_id": c["customer_id"],
                                 "insurance": True}),
            ("create_rental", {"customer_id": c["customer_id"], "bike_id": bike["bike_id"], "start_time": start,
                               "hours": 6, "insurance": True, "payment_method_id": pid})]
    out = replay(db, acts)
    t.add("multi", "Authenticate, find the one e-bike of the wanted size at a station, quote, then book.",
          "Chatty tourist.",
          f"You want to rent an e-bike in size {bike['size']} at {stations['ST03']['name']} on {when(start)} for 6 hours.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your customer id or any bike ids.",
          "You want damage cover. Pay with PayPal. Ask for the price before confirming, then confirm.",
          acts, [eur(out[4]["price"]["total"])])

    r1, c = t.rental("two_cancel")
    r2, _ = t.rental("two_extend")
    acts = [details(c), rental_read(r1), rental_read(r2),
            ("cancel_rental", {"rental_id": r1["rental_id"], "reason": "booked_by_mistake"}), extension_quote(r2, 2),
            ("extend_rental", {"rental_id": r2["rental_id"], "extra_hours": 2, "payment_method_id": r2["payment_method_id"]})]
    out = replay(db, acts)
    t.add("multi", "Two requests from one customer: cancel one reservation, extend another.",
          "Methodical; handles one thing at a time.",
          f"You booked city bike rental {r1['rental_id']} by mistake and want it cancelled, and you want your road "
          f"bike reservation {r2['rental_id']} to last 2 hours longer.",
          f"Your customer id is {c['customer_id']}.", None,
          f"First cancel {r1['rental_id']} (booked by mistake), then extend {r2['rental_id']} by 2 hours, paying "
          f"with {method_text(c, r2['payment_method_id'])}. Confirm each when asked. Ask for the refund and the "
          "extension cost.",
          acts, [eur(out[3]["refund"]), eur(out[5]["extension_charge"])])

    r, c = t.rental("damage_uninsured")
    acts = [by_email(c), details(c), rental_read(r), ("report_damage", {"rental_id": r["rental_id"], "part": "brakes"})]
    out = replay(db, acts)
    t.add("multi", "Report brake damage during an active rental without damage cover: the fee is charged.",
          "Shaken but unhurt, wants to do the right thing.",
          "You are on a mountain bike rental and the rear brake stopped working after you hit a kerb. "
          "You are not injured.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your rental id or customer id.",
          "Report the damage to the brakes. Ask what it will cost you. Confirm when asked.",
          acts, [eur(out[3]["customer_charge"])],
          env=[("assert_bike_status", {"bike_id": r["bike_id"], "status": "maintenance"})],
          basis=("DB", "COMMUNICATE", "ENV_ASSERTION"))

    r, c = t.rental("extend_day")
    acts = [details(c), rental_read(r), extension_quote(r, 6),
            ("extend_rental", {"rental_id": r["rental_id"], "extra_hours": 6, "payment_method_id": r["payment_method_id"]})]
    out = replay(db, acts)
    t.add("multi", "Extend a 20-hour rental by 6 hours: re-priced as a day plus hours, gold discount kept.",
          "Relaxed; asks for the numbers.",
          f"You want to keep city bike rental {r['rental_id']} 6 hours longer.",
          f"Your customer id is {c['customer_id']}.", None,
          "Extend by 6 hours and pay with PayPal. Confirm when asked. Ask what the extension costs and what the "
          "rental costs in total now.",
          acts, [eur(out[3]["extension_charge"]), eur(out[3]["new_total"])])

    r, c = t.rental("find_booking")
    acts = [by_email(c), details(c)]
    for rid in c["rental_ids"]:
        acts.append(("get_rental_details", {"rental_id": rid}))
        if rid == r["rental_id"]:
            break
    acts.append(("cancel_rental", {"rental_id": r["rental_id"], "reason": "booked_by_mistake"}))
    out = replay(db, acts)
    t.add("multi", "Find the customer's reservation from its date (id unknown), then cancel it.",
          "Forgetful but cooperative.",
          f"You booked an e-bike for {when(r['start_time'])} by mistake and want to cancel it.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know the rental id or your customer id.",
          "The reason is that you booked it by mistake. Confirm when asked. Ask how much is refunded.",
          acts, [eur(out[-1]["refund"])])

    c = t.customer("book_credit")
    start_dt = parse_time("2025-06-15 14:00")
    bike = t.unique_bike("ST05", "e-bike", start_dt, 2)
    pid = Builder.store_credit(c)["id"]
    start = format_time(start_dt)
    acts = [details(c), ("list_available_bikes", {"station_id": "ST05", "bike_type": "e-bike"}),
            ("get_price_quote", {"bike_id": bike["bike_id"], "hours": 2, "customer_id": c["customer_id"],
                                 "insurance": False}),
            ("create_rental", {"customer_id": c["customer_id"], "bike_id": bike["bike_id"], "start_time": start,
                               "hours": 2, "insurance": False, "payment_method_id": pid})]
    out = replay(db, acts)
    t.add("multi", "Book an e-bike paid entirely with store credit.",
          "Thrifty; wants to use up store credit.",
          f"You want to rent an e-bike in size {bike['size']} at {stations['ST05']['name']} on {when(start)} for 2 hours.",
          f"Your customer id is {c['customer_id']}.", None,
          "No damage cover. Pay with your store credit. Ask for the price, then confirm.",
          acts, [eur(out[3]["price"]["total"])])

    # ---- computations --------------------------------------------------------------------------------
    r, c = t.rental("cancel_lt2")
    acts = [details(c), rental_read(r), ("cancel_rental", {"rental_id": r["rental_id"], "reason": "change_of_plans"})]
    out = replay(db, acts)
    t.add("compute", "Cancel less than 2 hours before the start: 50% fee for a silver member.",
          "Apologetic.",
          f"You cannot make it to your city bike reservation {r['rental_id']} that starts in an hour.",
          f"Your customer id is {c['customer_id']}.", None,
          "Cancel it (change of plans) even if there is a fee. Confirm when asked. Ask for the fee and the refund.",
          acts, [eur(out[2]["fee"]), eur(out[2]["refund"])])

    r, c = t.rental("cancel_2to24")
    acts = [by_email(c), rental_read(r), ("cancel_rental", {"rental_id": r["rental_id"], "reason": "change_of_plans"})]
    out = replay(db, acts)
    t.add("compute", "Cancel between 2 and 24 hours ahead: 25% fee on a PayPal-paid reservation.",
          "Matter-of-fact.",
          f"You want to cancel e-bike reservation {r['rental_id']} for tomorrow morning; it rains.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your customer id.",
          "Cancel it (change of plans) even if there is a fee. Confirm when asked. Ask for the fee and the refund.",
          acts, [eur(out[2]["fee"]), eur(out[2]["refund"])])

    r, c = t.rental("mech_gold")
    acts = [details(c), rental_read(r), ("issue_store_credit", {"customer_id": c["customer_id"],
                                                               "rental_id": r["rental_id"],
                                                               "amount": r["price"]["total"]})]
    out = replay(db, acts)
    t.add("compute", "Gold member with a mechanical failure: 100% of the rental total as store credit.",
          "Calm, expects good service.",
          f"The motor of your e-bike cut out during rental {r['rental_id']} two days ago. You want compensation.",
          f"Your customer id is {c['customer_id']}.", None,
          "Accept the compensation the agent offers under the policy. Confirm when asked. Ask for the amount and "
          "your new store credit balance.",
          acts, [eur(out[2]["amount"]), eur(out[2]["store_credit_balance"])],
          basis=("DB", "COMMUNICATE", "ACTION"))

    r, c = t.rental("mech_round")
    amount = money(r["price"]["total"] * 0.5)
    acts = [details(c), rental_read(r), ("issue_store_credit", {"customer_id": c["customer_id"],
                                                               "rental_id": r["rental_id"], "amount": amount})]
    out = replay(db, acts)
    t.add("compute", "Silver member with a mechanical failure: 50% compensation, rounded half-up to cents.",
          "Detail-oriented.",
          f"The rear derailleur of your e-bike broke during rental {r['rental_id']} four days ago.",
          f"Your customer id is {c['customer_id']}.", None,
          "Accept the compensation the agent offers under the policy. Confirm when asked. Ask for the exact amount.",
          acts, [eur(out[2]["amount"])])

    c = t.customer("book_gold")
    start_dt = parse_time("2025-06-20 08:00")
    bike = t.unique_bike("ST07", "e-bike", start_dt, 48)
    pid = next(m for m in c["payment_methods"].values() if m["type"] == "credit_card")["id"]
    start = format_time(start_dt)
    acts = [details(c), ("list_available_bikes", {"station_id": "ST07", "bike_type": "e-bike"}),
            ("get_price_quote", {"bike_id": bike["bike_id"], "hours": 48, "customer_id": c["customer_id"],
                                 "insurance": True}),
            ("create_rental", {"customer_id": c["customer_id"], "bike_id": bike["bike_id"], "start_time": start,
                               "hours": 48, "insurance": True, "payment_method_id": pid})]
    out = replay(db, acts)
    t.add("compute", "Two-day e-bike booking with damage cover for two days and the gold discount.",
          "Business traveller.",
          f"You land on {when(start)} and want an e-bike in size {bike['size']} from {stations['ST07']['name']} "
          "for 48 hours.",
          f"Your customer id is {c['customer_id']}.", None,
          f"You want damage cover. Pay with {method_text(c, pid)}. Ask for the total and how much of it is damage "
          "cover before confirming, then confirm.",
          acts, [eur(out[3]["price"]["total"]), eur(out[3]["price"]["insurance_fee"])])

    # ---- refusals: policy says no, the database stays as it was, and the agent says why: communicate_info
    # holds the words of the rule that applies (in policy.md), so a refusal that gives no reason fails -----
    r, c = t.rental("active_refuse")
    acts = [details(c), rental_read(r)]
    t.add("refusal", "Refuse to cancel a rental that is already active (picked up).",
          "Pushy.",
          f"You picked up city bike rental {r['rental_id']} an hour ago but no longer need it and want to cancel "
          "it for a refund.",
          f"Your customer id is {c['customer_id']}.", None,
          "Insist once on cancelling; if the agent still refuses, accept it and end the conversation. "
          "Do not ask for anything else.",
          acts, ["active"], nl=[("The agent does not cancel the active rental and explains that only reservations "
                                 "not yet picked up can be cancelled.")],
          env=[("assert_rental_status", {"rental_id": r["rental_id"], "status": "active"})],
          basis=("DB", "COMMUNICATE", "ACTION", "ENV_ASSERTION"))

    r, c = t.rental("completed_rain")
    acts = [details(c), rental_read(r)]
    t.add("refusal", "Refuse a refund for a completed rental without an incident (the customer disliked the rain).",
          "Disappointed.",
          f"It rained during your road bike rental {r['rental_id']} two days ago and you want your money back, "
          "as store credit if need be.",
          f"Your customer id is {c['customer_id']}.", None,
          "Ask for a refund or store credit. If refused, accept it and end the conversation.",
          acts, ["weather"])

    c = t.customer("suspended")
    t.add("refusal", "Refuse to book for a customer whose account is suspended.",
          "Confused about why things do not work.",
          f"You want to book a city bike at {stations['ST01']['name']} tomorrow at 10:00 for 2 hours.",
          f"Your customer id is {c['customer_id']}.", None,
          "If the agent cannot book for you, ask once why, then end the conversation.",
          [details(c)], ["suspended"])

    r, c = t.rental("mech_already")
    acts = [details(c), rental_read(r)]
    t.add("refusal", "Refuse a second compensation for a rental that was already compensated.",
          "Persistent.",
          f"You had a flat tire that could not be fixed during city bike rental {r['rental_id']} ten days ago and "
          "want compensation for it.",
          f"Your customer id is {c['customer_id']}.", "You do not remember that you already received store credit for it.",
          "Ask for compensation. If told you already received it, accept that and end the conversation.",
          acts, ["already"])

    r, c = t.rental("mech_decline")
    acts = [details(c), rental_read(r)]
    t.add("refusal", "Offer only the policy's compensation; the customer wants a full refund, declines, nothing changes.",
          "Demanding.",
          f"The battery of your e-bike stopped charging during rental {r['rental_id']} and you want a full refund.",
          f"Your customer id is {c['customer_id']}.", None,
          "Insist on a full refund of the whole price. Decline any smaller amount. If the agent only offers less, "
          "end the conversation without accepting anything.",
          acts, ["50%"], nl=["The agent does not issue a full refund."])

    r, c = t.rental("damage_late")
    acts = [details(c), rental_read(r)]
    t.add("refusal", "Refuse a damage report more than 24 hours after the rental ended.",
          "Conscientious.",
          f"You remembered that you scratched the frame of the city bike during rental {r['rental_id']} three "
          "days ago and want to report it.",
          f"Your customer id is {c['customer_id']}.", None,
          "Report the damage to the frame. If the agent says it cannot be reported any more, accept and end.",
          acts, ["24 hours"])

    c = t.customer("too_long")
    t.add("refusal", "Refuse a rental longer than 7 days.",
          "Adventurous.",
          f"You want to rent a city bike at {stations['ST04']['name']} from 16 June 2025 09:00 for 10 days "
          "(240 hours) for a tour.",
          f"Your customer id is {c['customer_id']}.", None,
          "You only want one single rental of 10 days. If that is not possible, end the conversation.",
          [details(c)], ["7 days"])

    # ---- authentication and wrong-customer traps (a refusal names what the rule needs, as above) ------
    r, c = t.rental("auth_fail")
    wrong = c["email"].replace("@example.com", "@mailbox.example.org")
    t.add("auth", "The customer cannot be authenticated (old email, no customer id): do nothing.",
          "Slightly irritated.",
          f"You want to cancel your road bike reservation {r['rental_id']}.",
          f"You are {name_of(c)}. Your email is {wrong}.",
          "You do not know your customer id and have no other email address.",
          "Give your name and that email if asked. You cannot provide anything else. If the agent cannot help "
          "you, end the conversation.",
          [], ["customer id"])

    r, c = t.rental("spouse")
    me = t.customer("spouse_self")
    t.add("auth", "Refuse to cancel a reservation that belongs to another customer (the caller's partner).",
          "Helpful partner.",
          f"Your partner {name_of(c)} cannot make their city bike reservation {r['rental_id']}, and you want to "
          "cancel it for them.",
          f"You are {name_of(me)}, customer id {me['customer_id']}.", "You do not know your partner's customer id.",
          "Ask to cancel the reservation. If refused, accept it and end the conversation.",
          [details(me)], ["account"])

    me = t.customer("friend_self")
    friend = t.customer("friend_other")
    t.add("auth", "Refuse to act on another customer's account even when given their customer id.",
          "Generous friend.",
          f"You want to book a city bike for your friend {name_of(friend)} on their account for "
          f"{when('2025-06-15 10:00')}, 3 hours.",
          f"You are {name_of(me)}, customer id {me['customer_id']}. Your friend's customer id is "
          f"{friend['customer_id']}.", None,
          "Insist that the booking is on your friend's account. If refused, end the conversation.",
          [details(me)], ["account"])

    c = t.customer("twin_asker")
    acts = [by_email(c), details(c)]
    out = replay(db, acts)
    bal = next(m["balance"] for m in out[1]["payment_methods"].values() if m["type"] == "store_credit")
    t.add("auth", "Two customers share the caller's name: identify the right one by email, then read the balance.",
          "Short answers.",
          "You want to know your store credit balance.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your customer id.",
          "Ask for your store credit balance only.",
          acts, [eur(bal)])

    t.add("auth", "The caller will not identify themselves: no lookup, no change.",
          "Privacy-conscious.",
          f"You want to cancel reservation {t.p['no_auth']['rental_id']}.",
          f"The reservation id is {t.p['no_auth']['rental_id']}.",
          "You refuse to give your name, email or customer id: you think the reservation id should be enough.",
          "Do not reveal who you are under any circumstances. If the agent will not cancel without it, end the "
          "conversation.",
          [], ["customer id"])

    r, c = t.rental("partner_card")
    mc = next(m for m in c["payment_methods"].values() if m["type"] == "credit_card" and m["brand"] == "mastercard")
    if any(m.get("last_four") == "9931" for m in c["payment_methods"].values()):
        raise SystemExit("the partner's card of task auth_6 must not be on the customer's profile")
    acts = [by_email(c), details(c), rental_read(r), extension_quote(r, 1),
            ("extend_rental", {"rental_id": r["rental_id"], "extra_hours": 1, "payment_method_id": mc["id"]})]
    out = replay(db, acts)
    t.add("auth", "Refuse a payment method that is not on the customer's profile; extend with their own card.",
          "Easy-going.",
          "You are riding a road bike rental and want it one hour longer.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know the rental id or your customer id.",
          "First ask to pay with your partner's card (a Visa ending in 9931 that is not on your profile). If the "
          f"agent refuses, pay with your own Mastercard ending in {mc['last_four']} instead. Confirm when asked. "
          "Ask for the cost.",
          acts, [eur(out[4]["extension_charge"])])

    # ---- transfers -----------------------------------------------------------------------------------
    r, c = t.rental("injury")
    t.add("transfer", "An injury during a rental goes to a human agent at once.",
          "Upset, in pain.",
          f"You fell off the e-bike of rental {r['rental_id']} and hurt your wrist; the bike is scratched.",
          f"Your customer id is {c['customer_id']}.", None,
          "Explain what happened and that you are hurt. Ask what to do about the bike and your injury.",
          [("transfer_to_human_agents", {"summary": "Customer was injured in a fall during an active "
                                                     f"e-bike rental {r['rental_id']}; the bike is damaged."})], [])

    r, c = t.rental("battery")
    t.add("transfer", "Uninsured battery damage: the fee exceeds 200 EUR, so a human handles it.",
          "Worried about the cost.",
          f"You dropped the e-bike of rental {r['rental_id']} and the battery casing cracked; it no longer powers "
          "on. You are not hurt.",
          f"Your customer id is {c['customer_id']}.", None,
          "Report the battery damage and ask what it costs. If you are transferred, accept.",
          [details(c), rental_read(r),
           ("transfer_to_human_agents", {"summary": f"Battery damage on rental {r['rental_id']} without damage "
                                                    "cover; the fee exceeds 200 EUR."})], [])

    tk = p["dispute"]
    c = db["customers"][tk["customer_id"]]
    t.add("transfer", "A dispute over a repair estimate above 200 EUR goes to a human agent.",
          "Angry about the price.",
          f"The estimate for repairing your own e-bike (ticket {tk['ticket_id']}) is far higher than you expected "
          "and you dispute it.",
          f"Your customer id is {c['customer_id']}.", None,
          "Say you do not accept the estimate and want it reviewed. If transferred, accept.",
          [details(c), ("get_repair_ticket", {"ticket_id": tk["ticket_id"]}),
           ("transfer_to_human_agents", {"summary": f"Customer disputes the estimate of repair ticket "
                                                    f"{tk['ticket_id']} (over 200 EUR)."})], [])

    r, c = t.rental("dup_charge")
    t.add("transfer", "A duplicate charge (billing error) goes to a human agent.",
          "Calm but firm.",
          f"Your card statement shows that mountain bike rental {r['rental_id']} was charged twice.",
          f"You are {name_of(c)}, email {c['email']}.", "You do not know your customer id.",
          "Ask for the duplicate charge to be refunded to your card. If transferred, accept.",
          [by_email(c), rental_read(r),
           ("transfer_to_human_agents", {"summary": f"Rental {r['rental_id']} was charged twice; the customer "
                                                    "wants the duplicate charge refunded."})], [])

    r, c = t.rental("stolen")
    t.add("transfer", "A stolen rental bike goes to a human agent.",
          "Panicked.",
          f"The city bike of rental {r['rental_id']} was stolen while you were in a shop, even though it was locked.",
          f"Your customer id is {c['customer_id']}.", None,
          "Explain the theft and ask what happens now. If transferred, accept.",
          [details(c), rental_read(r),
           ("transfer_to_human_agents", {"summary": f"The bike of active rental {r['rental_id']} was reported "
                                                    "stolen."})], [])
    return t.tasks


# --- verification ---------------------------------------------------------------------------------------

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def numbers_in(text: str) -> set[float]:
    return {float(x) for x in NUMBER.findall(text)}


def mutations(name: str, args: dict[str, Any], db: dict[str, Any]) -> list[dict[str, Any]]:
    """Each argument changed to another plausible value (for the 'every argument matters' check)."""
    out = []
    for key, value in args.items():
        if isinstance(value, bool):
            new: Any = not value
        elif isinstance(value, int):
            new = value + 1
        elif isinstance(value, float):
            new = money(value - 0.01)
        elif key == "reason":
            new = "booked_by_mistake" if value == "change_of_plans" else "change_of_plans"
        elif key == "part":
            new = "tires" if value != "tires" else "brakes"
        elif key == "start_time":
            new = format_time(parse_time(value) + timedelta(hours=1))
        elif key == "customer_id":
            new = next(c for c in sorted(db["customers"]) if c != value)
        elif key == "rental_id":
            owner = db["rentals"][value]["customer_id"]
            same = [r for r in db["customers"][owner]["rental_ids"] if r != value]
            new = same[0] if same else next(r for r in sorted(db["rentals"]) if r != value)
        elif key == "bike_id":
            bike = db["bikes"][value]
            new = next(b for b in db["stations"][bike["station_id"]]["bike_ids"]
                       if b != value and db["bikes"][b]["status"] == "available")
        elif key == "payment_method_id":
            owner = next(c for c in db["customers"].values() if value in c["payment_methods"])
            new = next((m for m in owner["payment_methods"] if m != value), "card_000000")
        else:
            continue
        out.append({**args, key: new})
    return out


UNHELPFUL_REPLIES = ("I do not know.", "I cannot help with that.", "Sorry, I can't do that.")


def do_nothing_passes(db: dict[str, Any], policy: str, task: dict[str, Any]) -> str | None:
    """The first unhelpful reply that scores above 0 on ``task`` from an agent that greets, calls no tool
    and gives that reply; None when every one scores 0 (as a do-nothing agent must)."""
    domain = TauDomain(name="bikeshop", directory=OUT, toolkit_cls=BikeshopToolkit, db=db, user_db=None,
                       policy=policy, tasks=[task], splits={})
    for reply in UNHELPFUL_REPLIES:
        messages = [Message("assistant", GREETING), Message("assistant", reply)]
        if evaluate(domain, task, domain.new_toolkit(task), messages, True, None).value > 0:
            return reply
    return None


def final_state(db: dict[str, Any], actions: list[dict[str, Any]]) -> str | None:
    """Canonical JSON after the actions, or None when one of them fails."""
    kit = BikeshopToolkit(copy.deepcopy(db))
    try:
        for a in actions:
            kit.call(a["name"], a["arguments"])
    except ToolError:
        return None
    return kit.snapshot()


def verify(db: dict[str, Any], tasks: list[dict[str, Any]], splits: dict[str, list[str]], policy: str) -> list[str]:
    problems = []
    ids = [t["id"] for t in tasks]
    if len(set(ids)) != len(ids):
        problems.append("duplicate task ids")
    if sorted(splits["base"]) != sorted(ids) or sorted(splits["train"] + splits["test"]) != sorted(ids):
        problems.append("splits do not partition the tasks")
    start = BikeshopToolkit(copy.deepcopy(db)).snapshot()
    for task in tasks:
        tid = task["id"]
        crit = task["evaluation_criteria"]
        kit = BikeshopToolkit(copy.deepcopy(db))
        outputs = []
        writes = []
        for a in crit["actions"]:
            try:
                outputs.append(kit.call(a["name"], a["arguments"]))
            except ToolError as e:
                problems.append(f"{tid}: {a['action_id']} {a['name']} failed: {e}")
                break
            if BikeshopToolkit.tool_kind(a["name"]) == "write":
                writes.append(a)
        seen = set().union(*(numbers_in(o) for o in outputs)) if outputs else set()
        joined = "\n".join(outputs)
        for info in crit["communicate_info"]:
            if NUMBER.fullmatch(info):
                if float(info) not in seen:
                    problems.append(f"{tid}: communicate_info {info} is in no tool output")
            elif info not in joined and info not in policy:
                problems.append(f"{tid}: communicate_info {info!r} is in no tool output and not in the policy")
        reply = do_nothing_passes(db, policy, task)
        if reply is not None:
            problems.append(f"{tid}: an agent that does nothing and says {reply!r} scores above 0")
        for a in crit.get("env_assertions") or []:
            if not kit.run_assertion(a["func_name"], a["arguments"]):
                problems.append(f"{tid}: env assertion {a['func_name']}({a['arguments']}) fails")
        changed = kit.snapshot() != start
        category = tid.rsplit("_", 1)[0]
        if category in ("refusal", "transfer") and writes:
            problems.append(f"{tid}: a {category} task has gold writes")
        if category in ("write", "multi", "compute") and not writes:
            problems.append(f"{tid}: a {category} task has no gold write")
        if changed != bool(writes):
            problems.append(f"{tid}: database {'changed' if changed else 'unchanged'} with {len(writes)} writes")
        if category == "transfer" and crit["actions"][-1]["name"] != "transfer_to_human_agents":
            problems.append(f"{tid}: a transfer task must end with transfer_to_human_agents")
        gold = kit.snapshot()
        for i, a in enumerate(crit["actions"]):
            if BikeshopToolkit.tool_kind(a["name"]) != "write":
                continue
            for wrong in mutations(a["name"], a["arguments"], db):
                acts = [*crit["actions"][:i], {**a, "arguments": wrong}, *crit["actions"][i + 1:]]
                if final_state(db, acts) == gold:
                    problems.append(f"{tid}: {a['name']} with {wrong} reaches the gold state too")
    return problems


def make_splits(tasks: list[dict[str, Any]]) -> dict[str, list[str]]:
    train, test = [], []
    seen: Counter[str] = Counter()
    for task in tasks:
        category = task["id"].rsplit("_", 1)[0]
        (test if seen[category] % 3 == 2 else train).append(task["id"])
        seen[category] += 1
    return {"base": [t["id"] for t in tasks], "train": train, "test": test}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the files on disk; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        db = json.loads((OUT / "db.json").read_text(encoding="utf-8"))
        tasks = json.loads((OUT / "tasks.json").read_text(encoding="utf-8"))
        splits = json.loads((OUT / "split_tasks.json").read_text(encoding="utf-8"))
    else:
        db, planted = build_db()
        tasks = make_tasks(db, planted)
        splits = make_splits(tasks)
    problems = verify(db, tasks, splits, (OUT / "policy.md").read_text(encoding="utf-8"))
    counts = Counter(t["id"].rsplit("_", 1)[0] for t in tasks)
    sizes = {k: len(db[k]) for k in ("customers", "stations", "bikes", "rentals", "repair_tickets")}
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problem(s); nothing written", file=sys.stderr)
        return 1
    if not args.check:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "db.json").write_text(json.dumps(db, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (OUT / "tasks.json").write_text(json.dumps(tasks, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (OUT / "split_tasks.json").write_text(json.dumps(splits, indent=2) + "\n", encoding="utf-8")
    print(f"{'verified' if args.check else 'wrote and verified'} {OUT}: {sizes}; {len(tasks)} tasks "
          f"{dict(counts)}; train {len(splits['train'])}, test {len(splits['test'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
