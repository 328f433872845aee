"""Errors of selling seats: shows found by their time, holds, bookings, tickets and their
changes, waiting lists, the per-client caps, check-in at the door."""

from collections.abc import Set as AbstractSet
from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone

from ..wallclock import wall_clock
from .base import Busy, Conflict, Invalid, Limited, Missing, RelatedNotFound, seats_are

__all__ = [
    "ShowNotFound",
    "NoShowAtTime",
    "ShowStarted",
    "OtherCurrency",
    "NoSuchSeat",
    "TooFewWheelchairSpaces",
    "NoSuchHold",
    "SeveralShows",
    "TimeOutOfRange",
    "TimeDoesNotExist",
    "OpenTimingTooFar",
    "NotSoldHere",
    "InvalidPhone",
    "HoldLimitReached",
    "WaitlistLimitReached",
    "PartyAboveHourlyCap",
    "WaitlistClosed",
    "PartyAboveCapacity",
    "TicketNotFound",
    "WaitlistEntryNotFound",
    "SoldOut",
    "SeatsFree",
    "SeatTaken",
    "SingleSeatGap",
    "TicketExpired",
    "TicketNotChangeable",
    "TicketMovedMeanwhile",
    "AlreadyCheckedIn",
    "TooEarly",
    "HoldExpired",
    "SeatsPerHourReached",
    "ShowBusy",
    "ClientBusy",
]


# --- 400 ----------------------------------------------------------------------------


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


class NoSuchSeat(Invalid):
    subject = "seats"

    def __init__(self, label: str) -> None:
        super().__init__(f"Seat {label} does not exist at this show.")


class TooFewWheelchairSpaces(Invalid):
    """More wheelchair spaces asked for than the screen has, or than the show prices for
    the types asked (`priced` of them): never a sell-out that a waiting list could end."""

    subject = "wheelchair"

    def __init__(self, spaces: int, *, priced: int) -> None:
        message = f"This show's screen has {spaces} wheelchair space{'' if spaces == 1 else 's'}"
        if priced < spaces:
            message += f"; the show prices {priced} of them for these tickets"
        super().__init__(f"{message}.")


class NoSuchHold(Invalid):
    subject = "hold"
    message = "No such hold."


class SeveralShows(Invalid):
    subject = "show"
    message = "Several shows start at this date and time: give show, screen or venue."


class TimeOutOfRange(Invalid):
    subject = "date"
    message = "This date is out of range."


class TimeDoesNotExist(Invalid):
    subject = "time"
    message = "This time does not exist on this date in the venue's time zone (the clocks go forward)."


class OpenTimingTooFar(Invalid):
    subject = "date"

    def __init__(self, days: int) -> None:
        super().__init__(f"Shows can be booked at most {days} days ahead without a scheduled show.")


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

    def __init__(self, limit: int, *, subject: str | None = None) -> None:
        super().__init__(f"One client can book at most {limit} seats an hour: ask for fewer.", subject=subject)


class WaitlistClosed(Invalid):
    message = "This show has started: its waiting list is closed."


class PartyAboveCapacity(Invalid):
    """A waiting list's party that no offer could ever seat: it would wait until the show."""

    subject = "party_size"

    def __init__(self, capacity: int) -> None:
        super().__init__(f"This show's screen has {capacity} seats: a larger party can't be offered seats.")


# --- 404 ----------------------------------------------------------------------------


class TicketNotFound(Missing):
    # The words of the views' lookup (get_object_or_404): a ticket cancelled meanwhile
    # answers as one that never existed.
    message = "No Ticket matches the given query."


class WaitlistEntryNotFound(Missing):
    pass


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
            return cls(f"{seats_are(labels)} not on sale.")
        some_blocked = not blocked.isdisjoint(labels)
        return cls(f"{seats_are(labels)} already booked or held{', or not on sale' if some_blocked else ''}.")


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


class TicketMovedMeanwhile(Conflict):
    """A ticket's show or seat changed on a page (the admin's) that showed it elsewhere:
    applied where it is now, it took a seat nobody chose, at a show staff never saw."""

    code = "ticket_moved"
    message = "This ticket was moved after this page was opened: reload it to see where it is now."


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
        super().__init__(f"Check-in for this show opens at {wall_clock(opens_at, zone)}.")


class HoldExpired(Conflict):
    code = "hold_expired"
    message = "This hold has run out, was released or was booked already; hold the seats again to book them."


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
