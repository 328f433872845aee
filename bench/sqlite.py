"""`make bench-sqlite`: the embedded default (SQLite) beside PostgreSQL, on this box, in one run.

The same app, seeded the same way (bench/run.py's seeding) into a SQLite file and into a
PostgreSQL database, measured in turn with wrk: each scenario of --scenarios (default:
booking (a), the sell-out rush (b), the show search (c) and a seat map read from the
database (h)), --pairs times, PostgreSQL first in one pair and SQLite in the next. Each run
has a gunicorn of its own (the same workers, the scenario's server settings), started,
warmed up and stopped, as in bench/run.py's A/B. SQLite runs as the README sets it up: WAL,
writers queued by BEGIN IMMEDIATE with a 20 s busy timeout (booking/settings.py).

The table gives each side's median req/s, p50, p99 and CPU ms/req (gunicorn's workers,
and for PostgreSQL its backends too; SQLite works inside the workers), with the rush (b)
checked for oversold shows on both when it is in --scenarios.
"""

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: seeding, servers, wrk and its figures)

SCENARIOS = "abch"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    run.server_arguments(parser, duration=12, db="booking_bench_pg")
    parser.add_argument("--scenarios", default=SCENARIOS, help=f"which of bench/run.py's (default {SCENARIOS})")
    parser.add_argument("--pairs", type=int, default=2, help="PostgreSQL/SQLite pairs of each scenario (default 2)")
    return parser.parse_args()


def sqlite_cpu(master: int) -> dict[int, float]:
    """CPU seconds so far of gunicorn's workers: SQLite runs inside them."""
    return {pid: run.process_cpu(pid) for pid in run.children(master)}


def measure(args: argparse.Namespace, side: dict, key: str) -> dict:
    before = run.server_cpu(args.pg, side["db"], side["server"].pid) if side["pg"] else sqlite_cpu(side["server"].pid)
    result = run.summarise(run.run_wrk(args, side["port"], run.SCENARIOS[key][1], args.duration, side["envs"][key]))
    after = run.server_cpu(args.pg, side["db"], side["server"].pid) if side["pg"] else sqlite_cpu(side["server"].pid)
    spent = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    result["cpu_ms"] = spent / max(result["requests"], 1) * 1000
    if side["pg"]:
        run.analyze(args.pg, side["db"])
    return result


def oversold(side: dict, args: argparse.Namespace) -> int:
    """Rush shows with more tickets than seats, counted in the side's own database."""
    shows = side["seeded"]["rush"]
    if side["pg"]:
        return run.rush_check(args.pg, side["db"], shows)["oversold"]
    sql = (
        f"SELECT COUNT(*) FROM (SELECT show_id FROM api_ticket WHERE show_id IN ({','.join('?' * len(shows))})"
        " GROUP BY show_id HAVING COUNT(*) > ?)"
    )
    with sqlite3.connect(side["path"]) as conn:
        return conn.execute(sql, [*shows, run.RUSH_CAPACITY]).fetchone()[0]


def main() -> None:
    args = parse_args()
    run.check_tools()
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as work_dir:
        work = Path(work_dir)
        path = work / "bench.sqlite3"
        sides = [
            {"label": "PostgreSQL", "pg": True, "db": args.db, "url": f"{args.pg}/{args.db}", "redis_db": 15},
            {"label": "SQLite", "pg": False, "db": None, "path": path, "url": f"sqlite:///{path}", "redis_db": 14},
        ]
        try:
            for side in sides:
                print(f"Creating and seeding {side['url']} ...", flush=True)
                if side["pg"]:
                    run.create_database(args.pg, args.db)
                redis = args.redis.rsplit("/", 1)[0] + f"/{side['redis_db']}" if args.redis else ""
                side["env"] = run.server_environment(args, side["url"], redis)
                side["seeded"] = run.seed(side["env"], run.ROOT)
                side["envs"] = run.wrk_environments(side["seeded"], args.connections, args.wrk_threads)
            print(
                f"Machine: {os.cpu_count()} cores; PostgreSQL {sides[0]['seeded']['postgres']}, SQLite "
                f"{sqlite3.sqlite_version}; gunicorn {args.workers} sync workers a server; wrk {args.wrk_threads} "
                f"threads, {args.connections} connections, {args.duration} s a run; {args.pairs} pairs of "
                f"{args.scenarios}.",
                flush=True,
            )
            runs: dict[str, dict[str, list[dict]]] = {}
            turn = 0
            for key in args.scenarios:
                for pair in range(args.pairs):
                    # As in bench/run.py's A/B: a server of its own for each run (with both
                    # up, the one started first measured slower), sides taking turns first.
                    for side in sides if turn % 2 == 0 else sides[::-1]:
                        print(f"{run.SCENARIOS[key][0]}, pair {pair + 1}, {side['label']} ...", flush=True)
                        side["port"] = run.free_port()
                        settings = dict(side["env"], **run.SERVER_SETTINGS.get(key, {}))
                        log = work / f"gunicorn-{side['label']}-{key}-{pair + 1}.log"
                        side["server"] = run.start_server(settings, side["port"], log)
                        run.warm_up(args, side["port"], side["envs"])
                        runs.setdefault(key, {}).setdefault(side["label"], []).append(measure(args, side, key))
                        run.stop_server(side["server"])
                        side["server"] = None
                    turn += 1
            checked = {side["label"]: oversold(side, args) for side in sides} if "b" in args.scenarios else {}
        finally:
            for side in sides:
                if side.get("server") is not None:
                    run.stop_server(side["server"])
            run.drop_database(args.pg, args.db)

    print()
    print(
        "| scenario | PostgreSQL req/s | SQLite req/s | SQLite/PostgreSQL | PostgreSQL p50 / p99 ms "
        "| SQLite p50 / p99 ms | PostgreSQL CPU ms/req | SQLite CPU ms/req | errors PostgreSQL / SQLite |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, by_side in runs.items():
        pg, lite = by_side["PostgreSQL"], by_side["SQLite"]

        def med(rs: list[dict], name: str) -> float:
            return statistics.median(r[name] for r in rs)

        print(
            f"| {run.TITLES[key]} | {med(pg, 'rps'):.0f} | {med(lite, 'rps'):.0f} "
            f"| {med(lite, 'rps') / med(pg, 'rps'):.2f} | {med(pg, 'p50'):.1f} / {med(pg, 'p99'):.1f} "
            f"| {med(lite, 'p50'):.1f} / {med(lite, 'p99'):.1f} | {med(pg, 'cpu_ms'):.2f} | {med(lite, 'cpu_ms'):.2f} "
            f"| {sum(r['errors'] for r in pg)} / {sum(r['errors'] for r in lite)} |"
        )
    print()
    print("Medians of each side's runs. Every run (req/s, PostgreSQL / SQLite; every other pair ran SQLite first):")
    for key, by_side in runs.items():
        pairs = zip(by_side["PostgreSQL"], by_side["SQLite"], strict=True)
        print(f"- {run.TITLES[key]}: " + "; ".join(f"{p['rps']:.0f} / {s['rps']:.0f}" for p, s in pairs))
    if checked:
        print(f"Rush (b): oversold shows {checked} (must be 0 on both).")
    for label in ("PostgreSQL", "SQLite"):
        run.print_unexpected({key: by_side[label] for key, by_side in runs.items()}, label)
    print(
        f"\nTook {time.monotonic() - started:.0f} s. Load average (1 min) before: {load_before:.1f}; "
        f"after: {os.getloadavg()[0]:.1f}.",
        flush=True,
    )
    failed = any(r["errors"] for by_side in runs.values() for rs in by_side.values() for r in rs)
    sys.exit(1 if failed or any(checked.values()) else 0)


if __name__ == "__main__":
    main()
