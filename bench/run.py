"""`make bench`: load the service under gunicorn on PostgreSQL and print a table of figures.

What it does, in about a minute and a half (then the purge benchmark):

1. creates a fresh database (booking_bench on 127.0.0.1, user postgres), migrates it and
   seeds it: 40 shows of 10,000 seats for the spread booking, 1,500 shows of 20 seats for
   the sell-out rush, 40 shows for holds, a door list of 200 tickets, a staff user and
   token, and 40 shows for pgbench;
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

Everything runs on this one machine: wrk, gunicorn and PostgreSQL share its cores, so the
figures are those of the whole box, and other load on it shows in them.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
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
}
# Scenarios served with other settings than the rest: the server is restarted for them.
SERVER_SETTINGS = {"f": {"SHOW_SEARCH_CACHE_SECONDS": "0"}}
RUSH_CAPACITY = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    parser.add_argument("--scenarios", default="abcdef", help="which scenarios to run, e.g. ac (default abcdef)")
    parser.add_argument("--skip-pgbench", action="store_true", help="don't time the raw PostgreSQL transaction")
    parser.add_argument("--skip-purge", action="store_true", help="don't run bench/purge.py")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database afterwards")
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"), help="PostgreSQL server"
    )
    parser.add_argument("--db", default="booking_bench", help="database to create (dropped first)")
    parser.add_argument(
        "--redis",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="REDIS_URL for the throttle counters, as in production; '' for per-process memory",
    )
    return parser.parse_args()


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


def server_environment(args: argparse.Namespace, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # The load comes from one address: the throttle is set out of the way, and the
        # clients' addresses come in X-Forwarded-For as from one load balancer.
        THROTTLE_ANON_RATE="100000000/min",
        NUM_PROXIES="1",
        CONN_MAX_AGE=str(args.conn_max_age),
        LOG_LEVEL="WARNING",
        REDIS_URL=args.redis if args.redis and redis_reachable(args.redis) else "",
    )
    env["WEB_CONCURRENCY"] = str(args.workers)
    if args.worker_class:
        env["GUNICORN_WORKER_CLASS"] = args.worker_class
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return env


def migrate_and_seed(env: dict[str, str]) -> dict:
    """Migrate and seed the bench database in this process; return what the scripts need."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "booking.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from api.models import Booking, Customer, Show, Ticket
    from api.services import REFERENCE_ALPHABET, REFERENCE_LENGTH

    call_command("migrate", verbosity=0, interactive=False)
    today = timezone.localdate()

    def at(days: int, minutes: int) -> datetime:
        day = today + timedelta(days=days)
        return timezone.make_aware(datetime(day.year, day.month, day.day)) + timedelta(minutes=minutes)

    def shows(prefix: str, moments: list[datetime], capacity: int) -> list[int]:
        made = Show.objects.bulk_create(
            [Show(title=f"{prefix} {i + 1}", starts_at=m, capacity=capacity) for i, m in enumerate(moments)]
        )
        return [show.pk for show in made]

    # Ten shows a day, 10:00 to 21:15: the search's day has ten shows to list.
    day_of = [(day, 600 + 75 * slot) for day in range(2, 6) for slot in range(10)]
    spread = shows("Bench spread", [at(d, m) for d, m in day_of], 10_000)
    holds = shows("Bench holds", [at(d + 10, m) for d, m in day_of], 10_000)
    pgbench = shows("Bench pgbench", [at(d + 20, m) for d, m in day_of], 10_000)
    rush = shows("Bench rush", [at(40, 10 * i) for i in range(1500)], RUSH_CAPACITY)
    assert pgbench == list(range(pgbench[0], pgbench[0] + len(pgbench))), "pgbench shows need consecutive ids"

    # The door list: 200 tickets of 200 people at one show.
    door_at = at(30, 19 * 60 + 30)
    door = Show.objects.create(title="Bench door list", starts_at=door_at, capacity=200)
    people = Customer.objects.bulk_create(
        [Customer(name=f"Door Guest {i:03d}", phone_number=f"+9197{i:08d}") for i in range(200)]
    )
    references: set[str] = set()
    while len(references) < 200:
        references.add("".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)))
    bookings = Booking.objects.bulk_create(
        [Booking(reference=ref, customer=person) for ref, person in zip(sorted(references), people, strict=True)]
    )
    Ticket.objects.bulk_create([Ticket(booking=booking, show=door, seat=i + 1) for i, booking in enumerate(bookings)])
    pgbench_customer = Customer.objects.create(name="Pgbench Customer", phone_number="+919800000001")

    staff = get_user_model().objects.create_user("bench-staff", password=secrets.token_urlsafe(), is_staff=True)
    token = Token.objects.create(user=staff).key
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE bench_reference")  # booking references of pgbench
        cursor.execute("VACUUM ANALYZE")  # fresh statistics for the bulk-loaded rows
    local_door = timezone.localtime(door_at)
    seeded = {
        "spread": spread,
        "holds": holds,
        "rush": rush,
        "pgbench": pgbench,
        "pgbench_customer": pgbench_customer.pk,
        "search_date": (today + timedelta(days=2)).isoformat(),
        "door_date": local_door.date().isoformat(),
        "door_time": local_door.strftime("%H:%M"),
        "token": token,
        "postgres": f"{connection.pg_version // 10000}.{connection.pg_version % 100}",
    }
    connections.close_all()
    return seeded


def rush_check(env: dict[str, str], rush: list[int]) -> dict:
    """After the rush: every show sold exactly its 20 seats, or fewer if the run ended on it."""
    from django.db import connections
    from django.db.models import Count

    from api.models import Show

    counts = list(
        Show.objects.filter(pk__in=rush)
        .annotate(n=Count("tickets"))
        .filter(n__gt=0)
        .order_by("pk")
        .values_list("n", flat=True)
    )
    connections.close_all()
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


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "booking.wsgi"], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
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
    print(log.read_text()[-3000:], file=sys.stderr)
    server.terminate()
    fail("gunicorn did not come up; its log is above.")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()  # gunicorn's master stops its workers on SIGTERM
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def run_wrk(args: argparse.Namespace, port: int, script: str, duration: int, env: dict[str, str]) -> dict:
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / script),
        f"http://127.0.0.1:{port}",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    print(done.stdout, done.stderr, file=sys.stderr)
    fail(f"wrk {script} gave no summary")


def run_pgbench(args: argparse.Namespace, seeded: dict, work: Path, label: str) -> dict:
    """The raw booking transaction at the same number of clients; latency from its log."""
    shows = seeded["pgbench"]
    command = [
        "pgbench",
        "--no-vacuum",
        f"--client={args.connections}",
        f"--jobs={args.wrk_threads}",
        "--time=10",
        f"--file={BENCH / 'pgbench_booking.sql'}",
        f"--define=first={shows[0]}",
        f"--define=last={shows[-1]}",
        f"--define=customer={seeded['pgbench_customer']}",
        "--log",
        f"--log-prefix={work / f'pgbench-{label}'}",
        f"{args.pg}/{args.db}",
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
        "rps": result["requests"] / seconds,
        "p50": result["p50_us"] / 1000,
        "p99": result["p99_us"] / 1000,
        "errors": bad + sum(result["socket_errors"].values()),
        "conflicts": conflicts,
        "ok_rps": sum(n for code, n in statuses.items() if 200 <= code < 300) / seconds,
        "conflict_rps": conflicts / seconds,
        "statuses": statuses,
        "extra": {name: n / seconds for name, n in result["extra"].items()},
    }


def main() -> None:
    args = parse_args()
    if "bench" not in args.db:
        fail(f"--db {args.db}: the database is dropped and created again, so its name must contain 'bench'.")
    check_tools()
    started, load_before = time.monotonic(), os.getloadavg()[0]
    database_url = f"{args.pg}/{args.db}"
    env = server_environment(args, database_url)
    print(f"Creating and seeding {database_url} ...", flush=True)
    create_database(args.pg, args.db)
    seeded = migrate_and_seed(env)

    gunicorn_conf = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), gunicorn_conf)
    worker_class = gunicorn_conf.get("worker_class", "sync")
    threads = f", {gunicorn_conf.get('threads', 1)} threads" if worker_class == "gthread" else ""
    if env["REDIS_URL"]:
        shared = "throttle counters, kept searches and kept staff lists in Redis"
    else:
        shared = "throttle counters, kept searches and kept staff lists in process memory"
    print(
        f"Machine: {os.cpu_count()} cores; PostgreSQL {seeded['postgres']}; gunicorn {gunicorn_conf['workers']} "
        f"{worker_class} workers{threads}; CONN_MAX_AGE={env['CONN_MAX_AGE']}; "
        f"{shared}; "
        f"wrk {args.wrk_threads} threads, {args.connections} connections, {args.duration} s a scenario.",
        flush=True,
    )

    wrk_env = dict(os.environ, BENCH_DIR=str(BENCH), BENCH_TOKEN=seeded["token"])
    wrk_envs = {
        "a": dict(wrk_env, BENCH_SHOWS=",".join(map(str, seeded["spread"]))),
        "b": dict(
            wrk_env,
            BENCH_SHOWS=",".join(map(str, seeded["rush"])),
            # Each show meets `connections` requests in all: 20 sales, the rest sold out.
            BENCH_PER_SHOW=str(max(1, args.connections // args.wrk_threads)),
        ),
        "c": dict(wrk_env, BENCH_DATE=seeded["search_date"]),
        "d": dict(wrk_env, BENCH_DATE=seeded["door_date"], BENCH_TIME=seeded["door_time"]),
        "e": dict(wrk_env, BENCH_SHOWS=",".join(map(str, seeded["holds"]))),
    }
    wrk_envs["f"] = wrk_envs["c"]

    raw = {}  # pgbench's runs, by when they ran

    def yardstick(when: str) -> None:
        print(f"pgbench: the raw booking transaction{when and ', ' + when} ...", flush=True)
        raw[when] = run_pgbench(args, seeded, work, when.replace(" ", "-") or "alone")
        settle(args.pg, args.db)

    with tempfile.TemporaryDirectory(prefix="bench-") as work_dir:
        work = Path(work_dir)
        pgbench_beside_a = not args.skip_pgbench and "a" in args.scenarios
        if not args.skip_pgbench and not pgbench_beside_a:
            yardstick("")

        port = free_port()
        results = {}
        server, server_settings = None, None
        try:
            for key in args.scenarios:
                if server is None or SERVER_SETTINGS.get(key) != server_settings:
                    if server is not None:
                        stop_server(server)
                    server_settings = SERVER_SETTINGS.get(key)
                    server = start_server(dict(env, **(server_settings or {})), port, work / "gunicorn.log")
                    # Warm-up: every worker opens its connection and loads its code paths.
                    for warm in "cda":
                        run_wrk(args, port, SCENARIOS[warm][1], 2 if warm == "c" else 1, wrk_envs[warm])
                if key == "a" and pgbench_beside_a:
                    yardstick("just before (a)")
                title, script = SCENARIOS[key]
                print(f"{title} ...", flush=True)
                results[key] = summarise(run_wrk(args, port, script, args.duration, wrk_envs[key]))
                analyze(args.pg, args.db)
                if key == "a" and pgbench_beside_a:
                    yardstick("just after (a)")
        finally:
            if server is not None:
                stop_server(server)
        rush = rush_check(env, seeded["rush"]) if "b" in results else None

    print()
    print("| scenario | req/s | p50 ms | p99 ms | errors | 409s |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, r in results.items():
        title = SCENARIOS[key][0]
        print(f"| {title} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} | {r['conflicts']} |")
    for when, r in raw.items():
        print(
            f"| raw PostgreSQL booking transaction (pgbench{when and ', ' + when}) | {r['tps']:.0f} "
            f"| {r['p50_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} | {r['failed']} | - |"
        )
    print()
    if "a" in results and raw:
        yard = sum(r["tps"] for r in raw.values()) / len(raw)
        share = results["a"]["rps"] / yard
        print(
            f"Booking (a) runs at {share:.3f} of the raw PostgreSQL booking transaction's throughput "
            f"({results['a']['rps']:.0f} req/s against pgbench's mean of {yard:.0f}; goal: 0.15)."
        )
    if "b" in results:
        b = results["b"]
        print(
            f"Rush (b): {b['ok_rps']:.0f} tickets sold/s and {b['conflict_rps']:.0f} sold-out answers (409)/s over "
            f"{rush['shows']} shows of {RUSH_CAPACITY} seats: {rush['sold_out']} sold out exactly, "
            f"{rush['oversold']} oversold, {rush['short']} left short before the end of the run."
        )
    if "e" in results:
        confirmed = results["e"]["extra"].get("confirmed", 0)
        print(f"Hold then confirm (e): {confirmed:.0f} bookings confirmed/s (two requests each).")
    for key, r in results.items():
        unexpected = {code: n for code, n in r["statuses"].items() if not 200 <= code < 300 and code != 409}
        if unexpected:
            print(f"Unexpected answers in {SCENARIOS[key][0]}: {unexpected}")
    print(
        f"\nLoad run took {time.monotonic() - started:.0f} s. Load average (1 min) before it: {load_before:.1f}; "
        f"after: {os.getloadavg()[0]:.1f} (the run's own wrk, gunicorn and PostgreSQL "
        "add to the latter). Other work on the machine lowers the figures.",
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


if __name__ == "__main__":
    main()
