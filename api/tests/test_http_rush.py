"""The rush over HTTP: 40 clients at once against gunicorn with 4 worker processes.

The locking of api/locking.py and api/services/ is tested in-process elsewhere; this test takes the path
production takes: separate processes, each with its own database connection, behind
one socket. 400 booking attempts at 5 shows of 20 seats must give exactly 100 tickets,
no seat twice, and no 5xx.
"""

import http.client
import json
import threading
from collections import Counter

import pytest

from api.models import Ticket
from api.tests.conftest import make_show, postgres_only
from api.tests.servers import server  # noqa: F401  (the gunicorn fixture)

pytestmark = [pytest.mark.slow, postgres_only, pytest.mark.django_db(transaction=True)]

CLIENTS = 40
ATTEMPTS_PER_CLIENT = 10
SHOWS = 5
CAPACITY = 20


def test_400_attempts_from_40_clients_give_exactly_100_tickets(server):  # noqa: F811
    port, log = server
    shows = [make_show(days=2, hour=10 + i, capacity=CAPACITY) for i in range(SHOWS)]
    barrier = threading.Barrier(CLIENTS)
    answers: list[tuple[int, dict]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        try:
            barrier.wait()
            for attempt in range(ATTEMPTS_PER_CLIENT):
                show = shows[(number + attempt) % SHOWS]
                body = {"name": f"Client {number}", "phone_number": f"+9141555{number:05d}", "show": show.pk}
                connection.request("POST", "/api/tickets", json.dumps(body), {"Content-Type": "application/json"})
                response = connection.getresponse()
                mine.append((response.status, json.loads(response.read())))
        except BaseException as exc:  # reported below: a thread's error must fail the test
            with lock:
                errors.append(exc)
        finally:
            connection.close()
            with lock:
                answers.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: SHOWS * CAPACITY, 409: CLIENTS * ATTEMPTS_PER_CLIENT - SHOWS * CAPACITY}, statuses
    # A client turned away while seats were free would be a 409 seat_taken here.
    assert Counter(body["code"] for status, body in answers if status == 409) == {"sold_out": statuses[409]}
    booked = sorted((body["show"], body["seat"]) for status, body in answers if status == 201)
    assert len(booked) == len(set(booked)), "a seat was sold twice"

    tickets = sorted(Ticket.objects.values_list("show_id", "seat"))
    assert len(tickets) == SHOWS * CAPACITY
    # v2: seats are the labels of the show's screen (the default one: its 20 seats, A1 to B10).
    assert tickets == sorted((show.pk, seat) for show in shows for seat in show.screen.seats.labels())
    assert "Traceback" not in log.read_text()
