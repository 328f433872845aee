import pytest

pytestmark = pytest.mark.django_db


def test_book_then_read_ticket(api_client, show):
    response = api_client.post(
        "/api/tickets", {"name": "Ada Lovelace", "phone_number": "+914155550123", "show": show.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/tickets/{body['id']}"
    assert api_client.get(f"/api/tickets/{body['id']}/").json() == body
