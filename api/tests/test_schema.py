"""The OpenAPI schema is committed (schema.yml): an API change is always a reviewed change."""

import difflib

import pytest
import yaml
from django.conf import settings
from drf_spectacular.validation import validate_schema

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
    ],
)
def test_catalog_changes_refused_while_shows_use_them_document_their_409(served, path, method):
    """test_catalog_changes.py: these writes answer 409 in_use (or seat_in_use); a client
    built from the schema must expect it."""
    responses = yaml.safe_load(served)["paths"][path][method]["responses"]

    assert "409" in responses
    assert responses["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Conflict"}
