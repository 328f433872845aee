"""Errors of what staff set up: the schedule of shows, screens and their seat maps, films,
ticket types and prices, webhook endpoints."""

from typing import Any

from django.utils import timezone

from ..wallclock import wall_clock
from .base import Busy, Conflict, Invalid, Missing, seats_are

__all__ = [
    "FilmShowTitle",
    "StartPassedWithTickets",
    "ShowTimeTaken",
    "CapacityBelowTaken",
    "EndsPastCalendar",
    "CapacityAboveMap",
    "NoDefaultScreen",
    "ShowOverlaps",
    "FilmRuntimeOverlaps",
    "UnknownTicketType",
    "InvalidPrices",
    "DefaultTicketTypeNeeded",
    "TicketTypeKeyTaken",
    "InUse",
    "SeatInUse",
    "ShowHasTickets",
    "PricesChangedMeanwhile",
    "SeatMapChangedMeanwhile",
    "BlockChangedMeanwhile",
    "EventsChangedMeanwhile",
    "DeletedMeanwhile",
    "WebhookUrlRefused",
    "EndpointInactive",
    "EndpointsBusy",
    "DeliveryNotFound",
]

# --- 400 ----------------------------------------------------------------------------


class FilmShowTitle(Invalid):
    subject = "title"

    def __init__(self, film_title: str) -> None:
        super().__init__(f"A show of a film has the film's title, {film_title!r}: rename the film instead.")


class StartPassedWithTickets(Invalid):
    subject = "starts_at"
    message = "A show with tickets can't move to a time that has passed: they would expire and be purged."


class ShowTimeTaken(Invalid):
    subject = "starts_at"
    message = "Another show starts at this moment."


class CapacityBelowTaken(Invalid):
    subject = "capacity"

    def __init__(self, taken: int) -> None:
        super().__init__(f"Capacity can't be lower than the {taken} seats booked or held.")


class EndsPastCalendar(Invalid):
    subject = "starts_at"
    message = "This show would end after the calendar does (year 9999)."


class NoDefaultScreen(Invalid):
    subject = "screen"
    message = "The default venue has no screen: name one."


class CapacityAboveMap(Invalid):
    subject = "capacity"

    def __init__(self, places: int) -> None:
        super().__init__(f"Capacity can't be above the {places} places of the screen's seat map.")


class ShowOverlaps(Invalid):
    subject = "starts_at"

    def __init__(self, other: Any) -> None:
        if other is None:
            super().__init__("Another show on this screen overlaps this time.")
            return
        local = wall_clock(other.starts_at, other.zone)
        busy = timezone.localtime(other.busy_until, other.zone)
        super().__init__(
            f"Show {other.pk} ({other.title or 'untitled'}, {local}) keeps this screen busy "
            f"until {busy:%H:%M} (with cleaning): shows of one screen can't overlap."
        )


class FilmRuntimeOverlaps(Invalid):
    subject = "runtime_minutes"

    def __init__(self, show: Any, overlap: ShowOverlaps) -> None:
        super().__init__(f"Show {show.pk} would overlap another: {overlap.message}")


class UnknownTicketType(Invalid):
    subject = "ticket_types"

    def __init__(self, key: str, *, subject: str | None = None) -> None:
        super().__init__(f"No ticket type is called {key!r}.", subject=subject)


class InvalidPrices(Invalid):
    subject = "prices"


class DefaultTicketTypeNeeded(Invalid):
    subject = "default"
    message = "One ticket type is always the default: make another one the default instead."


class TicketTypeKeyTaken(Invalid):
    """A new ticket type's key that another type has: made meanwhile, after the serializer's
    (or the admin form's) own check of it. Its words are that check's (DRF's UniqueValidator,
    from the model field's "unique" message), so the race is told as the plain case is."""

    subject = "key"
    message = "ticket type with this key already exists."


class WebhookUrlRefused(Invalid):
    """A webhook endpoint on a private, loopback or otherwise non-public address (allowed
    only with WEBHOOKS_ALLOW_PRIVATE), or on a host that can't be resolved."""

    subject = "url"
    # The setting named: a developer's first receiver is on 127.0.0.1, a theatre's own
    # systems on its network.
    message = (
        "Webhook endpoints must be on a public internet address"
        " (WEBHOOKS_ALLOW_PRIVATE=true allows others: a receiver on this machine or the theatre's network)."
    )


# --- 404 ----------------------------------------------------------------------------


class DeletedMeanwhile(Missing):
    """Deleted before a change held its lock (saved, it would be inserted again): the lookup's words."""

    def __init__(self, model_name: str) -> None:
        super().__init__(f"No {model_name} matches the given query.")


class DeliveryNotFound(Missing):
    # The words of the view's lookup: an event purged or deleted with its endpoint meanwhile
    # answers as one that never existed.
    message = "No WebhookEvent matches the given query."


# --- 409 ----------------------------------------------------------------------------


class InUse(Conflict):
    code = "in_use"
    message = "Shows still use this: it can't be deleted."


class SeatInUse(Conflict):
    code = "seat_in_use"

    def __init__(self, seats: list[str]) -> None:
        kept = "it" if len(seats) == 1 else "them"
        super().__init__(f"{seats_are(seats)} booked or held for a show to come: the seat map must keep {kept}.")
        self.seats = seats

    def extra(self) -> dict[str, Any]:
        return {"seats": self.seats}


class ShowHasTickets(Conflict):
    code = "show_has_tickets"
    message = "This show has tickets: cancel them first."


class PricesChangedMeanwhile(Conflict):
    """A page's whole price list saved over prices that a colleague changed since the page
    was opened (the admin's show page)."""

    code = "prices_changed"
    message = "The prices were changed after this page was opened: reload it to see them as they are now."


class SeatMapChangedMeanwhile(Conflict):
    """A seat map typed over one that a colleague changed since (the admin's screen page):
    saved, it undid their change, which staff never saw."""

    code = "seat_map_changed"
    message = "This seat map was changed after this page was opened: reload it to see it now."


class BlockChangedMeanwhile(Conflict):
    """A blocked seat's removal, ticked on a page (the admin's show page) that showed a block
    a colleague has since replaced with another of that seat: removed by the seat, it took
    their block, which staff never saw."""

    code = "block_changed"
    message = "This seat was blocked again after this page was opened: reload it to see why."


class EventsChangedMeanwhile(Conflict):
    """A webhook endpoint's events ticked on a page (the admin's) that showed others: the
    list sent, saved whole, undid a colleague's choice that staff never saw."""

    code = "events_changed"
    message = "The events were changed after this page was opened: reload it to see them as they are now."


class EndpointInactive(Conflict):
    code = "endpoint_inactive"
    message = "This endpoint is inactive (410 Gone, or made so): make it active again, then retry."


# --- 503 ----------------------------------------------------------------------------


class EndpointsBusy(Busy):
    """A webhook endpoint's registration (or its events widened) waited past the lock
    timeout for the writes in flight (locking.lock_webhook_endpoints): one is stuck."""

    message = "Changes being written still hold the webhook endpoints; try again in a few seconds."
