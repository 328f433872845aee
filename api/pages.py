"""The HTML pages: the home page, a show's page (pick seats and book) and the printable
e-ticket.

Plain Django templates with inline CSS. The show page's seat map is drawn by a script the
service serves itself (api/static/api/show.js), through the public API, as any client
would; without JavaScript the same page is a form of checkboxes that this module books
through the services.
"""

import hashlib
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any, NamedTuple
from uuid import UUID

import segno
from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from . import idempotency, selectors
from .callers import actor_of, capped_client, client_scope
from .errors import (
    Busy,
    Conflict,
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    Limited,
    SeatsPerHourReached,
    SingleSeatGap,
)
from .models import Show
from .seatmap_svg import outlines
from .serializers.sales import BookingCreateSerializer
from .services import sales
from .throttling import AnonThrottle

HOME_SHOW_COUNT = 50
# After the form books, the browser is sent to the show page (?booked) and shown the
# booking its signed, short-lived cookie names: reloading that page shows the booking again
# instead of sending the form twice (and booking twice). The cookie, not the address: the
# reference opens the booking with the booker's phone, and an address is shared, kept in
# histories and logs. HttpOnly, for this show's page only, for this long.
BOOKED_COOKIE = "booked"
BOOKED_SALT = "api.pages.booked"
BOOKED_SECONDS = 3600
# 6 px a module: a version 3 code (a UUID) with its quiet zone is 222 px wide, which a
# phone's camera and the door scanner read at a glance, and which fits a 320 px screen.
QR_SCALE = 6
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
    "seat_taken": "Someone has just taken one of those seats. The map shows what is still free: please choose again.",
    "hold_expired": "Your hold ran out before you confirmed, so the seats are on sale again. Please choose again.",
    "busy": "Many people are booking this show right now. Please try again in a few seconds.",
    "throttled": "Too many requests from your connection. Please wait a minute, then try again.",
    "seats_per_hour": (
        "You have booked as many seats as one customer may book in an hour. You can book more in {minutes}."
    ),
    "nothing_chosen": "Pick at least one seat, or say how many tickets you want.",
    "idempotency_key_reused": "This page has booked already. Reload it to book more seats.",
    "network": "The booking service can't be reached. Check your connection and try again.",
}


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    # One query: the same seat counts as GET /api/shows (tickets and live holds), with the
    # screen, venue and film joined. The page shows no prices: no prefetch of them.
    upcoming = (
        selectors.shows_with_counts(now=now)
        .prefetch_related(None)
        .defer(selectors.SEAT_MAP)
        .filter(starts_at__gt=now)
        # Not an open timing that sold nothing: anyone makes one by holding seats at a free
        # time and releasing them, and such placeholders would push the real shows off.
        .exclude(title="", film__isnull=True, busy_until=F("starts_at"), tickets_booked=0)
        .order_by("starts_at")
    )
    shows = list(upcoming[:HOME_SHOW_COUNT])
    # The next shows, grouped by venue, then by film, each film's times in order.
    by_venue = sorted(shows, key=lambda s: (s.screen.venue.name, s.screen.venue_id, _title(s), s.starts_at))
    venues = [
        {
            "venue": venue_shows[0].screen.venue,
            "films": [
                {"title": title, "shows": list(film_shows)} for title, film_shows in groupby(venue_shows, key=_title)
            ],
        }
        for venue_shows in (list(g) for _, g in groupby(by_venue, key=lambda s: s.screen.venue_id))
    ]
    context = {
        "shows": shows,
        "venues": venues,
        "tickets_url": request.build_absolute_uri(reverse("ticket-list")),
        "example_show": shows[0].pk if shows else 1,
        "open_timings": settings.BOOKING_OPEN_TIMINGS,
    }
    return render(request, "home.html", context)


def _title(show: Show) -> str:
    return show.title or "Film to be announced"


# --- a show's page ---------------------------------------------------------------------


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


def _ticket_choices(show: Show) -> list[TicketChoice]:
    """The ticket types the show sells, the default first, then in the order of its prices
    (already fetched)."""
    prices = list(show.prices.all())
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


# The no-script form's fields as its labels name them, for its refusals.
FIELD_NAMES = {"name": "Name", "phone_number": "Phone number", "seats": "Seats", "ticket_types": "Tickets"}


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
    if isinstance(exc, Conflict | Busy | IdempotencyKeyReused) and exc.code in SENTENCES:
        return SENTENCES[exc.code]
    return exc.message


class FormOutcome(NamedTuple):
    """What the no-script form's booking came to: the booking's reference, or what went
    wrong with the page's status (and, at a cap, the seconds until the client may try
    again)."""

    reference: str | None
    errors: list[str]
    status: int
    retry_after: int | None = None


def _refused(errors: list[str], status: int = 400, retry_after: int | None = None) -> FormOutcome:
    return FormOutcome(None, errors, status, retry_after)


def _book_from_form(request: HttpRequest, show: Show, choices: list[TicketChoice]) -> FormOutcome:
    """Book what the no-script form asks."""
    throttle = AnonThrottle()
    if not throttle.allow_request(request, None):
        return _refused([SENTENCES["throttled"]], 429, retry_after=math.ceil(throttle.wait()))
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
            return _refused([f"Give the number of {choice.name.lower()} tickets as a whole number."])
        counts[choice.key] = int(text)
    wanted = sum(counts.values())
    if seats:
        data["seats"] = seats
        if wanted and choices[0].key:
            data["ticket_types"] = counts  # they must add up to the seats (else a 400 says so)
    elif not wanted:
        return _refused([SENTENCES["nothing_chosen"]])
    elif choices[0].key:
        data["ticket_types"] = counts
    else:
        data["quantity"] = wanted
    form = BookingCreateSerializer(data=data)
    if not form.is_valid():
        return _refused(
            [f"{FIELD_NAMES.get(field, field)}: {m}" for field, got in form.errors.items() for m in _flat(got)]
        )
    now = timezone.now()

    def book() -> idempotency.StoredResponse:
        # Held to the same hourly seat cap as the API's bookings (an anonymous client's).
        sale = sales.booking_create(
            now=now, client=capped_client(request), actor=actor_of(request), **form.validated_data
        )
        return idempotency.StoredResponse(201, {"reference": sale.booking.reference})

    try:
        booked = _once_per_form(request, book, now=now)
    except DomainError as exc:
        statuses = ((Conflict, 409), (Busy, 503), (Limited, 429))
        status = next((code for kind, code in statuses if isinstance(exc, kind)), 400)
        retry_after = exc.retry_after if isinstance(exc, Limited | Busy) else None
        return _refused([_sentence(exc)], status, retry_after=retry_after)
    return FormOutcome(booked.body["reference"], [], 201)


FORM_KEY_WAITS = 20  # times 0.1 s: how long a form sent twice waits for the first to finish


def _once_per_form(
    request: HttpRequest, book: Callable[[], idempotency.StoredResponse], *, now: datetime
) -> idempotency.StoredResponse:
    """Book once per rendering of the form: its hidden form_key is an Idempotency-Key. A
    double click sends the form twice, and the browser shows the second answer: that one
    waits for the first to finish, then answers with the same booking (where it booked a
    second time, or said the picked seats were taken by the customer's own first click)."""
    key = request.POST.get("form_key", "")
    if not (16 <= len(key) <= 64 and key.isascii() and key.isprintable()):
        return book()  # an old page without one: as before
    fields = sorted((name, request.POST.getlist(name)) for name in request.POST if name != "csrfmiddlewaretoken")
    fingerprint = hashlib.sha256(f"{request.path}\n{json.dumps(fields)}".encode()).hexdigest()
    for _ in range(FORM_KEY_WAITS):
        try:
            return idempotency.once(
                scope=client_scope(request), key=f"form:{key}", request_hash=fingerprint, action=book, now=now
            )
        except IdempotencyKeyInUse:  # the first sending is still booking
            time.sleep(0.1)
    raise IdempotencyKeyInUse()


class SeeOther(HttpResponseRedirect):
    """303: the answer to a POST is to GET this page (a reload then sends no form again)."""

    status_code = 303


def _booked(request: HttpRequest, show: Show) -> sales.Sale | None:
    """The booking of this show that this browser's booked cookie names, while it is fresh."""
    reference = request.get_signed_cookie(BOOKED_COOKIE, None, salt=BOOKED_SALT, max_age=BOOKED_SECONDS)
    if reference is None:  # none, forged, altered or expired
        return None
    booking = selectors.bookings_with_tickets().filter(reference=reference, tickets__show=show).first()
    return sales.Sale(booking=booking, tickets=list(booking.tickets.all())) if booking else None


# The page shows live seat statuses and a form with a CSRF token: no cache may keep it.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def show_page(request: HttpRequest, show_id: int) -> HttpResponse:
    """GET: the show, its prices and its seats as a form; the script draws the map on top.
    POST (the form without the script): book the checked seats, or the best ones."""
    now = timezone.now()
    # Three queries: the show with its screen, venue and film; its prices with their
    # ticket types (prefetched); the seats in use (one statement).
    show = get_object_or_404(selectors.shows_with_counts(now=now), pk=show_id)
    choices = _ticket_choices(show)
    started = show.has_started(now)
    sale: sales.Sale | None = None
    errors: list[str] = []
    status, retry_after = 200, None
    if request.method == "POST" and not started:
        reference, errors, status, retry_after = _book_from_form(request, show, choices)
        if reference is not None:  # Post/Redirect/Get: a reload can't book again
            page = reverse("show-page", args=[show.pk])
            booked = SeeOther(f"{page}?booked")
            booked.set_signed_cookie(
                BOOKED_COOKIE,
                reference,
                salt=BOOKED_SALT,
                max_age=BOOKED_SECONDS,
                path=page,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
            return booked
    elif request.method == "POST":
        errors, status = ["This show has started: it can no longer be booked."], 400
    elif "booked" in request.GET:
        sale = _booked(request, show)
    rows = selectors.show_seat_statuses(show, now=now)
    picked = set(request.POST.getlist("seats")) if errors else set()
    # A show capped below its map sells out with seats free; a show started sells none.
    free = selectors.seats_available_of(show, rows, now=now)
    context = {
        "show": show,
        "title": _title(show),
        "venue": show.screen.venue,
        "starts_at": show.local_start,
        "choices": choices,
        "count_fields": [(c, request.POST.get(c.field, "0") if errors else "0") for c in choices],
        "rows": rows,
        "picked": picked,
        "free": free,
        "started": started,
        "sale": sale,
        "tickets": [(ticket, reverse("eticket", args=[ticket.pk])) for ticket in sale.tickets] if sale else [],
        "errors": errors,
        "form": request.POST if errors else {},
        "hold_minutes": settings.BOOKING_HOLD_MINUTES,
        "sentences": SENTENCES,
        # Each category's outline, as the admin's map draws it: the script tells them apart.
        "outlines": outlines(),
        # The form's Idempotency-Key (_once_per_form): the one sent again with a corrected
        # form, a new one for each page shown afresh.
        "form_key": request.POST.get("form_key", "") if errors else secrets.token_urlsafe(24),
    }
    with timezone.override(show.zone):
        response = render(request, "show.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)  # as the API's 429 and 503 have it
    return response


# --- e-ticket ----------------------------------------------------------------------------


# The page shows a person's name and is reached by a capability URL: no shared cache may keep it.
@never_cache
@require_safe
def eticket(request: HttpRequest, ticket_id: UUID) -> HttpResponse:
    ticket = get_object_or_404(selectors.tickets_with_details(), pk=ticket_id)
    expired = ticket.is_expired(timezone.now())
    qr = segno.make(str(ticket.pk), micro=False)
    # segno writes the SVG from the code's modules and the fixed strings given here only.
    qr_svg = mark_safe(qr.svg_inline(scale=QR_SCALE, light="#fff", title=f"Ticket {ticket.pk}"))
    context = {
        "ticket": ticket,
        "show": ticket.show,
        "customer": ticket.holder,
        "starts_at": ticket.show.local_start,
        "expired": expired,
        "qr_svg": qr_svg,
    }
    # Every time on the ticket (the start, the check-in) in its venue's zone.
    with timezone.override(ticket.show.zone):
        return render(request, "eticket.html", context)
