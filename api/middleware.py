"""Middleware of the service's own."""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse

from .views.handlers import API_PREFIX


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
