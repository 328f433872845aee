"""The waiting list on the pages: a sold-out show's page takes a join (join_from_form), and
an entry's own page (/waitlist/{id}/, the entry's id its capability, as a ticket's is for its
e-ticket) tells its place, shows an offer and books it, or leaves the list. Through the
same services and refusals as the API's /api/shows/{id}/waitlist and /api/waitlist/{id}."""

from collections.abc import Mapping
from typing import NamedTuple
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import idempotency, selectors, showform
from .callers import actor_of, capped_client
from .errors import DomainError, HoldExpired, WaitlistEntryNotFound
from .models import Show, WaitlistEntry, WaitlistStatus
from .serializers.waitlist import WaitlistJoinSerializer
from .services import sales, waitlist
from .services.sale_rows import Sale


class Joined(NamedTuple):
    """What a join from the show page came to: the new entry's page to go to, or what to
    say (a place the phone number has already, or the refusal) with the page's status, and
    each refused field's messages, told beside it (showform.field_notes)."""

    entry_page: str | None
    said: list[str]
    status: int
    retry_after: int | None = None
    notes: Mapping[str, str] = showform.NO_NOTES


def join_from_form(request: HttpRequest, show: Show) -> Joined:
    """Join the show's waiting list as the page's form asks."""
    refused = showform.throttled(request)
    if refused is not None:
        return Joined(None, refused.errors, refused.status, refused.retry_after)
    data = {name: request.POST.get(name, "") for name in ("name", "phone_number", "party_size")}
    form = WaitlistJoinSerializer(data=data)
    if not form.is_valid():
        return Joined(None, showform.field_errors(form.errors), 400, notes=showform.field_notes(form.errors))
    now = timezone.now()

    def join() -> idempotency.StoredResponse:
        entry, made = waitlist.waitlist_join(
            show_id=show.pk, now=now, client=capped_client(request), actor=actor_of(request), **form.validated_data
        )
        return idempotency.StoredResponse(201 if made else 200, {"entry": str(entry.pk)})

    try:
        # Once per rendering of the form (its form_key), as the booking form: the second
        # sending of a double click, which the browser shows, is sent to the entry's page
        # too, where a second join would be told the place without it, for good.
        joined = showform.once_per_form(request, join, now=now)
    except DomainError as exc:
        refused = showform.refused(exc)
        return Joined(None, refused.errors, refused.status, refused.retry_after, refused.notes)
    entry_id = joined.body["entry"]
    if joined.status_code == 201:
        return Joined(reverse("waitlist-page", args=[entry_id]), [], 303)
    # As the API's 200 to a second join: the place, never the entry's page (a phone number
    # is no secret; whoever joined was sent there).
    place = selectors.waitlist_entries(now=now).filter(pk=entry_id).first()
    position = f", number {place.position} in line" if place and place.position else ""
    said = (
        f"This phone number is on this show's waiting list already{position}: "
        "its page is the one you were sent to when you joined."
    )
    return Joined(None, [said], 200)


# The page shows a person's place and offer and is reached by a capability URL: no shared
# cache may keep it.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def waitlist_page(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    """GET: the entry's status; POST "book": confirm its offer as the person who joined;
    POST "leave": leave the list (a live offer's seats go back on sale)."""
    now = timezone.now()
    entry = get_object_or_404(selectors.waitlist_entries(now=now), pk=entry_id)
    said: list[str] = []
    status, retry_after = 200, None
    if request.method == "POST":
        done = _act(request, entry, request.POST.get("action", ""))
        if done is None:
            return showform.SeeOther(request.path)  # Post/Redirect/Get
        said, status, retry_after = done.errors, done.status, done.retry_after
        entry = get_object_or_404(selectors.waitlist_entries(now=timezone.now()), pk=entry_id)
    booking = None
    if entry.current_status == WaitlistStatus.BOOKED:
        # The booking its offer made: the person's, at this show (a reference freed by a
        # cancelled booking may be another's since).
        found = selectors.bookings_with_tickets().filter(reference=entry.booking, tickets__show=entry.show_id)
        booking = found.filter(customer__phone_number=entry.phone_number).first()
    show = entry.show
    context = {
        "entry": entry,
        "show": show,
        "venue": show.screen.venue,
        "starts_at": show.local_start,
        "status": entry.current_status,
        "said": said,
        "tickets": [(t, reverse("eticket", args=[t.pk])) for t in booking.tickets.all()] if booking else [],
        "booking": booking,
        # What the tickets listed cost (Sale.total), not the booking's stored total: the purge
        # leaves that as it was when it deletes a ticket of it moved to an earlier show.
        "total": Sale(booking, list(booking.tickets.all())).total if booking else None,
        # A started show's entry reads expired, whether or not it was ever offered seats.
        "started": show.has_started(timezone.now()),
    }
    with timezone.override(show.zone):
        response = render(request, "waitlist.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _act(request: HttpRequest, entry: WaitlistEntry, action: str) -> showform.FormOutcome | None:
    """Book the entry's offer or leave the list; None when done, else the refusal."""
    refused = showform.throttled(request)
    if refused is not None:
        return refused
    now = timezone.now()
    try:
        if action == "book" and entry.current_status == WaitlistStatus.OFFERED:
            sales.booking_confirm(
                hold_id=entry.offer.pk,
                name=entry.name,
                phone_number=entry.phone_number,
                now=now,
                client=capped_client(request),
                actor=actor_of(request),
            )
        elif action == "leave":
            waitlist.waitlist_leave(entry_id=entry.pk, now=now, actor=actor_of(request))
        # Anything else (a second click's "book" after the first booked, an offer that ran out
        # since the page was shown): the page again, which tells the entry's status now.
    except HoldExpired:
        return None  # booked by the first of two clicks, or run out: the page says which
    except WaitlistEntryNotFound:
        return None  # the show's list went with it: the page's 404
    except DomainError as exc:
        return showform.refused(exc)
    return None
