"""Middleware of the service's own."""

import logging
from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .errors import LockWaitedOut
from .views.handlers import API_PREFIX, database_trouble

logger = logging.getLogger(__name__)


class NulInQueryRefused:
    """A NUL in a query string is no value of this service's: a 400 (Django's page).

    PostgreSQL refuses a NUL in any text, and the admin's list filters (an audit entry's
    action, a delivery's status, ...) handed it on: a 500. The API's filters refuse it
    field by field, with their own 400s, so its paths are left to them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if ("%00" in query or "\x00" in query) and not request.path.startswith(API_PREFIX):
            raise BadRequest("A NUL character in the query string.")
        return self.get_response(request)


class ApiErrorsAsJson:
    """Every error under /api/ is JSON (API.md, "Conventions"), though a browser's Accept
    header asks for the browsable API's HTML: an answer of 400 or more that DRF is about to
    render (an exception the views' handler answered, a refusal before the view ran, an
    Idempotency-Key's replay, a 503 health check) is rendered by its JSON renderer, the
    body unchanged. Answers that succeed stay the browsable API's pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_template_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if isinstance(response, Response) and response.status_code >= 400 and request.path.startswith(API_PREFIX):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


class DatabaseTroubleAsPage:
    """A page (the show page's booking, an e-ticket, the admin) whose database went away
    mid-request (a failover) or whose lock was waited out is a 503 page that says to try
    again, with Retry-After, as the API's JSON 503s are (api/views/base.py); it was
    Django's "Server Error (500)". The API's own paths are left to its handler."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        trouble = database_trouble(exception)
        if trouble is None or request.path.startswith(API_PREFIX):
            return None
        logger.warning("Database %s: %s", trouble, exception)
        response = render(request, "503.html", {"busy": trouble == "busy"}, status=503)
        # As the API answers them: busy as any Busy error, unavailable at once.
        response["Retry-After"] = str(LockWaitedOut().retry_after if trouble == "busy" else 1)
        return response
