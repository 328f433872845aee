"""Review (fuzz): bad input that is taken as something else, and API errors that are not
JSON. Each test fails on main as of 2794d72."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


# --- /api/schema/'s errors are YAML ---------------------------------------------------
#
# API.md: "Every error under /api/ is JSON". SpectacularAPIView renders an error with its
# first renderer, OpenAPI YAML: a client whose token went stale gets
# "detail:\n  string: Invalid token.\n  code: authentication_failed\n".


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"authorization": "Token not-a-real-token"}, 401),
        ({"accept": "application/xml"}, 406),
    ],
)
def test_an_error_of_the_schema_is_json(client, headers, status):
    response = client.get("/api/schema/", headers=headers)

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    assert isinstance(response.json()["detail"], str)
