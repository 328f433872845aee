"""The hourly seat cap: an anonymous client books at most BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR
seats an hour, through tickets, one-step bookings and confirmed holds alike (staff are
exempt), so that one client can't buy a show out. (The cap on seats held at once is in
holds.py.)"""

import math
from datetime import datetime, timedelta

from django.conf import settings

from ..errors import PartyAboveHourlyCap, SeatsPerHourReached
from ..locking import lock_client
from ..models import Ticket

WINDOW = timedelta(hours=1)


def check_seats_per_hour(*, client: str, wanted: int, now: datetime) -> None:
    """Refuse `wanted` more seats when they would take the client past its hourly cap.

    Call under the show's lock, before the booking is inserted in the same transaction:
    the client's lock makes two bookings of one client, on any shows and hosts, count and
    insert one after the other, so requests sent at once can't pass the cap together.
    """
    limit = settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR
    if not client or not limit:
        return
    if wanted > limit:
        raise PartyAboveHourlyCap(limit)
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
