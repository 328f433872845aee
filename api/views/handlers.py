"""Django's own error answers (booking/urls.py's handler400, 403, 404 and 500): JSON under
/api/, Django's HTML pages everywhere else.

They answer what happens outside DRF's views, where api/views/base.py can't: a request
Django refuses before any view runs (a Host outside ALLOWED_HOSTS is a 400), and an error
no handler expected (a 500). With DEBUG on, Django shows its debug pages instead. And
database_trouble: what a database error tells a client, for the API's handler
(api/views/base.py) and the pages' (api/middleware.py).
"""

from typing import Literal

from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from ..locking import LOCK_NOT_AVAILABLE

API_PREFIX = "/api/"
# SQLSTATE of a write sent to a server in recovery (a standby not yet promoted).
READ_ONLY_SQL_TRANSACTION = "25006"


def database_trouble(exc: Exception) -> Literal["busy", "unavailable"] | None:
    """What a database error says to the client, who may retry: "busy", a lock waited for
    past the transaction's lock_timeout (set with the show's lock); "unavailable", the
    database gone mid-request (a restart, a failover) or a server still becoming the
    primary; None, neither."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if isinstance(exc, OperationalError) and sqlstate == LOCK_NOT_AVAILABLE:
        return "busy"
    if isinstance(exc, OperationalError | InterfaceError):
        return "unavailable"
    if isinstance(exc, DatabaseError) and sqlstate == READ_ONLY_SQL_TRANSACTION:
        return "unavailable"
    return None


def _for_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_api(request):
        # Never the Host itself, nor the configuration hint in Django's message.
        detail = "Invalid Host header." if isinstance(exception, DisallowedHost) else "Bad request."
        return JsonResponse({"detail": detail}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_api(request):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _for_api(request):
        return JsonResponse({"detail": "A server error occurred."}, status=500)
    return defaults.server_error(request)
