"""What the catalog's race tests (test_catalog_races.py, test_catalog_deletes_races.py)
share: one write paused in its transaction, once its rows are written, while another runs;
and a wait until so many backends wait for locks (test_ticket_lock_order.py's deadlocks,
test_commands_races.py)."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from api.models import Film, Screen, Show
from api.services import catalog
from api.tests.conftest import in_thread

FIRST = "first"


def race(first: Callable[[], Any], then: Callable[[], Any], *, pause_in: Any) -> tuple[object, object, bool]:
    """Run `first`, paused in its transaction once it calls `pause_in.record` or
    `.record_many` (its audit entry: its rows are written, not yet committed); run `then`
    meanwhile, then let `first` commit. The two outcomes (what each returned, or the
    exception it raised), and whether `then` waited for `first`."""
    written, go = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}
    originals = {name: getattr(pause_in, name) for name in ("record", "record_many")}

    def pausing(name: str) -> Callable[..., None]:
        def call(**kwargs: Any) -> None:
            originals[name](**kwargs)
            if threading.current_thread().name == FIRST:
                written.set()
                assert go.wait(30)

        return call

    for name in originals:
        setattr(pause_in, name, pausing(name))
    try:
        leader = in_thread(outcomes, "first", first, name=FIRST)
        assert written.wait(30)
        follower = in_thread(outcomes, "then", then)
        follower.join(1)
        waited = follower.is_alive()
        go.set()
        leader.join(30)
        follower.join(30)
    finally:
        for name, original in originals.items():
            setattr(pause_in, name, original)
    return outcomes["first"], outcomes["then"], waited


def show_maker(screen: Screen, film: Film | None = None) -> Callable[[], Show]:
    # The ids read now: a delete sets its instance's pk to None.
    starts_at, screen_id, film_id = timezone.now() + timedelta(days=2), screen.pk, film.pk if film else None
    return lambda: catalog.show_create(
        now=timezone.now(), starts_at=starts_at, screen_id=screen_id, film_id=film_id, title="Late addition"
    )


def wait_until_backends_wait_on_locks(count: int, seconds: float = 10) -> bool:
    """Whether `count` backends of this database wait for a lock, before `seconds` pass."""
    deadline = timezone.now() + timedelta(seconds=seconds)
    with connection.cursor() as cursor:
        while timezone.now() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return True
            threading.Event().wait(0.05)
    return False
