"""The hourly seat cap: an anonymous client books at most BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR
seats an hour, through tickets, one-step bookings and confirmed holds alike (staff are
exempt), so that one client can't buy a show out. (The cap on seats held at once is in
holds.py.)

A waiting list's offer (a hold the offer job made for an entry) is confirmed whatever the
client booked in the hour (sales._sell): the job set its seats aside for that entry, in
joining order, for BOOKING_WAITLIST_OFFER_MINUTES, and a 429 told a family or an office
behind one address to wait out an hour the offer doesn't last, so the seats went to the
next in line. The hour is counted when the client joins instead (waitlist.py: a party
that would take it past its cap is refused there, as a booking is), and the list's own cap
bounds the seats it waits for at once (BOOKING_MAX_HELD_SEATS_PER_CLIENT): an hour books at
most the cap and the seats then in line. The offer's seats still count toward the client's
hour, as every booking's do. Its confirm takes no client lock: it counts nothing, and a
booking that counts it sees it once committed, as it sees any booking before it.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings

from ..errors import PartyAboveHourlyCap, SeatsPerHourReached
from ..locking import lock_client
from ..models import Ticket

WINDOW = timedelta(hours=1)


def check_seats_per_hour(*, client: str, wanted: int, now: datetime, field: str | None = None) -> None:
    """Refuse `wanted` more seats when they would take the client past its hourly cap;
    more than the cap at once is a 400 on `field` (the request's, when it names one).

    Call under the show's lock, before the booking is inserted in the same transaction:
    the client's lock makes two bookings of one client, on any shows and hosts, count and
    insert one after the other, so requests sent at once can't pass the cap together.
    """
    limit = settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR
    if not client or not limit:
        return
    if wanted > limit:
        raise PartyAboveHourlyCap(limit, subject=field)
    lock_client(client)
    # The client's seats still in the window (the tickets of its bookings of the last hour:
    # a cancelled ticket no longer counts), oldest first.
    booked = sorted(
        Ticket.objects.filter(booking__client=client, booking__created_at__gt=now - WINDOW).values_list(
            "booking__created_at", flat=True
        )
    )
    over = len(booked) + wanted - limit
    if over <= 0:
        return
    # When enough of the oldest seats have left the window.
    frees_at = booked[over - 1] + WINDOW
    raise SeatsPerHourReached(limit, retry_after=max(1, math.ceil((frees_at - now).total_seconds())))
