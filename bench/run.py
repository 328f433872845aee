"""`make bench`: load the service under gunicorn on PostgreSQL and print a table of figures.

What it does, in about four minutes (then the purge benchmark):

1. creates a fresh database (booking_bench on 127.0.0.1, user postgres), migrates it and
   seeds it, in a subprocess with the app's own code (bench/README.md has the whole
   seed): 400 shows to book and 400 to hold on 300-seat halls with prices (version 2),
   1,500 shows of 20 seats for the sell-out rush, a door list of 200 tickets, 50,000 past
   customers, a staff user and token, and 40 shows for pgbench;
2. starts gunicorn (gunicorn.conf.py, DEBUG off) and loads it with wrk from a second
   process, 32 connections, for each scenario (bench/*.lua);
3. times the raw PostgreSQL booking transaction with pgbench (bench/pgbench_booking.sql)
   just before booking (a) and again just after it: this VM's speed drifts by a quarter
   from one minute to the next, and the yardstick must be read when (a) is;
4. prints a markdown table: requests per second, p50 and p99 latency, errors (non-2xx
   answers other than the expected 409s, and socket errors), 409s; and the booking
   throughput as a share of pgbench's;
5. runs the purge benchmark, bench/purge.py, when it is there (--skip-purge skips it;
   it takes two to four minutes more, most of it filling its own database).

With --compare REF it is a same-run A/B instead (about 7 minutes, no purge): the app at
REF (checked out with `git worktree add --detach` into a temporary directory, removed
afterwards) against this working tree's app (or --new REF's). Each version seeds a
database of its own with its own code and is served by a gunicorn of its own (with its
own gunicorn.conf.py, the same number of workers); the scenarios then run on one server
at a time, old, new, old, new, ... (--pairs pairs of each), with pgbench on each
version's database before and after. It prints the medians of each side, the new/old
ratio and every run.

Everything runs on this one machine: wrk, gunicorn and PostgreSQL share its cores, so the
figures are those of the whole box, and other load on it shows in them.
"""

import argparse
import importlib
import json
import os
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

import psycopg

# The caller's environment, before this script sets the bench server's in it.
CALLER_ENV = dict(os.environ)
ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent

SCENARIOS = {
    "a": ("(a) book a ticket, 40 shows", "booking.lua"),
    "b": ("(b) sell-out rush, 20-seat shows", "rush.lua"),
    "c": ("(c) show search of a day", "search.lua"),
    "d": ("(d) staff ticket list, 50 rows", "tickets.lua"),
    "e": ("(e) hold, then confirm", "hold_confirm.lua"),
    "f": ("(c) again, search cache off", "search.lua"),
    # Several wrk at once on the same server (MIXES): the staff list read while people book
    # and the door checks tickets in at the listed show.
    "g": ("(g) (d) beside bookings and check-ins: the lists", "tickets.lua"),
    # The same at the door of a busy evening: many staff devices, fewer bookings (MIXES).
    "j": ("(j) (d) at a busy door, bookings and check-ins beside: the lists", "tickets.lua"),
    # Version 2 only: GET /api/shows/{id}/seats of the 300-seat shows that (a) books.
    "h": ("(h) seat map of a 300-seat show", "seatmap.lua"),
    # A premiere: every customer opens the same show's map (one of (e)'s, half sold).
    "i": ("(i) seat map at a premiere: one show", "seatmap.lua"),
}
# (g) and (j): each part's scenario key, script and share of --connections (one wrk thread
# each). Every connection sends its next request as soon as it has its answer, so each
# gets about the same number of answers: in (g) the lists (half the connections) get
# their turn with the bookings, as fast as both go. In (j) the door's devices (30 of 32)
# reload the list beside one connection booking and one checking in: the bookings come at
# whatever rate that leaves them, reported. (Pacing a connection with wrk's delay() would
# hold a sync worker: wrk connects first and waits before it sends, and a worker waits
# for the request; in production the front buffers a request before it reaches gunicorn.)
MIXES = {
    "g": [("g", "tickets.lua", 1 / 2), ("g.a", "booking.lua", 3 / 8), ("g.checkin", "checkin.lua", 1 / 8)],
    "j": [("j", "tickets.lua", 30 / 32), ("j.a", "booking.lua", 1 / 32), ("j.checkin", "checkin.lua", 1 / 32)],
}
TITLES = {
    **{key: title for key, (title, _) in SCENARIOS.items()},
    "g.a": "(g) (d) beside bookings and check-ins: the bookings",
    "g.checkin": "(g) (d) beside bookings and check-ins: the check-ins",
    "j.a": "(j) (d) at a busy door, bookings and check-ins beside: the bookings",
    "j.checkin": "(j) (d) at a busy door, bookings and check-ins beside: the check-ins",
}
# Scenarios served with other settings than the rest: the server is restarted for them.
# (h) reads a map of any of 400 shows from the database (its cache off), (i) one show's, kept.
SERVER_SETTINGS = {"f": {"SHOW_SEARCH_CACHE_SECONDS": "0"}, "h": {"SEAT_MAP_CACHE_SECONDS": "0"}}
RUSH_CAPACITY = 20
PAST_CUSTOMERS = 50_000  # people who booked before (the seed)
DEFAULT_PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DEFAULT_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
# The app's files: what differs between two versions of the service.
APP_PATHS = ["api", "booking", "templates", "gunicorn.conf.py", "requirements.txt"]

EPILOG = """\
same-run A/B: `bench/run.py --compare 0b5b423` serves the app at 0b5b423 and this working
tree's app side by side (each from its own checkout, database and gunicorn) and runs the
scenarios (default acdg) on them in turn, old, new, old, new, ...; --pairs sets how many
pairs. --new HEAD measures a clean checkout of HEAD instead of the working tree, --new DIR
another checkout as it is (a change to try). See bench/README.md.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=12, help="seconds per scenario (default 12)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections and pgbench clients")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="gunicorn workers (default: one a core, best measured with PostgreSQL on the same box)",
    )
    parser.add_argument("--worker-class", help="gunicorn worker class, sync or gthread (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="threads per gthread worker")
    parser.add_argument("--conn-max-age", default="600", help="CONN_MAX_AGE of the server (default 600)")
    parser.add_argument(
        "--scenarios", help="which scenarios to run, e.g. ac (default abcdefhigj; with --compare, acdg)"
    )
    parser.add_argument("--skip-pgbench", action="store_true", help="don't time the raw PostgreSQL transaction")
    parser.add_argument("--skip-purge", action="store_true", help="don't run bench/purge.py")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database(s) afterwards")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server")
    parser.add_argument(
        "--db", default="booking_bench", help="database to create (dropped first); with --compare, <db>_old and _new"
    )
    parser.add_argument(
        "--redis",
        default=DEFAULT_REDIS,
        help="REDIS_URL for the throttle counters, as in production; '' for per-process memory",
    )
    ab = parser.add_argument_group("same-run A/B")
    ab.add_argument("--compare", metavar="REF", help="A/B against the app at this commit (the old side)")
    ab.add_argument(
        "--new", metavar="REF|DIR", help="the new side: a commit, or a checkout to serve as it is (default: this tree)"
    )
    ab.add_argument("--pairs", type=int, default=4, help="old/new pairs of each scenario (default 4)")
    ab.add_argument(
        "--redis-old",
        default=os.environ.get("BENCH_REDIS_OLD_URL", "redis://127.0.0.1:6379/14"),
        help="the old side's REDIS_URL: its kept searches and lists apart from the new side's",
    )
    # Internal: seed the database of DATABASE_URL with the app found in this directory.
    parser.add_argument("--seed", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenarios is None:
        args.scenarios = "acdg" if args.compare else "abcdefhigj"
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {''.join(sorted(unknown))}; choose from {''.join(SCENARIOS)}")
    return args


def server_arguments(parser: argparse.ArgumentParser, *, duration: int, db: str) -> None:
    """The load's and the server's options, for the scripts beside this one (sqlite.py, spy.py)."""
    parser.add_argument("--duration", type=int, default=duration, help=f"seconds of load a run (default {duration})")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn sync workers a server (default: the cores)"
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL server (default {DEFAULT_PG})")
    parser.add_argument("--db", default=db, help=f"the PostgreSQL database, dropped and created (default {db})")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="Redis for the throttle counters")
    # What this script's helpers read from its own options, at its defaults.
    parser.set_defaults(worker_class=None, threads=None, conn_max_age="600")


def fail(message: str) -> NoReturn:
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(2)


def check_tools() -> None:
    if shutil.which("wrk") is None:
        fail("wrk is missing. Install it: apt-get install wrk (Debian/Ubuntu) or brew install wrk.")
    if shutil.which("pgbench") is None:
        fail("pgbench is missing. It comes with PostgreSQL: apt-get install postgresql (Debian 12).")


def redis_reachable(url: str) -> bool:
    match = re.match(r"redis://([^:/]+)(?::(\d+))?", url)
    if not match:
        return False
    try:
        with socket.create_connection((match.group(1), int(match.group(2) or 6379)), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def create_database(pg: str, name: str) -> None:
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def analyze(pg: str, name: str) -> None:
    """Fresh planner statistics, as autovacuum keeps them on a live database.

    Without this the tables' statistics are those of the seed: after pgbench's tens of
    thousands of tickets the planner still thinks a show has a few, picks sequential
    scans for the per-show counts of the search, and the figures measure that mistake.
    """
    with psycopg.connect(f"{pg}/{name}", autocommit=True) as conn:
        conn.execute("ANALYZE")


def settle(pg: str, name: str) -> None:
    """After pgbench's burst of inserts: vacuum, statistics and a checkpoint now, so that
    autovacuum and the checkpointer do not run in the middle of the next scenario."""
    with psycopg.connect(f"{pg}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def drop_database(pg: str, name: str) -> None:
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_environment(args: argparse.Namespace, database_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="booking.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # The load comes from one address: the throttle is set out of the way, and the
        # clients' addresses come in X-Forwarded-For as from one load balancer.
        THROTTLE_ANON_RATE="100000000/min",
        BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR="0",
        NUM_PROXIES="1",
        CONN_MAX_AGE=str(args.conn_max_age),
        LOG_LEVEL="WARNING",
        REDIS_URL=redis_url if redis_url and redis_reachable(redis_url) else "",
    )
    env.pop("PYTHONPATH", None)  # the app comes from the directory the server runs in
    env["WEB_CONCURRENCY"] = str(args.workers)
    if args.worker_class:
        env["GUNICORN_WORKER_CLASS"] = args.worker_class
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return env


def seed(env: dict[str, str], root: Path) -> dict:
    """Migrate and seed the database of env's DATABASE_URL with the app in root, in a
    subprocess: two versions' `api` packages can't share one interpreter."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--seed", str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith("SEED_JSON "):
            return json.loads(line.removeprefix("SEED_JSON "))
    print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    fail(f"seeding with the app in {root} failed; its output is above.")


def _bench_screens() -> dict:
    """Version 2's screens for the bench: ten 300-seat halls as a multiplex has them (15
    rows of 20 with two aisles, the back five rows premium, two wheelchair spaces with
    companion seats in front) and a 20-seat room for the sell-out rush."""
    from api.models import Screen

    venue = Screen.objects.default().venue
    rows = []
    for index in range(15):
        seats, x = [], 1
        for number in range(1, 21):
            if number in (5, 17):
                x += 1  # the aisles
            seat = {"number": number, "x": x, "category": "premium" if index >= 10 else "standard"}
            if index == 0 and number in (1, 20):
                seat["kind"] = "wheelchair"
            elif index == 0 and number in (2, 19):
                seat["kind"] = "companion"
            seats.append(seat)
            x += 1
        rows.append({"label": chr(ord("A") + index), "seats": seats})
    halls = [Screen(venue=venue, name=f"Bench hall {n}", seat_map={"rows": rows}) for n in range(1, 11)]
    for hall in halls:
        hall.save()
    room = Screen(venue=venue, name="Bench rush room", seat_map={"grid": {"rows": 2, "seats_per_row": 10}})
    room.save()
    return {"hall": halls, "rush": [room], "default": [Screen.objects.default()]}


def _bench_prices(show_ids: list[int]) -> None:
    """Adult, child and senior prices in both categories at every show that (a), (c) and (e) use."""
    from api.models import ShowPrice, TicketType

    TicketType.objects.default()
    amounts = {"adult": (11, 14), "child": (7, 9), "senior": (8, 10)}
    types = {t.key: t for t in TicketType.objects.filter(key__in=amounts)}
    ShowPrice.objects.bulk_create(
        ShowPrice(show_id=show, ticket_type=types[key], category=category, amount=Decimal(amount))
        for show in show_ids
        for key, pair in amounts.items()
        for category, amount in zip(("standard", "premium"), pair, strict=True)
    )


def _half_sell(show_ids: list[int]) -> None:
    """Version 2's (e) holds at shows half sold already, as a popular evening is: half of
    each show's seats booked by parties of one to four at random places in random rows (a
    fixed seed: every run and both sides of an A/B sell the same seats)."""
    import random

    from api.models import Booking, Customer, Show, Ticket

    rng = random.Random(18)
    house = Customer.objects.create(name="Bench House", phone_number="+919800000002")
    shows = list(Show.objects.filter(pk__in=show_ids).select_related("screen").order_by("pk"))
    # Digits 0 and 1 are not in the references' alphabet: these never meet a drawn one.
    bookings = Booking.objects.bulk_create(Booking(reference=f"H{i:05d}", customer=house) for i in range(len(shows)))
    columns = {"holder": house} if hasattr(Ticket, "holder") else {}
    if hasattr(Ticket, "ticket_type"):  # the default type, which issue 18's first commits did not fill in
        columns["ticket_type"] = Ticket._meta.get_field("ticket_type").related_model.objects.default()
    tickets = []
    for show, booking in zip(shows, bookings, strict=True):
        labels = show.screen.seats.labels()
        order = {label: index for index, label in enumerate(labels)}
        rows = [[seat.label for seat in row.seats] for row in show.screen.seats.rows]
        sold: set[str] = set()
        while len(sold) < len(labels) // 2:
            row, size = rng.choice(rows), rng.randint(1, 4)
            start = rng.randrange(len(row))
            sold.update(row[start : start + size])
        tickets += [
            Ticket(booking=booking, show=show, seat=label, seat_order=order[label], **columns) for label in sorted(sold)
        ]
    Ticket.objects.bulk_create(tickets, batch_size=5_000)


def migrate_and_seed(root: Path) -> dict:
    """Migrate and seed the bench database with the app in root; return what the scripts need."""
    os.chdir(root)
    sys.path.insert(0, str(root))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    import api.models
    from api.models import Booking, Customer, Show, Ticket

    # Where each version keeps the reference's alphabet: sale_rows.py (since 2026-12-06),
    # sales.py (the rebuild), or the one api/services.py before it (0b5b423).
    for where in ("api.services.sale_rows", "api.services.sales", "api.services"):
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError:  # not in this version (0b5b423's api.services is no package)
            continue
        if hasattr(module, "REFERENCE_ALPHABET"):
            REFERENCE_ALPHABET, REFERENCE_LENGTH = module.REFERENCE_ALPHABET, module.REFERENCE_LENGTH
            break

    call_command("migrate", verbosity=0, interactive=False)
    today = timezone.localdate()

    def at(days: int, minutes: int) -> datetime:
        day = today + timedelta(days=days)
        return timezone.make_aware(datetime(day.year, day.month, day.day)) + timedelta(minutes=minutes)

    version_2 = hasattr(api.models, "Screen")  # venues, screens with seat maps, prices
    if version_2:
        screens = _bench_screens()

    def shows(prefix: str, moments: list[datetime], capacity: int, screen: str = "default") -> list[int]:
        if not version_2:
            made = Show.objects.bulk_create(
                [Show(title=f"{prefix} {i + 1}", starts_at=m, capacity=capacity) for i, m in enumerate(moments)]
            )
            return [show.pk for show in made]
        # Version 2: on the bench's screens (the halls in turn), as open timings do, occupying
        # no time (so that no two overlap), as many seats as the screen has.
        halls = screens[screen]
        made = Show.objects.bulk_create(
            [
                Show(
                    title=f"{prefix} {i + 1}",
                    screen=halls[i % len(halls)],
                    starts_at=m,
                    ends_at=m,
                    busy_until=m,
                    capacity=halls[i % len(halls)].capacity,
                )
                for i, m in enumerate(moments)
            ]
        )
        return [show.pk for show in made]

    # Ten shows a day, 10:00 to 21:15: the search's day has ten shows to list.
    day_of = [(day, 600 + 75 * slot) for day in range(2, 6) for slot in range(10)]
    spread = shows("Bench spread", [at(d, m) for d, m in day_of], 10_000, "hall")
    # (a) and (e) book and hold among 400 shows: on version 2's 300-seat halls, 120,000
    # seats, which a run of several pairs of 30 s can't sell out.
    many = [(day, 600 + 30 * slot) for day in range(50, 60) for slot in range(40)]
    booking = shows("Bench booking", [at(d, m) for d, m in many], 10_000, "hall")
    holds = shows("Bench holds", [at(d + 10, m) for d, m in many], 10_000, "hall")
    pgbench = shows("Bench pgbench", [at(d + 20, m) for d, m in day_of], 10_000)
    rush = shows("Bench rush", [at(40, 10 * i) for i in range(1500)], RUSH_CAPACITY, "rush")
    assert pgbench == list(range(pgbench[0], pgbench[0] + len(pgbench))), "pgbench shows need consecutive ids"
    priced = hasattr(api.models, "ShowPrice")  # issue 18 on (an A/B may serve version 2 before it)
    if version_2:
        if priced:
            _bench_prices(booking + holds + spread)
        _half_sell(holds)

    # The door list: 200 tickets of 200 people at one show.
    # An hour from now: its doors are open (version 2 admits a ticket from 90 minutes
    # before the start), so (g)'s check-ins are admitted, not refused as too early.
    door_at = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=1)
    (door_id,) = shows("Bench door list", [door_at], 200, "hall")
    door = Show.objects.get(pk=door_id)
    people = Customer.objects.bulk_create(
        [Customer(name=f"Door Guest {i:03d}", phone_number=f"+9197{i:08d}") for i in range(200)]
    )
    references: set[str] = set()
    while len(references) < 200:
        references.add("".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)))
    bookings = Booking.objects.bulk_create(
        [Booking(reference=ref, customer=person) for ref, person in zip(sorted(references), people, strict=True)]
    )
    if version_2:
        labels = door.screen.seats.labels()
        typed = {"ticket_type": api.models.TicketType.objects.default()} if priced else {}
        holder = (lambda b: {"holder": b.customer, **typed}) if hasattr(Ticket, "holder") else (lambda b: typed)
        door_tickets = Ticket.objects.bulk_create(
            [Ticket(booking=b, show=door, seat=labels[i], seat_order=i, **holder(b)) for i, b in enumerate(bookings)]
        )
    else:
        door_tickets = Ticket.objects.bulk_create(
            [Ticket(booking=booking, show=door, seat=i + 1) for i, booking in enumerate(bookings)]
        )
    # The theatre's past customers: a booking's foreign keys to its person are checked
    # against a table of thousands, as on a theatre's database. With the seed's 200 people
    # alone, PostgreSQL planned those checks as a scan of the whole (then tiny) table, and
    # kept the plan while (a) added thousands: 120 µs a check, two a booking, where an
    # index look-up takes a few (bench/README.md).
    Customer.objects.bulk_create(
        [Customer(name=f"Past Customer {i:05d}", phone_number=f"+9196{i:08d}") for i in range(PAST_CUSTOMERS)],
        batch_size=5_000,
    )
    pgbench_customer = Customer.objects.create(name="Pgbench Customer", phone_number="+919800000001")
    pgbench_defines = {"customer": pgbench_customer.pk}
    if version_2:
        # Version 2's yardstick inserts tickets alone (issue 23): into one booking of its own.
        pgbench_booking = Booking.objects.create(reference="PGBNCH", customer=pgbench_customer)
        pgbench_defines = {
            "customer": pgbench_customer.pk,
            "booking": pgbench_booking.pk,
            "ticket_type": api.models.TicketType.objects.default().pk if priced else None,
        }

    staff = get_user_model().objects.create_user("bench-staff", password=secrets.token_urlsafe(), is_staff=True)
    token = Token.objects.create(user=staff).key
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE SEQUENCE bench_reference")  # booking references of pgbench
            cursor.execute("VACUUM ANALYZE")  # fresh statistics for the bulk-loaded rows
        else:  # bench/sqlite.py: SQLite's planner statistics
            cursor.execute("ANALYZE")
    local_door = timezone.localtime(door_at)
    version = getattr(connection, "pg_version", 0)  # 0 on SQLite (bench/sqlite.py)
    postgres_version = f"{version // 10000}.{version % 100}" if version else ""
    seeded = {
        "spread": spread,
        "booking": booking,
        "pgbench_script": "pgbench_booking_v2.sql" if version_2 else "pgbench_booking.sql",
        "pgbench_defines": pgbench_defines,
        "holds": holds,
        "rush": rush,
        "pgbench": pgbench,
        "pgbench_customer": pgbench_customer.pk,
        "search_date": (today + timedelta(days=2)).isoformat(),
        "door_date": local_door.date().isoformat(),
        "door_time": local_door.strftime("%H:%M"),
        "door_tickets": [str(ticket.pk) for ticket in door_tickets],
        "token": token,
        "postgres": postgres_version,
    }
    connections.close_all()
    return seeded


def rush_check(pg: str, db: str, rush: list[int]) -> dict:
    """After the rush: every show sold exactly its 20 seats, or fewer if the run ended on it."""
    with psycopg.connect(f"{pg}/{db}") as conn:
        counts = [
            n
            for (n,) in conn.execute(
                "SELECT count(*) FROM api_ticket WHERE show_id = ANY(%s) GROUP BY show_id ORDER BY show_id", [rush]
            )
        ]
    return {
        "shows": len(counts),
        "sold_out": sum(1 for n in counts if n == RUSH_CAPACITY),
        "oversold": sum(1 for n in counts if n > RUSH_CAPACITY),
        # The last shows of the run may still have had seats when wrk stopped.
        "short": sum(1 for n in counts[:-4] if n < RUSH_CAPACITY),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, log: Path, root: Path = ROOT) -> subprocess.Popen:
    """gunicorn with root's gunicorn.conf.py (one of the app's files: an A/B of a change to
    it measures the change), else this tree's, serving the app in root."""
    config = root / "gunicorn.conf.py"
    command = [
        str(BIN / "gunicorn"),
        "-c",
        str(config if config.exists() else ROOT / "gunicorn.conf.py"),
        "--chdir",
        str(root),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    with log.open("w") as output:  # the child keeps its own copy of the file
        # A session of its own, so that stop_server can kill the workers with the master.
        server = subprocess.Popen(
            [*command, "booking.wsgi"],
            cwd=root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as answer:
                    if answer.status == 200:
                        return server
            except OSError:
                time.sleep(0.3)
    except BaseException:  # interrupted while waiting: no server left behind
        stop_server(server)
        raise
    print(log.read_text()[-3000:], file=sys.stderr)
    stop_server(server)
    fail("gunicorn did not come up; its log is above.")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()  # gunicorn's master stops its workers on SIGTERM
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the master and its workers
        server.wait()


def start_wrk(
    args: argparse.Namespace,
    port: int,
    script: str,
    duration: int,
    env: dict[str, str],
    connections: int | None = None,
    threads: int | None = None,
) -> subprocess.Popen:
    threads = threads or args.wrk_threads
    connections = max(threads, args.connections if connections is None else connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / script),
        f"http://127.0.0.1:{port}",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(wrk: subprocess.Popen, script: str) -> dict:
    stdout, stderr = wrk.communicate()
    if stderr.strip():
        print(stderr.strip(), file=sys.stderr)
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    print(stdout, stderr, file=sys.stderr)
    fail(f"wrk {script} gave no summary")


def run_wrk(args: argparse.Namespace, port: int, script: str, duration: int, env: dict[str, str]) -> dict:
    return finish_wrk(start_wrk(args, port, script, duration, env), script)


def run_scenario(
    args: argparse.Namespace, key: str, port: int, envs: dict[str, dict[str, str]], server: subprocess.Popen, db: str
) -> dict[str, dict]:
    """One scenario's figures, by scenario key; (g) and (j) give one entry for each of their
    parts.

    Each entry also has cpu_ms: the CPU time the server's workers and their PostgreSQL
    backends spent, per request answered (for (g) and (j), per request of all their parts).
    Other work on a shared machine lowers req/s far more than it raises this.
    """
    before = server_cpu_split(args.pg, db, server.pid)
    if key not in MIXES:
        script = SCENARIOS[key][1]
        results = {key: summarise(run_wrk(args, port, script, args.duration, envs[key]))}
    else:
        running = [
            (
                part,
                script,
                start_wrk(args, port, script, args.duration, envs[part], max(1, round(args.connections * share)), 1),
            )
            for part, script, share in MIXES[key]
        ]
        results = {part: summarise(finish_wrk(wrk, script)) for part, script, wrk in running}
    after = server_cpu_split(args.pg, db, server.pid)
    workers, backends = (
        sum(seconds - was.get(pid, 0.0) for pid, seconds in now.items()) for was, now in zip(before, after, strict=True)
    )
    answered = max(sum(r["requests"] for r in results.values()), 1)
    for r in results.values():
        r["cpu_ms"] = (workers + backends) / answered * 1000
        r["db_cpu_ms"] = backends / answered * 1000
    return results


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system) of a process so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(master: int) -> list[int]:
    """The processes whose parent is `master`: gunicorn's workers."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def server_cpu_split(pg: str, db: str, master: int) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds so far of gunicorn's workers (the master's children), and of db's backends."""
    with psycopg.connect(f"{pg}/{db}", autocommit=True) as conn:
        query = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"  # not an autovacuum worker
        )
        backends = [pid for (pid,) in conn.execute(query)]
    return {pid: process_cpu(pid) for pid in children(master)}, {pid: process_cpu(pid) for pid in backends}


def server_cpu(pg: str, db: str, master: int) -> dict[int, float]:
    """CPU seconds so far of gunicorn's workers and of db's backends, together."""
    workers, backends = server_cpu_split(pg, db, master)
    return workers | backends


def warm_up(args: argparse.Namespace, port: int, envs: dict[str, dict[str, str]]) -> None:
    """Every worker opens its connection and loads its code paths."""
    for warm in "cda":
        run_wrk(args, port, SCENARIOS[warm][1], 2 if warm == "c" else 1, envs[warm])


def wrk_environments(seeded: dict, connections: int, wrk_threads: int) -> dict[str, dict[str, str]]:
    wrk_env = dict(CALLER_ENV, BENCH_DIR=str(BENCH), BENCH_TOKEN=seeded["token"])
    envs = {
        "a": dict(wrk_env, BENCH_SHOWS=",".join(map(str, seeded["booking"]))),
        "b": dict(
            wrk_env,
            BENCH_SHOWS=",".join(map(str, seeded["rush"])),
            # Each show meets `connections` requests in all: 20 sales, the rest sold out.
            BENCH_PER_SHOW=str(max(1, connections // wrk_threads)),
        ),
        "c": dict(wrk_env, BENCH_DATE=seeded["search_date"]),
        "d": dict(wrk_env, BENCH_DATE=seeded["door_date"], BENCH_TIME=seeded["door_time"]),
        "e": dict(wrk_env, BENCH_SHOWS=",".join(map(str, seeded["holds"]))),
        "g.checkin": dict(wrk_env, BENCH_TICKETS=",".join(seeded["door_tickets"])),
    }
    envs["f"] = envs["c"]
    envs["g"] = envs["d"]
    envs["h"] = envs["a"]
    envs["i"] = dict(wrk_env, BENCH_SHOWS=str(seeded["holds"][0]))
    envs["g.a"] = envs["a"]
    envs["j"] = envs["d"]
    envs["j.a"] = envs["a"]
    envs["j.checkin"] = envs["g.checkin"]
    return envs


def run_pgbench(args: argparse.Namespace, db: str, seeded: dict, work: Path, label: str) -> dict:
    """The raw booking transaction at the same number of clients; latency from its log."""
    shows = seeded["pgbench"]
    command = [
        "pgbench",
        "--no-vacuum",
        f"--client={args.connections}",
        f"--jobs={args.wrk_threads}",
        "--time=10",
        f"--file={BENCH / seeded['pgbench_script']}",
        f"--define=first={shows[0]}",
        f"--define=last={shows[-1]}",
        *(f"--define={name}={value}" for name, value in seeded["pgbench_defines"].items()),
        "--log",
        f"--log-prefix={work / f'pgbench-{label}'}",
        f"{args.pg}/{db}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or not match:
        print(done.stdout, done.stderr, file=sys.stderr)
        fail("pgbench failed")
    latencies = sorted(
        int(line.split()[2]) for log in work.glob(f"pgbench-{label}.*") for line in log.read_text().splitlines() if line
    )
    return {
        "tps": float(match.group(1)),
        "p50_us": latencies[len(latencies) // 2],
        "p99_us": latencies[int(len(latencies) * 0.99)],
        "failed": int(failed.group(1)) if failed else 0,
    }


def summarise(result: dict) -> dict:
    statuses = {int(code): n for code, n in result["statuses"].items()}
    seconds = result["duration_us"] / 1e6
    conflicts = statuses.get(409, 0)
    bad = sum(n for code, n in statuses.items() if not 200 <= code < 300 and code != 409)
    return {
        "requests": result["requests"],
        "rps": result["requests"] / seconds,
        "p50": result["p50_us"] / 1000,
        "p95": result["p95_us"] / 1000,
        "p99": result["p99_us"] / 1000,
        "errors": bad + sum(result["socket_errors"].values()),
        "conflicts": conflicts,
        "ok_rps": sum(n for code, n in statuses.items() if 200 <= code < 300) / seconds,
        "conflict_rps": conflicts / seconds,
        "statuses": statuses,
        "extra": {name: n / seconds for name, n in result["extra"].items()},
    }


def server_line(args: argparse.Namespace, env: dict[str, str], postgres: str) -> str:
    gunicorn_conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # as gunicorn runs it, __file__ set
    worker_class = env.get("GUNICORN_WORKER_CLASS", gunicorn_conf.get("worker_class", "sync"))
    threads = f", {env.get('GUNICORN_THREADS', 1)} threads" if worker_class == "gthread" else ""
    where = "Redis" if env["REDIS_URL"] else "process memory"
    return (
        f"Machine: {os.cpu_count()} cores; PostgreSQL {postgres}; gunicorn {env['WEB_CONCURRENCY']} "
        f"{worker_class} workers{threads}; CONN_MAX_AGE={env['CONN_MAX_AGE']}; "
        f"throttle counters and kept answers in {where}; "
        f"wrk {args.wrk_threads} threads, {args.connections} connections, {args.duration} s a scenario."
    )


def plain_run(args: argparse.Namespace) -> None:
    """`make bench`: every scenario once on this tree's app."""
    started, load_before = time.monotonic(), os.getloadavg()[0]
    database_url = f"{args.pg}/{args.db}"
    env = server_environment(args, database_url, args.redis)
    print(f"Creating and seeding {database_url} ...", flush=True)
    create_database(args.pg, args.db)
    seeded = seed(env, ROOT)
    print(server_line(args, env, seeded["postgres"]), flush=True)
    envs = wrk_environments(seeded, args.connections, args.wrk_threads)

    raw = {}  # pgbench's runs, by when they ran

    def yardstick(when: str) -> None:
        print(f"pgbench: the raw booking transaction{when and ', ' + when} ...", flush=True)
        raw[when] = run_pgbench(args, args.db, seeded, work, when.replace(" ", "-") or "alone")
        settle(args.pg, args.db)

    with tempfile.TemporaryDirectory(prefix="bench-") as work_dir:
        work = Path(work_dir)
        pgbench_beside_a = not args.skip_pgbench and "a" in args.scenarios
        if not args.skip_pgbench and not pgbench_beside_a:
            yardstick("")

        port = free_port()
        results: dict[str, dict] = {}
        server, server_settings = None, None
        try:
            for key in args.scenarios:
                if server is None or SERVER_SETTINGS.get(key) != server_settings:
                    if server is not None:
                        stop_server(server)
                    server_settings = SERVER_SETTINGS.get(key)
                    server = start_server(dict(env, **(server_settings or {})), port, work / "gunicorn.log")
                    warm_up(args, port, envs)
                if key == "a" and pgbench_beside_a:
                    yardstick("just before (a)")
                print(f"{SCENARIOS[key][0]} ...", flush=True)
                results.update(run_scenario(args, key, port, envs, server, args.db))
                analyze(args.pg, args.db)
                if key == "a" and pgbench_beside_a:
                    yardstick("just after (a)")
        finally:
            if server is not None:
                stop_server(server)
    rush = rush_check(args.pg, args.db, seeded["rush"]) if "b" in results else None

    print()
    print("| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | 409s | CPU ms/req | of which PostgreSQL |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, r in results.items():
        print(
            f"| {TITLES[key]} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['errors']} "
            f"| {r['conflicts']} | {r['cpu_ms']:.2f} | {r['db_cpu_ms']:.2f} |"
        )
    for when, r in raw.items():
        print(
            f"| raw PostgreSQL booking transaction (pgbench{when and ', ' + when}) | {r['tps']:.0f} "
            f"| {r['p50_us'] / 1000:.1f} | - | {r['p99_us'] / 1000:.1f} | {r['failed']} | - | - | - |"
        )
    print()
    if "a" in results and raw:
        yard = sum(r["tps"] for r in raw.values()) / len(raw)
        share = results["a"]["rps"] / yard
        print(
            f"Booking (a) runs at {share:.3f} of the raw PostgreSQL booking transaction's throughput "
            f"({results['a']['rps']:.0f} req/s against pgbench's mean of {yard:.0f}; goal: 0.15)."
        )
    if rush is not None:
        b = results["b"]
        print(
            f"Rush (b): {b['ok_rps']:.0f} tickets sold/s and {b['conflict_rps']:.0f} sold-out answers (409)/s over "
            f"{rush['shows']} shows of {RUSH_CAPACITY} seats: {rush['sold_out']} sold out exactly, "
            f"{rush['oversold']} oversold, {rush['short']} left short before the end of the run."
        )
    if "e" in results:
        confirmed = results["e"]["extra"].get("confirmed", 0)
        print(f"Hold then confirm (e): {confirmed:.0f} bookings confirmed/s (two requests each).")
    print_unexpected({key: [r] for key, r in results.items()})
    print(
        f"\nLoad run took {time.monotonic() - started:.0f} s. Load average (1 min) before it: {load_before:.1f}; "
        f"after: {os.getloadavg()[0]:.1f} (the run's own wrk, gunicorn and PostgreSQL "
        "add to the latter). Other work on the machine lowers the figures. CPU ms/req: the CPU time of "
        "gunicorn's workers and their PostgreSQL backends per answer (for (g) and (j), of all three parts).",
        flush=True,
    )

    if not args.keep_db:
        drop_database(args.pg, args.db)
    purge = BENCH / "purge.py"
    if purge.exists() and not args.skip_purge:
        print("\nPurge benchmark (bench/purge.py):", flush=True)
        # Its own database (booking_purge_bench by default), not this run's.
        purge_env = {k: v for k, v in CALLER_ENV.items() if k != "DATABASE_URL"}
        subprocess.run([sys.executable, str(purge)], cwd=ROOT, env=purge_env, check=True)
    failed = any(r["errors"] for r in results.values()) or (rush and (rush["oversold"] or rush["short"]))
    sys.exit(1 if failed else 0)


def print_unexpected(runs: dict[str, list[dict]], side: str = "") -> None:
    for key, rs in runs.items():
        unexpected: dict[int, int] = {}
        for r in rs:
            for code, n in r["statuses"].items():
                if not 200 <= code < 300 and code != 409:
                    unexpected[code] = unexpected.get(code, 0) + n
        if unexpected:
            print(f"Unexpected answers in {TITLES[key]}{side and ' (' + side + ')'}: {unexpected}")


def git(*command: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *command], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Side:
    """One version of the app in the A/B: its checkout, database and server."""

    label: str
    root: Path
    commit: str
    db: str
    env: dict[str, str]
    seeded: dict = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    port: int = 0
    server: subprocess.Popen | None = None
    runs: dict[str, list[dict]] = field(default_factory=dict)
    raw: dict[str, dict] = field(default_factory=dict)


def compare_run(args: argparse.Namespace) -> None:
    """Same-run A/B: the app at --compare against this tree's (or --new's), in turn."""
    started, load_before = time.monotonic(), os.getloadavg()[0]
    head = git("rev-parse", "HEAD")
    old_commit = git("rev-parse", "--verify", f"{args.compare}^{{commit}}")
    # The new side: a commit checked out like the old one, or a directory served as it is
    # (this working tree by default, or e.g. another worktree with a change to try).
    new_dir = Path(args.new or ROOT).resolve() if not args.new or Path(args.new).is_dir() else None
    if new_dir is None:
        new_commit = git("rev-parse", "--verify", f"{args.new}^{{commit}}")
        new_name = new_commit[:7]
    else:
        new_commit = git("rev-parse", "HEAD", cwd=new_dir)
        changed = git("status", "--porcelain", "--", *APP_PATHS, cwd=new_dir)
        new_name = new_commit[:7] + (" + uncommitted changes to the app" if changed else "")
        if changed:
            print(f"The new side is {new_dir}, whose app differs from {new_commit[:7]}:\n{changed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as work_dir:
        work = Path(work_dir)
        worktrees: list[Path] = []
        sides: list[Side] = []
        try:
            for label, commit in [("old", old_commit), ("new", None if new_dir else new_commit)]:
                if commit is None:
                    root = new_dir
                else:
                    root = work / label
                    git("worktree", "add", "--detach", str(root), commit)
                    worktrees.append(root)
                db = f"{args.db}_{label}"
                redis_url = args.redis_old if label == "old" else args.redis
                env = server_environment(args, f"{args.pg}/{db}", redis_url)
                sides.append(Side(label, root, commit or new_name, db, env))
            for side in sides:
                print(f"Creating and seeding {args.pg}/{side.db} with the app at {side.commit[:7]} ...", flush=True)
                create_database(args.pg, side.db)
                side.seeded = seed(side.env, side.root)
                side.envs = wrk_environments(side.seeded, args.connections, args.wrk_threads)
            print(server_line(args, sides[0].env, sides[0].seeded["postgres"]), flush=True)
            configs = [side.root / "gunicorn.conf.py" for side in sides]
            if not all(config.exists() for config in configs):
                print("A side has no gunicorn.conf.py of its own: it runs with this tree's.", flush=True)
            elif configs[0].read_text() != configs[1].read_text():
                print(
                    "The sides' gunicorn.conf.py differ: each runs with its own (the line above reads this tree's).",
                    flush=True,
                )
            print(
                f"A/B: old {old_commit[:7]} (served from {sides[0].root}), new {new_name} (from {sides[1].root}); "
                f"HEAD {head[:7]}; {args.pairs} pairs of {args.scenarios}.",
                flush=True,
            )

            def yardstick(when: str) -> None:
                if args.skip_pgbench:
                    return
                # Old then new before the servers, new then old after them: a drift cancels.
                for side in sides if when == "before" else sides[::-1]:
                    print(f"pgbench on the {side.label} database, {when} ...", flush=True)
                    side.raw[when] = run_pgbench(args, side.db, side.seeded, work, f"{side.label}-{when}")
                    settle(args.pg, side.db)

            yardstick("before")
            turn = 0
            for key in args.scenarios:
                for pair in range(args.pairs):
                    # Old first in one pair, new first in the next (counted across the
                    # scenarios), so that a drift within a pair falls on each side in
                    # turn; use an even --pairs for one scenario. And a server of its own
                    # for each run, started and warmed up just before it. (With both
                    # servers up for the whole A/B, the one started first served 4 %
                    # fewer requests than the other in A/As of one commit against itself,
                    # whichever side it was: bench/README.md.)
                    for side in sides if turn % 2 == 0 else sides[::-1]:
                        print(f"{SCENARIOS[key][0]}, pair {pair + 1}, {side.label} ...", flush=True)
                        side.port = free_port()
                        log = work / f"gunicorn-{side.label}-{key}-{pair + 1}.log"
                        settings = dict(side.env, **SERVER_SETTINGS.get(key, {}))  # (f), (h): a cache off
                        side.server = start_server(settings, side.port, log, side.root)
                        warm_up(args, side.port, side.envs)
                        for part, result in run_scenario(args, key, side.port, side.envs, side.server, side.db).items():
                            side.runs.setdefault(part, []).append(result)
                        stop_server(side.server)
                        side.server = None
                        analyze(args.pg, side.db)
                    turn += 1
            yardstick("after")
        finally:
            for side in sides:
                if side.server is not None:
                    stop_server(side.server)
            for root in worktrees:
                subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=ROOT, check=False)
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
            if not args.keep_db:
                for side in sides:
                    drop_database(args.pg, side.db)

    old, new = sides
    print()
    print(f"Same-run A/B: old {old_commit[:7]}, new {new_name}; HEAD at the start {head}.")
    print()
    print(
        "| scenario | old req/s | new req/s | new/old | old p99 ms | new p99 ms "
        "| old CPU ms/req | new CPU ms/req | new/old CPU | PostgreSQL's of it old / new | errors old / new "
        "| 409s old / new |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in old.runs:
        o, n = old.runs[key], new.runs[key]
        rps_o, rps_n = statistics.median(r["rps"] for r in o), statistics.median(r["rps"] for r in n)
        cpu_o, cpu_n = statistics.median(r["cpu_ms"] for r in o), statistics.median(r["cpu_ms"] for r in n)
        db_o, db_n = statistics.median(r["db_cpu_ms"] for r in o), statistics.median(r["db_cpu_ms"] for r in n)
        print(
            f"| {TITLES[key]} | {rps_o:.0f} | {rps_n:.0f} | {rps_n / rps_o:.3f} "
            f"| {statistics.median(r['p99'] for r in o):.1f} | {statistics.median(r['p99'] for r in n):.1f} "
            f"| {cpu_o:.2f} | {cpu_n:.2f} | {cpu_n / cpu_o:.3f} "
            f"| {db_o:.2f} / {db_n:.2f} "
            f"| {sum(r['errors'] for r in o)} / {sum(r['errors'] for r in n)} "
            f"| {sum(r['conflicts'] for r in o)} / {sum(r['conflicts'] for r in n)} |"
        )
    print()
    print(
        "Medians of each side's runs (p99 and CPU too); errors and 409s summed. CPU ms/req: the CPU time of "
        "gunicorn's workers and their PostgreSQL backends per answer (for (g) and (j), of all three parts)."
    )
    print("Every run (req/s and CPU ms/req, old / new in each pair, every other pair ran new first; new/old req/s):")
    for key in old.runs:
        pairs = list(zip(old.runs[key], new.runs[key], strict=True))
        ratios = [n["rps"] / o["rps"] for o, n in pairs]
        print(
            f"- {TITLES[key]}: "
            + "; ".join(
                f"{o['rps']:.0f} ({o['cpu_ms']:.2f}) / {n['rps']:.0f} ({n['cpu_ms']:.2f}) = {ratio:.2f}"
                for (o, n), ratio in zip(pairs, ratios, strict=True)
            )
            + f"; geometric mean of the pairs' new/old {statistics.geometric_mean(ratios):.3f}"
        )
    if old.raw:
        print()
        print("| raw booking transaction (pgbench) | tps before | tps after | mean | p99 ms before / after |")
        print("|---|---:|---:|---:|---:|")
        for side in sides:
            b, a = side.raw["before"], side.raw["after"]
            print(
                f"| on the {side.label} database ({side.commit[:7]}'s schema) | {b['tps']:.0f} | {a['tps']:.0f} "
                f"| {(b['tps'] + a['tps']) / 2:.0f} | {b['p99_us'] / 1000:.1f} / {a['p99_us'] / 1000:.1f} |"
            )
        if "a" in old.runs:
            shares = []
            for side in sides:
                yard = statistics.mean(r["tps"] for r in side.raw.values())
                shares.append(f"{side.label} {statistics.median(r['rps'] for r in side.runs['a']) / yard:.3f}")
            print(f"\nBooking (a) as a share of its own database's pgbench mean: {', '.join(shares)}.")
    for side in sides:
        print_unexpected(side.runs, side.label)
    print(
        f"\nA/B took {time.monotonic() - started:.0f} s. Load average (1 min) before it: {load_before:.1f}; "
        f"after: {os.getloadavg()[0]:.1f}.",
        flush=True,
    )
    failed = any(r["errors"] for side in sides for rs in side.runs.values() for r in rs)
    sys.exit(1 if failed else 0)


def main() -> None:
    args = parse_args()
    if args.seed:
        print("SEED_JSON " + json.dumps(migrate_and_seed(Path(args.seed))), flush=True)
        return
    if "bench" not in args.db:
        fail(f"--db {args.db}: the database is dropped and created again, so its name must contain 'bench'.")
    check_tools()
    if args.compare:
        compare_run(args)
    else:
        plain_run(args)


if __name__ == "__main__":
    main()
