"""The people who wait, and the helpers the waiting-list tests share: joining a list
through the API, and a run of the offer job."""

from io import StringIO

from django.core.management import call_command

from api.tests.conftest import ADA

GRACE = {"name": "Grace Hopper", "phone_number": "+919876543210"}
ALAN = {"name": "Alan Turing", "phone_number": "+919876543211"}
EDSGER = {"name": "Edsger Dijkstra", "phone_number": "+919876543212"}


def join(client, show, person=ADA, party_size=2, **request):
    body = {**person, "party_size": party_size}
    return client.post(f"/api/shows/{show.pk}/waitlist", body, format="json", **request)


def offer_seats() -> str:
    out = StringIO()
    call_command("offer_waitlist_seats", stdout=out)
    return out.getvalue()
