#!/usr/bin/python3
"""What the cluster costs a booking: one client, one booking at a time, four paths.

    single      client -> gunicorn -> a single local PostgreSQL 15 (started here, port 15435)
    primary     client -> gunicorn -> the Patroni primary's own port (synchronous commit)
    haproxy     client -> gunicorn -> HAProxy's write port -> the primary (the app's path)
    lb+haproxy  client -> the load balancer -> gunicorn -> HAProxy -> the primary

Each path books POST /api/bookings (1 seat, an Idempotency-Key each) in interleaved
batches, so that the machine's other work falls on all paths alike; and pgbench times the
bare commit of a one-row INSERT on the single server and on the primary. Brings the
cluster up and down itself (make cluster-latency). Same environment as cluster.py.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster  # noqa: E402
from cluster import HOST, PG_BIN, RUNTIME, ClusterError, log  # noqa: E402

SINGLE_PORT = 15435
PORTS = {"single": 15486, "primary": 15487, "haproxy": cluster.APP_PORTS[0], "lb+haproxy": cluster.LB_PORT}
BOOKINGS = int(os.environ.get("LATENCY_BOOKINGS", 400))
BATCH = 20
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "/tmp/booking-failover-artifacts"))


def as_postgres(*argv: str) -> None:
    cluster.run(
        ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv],
        quiet=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
    )


def start_single() -> None:
    home = RUNTIME / "single"
    for sub in ("run", "log"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    cluster.run(["chown", "-R", "postgres:postgres", str(home)])
    home.chmod(0o700)
    as_postgres(
        str(PG_BIN / "initdb"),
        "-D",
        str(home / "data"),
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--data-checksums",
    )
    # The same server settings as the cluster's nodes, less replication.
    options = (
        f"-p {SINGLE_PORT} -k {home / 'run'} -c listen_addresses={HOST} -c shared_buffers=64MB "
        "-c max_connections=100 -c synchronous_commit=on -c wal_log_hints=on"
    )
    as_postgres(
        str(PG_BIN / "pg_ctl"),
        "start",
        "-w",
        "-D",
        str(home / "data"),
        "-l",
        str(home / "log/postgresql.log"),
        "-o",
        options,
    )
    cluster.psql(f"CREATE DATABASE {cluster.DB_NAME}", port=SINGLE_PORT, db="postgres")


def start_app(name: str, port: int, database_url: str) -> None:
    st = cluster.state()
    env = cluster.app_env(st["secret_key"])
    env["DATABASE_URL"] = database_url
    if name == "single":
        cluster.run(
            [str(Path(st["app_venv"]) / "bin/python"), "manage.py", "migrate", "--noinput"],
            env=env,
            cwd=st["app_dir"],
            quiet=True,
        )
    argv = [
        str(Path(st["app_venv"]) / "bin/gunicorn"),
        "-c",
        "gunicorn.conf.py",
        "booking.wsgi",
        "-b",
        f"{HOST}:{port}",
        "-w",
        "2",
    ]
    cluster._spawn(
        f"app-{name}", argv, RUNTIME / f"app-{name}" / "gunicorn.log", f"{HOST}:{port}", env=env, cwd=st["app_dir"]
    )
    cluster.wait_for(f"app {name}", lambda: cluster.app_healthy(port), 60, interval=0.3)


def make_show(database_url: str, day: int) -> int:
    st = cluster.state()
    env = cluster.app_env(st["secret_key"])
    env["DATABASE_URL"] = database_url
    code = (
        "from datetime import timedelta\nfrom django.utils import timezone\nfrom api.models import Screen, Show\n"
        "from api.seatmaps import grid\n"
        "screen = Screen.objects.create(venue=Screen.objects.default().venue, name='latency', seat_map=grid(30, 100))\n"
        f"s = Show.objects.create(screen=screen, title='latency', capacity=3000, starts_at=timezone.now().replace("
        f"second=0, microsecond=0) + timedelta(days={day}))\nprint('SHOW=%d' % s.pk)"
    )
    out = cluster.run(
        [str(Path(st["app_venv"]) / "bin/python"), "manage.py", "shell", "-c", code],
        env=env,
        cwd=st["app_dir"],
        quiet=True,
    ).stdout
    return int(next(line for line in out.splitlines() if line.startswith("SHOW="))[5:])


def book(conn: http.client.HTTPConnection, show: int) -> float:
    key = uuid.uuid4().hex
    body = json.dumps({"show": show, "quantity": 1, "name": f"latency {key}", "phone_number": "+919876543210"})
    started = time.perf_counter()
    conn.request(
        "POST",
        "/api/bookings",
        body=body,
        headers={"Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": key},
    )
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    if response.status != 201:
        raise ClusterError(f"booking answered {response.status}")
    return elapsed


def pgbench(port: int) -> float:
    """Mean latency (ms) of one client committing one-row INSERTs for 10 s."""
    cluster.psql("CREATE TABLE IF NOT EXISTS latency_probe (id bigserial PRIMARY KEY, at timestamptz)", port=port)
    script = RUNTIME / "probe.sql"
    script.write_text("INSERT INTO latency_probe (at) VALUES (now());\n")
    out = subprocess.run(
        [
            str(PG_BIN / "pgbench"),
            "-h",
            HOST,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-n",
            "-c",
            "1",
            "-T",
            "10",
            "-f",
            str(script),
            cluster.DB_NAME,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("latency average"))
    return float(line.split("=")[1].split()[0])


def main() -> int:
    if os.geteuid() != 0:
        print("latency.py runs as root", file=sys.stderr)
        return 2
    results: dict = {}
    try:
        cluster.up(app_hosts=1)
        start_single()
        leader = cluster.node_by_name(cluster.leader_name())
        urls = {
            "single": f"postgres://postgres@{HOST}:{SINGLE_PORT}/{cluster.DB_NAME}",
            "primary": f"postgres://postgres@{HOST}:{leader.pg_port}/{cluster.DB_NAME}",
            "haproxy": f"postgres://postgres@{HOST}:{cluster.WRITE_PORT}/{cluster.DB_NAME}",
        }
        start_app("single", PORTS["single"], urls["single"])
        start_app("primary", PORTS["primary"], urls["primary"])
        shows = {
            "single": make_show(urls["single"], 50),
            "primary": make_show(urls["haproxy"], 51),
            "haproxy": make_show(urls["haproxy"], 52),
            "lb+haproxy": make_show(urls["haproxy"], 53),
        }
        conns = {name: http.client.HTTPConnection(HOST, port, timeout=30) for name, port in PORTS.items()}
        times: dict[str, list[float]] = {name: [] for name in PORTS}
        for name in PORTS:  # warm up every worker's connection and prepared statements
            for _ in range(20):
                book(conns[name], shows[name])
        log(f"booking {BOOKINGS} times on each path, in batches of {BATCH}")
        for _ in range(BOOKINGS // BATCH):
            for name in PORTS:
                for _ in range(BATCH):
                    times[name].append(book(conns[name], shows[name]))
        for name, values in times.items():
            values.sort()
            results[name] = {
                "mean_ms": round(1000 * statistics.fmean(values), 2),
                "p50_ms": round(1000 * values[len(values) // 2], 2),
                "p90_ms": round(1000 * values[int(len(values) * 0.9)], 2),
                "p99_ms": round(1000 * values[int(len(values) * 0.99)], 2),
            }
        results["pgbench_insert_commit_ms"] = {
            "single": pgbench(SINGLE_PORT),
            "primary (sync standby)": pgbench(leader.pg_port),
            "via haproxy": pgbench(cluster.WRITE_PORT),
        }
        results["loadavg_1min"] = os.getloadavg()[0]
    except ClusterError as exc:
        print(f"latency.py: {exc}", file=sys.stderr)
        return 1
    finally:
        if cluster.STARTED:
            cluster.down()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "latency.json").write_text(json.dumps(results, indent=1))
    print("one client, sequential POST /api/bookings (1 seat), ms:")
    for name in PORTS:
        r = results[name]
        print(
            f"  {name:11s} mean {r['mean_ms']:7.2f}  p50 {r['p50_ms']:7.2f}  p90 {r['p90_ms']:7.2f}  "
            f"p99 {r['p99_ms']:7.2f}"
        )
    print(f"pgbench, one client, INSERT + commit, mean ms: {results['pgbench_insert_commit_ms']}")
    print(f"load average (1 min) at the end: {results['loadavg_1min']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
