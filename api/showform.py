"""The show page's form without the script: what it asks, booked through the services once
for each page shown (api/pages.py renders the page; the script books through the API).

Three things the form must not do, which the script's hold-then-confirm can't: book twice
when sent twice (a double click: its hidden form_key is an Idempotency-Key), book other
tickets than it shows (its hidden prices_key names the prices it showed: changed since,
nothing is booked and the page shows the new ones), and leave a customer stuck on a
refusal that sending the form again can't get past.
"""

import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone
from phonenumbers import geocoder

from . import idempotency
from .callers import actor_of, capped_client, client_scope
from .errors import (
    Busy,
    Conflict,
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    Invalid,
    Limited,
    SeatsPerHourReached,
    SingleSeatGap,
)
from .models import Show, ShowPrice
from .serializers.sales import BookingCreateSerializer
from .services import sales
from .throttling import AnonThrottle

# A ticket count of the no-script form: ASCII digits, at most this many (the serializer
# refuses more than 10 tickets; a longer number is refused as not a count at all, before
# int() could take long over it or raise).
COUNT_DIGITS = 4

# What the show page says when the service refuses, in plain sentences. The page's script
# reads the same sentences (json_script), so the map and the no-script form say one thing.
SENTENCES = {
    "sold_out": "Sorry, this show doesn't have that many seats left. Try fewer seats, or another show.",
    "none_left": "Sorry, this show is sold out. Try another show.",
    "single_seat_gap": (
        "That choice would leave seat {seat} on its own, and nobody could book a single seat there. "
        "Take it too, or choose seats that leave no gap."
    ),
    "seat_taken": "Someone has just taken one of those seats. Please choose again from those still free.",
    "hold_expired": (
        "Your hold ran out before you confirmed, so the seats are on sale again. "
        "Those still free are picked for you: hold them again, or choose others."
    ),
    # The page of a show that started (and the script's, when it starts while open).
    "started": "This show has started: it can no longer be booked.",
    "busy": "Many people are booking this show right now. Please try again in a few seconds.",
    "throttled": "Too many requests from your connection. Please wait a minute, then try again.",
    "seats_per_hour": (
        "You have booked as many seats as one customer may book in an hour. You can book more in {minutes}."
    ),
    "nothing_chosen": "Pick at least one seat, or say how many tickets you want.",
    "idempotency_key_reused": "This page has booked already. Reload it to book more seats.",
    "idempotency_key_in_use": "Your booking is still being made. Please wait a few seconds, then send it again.",
    "network": "The booking service can't be reached. Check your connection and try again.",
    # The front's 502, 503 and 504 (deploy/haproxy/errors): for a program, "retry it with the
    # same Idempotency-Key", which the script does itself when the customer tries again.
    "unavailable": "The booking service didn't answer in time. Please try again in a few seconds.",
    # The script's seat map that didn't load: the page's list of seats is back, and books.
    "map_throttled": (
        "Too many requests from your connection right now to draw the seat map. "
        "Choose your seats from the list below instead: the form books them just the same."
    ),
    "map_failed": (
        "The seat map couldn't be loaded. "
        "Choose your seats from the list below instead: the form books them just the same."
    ),
    # Said under a booking's reference (the script's and the form's): a reload loses the page.
    "keep_reference": "Keep this reference: with your phone number it finds your booking and e-tickets again.",
}
# The form's own, where the script reloads (a fresh form_key, which this refusal gives).
BOOKED_ALREADY = "This page has booked already. To book these seats as well, send the form again."
# With seats picked, the counts add up to them, or are all left at 0.
COUNT_NOT_SEATS = "Tickets: the number ({count}) must be the number of seats picked ({seats}), or 0."
PRICES_CHANGED = "The prices of this show changed since the page was shown: check them, then send the form again."


@dataclass(frozen=True)
class TicketChoice:
    """One line of the page's "how many tickets" form: a ticket type, or (key "") the
    default type of a show without prices."""

    key: str
    name: str
    amounts: list[tuple[str, Decimal]]  # (category, amount), for the label

    @property
    def field(self) -> str:
        return f"tickets-{self.key}" if self.key else "tickets"


def ticket_choices(show: Show, prices: Iterable[ShowPrice] | None = None) -> list[TicketChoice]:
    """The ticket types the show sells, the default first, then in the order of its prices
    (already fetched, unless given)."""
    prices = list(show.prices.all() if prices is None else prices)
    if not prices:
        return [TicketChoice("", "Tickets", [])]
    choices: dict[str, TicketChoice] = {}
    default = None
    for price in prices:
        key = price.ticket_type.key
        if key not in choices:
            choices[key] = TicketChoice(key, price.ticket_type.name, [])
        choices[key].amounts.append((price.category, price.amount))
        default = key if price.ticket_type.default else default
    # The default type first: the form's first line takes the seats the others leave, as
    # the service gives a ticket named no type the default one.
    return sorted(choices.values(), key=lambda choice: choice.key != default)


def counts_for_seats(counts: list[str], *, picked: int, left: int) -> list[str]:
    """The ticket counts a refused form sent for `picked` seats, for the `left` of them still
    free: the first line's tickets go first (it takes the seats the others leave), then the
    others', the last first, as the script does. Counts that didn't add up to the seats (left
    at 0, or not numbers) stay as sent."""
    texts = [count.strip() for count in counts]
    if not all(text.isascii() and text.isdigit() and len(text) <= COUNT_DIGITS for text in texts):
        return counts
    numbers = [int(text) for text in texts]
    if sum(numbers) != picked:
        return counts
    over = picked - left
    for line in [0, *range(len(numbers) - 1, 0, -1)]:
        cut = min(over, numbers[line])
        numbers[line] -= cut
        over -= cut
    return [str(number) for number in numbers]


def prices_key(choices: list[TicketChoice]) -> str:
    """The prices a page shows, as its form sends them back (the hidden prices_key): the same
    while every type's amount in every category stays the same, whatever their order, and
    the first line (the type of seats whose counts are left at 0) stays the first."""
    shown = sorted((c.key, category, str(amount)) for c in choices for category, amount in c.amounts)
    return hashlib.sha256(json.dumps([choices[0].key, shown]).encode()).hexdigest()[:32]


@functools.cache
def dialled_in(country: str) -> tuple[str, str]:
    """The venue's country by name and a number as dialled there, for the phone field's hint:
    a number without a country code is read as that country's (API.md, a venue's country)."""
    example = phonenumbers.example_number(country)
    if example is None:
        return country, ""
    return geocoder.country_name_for_number(example, "en") or country, phonenumbers.format_number(
        example, phonenumbers.PhoneNumberFormat.NATIONAL
    )


# The no-script form's fields as its labels name them, for its refusals.
FIELD_NAMES = {
    "name": "Name",
    "phone_number": "Phone number",
    "seats": "Seats",
    "ticket_types": "Tickets",
    "quantity": "Tickets",  # a show without prices asks one count, sent as the quantity
    "party_size": "People",
}


def _flat(errors: Any) -> list[str]:
    """A field's messages, however deep (a list field's are by item, a dict's by key)."""
    if isinstance(errors, dict):
        return [message for value in errors.values() for message in _flat(value)]
    if isinstance(errors, list):
        return [message for value in errors for message in _flat(value)]
    return [str(errors)]


def _sentence(exc: DomainError) -> str:
    if isinstance(exc, SingleSeatGap):
        return SENTENCES["single_seat_gap"].format(seat=exc.seat)
    if isinstance(exc, SeatsPerHourReached):  # in minutes, as the script says it
        minutes = max(1, math.ceil(exc.retry_after / 60))
        return SENTENCES["seats_per_hour"].format(minutes="a minute" if minutes == 1 else f"{minutes} minutes")
    if isinstance(exc, IdempotencyKeyReused):
        return BOOKED_ALREADY
    if isinstance(exc, Conflict | Busy) and exc.code in SENTENCES:
        return SENTENCES[exc.code]
    return exc.message


class SeeOther(HttpResponseRedirect):
    """303: the answer to a POST is to GET this page (a reload then sends no form again)."""

    status_code = 303


# No field refused (read-only: the one default every outcome shares).
NO_NOTES: Mapping[str, str] = MappingProxyType({})


class FormOutcome(NamedTuple):
    """What the no-script form's booking came to: the booking's reference, or what went
    wrong with the page's status (and, at a cap, the seconds until the client may try
    again; `new_form`: the page booked already, and its form needs a new form_key;
    `notes`: each refused field's messages, told beside it, field_notes())."""

    reference: str | None
    errors: list[str]
    status: int
    retry_after: int | None = None
    new_form: bool = False
    notes: Mapping[str, str] = NO_NOTES


def _refused(errors: list[str], status: int = 400, retry_after: int | None = None) -> FormOutcome:
    return FormOutcome(None, errors, status, retry_after)


class _PricesChanged(Exception):
    pass


def book_from_form(request: HttpRequest, show: Show, choices: list[TicketChoice]) -> FormOutcome:
    """Book what the no-script form asks."""
    too_many = throttled(request)
    if too_many is not None:
        return too_many
    seats = request.POST.getlist("seats")
    data: dict[str, Any] = {
        "show": show.pk,
        "name": request.POST.get("name", ""),
        "phone_number": request.POST.get("phone_number", ""),
    }
    counts: dict[str, int] = {}
    for choice in choices:
        text = request.POST.get(choice.field, "").strip() or "0"
        # str.isdigit() alone takes "²" and other digits int() refuses.
        if not (text.isascii() and text.isdigit() and len(text) <= COUNT_DIGITS):
            # A show without prices names its one line "Tickets": not "tickets tickets".
            what = f"{choice.name.lower()} tickets" if choice.key else "tickets"
            return _refused([f"Give the number of {what} as a whole number."])
        counts[choice.key] = int(text)
    wanted = sum(counts.values())
    if seats:
        if wanted and wanted != len(seats):  # in the page's words, not the API's "ticket types"
            return _refused([COUNT_NOT_SEATS.format(count=wanted, seats=len(seats))])
        data["seats"] = seats
        if choices[0].key:
            # Left at 0, the seats are all the first line's, as the page says: the show's
            # default type where it sells it, else one it does (a matinee priced for
            # children only).
            data["ticket_types"] = counts if wanted else {choices[0].key: len(seats)}
    elif not wanted:
        return _refused([SENTENCES["nothing_chosen"]])
    elif choices[0].key:
        data["ticket_types"] = counts
    else:
        data["quantity"] = wanted
    form = BookingCreateSerializer(data=data)
    if not form.is_valid():
        return FormOutcome(None, field_errors(form.errors), 400, notes=field_notes(form.errors))
    now = timezone.now()
    shown = request.POST.get("prices_key")  # none from a page older than the field

    def book() -> idempotency.StoredResponse:
        # In the form_key's turn: a double click's second sending gets the booking the first
        # made, whatever changed since.
        with transaction.atomic():
            # Held to the same hourly seat cap as the API's bookings (an anonymous client's).
            sale = sales.booking_create(
                now=now, client=capped_client(request), actor=actor_of(request), **form.validated_data
            )
            # The prices read after the sale, under the show's lock it took and holds until
            # the commit (staff's price changes take it too): those it charged. Others than
            # the page showed, and the sale is undone.
            charged = ticket_choices(show, ShowPrice.objects.filter(show=show).select_related("ticket_type"))
            if shown is not None and shown != prices_key(charged):
                raise _PricesChanged()
        return idempotency.StoredResponse(201, {"reference": sale.booking.reference})

    try:
        booked = once_per_form(request, book, now=now)
    except _PricesChanged:
        return _refused([PRICES_CHANGED], 409)
    except DomainError as exc:
        return refused(exc)._replace(new_form=isinstance(exc, IdempotencyKeyReused))
    return FormOutcome(booked.body["reference"], [], 201)


def refused(exc: DomainError) -> FormOutcome:
    """A page's form refused by a rule: its sentence, and the status the API answers it with
    (and the seconds of its Retry-After, as the API's)."""
    statuses = ((Conflict, 409), (Busy, 503), (Limited, 429))
    status = next((code for kind, code in statuses if isinstance(exc, kind)), 400)
    retry_after = exc.retry_after if isinstance(exc, Limited | Busy | Conflict) else None
    # A field the service refused (a phone number not one of the venue's country) is told
    # beside it too, as the API's 400 names it for the script.
    notes = {exc.subject: exc.message} if isinstance(exc, Invalid) and exc.subject else NO_NOTES
    return FormOutcome(None, [_sentence(exc)], status, retry_after, notes=notes)


def throttled(request: HttpRequest) -> FormOutcome | None:
    """A page's form from a client over the API's rate: as the API's 429, else None."""
    throttle = AnonThrottle()
    if throttle.allow_request(request, None):
        return None
    return _refused([SENTENCES["throttled"]], 429, retry_after=math.ceil(throttle.wait()))


def field_errors(errors: dict[str, Any]) -> list[str]:
    """A serializer's refusal of a page's form, each message with its field's label."""
    return [f"{FIELD_NAMES.get(field, field)}: {m}" for field, got in errors.items() for m in _flat(got)]


def field_notes(errors: dict[str, Any]) -> dict[str, str]:
    """A serializer's refusal of a page's form by field, without the label: what the page
    says beside each field (its #<field>-error note, the input aria-invalid), as the script
    does with the API's 400. The form's alert, far above the name and phone fields, says
    field_errors()."""
    return {field: " ".join(_flat(got)) for field, got in errors.items()}


def form_key_waits() -> int:
    """How many times (0.1 s apart) a form sent twice waits for the first sending to finish:
    as long as that one's sale may wait for the show's lock and then the client's
    (BOOKING_LOCK_TIMEOUT_SECONDS each), and a second to book; at most 20 s, well inside
    gunicorn's 30 s timeout (gunicorn.conf.py)."""
    return math.ceil(min(2 * settings.BOOKING_LOCK_TIMEOUT_SECONDS + 1, 20) / 0.1)


def once_per_form(
    request: HttpRequest, book: Callable[[], idempotency.StoredResponse], *, now: datetime
) -> idempotency.StoredResponse:
    """Book (or join) once per rendering of the form: its hidden form_key is an Idempotency-Key. A
    double click sends the form twice, and the browser shows the second answer: that one
    waits for the first to finish, then answers with the same booking (where it booked a
    second time, or said the picked seats were taken by the customer's own first click)."""
    key = request.POST.get("form_key", "")
    if not (16 <= len(key) <= 64 and key.isascii() and key.isprintable()):
        return book()  # an old page without one: as before
    fields = sorted((name, request.POST.getlist(name)) for name in request.POST if name != "csrfmiddlewaretoken")
    fingerprint = hashlib.sha256(f"{request.path}\n{json.dumps(fields)}".encode()).hexdigest()
    for _ in range(form_key_waits()):
        try:
            return idempotency.once(
                scope=client_scope(request), key=f"form:{key}", request_hash=fingerprint, action=book, now=now
            )
        except IdempotencyKeyInUse:  # the first sending is still booking
            time.sleep(0.1)
    raise IdempotencyKeyInUse()
