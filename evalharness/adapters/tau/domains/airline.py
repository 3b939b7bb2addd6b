"""τ²-bench's ``airline`` domain: flights by date, users with their payment methods, and reservations.

Same semantics as τ²-bench's ``AirlineTools`` (read from ``sierra-research/tau2-bench``,
``src/tau2/domains/airline/tools.py`` and ``data_model.py``), written against plain JSON data. Arguments that
are lists of objects (flights, passengers, payments) go through the data model as in τ²-bench, so a bad entry
fails with pydantic's own message. Things that look like mistakes are τ²-bench's behaviour and are kept on
purpose, because its gold database is computed with them:

- The clock is fixed: a new reservation is created at ``2024-05-15T15:00:00`` and named ``HATHAT``, then
  ``HATHAU``, then ``HATHAV`` (a fourth fails: "Too many reservations"); certificates are named
  ``certificate_3221322`` to ``certificate_3221324`` the same way.
- Seats are taken when a reservation is booked and never given back: cancelling or changing flights leaves
  every flight's seat counts as they are, and a changed flight takes no seat either.
- Booking checks each payment against its method's balance on its own, so two payments from one gift card
  can overdraw it; a certificate that pays any part of a booking is removed whole.
- ``cancel_reservation`` checks no status or date: it appends a negated copy of every payment-history entry
  (earlier refunds included, so a second cancellation refunds the refunds) and moves no money, not even back
  to a gift card.
- ``update_reservation_flights`` keeps a flight's booked price only when the flight, the date and the cabin
  are unchanged; every other flight is priced at its current fare. The difference is paid with, or refunded
  to, the payment method (a gift card is credited at once, with a negative payment entry). The method is
  checked even when nothing is due (a certificate is refused for a free change), an entry is recorded only
  when something is due, and the new cabin is stored as given. Reservations of any status can be changed.
- ``update_reservation_baggages`` charges 50 per non-free bag added and refunds nothing for fewer; the
  counts are stored as given, unchecked.
- ``update_reservation_passengers`` checks only the number of passengers.
- ``search_onestop_flight`` compares the connection's departure with the first flight's arrival as text;
  after an overnight first flight it looks for the connection on ``2024-05-<day + 1>`` (May only, no leading
  zero: an overnight flight on the 30th, or before the 9th, finds no connection). Direct results carry
  ``"date": null``, one-stop results the dates of both flights.
- ``send_certificate``'s message repeats the user id and amount as given; the stored amount is a float.
- User, reservation and flight ids are found whatever their case or accents and with surrounding spaces,
  and the stored id is used from then on (``fold_for_match``); payment method ids must match exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from evalharness.adapters.tau.domains._common import TauToolkit, dump
from evalharness.adapters.tau.domains.retail import CALCULATOR_CHARACTERS, fold_for_match
from evalharness.adapters.tau.toolkit import tool

# --- τ²-bench's data model (field order and defaults are what the outputs and the state show) ---------

FlightType = Literal["round_trip", "one_way"]
CabinClass = Literal["business", "economy", "basic_economy"]
Insurance = Literal["yes", "no"]


class AirportCode(BaseModel):
    iata: str
    city: str


class Name(BaseModel):
    first_name: str
    last_name: str


class Address(BaseModel):
    address1: str
    address2: str | None = None
    city: str
    country: str
    state: str
    zip: str


class Payment(BaseModel):
    payment_id: str = Field(description="A payment method id of the user, such as 'credit_card_7815826'.")
    amount: int = Field(description="The amount charged to it, in dollars.")


class CreditCard(BaseModel):
    source: Literal["credit_card"]
    id: str
    brand: str
    last_four: str


class GiftCard(BaseModel):
    source: Literal["gift_card"]
    id: str
    amount: float


class Certificate(BaseModel):
    source: Literal["certificate"]
    id: str
    amount: float


class Passenger(BaseModel):
    first_name: str = Field(description="The passenger's first name, such as 'Noah'.")
    last_name: str = Field(description="The passenger's last name, such as 'Brown'.")
    dob: str = Field(description="The passenger's date of birth, 'YYYY-MM-DD'.")


class FlightDateAvailable(BaseModel):
    status: Literal["available"]
    available_seats: dict[CabinClass, int]
    prices: dict[CabinClass, int]


class FlightDateLanded(BaseModel):
    status: Literal["landed"]
    actual_departure_time_est: str
    actual_arrival_time_est: str


class FlightDateCancelled(BaseModel):
    status: Literal["cancelled"]


class FlightDateDelayed(BaseModel):
    status: Literal["delayed"]
    estimated_departure_time_est: str
    estimated_arrival_time_est: str


class FlightDateFlying(BaseModel):
    status: Literal["flying"]
    actual_departure_time_est: str
    estimated_arrival_time_est: str


class FlightDateOnTime(BaseModel):
    status: Literal["on time"]
    estimated_departure_time_est: str
    estimated_arrival_time_est: str


class Flight(BaseModel):
    flight_number: str
    origin: str
    destination: str
    scheduled_departure_time_est: str
    scheduled_arrival_time_est: str
    dates: dict[str, FlightDateAvailable | FlightDateLanded | FlightDateCancelled | FlightDateDelayed
                | FlightDateFlying | FlightDateOnTime]


class DirectFlight(BaseModel):
    flight_number: str
    origin: str
    destination: str
    status: Literal["available"]
    scheduled_departure_time_est: str
    scheduled_arrival_time_est: str
    date: str | None = None
    available_seats: dict[CabinClass, int]
    prices: dict[CabinClass, int]


class ReservationFlight(BaseModel):
    flight_number: str
    origin: str
    destination: str
    date: str
    price: int


class FlightInfo(BaseModel):
    flight_number: str = Field(description="The flight number, such as 'HAT001'.")
    date: str = Field(description="The date of the flight, 'YYYY-MM-DD'.")


class User(BaseModel):
    user_id: str
    name: Name
    address: Address
    email: str
    dob: str
    payment_methods: dict[str, CreditCard | GiftCard | Certificate]
    saved_passengers: list[Passenger]
    membership: Literal["gold", "silver", "regular"]
    reservations: list[str]


class Reservation(BaseModel):
    reservation_id: str
    user_id: str
    origin: str
    destination: str
    flight_type: FlightType
    cabin: CabinClass
    flights: list[ReservationFlight]
    passengers: list[Passenger]
    payment_history: list[Payment]
    created_at: str
    total_baggages: int
    nonfree_baggages: int
    insurance: Insurance
    status: Literal["cancelled"] | None = None


class FlightDB(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flights: dict[str, Flight] = Field(description="flights by flight number")
    users: dict[str, User] = Field(description="users by user id")
    reservations: dict[str, Reservation] = Field(description="reservations by reservation id")


NOW = "2024-05-15T15:00:00"
NEW_RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
NEW_CERTIFICATE_IDS = ("certificate_3221322", "certificate_3221323", "certificate_3221324")
INSURANCE_PER_PASSENGER = 30
PRICE_PER_NONFREE_BAG = 50
AIRPORTS = (
    ("SFO", "San Francisco"), ("JFK", "New York"), ("LAX", "Los Angeles"), ("ORD", "Chicago"),
    ("DFW", "Dallas"), ("DEN", "Denver"), ("SEA", "Seattle"), ("ATL", "Atlanta"), ("MIA", "Miami"),
    ("BOS", "Boston"), ("PHX", "Phoenix"), ("IAH", "Houston"), ("LAS", "Las Vegas"), ("MCO", "Orlando"),
    ("EWR", "Newark"), ("CLT", "Charlotte"), ("MSP", "Minneapolis"), ("DTW", "Detroit"),
    ("PHL", "Philadelphia"), ("LGA", "LaGuardia"),
)
M = TypeVar("M", bound=BaseModel)


def resolve_key(mapping: Mapping[str, Any], key: str) -> str | None:
    """The key of ``mapping`` that ``key`` names. τ²-bench tolerates case, accents and surrounding spaces so
    that a mis-cased or spoken id still finds its record; the ids are distinct even folded."""
    if key in mapping:
        return key
    stripped = key.strip()
    if stripped in mapping:
        return stripped
    folded = fold_for_match(stripped)
    return next((candidate for candidate in mapping if fold_for_match(candidate) == folded), None)


# an entry of a list argument as τ²-bench types it: its data model or any object (``as_models`` decides)
Entry = dict[str, Any]


def as_models(items: Any, model: type[M]) -> Any:
    """A list argument as τ²-bench takes it: validated into ``model`` when every entry is an object, otherwise
    left as it is (and failing where an entry is used)."""
    if all(isinstance(item, dict) for item in items):
        return [model(**item) for item in items]
    return items


def as_data(value: Any) -> Any:
    """A value stored without validation as τ²-bench's dump shows it: models dumped, the rest as it is."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [as_data(item) for item in value]
    return copy.deepcopy(value)


class AirlineTools(TauToolkit):
    """The airline agent's tools (the class is named as τ²-bench's so Python's own error texts match)."""

    domain = "airline"
    DB_MODEL = FlightDB

    # --- look-ups ------------------------------------------------------------------------------------

    def _user(self, user_id: str) -> dict[str, Any]:
        key = resolve_key(self.db["users"], user_id)
        if key is None:
            raise ValueError(f"User {user_id} not found")
        return self.db["users"][key]

    def _reservation(self, reservation_id: str) -> dict[str, Any]:
        key = resolve_key(self.db["reservations"], reservation_id)
        if key is None:
            raise ValueError(f"Reservation {reservation_id} not found")
        return self.db["reservations"][key]

    def _flight(self, flight_number: str) -> dict[str, Any]:
        key = resolve_key(self.db["flights"], flight_number)
        if key is None:
            raise ValueError(f"Flight {flight_number} not found")
        return self.db["flights"][key]

    def _flight_date(self, flight_number: str, date: str) -> dict[str, Any]:
        flight = self._flight(flight_number)
        if date not in flight["dates"]:
            raise ValueError(f"Flight {flight_number} not found on date {date}")
        return flight["dates"][date]

    def _bookable(self, flight_number: str, date: str, cabin: str, seats: int) -> dict[str, Any]:
        """The flight's date if it can be booked for ``seats`` passengers in ``cabin``."""
        flight_date = self._flight_date(flight_number, date)
        if flight_date["status"] != "available":
            raise ValueError(f"Flight {flight_number} not available on date {date}")
        if flight_date["available_seats"][cabin] < seats:
            raise ValueError(f"Not enough seats on flight {flight_number}")
        return flight_date

    def _new_reservation_id(self) -> str:
        for reservation_id in NEW_RESERVATION_IDS:
            if reservation_id not in self.db["reservations"]:
                return reservation_id
        raise ValueError("Too many reservations")

    def _direct_flights(self, date: str, origin: str | None = None, destination: str | None = None,
                        leave_after: str | None = None) -> list[dict[str, Any]]:
        found = []
        for flight in self.db["flights"].values():
            if ((origin is None or flight["origin"] == origin)
                    and (destination is None or flight["destination"] == destination)
                    and date in flight["dates"] and flight["dates"][date]["status"] == "available"
                    and (leave_after is None or flight["scheduled_departure_time_est"] >= leave_after)):
                on_date = flight["dates"][date]
                found.append(dump(
                    DirectFlight, flight_number=flight["flight_number"], origin=flight["origin"],
                    destination=flight["destination"], status="available",
                    scheduled_departure_time_est=flight["scheduled_departure_time_est"],
                    scheduled_arrival_time_est=flight["scheduled_arrival_time_est"],
                    available_seats=on_date["available_seats"], prices=on_date["prices"]))
        return found

    @staticmethod
    def _charge_for_update(user: dict[str, Any], payment_id: str, amount: Any) -> dict[str, Any] | None:
        """Pay (or, negative, refund) a change of a reservation; the payment entry, if anything is due."""
        if payment_id not in user["payment_methods"]:
            raise ValueError("Payment method not found")
        method = user["payment_methods"][payment_id]
        if method["source"] == "certificate":
            raise ValueError("Certificate cannot be used to update reservation")
        if method["source"] == "gift_card" and method["amount"] < amount:
            raise ValueError("Gift card balance is not enough")
        if method["source"] == "gift_card":
            method["amount"] -= amount
        return dump(Payment, payment_id=payment_id, amount=amount) if amount != 0 else None

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
    def get_flight_status(self, flight_number: str, date: str) -> str:
        """Get the status of a flight on a date, such as 'available', 'delayed' or 'landed'.

        Args:
            flight_number: The flight number, such as 'HAT001'.
            date: The date of the flight, 'YYYY-MM-DD'.
        """
        return str(self._flight_date(flight_number, date)["status"])

    @tool("read")
    def get_reservation_details(self, reservation_id: str) -> dict[str, Any]:
        """Get a reservation: its flights, passengers, cabin, baggage, insurance and payment history.

        Args:
            reservation_id: The reservation id, such as '8JX2WO'.
        """
        return self._reservation(reservation_id)

    @tool("read")
    def get_user_details(self, user_id: str) -> dict[str, Any]:
        """Get a user's profile: name, address, date of birth, membership, payment methods (with gift card
        and certificate balances), saved passengers and reservation ids.

        Args:
            user_id: The user id, such as 'sara_doe_496'.
        """
        return self._user(user_id)

    @tool("read")
    def list_all_airports(self) -> list[dict[str, Any]]:
        """List the airports the airline flies to, as IATA codes with their cities."""
        return [dump(AirportCode, iata=iata, city=city) for iata, city in AIRPORTS]

    @tool("read")
    def search_direct_flight(self, origin: str, destination: str, date: str) -> list[dict[str, Any]]:
        """Find the nonstop flights between two airports that can be booked on a date, with their times, the
        seats left and the price of each cabin.

        Args:
            origin: The IATA code of the departure airport, such as 'JFK'.
            destination: The IATA code of the arrival airport, such as 'LAX'.
            date: The date of the flight, 'YYYY-MM-DD'.
        """
        return self._direct_flights(date, origin=origin, destination=destination)

    @tool("read")
    def search_onestop_flight(self, origin: str, destination: str, date: str) -> list[list[dict[str, Any]]]:
        """Find the connections with one stop between two airports that can be booked, leaving on a date:
        pairs of flights, each with its date, times, the seats left and the price of each cabin.

        Args:
            origin: The IATA code of the departure airport, such as 'JFK'.
            destination: The IATA code of the arrival airport, such as 'LAX'.
            date: The date of the first flight, 'YYYY-MM-DD'.
        """
        pairs = []
        for first in self._direct_flights(date, origin=origin):
            first["date"] = date
            arrival = first["scheduled_arrival_time_est"]
            # τ²-bench's next day: May only, no leading zero (see the module docstring)
            next_date = f"2024-05-{int(date[-2:]) + 1}" if "+1" in arrival else date
            for second in self._direct_flights(next_date, origin=first["destination"],
                                               destination=destination, leave_after=arrival):
                second["date"] = next_date
                pairs.append([first, second])
        return pairs

    # --- write ---------------------------------------------------------------------------------------

    @tool("write")
    def book_reservation(self, user_id: str, origin: str, destination: str, flight_type: FlightType,
                         cabin: CabinClass, flights: list[FlightInfo | Entry], passengers: list[Passenger | Entry],
                         payment_methods: list[Payment | Entry], total_baggages: int, nonfree_baggages: int,
                         insurance: Insurance) -> dict[str, Any]:
        """Book a new reservation for a user. The payments must add up to the total: each flight's price in
        the cabin per passenger, plus 30 per passenger with insurance, plus 50 per non-free bag. List the
        details and get the user's explicit confirmation (yes) first. Returns the reservation.

        Args:
            user_id: The id of the user who books, such as 'sara_doe_496'.
            origin: The IATA code of the trip's origin, such as 'SFO'.
            destination: The IATA code of the trip's destination, such as 'JFK'.
            flight_type: 'one_way' or 'round_trip'.
            cabin: The cabin class of every flight: 'basic_economy', 'economy' or 'business'.
            flights: Every flight of the trip, in order, each with its flight number and date.
            passengers: Every passenger, each with first name, last name and date of birth.
            payment_methods: The payments, each a payment method id of the user with the amount it pays.
            total_baggages: The number of checked bags.
            nonfree_baggages: How many of those bags are paid for.
            insurance: 'yes' or 'no': travel insurance for every passenger.
        """
        flights = as_models(flights, FlightInfo)
        passengers = as_models(passengers, Passenger)
        payments = as_models(payment_methods, Payment)
        user = self._user(user_id)
        reservation = Reservation(
            reservation_id=self._new_reservation_id(), user_id=user["user_id"], origin=origin,
            destination=destination, flight_type=flight_type, cabin=cabin, flights=[],
            passengers=copy.deepcopy(passengers), payment_history=copy.deepcopy(payments), created_at=NOW,
            total_baggages=total_baggages, nonfree_baggages=nonfree_baggages, insurance=insurance)
        total_price: Any = 0
        booked = []  # the flight dates whose seats the booking takes
        for info in flights:
            flight = self._flight(info.flight_number)
            flight_date = self._bookable(flight["flight_number"], info.date, cabin, len(passengers))
            price = flight_date["prices"][cabin]
            reservation.flights.append(ReservationFlight(
                flight_number=flight["flight_number"], origin=flight["origin"],
                destination=flight["destination"], date=info.date, price=price))
            booked.append(flight_date)
            total_price += price * len(passengers)
        if insurance == "yes":
            total_price += INSURANCE_PER_PASSENGER * len(passengers)
        total_price += PRICE_PER_NONFREE_BAG * nonfree_baggages
        for payment in payments:
            if payment.payment_id not in user["payment_methods"]:
                raise ValueError(f"Payment method {payment.payment_id} not found")
            method = user["payment_methods"][payment.payment_id]
            if method["source"] in ("gift_card", "certificate") and method["amount"] < payment.amount:
                raise ValueError(f"Not enough balance in payment method {payment.payment_id}")
        total_payment = sum(payment.amount for payment in payments)
        if total_payment != total_price:
            raise ValueError(
                f"Payment amount does not add up, total price is {total_price}, but paid {total_payment}")
        for payment in payments:
            method = user["payment_methods"][payment.payment_id]
            if method["source"] == "gift_card":
                method["amount"] -= payment.amount
            elif method["source"] == "certificate":
                user["payment_methods"].pop(payment.payment_id)
        for flight_date in booked:
            flight_date["available_seats"][cabin] -= len(passengers)
        stored = self.db["reservations"][reservation.reservation_id] = reservation.model_dump()
        user["reservations"].append(reservation.reservation_id)
        return stored

    @tool("write")
    def cancel_reservation(self, reservation_id: str) -> dict[str, Any]:
        """Cancel a whole reservation; its payments are refunded to the methods that paid them. Check the
        policy's conditions and get the user's explicit confirmation (yes) first. Returns the reservation.

        Args:
            reservation_id: The reservation id, such as 'ZFA04Y'.
        """
        reservation = self._reservation(reservation_id)
        refunds = [dump(Payment, payment_id=p["payment_id"], amount=-p["amount"])
                   for p in reservation["payment_history"]]
        reservation["payment_history"].extend(refunds)
        reservation["status"] = "cancelled"
        return reservation

    @tool("write")
    def send_certificate(self, user_id: str, amount: int) -> str:
        """Give a user a travel certificate as compensation. Use it only when the policy allows it.

        Args:
            user_id: The id of the user, such as 'sara_doe_496'.
            amount: The value of the certificate, in dollars.
        """
        user = self._user(user_id)
        for payment_id in NEW_CERTIFICATE_IDS:
            if payment_id not in user["payment_methods"]:
                user["payment_methods"][payment_id] = dump(Certificate, source="certificate", id=payment_id,
                                                           amount=amount)
                return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
        raise ValueError("Too many certificates")

    @tool("write")
    def update_reservation_baggages(self, reservation_id: str, total_baggages: int, nonfree_baggages: int,
                                    payment_id: str) -> dict[str, Any]:
        """Change the number of checked bags of a reservation; each added non-free bag costs 50. List the
        change and get the user's explicit confirmation (yes) first. Returns the reservation.

        Args:
            reservation_id: The reservation id, such as 'ZFA04Y'.
            total_baggages: The new number of checked bags.
            nonfree_baggages: How many of those bags are paid for.
            payment_id: The user's payment method that pays, such as 'credit_card_7815826' or
                'gift_card_7815826' (a certificate cannot pay for a change).
        """
        reservation = self._reservation(reservation_id)
        user = self._user(reservation["user_id"])
        price = PRICE_PER_NONFREE_BAG * max(0, nonfree_baggages - reservation["nonfree_baggages"])
        payment = self._charge_for_update(user, payment_id, price)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["total_baggages"] = total_baggages
        reservation["nonfree_baggages"] = nonfree_baggages
        return reservation

    @tool("write")
    def update_reservation_flights(self, reservation_id: str, cabin: CabinClass,
                                   flights: list[FlightInfo | Entry], payment_id: str) -> dict[str, Any]:
        """Change the flights or the cabin of a reservation. The price difference is paid with, or refunded
        to, the payment method. List the change and get the user's explicit confirmation (yes) first. Returns
        the reservation.

        Args:
            reservation_id: The reservation id, such as 'ZFA04Y'.
            cabin: The cabin class of the whole reservation after the change.
            flights: Every flight of the reservation after the change, unchanged ones included, each with its
                flight number and date.
            payment_id: The user's payment method that pays or receives the difference, such as
                'credit_card_7815826' or 'gift_card_7815826' (a certificate cannot pay for a change).
        """
        flights = as_models(flights, FlightInfo)
        reservation = self._reservation(reservation_id)
        user = self._user(reservation["user_id"])
        passengers = len(reservation["passengers"])
        same_cabin = cabin == reservation["cabin"]  # a booked price is kept only in the same cabin
        total_price: Any = 0
        new_flights = []
        for info in flights:
            flight = self._flight(info.flight_number)
            number = flight["flight_number"]
            kept = next((f for f in reservation["flights"]
                         if same_cabin and f["flight_number"] == number and f["date"] == info.date), None)
            if kept:
                total_price += kept["price"] * passengers
                new_flights.append(kept)
                continue
            flight_date = self._bookable(number, info.date, cabin, passengers)
            new = dump(ReservationFlight, flight_number=number, origin=flight["origin"],
                       destination=flight["destination"], date=info.date, price=flight_date["prices"][cabin])
            total_price += new["price"] * passengers
            new_flights.append(new)
        total_price -= sum(f["price"] for f in reservation["flights"]) * passengers
        payment = self._charge_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["flights"] = new_flights
        reservation["cabin"] = cabin
        return reservation

    @tool("write")
    def update_reservation_passengers(self, reservation_id: str,
                                      passengers: list[Passenger | Entry]) -> dict[str, Any]:
        """Replace the passengers of a reservation; their number cannot change. List the change and get the
        user's explicit confirmation (yes) first. Returns the reservation.

        Args:
            reservation_id: The reservation id, such as 'ZFA04Y'.
            passengers: Every passenger after the change, in order, each with first name, last name and date
                of birth.
        """
        passengers = as_models(passengers, Passenger)
        reservation = self._reservation(reservation_id)
        if len(passengers) != len(reservation["passengers"]):
            raise ValueError("Number of passengers does not match")
        reservation["passengers"] = as_data(passengers)
        return reservation
