"""Idempotency-Key on POST /api/tickets, /api/holds and /api/bookings: hash, claim, replay.

A retry with the same key and body gets the first answer again, byte for byte, and creates nothing; the
same key with another body is a 422; a retry while the first is still running, a 409.
The key is claimed in the same transaction as what the request makes, so a key is stored
if and only if its booking is.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .callers import idempotency_scope
from .errors import IdempotencyKeyInUse, IdempotencyKeyReused
from .locking import try_key_lock
from .models import IdempotencyKey

HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict
    location: str = ""


def request_hash(request: Request) -> str:
    """The method, the path (without its optional trailing slash) and the body."""
    data = request.data
    # A form's repeated field (seats=A1&seats=A2) is every one of its values, as the
    # request's fields read it; a QueryDict alone would give the last.
    if isinstance(data, QueryDict):
        data = dict(data.lists())
    body = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path.rstrip('/')}\n{body}".encode()).hexdigest()


def once(
    *, scope: str, key: str, request_hash: str, action: Callable[[], StoredResponse], now: datetime
) -> StoredResponse:
    """Run action once per (scope, key); a retry gets the first answer again."""
    with transaction.atomic():
        # While the first request runs, a lock on the key turns a concurrent retry away.
        if not try_key_lock(f"{scope}\n{key}"):
            raise IdempotencyKeyInUse()
        kept_since = now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
        stored = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if stored is not None and stored.created_at > kept_since:
            if stored.request_hash != request_hash:
                raise IdempotencyKeyReused()
            return StoredResponse(stored.status_code, json.loads(stored.body), stored.location)
        if stored is not None:  # older than 24 hours and not purged yet: forgotten
            stored.delete()
        response = action()
        IdempotencyKey.objects.create(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=response.status_code,
            body=json.dumps(response.body),
            location=response.location,
        )
        return response


def respond(request: Request, *, now: datetime, make: Callable[[], StoredResponse], hold: object = None) -> Response:
    """Answer a POST once per Idempotency-Key (when the request has one); replay that answer on retries.

    `make` reads the request's body itself (validates it), after the key: a retry gets the
    first answer though what the body names was deleted since (a 400 for a body read first).
    `hold`: a confirm's hold id, as its body gives it: the key is that hold's (callers.idempotency_scope)."""
    key = request.headers.get(HEADER)
    if key is None:
        stored = make()
    else:
        # ASCII: a header's bytes are read as Latin-1, so a UTF-8 key was taken or refused
        # by which bytes it happened to have.
        if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
            raise ValidationError({HEADER: ["Use 1 to 255 printable ASCII characters."]})
        scope = idempotency_scope(request, hold=hold)
        stored = once(scope=scope, key=key, request_hash=request_hash(request), action=make, now=now)
    headers = {"Location": stored.location} if stored.location else None
    return Response(stored.body, status=stored.status_code, headers=headers)
