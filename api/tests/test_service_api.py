"""The Service part of API.md (health, schema, docs) and the conventions every endpoint shares:
JSON 404 for unknown URLs, throttling of anonymous clients."""

from unittest import mock

import pytest
import time_machine
import yaml
from django.db import OperationalError

pytestmark = pytest.mark.django_db

# Every path of API.md, as the schema names it, with its methods.
API_PATHS = {
    "/api/venues/": {"get", "post"},
    "/api/venues/{id}/": {"get", "put", "patch", "delete"},
    "/api/screens/": {"get", "post"},
    "/api/screens/{id}/": {"get", "put", "patch", "delete"},
    "/api/seat-map-schema/": {"get"},  # the JSON Schema of a seat map, which the service publishes
    "/api/films/": {"get", "post"},
    "/api/films/{id}/": {"get", "put", "patch", "delete"},
    "/api/shows/": {"get", "post"},
    "/api/shows/{id}/": {"get", "put", "patch", "delete"},
    "/api/shows/{id}/seats/": {"get"},
    "/api/shows/{id}/blocks/": {"post"},
    "/api/shows/{id}/blocks/{seat}/": {"delete"},
    "/api/tickets/": {"get", "post"},
    "/api/tickets/{id}/": {"get", "put", "patch", "delete"},
    "/api/tickets/{id}/check-in/": {"post", "delete"},
    "/api/holds/": {"post"},
    "/api/holds/{id}/": {"get", "delete"},
    "/api/bookings/": {"post"},
    "/api/bookings/{reference}/": {"get", "delete"},
    "/api/ticket-types/": {"get", "post"},  # v2: ticket types and prices
    "/api/ticket-types/{key}/": {"get", "put", "patch", "delete"},
    "/api/webhooks/": {"get", "post"},  # v2: webhooks
    "/api/webhooks/{id}/": {"get", "put", "patch", "delete"},
    "/api/webhooks/{id}/deliveries/": {"get"},
    "/api/webhooks/{id}/deliveries/{delivery}/retry/": {"post"},
    "/api/audit/": {"get"},  # v2: the audit trail
    "/api/shows/{id}/waitlist/": {"get", "post"},  # v2: waiting lists
    "/api/waitlist/{id}/": {"get", "delete"},
    "/api/health/": {"get"},
}
THROTTLED = {"detail": "Request was throttled. Expected available in 60 seconds."}


# --- GET /api/health -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/health", "/api/health/"])
def test_health_ok(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


@pytest.mark.parametrize("path", ["/api/health", "/api/health/"])
def test_health_answers_plain_http_behind_https(api_client, settings, path):
    """SECURE_HTTPS redirects plain HTTP to https://: the front's health check, plain HTTP
    from the proxy itself, got a 301 that it does not take for alive, and took every app
    host out of rotation. The rest still redirects."""
    settings.SECURE_SSL_REDIRECT = True

    assert api_client.get(path).status_code == 200
    assert api_client.get("/api/shows").status_code == 301


def test_health_is_503_when_the_database_is_unavailable(api_client):
    with mock.patch("api.views.ops.connection") as connection:
        connection.cursor.side_effect = OperationalError("could not connect to server")
        response = api_client.get("/api/health")

    assert connection.cursor.called
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "cache": "ok"}


def test_health_is_not_throttled(api_client, settings):
    settings.THROTTLE_ANON_RATE = "2/min"

    statuses = {api_client.get("/api/health").status_code for _ in range(5)}

    assert statuses == {200}


# --- GET /api/schema/ and /api/docs/ -----------------------------------------------------


def test_schema_is_an_openapi_3_document_with_every_path(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Movie theatre booking API"
    assert {path: set(operations) for path, operations in schema["paths"].items()} == API_PATHS


def test_schema_as_json(api_client):
    response = api_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert set(response.json()["paths"]) == set(API_PATHS)


def test_schema_documents_the_filters(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    def parameters(path: str) -> set[str]:
        return {p["name"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}

    assert parameters("/api/shows/") == {
        "date",
        "time",
        "date_after",
        "date_before",
        "title",
        "seats",
        "expired",
        "venue",
        "screen",
        "film",
        "page",
        "page_size",
    }
    assert {
        "date", "time", "show", "venue", "screen", "expired", "checked_in", "phone_number", "search", "ordering"
    } <= parameters("/api/tickets/")  # fmt: skip


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs"])
def test_docs_is_swagger_ui_on_the_schema(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page
    assert 'url: "/api/schema"' in page
    # Swagger UI's files come from the service (drf-spectacular-sidecar), never a CDN.
    assert '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js">' in page
    assert "https://" not in page


# --- unknown URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/tickets/x/y/z", "/api/", "/api/shows/1/check-in"])
def test_unknown_api_url_is_a_json_404(api_client, method, path):
    response = getattr(api_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


# --- throttling ----------------------------------------------------------------------------


def test_anonymous_clients_are_throttled_with_retry_after(api_client, settings):
    settings.THROTTLE_ANON_RATE = "3/min"

    # Time stands still, so that the wait is the whole minute however slow the machine.
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False):
        allowed = [api_client.get("/api/shows").status_code for _ in range(3)]
        refused = api_client.post("/api/tickets", {"name": "Ada", "phone_number": "+914155550123", "show": 1})

    assert allowed == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == THROTTLED
    assert refused["Retry-After"] == "60"


def test_anonymous_clients_are_counted_per_address(api_client, settings):
    settings.THROTTLE_ANON_RATE = "3/min"
    for _ in range(3):
        api_client.get("/api/shows", REMOTE_ADDR="10.0.0.1")

    assert api_client.get("/api/shows", REMOTE_ADDR="10.0.0.1").status_code == 429
    assert api_client.get("/api/shows", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_staff_are_not_throttled(staff_client, settings):
    settings.THROTTLE_ANON_RATE = "3/min"

    statuses = [staff_client.get("/api/tickets").status_code for _ in range(10)]

    assert statuses == [200] * 10


def test_a_write_sent_to_a_server_in_recovery_is_a_503(api_client, show, monkeypatch):
    """During a failover the first requests may reach a standby still being promoted: its
    'read-only transaction' error is the same clean 503 as a lost connection."""
    import psycopg
    from django.db import InternalError

    from api.services import sales

    def read_only(**kwargs):
        cause = psycopg.errors.ReadOnlySqlTransaction("cannot execute SELECT FOR UPDATE in a read-only transaction")
        raise InternalError(str(cause)) from cause

    monkeypatch.setattr(sales, "ticket_book", read_only)

    response = api_client.post("/api/tickets", {"name": "Ada", "phone_number": "+914155550123", "show": show.pk})

    assert response.status_code == 503
    assert response.json() == {"detail": "The database can't be reached; try again.", "code": "unavailable"}
    assert response["Retry-After"] == "1"
