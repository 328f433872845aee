"""The body parsers: DRF's JSON one with a bound on nesting, and its form parsers for
clients that sign in.

Python reads JSON recursively: a body of a few kilobytes of brackets ("[[[[...") runs out
of stack while it is parsed (a RecursionError, which DRF would leave as a 500), or, just
short of that, later in whatever walks the value (hashing it for an Idempotency-Key,
validating it). No request of this API nests deeper than a seat map (5 levels): deeper is
a 400 before anything reads it.

A form body (urlencoded or multipart) is what another site can make a visitor's browser
send without asking: a plain HTML form, no CORS preflight. DRF checks a signed-in
session's CSRF token, and a token must be sent as a header, but an anonymous request has
neither: from another site it would hold and book seats as the visitor's address, past the
per-client caps that address keeps. API.md has "JSON in": a form body is parsed only from a
request that signed in (a token, or a session signed in, whose cookie Django sends only
from this site's own pages: SameSite=Lax), and anonymous ones get a 415 that says to send
JSON. Staff keep the browsable API's forms.
"""

import io
from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType

MAX_DEPTH = 32


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), without
    recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if depth(data) > MAX_DEPTH:
            raise _too_deep()
        return data


def _too_deep() -> ParseError:
    # Made when raised: an APIException translates its message as it is made.
    return ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")


def _signed_in(request: Any) -> bool:
    """Whether the request signed in: a valid token, or a session signed in. Not merely an
    Authorization header or a cookie: a browser sends the Basic credentials of a site
    behind HTTP auth on its own, and a session cookie of any visit."""
    if hasattr(request, "_user"):  # DRF has authenticated it (APIView.initial, before the view)
        return bool(request.user.is_authenticated)
    # Still authenticating: SessionAuthentication reads the body for its CSRF check (a form's
    # csrfmiddlewaretoken), for a session whose user Django's middleware has signed in.
    # (Asking request.user here would start that check again, without end.)
    user = getattr(getattr(request, "_request", None), "user", None)
    return bool(user is not None and user.is_authenticated)


def _refuse_anonymous(media_type: str | None, parser_context: Mapping[str, Any] | None) -> None:
    request = (parser_context or {}).get("request")
    if request is None or _signed_in(request):
        return
    raise UnsupportedMediaType(
        media_type or "",
        detail="Send the body as JSON (Content-Type: application/json): a form is taken only from a client "
        "that signs in.",
    )


class _WithCredentials(parsers.BaseParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        _refuse_anonymous(media_type, parser_context)
        return super().parse(stream, media_type, parser_context)


class FormParser(_WithCredentials, parsers.FormParser):
    pass


class MultiPartParser(parsers.MultiPartParser):
    """Read from the request's body, not its stream: Django holds a body to
    DATA_UPLOAD_MAX_MEMORY_SIZE (a Content-Length past it refused unread, and no more read
    than the limit and a byte), where its multipart parser counts a form's fields alone. A
    2 MB file part, which no view reads, was read whole and answered 201; now it is the
    413 of any body over the limit (RequestDataTooBig, api/views/base.py)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        _refuse_anonymous(media_type, parser_context)  # before the body is read
        body = (parser_context or {})["request"].body
        return super().parse(io.BytesIO(body), media_type, parser_context)
