"""The kinds of domain error (see api/errors/__init__.py), and the errors of no one domain."""

import math
from typing import Any

from django.conf import settings

__all__ = [
    "DomainError",
    "Invalid",
    "Conflict",
    "Missing",
    "Busy",
    "LockWaitedOut",
    "Limited",
    "RelatedNotFound",
    "IdempotencyKeyInUse",
    "IdempotencyKeyReused",
]


def seats_are(labels: list[str]) -> str:
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
    retry_after: int | None = None  # seconds, where waiting is what the client should do

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


class LockWaitedOut(Busy):
    """A lock waited for past lock_timeout that no service names with an error of its own:
    a sale's outbox behind a webhook endpoint's registration (locking.lock_webhook_endpoints)."""

    message = "Other changes being written still hold what this request needs; try again in a few seconds."


class Limited(DomainError):
    """A client's share used up for now (429): the same request may succeed in
    `retry_after` seconds. A `code` says which share, where the service has several."""

    code: str | None = None

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RelatedNotFound(Invalid):
    """An id in a request's body that names nothing (DRF's message for a related field)."""

    def __init__(self, subject: str, pk: object) -> None:
        super().__init__(f'Invalid pk "{pk}" - object does not exist.', subject=subject)


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still running."
    retry_after = 1  # a sale takes milliseconds; its retry then gets its answer


class IdempotencyKeyReused(DomainError):
    """422: the same Idempotency-Key with another request body."""

    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with another request body."
