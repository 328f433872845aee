"""The OpenAPI schema's shared parts: the schema class, the error answers of each
operation, the Idempotency-Key and Location headers, and a post-processing hook for the
answers any operation may give."""

import inspect
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import SAFE_METHODS
from rest_framework.viewsets import ViewSetMixin

from .permissions import IsStaffOrReadOnly
from .serializers.common import ConflictSerializer, ErrorSerializer


class BookingAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, told two things it can't see for itself:
    - a read that IsStaffOrReadOnly lets anyone make needs no credentials (the `{}`
      requirement it gives AllowAny and IsAuthenticatedOrReadOnly);
    - a viewset's docstring speaks of the resource, not of each of its operations: it
      describes the list; any other operation only by its own docstring (and summary)."""

    def get_auth(self) -> list[dict]:
        auths = super().get_auth()
        public = self.method in SAFE_METHODS and any(
            isinstance(p, IsStaffOrReadOnly) for p in self.view.get_permissions()
        )
        return auths + [{}] if public and {} not in auths else auths

    def get_description(self) -> str:  # type: ignore[override]
        if not isinstance(self.view, ViewSetMixin):
            return super().get_description()
        action = getattr(self.view, self.view.action or "", None)
        own = get_doc(action) if action is not None else ""
        # The list is the resource's page: it keeps the viewset's own docstring (not a
        # mixin's, which inspect.getdoc would inherit).
        if not own and self.view.action == "list":
            own = inspect.cleandoc(type(self.view).__dict__.get("__doc__") or "")
        return own


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    OpenApiParameter.HEADER,
    description=(
        "1 to 255 printable ASCII characters; a fresh UUID per purchase. A retry with the same key and body "
        "gets the first answer again. A signed-in caller's keys are its own, an anonymous caller's its "
        "address's; a confirm's (a body with a hold) is recognised from any address."
    ),
)

# Every 201 names what it made: the path of the ticket, hold, booking, waiting-list entry,
# show, venue, screen, film, ticket type or webhook.
LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The path of what was made, e.g. /api/tickets/{id}.",
    response=[201],
)

PHONE_PARAMETER = OpenApiParameter(
    "phone_number", OpenApiTypes.STR, description="The booking's phone number (not needed by staff)."
)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error answers of an operation."""
    shapes = {
        400: OpenApiResponse(description="Invalid input: {field: [messages]}."),
        401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
        403: OpenApiResponse(ErrorSerializer, description="Staff only."),
        404: OpenApiResponse(ErrorSerializer, description="Not found."),
        409: OpenApiResponse(ConflictSerializer, description="Conflict with the current state; see code."),
        422: OpenApiResponse(ConflictSerializer, description="Idempotency-Key reused with another body."),
        429: OpenApiResponse(ErrorSerializer, description="Throttled; see Retry-After."),
    }
    return {code: shapes[code] for code in codes}


def document_common_errors(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Schema post-processing hook: the answers DRF can give on any operation of a kind.

    Any request may carry a bad token (401); a write may fail a browser session's CSRF
    check (403); a paginated list answers a page past its end with 404; a request body
    may be too large (413), or come without a Content-Type it can read (415); a 429 says
    when to come back in Retry-After; a show may stay locked by other requests too long,
    or the database be out of reach (503, with a code and Retry-After).
    """

    def error(description: str, shape: str = "Error") -> dict:
        # A fresh dict each time: shared ones would come out as YAML anchors.
        return {
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{shape}"}}},
            "description": description,
        }

    def retry_after() -> dict:
        return {"Retry-After": {"schema": {"type": "integer"}, "required": True, "description": "Seconds to wait."}}

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
                responses.setdefault(
                    "415",
                    error("The request body is not JSON (a form or multipart only from a client with credentials)."),
                )
            if "429" in responses:
                responses["429"]["headers"] = retry_after()
            if "503" not in responses:
                busy_or_down = error(
                    "`code: busy`: the show stayed locked by other requests longer than "
                    "BOOKING_LOCK_TIMEOUT_SECONDS; `code: unavailable`: the database can't be "
                    "reached. Try again after Retry-After.",
                    "Conflict",
                )
                responses["503"] = {**busy_or_down, "headers": retry_after()}
            operation["responses"] = dict(sorted(responses.items()))
    return result
