"""A browser's Accept header (text/html) still gets the API's errors as JSON (API.md,
"Conventions": "Every error under /api/ is JSON"); its answers that succeed stay the
browsable API's pages, for staff (README.md, "API tokens")."""

import pytest
from django.test import Client

from api.tests.conftest import ADA, make_show

pytestmark = pytest.mark.django_db

# What a browser sends.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HTML = {"HTTP_ACCEPT": BROWSER}


def assert_json(response, status: int) -> dict:
    assert (response.status_code, response["Content-Type"]) == (status, "application/json")
    return response.json()


def test_a_bad_body_is_a_json_400(api_client):
    body = assert_json(api_client.post("/api/tickets", {"name": ""}, format="json", **HTML), 400)

    assert {"name", "phone_number"} <= set(body)


def test_a_bad_token_is_a_json_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-key")

    assert assert_json(api_client.get("/api/shows", **HTML), 401) == {"detail": "Invalid token."}


def test_a_staff_list_asked_without_staff_rights_is_a_json_401_or_403(api_client, user_client):
    assert set(assert_json(api_client.get("/api/tickets", **HTML), 401)) == {"detail"}
    assert set(assert_json(user_client.get("/api/tickets", **HTML), 403)) == {"detail"}


@pytest.mark.parametrize("path", ["/api/nope", "/api/shows/999999", "/api/bookings/NOPE42?phone_number=%2B1"])
def test_an_unknown_url_or_object_is_a_json_404(api_client, path):
    # The body a JSON client gets.
    assert assert_json(api_client.get(path, **HTML), 404) == api_client.get(path).json()


def test_a_method_not_allowed_is_a_json_405(api_client, staff_client):
    assert set(assert_json(api_client.delete("/api/health", **HTML), 405)) == {"detail"}
    assert set(assert_json(staff_client.put("/api/audit", {}, format="json", **HTML), 405)) == {"detail"}


def test_a_sold_out_show_is_a_json_409(api_client, sold_out):
    response = api_client.post("/api/tickets", {**ADA, "show": sold_out.pk}, format="json", **HTML)

    body = assert_json(response, 409)
    assert (body["code"], body["waitlist"]) == ("sold_out", f"/api/shows/{sold_out.pk}/waitlist")


def test_a_throttled_client_gets_a_json_429(api_client, settings):
    settings.THROTTLE_ANON_RATE = "1/min"
    assert api_client.get("/api/shows", **HTML).status_code == 200

    response = api_client.get("/api/shows", **HTML)

    assert set(assert_json(response, 429)) == {"detail"}
    assert response["Retry-After"]


def test_an_unreachable_database_is_a_json_503(api_client, monkeypatch):
    def gone(*args: object, **kwargs: object) -> None:
        from django.db import OperationalError

        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("api.views.catalog.ShowViewSet.list", gone)

    body = assert_json(api_client.get("/api/shows", **HTML), 503)
    assert body["code"] == "unavailable"


def test_staff_errors_are_json_too(staff_client):
    body = assert_json(staff_client.post("/api/films", {"runtime_minutes": 0}, format="json", **HTML), 400)

    assert "title" in body


def test_an_admin_session_gets_json_errors_and_html_pages(staff_user):
    browser = Client()
    browser.force_login(staff_user)

    assert browser.get("/api/shows", headers={"Accept": BROWSER})["Content-Type"].startswith("text/html")
    assert browser.get("/api/shows/999999", headers={"Accept": BROWSER})["Content-Type"] == "application/json"
    assert browser.get("/api/nope", headers={"Accept": BROWSER})["Content-Type"] == "application/json"


def test_a_successful_answer_stays_a_browsable_page(api_client):
    show = make_show()

    response = api_client.get(f"/api/shows/{show.pk}", **HTML)

    assert (response.status_code, response["Content-Type"]) == (200, "text/html; charset=utf-8")


class _PostgresError(Exception):
    """What psycopg's error carries, as Django's wraps it (its __cause__)."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "cause", "busy", "retry_after"),
    [
        ("OperationalError", None, False, "1"),  # the server gone (a failover)
        ("InternalError", "25006", False, "1"),  # a standby not yet promoted
        ("OperationalError", "55P03", True, "3"),  # a lock waited out
    ],
)
def test_a_page_whose_database_is_in_trouble_is_a_503_page_to_try_again(
    client, monkeypatch, error, cause, busy, retry_after
):
    # The home page, the show page's booking, an e-ticket, the admin: Django's "Server Error
    # (500)" in a failover, which tells a customer nothing they can do.
    from django import db

    def trouble(*args: object, **kwargs: object) -> None:
        raised = getattr(db, error)("server closed the connection unexpectedly")
        raised.__cause__ = _PostgresError(cause) if cause else None
        raise raised

    monkeypatch.setattr("api.selectors.shows_with_counts", trouble)
    client.raise_request_exception = False

    response = client.get("/")

    assert (response.status_code, response["Retry-After"]) == (503, retry_after)
    page = response.content.decode()
    assert "Try again in a moment" in page
    assert ("Other requests are still holding" in page) == busy
