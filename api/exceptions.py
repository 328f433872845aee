"""Errors of the booking rules, and the API's error shapes (API.md, "Conventions")."""

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
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


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this service accepts."
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict) -> Any:
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with too many form
    # fields) while DRF parses it; left alone, that is Django's HTML 400 page.
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = ParseError(str(exc))
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, Conflict):
        response.data = {"detail": str(exc.detail), "code": exc.code, **exc.extra}
    return response


def document_common_errors(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Schema post-processing hook: the answers DRF can give on any operation of a kind.

    Any request may carry a bad token (401); a write may fail a browser session's CSRF
    check (403); a paginated list answers a page past its end with 404; a request body
    may be too large (413); a 429 says when to come back in Retry-After.
    """

    def error(description: str) -> dict:
        # A fresh dict each time: shared ones would come out as YAML anchors.
        return {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            "description": description,
        }

    for path in result["paths"].values():
        for method, operation in path.items():
            responses = operation["responses"]
            responses.setdefault("401", error("Bad credentials."))
            if method in ("post", "put", "patch", "delete"):
                responses.setdefault("403", error("A logged-in browser session sent no CSRF token."))
            if any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
                responses.setdefault("404", error("No such page."))
            if "requestBody" in operation:
                responses.setdefault("413", error("The request body is too large."))
            if "429" in responses:
                responses["429"]["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "required": True, "description": "Seconds to wait."}
                }
            operation["responses"] = dict(sorted(responses.items()))
    return result
