"""A rush of mixed ticket types on a 300-seat screen with aisles, premium rows and
wheelchair spaces, while staff change the prices (API.md (v2), "Ticket types and prices"):
best-available holds, their confirmations and one-step bookings from many clients at once.

No oversell, no seat twice; every sale priced at the show's prices of the moment it was
priced (the hold, or the one-step booking), to the cent; every booking's total the sum of
its tickets; a hold confirmed after a price change charges what it froze.

"The moment" is read from the audit trail: a hold, a booking and a price change each write
their entry under the show's lock, so the entries' ids are the order in which the lock
let them through.
"""

import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import AuditEntry, Booking, Screen, Show, Ticket, TicketType
from api.services import catalog
from api.tests.conftest import aisle_map, all_at_once, postgres_only

pytestmark = [pytest.mark.slow, postgres_only, pytest.mark.django_db(transaction=True)]

CLIENTS = 30
TYPES = ("adult", "child", "senior")
BASE = {"adult": Decimal("12.35"), "child": Decimal("7.85"), "senior": Decimal("9.15")}
PREMIUM = Decimal("3.45")


def price_list(version: int) -> dict[tuple[str, str], Decimal]:
    """The show's prices in their version-th edition: every amount differs from every
    other edition's, odd cents included, so a price names the edition it came from."""
    bump = Decimal("0.55") * (version - 1)
    return {
        (key, category): BASE[key] + (PREMIUM if category == "premium" else 0) + bump
        for key in TYPES
        for category in ("standard", "premium")
    }


def set_prices(show: Show, version: int) -> None:
    prices = [(key, category, amount) for (key, category), amount in price_list(version).items()]
    catalog.show_update(show_id=show.pk, now=timezone.now(), prices=prices, actor="staff:rush")


def party(client: int, attempt: int) -> dict[str, int]:
    """1 to 4 people of the three types, a different mix from client to client."""
    size = 1 + (client + attempt) % 4
    return dict(Counter(TYPES[(7 * client + attempt + n) % 3] for n in range(size)))


@pytest.fixture
def rush_show(settings) -> Show:
    # 30 threads of one process share one GIL: as in test_rush_screens, the lock's wait is
    # bounded well above the production bound, and a client may keep more seats held.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 30
    settings.BOOKING_MAX_HELD_SEATS_PER_CLIENT = 0
    screen = Screen.objects.create(
        venue=Screen.objects.default().venue,
        name="Rush",
        seat_map=aisle_map(premium_rows=3, wheelchair_spaces=True),
    )
    assert screen.capacity == 300
    TicketType.objects.default()  # a transactional test's database starts flushed, without types
    show = catalog.show_create(
        starts_at=timezone.now().replace(second=0, microsecond=0) + timedelta(days=2),
        now=timezone.now(),
        screen_id=screen.pk,
        title="Premiere",
    )
    set_prices(show, 1)
    return show


def test_mixed_ticket_types_at_prices_that_change_during_the_rush(rush_show):
    show = rush_show
    sales: list[dict] = []  # each 201 sale: how it was made, what it answered

    def client_of(index: int) -> APIClient:
        return APIClient(REMOTE_ADDR=f"10.3.{index}.1")

    def person(index: int) -> dict:
        return {"name": f"Client {index}", "phone_number": f"+9141555{index:05d}"}

    def hold(http: APIClient, index: int, attempt: int) -> tuple[int, dict, dict]:
        wheelchair = 1 if index % 10 == 0 and attempt == 0 else 0
        body = {"show": show.pk, "ticket_types": party(index, attempt), "wheelchair": wheelchair}
        response = http.post("/api/holds", body, format="json")
        return response.status_code, response.json(), body

    def confirm(http: APIClient, index: int, held: dict, body: dict) -> dict:
        response = http.post("/api/bookings", {"hold": held["id"], **person(index)}, format="json")
        assert response.status_code == 201, response.json()
        return {"kind": "hold", "hold": held, "asked": body, "booking": response.json()}

    def one_step(http: APIClient, index: int, attempt: int) -> tuple[int, dict]:
        body = {"show": show.pk, "ticket_types": party(index, attempt), **person(index)}
        response = http.post("/api/bookings", body, format="json")
        sale = {"kind": "booking", "asked": body, "booking": response.json()}
        return response.status_code, sale

    def first_rush(index: int) -> tuple[int, list, list]:
        """Hold and confirm, hold and keep, book in one step."""
        http, answers, kept = client_of(index), [], []
        for attempt in range(3):
            if attempt == 2:
                status, sale = one_step(http, index, attempt)
                answers.append((status, sale["booking"]))
                if status == 201:
                    sales.append(sale)
                continue
            status, held, body = hold(http, index, attempt)
            answers.append((status, held))
            if status == 201 and attempt == 0:
                sales.append(confirm(http, index, held, body))
            elif status == 201:
                kept.append((held, body))
        return index, answers, kept

    first = all_at_once(CLIENTS, first_rush)
    kept = {index: mine for index, _, mine in first}
    answers = [answer for _, mine, _ in first for answer in mine]
    set_prices(show, 2)  # staff change the prices while holds made at the first ones wait

    def second_rush(index: int) -> list:
        """The kept holds confirmed; more holds and bookings while staff change prices twice."""
        if index == CLIENTS:  # staff, twice during the rush
            time.sleep(0.2)
            set_prices(show, 3)
            time.sleep(0.2)
            set_prices(show, 4)
            return []
        http, answers = client_of(index), []
        for held, body in kept[index]:
            sales.append(confirm(http, index, held, body))
        for attempt in range(3, 7):
            if attempt % 2:
                status, sale = one_step(http, index, attempt)
                answers.append((status, sale["booking"]))
                if status == 201:
                    sales.append(sale)
            else:
                status, held, body = hold(http, index, attempt)
                answers.append((status, held))
                if status == 201:
                    sales.append(confirm(http, index, held, body))
        return answers

    answers += [answer for mine in all_at_once(CLIENTS + 1, second_rush) for answer in mine]

    # Every refusal is a sold-out show, never a 500 nor a seat sold twice;
    # demand outran the seats.
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert {body["code"] for status, body in answers if status == 409} == {"sold_out"}
    assert statuses[409] > 0
    tickets = list(Ticket.objects.filter(show=show).select_related("ticket_type", "booking"))
    assert len(tickets) == len({t.seat for t in tickets}) <= show.capacity
    assert len(tickets) == sum(len(sale["booking"]["tickets"]) for sale in sales)
    kept_holds = {held["id"] for mine in kept.values() for held, _ in mine}
    assert kept_holds and kept_holds <= {sale["hold"]["id"] for sale in sales if sale["kind"] == "hold"}

    # Each sale at the prices of the moment it was priced, every line to the cent.
    seat_map = show.screen.seats
    changes = list(
        AuditEntry.objects.filter(
            object_type="show", object_id=str(show.pk), action__in=["show.created", "show.changed"]
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )[1:]  # the creation has no prices; the changes are editions 1 to 4
    assert len(changes) == 4

    def edition_at(entry: int) -> int:
        """The edition of the prices in force when the entry was written."""
        return sum(change < entry for change in changes)

    entries = dict(
        AuditEntry.objects.filter(action__in=["hold.created", "booking.created"]).values_list("object_id", "pk")
    )
    frozen_after_a_change, editions_sold = 0, set()
    for sale in sales:
        booking = sale["booking"]
        if sale["kind"] == "hold":
            priced_at = entries[sale["hold"]["id"]]
            lines = {line["seat"]: line for line in sale["hold"]["lines"]}
            assert booking["total"] == sale["hold"]["total"]  # what the hold froze
            assert {t["seat"]: t["price"] for t in booking["tickets"]} == {s: li["price"] for s, li in lines.items()}
            if edition_at(priced_at) != edition_at(entries[booking["reference"]]):
                frozen_after_a_change += 1
        else:
            priced_at = entries[booking["reference"]]
        prices = price_list(edition_at(priced_at))
        editions_sold.add(edition_at(priced_at))
        for ticket in booking["tickets"]:
            category = seat_map.by_label[ticket["seat"]].category
            assert Decimal(ticket["price"]) == prices[(ticket["ticket_type"], category)], (ticket, priced_at)
        assert Counter(t["ticket_type"] for t in booking["tickets"]) == Counter(sale["asked"]["ticket_types"])
        assert Decimal(booking["total"]) == sum(Decimal(t["price"]) for t in booking["tickets"])
    assert frozen_after_a_change >= len(kept_holds)  # each kept hold was confirmed at later prices
    # The first rush sold at the first prices, the second at later ones (which of them
    # depends on when the staff's changes got the lock).
    assert 1 in editions_sold and editions_sold - {1}

    # The database agrees with the answers: each booking's total is the sum of its tickets.
    by_booking: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        by_booking.setdefault(ticket.booking_id, []).append(ticket)
    for booking in Booking.objects.filter(pk__in=by_booking):
        assert booking.total == sum(t.price for t in by_booking[booking.pk])
    assert {t.seat: (t.ticket_type.key, str(t.price)) for t in tickets} == {
        ticket["seat"]: (ticket["ticket_type"], ticket["price"])
        for sale in sales
        for ticket in sale["booking"]["tickets"]
    }

    # Wheelchair spaces went only to the parties that asked for one.
    spaces = {seat.label for seat in seat_map if seat.kind == "wheelchair"}
    asking = {
        ticket["seat"] for sale in sales if sale["asked"].get("wheelchair") for ticket in sale["booking"]["tickets"]
    }
    sold_spaces = {t.seat for t in tickets} & spaces
    assert sold_spaces <= asking
    assert sold_spaces  # the parties that asked got them
