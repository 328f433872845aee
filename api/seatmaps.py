"""Seats and their labels: pure Python, no database.

A show's seats are numbered 1 .. capacity, in rows of BOOKING_SEATS_PER_ROW from the
front: seat 13 with 10 seats a row is "B3". After row Z come AA, AB, ... like
spreadsheet columns.
"""

import re
from collections.abc import Iterable

from django.conf import settings

_LABEL_RE = re.compile(r"^([A-Z]+)([1-9][0-9]*)$")


def row_label(row: int) -> str:
    """Row 0 is "A", row 25 "Z", row 26 "AA"."""
    letters = ""
    row += 1
    while row:
        row, rest = divmod(row - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def seat_label(seat: int) -> str:
    row, number = divmod(seat - 1, settings.BOOKING_SEATS_PER_ROW)
    return f"{row_label(row)}{number + 1}"


def seat_number(label: str) -> int | None:
    """The seat number of a label ("B3" -> 13), or None when the label is not well formed."""
    match = _LABEL_RE.match(label.strip().upper())
    if not match:
        return None
    letters, number = match.group(1), int(match.group(2))
    if number > settings.BOOKING_SEATS_PER_ROW:
        return None
    row = 0
    for letter in letters:
        row = row * 26 + (ord(letter) - ord("A") + 1)
    return (row - 1) * settings.BOOKING_SEATS_PER_ROW + number


def lowest_free(capacity: int, taken: Iterable[int], quantity: int) -> list[int]:
    """The `quantity` lowest seats of 1 .. capacity that are not taken (fewer if there are not enough)."""
    taken = set(taken)
    free = [seat for seat in range(1, capacity + 1) if seat not in taken]
    return free[:quantity]


def free_seats(capacity: int, taken: Iterable[int]) -> list[int]:
    return lowest_free(capacity, taken, capacity)
