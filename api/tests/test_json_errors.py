"""One JSON error path for everything under /api/ (API.md, "Conventions"): input that once
gave an HTML 500 is a JSON 4xx naming what is wrong, Django's own refusals (a bad Host)
and unexpected errors are JSON under /api/, and the HTML pages keep their HTML errors.

The clients here answer as a server would (raise_request_exception=False): a 500 is the
page a client sees, not an exception in the test.
"""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse

from api.models import Screen, Ticket, Venue
from api.tests.conftest import ADA, make_show, screen_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def assert_json(response, status: int, body: dict) -> None:
    assert (response.status_code, response["Content-Type"], response.json()) == (status, "application/json", body)


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/tickets", "/api/holds", "/api/bookings"])
@pytest.mark.parametrize("levels", [990, 30_000, 33])
def test_deeply_nested_json_is_a_400(client, path, levels):
    body = '{"name": ' + "[" * levels + "]" * levels + "}"

    response = client.post(path, body, content_type="application/json", headers={"Idempotency-Key": "deep"})

    assert_json(response, 400, {"detail": "JSON parse error - nested deeper than 32 levels."})


def test_json_nested_as_deep_as_allowed_is_read(client):
    body = '{"name": ' + "[" * 31 + "]" * 31 + "}"

    response = client.post("/api/tickets", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["name"] == ["Not a valid string."]


@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_nul_in_a_booking_reference_is_a_json_404(client, method):
    response = getattr(client, method)("/api/bookings/%00?phone_number=%2B914155550123")

    assert_json(response, 404, {"detail": "Not found."})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/ticket-types/a%00b"),
        ("put", "/api/ticket-types/a%00"),
        ("delete", "/api/ticket-types/a%00"),
        ("delete", "/api/shows/{show}/blocks/A%001"),
    ],
)
def test_a_nul_in_a_ticket_types_key_or_a_seats_label_is_a_json_404(staff_client, method, path):
    # PostgreSQL refuses a NUL in text: these reached it, a 500.
    show = make_show()

    response = getattr(staff_client, method)(path.format(show=show.pk), {}, format="json")

    assert_json(response, 404, {"detail": "Not found."})


def test_a_booking_reference_in_any_case_is_still_found(client):
    client.post("/api/bookings", {**ADA, "show": make_show().pk, "quantity": 1}, content_type="application/json")
    reference = Ticket.objects.get().booking.reference

    response = client.get(f"/api/bookings/{reference.lower()}", {"phone_number": ADA["phone_number"]})

    assert response.status_code == 200


@pytest.mark.parametrize("parameter", ["date", "date_after", "date_before"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_show_search_past_the_calendar_is_a_400_on_its_field(client, settings, parameter, day):
    settings.TIME_ZONE = "Asia/Tokyo"  # east of UTC: 0001-01-01 begins in year 0 in UTC

    response = client.get("/api/shows", {parameter: day})

    assert_json(response, 400, {parameter: ["This date is out of range."]})


@pytest.mark.parametrize(
    ("path", "parameter"), [(p, q) for p in ("/api/shows", "/api/tickets") for q in ("date", "date_after")]
)
def test_a_search_past_the_calendar_in_a_venues_zone_is_a_400(client, staff_client, path, parameter):
    # TIME_ZONE is UTC, where 0001-01-01 is searchable; in Tokyo, where a venue is, that day
    # begins in year 0 in UTC. Its search was a 500.
    Venue.objects.create(name="Tokyo", time_zone="Asia/Tokyo")
    staff_client.raise_request_exception = False

    response = staff_client.get(path, {parameter: "0001-01-01"})

    assert_json(response, 400, {parameter: ["This date is out of range."]})


def test_a_venue_saved_in_a_new_zone_during_a_search_is_not_searched_unchecked(staff_client, monkeypatch):
    # The zones are read once a request: the date is checked in the zones the filters
    # search. Read twice, a Tokyo venue saved in between reached the filter unchecked.
    reads = iter([["UTC"], ["Asia/Tokyo", "UTC"]])
    monkeypatch.setattr(type(Venue.objects), "time_zones", lambda self: next(reads, ["Asia/Tokyo", "UTC"]))
    staff_client.raise_request_exception = False

    response = staff_client.get("/api/tickets", {"date_after": "0001-01-01"})

    assert response.status_code == 200


def test_the_staff_list_past_the_calendar_is_a_400(client, staff_client):
    response = staff_client.get("/api/tickets", {"date": "9999-12-31"})

    assert response.status_code == 400
    assert response.json() == {"date": ["This date is out of range."]}


def test_the_calendars_last_searchable_day_is_searched(client):
    assert_json(
        client.get("/api/shows", {"date": "9999-12-30"}),
        200,
        {"count": 0, "next": None, "previous": None, "results": []},
    )


def in_new_york() -> None:
    """The default venue, whose zone reads a date and time booked without a venue, in New York."""
    venue = Screen.objects.default().venue
    venue.time_zone = "America/New_York"
    venue.save()


@pytest.mark.parametrize("path", ["/api/tickets", "/api/holds", "/api/bookings"])
def test_a_show_time_past_the_calendar_is_a_400_on_date(client, path):
    # v2: a date and time are read in the venue's zone (the default venue's here), no longer
    # in settings.TIME_ZONE: 9999-12-31 23:00 in New York is year 10000 in UTC.
    in_new_york()

    body: dict[str, object] = {**ADA, "date": "9999-12-31", "time": "23:00"}
    if path != "/api/tickets":  # a ticket is one seat: a quantity is refused there
        body["quantity"] = 1
    response = client.post(path, body, content_type="application/json")

    assert_json(response, 400, {"date": ["This date is out of range."]})


@pytest.mark.parametrize(
    ("zone", "day", "at"), [("America/New_York", "9999-12-31", "23:00"), ("Asia/Tokyo", "0001-01-01", "01:00")]
)
def test_a_show_scheduled_past_the_calendar_in_its_venues_zone_is_a_400_on_date(staff_client, zone, day, at):
    # Inside the calendar where the venue is, outside it in UTC, where it is stored: a 500.
    screen = screen_of(10, venue=Venue.objects.create(name="Far away", time_zone=zone))
    staff_client.raise_request_exception = False

    response = staff_client.post("/api/shows", {"screen": screen.pk, "date": day, "time": at}, format="json")

    assert_json(response, 400, {"date": ["This date is out of range."]})


@pytest.mark.parametrize("when", [{"starts_at": "9999-12-31T23:00:00Z"}, {"date": "9999-12-31", "time": "22:00"}])
def test_a_show_whose_end_leaves_the_calendar_is_a_400_on_starts_at(staff_client, when):
    # Its start is in the calendar; its end (runtime and cleaning after it) is not: a 500.
    staff_client.raise_request_exception = False
    film = staff_client.post("/api/films", {"title": "Long", "runtime_minutes": 150}, format="json").json()

    response = staff_client.post("/api/shows", {**when, "film": film["id"]}, format="json")

    assert_json(response, 400, {"starts_at": ["This show would end after the calendar does (year 9999)."]})


def test_a_show_ending_past_the_calendar_in_its_venues_zone_is_a_400_not_a_500_when_read(staff_client):
    # It ends on the calendar's last evening in UTC, after midnight in Istanbul: it was saved,
    # and every answer that tells its end in the venue's time was a 500.
    staff_client.raise_request_exception = False
    screen = screen_of(10, venue=Venue.objects.create(name="Far east", time_zone="Europe/Istanbul"))
    film = staff_client.post("/api/films", {"title": "Long", "runtime_minutes": 150}, format="json").json()

    body = {"screen": screen.pk, "film": film["id"], "date": "9999-12-31", "time": "22:00"}
    response = staff_client.post("/api/shows", body, format="json")

    assert_json(response, 400, {"starts_at": ["This show would end after the calendar does (year 9999)."]})


def test_a_show_time_on_the_calendars_last_evening_is_read(client, settings):
    in_new_york()  # 18:00 there is 23:00 in UTC: still 9999
    settings.BOOKING_OPEN_TIMINGS = False

    body = {**ADA, "date": "9999-12-31", "time": "18:00"}
    response = client.post("/api/tickets", body, content_type="application/json")

    assert_json(response, 400, {"time": ["No show is scheduled at this date and time."]})


# --- the schema and its docs ------------------------------------------------------------
# Their answers are YAML or JSON (the schema) and HTML (the docs); their errors were
# rendered by the same renderers: YAML ("detail:\n  string: ...\n  code: ...") and text.


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
@pytest.mark.parametrize(
    ("method", "headers", "status", "body"),
    [
        ("get", {"accept": "application/xml"}, 406, {"detail": "Could not satisfy the request Accept header."}),
        ("post", {}, 405, {"detail": 'Method "POST" not allowed.'}),
    ],
)
def test_an_error_of_the_schema_or_its_docs_is_json(client, path, method, headers, status, body):
    assert_json(getattr(client, method)(path, headers=headers), status, body)


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_options_of_the_schema_or_its_docs_is_drfs_json_answer(client, path):
    # The docs' page renders its one template only: OPTIONS, DRF's description of the view,
    # was rendered through it with no template, a 500 (TemplateDoesNotExist); the schema's
    # came back as YAML.
    response = client.options(path)

    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert set(response.json()) >= {"name", "renders", "parses"}


def test_the_schema_past_the_throttle_is_a_json_429(client, settings):
    settings.THROTTLE_ANON_RATE = "1/min"
    assert client.get("/api/schema/").status_code == 200

    response = client.get("/api/schema/")

    assert (response.status_code, response["Content-Type"]) == (429, "application/json")
    assert response.json()["detail"].startswith("Request was throttled.")


# --- what Django answers itself -----------------------------------------------------------


def test_a_host_outside_allowed_hosts_is_a_json_400_under_api(client):
    response = client.get("/api/shows", headers={"host": "evil.example"})

    assert_json(response, 400, {"detail": "Invalid Host header."})


def test_a_host_outside_allowed_hosts_is_an_html_400_on_pages(client):
    response = client.get("/", headers={"host": "evil.example"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_unexpected_error_under_api_is_a_json_500(client, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.views.ops.cache_status", broken)

    assert_json(client.get("/api/health"), 500, {"detail": "A server error occurred."})


def test_an_unexpected_error_on_a_page_is_html(client, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.pages.selectors.shows_with_counts", broken)

    response = client.get("/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_page_keeps_its_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def _list_filter_params(model_admin) -> list[str]:
    """The query parameters of an admin list's filters (`action__exact`, `status`, ...)."""
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    changelist = model_admin.get_changelist_instance(request)
    return sorted({param for spec in changelist.filter_specs for param in spec.expected_parameters()})


@pytest.mark.parametrize("model", sorted(admin.site._registry, key=str))
def test_a_nul_in_any_admin_lists_query_is_a_400_page(client, model):
    """PostgreSQL refuses a NUL in text: the audit trail's, the deliveries' and the waiting
    list's filters handed one on, a 500."""
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.com", password=None))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    for param in [*_list_filter_params(admin.site._registry[model]), "q"]:
        response = client.get(f"{url}?{param}=a%00b")

        assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8"), param
