"""The OpenAPI schema is committed (schema.yml): an API change is always a reviewed change."""

import difflib
from datetime import timedelta

import pytest
import yaml
from django.conf import settings
from drf_spectacular.validation import validate_schema

from api.seatmaps import grid

pytestmark = pytest.mark.django_db

SCHEMA_FILE = settings.BASE_DIR / "schema.yml"
REGENERATE = "DEBUG=true .venv/bin/python manage.py spectacular --file schema.yml --validate"


@pytest.fixture
def served(api_client) -> str:
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    return response.content.decode()


def test_served_schema_is_the_committed_one(served):
    committed = SCHEMA_FILE.read_text()
    if yaml.safe_load(served) != yaml.safe_load(committed):
        diff = difflib.unified_diff(
            committed.splitlines(), served.splitlines(), "schema.yml (committed)", "/api/schema/ (served)", lineterm=""
        )
        pytest.fail(
            "The API schema the service serves differs from the committed schema.yml.\n"
            "If the change is intended, keep ../shared/API.md in step, then regenerate the file with\n"
            f"    {REGENERATE}\n"
            "and commit it with the change. The difference:\n" + "\n".join(list(diff)[:300]),
            pytrace=False,
        )


def test_committed_schema_is_valid_openapi():
    validate_schema(yaml.safe_load(SCHEMA_FILE.read_text()))


def test_schema_and_docs_are_public(api_client):
    assert api_client.get("/api/schema/?format=json").json()["info"]["title"] == "Movie theatre booking API"
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_a_bad_token_on_the_schema_and_docs_is_a_json_401(client, path):
    # API.md: a bad token is always 401; and every error under /api/ is JSON (it was YAML).
    response = client.get(path, headers={"authorization": "Token not-a-real-token"})

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "Invalid token."


def test_every_operation_documents_the_errors_any_request_can_meet(served):
    """401 for a bad token anywhere, 413 for an oversized body, Retry-After on 429."""
    operations = [
        (method, path, operation)
        for path, item in yaml.safe_load(served)["paths"].items()
        for method, operation in item.items()
    ]
    # Version 1's 21, and version 2's 37: venues, screens and films (6 each), a show's
    # seats, its blocks (add, remove) and the seat map's JSON Schema; ticket types (6);
    # webhooks (6), their deliveries and a delivery's retry; the audit trail; a show's
    # waiting list (join, staff read) and an entry (read, leave).
    assert len(operations) == 62
    for method, path, operation in operations:
        responses = operation["responses"]
        assert "401" in responses, (method, path)
        assert ("413" in responses) == ("requestBody" in operation), (method, path)
        if "429" in responses:
            assert responses["429"]["headers"]["Retry-After"]["required"] is True, (method, path)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/venues/{id}/", "put"),  # a venue with shows keeps its time zone and currency
        ("/api/venues/{id}/", "patch"),
        ("/api/screens/{id}/", "put"),  # a screen with shows stays at its venue; a map keeps seats in use
        ("/api/screens/{id}/", "patch"),
        ("/api/tickets/{id}/", "delete"),  # a ticket checked in: 409 already_checked_in
        ("/api/bookings/{reference}/", "delete"),  # the same, for a ticket of the booking
    ],
)
def test_writes_the_state_refuses_document_their_409(served, path, method):
    """test_catalog_changes.py: these writes answer 409 in_use (or seat_in_use); a client
    built from the schema must expect it."""
    responses = yaml.safe_load(served)["paths"][path][method]["responses"]

    assert "409" in responses
    assert responses["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Conflict"}


def test_public_reads_need_no_credentials_and_writes_do(served):
    """The catalog is read by anyone (IsStaffOrReadOnly): a generated client must not
    ask for a token to search shows."""
    paths = yaml.safe_load(served)["paths"]
    for collection in ("venues", "screens", "films", "ticket-types", "shows"):
        items = [path for path in paths if path.startswith(f"/api/{collection}/{{") and path.count("/") == 4]
        for path in [f"/api/{collection}/", *items]:
            assert {} in paths[path]["get"]["security"], path
        assert {} not in paths[f"/api/{collection}/"]["post"]["security"], collection
    assert {} not in paths["/api/webhooks/"]["get"]["security"]


def test_an_operation_is_described_by_its_own_words(served):
    """A viewset's docstring describes its list, not every operation of it: a booking's
    POST was described as "found by its reference", a film's GET as a refused DELETE."""
    operations = yaml.safe_load(served)["paths"]
    assert "description" not in operations["/api/bookings/"]["post"]
    assert "description" not in operations["/api/films/{id}/"]["get"]
    assert "409 in_use" in operations["/api/ticket-types/"]["get"]["description"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/venues", {"name": "Riverside", "time_zone": "Europe/Paris", "currency": "EUR", "country": "FR"}),
        ("/api/films", {"title": "Arrival", "runtime_minutes": 116}),
        ("/api/ticket-types", {"key": "student", "name": "Student"}),
        ("/api/webhooks", {"url": "http://127.0.0.1:9/hooks", "events": ["booking.created"]}),
    ],
)
def test_every_201_names_what_it_made_in_location(served, staff_client, settings, path, body):
    """Every answer 201 documents a Location header (what a ticket's always sent), and
    the staff creates send it too: the item's path, which then reads the thing."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the endpoint is never called here
    collection = f"{path}/"
    operation = yaml.safe_load(served)["paths"][collection]["post"]
    assert operation["responses"]["201"]["headers"]["Location"]["required"] is True

    response = staff_client.post(path, body, format="json")

    assert response.status_code == 201, response.content
    made = response.json()
    assert response["Location"] == f"{path}/{made['key'] if 'key' in made else made['id']}"
    assert staff_client.get(response["Location"]).status_code == 200


def test_a_show_and_a_screen_made_say_where(staff_client, show):
    screen = staff_client.post(
        "/api/screens", {"venue": show.screen.venue_id, "name": "Two", "seat_map": grid(1, 4)}, format="json"
    )
    assert screen.status_code == 201, screen.content
    assert screen["Location"] == f"/api/screens/{screen.json()['id']}"
    starts_at = (show.starts_at + timedelta(days=1)).isoformat()
    made = staff_client.post(
        "/api/shows", {"screen": screen.json()["id"], "title": "Preview", "starts_at": starts_at}, format="json"
    )
    assert made.status_code == 201, made.content
    assert made["Location"] == f"/api/shows/{made.json()['id']}"


def test_the_error_shapes_name_every_field_an_answer_may_carry(served):
    """A strict client rejected fields the schema didn't list: a sold_out's waiting list, a
    single_seat_gap's seat, a seat_in_use's seats, a 429's code."""
    shapes = yaml.safe_load(served)["components"]["schemas"]
    assert set(shapes["Conflict"]["properties"]) == {"detail", "code", "checked_in_at", "seat", "seats", "waitlist"}
    assert set(shapes["Error"]["properties"]) == {"detail", "code"}
