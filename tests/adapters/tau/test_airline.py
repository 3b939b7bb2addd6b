"""τ²-bench's airline domain: gold replay, each write tool's exact effect, output text, tool specs, and what
the reward makes of a do-nothing agent, a wrong write and the gold path through the real command.

Expected values come from τ²-bench's own ``AirlineTools`` run on the same data (a pinned digest per task of
its database after the gold actions, exactly its ``get_db_hash()``, and of the text of every tool result),
or were read off its code; the comments say which τ²-bench quirk a value shows.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from evalharness.adapters.tau.domains import TOOLKITS, toolkit_for
from evalharness.adapters.tau.domains.airline import AirlineTools
from evalharness.errors import DataError
from evalharness.tools import ToolError
from tests.adapters.tau.test_evaluator import evalharness, run_results, run_tau, run_wrong_writes

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data" / "tau2" / "airline"
TASKS: list[dict[str, Any]] = json.loads((DATA / "tasks.json").read_text(encoding="utf-8"))
TASK = {t["id"]: t for t in TASKS}

# sha256 of τ²-bench's FlightDB.load(db.json).model_dump(), as json.dumps(sort_keys=True): its get_db_hash()
INITIAL_DB_HASH = "124e39a664b56402"

# Per task, from τ²-bench's AirlineTools replaying the task's gold actions on a fresh database:
# (get_db_hash() afterwards, sha256 of the tool results joined by \x1e), both cut to 16 hex digits.
# No gold action of this domain fails in τ²-bench.
TAU2_GOLD: dict[str, tuple[str, str]] = {
    "0": ("124e39a664b56402", "e3b0c44298fc1c14"),
    "1": ("124e39a664b56402", "57c93302f17c169c"),
    "2": ("124e39a664b56402", "b3c89dc13e0dc388"),
    "3": ("124e39a664b56402", "4870dabae85cee20"),
    "4": ("124e39a664b56402", "2a9eeffb22f60eb4"),
    "5": ("124e39a664b56402", "0b75ce9158103343"),
    "6": ("124e39a664b56402", "ec59f95cd5024b58"),
    "7": ("0087f8266f0f2fc2", "530a99c2d7a0d26e"),
    "8": ("00766aa3e0341b49", "5b803b0efe88b682"),
    "9": ("124e39a664b56402", "4f53cda18c2baa0c"),
    "10": ("124e39a664b56402", "e3b0c44298fc1c14"),
    "11": ("1e46d540ec2e530b", "562e715789eb8f7a"),
    "12": ("df1e46c5aaf8af00", "550289220f24d96c"),
    "13": ("124e39a664b56402", "bccdc18e7b6ac085"),
    "14": ("b4ea8effd45eee77", "b9a0f6850945c6d9"),
    "15": ("c9500f3100906613", "d67af1bd2234dcc3"),
    "16": ("c9500f3100906613", "d67af1bd2234dcc3"),
    "17": ("37ea6df3bdb75dc6", "082000bdacf5ef3a"),
    "18": ("361a067372a4d57d", "c61f4343ef5abbb7"),
    "19": ("e5defef608c9ccc3", "126950464fedb28c"),
    "20": ("a561da60bcd2e87f", "a5113807c68a2192"),
    "21": ("9ede9d0dc4363e33", "ad21dfe092928ea7"),
    "22": ("37ea6df3bdb75dc6", "082000bdacf5ef3a"),
    "23": ("b46d1bed5ba2b986", "24c910bdf94f267a"),
    "24": ("db03cad581503e64", "799476249a2a457f"),
    "25": ("d0579b8ae59e360f", "47de5bd4a18ca8af"),
    "26": ("124e39a664b56402", "e3b0c44298fc1c14"),
    "27": ("124e39a664b56402", "83ea00091d7855ea"),
    "28": ("124e39a664b56402", "e3b0c44298fc1c14"),
    "29": ("55e7aa074a761cbd", "23d56a637910065d"),
    "30": ("dc171787dd84f743", "9ee63021cd7ca5ef"),
    "31": ("124e39a664b56402", "e3b0c44298fc1c14"),
    "32": ("caea57241d7ab934", "cbe75bac07977ed1"),
    "33": ("735ba8f15206b7fb", "aee64ff94708349b"),
    "34": ("124e39a664b56402", "e3b0c44298fc1c14"),
    "35": ("e0c0bf3e578e820a", "993d9940074c0a2f"),
    "36": ("124e39a664b56402", "aed4123228f11203"),
    "37": ("b659ba383c77f7e9", "11dcb198668f1066"),
    "38": ("124e39a664b56402", "62a6e3cbc50b0409"),
    "39": ("964c9e1c81f8bf25", "7e6f4847884e8254"),
    "40": ("96b61d516184b98e", "b417772fcf5032cf"),
    "41": ("124e39a664b56402", "f0508c3f432659aa"),
    "42": ("768a1bf6bcedc298", "238120b24655c7e3"),
    "43": ("124e39a664b56402", "200e4076dc54b9f0"),
    "44": ("0c7887491b21baf5", "6c5db48917e4a8e7"),
    "45": ("124e39a664b56402", "ec59f95cd5024b58"),
    "46": ("124e39a664b56402", "e3b0c44298fc1c14"),
    "47": ("124e39a664b56402", "e3594217dab53c73"),
    "48": ("124e39a664b56402", "76859e78664b345f"),
    "49": ("124e39a664b56402", "76859e78664b345f"),
}


@functools.cache
def _db_bytes() -> bytes:
    return (DATA / "db.json").read_bytes()


def fresh() -> AirlineTools:
    return AirlineTools(orjson.loads(_db_bytes()))


def db_hash(toolkit: AirlineTools) -> str:
    """τ²-bench's ``get_db_hash`` of our database, cut to 16 hex digits."""
    return hashlib.sha256(json.dumps(toolkit.db, sort_keys=True, default=str).encode()).hexdigest()[:16]


def ok(toolkit: AirlineTools, name: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its result parsed back from the text the model reads."""
    text = toolkit.call(name, arguments)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def error(toolkit: AirlineTools, name: str, **arguments: Any) -> str:
    """Call a tool that must fail and leave the database as it was; the message."""
    before = orjson.dumps(toolkit.db, option=orjson.OPT_SORT_KEYS)
    with pytest.raises(ToolError) as e:
        toolkit.call(name, arguments)
    assert orjson.dumps(toolkit.db, option=orjson.OPT_SORT_KEYS) == before, f"{name} changed the database first"
    return str(e.value)


USER = "sophia_davis_8874"
SOPHIA = {"first_name": "Sophia", "last_name": "Davis", "dob": "1997-04-14"}
ANYA = {"first_name": "Anya", "last_name": "Rossi", "dob": "1956-10-22"}
JFK_MIA = [{"flight_number": "HAT014", "date": "2024-05-20"}]  # economy 143, 9 seats left


def booking(**changes: Any) -> dict[str, Any]:
    """A one-way economy booking JFK-MIA for Sophia, paid by credit card; ``changes`` replace arguments."""
    return {"user_id": USER, "origin": "JFK", "destination": "MIA", "flight_type": "one_way", "cabin": "economy",
            "flights": JFK_MIA, "passengers": [SOPHIA],
            "payment_methods": [{"payment_id": "credit_card_4801844", "amount": 143}],
            "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no", **changes}


def method(toolkit: AirlineTools, payment_id: str, user_id: str = USER) -> dict[str, Any] | None:
    return toolkit.db["users"][user_id]["payment_methods"].get(payment_id)


def seats(toolkit: AirlineTools, flight_number: str, date: str) -> dict[str, int]:
    return dict(toolkit.db["flights"][flight_number]["dates"][date]["available_seats"])


# --- gold replay ---------------------------------------------------------------------------------------


def test_every_task_is_pinned() -> None:
    assert len(TASKS) == 50
    assert set(TASK) == set(TAU2_GOLD)
    assert all(t.get("initial_state") is None for t in TASKS)  # airline defines no initial state
    assert all(a.get("requestor", "assistant") == "assistant"
               for t in TASKS for a in t["evaluation_criteria"]["actions"])  # and no user tools


@pytest.mark.parametrize("task", TASKS, ids=[t["id"] for t in TASKS])
def test_gold_replay_reaches_tau2s_database(task: dict[str, Any]) -> None:
    toolkit = fresh()
    toolkit.apply_initial_state(task.get("initial_state"))
    assert db_hash(toolkit) == INITIAL_DB_HASH
    results = [toolkit.call(a["name"], a["arguments"]) for a in task["evaluation_criteria"]["actions"]]
    expected_db, expected_results = TAU2_GOLD[task["id"]]
    assert db_hash(toolkit) == expected_db
    assert hashlib.sha256("\x1e".join(results).encode()).hexdigest()[:16] == expected_results


def test_initial_database_gets_tau2s_defaults_and_field_order() -> None:
    raw = orjson.loads(_db_bytes())
    assert "status" not in raw["reservations"]["NVLFIW"]
    assert list(raw["flights"]["HAT014"])[:3] == ["origin", "destination", "flight_number"]
    toolkit = AirlineTools(raw)
    assert toolkit.db is raw  # normalised in place
    assert list(toolkit.db["reservations"]["NVLFIW"]) == [
        "reservation_id", "user_id", "origin", "destination", "flight_type", "cabin", "flights", "passengers",
        "payment_history", "created_at", "total_baggages", "nonfree_baggages", "insurance", "status"]
    assert all(r["status"] is None for r in toolkit.db["reservations"].values())
    assert list(toolkit.db["flights"]["HAT014"]) == ["flight_number", "origin", "destination",
                                                     "scheduled_departure_time_est", "scheduled_arrival_time_est",
                                                     "dates"]
    assert list(toolkit.db["reservations"]["NVLFIW"]["flights"][0]) == ["flight_number", "origin", "destination",
                                                                        "date", "price"]
    assert db_hash(toolkit) == INITIAL_DB_HASH


def test_a_database_outside_the_data_model_is_a_data_error() -> None:
    raw = orjson.loads(_db_bytes())
    raw["flights"]["HAT014"]["dates"]["2024-05-20"]["status"] = "boarding"
    with pytest.raises(DataError, match="airline: the database does not fit τ²-bench's data model"):
        AirlineTools(raw)
    with pytest.raises(DataError, match="extra"):
        AirlineTools({**orjson.loads(_db_bytes()), "airports": {}})


# --- book_reservation ----------------------------------------------------------------------------------


def test_book_charges_each_payment_method_and_takes_the_seats() -> None:
    toolkit = fresh()
    # 2 x 143 + 2 x 30 insurance + 50 for one non-free bag = 396
    reservation = ok(toolkit, "book_reservation", **booking(
        passengers=[SOPHIA, ANYA], insurance="yes", total_baggages=3, nonfree_baggages=1,
        payment_methods=[{"payment_id": "certificate_9507611", "amount": 250},
                         {"payment_id": "gift_card_2075462", "amount": 100},
                         {"payment_id": "credit_card_4801844", "amount": 46}]))
    assert reservation == {
        "reservation_id": "HATHAT", "user_id": USER, "origin": "JFK", "destination": "MIA",
        "flight_type": "one_way", "cabin": "economy",
        "flights": [{"flight_number": "HAT014", "origin": "JFK", "destination": "MIA", "date": "2024-05-20",
                     "price": 143}],
        "passengers": [SOPHIA, ANYA],
        "payment_history": [{"payment_id": "certificate_9507611", "amount": 250},
                            {"payment_id": "gift_card_2075462", "amount": 100},
                            {"payment_id": "credit_card_4801844", "amount": 46}],
        "created_at": "2024-05-15T15:00:00", "total_baggages": 3, "nonfree_baggages": 1, "insurance": "yes",
        "status": None,
    }
    assert toolkit.db["reservations"]["HATHAT"] == reservation
    assert toolkit.db["users"][USER]["reservations"] == ["ZVWQ08", "HFMJKS", "NVLFIW", "HATHAT"]
    assert method(toolkit, "certificate_9507611") is None  # spent whole: it held 250
    assert method(toolkit, "gift_card_2075462") == {"source": "gift_card", "id": "gift_card_2075462", "amount": 99.0}
    assert seats(toolkit, "HAT014", "2024-05-20") == {"basic_economy": 3, "economy": 7, "business": 9}


def test_a_certificate_that_pays_part_of_a_booking_is_removed_whole() -> None:
    toolkit = fresh()
    ok(toolkit, "book_reservation", **booking(payment_methods=[{"payment_id": "certificate_1654224", "amount": 143}]))
    assert method(toolkit, "certificate_1654224") is None  # it held 500


def test_book_names_reservations_in_order_and_stops_at_three() -> None:
    toolkit = fresh()
    assert [ok(toolkit, "book_reservation", **booking())["reservation_id"] for _ in range(3)] == [
        "HATHAT", "HATHAU", "HATHAV"]
    assert seats(toolkit, "HAT014", "2024-05-20")["economy"] == 6
    assert error(toolkit, "book_reservation", **booking()) == "Too many reservations"


def test_book_checks_each_payment_on_its_own_so_a_gift_card_can_be_overdrawn() -> None:
    toolkit = fresh()
    gift = {"payment_id": "gift_card_2075462", "amount": 143}  # the card holds 199: each entry fits, both do not
    ok(toolkit, "book_reservation", **booking(passengers=[SOPHIA, ANYA], payment_methods=[gift, gift]))
    assert method(toolkit, "gift_card_2075462")["amount"] == -87.0


def test_book_finds_ids_in_any_case_and_stores_the_real_ones() -> None:
    toolkit = fresh()
    reservation = ok(toolkit, "book_reservation", **booking(
        user_id=" Sophia_Davis_8874 ", flights=[{"flight_number": "hat014", "date": "2024-05-20"}]))
    assert reservation["user_id"] == USER
    assert reservation["flights"][0]["flight_number"] == "HAT014"
    assert toolkit.db["users"][USER]["reservations"][-1] == "HATHAT"


def test_book_errors() -> None:
    toolkit = fresh()
    cases = [
        ({"payment_methods": [{"payment_id": "credit_card_4801844", "amount": 100}]},
         "Payment amount does not add up, total price is 143, but paid 100"),
        ({"payment_methods": [{"payment_id": "credit_card_0000000", "amount": 143}]},
         "Payment method credit_card_0000000 not found"),
        ({"payment_methods": [{"payment_id": "certificate_1654224", "amount": 600}]},  # it holds 500
         "Not enough balance in payment method certificate_1654224"),
        ({"flights": [{"flight_number": "HAT001", "date": "2024-05-01"}]},  # landed
         "Flight HAT001 not available on date 2024-05-01"),
        ({"flights": [{"flight_number": "HAT014", "date": "2024-06-20"}]}, "Flight HAT014 not found on date 2024-06-20"),
        ({"flights": [{"flight_number": "HAT999", "date": "2024-05-20"}]}, "Flight HAT999 not found"),
        ({"flights": [{"flight_number": "HAT079", "date": "2024-05-20"}], "cabin": "basic_economy"},  # 0 left
         "Not enough seats on flight HAT079"),
        ({"user_id": "nobody_1"}, "User nobody_1 not found"),
        ({"nonfree_baggages": "1"}, "unsupported operand type(s) for +=: 'int' and 'str'"),
    ]
    for changes, message in cases:
        assert error(toolkit, "book_reservation", **booking(**changes)) == message, changes
    assert db_hash(toolkit) == INITIAL_DB_HASH


@pytest.mark.parametrize(("changes", "start"), [
    ({"cabin": "first"}, "1 validation error for Reservation\ncabin\n  Input should be 'business', 'economy' or "
                         "'basic_economy' [type=literal_error, input_value='first', input_type=str]"),
    ({"flights": [{"flight_number": "HAT014"}]}, "1 validation error for FlightInfo\ndate\n  Field required"),
    ({"payment_methods": [{"payment_id": "credit_card_4801844", "amount": 143.5}]},
     "1 validation error for Payment\namount\n  Input should be a valid integer, got a number with a fractional part"),
    ({"passengers": ["Sophia Davis"]},
     "1 validation error for Reservation\npassengers.0\n  Input should be a valid dictionary or instance of Passenger"),
], ids=["cabin", "flight-without-date", "fractional-amount", "passenger-not-an-object"])
def test_book_arguments_outside_the_data_model_fail_with_pydantics_message(changes: dict[str, Any],
                                                                            start: str) -> None:
    assert error(fresh(), "book_reservation", **booking(**changes)).startswith(start)


# --- cancel_reservation --------------------------------------------------------------------------------


def test_cancel_appends_negated_payments_and_moves_no_money_or_seats() -> None:
    toolkit = fresh()
    before = seats(toolkit, "HAT263", "2024-05-21")
    reservation = ok(toolkit, "cancel_reservation", reservation_id="NVLFIW")
    assert reservation["status"] == "cancelled"
    assert reservation["payment_history"] == [{"payment_id": "gift_card_2075462", "amount": 652},
                                              {"payment_id": "gift_card_2075462", "amount": -652}]
    assert method(toolkit, "gift_card_2075462")["amount"] == 199.0  # not even a gift card gets it back
    assert seats(toolkit, "HAT263", "2024-05-21") == before
    # no status check: a second cancellation negates the refund too
    again = ok(toolkit, "cancel_reservation", reservation_id="NVLFIW")
    assert [p["amount"] for p in again["payment_history"]] == [652, -652, -652, 652]
    assert error(toolkit, "cancel_reservation", reservation_id="NVLFIX") == "Reservation NVLFIX not found"


# --- update_reservation_flights ------------------------------------------------------------------------

# NVLFIW: economy, 2 passengers, HAT212 on 05-09 (booked at 142, landed) and HAT263 on 05-21 (booked at 184,
# 134 today), paid 652 by gift_card_2075462 (199 left)
FIRST_LEG = {"flight_number": "HAT212", "date": "2024-05-09"}


def test_change_keeps_booked_prices_and_refunds_a_cheaper_flight_to_the_gift_card() -> None:
    toolkit = fresh()
    before = seats(toolkit, "HAT263", "2024-05-22")
    reservation = ok(toolkit, "update_reservation_flights", reservation_id="NVLFIW", cabin="economy",
                     flights=[FIRST_LEG, {"flight_number": "HAT263", "date": "2024-05-22"}],
                     payment_id="gift_card_2075462")
    assert reservation["flights"] == [
        {"flight_number": "HAT212", "origin": "JFK", "destination": "DTW", "date": "2024-05-09", "price": 142},
        {"flight_number": "HAT263", "origin": "DTW", "destination": "JFK", "date": "2024-05-22", "price": 115}]
    # 2 x (115 - 184)
    assert reservation["payment_history"][1:] == [{"payment_id": "gift_card_2075462", "amount": -138}]
    assert method(toolkit, "gift_card_2075462")["amount"] == 337.0
    assert seats(toolkit, "HAT263", "2024-05-22") == before  # the new flight takes no seat


def test_change_charges_a_dearer_flight_to_a_card() -> None:
    toolkit = fresh()
    reservation = ok(toolkit, "update_reservation_flights", reservation_id="NVLFIW", cabin="economy",
                     flights=[FIRST_LEG, {"flight_number": "HAT263", "date": "2024-05-28"}],
                     payment_id="credit_card_4801844")
    assert reservation["payment_history"][1:] == [{"payment_id": "credit_card_4801844", "amount": 18}]  # 2 x 9


def test_a_cabin_change_reprices_every_flight_at_todays_fare() -> None:
    toolkit = fresh()
    later = [{"flight_number": "HAT212", "date": "2024-05-20"}, {"flight_number": "HAT263", "date": "2024-05-21"}]
    assert error(toolkit, "update_reservation_flights", reservation_id="NVLFIW", cabin="business", flights=later,
                 payment_id="gift_card_2075462") == "Gift card balance is not enough"
    reservation = ok(toolkit, "update_reservation_flights", reservation_id="NVLFIW", cabin="business",
                     flights=later, payment_id="credit_card_4801844")
    assert reservation["cabin"] == "business"
    assert [f["price"] for f in reservation["flights"]] == [365, 264]
    assert reservation["payment_history"][1:] == [{"payment_id": "credit_card_4801844", "amount": 606}]
    # a flown flight cannot be repriced, so its cabin cannot change
    assert error(toolkit, "update_reservation_flights", reservation_id="NVLFIW", cabin="economy",
                 flights=[FIRST_LEG], payment_id="credit_card_4801844") == \
        "Flight HAT212 not available on date 2024-05-09"


def test_a_change_with_nothing_due_records_no_payment_but_still_refuses_a_certificate() -> None:
    toolkit = fresh()
    same = [FIRST_LEG, {"flight_number": "HAT263", "date": "2024-05-21"}]
    assert error(toolkit, "update_reservation_flights", reservation_id="NVLFIW", cabin="economy", flights=same,
                 payment_id="certificate_1654224") == "Certificate cannot be used to update reservation"
    reservation = ok(toolkit, "update_reservation_flights", reservation_id="NVLFIW", cabin="economy", flights=same,
                     payment_id="credit_card_4801844")
    assert reservation["payment_history"] == [{"payment_id": "gift_card_2075462", "amount": 652}]
    assert db_hash(toolkit) == INITIAL_DB_HASH


def test_change_errors() -> None:
    toolkit = fresh()
    same = [FIRST_LEG, {"flight_number": "HAT263", "date": "2024-05-21"}]
    args = {"reservation_id": "NVLFIW", "cabin": "economy"}
    assert error(toolkit, "update_reservation_flights", flights=same, payment_id="paypal_1", **args) == \
        "Payment method not found"
    assert error(toolkit, "update_reservation_flights", flights=[{"flight_number": "HAT263", "date": "2024-05-18"}],
                 payment_id="credit_card_4801844", **args) == "Not enough seats on flight HAT263"  # economy: 0
    assert error(toolkit, "update_reservation_flights", flights=[{"flight_number": "HAT404", "date": "2024-05-18"}],
                 payment_id="credit_card_4801844", **args) == "Flight HAT404 not found"
    assert error(toolkit, "update_reservation_flights", reservation_id="ABC123", cabin="economy", flights=same,
                 payment_id="credit_card_4801844") == "Reservation ABC123 not found"


# --- update_reservation_baggages -----------------------------------------------------------------------


def test_baggage_charges_added_nonfree_bags_and_refunds_nothing() -> None:
    toolkit = fresh()
    reservation = ok(toolkit, "update_reservation_baggages", reservation_id="NVLFIW", total_baggages=4,
                     nonfree_baggages=2, payment_id="gift_card_2075462")
    assert (reservation["total_baggages"], reservation["nonfree_baggages"]) == (4, 2)
    assert reservation["payment_history"][1:] == [{"payment_id": "gift_card_2075462", "amount": 100}]
    assert method(toolkit, "gift_card_2075462")["amount"] == 99.0
    reservation = ok(toolkit, "update_reservation_baggages", reservation_id="NVLFIW", total_baggages=1,
                     nonfree_baggages=0, payment_id="credit_card_4801844")
    assert (reservation["total_baggages"], reservation["nonfree_baggages"]) == (1, 0)
    assert len(reservation["payment_history"]) == 2  # fewer bags: no refund, no entry


def test_baggage_counts_are_stored_as_given() -> None:
    toolkit = fresh()
    text = toolkit.call("update_reservation_baggages", {"reservation_id": "NVLFIW", "total_baggages": "3",
                                                        "nonfree_baggages": 0, "payment_id": "credit_card_4801844"})
    assert '"total_baggages": "3", "nonfree_baggages": 0' in text


def test_baggage_errors() -> None:
    toolkit = fresh()
    args = {"reservation_id": "NVLFIW", "total_baggages": 2, "nonfree_baggages": 0}
    # nothing is due, and the certificate is still refused
    assert error(toolkit, "update_reservation_baggages", payment_id="certificate_1654224", **args) == \
        "Certificate cannot be used to update reservation"
    assert error(toolkit, "update_reservation_baggages", reservation_id="NVLFIW", total_baggages=9,
                 nonfree_baggages=5, payment_id="gift_card_6874494") == "Gift card balance is not enough"  # 134
    assert error(toolkit, "update_reservation_baggages", payment_id="credit_card_0000000", **args) == \
        "Payment method not found"


# --- update_reservation_passengers ---------------------------------------------------------------------


def test_passengers_are_replaced_in_the_order_given_and_only_their_number_is_checked() -> None:
    toolkit = fresh()
    stranger = {"first_name": "Noor", "last_name": "Moreau", "dob": "2001-01-01", "seat": "12A"}
    reservation = ok(toolkit, "update_reservation_passengers", reservation_id="NVLFIW", passengers=[ANYA, stranger])
    assert reservation["passengers"] == [ANYA, {"first_name": "Noor", "last_name": "Moreau", "dob": "2001-01-01"}]
    assert error(toolkit, "update_reservation_passengers", reservation_id="NVLFIW", passengers=[SOPHIA]) == \
        "Number of passengers does not match"
    assert error(toolkit, "update_reservation_passengers", reservation_id="NVLFIW",
                 passengers=[SOPHIA, {"first_name": "X"}]).startswith("2 validation errors for Passenger\nlast_name")


# --- send_certificate ----------------------------------------------------------------------------------


def test_send_certificate_adds_up_to_three_and_echoes_its_arguments() -> None:
    toolkit = fresh()
    assert ok(toolkit, "send_certificate", user_id="Sophia_Davis_8874", amount=150) == \
        "Certificate certificate_3221322 added to user Sophia_Davis_8874 with amount 150."
    assert method(toolkit, "certificate_3221322") == {"source": "certificate", "id": "certificate_3221322",
                                                      "amount": 150.0}
    assert ok(toolkit, "send_certificate", user_id=USER, amount=100).startswith("Certificate certificate_3221323 ")
    assert ok(toolkit, "send_certificate", user_id=USER, amount=50).startswith("Certificate certificate_3221324 ")
    assert error(toolkit, "send_certificate", user_id=USER, amount=10) == "Too many certificates"
    assert error(toolkit, "send_certificate", user_id="sophia_davis_0000", amount=10) == \
        "User sophia_davis_0000 not found"


# --- read and generic tools: the exact text ------------------------------------------------------------

RESERVATION_NVLFIW = (
    '{"reservation_id": "NVLFIW", "user_id": "sophia_davis_8874", "origin": "JFK", "destination": "DTW", '
    '"flight_type": "round_trip", "cabin": "economy", "flights": [{"flight_number": "HAT212", "origin": "JFK", '
    '"destination": "DTW", "date": "2024-05-09", "price": 142}, {"flight_number": "HAT263", "origin": "DTW", '
    '"destination": "JFK", "date": "2024-05-21", "price": 184}], "passengers": [{"first_name": "Sophia", '
    '"last_name": "Davis", "dob": "1997-04-14"}, {"first_name": "Anya", "last_name": "Rossi", "dob": "1956-10-22"}], '
    '"payment_history": [{"payment_id": "gift_card_2075462", "amount": 652}], "created_at": "2024-05-02T01:06:17", '
    '"total_baggages": 2, "nonfree_baggages": 0, "insurance": "no", "status": null}'
)

USER_SOPHIA_START = (
    '{"user_id": "sophia_davis_8874", "name": {"first_name": "Sophia", "last_name": "Davis"}, "address": '
    '{"address1": "770 Elm Avenue", "address2": "Suite 445", "city": "Washington", "country": "USA", "state": "DC", '
    '"zip": "20532"}, "email": "sophia.davis4814@example.com", "dob": "1997-04-14", "payment_methods": '
    '{"certificate_1654224": {"source": "certificate", "id": "certificate_1654224", "amount": 500.0}, '
    '"gift_card_2075462": {"source": "gift_card", "id": "gift_card_2075462", "amount": 199.0}, '
    '"credit_card_4801844": {"source": "credit_card", "id": "credit_card_4801844", "brand": "visa", '
    '"last_four": "4373"}, '
)

DIRECT_HAT014 = (
    '{"flight_number": "HAT014", "origin": "JFK", "destination": "MIA", "status": "available", '
    '"scheduled_departure_time_est": "17:00:00", "scheduled_arrival_time_est": "20:00:00", "date": null, '
    '"available_seats": {"basic_economy": 3, "economy": 9, "business": 9}, '
    '"prices": {"basic_economy": 57, "economy": 143, "business": 441}}'
)


def test_read_tools_text() -> None:
    toolkit = fresh()
    assert toolkit.call("get_reservation_details", {"reservation_id": "NVLFIW"}) == RESERVATION_NVLFIW
    user = toolkit.call("get_user_details", {"user_id": USER})
    assert user.startswith(USER_SOPHIA_START)
    assert user.endswith('"membership": "regular", "reservations": ["ZVWQ08", "HFMJKS", "NVLFIW"]}')
    direct = toolkit.call("search_direct_flight", {"origin": "JFK", "destination": "MIA", "date": "2024-05-20"})
    assert direct.startswith("[" + DIRECT_HAT014 + ", ")
    assert [f["flight_number"] for f in json.loads(direct)] == ["HAT014", "HAT060", "HAT126", "HAT209"]
    assert toolkit.call("get_flight_status", {"flight_number": "HAT014", "date": "2024-05-15"}) == "delayed"
    airports = toolkit.call("list_all_airports", {})
    assert airports.startswith('[{"iata": "SFO", "city": "San Francisco"}, {"iata": "JFK", "city": "New York"}, ')
    assert len(json.loads(airports)) == 20


def test_one_stop_search_gives_both_dates_and_builds_the_next_day_in_may_only() -> None:
    toolkit = fresh()
    pairs = ok(toolkit, "search_onestop_flight", origin="JFK", destination="ATL", date="2024-05-20")
    legs = [(a["flight_number"], a["date"], b["flight_number"], b["date"], b["scheduled_departure_time_est"])
            for a, b in pairs]
    # HAT261 lands at 01:30:00+1, so its connection is looked for on the next day
    assert ("HAT261", "2024-05-20", "HAT093", "2024-05-21", "02:00:00") in legs
    assert all(a["scheduled_arrival_time_est"].rstrip("+1") <= b["scheduled_departure_time_est"] for a, b in pairs)
    # from the 30th the next day would be "2024-05-31", which has no flights: no overnight connection
    late = ok(toolkit, "search_onestop_flight", origin="JFK", destination="ATL", date="2024-05-30")
    assert [(a["flight_number"], b["flight_number"], b["date"]) for a, b in late] == [
        ("HAT079", "HAT223", "2024-05-30")]


def test_read_tool_errors() -> None:
    toolkit = fresh()
    assert error(toolkit, "get_reservation_details", reservation_id="NVLFIX") == "Reservation NVLFIX not found"
    assert error(toolkit, "get_user_details", user_id="nobody") == "User nobody not found"
    assert error(toolkit, "get_flight_status", flight_number="HAT000", date="2024-05-20") == "Flight HAT000 not found"
    assert error(toolkit, "get_flight_status", flight_number="HAT014", date="2024-06-01") == \
        "Flight HAT014 not found on date 2024-06-01"
    assert ok(toolkit, "search_direct_flight", origin="JFK", destination="MIA", date="2024-05-01") == []  # landed
    assert toolkit.response("get_user_details", {"user_id": "x"}) == ("Error: User x not found", True)


def test_lookups_fold_case_accents_and_spaces_but_not_payment_ids() -> None:
    toolkit = fresh()
    assert ok(toolkit, "get_reservation_details", reservation_id=" nvlfiw ")["reservation_id"] == "NVLFIW"
    assert ok(toolkit, "get_user_details", user_id="Sóphia_Davis_8874")["user_id"] == USER
    assert ok(toolkit, "get_flight_status", flight_number="hat014", date="2024-05-20") == "available"
    assert error(toolkit, "update_reservation_baggages", reservation_id="NVLFIW", total_baggages=2,
                 nonfree_baggages=0, payment_id="Credit_Card_4801844") == "Payment method not found"


def test_generic_tools() -> None:
    toolkit = fresh()
    assert toolkit.call("calculate", {"expression": "2 * ((350 - 122) + (499 - 127))"}) == "1200.0"
    assert toolkit.call("calculate", {"expression": "10 / 3"}) == "3.33"
    assert error(toolkit, "calculate", expression="abs(1)") == "Invalid characters in expression"
    assert toolkit.call("transfer_to_human_agents", {"summary": "wants a refund"}) == "Transfer successful"


def test_call_errors_read_as_tau2s() -> None:
    toolkit = fresh()
    assert error(toolkit, "get_user_details", user_id=USER, bogus=1) == \
        "AirlineTools.get_user_details() got an unexpected keyword argument 'bogus'"
    assert error(toolkit, "get_user_details") == \
        "AirlineTools.get_user_details() missing 1 required positional argument: 'user_id'"
    assert error(toolkit, "think", thought="hm") == "Tool 'think' not found."
    assert error(toolkit, "get_user_details", user_id=["x"]) == "unhashable type: 'list'"
    assert error(toolkit, "book_reservation", **booking(flights="HAT014")) == \
        "'str' object has no attribute 'flight_number'"


# --- specs ---------------------------------------------------------------------------------------------

KINDS = {
    "get_flight_status": "read", "get_reservation_details": "read", "get_user_details": "read",
    "list_all_airports": "read", "search_direct_flight": "read", "search_onestop_flight": "read",
    "book_reservation": "write", "cancel_reservation": "write", "send_certificate": "write",
    "update_reservation_baggages": "write", "update_reservation_flights": "write",
    "update_reservation_passengers": "write",
    "calculate": "generic", "transfer_to_human_agents": "generic",
}

PARAMETERS = {
    "book_reservation": ["user_id", "origin", "destination", "flight_type", "cabin", "flights", "passengers",
                         "payment_methods", "total_baggages", "nonfree_baggages", "insurance"],
    "calculate": ["expression"],
    "cancel_reservation": ["reservation_id"],
    "get_flight_status": ["flight_number", "date"],
    "get_reservation_details": ["reservation_id"],
    "get_user_details": ["user_id"],
    "list_all_airports": [],
    "search_direct_flight": ["origin", "destination", "date"],
    "search_onestop_flight": ["origin", "destination", "date"],
    "send_certificate": ["user_id", "amount"],
    "transfer_to_human_agents": ["summary"],
    "update_reservation_baggages": ["reservation_id", "total_baggages", "nonfree_baggages", "payment_id"],
    "update_reservation_flights": ["reservation_id", "cabin", "flights", "payment_id"],
    "update_reservation_passengers": ["reservation_id", "passengers"],
}


def without_descriptions(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """The schema's types alone: model-typed parts (``$ref`` to ``defs``) inlined, descriptions and
    titles left out."""
    if isinstance(schema, dict):
        if "$ref" in schema and defs is not None:
            return without_descriptions(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
        return {k: without_descriptions(v, defs) for k, v in schema.items() if k not in ("description", "title")}
    if isinstance(schema, list):
        return [without_descriptions(v, defs) for v in schema]
    return schema


def object_of(*fields: str, **types: str) -> dict[str, Any]:
    """A list entry as τ²-bench types it: the data model's object, or any object."""
    model = {"type": "object", "properties": {f: {"type": types.get(f, "string")} for f in fields},
             "required": list(fields)}
    return {"anyOf": [model, {"type": "object", "additionalProperties": True}]}


def test_tool_specs_are_complete() -> None:
    specs = {s.name: s for s in AirlineTools.tool_specs()}
    assert {name: AirlineTools.tool_kind(name) for name in specs} == KINDS
    assert AirlineTools.tool_specs("user") == []
    for name, spec in specs.items():
        assert len(spec.description) > 30, name
        props = spec.parameters["properties"]
        assert list(props) == PARAMETERS[name], name
        assert spec.parameters.get("required", []) == PARAMETERS[name], name  # no optional arguments
        for pname, schema in props.items():
            assert len(schema.get("description", "")) > 5, (name, pname)
    book = specs["book_reservation"].parameters["properties"]
    defs = specs["book_reservation"].parameters["$defs"]
    assert without_descriptions(book["flights"], defs) == {
        "type": "array", "items": object_of("flight_number", "date")}
    assert without_descriptions(book["passengers"], defs) == {
        "type": "array", "items": object_of("first_name", "last_name", "dob")}
    assert without_descriptions(book["payment_methods"], defs) == {
        "type": "array", "items": object_of("payment_id", "amount", amount="integer")}
    assert all(field["description"] for field in defs["FlightInfo"]["properties"].values())
    assert book["cabin"]["enum"] == ["business", "economy", "basic_economy"]
    assert book["flight_type"]["enum"] == ["round_trip", "one_way"] and book["insurance"]["enum"] == ["yes", "no"]
    assert book["total_baggages"]["type"] == "integer"
    assert specs["update_reservation_flights"].parameters["properties"]["flights"] == book["flights"] | {
        "description": specs["update_reservation_flights"].parameters["properties"]["flights"]["description"]}
    assert specs["send_certificate"].parameters["properties"]["amount"]["type"] == "integer"
    assert all(AirlineTools.is_mutating(n) == (k == "write") for n, k in KINDS.items())


def test_registry() -> None:
    assert toolkit_for("airline") is AirlineTools
    assert TOOLKITS["airline"] is AirlineTools


# --- reward, end to end ----------------------------------------------------------------------------------


def airline_domain(parent: Path, tasks: list[dict[str, Any]]) -> Path:
    """A domain directory named ``airline`` with the shared database and policy and only ``tasks``."""
    directory = parent / "airline"
    directory.mkdir(parents=True)
    for file in ("db.json", "policy.md"):
        (directory / file).symlink_to(DATA / file)
    (directory / "tasks.json").write_text(json.dumps(tasks, indent=1), encoding="utf-8")
    return directory


def has_write(task: dict[str, Any]) -> bool:
    return any(AirlineTools.is_mutating(a["name"]) for a in task["evaluation_criteria"]["actions"])


async def test_a_do_nothing_agent_scores_0_on_every_task_with_a_write(tmp_path: Path) -> None:
    tasks = [t for t in TASKS if has_write(t)]
    assert len(tasks) == 26
    outcome, results = await run_tau(tmp_path, "scripted:silent",
                                     options={"domain_dir": str(airline_domain(tmp_path, tasks))})
    assert len(results) == len(tasks)
    for task in tasks:
        result = results[(task["id"], 1)]
        assert result.error is None, task["id"]
        [score] = result.scores
        assert score.value == 0.0, task["id"]
        assert score.domain == "tau/airline"
        assert score.details["termination"] == "user_stop"
        assert not result.episode.tool_log
        assert score.details["components"]["DB"] == 0.0 and score.details["db_diff"], task["id"]
    [summary] = outcome.summaries
    assert summary.errors == 0 and summary.score.n == len(tasks) and summary.score.mean == 0.0


# task -> (index of the gold action to change, argument, wrong value, the diff expected)
WRONG_WRITES = {
    "12": (4, "nonfree_baggages", 2, {  # two paid bags instead of two free ones: 100 charged to the card
        "$.db.reservations.YAX4DR.nonfree_baggages": (0, 2),
        "$.db.reservations.YAX4DR.payment_history": (
            [{"payment_id": "credit_card_4938634", "amount": 498}],
            [{"payment_id": "credit_card_4938634", "amount": 498},
             {"payment_id": "credit_card_4938634", "amount": 100}]),
    }),
    "40": (1, "passengers", [{"first_name": "Anya", "last_name": "Garcia", "dob": "1992-11-12"},
                             {"first_name": "Mei", "last_name": "Garcia", "dob": "1989-12-31"}], {
        "$.db.reservations.3RK2T9.passengers[1].dob": ("1989-12-13", "1989-12-31"),
    }),
}


async def test_a_wrong_write_gives_db_0_with_a_readable_diff(tmp_path: Path) -> None:
    tasks = [TASK[t] for t in WRONG_WRITES]
    results = await run_wrong_writes(tmp_path, tasks, airline_domain(tmp_path, tasks), WRONG_WRITES)
    for task_id, (_, _, _, expected) in WRONG_WRITES.items():
        result = results[(task_id, 1)]
        assert result.error is None
        [score] = result.scores
        assert score.value == 0.0
        assert score.details["components"] == {"DB": 0.0, "COMMUNICATE": 1.0}
        diff = {d["path"]: (d["expected"], d["got"]) for d in score.details["db_diff"]}
        assert diff == expected
        assert score.details["db_diff_count"] == len(expected)


def test_tau_validate_replays_every_task(tmp_path: Path) -> None:
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(DATA), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{DATA}: 50/50 tasks replay their gold actions cleanly" in proc.stdout


def test_gold_replay_through_the_real_command_scores_1(tmp_path: Path) -> None:
    # the tasks whose reward needs the agent to say values, and the one with three bookings
    tasks = [t for t in TASKS if t["evaluation_criteria"]["communicate_info"]]
    assert [t["id"] for t in tasks] == ["3", "7", "11", "14", "18", "23"]
    proc = evalharness(tmp_path, "run", "--model", "scripted:gold", "--task", "tau",
                       "--domain-dir", str(airline_domain(tmp_path, tasks)),
                       "--out", str(tmp_path / "runs"), "--no-progress", "--no-report", timeout=900)
    assert proc.returncode == 0, proc.stderr
    results = run_results(tmp_path / "runs")
    assert sorted(r["sample_id"] for r in results) == sorted(t["id"] for t in tasks)
    for r in results:
        assert r["error"] is None, (r["sample_id"], r["error"])
        [score] = r["scores"]
        assert score["value"] == 1.0, (r["sample_id"], score["details"])
        assert score["details"]["components"] == {"DB": 1.0, "COMMUNICATE": 1.0}
    assert "tau/airline" in proc.stdout
