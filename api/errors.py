"""The errors of the booking rules, in the domain's words.

Services raise these; they know nothing of HTTP. The API maps them to status codes and
shapes once (api/views/base.py, exception_handler), the admin shows their message
(api/admin/base.py). Each error's message and code are defined here and nowhere else.

- Invalid: the request asks for something that can't be (400). `subject` says what is
  wrong in the domain's words ("show", "time", "seats", ...); the API answers it as the
  request field of that name, unless the view names it otherwise.
- Conflict: the request clashes with the current state (409), with a `code`.
- Missing: the thing named does not exist (404).
- Limited: the client used up its share for now (429, with Retry-After).
- Busy: the request could not get its turn in time; the same request may be sent again
  a little later (503, with a `code` and Retry-After).
"""

import math
from collections.abc import Set as AbstractSet
from datetime import datetime, tzinfo
from typing import Any

from django.conf import settings
from django.utils import timezone


def _seats_are(labels: list[str]) -> str:
    """ "Seat A1 is" or "Seats A1, A2 are": the subject of a message about seats."""
    return f"Seat {labels[0]} is" if len(labels) == 1 else f"Seats {', '.join(labels)} are"


class DomainError(Exception):
    message = "The request can't be done."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message

    def __str__(self) -> str:
        return self.message


class Invalid(DomainError):
    subject: str | None = None  # None: the request as a whole

    def __init__(self, message: str | None = None, *, subject: str | None = None) -> None:
        super().__init__(message)
        if subject is not None:
            self.subject = subject


class Conflict(DomainError):
    code = "conflict"

    def extra(self) -> dict[str, Any]:
        """Fields the 409 answer carries besides detail and code."""
        return {}


class Missing(DomainError):
    message = "Not found."


class Busy(DomainError):
    code = "busy"

    @property
    def retry_after(self) -> int:
        """Seconds before trying again: sooner, the retry would most likely wait out the
        same lock again."""
        return max(1, math.ceil(settings.BOOKING_LOCK_TIMEOUT_SECONDS))


class Limited(DomainError):
    """A client's share used up for now (429): the same request may succeed in
    `retry_after` seconds. A `code` says which share, where the service has several."""

    code: str | None = None

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- 400 ----------------------------------------------------------------------------


class RelatedNotFound(Invalid):
    """An id in a request's body that names nothing (DRF's message for a related field)."""

    def __init__(self, subject: str, pk: object) -> None:
        super().__init__(f'Invalid pk "{pk}" - object does not exist.', subject=subject)


class ShowNotFound(RelatedNotFound):
    def __init__(self, show_id: object) -> None:
        super().__init__("show", show_id)


class NoShowAtTime(Invalid):
    subject = "time"
    message = "No show is scheduled at this date and time."


class ShowStarted(Invalid):
    subject = "time"
    message = "Cannot book a show that has started."


class OtherCurrency(Invalid):
    subject = "show"

    def __init__(self, currency: str, booked_in: str) -> None:
        sold = f"This show is sold in {currency} and the ticket's booking in {booked_in}"
        super().__init__(f"{sold}: a ticket can't move to another currency; book a new one there.")


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


class NoSuchSeat(Invalid):
    subject = "seats"

    def __init__(self, label: str) -> None:
        super().__init__(f"Seat {label} does not exist at this show.")


class TooFewWheelchairSpaces(Invalid):
    """More wheelchair spaces asked for than the screen has at all: never a sell-out that a
    waiting list could end."""

    subject = "wheelchair"

    def __init__(self, spaces: int) -> None:
        super().__init__(f"This show's screen has {spaces} wheelchair space{'' if spaces == 1 else 's'}.")


class NoSuchHold(Invalid):
    subject = "hold"
    message = "No such hold."


class SeveralShows(Invalid):
    subject = "show"
    message = "Several shows start at this date and time: give show, screen or venue."


class TimeOutOfRange(Invalid):
    subject = "date"
    message = "This date is out of range."


class EndsPastCalendar(Invalid):
    subject = "starts_at"
    message = "This show would end after the calendar does (year 9999)."


class TimeDoesNotExist(Invalid):
    subject = "time"
    message = "This time does not exist on this date in the venue's time zone (the clocks go forward)."


class OpenTimingTooFar(Invalid):
    subject = "date"

    def __init__(self, days: int) -> None:
        super().__init__(f"Shows can be booked at most {days} days ahead without a scheduled show.")


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
        local = timezone.localtime(other.starts_at, other.zone)
        busy = timezone.localtime(other.busy_until, other.zone)
        super().__init__(
            f"Show {other.pk} ({other.title or 'untitled'}, {local:%Y-%m-%d %H:%M}) keeps this screen busy "
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


class NotSoldHere(Invalid):
    subject = "ticket_types"

    def __init__(self, ticket_type: str, category: str) -> None:
        super().__init__(f"This show sells no {ticket_type} tickets in {category} seats.")


class InvalidPhone(Invalid):
    subject = "phone_number"
    message = "Enter a valid phone number."


class HoldLimitReached(Invalid):
    def __init__(self, limit: int, held: int) -> None:
        super().__init__(f"One client can hold at most {limit} seats at once ({held} held now).")


class WaitlistLimitReached(Invalid):
    def __init__(self, limit: int, waiting: int) -> None:
        super().__init__(f"One client can wait for at most {limit} seats at once ({waiting} in line now).")


class PartyAboveHourlyCap(Invalid):
    """More seats in one request than a client may book in an hour: no wait makes it
    possible, so it is no 429 with a Retry-After."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"One client can book at most {limit} seats an hour: ask for fewer.")


class WaitlistClosed(Invalid):
    message = "This show has started: its waiting list is closed."


class PartyAboveCapacity(Invalid):
    """A waiting list's party that no offer could ever seat: it would wait until the show."""

    subject = "party_size"

    def __init__(self, capacity: int) -> None:
        super().__init__(f"This show's screen has {capacity} seats: a larger party can't be offered seats.")


class WebhookUrlRefused(Invalid):
    """A webhook endpoint on a private, loopback or otherwise non-public address (allowed
    only with WEBHOOKS_ALLOW_PRIVATE), or on a host that can't be resolved."""

    subject = "url"
    message = "Webhook endpoints must be on a public internet address."


# --- 404 ----------------------------------------------------------------------------


class TicketNotFound(Missing):
    # The words of the views' lookup (get_object_or_404): a ticket cancelled meanwhile
    # answers as one that never existed.
    message = "No Ticket matches the given query."


class WaitlistEntryNotFound(Missing):
    pass


class DeletedMeanwhile(Missing):
    """Deleted before a change held its lock (saved, it would be inserted again): the lookup's words."""

    def __init__(self, model_name: str) -> None:
        super().__init__(f"No {model_name} matches the given query.")


class EndpointInactive(Conflict):
    code = "endpoint_inactive"
    message = "This endpoint is inactive (410 Gone, or made so): make it active again, then retry."


class DeliveryNotFound(Missing):
    # The words of the view's lookup: an event purged or deleted with its endpoint meanwhile
    # answers as one that never existed.
    message = "No WebhookEvent matches the given query."


# --- 409 ----------------------------------------------------------------------------


class SoldOut(Conflict):
    code = "sold_out"
    message = "This show has no free seat left for this request."

    def __init__(self, show_id: int | None = None) -> None:
        super().__init__()
        self.show_id = show_id  # the show whose waiting list the answer offers


class SeatsFree(Conflict):
    """A waiting list is for a show that can't seat the party now: joined while it can, its
    offers would hold seats anyone may book, out of every client's hold cap."""

    code = "seats_available"

    def __init__(self, party_size: int) -> None:
        party = "one" if party_size == 1 else f"a party of {party_size}"
        super().__init__(f"This show can seat {party} now: book the seats; its waiting list is for parties it can't.")


class SeatTaken(Conflict):
    code = "seat_taken"
    message = "That seat was booked meanwhile."

    @classmethod
    def seats(cls, labels: list[str], *, blocked: AbstractSet[str] = frozenset()) -> "SeatTaken":
        """Seats that can't be had: booked or held, or (all of them) blocked by staff."""
        if blocked >= set(labels):
            return cls(f"{_seats_are(labels)} not on sale.")
        some_blocked = not blocked.isdisjoint(labels)
        return cls(f"{_seats_are(labels)} already booked or held{', or not on sale' if some_blocked else ''}.")


class SingleSeatGap(Conflict):
    code = "single_seat_gap"

    def __init__(self, seat: str) -> None:
        super().__init__(f"These seats would leave seat {seat} alone between taken seats: choose others.")
        self.seat = seat

    def extra(self) -> dict[str, Any]:
        return {"seat": self.seat}


class TicketExpired(Conflict):
    code = "ticket_expired"
    message = "This ticket has expired."


class TicketNotChangeable(TicketExpired):
    message = "This ticket's show has started or the ticket has expired."


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"
    message = "This ticket was checked in already."

    def __init__(self, checked_in_at: datetime, zone: tzinfo, message: str | None = None) -> None:
        super().__init__(message)
        self.checked_in_at = checked_in_at
        self.zone = zone  # the venue's, in which the ticket itself shows the moment

    def extra(self) -> dict[str, Any]:
        return {"checked_in_at": timezone.localtime(self.checked_in_at, self.zone).isoformat(timespec="seconds")}


class TooEarly(Conflict):
    code = "too_early"

    def __init__(self, opens_at: datetime, zone: tzinfo) -> None:
        local = timezone.localtime(opens_at, zone)
        super().__init__(f"Check-in for this show opens at {local:%Y-%m-%d %H:%M}.")


class HoldExpired(Conflict):
    code = "hold_expired"
    message = "This hold has run out or was released; hold the seats again."


class InUse(Conflict):
    code = "in_use"
    message = "Shows still use this: it can't be deleted."


class SeatInUse(Conflict):
    code = "seat_in_use"

    def __init__(self, seats: list[str]) -> None:
        kept = "it" if len(seats) == 1 else "them"
        super().__init__(f"{_seats_are(seats)} booked or held for a show to come: the seat map must keep {kept}.")
        self.seats = seats

    def extra(self) -> dict[str, Any]:
        return {"seats": self.seats}


class ShowHasTickets(Conflict):
    code = "show_has_tickets"
    message = "This show has tickets: cancel them first."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still running."


# --- 429 ----------------------------------------------------------------------------


class SeatsPerHourReached(Limited):
    code = "seats_per_hour"  # not the request rate's throttle: seats free again within the hour

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"One client can book at most {limit} seats an hour: try again later.", retry_after=retry_after
        )


# --- 503 ----------------------------------------------------------------------------


class ShowBusy(Busy):
    message = "This show is busy with other requests; try again in a few seconds."


class ClientBusy(Busy):
    message = "Other requests of this client are still running; try again in a few seconds."


class IdempotencyKeyReused(DomainError):
    """422: the same Idempotency-Key with another request body."""

    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with another request body."
