"""Benchmark of the purge: 1,000,000 expired tickets among 1,200,000, then a steady-state run.

Not a test: it builds its own PostgreSQL databases and prints, for each job it runs: wall
time, CPU time (the job's PostgreSQL backend, read from /proc, and this process), the
number of transactions and the longest one, and the process's peak RSS before and after
(flat = no rows loaded into Python); then the medians over the runs. On a shared machine
the CPU times say more than the wall times: other work stretches the latter.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/booking_purge_bench .venv/bin/python bench/purge.py

1. Fill, once: the database named in DATABASE_URL (its name must contain "bench"; it is
   dropped and created again) is migrated and filled with SQL (generate_series, not the
   ORM), vacuumed and analysed; `expire_tickets` marks the tickets of the shows that
   started over 8 hours ago (timed); the database is then kept as `<name>_template`.
2. Each run (--runs) copies the template (CREATE DATABASE ... TEMPLATE) and runs, as cron
   would, through call_command:
   - the catch-up: `purge_expired_tickets` on the 1,000,000 expired tickets;
   - VACUUM ANALYZE, as autovacuum would in the minutes after; then the steady state: the
     next 50 shows pass their 8 hours, `expire_tickets` marks their 10,000 tickets and
     `purge_expired_tickets` deletes them among the tickets still live.

Transactions are timed twice: in Python, around every outermost transaction.atomic()
block and every statement run outside one (autocommit), and in PostgreSQL, by a second
connection that samples pg_stat_activity.xact_start of the job's backend every 20 ms.
Options: --tickets, --expired, --steady-shows, --batch-size, --runs, --reuse-template,
--no-action
(see --help).
"""

import argparse
import importlib
import io
import os
import resource
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "booking.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/booking_purge_bench")
# Not DEBUG: with DEBUG on, Django keeps every query in memory, which would blur the RSS figure.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-0123456789")
os.environ["DEBUG"] = "false"

import django  # noqa: E402

django.setup()

from django.apps import apps as django_apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.db.transaction import Atomic  # noqa: E402

from api.models import Screen, Show, TicketType  # noqa: E402
from api.seatmaps import grid  # noqa: E402

SEATS = 200  # tickets per show, and the shows' capacity
FILL_SQL = """
-- On one 200-seat screen (rows A-J of 20), titled, each occupying no time (as an open
-- timing does), so that none overlaps the next and the purge keeps them.
INSERT INTO api_show (id, screen_id, film_id, title, starts_at, ends_at, busy_until, capacity, created_at)
SELECT i, %(screen)s, NULL, 'Bench show ' || i, s.at, s.at, s.at, %(seats)s, now()
FROM generate_series(1, %(shows)s) AS i,
     LATERAL (SELECT CASE WHEN i <= %(expired_shows)s
                          THEN now() - interval '9 hours' - i * interval '1 hour'  -- started over 8 h ago
                          ELSE now() + (i - %(expired_shows)s) * interval '1 hour' END AS at) AS s;

INSERT INTO api_customer (id, name, phone_number)
SELECT i, 'Customer ' || i, '+9198' || lpad(i::text, 8, '0')
FROM generate_series(1, %(customers)s) AS i;

-- Booking b holds tickets 2b-1 and 2b; customer c has bookings c and c + customers, so
-- some customers keep a live booking and the others are left with none.
INSERT INTO api_booking (id, reference, customer_id, total, client, created_at)
SELECT i, upper(lpad(to_hex(i), 6, '0')), (i - 1) %% %(customers)s + 1, 0, '', now()
FROM generate_series(1, %(bookings)s) AS i;

-- Tickets fill the shows in order: the first `expired` tickets are at shows that started
-- more than 8 hours ago.
-- Each ticket's holder is its booking's customer, as a booking's tickets start.
INSERT INTO api_ticket (id, booking_id, holder_id, show_id, seat, seat_order, ticket_type_id, price, expired,
                        checked_in_at, booked_at)
SELECT gen_random_uuid(), (n + 1) / 2, ((n + 1) / 2 - 1) %% %(customers)s + 1, (n - 1) / %(seats)s + 1,
       chr(65 + ((n - 1) %% %(seats)s) / 20) || (((n - 1) %% %(seats)s) %% 20 + 1), (n - 1) %% %(seats)s,
       %(ticket_type)s, 0, false, NULL, now() - interval '1 day'
FROM generate_series(1, %(tickets)s) AS n;

-- 10,000 holds and idempotency keys, half of them spent or made over a day ago.
INSERT INTO api_hold (id, show_id, seats, lines, total, expires_at, client, created_at)
SELECT gen_random_uuid(), %(shows)s, '["A1"]'::jsonb, '[]'::jsonb, 0,
       now() + CASE WHEN i %% 2 = 0 THEN interval '-25 hours' ELSE interval '5 minutes' END, '', now()
FROM generate_series(1, 10000) AS i;

INSERT INTO api_idempotencykey (scope, key, request_hash, status_code, body, location, created_at)
SELECT 'bench', 'key-' || i, md5(i::text), 201, '{}', '',
       now() - CASE WHEN i %% 2 = 0 THEN interval '25 hours' ELSE interval '1 hour' END
FROM generate_series(1, 10000) AS i;

SELECT setval(pg_get_serial_sequence('api_show', 'id'), %(shows)s);
SELECT setval(pg_get_serial_sequence('api_customer', 'id'), %(customers)s);
SELECT setval(pg_get_serial_sequence('api_booking', 'id'), %(bookings)s);
"""


class TransactionTimer:
    """Times every transaction of this process's Django connection, named by its first write."""

    def __init__(self) -> None:
        self.transactions: list[tuple[str, float]] = []
        self._started: float | None = None
        self._label = ""

    def install(self) -> None:
        timer, enter, exit_ = self, Atomic.__enter__, Atomic.__exit__

        def timed_enter(atomic: Atomic) -> None:
            if not transaction.get_connection(atomic.using).in_atomic_block:
                timer._started, timer._label = time.perf_counter(), ""
            return enter(atomic)

        def timed_exit(atomic: Atomic, *exc_info) -> None:
            try:
                return exit_(atomic, *exc_info)
            finally:
                if not transaction.get_connection(atomic.using).in_atomic_block and timer._started is not None:
                    timer.transactions.append((timer._label or "other", time.perf_counter() - timer._started))
                    timer._started = None

        def timed_statement(execute, sql, params, many, context):
            if connection.in_atomic_block:
                if not timer._label and sql.startswith(("UPDATE", "DELETE")):
                    timer._label = " ".join(sql.split()[:3]).replace('"', "")
                return execute(sql, params, many, context)
            started = time.perf_counter()  # autocommit: the statement is its own transaction
            try:
                return execute(sql, params, many, context)
            finally:
                table = sql.split(" FROM ", 1)[1].split()[0] if " FROM " in sql else "?"
                timer.transactions.append(("SELECT " + table.replace('"', ""), time.perf_counter() - started))

        Atomic.__enter__, Atomic.__exit__ = timed_enter, timed_exit
        connection.execute_wrappers.append(timed_statement)

    def reset(self) -> None:
        self.transactions.clear()

    @property
    def longest(self) -> float:
        return max((seconds for _, seconds in self.transactions), default=0.0)

    def report(self) -> None:
        print(f"  transactions: {len(self.transactions)}, longest {self.longest:.3f} s")
        by_label: dict[str, list[float]] = {}
        for label, seconds in self.transactions:
            by_label.setdefault(label, []).append(seconds)
        for label, times in by_label.items():
            print(f"    {label:<36} {len(times):>4} x, total {sum(times):6.2f} s, longest {max(times):.3f} s")


class BackendSampler(threading.Thread):
    """Samples how long the job's backend has been inside its current transaction."""

    def __init__(self, conninfo: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.conninfo, self.pid = conninfo, pid
        self.longest = 0.0
        self.running = True

    def run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while self.running:
                row = conn.execute(
                    "SELECT extract(epoch FROM clock_timestamp() - xact_start) FROM pg_stat_activity "
                    "WHERE pid = %s AND xact_start IS NOT NULL",
                    [self.pid],
                ).fetchone()
                if row and row[0] is not None:
                    self.longest = max(self.longest, float(row[0]))
                time.sleep(0.02)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def conninfo(dbname: str) -> str:
    db = settings.DATABASES["default"]
    parts = {"dbname": dbname, "user": db["USER"], "host": db["HOST"], "port": db["PORT"], "password": db["PASSWORD"]}
    return " ".join(f"{key}={value}" for key, value in parts.items() if value)


def create_database(name: str, *, template: str | None = None) -> None:
    """Drop `name` and create it again, empty or as a copy of `template`."""
    if "bench" not in name:
        sys.exit(f"Refusing to drop and create {name!r}: the benchmark's database name must contain 'bench'.")
    connection.close()  # Django's connection to `name`, if open
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def keep_as_template(name: str, template: str) -> None:
    connection.close()
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}"')
        conn.execute(f'ALTER DATABASE "{name}" RENAME TO "{template}"')


def database_exists(name: str) -> bool:
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def fill(*, tickets: int, expired: int) -> None:
    bookings = tickets // 2
    venue = Screen.objects.default().venue
    screen = Screen(venue=venue, name="Purge bench hall", seat_map=grid(SEATS // 20, 20))
    screen.save()
    params = {
        "screen": screen.pk,
        "ticket_type": TicketType.objects.default().pk,
        "seats": SEATS,
        "shows": -(-tickets // SEATS),
        "expired_shows": expired // SEATS,
        "customers": bookings // 2,
        "bookings": bookings,
        "tickets": tickets,
    }
    # One statement at a time: parameters bound by the server (settings.py) take one
    # statement per execute.
    with connection.cursor() as cursor:
        for statement in FILL_SQL.split(";\n"):
            if statement.strip():
                cursor.execute(statement, params)
    vacuum_analyze()  # the data stands for weeks of bookings: autovacuum would have visited it


def vacuum_analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def table_counts() -> dict[str, int]:
    tables = ["api_ticket", "api_booking", "api_customer", "api_hold", "api_idempotencykey"]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables))
        return dict(cursor.fetchall())


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time of a PostgreSQL backend on this machine (user + system), None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_job(name: str, timer: TransactionTimer, *args: str) -> dict[str, float]:
    """Run the command as cron would; print and return its wall time and longest transaction."""
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    timer.reset()
    sampler = BackendSampler(conninfo(settings.DATABASES["default"]["NAME"]), backend_pid)
    sampler.start()
    rss_before = peak_rss_mib()
    out = io.StringIO()
    cpu_before, python_before = backend_cpu_seconds(backend_pid), time.process_time()
    started = time.perf_counter()
    call_command(name, *args, stdout=out)
    wall = time.perf_counter() - started
    cpu_after, python_cpu = backend_cpu_seconds(backend_pid), time.process_time() - python_before
    sampler.running = False
    sampler.join()
    print(f"{name} {' '.join(args)}".strip())
    print(f"  output: {out.getvalue().strip()}")
    print(f"  wall time: {wall:.2f} s (load average {os.getloadavg()[0]:.1f})")
    backend_cpu = f"{cpu_after - cpu_before:.2f} s" if cpu_before is not None and cpu_after is not None else "-"
    print(f"  CPU time: PostgreSQL backend {backend_cpu}, Python {python_cpu:.2f} s (with the sampler thread)")
    timer.report()
    print(f"  longest transaction seen in pg_stat_activity: {sampler.longest:.3f} s")
    print(f"  peak RSS: {rss_before:.1f} MiB before, {peak_rss_mib():.1f} MiB after")
    backend = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else float("nan")
    return {"wall": wall, "cpu": backend, "longest": max(timer.longest, sampler.longest)}


def no_action() -> None:
    """The purge's foreign keys as Django makes them (ON DELETE NO ACTION), as before
    migration 0013."""
    migration = importlib.import_module("api.migrations.0013_restrict_deletes_of_linked_rows")
    with connection.schema_editor(atomic=False) as schema_editor:
        migration.no_action(django_apps, schema_editor)
    print("foreign keys of the purge: ON DELETE NO ACTION")


def pass_their_8_hours(shows: int, *, first: int) -> None:
    """Move shows first .. first + shows - 1 (the next to start) 6,000 hours back: they
    then started long ago, at hours no other show of the fill starts at."""
    back = timedelta(hours=6_000)
    moved = Show.objects.filter(pk__gte=first, pk__lt=first + shows).update(
        starts_at=F("starts_at") - back, ends_at=F("ends_at") - back, busy_until=F("busy_until") - back
    )
    assert moved == shows, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_200_000)
    parser.add_argument("--expired", type=int, default=1_000_000, help="tickets at shows that started over 8 h ago")
    parser.add_argument(
        "--steady-shows", type=int, default=50, help=f"shows ({SEATS} tickets each) that expire in the steady state"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="purge batch size (default: the service's)")
    parser.add_argument("--runs", type=int, default=3, help="copies of the filled database to purge")
    parser.add_argument(
        "--no-action",
        action="store_true",
        help="switch the purge's foreign keys back to NO ACTION in each copy (migration 0013's reverse): its A/B",
    )
    parser.add_argument(
        "--reuse-template",
        action="store_true",
        help="keep <name>_template from an earlier fill (its sizes are not checked)",
    )
    options = parser.parse_args()

    name = settings.DATABASES["default"]["NAME"]
    template = f"{name}_template"
    print(f"Database {name}: {options.tickets:,} tickets, {options.expired:,} at shows that started over 8 h ago")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    timer = TransactionTimer()
    timer.install()
    if options.reuse_template and database_exists(template):
        print(f"reusing {template}")
    else:
        create_database(name)
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        fill(tickets=options.tickets, expired=options.expired)
        print(f"filled in {time.perf_counter() - started:.1f} s: {table_counts()}")
        run_job("expire_tickets", timer)
        keep_as_template(name, template)

    purge_args = ["--batch-size", str(options.batch_size)] if options.batch_size else []
    figures: dict[str, list[dict[str, float]]] = {"catch-up": [], "steady": []}
    for run in range(1, options.runs + 1):
        print(f"\nRun {run} of {options.runs}")
        create_database(name, template=template)
        if options.no_action:
            no_action()
        figures["catch-up"].append(run_job("purge_expired_tickets", timer, *purge_args))
        print(f"left: {table_counts()}")
        vacuum_analyze()
        pass_their_8_hours(options.steady_shows, first=options.expired // SEATS + 1)
        run_job("expire_tickets", timer)
        figures["steady"].append(run_job("purge_expired_tickets", timer, *purge_args))
        print(f"left: {table_counts()}")

    print(f"\nMedians of {options.runs} runs (load average {os.getloadavg()[0]:.1f} at the end):")
    for label, runs in figures.items():
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
        print(
            f"  {label} purge: {statistics.median(r['wall'] for r in runs):.2f} s ({walls}); "
            f"backend CPU {statistics.median(r['cpu'] for r in runs):.2f} s; "
            f"longest transaction {max(r['longest'] for r in runs):.3f} s"
        )
    connection.close()


if __name__ == "__main__":
    main()
