"""Never oversell: many clients booking few shows at the same moment, through the HTTP layer.

One test, run on whatever DATABASE_URL names: PostgreSQL (row locks) and SQLite (its
IMMEDIATE write lock). CI runs it on both. A race hides when load is spread thin, so 40
clients share 5 shows of 20 seats: 300 attempts for 100 seats.
"""

from collections import Counter, defaultdict

import pytest
from rest_framework.test import APIClient

from api.models import Ticket
from api.tests.conftest import all_at_once, make_show

THREADS = 40
SHOWS = 5
CAPACITY = 20
ATTEMPTS = 300
SOLD_OUT = {"detail": "This show has no free seat left for this request.", "code": "sold_out"}
ALL_SEATS = {f"{row}{number}" for row in "AB" for number in range(1, 11)}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rush_of_40_clients_never_oversells():
    shows = [make_show(days=3, hour=10 + i, minute=0, capacity=CAPACITY).pk for i in range(SHOWS)]

    def client(index: int) -> list[tuple[int, int, dict]]:
        # Its own address, so that the per-address throttle doesn't count the others.
        http = APIClient(REMOTE_ADDR=f"10.1.{index}.1")
        answers = []  # (show, status, body)
        # Attempts index, index + 40, ...: 8 for the first 20 clients, 7 for the rest.
        for attempt in range(index, ATTEMPTS, THREADS):
            show = shows[attempt % SHOWS]
            body = {"name": f"Client {index}", "phone_number": f"+9198765{index:05d}", "show": show}
            response = http.post("/api/tickets", body)
            answers.append((show, response.status_code, response.json()))
        return answers

    answers = [answer for client_answers in all_at_once(THREADS, client) for answer in client_answers]
    assert len(answers) == ATTEMPTS
    statuses = Counter(status for _, status, _ in answers)
    assert statuses == {201: SHOWS * CAPACITY, 409: ATTEMPTS - SHOWS * CAPACITY}
    assert all(
        body == {**SOLD_OUT, "waitlist": f"/api/shows/{show}/waitlist"}
        for show, status, body in answers
        if status == 409
    )

    seats_sold = defaultdict(list)
    for show, status, body in answers:
        if status == 201:
            assert body["show"] == show
            seats_sold[show].append(body["seat"])
    for show in shows:
        # Every seat sold exactly once: 20 answers naming 20 distinct seats.
        assert sorted(seats_sold[show]) == sorted(ALL_SEATS)
        assert Ticket.objects.filter(show=show).count() == CAPACITY
    assert Ticket.objects.count() == SHOWS * CAPACITY
    assert Ticket.objects.values("show", "seat").distinct().count() == SHOWS * CAPACITY
