"""`make bench-count`: the instructions a booking costs, the app's and PostgreSQL's, counted
by callgrind for two versions side by side.

Load figures on this VM move by 10 % between runs of the same code (bench/README.md);
instruction counts repeat to within 1 %. For each side (--compare, the old; this tree or
--new, the new) a database is seeded by bench/run.py's seeding and filled with --fill
bookings (default 20,000: 50 tickets a show, as full as an A/B leaves the halls). Then:

- the app: booking (a)'s request (POST /api/tickets, one ticket at a random one of the
  400 shows, a new person, one of 1,000 addresses) sent to the WSGI app in one process
  under `valgrind --tool=callgrind`, 300 and 100 times after 300 of warm-up, each run
  from a fresh copy of the filled database; the difference over 200 (start-up and
  warm-up cancel out);
- PostgreSQL: the same loop, outside valgrind, against a scratch cluster (initdb'd in a
  temporary directory, autovacuum off) whose processes run under callgrind; the loop's
  backend is counted the same way.

Needs valgrind and PostgreSQL's server binaries. Takes about five minutes.
"""

import argparse
import io
import json
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: seeding, databases, the servers' environment)

WARM, MORE, FEWER = 300, 300, 100
# The counted runs draw alike (the shorter's bookings are the longer's first), other people
# than the fill's: each booking is a new person's, as in (a).
COUNT_SEED = "count"


@dataclass
class Side:
    label: str
    root: Path
    name: str
    template: str = ""
    shows: str = ""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    run.server_arguments(parser, duration=0, db="booking_bench_count")
    parser.add_argument("--compare", default="0b5b423", help="the old side's commit (default 0b5b423, version 1)")
    parser.add_argument("--new", help="the new side's commit (default: this working tree)")
    parser.add_argument("--fill", type=int, default=20_000, help="bookings made before counting (default 20,000)")
    parser.add_argument("--loop", nargs=4, metavar=("ROOT", "N", "WARM", "SEED"), help=argparse.SUPPRESS)
    return parser.parse_args()


def loop(root: Path, n: int, warm: int, seed: str) -> None:
    """Book n times after `warm` times through the app in `root` (DATABASE_URL and
    BENCH_SHOWS from the environment), people and shows drawn from `seed`; print the
    statuses and the backend's pid."""
    os.chdir(root)
    sys.path.insert(0, str(root))
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    app = get_wsgi_application()
    shows = [int(show) for show in os.environ["BENCH_SHOWS"].split(",")]
    draw = random.Random(seed)
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        statuses[status[:3]] = statuses.get(status[:3], 0) + 1

    for _ in range(warm + n):
        body = json.dumps(
            {
                "name": f"Bench Customer {draw.randint(1, 999_999)}",
                "phone_number": f"+9198{draw.randint(0, 99_999_999):08d}",
                "show": draw.choice(shows),
            }
        ).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/tickets",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_ACCEPT": "application/json",
            "HTTP_X_FORWARDED_FOR": f"10.0.{draw.randint(0, 3)}.{draw.randint(1, 250)}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for _chunk in app(environ, start_response):
            pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    print("LOOP_JSON " + json.dumps({"statuses": statuses, "backend": pid}), flush=True)


def run_loop(side: Side, env: dict[str, str], n: int, warm: int, seed: str, valgrind: list[str] | None = None) -> dict:
    """The loop in a process of its own (under `valgrind` when given): two versions' apps
    can't share one interpreter."""
    command = [*(valgrind or []), sys.executable, str(Path(__file__).resolve())]
    command += ["--loop", str(side.root), str(n), str(warm), seed]
    done = subprocess.run(command, env=dict(env, BENCH_SHOWS=side.shows), capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("LOOP_JSON "):
            result = json.loads(line.removeprefix("LOOP_JSON "))
            if set(result["statuses"]) != {"201"}:
                run.fail(f"the {side.label} side's loop answered {result['statuses']}, not only 201s.")
            return result
    print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    run.fail(f"the {side.label} side's loop failed; its output is above.")


def total(callgrind_file: Path) -> int:
    """The instructions a callgrind output file counted (its "totals:" line)."""
    for line in callgrind_file.read_text(errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    run.fail(f"{callgrind_file} has no totals.")


def copy_database(pg: str, template: str, name: str) -> None:
    run.drop_database(pg, name)
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def per_booking(count: Callable[[int], int]) -> float:
    """Million instructions a booking: (the count of MORE bookings less that of FEWER) / 200."""
    return (count(MORE) - count(FEWER)) / (MORE - FEWER) / 1e6


def postgres_binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not found:
        run.fail("no PostgreSQL server binaries under /usr/lib/postgresql.")
    return found[-1].parent


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL's server refuses to run as root: as the postgres user when root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class ScratchCluster:
    """A PostgreSQL cluster of its own whose processes run under callgrind, one output
    file each (named by pid)."""

    def __init__(self, work: Path) -> None:
        self.dir, self.port, self.bin = work / "cluster", run.free_port(), postgres_binaries()
        self.dir.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        subprocess.run(
            as_postgres([str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )
        server = [str(self.bin / "postgres"), "-D", str(self.dir / "data"), "-p", str(self.port)]
        server += [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.dir}",
            "-c",
            "autovacuum=off",
        ]
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.dir}/callgrind.%p"]
        self.server = subprocess.Popen(
            as_postgres(valgrind + server), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"
        for _ in range(120):
            try:
                psycopg.connect(f"{self.url}/postgres").close()
                return
            except psycopg.OperationalError:
                time.sleep(1)
        run.fail("the scratch cluster under callgrind did not start in 120 s.")

    def load(self, pg: str, name: str) -> None:
        """The database `name` of `pg`, copied here."""
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        dump = subprocess.Popen(["pg_dump", "--no-owner", f"{pg}/{name}"], stdout=subprocess.PIPE)
        subprocess.run(["psql", "-q", f"{self.url}/{name}"], stdin=dump.stdout, stdout=subprocess.DEVNULL, check=True)
        if dump.wait() != 0:
            run.fail(f"pg_dump of {name} failed.")
        run.settle(self.url, name)  # statistics and the visibility map, as autovacuum keeps them

    def backend(self, pid: int) -> Path:
        output = self.dir / f"callgrind.{pid}"
        for _ in range(60):  # written when the backend exits, just after its client
            if output.exists() and "totals:" in output.read_text(errors="replace")[-4000:]:
                return output
            time.sleep(1)
        run.fail(f"no callgrind output for backend {pid}.")

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=120)


def count_side(args: argparse.Namespace, side: Side, cluster: ScratchCluster, work: Path) -> tuple[float, float]:
    env = run.server_environment(args, "", args.redis)

    def app(n: int) -> int:
        copy = f"{side.template}_{n}"
        copy_database(args.pg, side.template, copy)
        output = work / f"app-{side.label}-{n}.out"
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}"]
        run_loop(side, dict(env, DATABASE_URL=f"{args.pg}/{copy}"), n, WARM, COUNT_SEED, valgrind)
        run.drop_database(args.pg, copy)
        return total(output)

    def postgres(n: int) -> int:
        copy = f"{side.template}_{n}"
        copy_database(cluster.url, side.template, copy)
        pid = run_loop(side, dict(env, DATABASE_URL=f"{cluster.url}/{copy}"), n, WARM, COUNT_SEED)["backend"]
        count = total(cluster.backend(pid))
        run.drop_database(cluster.url, copy)
        return count

    return per_booking(app), per_booking(postgres)


def main() -> None:
    args = parse_args()
    if args.loop:
        root, n, warm, seed = args.loop
        loop(Path(root), int(n), int(warm), seed)
        return
    for tool in ("valgrind", "pg_dump", "psql"):
        if not shutil.which(tool):
            run.fail(f"{tool} is not installed (apt-get install valgrind postgresql-client).")
    started = time.monotonic()
    old = run.git("rev-parse", "--verify", f"{args.compare}^{{commit}}")
    new = run.git("rev-parse", "--verify", f"{args.new}^{{commit}}") if args.new else None
    worktrees: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="bench-count-") as work_dir:
        work = Path(work_dir)
        os.chmod(work, 0o755)  # the scratch cluster's user reaches its directory inside
        sides = []
        for label, commit in (("old", old), ("new", new)):
            if commit is None:
                root, name = run.ROOT, run.git("rev-parse", "--short", "HEAD") + " (this tree)"
            else:
                root, name = work / label, commit[:7]
                run.git("worktree", "add", "--detach", str(root), commit)
                worktrees.append(root)
            sides.append(Side(label, root, name, template=f"{args.db}_{label}"))
        cluster = None
        try:
            for side in sides:
                print(f"Seeding and filling {side.template} with the app at {side.name} ...", flush=True)
                run.create_database(args.pg, side.template)
                env = run.server_environment(args, f"{args.pg}/{side.template}", args.redis)
                side.shows = ",".join(map(str, run.seed(env, side.root)["booking"]))
                if args.fill:
                    run_loop(side, env, args.fill, 0, "fill")
                run.analyze(args.pg, side.template)
            cluster = ScratchCluster(work)
            for side in sides:
                cluster.load(args.pg, side.template)
            counts = {}
            for side in sides:
                print(f"Counting the {side.label} side ({side.name}) ...", flush=True)
                counts[side.label] = count_side(args, side, cluster, work)
        finally:
            if cluster is not None:
                cluster.stop()
            for side in sides:
                run.drop_database(args.pg, side.template)
            for root in worktrees:
                subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=run.ROOT, check=False)
    (app_old, pg_old), (app_new, pg_new) = counts["old"], counts["new"]
    print()
    print(f"Million instructions a booking, after {args.fill:,} bookings (old {sides[0].name}, new {sides[1].name}):")
    print()
    print("| | old | new | new/old |")
    print("|---|---:|---:|---:|")
    for what, o, n in (("the app", app_old, app_new), ("PostgreSQL", pg_old, pg_new)):
        print(f"| {what} | {o:.3f} | {n:.3f} | {n / o:.3f} |")
    both_old, both_new = app_old + pg_old, app_new + pg_new
    print(f"| **both** | {both_old:.3f} | {both_new:.3f} | {both_new / both_old:.3f} |")
    print(f"\nTook {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
