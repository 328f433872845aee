"""The rush, with holds mixed in: many clients on few shows at once, some holding then
confirming, some letting their holds lapse, some booking straight away. Whatever the
interleaving, no show ever has more tickets plus live holds than seats, and no seat is
taken twice (DESIGN.md, "Never oversell")."""

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import Hold, Ticket
from api.tests.conftest import make_show
from api.tests.invariants import invariant_problems

SHOWS = 5
CAPACITY = 20
THREADS = 40
ROUNDS = 4
PERSON = {"name": "Rush Customer", "phone_number": "+914155550123"}

# What a client does in one round, and whether the seats it asks for stay taken.
HOLD_THEN_CONFIRM = "hold then confirm"
HOLD_SEATS_THEN_CONFIRM = "hold named seats then confirm"
HOLD_THEN_RELEASE = "hold then release"
HOLD_THEN_LAPSE = "hold then lapse"
BOOK_DIRECTLY = "book in one step"
TICKET_DIRECTLY = "one ticket"
KINDS = [
    HOLD_THEN_CONFIRM,
    HOLD_SEATS_THEN_CONFIRM,
    HOLD_THEN_RELEASE,
    HOLD_THEN_LAPSE,
    BOOK_DIRECTLY,
    TICKET_DIRECTLY,
]
KEEPS_SEATS = {HOLD_THEN_CONFIRM, HOLD_SEATS_THEN_CONFIRM, BOOK_DIRECTLY, TICKET_DIRECTLY}


@dataclass
class Step:
    show: int  # index into the shows
    kind: str
    seats: list[str] = field(default_factory=list)  # named seats, or empty for a quantity
    quantity: int = 1


def make_plan(seed: int = 2026) -> list[list[Step]]:
    """Each thread's rounds, drawn from a fixed seed so that the demand is known."""
    rng = random.Random(seed)
    labels = [f"{row}{n}" for row in "AB" for n in range(1, 11)]
    plan = []
    for _ in range(THREADS):
        steps = []
        for _ in range(ROUNDS):
            kind = rng.choice(KINDS)
            quantity = 1 if kind == TICKET_DIRECTLY else rng.randint(1, 3)
            seats = sorted(rng.sample(labels, quantity)) if kind == HOLD_SEATS_THEN_CONFIRM else []
            steps.append(Step(show=rng.randrange(SHOWS), kind=kind, seats=seats, quantity=quantity))
        plan.append(steps)
    return plan


@pytest.mark.django_db(transaction=True)
def test_rush_with_holds_never_oversells(settings):
    settings.THROTTLE_ANON_RATE = "100000/min"
    # Threads of one process share one GIL: on a loaded machine the one holding a show's
    # lock can keep it past the production bound (3 s), a 503 busy that separate workers
    # don't meet (test_lock_timeout.py tests the bound). Bounded here too, well above that.
    settings.BOOKING_LOCK_TIMEOUT_SECONDS = 30
    settings.BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = 0  # every client here has the same address
    shows = [make_show(days=2 + n, capacity=CAPACITY) for n in range(SHOWS)]
    show_ids = [show.pk for show in shows]
    plan = make_plan()
    # The plan asks for more lasting seats than each show has, so every show must refuse
    # some requests, whatever the order in which they arrive.
    for index, show_id in enumerate(show_ids):
        wanted = sum(s.quantity for steps in plan for s in steps if s.show == index and s.kind in KEEPS_SEATS)
        assert wanted > CAPACITY, (show_id, wanted)

    barrier = threading.Barrier(THREADS + 1)
    done = threading.Event()
    answers: list[tuple[str, str, int, dict]] = []  # (kind, step, status, body)
    refused_by_show: Counter = Counter()
    samples: list[list[str]] = []
    crashes: list[BaseException] = []

    def record(kind: str, what: str, response, show_index: int) -> dict:
        body = response.json() if response.content else {}
        answers.append((kind, what, response.status_code, body))
        if response.status_code == 409 and body.get("code") in ("sold_out", "seat_taken"):
            refused_by_show[show_index] += 1  # refused for want of seats (not single_seat_gap)
        return body

    def client_run(number: int) -> None:
        client = APIClient(REMOTE_ADDR=f"10.4.{number // 250}.{number % 250 + 1}")
        try:
            barrier.wait()
            for step in plan[number]:
                show_id = show_ids[step.show]
                if step.kind in (BOOK_DIRECTLY, TICKET_DIRECTLY):
                    url = "/api/bookings" if step.kind == BOOK_DIRECTLY else "/api/tickets"
                    data = {"show": show_id, **PERSON}
                    if step.kind == BOOK_DIRECTLY:
                        data["quantity"] = step.quantity
                    record(step.kind, "book", client.post(url, data, format="json"), step.show)
                    continue
                ask = {"seats": step.seats} if step.seats else {"quantity": step.quantity}
                response = client.post("/api/holds", {"show": show_id, **ask}, format="json")
                held = record(step.kind, "hold", response, step.show)
                if response.status_code != 201:
                    continue
                if step.kind == HOLD_THEN_RELEASE:
                    record(step.kind, "release", client.delete(f"/api/holds/{held['id']}"), step.show)
                elif step.kind == HOLD_THEN_LAPSE:
                    # The customer walks away: the hold runs out (its end moved to now, as
                    # the clock would after BOOKING_HOLD_MINUTES).
                    Hold.objects.filter(pk=held["id"]).update(expires_at=timezone.now())
                    record(step.kind, "lapsed", client.get(f"/api/holds/{held['id']}"), step.show)
                else:
                    confirm = client.post("/api/bookings", {"hold": held["id"], **PERSON}, format="json")
                    record(step.kind, "confirm", confirm, step.show)
        except BaseException as exc:  # a crash must fail the test, not vanish with the thread
            crashes.append(exc)
        finally:
            connection.close()

    def sampler() -> None:
        try:
            barrier.wait()
            while not done.is_set():
                samples.append(invariant_problems(show_ids))
        except BaseException as exc:
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client_run, args=(n,)) for n in range(THREADS)]
    watcher = threading.Thread(target=sampler)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()

    assert not crashes, crashes
    assert samples, "the sampler never ran"
    assert [problems for problems in samples if problems] == []
    assert invariant_problems(show_ids) == []

    statuses = Counter((kind, what, status, body.get("code")) for kind, what, status, body in answers)
    allowed = {
        ("hold", 201, None),
        ("hold", 409, "sold_out"),
        ("hold", 409, "seat_taken"),
        # v2's single-seat rule: named seats that would leave a free seat alone between
        # taken ones are refused, a legitimate refusal (the best-available choice never
        # strands one, so only named seats meet it).
        ("hold", 409, "single_seat_gap"),
        # A live hold keeps its seats: confirming it always works.
        ("confirm", 201, None),
        ("release", 204, None),
        ("lapsed", 404, None),
        ("book", 201, None),
        ("book", 409, "sold_out"),
    }
    unexpected = {key: n for key, n in statuses.items() if key[1:] not in allowed}
    assert unexpected == {}, statuses
    # Every show was oversubscribed, so every show refused someone.
    assert sorted(refused_by_show) == list(range(SHOWS)), refused_by_show

    # Every ticket in the database was answered to a client, and only those.
    answered = []
    for _, what, status, body in answers:
        if status == 201 and what in ("confirm", "book"):
            answered.extend([t["id"] for t in body["tickets"]] if "tickets" in body else [body["id"]])
    assert len(answered) == len(set(answered))
    assert set(answered) == set(map(str, Ticket.objects.values_list("pk", flat=True)))
    # No live hold is left but the ones nobody confirmed, released or let lapse: none.
    assert not Hold.objects.live(timezone.now()).exists()
