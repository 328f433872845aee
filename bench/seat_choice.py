"""Benchmark of best-available seat choice (api/seatchoice.choose_best): pure Python, in-process.

The map is a 500-seat screen of 20 rows of 25 with two aisles and a wheelchair row; half
its seats are taken, at random with a fixed seed (so every run chooses in the same state).
Each request size from 1 to 10 is timed with timeit, with and without the single-seat rule,
and the median of --repeat rounds is printed per case, in microseconds of this process's
CPU time (time.process_time: the machine is shared, and waiting for a core isn't choosing).

    .venv/bin/python bench/seat_choice.py            # this tree
    .venv/bin/python bench/seat_choice.py --compare REF   # and the seat choice of commit REF, in turn

The goal (issue 23): under 1 ms for every request on this map half sold.
"""

import argparse
import importlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "booking.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()


def seat_map_document() -> dict:
    """20 rows of 25 seats in blocks of 6 | 13 | 6 (two aisles); the front row's ends are
    wheelchair spaces with companion seats beside them. 500 seats."""
    rows = []
    for index in range(20):
        seats, x = [], 1
        for number in range(1, 26):
            if number in (7, 20):
                x += 1  # an aisle before seats 7 and 20
            kind = "seat"
            if index == 0 and number in (1, 25):
                kind = "wheelchair"
            elif index == 0 and number in (2, 24):
                kind = "companion"
            seats.append({"number": number, "x": x, "kind": kind})
            x += 1
        rows.append({"label": chr(ord("A") + index), "seats": seats})
    return {"rows": rows}


def load_at(ref: str) -> tuple[Callable, Callable]:
    """parse and choose_best as of commit `ref`: its api/seatmaps.py (and api/seatchoice.py
    and api/seatruns.py, where seat choice had moved) copied into a package of their own and
    imported from there."""
    package = Path(tempfile.mkdtemp()) / "seats_at_ref"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("seatmaps.py", "seatchoice.py", "seataccess.py", "seatruns.py"):
        shown = subprocess.run(["git", "show", f"{ref}:api/{name}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            (package / name).write_text(shown.stdout)
    sys.path.insert(0, str(package.parent))
    seatmaps = importlib.import_module("seats_at_ref.seatmaps")
    choice = importlib.import_module("seats_at_ref.seatchoice") if (package / "seatchoice.py").exists() else seatmaps
    return seatmaps.parse, choice.choose_best


def measure(parse: Callable, choose_best: Callable, repeat: int) -> dict[tuple[int, bool], float]:
    seat_map = parse(seat_map_document())
    labels = [seat.label for seat in seat_map]
    taken = set(random.Random(23).sample(labels, len(labels) // 2))
    results = {}
    for rule in (True, False):
        for quantity in range(1, 11):

            def choose(quantity: int = quantity, rule: bool = rule) -> None:
                choose_best(seat_map, taken, quantity, single_seat_rule=rule)

            number = 50
            rounds = timeit.repeat(choose, number=number, repeat=repeat, timer=time.process_time)
            results[(quantity, rule)] = statistics.median(rounds) / number * 1e6
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="rounds of 50 choices per case (default 7)")
    parser.add_argument("--compare", metavar="REF", help="also time api/seatmaps.py as of this commit")
    args = parser.parse_args()
    from api.seatchoice import choose_best
    from api.seatmaps import parse

    sides = {"this tree": (parse, choose_best)}
    if args.compare:
        sides = {args.compare: load_at(args.compare), **sides}
    figures = {side: measure(*functions, args.repeat) for side, functions in sides.items()}
    print("500-seat map, half taken; median µs per choose_best call")
    print("| party | rule | " + " | ".join(sides) + (" | ratio |" if args.compare else " |"))
    print("|---:|:---:|" + "---:|" * (len(sides) + (1 if args.compare else 0)))
    worst = 0.0
    for (quantity, rule), new in figures["this tree"].items():
        cells = [f"{figures[side][(quantity, rule)]:.0f}" for side in sides]
        ratio = f" | {figures[args.compare][(quantity, rule)] / new:.1f}×" if args.compare else ""
        print(f"| {quantity} | {'on' if rule else 'off'} | " + " | ".join(cells) + ratio + " |")
        worst = max(worst, new)
    print(f"slowest case in this tree: {worst:.0f} µs (goal < 1000 µs): {'met' if worst < 1000 else 'NOT met'}")


if __name__ == "__main__":
    main()
