"""Errors of the booking rules, and the API's error shapes (API.md, "Conventions")."""

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(APIException):
    """409: the request clashes with the current state. Shown as {"detail", "code"}."""

    status_code = status.HTTP_409_CONFLICT

    def __init__(self, detail: str, code: str, **extra: Any) -> None:
        super().__init__(detail, code)
        self.code = code
        self.extra = extra


class IdempotencyKeyReused(Conflict):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used with another request body.", "idempotency_key_reused")


def exception_handler(exc: Exception, context: dict) -> Any:
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, Conflict):
        response.data = {"detail": str(exc.detail), "code": exc.code, **exc.extra}
    return response
