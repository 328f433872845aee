"""What every view shares: the error answers (the one place where domain errors become
HTTP) and answers kept for a few seconds. Who the client is: api/callers.py."""

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from .. import sharedcache
from ..errors import (
    Busy,
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    Invalid,
    Limited,
    LockWaitedOut,
    Missing,
    SoldOut,
)
from .handlers import database_trouble

logger = logging.getLogger(__name__)


class LocationMixin:
    """A 201 names what it made in its Location header, as a booked ticket's does: the
    item's path (a viewset's `{basename}-detail`)."""

    basename: str
    lookup_field: str

    def get_success_headers(self, data: Any) -> dict[str, str]:
        lookup = data["id"] if self.lookup_field == "pk" else data[self.lookup_field]  # a ticket type's key
        return {"Location": reverse(f"{self.basename}-detail", args=[lookup])}


class NotStored:
    """Answers that name a person or carry a capability (a ticket, a booking, a hold, a
    waiting-list entry, and staff's lists of them, the audit trail's ticket ids and the
    webhook endpoints' URLs among them): no cache may keep them, as none keeps
    the pages that show them (never_cache). Without a Cache-Control, a shared cache (a CDN,
    a proxy's default time to live) could keep a ticket's name and phone and serve them
    after the ticket was changed or cancelled. Answers to GET and HEAD only: no cache
    keeps the answer to a POST, PATCH or DELETE without being told to (RFC 9111), and a
    booking's answer is spared the headers' cost."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if request.method in ("GET", "HEAD"):
            add_never_cache_headers(response)
        return response


def ascii_id(pk: str) -> str:
    """An item's id from its URL, in ASCII digits, else a 404: int() reads "١" (an
    Arabic-Indic one) as 1, which gave an item other URLs (read, changed and deleted
    through them; its seat map's URL answered 404 for the same). Checked here rather than
    by the router's pattern, which the schema would then give as text, not a number."""
    if not pk.isascii() or not pk.isdigit():
        raise NotFound()
    return pk


class ById:
    """A viewset whose items are named by ascii_id."""

    kwargs: dict[str, Any]

    def get_object(self) -> Any:
        ascii_id(str(self.kwargs["pk"]))
        return super().get_object()  # type: ignore[misc]


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this service accepts."
    default_code = "payload_too_large"


def domain_error_response(exc: DomainError, view: Any = None) -> Response:
    """The API's answer to a domain error (API.md, "Conventions").

    An Invalid error is answered on the request field its subject names, or on the field
    the view gives that subject in `error_fields` (POST /api/tickets names its one seat
    "seat", holds and bookings name theirs "seats").
    """
    if isinstance(exc, Invalid):
        field = exc.subject or api_settings.NON_FIELD_ERRORS_KEY
        field = getattr(view, "error_fields", {}).get(field, field)
        return Response({field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Missing):
        return Response({"detail": exc.message}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Conflict):
        body = {"detail": exc.message, "code": exc.code, **exc.extra()}
        if isinstance(exc, SoldOut) and exc.show_id is not None:
            # A sold-out show offers its waiting list (API.md, "Waiting list").
            body["waitlist"] = reverse("show-waitlist", args=[exc.show_id])
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(body, status=status.HTTP_409_CONFLICT, headers=headers)
    if isinstance(exc, IdempotencyKeyReused):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, Limited):
        return Response(
            {"detail": exc.message, **({"code": exc.code} if exc.code else {})},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, Busy):
        return Response(
            {"detail": exc.message, "code": exc.code},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after)},
        )
    raise TypeError(f"No HTTP answer for {type(exc).__name__}") from exc


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return domain_error_response(exc, context.get("view"))
    trouble = database_trouble(exc)
    if trouble == "busy":
        return domain_error_response(LockWaitedOut(), context.get("view"))
    if trouble == "unavailable":
        # The client may retry, with the same Idempotency-Key for a booking.
        logger.warning("Database unavailable: %s", exc)
        return Response(
            {"detail": "The database can't be reached; try again.", "code": "unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with too many form
    # fields) while DRF parses it; left alone, that is Django's HTML 400 page.
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = ParseError(str(exc))
    return drf_exception_handler(exc, context)


# Each worker also keeps the answers it reads from Redis, for the time Redis says they have
# left (by Redis's own clock), and those it makes, for their period: a repeated request is
# then answered without a round trip to Redis, and no copy is older than its period
# (bench/README.md, "2026-12-03, afternoon", has the A/B). A fresh answer (no-cache)
# replaces the worker's copy and Redis's; the other workers finish the period of the copy
# they hold. Answers over NEAR_MAX_BYTES are left to Redis alone: at most 300 answers of
# 64 kB a worker. Without Redis (no REDIS_URL) the cache is the process's memory already,
# and nothing is kept twice.
_near = LocMemCache("kept-answers", {"MAX_ENTRIES": 300})
NEAR_MAX_BYTES = 64 * 1024


def forget_kept_answers() -> None:
    """Empty this worker's copies of kept answers (Redis keeps its own)."""
    _near.clear()


def kept_for(request: Request, seconds: int, answer: Callable[[], Response], *, name: str) -> HttpResponse | Response:
    """answer()'s JSON, or that JSON as kept for at most `seconds` for this URL (host and
    query included: the page links in an answer are absolute), in the shared cache and by
    this worker. Only plain JSON requests are kept, and only after the view's permissions
    and throttles have passed. A request with `Cache-Control: no-cache` gets a fresh
    answer, which is kept for the next ones (the show page asks so after its own writes).
    A shared cache that fails (refused, or timed out) is logged and left alone for a while
    (api/sharedcache.py); meanwhile answers are kept by each worker alone. `name` says
    what is kept (a show search, a staff list, a seat map): each has keys of its own."""
    if seconds <= 0 or request.accepted_media_type != "application/json":
        return answer()
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    key = f"{name.replace(' ', '-')}:{url}"
    directives = {d.strip().lower() for d in request.headers.get("Cache-Control", "").split(",")}
    fresh = "no-cache" in directives
    shared = caches[DEFAULT_CACHE_ALIAS]
    redis = isinstance(shared, sharedcache.RedisCache)
    if not fresh:
        kept = _near.get(key) if redis else None
        if kept is None:
            kept = _shared(shared, key, seconds, name)
        if kept is not None:
            return HttpResponse(kept, content_type="application/json")
    response = answer()  # an invalid filter raises: a 400, not kept
    body = JSONRenderer().render(response.data, "application/json")
    # A fresh answer replaces the kept one; an answer read meanwhile from the database
    # never replaces one kept since (it may be older than a fresh one).
    if redis and len(body) <= NEAR_MAX_BYTES:
        (_near.set if fresh else _near.add)(key, body, seconds)
    elif redis and fresh:
        _near.delete(key)  # too large to keep here: no older copy stays in its place
    if sharedcache.cache_usable():
        try:
            (shared.set if fresh else shared.add)(key, body, seconds)
        except sharedcache.CacheFailure as exc:
            sharedcache.cache_failed(exc, f"keeping a {name}")
    # The JSON just rendered, as the next requests get it, rather than rendered again by DRF.
    fresh_answer = HttpResponse(body, status=response.status_code, content_type="application/json")
    for header, value in response.items():
        if header.lower() != "content-type":  # a Response's is a placeholder until rendered
            fresh_answer[header] = value
    return fresh_answer


def _shared(shared: BaseCache, key: str, seconds: int, name: str) -> bytes | None:
    """The answer the shared cache keeps under key (from Redis, then kept by this worker too
    for the time Redis gives it); None when there is none, or the cache can't be read."""
    if not sharedcache.cache_usable():
        return None
    try:
        if not isinstance(shared, sharedcache.RedisCache):
            return shared.get(key)
        kept, left = shared.get_with_expiry(key)
    except sharedcache.CacheFailure as exc:
        sharedcache.cache_failed(exc, f"reading a {name}")
        return None
    if not isinstance(kept, bytes):  # none, or not an answer this code kept
        return None
    if left is not None and len(kept) <= NEAR_MAX_BYTES:
        _near.add(key, kept, min(left, seconds))
    return kept
