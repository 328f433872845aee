"""`make bench-profile`: where a scenario's CPU goes in gunicorn's workers, sampled by py-spy.

Seeds a database as `make bench` does (bench/run.py), serves it with the same gunicorn,
warms it up, then runs one scenario with wrk (default: booking (a)) while `py-spy record`
samples every worker (100 a second, without pausing them, only while it holds the GIL:
waits on the database or the network are not samples, so the shares are of the workers'
CPU time in Python). Prints two tables: the share
of samples inside each of the app's hot functions (inclusive: with what they call), and
each sample's innermost frame by package (self time). Needs py-spy (requirements-dev.txt)
and the right to trace processes (root, or ptrace_scope 0).
"""

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: seeding, servers and wrk)

# Frames worth naming, by their function and file: the request's layers, then the service.
HOT = [
    ("the whole request (Django's WSGI handler)", "WSGIHandler.__call__", "django/core/handlers/wsgi.py"),
    ("the view (DRF's dispatch)", "APIView.dispatch", "rest_framework/views.py"),
    ("  DRF: authentication, permissions, throttles", "APIView.initial", "rest_framework/views.py"),
    ("    the throttle (Redis)", "allow_request", "api/throttling.py"),
    ("  the request body: parse and validate", "BaseSerializer.is_valid", "rest_framework/serializers.py"),
    ("  a booking: services.sales.booking_create", "booking_create", "api/services/sales.py"),
    ("    the show lock (locking.lock_shows)", "lock_shows", "api/locking.py"),
    ("    the taken seats (locking.seats_in_use)", "seats_in_use", "api/locking.py"),
    ("    choosing the seats (seating.choose_seats)", "choose_seats", "api/services/seating.py"),
    ("    the ticket types and prices (seating.tariff)", "tariff", "api/services/seating.py"),
    ("    person, booking, tickets (sales._sell)", "_sell", "api/services/sales.py"),
    ("      their rows in one statement (sale_rows.write_sale)", "write_sale", "api/services/sale_rows.py"),
    ("    COMMIT", "commit", "django/db/backends/base/base.py"),
    ("  the ticket's answer (TicketSerializer)", "TicketSerializer.to_representation", "api/serializers/sales.py"),
    ("  a seat map: selectors.show_seat_map", "show_seat_map", "api/selectors.py"),
    ("    its seats' statuses", "show_seat_statuses", "api/selectors.py"),
    ("    its answer (SeatStatusesSerializer)", "to_representation", "api/serializers/catalog.py"),
    ("  the answer rendered as JSON", "JSONRenderer.render", "rest_framework/renderers.py"),
    ("every SQL statement (Django's cursor.execute)", "CursorWrapper.execute", "django/db/backends/utils.py"),
    ("every ORM query compiled (SQLCompiler.as_sql)", "as_sql", "django/db/models/sql/compiler.py"),
]
PACKAGES = [
    ("Django ORM", "django/db/"),
    ("Django (request, middleware, URLs)", "django/"),
    ("Django REST framework", "rest_framework/"),
    ("psycopg (the PostgreSQL driver)", "psycopg"),
    ("the app (api/, booking/)", "/api/"),
    ("the app (api/, booking/)", "/booking/"),
    ("JSON", "json/"),
    ("phonenumbers", "phonenumber"),
    ("Redis client", "redis/"),
    ("gunicorn", "gunicorn/"),
]
FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="a", choices=sorted(run.SCENARIOS), help="bench/run.py's (default a)")
    parser.add_argument(
        "--raw",
        metavar="FILE",
        help="also write the samples there, one stack a line (py-spy's raw format, for a flame graph)",
    )
    run.server_arguments(parser, duration=15, db="booking_bench_profile")
    return parser.parse_args()


def summarise(stacks: dict[tuple[str, ...], int]) -> None:
    total = sum(stacks.values())
    inclusive: collections.Counter[str] = collections.Counter()
    by_package: collections.Counter[str] = collections.Counter()
    for frames, count in stacks.items():
        parsed = [FRAME.match(frame) for frame in frames]
        seen = {
            label
            for label, function, file in HOT
            for match in parsed
            if match
            and (match["function"] == function or match["function"].endswith("." + function))
            and match["file"].endswith(file)
        }
        for label in seen:
            inclusive[label] += count
        innermost = parsed[-1]["file"] if parsed and parsed[-1] else ""
        package = next((name for name, part in PACKAGES if part in innermost), "other (the standard library, C)")
        by_package[package] += count
    print(f"\n{total} samples of the workers' CPU.\n")
    print("| inside (with what it calls) | share of CPU samples |")
    print("|---|---:|")
    for label, _, _ in HOT:
        if inclusive[label]:
            print(f"| {label} | {100 * inclusive[label] / total:.1f} % |")
    print("\n| innermost frame in (self time) | share of CPU samples |")
    print("|---|---:|")
    for package, count in by_package.most_common():
        print(f"| {package} | {100 * count / total:.1f} % |")


def main() -> None:
    args = parse_args()
    run.check_tools()
    database_url = f"{args.pg}/{args.db}"
    env = run.server_environment(args, database_url, args.redis)
    print(f"Creating and seeding {database_url} ...", flush=True)
    run.create_database(args.pg, args.db)
    seeded = run.seed(env, run.ROOT)
    envs = run.wrk_environments(seeded, args.connections, args.wrk_threads)
    with tempfile.TemporaryDirectory(prefix="bench-spy-") as work_dir:
        work = Path(work_dir)
        port = run.free_port()
        server = run.start_server(env, port, work / "gunicorn.log")
        try:
            run.warm_up(args, port, envs)
            title, script = run.SCENARIOS[args.scenario]
            print(f"{title}, {args.duration} s, sampled by py-spy ...", flush=True)
            spies = [
                subprocess.Popen(
                    [str(run.BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(args.duration + 2)]
                    + ["--rate", "100", "--nonblocking", "--gil", "--format", "raw"]
                    + ["--output", str(work / f"{pid}.txt")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for pid in run.children(server.pid)
            ]
            time.sleep(1)  # py-spy attached
            result = run.summarise(run.run_wrk(args, port, script, args.duration, envs[args.scenario]))
            for spy in spies:
                spy.wait(timeout=60)
        finally:
            run.stop_server(server)
        stacks: dict[tuple[str, ...], int] = collections.Counter()
        for path in work.glob("*.txt"):
            for line in path.read_text().splitlines():
                frames, _, count = line.rpartition(" ")
                if frames and count.isdigit():
                    stacks[tuple(frames.split(";"))] += int(count)
    run.drop_database(args.pg, args.db)
    if args.raw:
        Path(args.raw).write_text("".join(f"{';'.join(frames)} {n}\n" for frames, n in stacks.items()))
    print(f"{title}: {result['rps']:.0f} req/s (p99 {result['p99']:.1f} ms) while sampled; errors {result['errors']}.")
    if not stacks:
        sys.exit("py-spy recorded nothing: is it installed (requirements-dev.txt) and allowed to trace?")
    summarise(stacks)


if __name__ == "__main__":
    main()
