"""The waiting list's whole flow over HTTP against gunicorn, with the offer job run as cron
runs it (a process of its own): sold out, join, a cancellation, the job, the offer
confirmed, the entry booked."""

import http.client
import json
import subprocess
import sys

import pytest
from django.conf import settings

from api.tests.conftest import make_show, postgres_only, screen_of
from api.tests.servers import production_env, server  # noqa: F401  (server: the gunicorn fixture)

pytestmark = [pytest.mark.slow, postgres_only, pytest.mark.django_db(transaction=True)]

ADA = {"name": "Ada Lovelace", "phone_number": "+914155550123"}
GRACE = {"name": "Grace Hopper", "phone_number": "+919876543210"}


def call(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body) if body is not None else None
        connection.request(method, path, payload, {"Content-Type": "application/json"})
        response = connection.getresponse()
        text = response.read()
        return response.status, json.loads(text) if text else {}
    finally:
        connection.close()


def run_the_job() -> str:
    """manage.py offer_waitlist_seats in a process of its own, on the test database."""
    environment = production_env()
    done = subprocess.run(
        [sys.executable, "manage.py", "offer_waitlist_seats"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


def test_sold_out_join_cancel_offer_confirm_booked(server):  # noqa: F811
    port, log = server
    show = make_show(capacity=4, screen=screen_of(4))

    status, ada = call(port, "POST", "/api/bookings", {"show": show.pk, "quantity": 4, **ADA})
    assert status == 201
    status, refused = call(port, "POST", "/api/tickets", {"show": show.pk, **GRACE})
    assert (status, refused) == (
        409,
        {
            "detail": "This show has no free seat left for this request.",
            "code": "sold_out",
            "waitlist": f"/api/shows/{show.pk}/waitlist",
        },
    )

    status, entry = call(port, "POST", refused["waitlist"], {**GRACE, "party_size": 2})
    assert (status, entry["status"], entry["position"]) == (201, "waiting", 1)
    # Joining again: the place, without the entry's id (a phone number is no secret).
    assert call(port, "POST", refused["waitlist"], {**GRACE, "party_size": 2}) == (
        200,
        {k: v for k, v in entry.items() if k != "id"},
    )
    assert run_the_job() == "Made 0 offers of 0 seats; 0 lapsed offers expired.\n"

    phone = ADA["phone_number"].replace("+", "%2B")
    assert call(port, "DELETE", f"/api/bookings/{ada['reference']}?phone_number={phone}")[0] == 204
    out = run_the_job()
    assert out.startswith(f"Offered A1, A2 at show {show.pk} to waiting-list entry {entry['id']} until ")
    assert out.endswith("\nMade 1 offers of 2 seats; 0 lapsed offers expired.\n")

    status, offered = call(port, "GET", f"/api/waitlist/{entry['id']}")
    assert (status, offered["status"], offered["offer"]["seats"]) == (200, "offered", ["A1", "A2"])
    status, booking = call(port, "POST", "/api/bookings", {"hold": offered["offer"]["hold"], **GRACE})
    assert status == 201, booking
    assert [ticket["seat"] for ticket in booking["tickets"]] == ["A1", "A2"]

    assert call(port, "GET", f"/api/waitlist/{entry['id']}") == (
        200,
        {"id": entry["id"], "show": show.pk, "party_size": 2, "status": "booked", "booking": booking["reference"]},
    )
    assert call(port, "GET", f"/api/shows/{show.pk}/waitlist")[0] == 401  # staff only
    assert "Traceback" not in log.read_text()
