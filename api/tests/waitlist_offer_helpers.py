"""Helpers of the offer job's tests (test_waitlist_offers.py, test_waitlist_purge_and_admin.py):
joining in turn, cancelling seats, reading an entry and its offer."""

from uuid import UUID

from api.models import Hold, Ticket


def offer_of(entry_id: str) -> Hold:
    return Hold.objects.get(waitlist_entry_id=UUID(entry_id))


def entry_of(client, entry_id: str) -> dict:
    response = client.get(f"/api/waitlist/{entry_id}")
    assert response.status_code == 200
    return response.json()


def join(client, show, person, party_size: int, frozen) -> str:
    """Join, one second after the last one (joining order is by the moment)."""
    frozen.shift(1)
    response = client.post(f"/api/shows/{show.pk}/waitlist", {**person, "party_size": party_size}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def cancel(client, show, *seats: str) -> None:
    for ticket in Ticket.objects.filter(show=show, seat__in=seats):
        assert client.delete(f"/api/tickets/{ticket.pk}").status_code == 204
