"""The HTML pages: the home page and the printable e-ticket.

Both are plain Django templates with inline CSS and no script but a print button; each costs one query.
"""

from uuid import UUID

import segno
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import selectors

HOME_SHOW_COUNT = 20
# 6 px a module: a version 3 code (a UUID) with its quiet zone is 222 px wide, which a
# phone's camera and the door scanner read at a glance, and which fits a 320 px screen.
QR_SCALE = 6


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    # One query: the same seat counts as GET /api/shows (tickets and live holds).
    # The page shows no prices: no prefetch of them.
    upcoming = (
        selectors.shows_with_counts(now=now).prefetch_related(None).filter(starts_at__gt=now).order_by("starts_at")
    )
    shows = list(upcoming[:HOME_SHOW_COUNT])
    example_show = shows[0].pk if shows else 1
    context = {
        "shows": shows,
        "tickets_url": request.build_absolute_uri(reverse("ticket-list")),
        "example_show": example_show,
        "open_timings": settings.BOOKING_OPEN_TIMINGS,
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "home.html", context)


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
