"""The HTML pages: the home page, a show's page (pick seats and book) and the printable
e-ticket.

Plain Django templates with inline CSS. The show page's seat map is drawn by a script the
service serves itself (api/static/api/show.js), through the public API, as any client
would; without JavaScript the same page is a form of checkboxes, which api/showform.py
books through the services.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from uuid import UUID
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from . import selectors, showform
from .filters import ShowFilter
from .models import Show
from .seatmap_svg import outlines
from .services import sales
from .waitlistpage import Joined, join_from_form

HOME_SHOW_COUNT = 50  # the next shows, without a date
DAY_SHOW_COUNT = 200  # a day's shows (a multiplex's busiest day is well under it)
DAY_LINKS = 7
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


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The next shows, or with ?date=YYYY-MM-DD that day's, and links to the days around it.

    Three queries (one more when the shared cache has lost the venues' zones): the shows,
    and the day links' counts and what comes after them (_day_links). A bad date is a 400
    page that says how to write one."""
    now = timezone.now()
    today = timezone.localdate(now)  # in TIME_ZONE, the default venue's zone: "Today"
    # The same seat counts as GET /api/shows (tickets and live holds), with the screen,
    # venue and film joined. The page shows no prices: no prefetch of them.
    shows = selectors.shows_with_counts(now=now).prefetch_related(None).defer(selectors.SEAT_MAP)
    shows = shows.filter(selectors.coming(now)).order_by("starts_at")
    # The API's `date` filter: YYYY-MM-DD only, inside the calendar in every venue's zone,
    # and a show's day read in its venue's zone.
    days = ShowFilter(data={"date": request.GET.get("date", "")}, queryset=shows)
    if not days.is_valid():
        return _home(request, days, today=today, now=now, shows=[], error=_bad_date(days), status=400)
    day: date | None = days.form.cleaned_data.get("date")
    if day is None:
        listed = list(shows[:HOME_SHOW_COUNT])
    else:
        listed = list(days.qs[: DAY_SHOW_COUNT + 1])
    return _home(request, days, today=today, now=now, shows=listed, day=day)


def _home(
    request: HttpRequest,
    days: ShowFilter,
    *,
    today: date,
    now: datetime,
    shows: list[Show],
    day: date | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    more = len(shows) > DAY_SHOW_COUNT  # a day with more shows than the page lists
    shows = shows[:DAY_SHOW_COUNT]
    # The shows, grouped by venue, then by film, each film's times in order.
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
    # The days from the earliest it is in any venue's zone: a venue west of TIME_ZONE is
    # still on the day before, and its shows tonight were on no day's link.
    first_day = min([today, *(now.astimezone(ZoneInfo(zone)).date() for zone in days.zones)])
    links, earlier, later = _day_links(days, first_day=first_day, now=now, day=day)
    context = {
        "shows": shows,
        "venues": venues,
        "day": day,
        "past": day is not None and day < first_day,
        "more": more,
        "error": error,
        "today": today,
        "day_links": links,
        "earlier": earlier,
        "later": later,
        "tickets_url": request.build_absolute_uri(reverse("ticket-list")),
        "example_show": shows[0].pk if shows else 1,
        "open_timings": settings.BOOKING_OPEN_TIMINGS,
        "open_timings_days": settings.BOOKING_OPEN_TIMINGS_DAYS,  # further ahead: a 400 on date
    }
    return render(request, "home.html", context, status=status)


@dataclass(frozen=True)
class DayLink:
    day: date
    shows: int  # coming shows on that day, in their venues' zones
    current: bool


def _day_links(
    days: ShowFilter, *, first_day: date, now: datetime, day: date | None
) -> tuple[list[DayLink], date | None, date | None]:
    """A week of days from first_day (today, in the zone where it is earliest), or the week
    (counted from first_day) of the day asked for, each with its number of coming shows, and
    the first days of the weeks before and after it (None: none before first_day, or no
    show after it). Two queries: every day's shows counted with the `date` filter's own
    condition, so a day links to a page that lists them; and whether any show comes after
    the week (the first found ends it)."""
    weeks_on = 0 if day is None or day < first_day else (day - first_day).days // DAY_LINKS
    first = first_day + timedelta(days=weeks_on * DAY_LINKS)
    week = [first + timedelta(days=n) for n in range(min(DAY_LINKS, (date.max - first).days + 1))]
    after = week[-1] + timedelta(days=1) if week[-1] < date.max else None
    coming = Show.objects.filter(selectors.coming(now))
    counted = {f"day{n}": Count("pk", filter=days.on_day(d)) for n, d in enumerate(week)}
    in_week = coming.filter(days.from_day(first))
    if after is not None and after < date.max:
        # Bounded in UTC too, a day past the week (more than any zone's offset): the count
        # reads the week's shows, not every one to come.
        bound = after + timedelta(days=1)
        in_week = in_week.filter(starts_at__lt=datetime.combine(bound, time.min, tzinfo=UTC))
    counts = in_week.aggregate(**counted)
    links = [DayLink(d, counts[f"day{n}"], d == day) for n, d in enumerate(week)]
    earlier = first - timedelta(days=DAY_LINKS) if first > first_day else None
    later = after is not None and coming.filter(days.from_day(after)).exists()
    return links, earlier, after if later else None


def _bad_date(days: ShowFilter) -> str:
    asked = Truncator(days.data.get("date", "")).chars(30)  # said back, never a page of it
    example = (timezone.localdate() + timedelta(days=1)).isoformat()
    codes = {error.code for error in days.form.errors.as_data().get("date", [])}
    if "out_of_range" in codes:
        return f"{asked} is outside the calendar: give a day such as {example} (year, month, day)."
    return f"“{asked}” is not a day: give one as YYYY-MM-DD, such as {example}."


def _title(show: Show) -> str:
    return show.title or "Film to be announced"


# --- a show's page ---------------------------------------------------------------------


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
    choices = showform.ticket_choices(show)
    started = show.has_started(now)
    sale: sales.Sale | None = None
    errors: list[str] = []
    notes = showform.NO_NOTES
    status, retry_after, new_form = 200, None, False
    joining: Joined | None = None
    if request.method == "POST" and not started and request.POST.get("form") == "waitlist":
        joining = join_from_form(request, show)
        if joining.entry_page is not None:
            return showform.SeeOther(joining.entry_page)
        status, retry_after = joining.status, joining.retry_after
    elif request.method == "POST" and not started:
        reference, errors, status, retry_after, new_form, notes = showform.book_from_form(request, show, choices)
        if reference is not None:  # Post/Redirect/Get: a reload can't book again
            page = reverse("show-page", args=[show.pk])
            booked = showform.SeeOther(f"{page}?booked")
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
        errors, status = [showform.SENTENCES["started"]], 400
    elif "booked" in request.GET:
        sale = _booked(request, show)
    rows = selectors.show_seat_statuses(show, now=now)
    # A show capped below its map sells out with seats free; a show started sells none.
    free = selectors.seats_available_of(show, rows, now=now)
    if not free:
        rows = _not_on_sale(rows)
    categories = show.screen.seats.by_category
    price_lines = [
        (c.name, [(category, amount) for category, amount in c.amounts if category in categories]) for c in choices
    ]
    picked = set(request.POST.getlist("seats")) if errors else set()
    counts = [request.POST.get(c.field, "0") if errors else "0" for c in choices]
    still = picked & {s.seat.label for row in rows for s in row.seats if s.status == "free"}
    if len(still) < len(picked):
        # Seats taken meanwhile are shown unchecked: their tickets come off the counts too, as
        # the script takes them off, else the form sent again is refused for a mismatch.
        counts = showform.counts_for_seats(counts, picked=len(picked), left=len(still))
    context = {
        "show": show,
        "title": _title(show),
        "venue": show.screen.venue,
        "starts_at": show.local_start,
        "choices": choices,
        # Each type's prices in the categories of this screen's map (a show may be priced in
        # others, for a screen it moves to): a screen without premium seats lists none.
        "price_lines": [(name, amounts) for name, amounts in price_lines if amounts],
        "count_fields": list(zip(choices, counts, strict=True)),
        "rows": rows,
        "picked": picked,
        "free": free,
        "started": started,
        "sale": sale,
        "tickets": [(ticket, reverse("eticket", args=[ticket.pk])) for ticket in sale.tickets] if sale else [],
        "errors": errors,
        # A refused name or phone number told beside its field too, as the script does.
        "notes": notes,
        "form": request.POST if errors else {},
        "hold_minutes": settings.BOOKING_HOLD_MINUTES,
        # As long as the form's booked page, the script's booking shows again on Back.
        "booked_seconds": BOOKED_SECONDS,
        "sentences": showform.SENTENCES,
        # Each category's outline, as the admin's map draws it: the script tells them apart.
        "outlines": outlines(),
        # The form's Idempotency-Key (showform): the one sent again with a corrected form, a
        # new one for each page shown afresh, and for a page that booked already.
        "form_key": request.POST.get("form_key", "") if errors and not new_form else secrets.token_urlsafe(24),
        "prices_key": showform.prices_key(choices),
        "dialled": showform.dialled_in(show.screen.venue.country),
        # Sold out: the waiting list's form (API.md, "Waiting list"), and what its join said.
        "waitlist_said": joining.said if joining else [],
        "waitlist_notes": joining.notes if joining else showform.NO_NOTES,
        "waitlist_form": request.POST if joining else {},
        "offer_minutes": settings.BOOKING_WAITLIST_OFFER_MINUTES,
        # The join's own form_key (showform.once_per_form): sent again corrected, the same one.
        "waitlist_key": request.POST.get("form_key", "") if joining else secrets.token_urlsafe(24),
    }
    with timezone.override(show.zone):
        response = render(request, "show.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)  # as the API's 429 and 503 have it
    return response


def _not_on_sale(rows: list[selectors.RowStatus]) -> list[selectors.RowStatus]:
    """The seats of a sold-out show with its free ones not on sale, as the script draws them
    (blocked): a show capped below its map sells out with seats free, and the no-script
    form offered them as checkboxes, each refused when sent ("Try fewer seats")."""
    return [
        selectors.RowStatus(
            row.label,
            [selectors.SeatStatus(s.seat, "blocked") if s.status == "free" else s for s in row.seats],
        )
        for row in rows
    ]


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


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """What a browser asks for on every page without an icon of its own (the admin's): the
    pages' icon, not a 404 logged for each."""
    return HttpResponseRedirect(static("api/favicon.svg"))  # not 301: the name changes with each new icon (hashed)
