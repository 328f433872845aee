#!/usr/bin/python3
"""Kill the primary during a booking rush; prove nothing acknowledged was lost or oversold.

    failover_test.py            the failover test (make failover-test): a synchronous
                                cluster, round 1 kills the primary's Patroni and postmaster
                                (kill -9) mid-rush, round 2 switches over mid-rush
    failover_test.py --teeth    the teeth check (make failover-teeth): an asynchronous
                                cluster whose primary is cut off from its replicas (its WAL
                                senders stopped) while it goes on acknowledging bookings,
                                then killed; passes only if the checks SEE lost bookings
    --keep                      leave the cluster up at the end (else: cluster.py down)
    --rounds kill,switchover    which rounds to run (default both)

The rush: CLIENTS threads over HTTP through the load balancer, each attempt a POST
/api/bookings (1 or 2 seats) or POST /api/tickets with its own Idempotency-Key and a name
that carries the key; an attempt is retried with the same key and body until its answer
is definite (201, or 409 sold_out / seat_taken). Meanwhile each app host runs the cron
jobs (expire, purge) at the same moments, as cron on several hosts does.

After each round, from the primary: every 201 exists (reference, ticket ids, seats); no
ticket that no client attempted or that was refused; no show over capacity; no seat
twice; at most one booking per key; the old primary is back as a streaming replica and
every node holds the same tickets. Exit status 0 only if every check passed.

Standard library only; run as root with /usr/bin/python3 (see cluster.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster  # noqa: E402
from cluster import ClusterError, log  # noqa: E402

CLIENTS = int(os.environ.get("RUSH_CLIENTS", 24))
WARMUP = float(os.environ.get("RUSH_WARMUP", 12))  # seconds of rush before the fault
AFTER = float(os.environ.get("RUSH_AFTER", 15))  # seconds of rush once writes are back
ISOLATED = float(os.environ.get("TEETH_ISOLATED", 5))  # teeth: seconds the primary writes alone
OUTAGE_LIMIT = float(os.environ.get("OUTAGE_LIMIT", 30))  # seconds; the goal of issue 22
ATTEMPT_DEADLINE = 150.0  # an attempt still indeterminate after this long fails the test
CRON_EVERY = float(os.environ.get("CRON_EVERY", 10))
PHONE = "+919876543210"
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "/tmp/booking-failover-artifacts"))

T0 = time.monotonic()


def now() -> float:
    """Seconds since the harness started."""
    return time.monotonic() - T0


# --- the rush -------------------------------------------------------------------------------


@dataclass
class Try:
    start: float
    end: float
    status: int | None  # None: no HTTP answer (connection refused, reset, timeout)
    json_body: bool
    code: str  # the error "code" of a JSON answer, or the exception's class
    definite: bool


@dataclass
class Attempt:
    key: str
    path: str
    body: dict
    show: int
    quantity: int
    tries: list[Try] = field(default_factory=list)
    status: int | None = None  # the definite answer's status
    answer: dict | None = None

    @property
    def name(self) -> str:
        return self.body["name"]


@dataclass
class ShowPlan:
    id: int
    capacity: int
    opens_at: float  # seconds into the round
    big: bool


class Rush:
    """CLIENTS threads booking through the load balancer until stopped."""

    def __init__(self, label: str, shows: list[ShowPlan], clients: int = CLIENTS) -> None:
        self.label, self.shows, self.clients = label, shows, clients
        self.attempts: list[Attempt] = []
        self.stop_new = threading.Event()
        self.threads: list[threading.Thread] = []
        self.started = 0.0
        self.lock = threading.Lock()

    def start(self) -> None:
        self.started = now()
        for index in range(self.clients):
            thread = threading.Thread(target=self._client, args=(index,), name=f"client-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        """No new attempts; wait for those under way to get a definite answer."""
        self.stop_new.set()
        for thread in self.threads:
            thread.join(ATTEMPT_DEADLINE + 30)

    def _pick_show(self, rng: random.Random) -> ShowPlan:
        elapsed = now() - self.started
        open_small = [s for s in self.shows if not s.big and s.opens_at <= elapsed]
        big = [s for s in self.shows if s.big]
        if open_small and rng.random() < 0.4:
            return rng.choice(open_small)
        return rng.choice(big)

    def _client(self, index: int) -> None:
        rng = random.Random(f"{self.label}-{index}")
        conn = None
        while not self.stop_new.is_set():
            show = self._pick_show(rng)
            key = f"{self.label}-{uuid.uuid4().hex}"
            body = {"show": show.id, "name": f"rush {key}", "phone_number": PHONE}
            if rng.random() < 0.6:
                path, quantity = "/api/bookings", rng.choice((1, 1, 2))
                body["quantity"] = quantity
            else:
                path, quantity = "/api/tickets", 1
            attempt = Attempt(key, path, body, show.id, quantity)
            self.attempts.append(attempt)
            conn = self._resolve(attempt, conn, rng)
        if conn is not None:
            conn.close()

    def _resolve(self, attempt: Attempt, conn, rng: random.Random):
        payload = json.dumps(attempt.body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": attempt.key}
        first = now()
        pause = 0.1
        while True:
            start = now()
            status, data, is_json, code = None, None, False, ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(cluster.HOST, cluster.LB_PORT, timeout=60)
                conn.request("POST", attempt.path, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = response.status
                is_json = response.getheader("Content-Type", "").startswith("application/json")
                if is_json:
                    try:
                        data = json.loads(raw)
                        code = str(data.get("code", "")) if isinstance(data, dict) else ""
                    except ValueError:
                        is_json = False
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                code = type(exc).__name__
                if conn is not None:
                    conn.close()
                conn = None
            definite = (
                status == 201
                or (status == 409 and code in ("sold_out", "seat_taken"))
                or (status is not None and 400 <= status < 500 and status not in (409, 429))
            )
            attempt.tries.append(Try(start, now(), status, is_json, code, definite))
            if definite:
                attempt.status, attempt.answer = status, data
                return conn
            if now() - first > ATTEMPT_DEADLINE:
                return conn  # unresolved: reported as a failure
            # Indeterminate (no answer, 5xx, 409 idempotency_key_in_use): the same key again.
            time.sleep(pause * (0.5 + rng.random()))
            pause = min(pause * 2, 1.0)


# --- the cron jobs of every app host ----------------------------------------------------


@dataclass
class JobRun:
    host: int
    job: str
    start: float
    end: float
    rc: int
    out: str
    err: str


class Cron:
    """Every CRON_EVERY seconds, every app host runs the same job at once (as cron on
    several hosts does): expire_tickets and purge_expired_tickets in turn."""

    JOBS = ("expire_tickets", "purge_expired_tickets")

    def __init__(self, hosts: int) -> None:
        self.hosts = hosts
        self.runs: list[JobRun] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="cron", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(120)

    def _loop(self) -> None:
        st = cluster.state()
        python = str(Path(st["app_venv"]) / "bin/python")
        env = cluster.app_env(st["secret_key"])
        tick = 0
        while not self.stopping.wait(0 if tick == 0 else CRON_EVERY):
            job = self.JOBS[tick % 2]
            tick += 1
            started = now()
            procs = [
                subprocess.Popen(
                    [python, "manage.py", job],
                    cwd=st["app_dir"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
                for _ in range(self.hosts)
            ]
            for host, proc in enumerate(procs):
                try:
                    out, err = proc.communicate(timeout=300)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, err = proc.communicate()
                self.runs.append(JobRun(host + 1, job, started, now(), proc.returncode, out, err))


# --- test data, through the app's own ORM -----------------------------------------------------

SHOWS_SCRIPT = """
import json, random, string
from datetime import timedelta
from django.utils import timezone
from api.models import Booking, Customer, Screen, Show, Ticket
from api.seatmaps import grid
plan = json.loads(PLAN)
base = timezone.now().replace(second=0, microsecond=0) + timedelta(days=plan["day"])
venue = Screen.objects.default().venue
def screen_of(seats, name):
    # A screen of its own per show (version 2): rows of up to 50, as many as the capacity needs.
    return Screen.objects.create(venue=venue, name=name, seat_map=grid(-(-seats // 50), min(seats, 50)))
out = []
for i, capacity in enumerate(plan["capacities"]):
    name = f"rush {plan['label']} #{i}"
    show = Show.objects.create(screen=screen_of(capacity, name), title=name, starts_at=base + timedelta(minutes=i),
                               capacity=capacity)
    out.append([show.pk, capacity])
# Tickets of a show that started 9 hours ago or more (an hour apart per round): work for the
# expire and purge jobs.
past_screen = screen_of(plan["expired"], f"past {plan['label']}")
past = Show.objects.create(screen=past_screen, title=f"past {plan['label']}",
                           starts_at=timezone.now().replace(second=0, microsecond=0)
                           - timedelta(hours=9 + plan["day"]), capacity=plan["expired"])
customer = Customer.objects.create(name=f"past {plan['label']}", phone_number="+919876543210")
reference = "".join(random.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(6))
booking = Booking.objects.create(reference=reference, customer=customer)
labels = past_screen.seats.labels()
Ticket.objects.bulk_create(
    Ticket(booking=booking, holder=customer, show=past, seat=labels[n]) for n in range(plan["expired"])
)
print("SHOWS=" + json.dumps(out))
"""


def _grid_labels(seats: int) -> set[str]:
    """The seat labels of a show's own screen (SHOWS_SCRIPT): rows A, B, ... of up to 50."""

    def row(index: int) -> str:
        letters, index = "", index + 1
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(ord("A") + rest) + letters
        return letters

    per_row = min(seats, 50)
    return {f"{row(r)}{n}" for r in range(-(-seats // 50)) for n in range(1, per_row + 1)}


def create_shows(label: str, day: int, small: list[int], big: list[int], round_length: float) -> list[ShowPlan]:
    plan = {"label": label, "day": day, "capacities": small + big, "expired": 300}
    result = cluster.manage("shell", "-c", f"PLAN = {json.dumps(json.dumps(plan))}\n" + SHOWS_SCRIPT)
    line = next(line for line in result.stdout.splitlines() if line.startswith("SHOWS="))
    rows = json.loads(line[len("SHOWS=") :])
    shows = []
    for i, (show_id, capacity) in enumerate(rows):
        is_big = i >= len(small)
        # Small shows go on sale one after another through the round: some sell out before
        # the fault, some during the outage, some after.
        opens = 0.0 if is_big else i * round_length / max(len(small), 1)
        shows.append(ShowPlan(show_id, capacity, opens, is_big))
    return shows


# --- watching the cluster -------------------------------------------------------------------


class Watcher:
    """Polls Patroni's /cluster: when the leader changed, and the members' states."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="watcher", daemon=True)
        self.last = None

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)

    def leader_since(self, after: float, other_than: str | None = None) -> float | None:
        for t, text in self.events:
            if t >= after and text.startswith("leader ") and text.split()[1] != other_than:
                return t
        return None

    def _loop(self) -> None:
        while not self.stopping.wait(0.2):
            try:
                view = cluster.cluster_view()
                leader = cluster.leader_name(view)
                text = f"leader {leader}" if leader else "no leader"
            except (ClusterError, OSError, ValueError):
                text = "no Patroni answers"
            if text != self.last:
                self.events.append((now(), text))
                self.last = text


# --- one round --------------------------------------------------------------------------------


class Failed(Exception):
    pass


@dataclass
class RoundResult:
    label: str
    kind: str
    fault_at: float
    checks: dict
    problems: list[str]
    metrics: dict
    lost: int = 0


def wait_writes_back(rush: Rush, fault: float, limit: float = 120) -> float:
    """When the first booking after the fault was confirmed by a try sent after it."""
    deadline = now() + limit
    while now() < deadline:
        done = [t.end for a in list(rush.attempts) for t in a.tries if t.status == 201 and t.start > fault]
        if done:
            return min(done)
        time.sleep(0.2)
    raise Failed(f"no booking confirmed within {limit:.0f} s of the fault")


def walsender_pids(postmaster: int) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == postmaster and cmd.startswith("postgres: ") and "walsender" in cmd:
            pids.append(int(proc.name))
    return pids


def children_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def restart_when_replaced(
    old: str, watcher: Watcher, fault: float, notes: dict, give_up_after: float | None = None
) -> threading.Thread:
    """The killed host comes back once another node leads (as a host whose Patroni is
    restarted by systemd after a reboot): Patroni rewinds it and it streams again. With
    give_up_after, it comes back after that long even if no other node took over."""

    def work() -> None:
        deadline = now() + 150
        while now() < deadline:
            t = watcher.leader_since(fault, other_than=old)
            if t is not None:
                notes["new_leader_at"] = t - fault
                time.sleep(1)
                cluster.start_patroni(cluster.node_by_name(old))
                notes["restarted_at"] = now() - fault
                return
            if give_up_after is not None and now() - fault > give_up_after:
                notes["no_failover_before_restart"] = f"no other node took over in {give_up_after:.0f} s"
                log(f"no other node took over in {give_up_after:.0f} s: starting {old} again")
                cluster.start_patroni(cluster.node_by_name(old))
                notes["restarted_at"] = now() - fault
                return
            time.sleep(0.2)
        notes["restart_error"] = "no new leader within 150 s"

    thread = threading.Thread(target=work, name="restarter", daemon=True)
    thread.start()
    return thread


def run_round(label: str, kind: str, day: int, watcher: Watcher) -> RoundResult:
    """kind: kill | switchover | teeth | isolate (the teeth's fault on a synchronous cluster)."""
    log(f"== round {label}: {kind}")
    round_length = WARMUP + 25 + AFTER
    small = [5, 8, 12, 20, 6, 10, 16, 20, 8, 12, 20, 5]
    big = [3000, 3000, 3000]  # the largest seat map a screen may have
    shows = create_shows(label, day, small, big, round_length)
    view = cluster.cluster_view()
    old = cluster.leader_name(view)
    if old is None:
        raise Failed("no leader before the round")
    log(f"shows {[s.id for s in shows]}; leader {old}; {cluster.describe_cluster()}")
    rush = Rush(label, shows)
    # Other work on the machine (a test suite, a build) slows the rush: say how busy it was.
    notes: dict = {"old_leader": old, "loadavg_1min_at_start": os.getloadavg()[0]}
    rush.start()
    time.sleep(WARMUP)
    node = cluster.node_by_name(old)
    restarter = None
    isolate_at = None
    if kind in ("teeth", "isolate"):
        postmaster = cluster.postmaster_pid(node)
        senders = walsender_pids(postmaster) if postmaster else []
        if not senders:
            raise Failed("no WAL sender found on the primary")
        for pid in senders:
            os.kill(pid, signal.SIGSTOP)
        isolate_at = now()
        log(f"{kind}: WAL senders {senders} of {old} stopped; the primary goes on writing alone for {ISOLATED:.0f} s")
        time.sleep(ISOLATED)
    fault = now()
    if kind in ("kill", "teeth", "isolate"):
        postmaster = cluster.postmaster_pid(node)
        children = children_of(postmaster) if (kind != "kill" and postmaster) else []
        patroni_pid, postmaster_pid = cluster.kill_node(node)
        for pid in children:  # the stopped WAL senders would not notice their postmaster died
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log(
            f"kill -9 of {old}: patroni {patroni_pid}, postmaster {postmaster_pid}"
            + (f", {len(children)} children" if children else "")
        )
        restarter = restart_when_replaced(old, watcher, fault, notes, 45 if kind == "isolate" else None)
    else:
        result = cluster.patronictl("switchover", "--force", "--leader", old, check=False)
        notes["switchover_output"] = (result.stdout + result.stderr).strip().splitlines()[-2:]
        log(
            f"patronictl switchover --force --leader {old}: exit {result.returncode}: "
            f"{' / '.join(notes['switchover_output'])}"
        )
        if result.returncode != 0:
            rush.stop()
            raise Failed(f"patronictl switchover exited {result.returncode}")
    if kind == "switchover":
        # The old primary still writes until Patroni demotes it: wait for the new leader.
        t = cluster.wait_for("the new leader", lambda: watcher.leader_since(fault, other_than=old), 60)
        notes["new_leader_at"] = t - fault
    back = wait_writes_back(rush, fault if kind != "switchover" else fault + notes["new_leader_at"])
    log(f"writes back {back - fault:.1f} s after the fault; rushing {AFTER:.0f} s more")
    time.sleep(AFTER)
    stopped = now()
    notes["loadavg_1min_at_end"] = os.getloadavg()[0]
    rush.stop()
    log(f"rush stopped: {len(rush.attempts)} attempts")
    if restarter is not None:
        restarter.join(160)

    problems: list[str] = []
    if "restart_error" in notes:
        problems.append(notes["restart_error"])
    rejoin = wait_rejoined(old, fault, problems, same_leader_ok=kind == "isolate")
    notes.update(rejoin)
    checks = check_database(rush, shows, problems)
    if kind == "teeth" and isolate_at is not None:
        checks["acknowledged_while_isolated"] = sum(
            1 for a in rush.attempts if a.status == 201 and isolate_at <= a.tries[-1].end <= fault
        )
    metrics = measure(rush, fault, back, stopped)
    metrics.update(notes)
    if kind in ("kill", "switchover") and metrics["outage_s"] > OUTAGE_LIMIT:
        problems.append(f"write outage {metrics['outage_s']} s, over the {OUTAGE_LIMIT:.0f} s goal")
    return RoundResult(label, kind, fault, checks, problems, metrics, lost=checks.get("lost_bookings", 0))


def wait_rejoined(old: str, fault: float, problems: list[str], limit: float = 120, same_leader_ok=False) -> dict:
    """The old primary back as a streaming replica, a sync standby present (sync mode).
    same_leader_ok: or back as the leader, with every other node streaming."""
    sync = cluster.state()["mode"] == "sync"
    deadline = now() + limit
    last = ""
    while now() < deadline:
        try:
            view = cluster.cluster_view()
            members = cluster.members(view)
            me = members.get(old, {})
            last = cluster.describe_cluster()
            ok = me.get("role") in ("replica", "sync_standby") and me.get("state") == "streaming"
            ok = ok and cluster.leader_name(view) not in (None, old)
            if same_leader_ok and cluster.leader_name(view) == old:
                ok = all(m["state"] == "streaming" for n, m in members.items() if n != old) and len(members) == 3
            if sync:
                ok = ok and any(m["role"] == "sync_standby" and m["state"] == "streaming" for m in members.values())
            if ok:
                log(f"{old} rejoined {now() - fault:.1f} s after the fault: {last}")
                return {"rejoined_after": now() - fault, "cluster_after": last}
        except (ClusterError, OSError, ValueError):
            pass
        time.sleep(0.5)
    problems.append(f"{old} did not rejoin as a streaming replica within {limit:.0f} s: {last}")
    return {"cluster_after": last}


# --- the checks ---------------------------------------------------------------------------------


def rows(sql: str, port: int = cluster.WRITE_PORT) -> list[list[str]]:
    out = cluster.psql(sql, port=port)
    return [line.split("\t") for line in out.splitlines() if line]


def check_database(rush: Rush, shows: list[ShowPlan], problems: list[str]) -> dict:
    ids = ",".join(str(s.id) for s in shows)
    leader = cluster.leader_name()
    leader_port = cluster.node_by_name(leader).pg_port
    served_by = rows("SELECT inet_server_port(), pg_is_in_recovery()")[0]
    if served_by != [str(leader_port), "f"]:
        problems.append(f"the write port reached {served_by}, not the leader {leader} ({leader_port})")

    tickets = rows(
        "SELECT t.id, t.show_id, t.seat, coalesce(b.reference, ''), coalesce(c.name, '') FROM api_ticket t"
        " LEFT JOIN api_booking b ON b.id = t.booking_id LEFT JOIN api_customer c ON c.id = b.customer_id"
        f" WHERE t.show_id IN ({ids})"
    )
    keys = rows(
        # The answer kept as JSON text (migration 0024), read as jsonb here.
        "SELECT key, status_code, coalesce(body::jsonb->>'reference', body::jsonb->>'booking', '')"
        " FROM api_idempotencykey"
        f" WHERE key LIKE '{rush.label}-%'"
    )
    capacity = {s.id: s.capacity for s in shows}
    by_name = {a.name: a for a in rush.attempts}
    by_key = {a.key: a for a in rush.attempts}

    # What the database holds, booking by booking.
    db_bookings: dict[str, dict] = defaultdict(lambda: {"tickets": set(), "names": set(), "show": set(), "seats": []})
    seats_per_show: Counter = Counter()
    seat_count: Counter = Counter()
    dangling = 0
    for ticket_id, show_id, seat, reference, name in tickets:
        if not reference or not name:
            dangling += 1
        b = db_bookings[reference]
        b["tickets"].add(ticket_id)
        b["names"].add(name)
        b["show"].add(int(show_id))
        b["seats"].append(seat)
        seats_per_show[int(show_id)] += 1
        seat_count[(int(show_id), seat)] += 1

    # What the clients were told.
    confirmed = [a for a in rush.attempts if a.status == 201]
    told: dict[str, dict] = {}
    promised_seats: Counter = Counter()
    for a in confirmed:
        answer = a.answer or {}
        if a.path == "/api/bookings":
            reference = answer.get("reference")
            ticket_list = answer.get("tickets", [])
        else:
            reference = answer.get("booking")
            ticket_list = [answer]
        told[a.key] = {
            "reference": reference,
            "tickets": {t.get("id") for t in ticket_list},
            "seats": sorted(t.get("seat") for t in ticket_list),
        }
        for t in ticket_list:
            promised_seats[(a.show, t.get("seat"))] += 1

    lost, mismatched = [], []
    for a in confirmed:
        expect = told[a.key]
        got = db_bookings.get(expect["reference"])
        if got is None:
            lost.append(a)
        elif got["tickets"] != expect["tickets"] or got["names"] != {a.name} or got["show"] != {a.show}:
            mismatched.append(a)

    unknown, phantom = [], []
    per_key: Counter = Counter()
    for reference, b in db_bookings.items():
        for name in b["names"]:
            attempt = by_name.get(name)
            if attempt is None:
                unknown.append(reference)
                continue
            per_key[attempt.key] += 1
            if attempt.status != 201 or told.get(attempt.key, {}).get("reference") != reference:
                phantom.append((reference, attempt.key, attempt.status))
    duplicate_keys = [k for k, n in per_key.items() if n > 1]
    over = {s: (n, capacity[s]) for s, n in seats_per_show.items() if n > capacity[s]}
    twice = [k for k, n in seat_count.items() if n > 1]
    promised_twice = [k for k, n in promised_seats.items() if n > 1]
    out_of_range = [k for k in seat_count if k[1] not in _grid_labels(capacity[k[0]])]
    stored = {k: (int(status), ref) for k, status, ref in keys}
    key_mismatch = [a.key for a in confirmed if stored.get(a.key, (None, None))[1] != told[a.key]["reference"]]
    stray_keys = [k for k in stored if k not in by_key]
    unresolved = [a for a in rush.attempts if a.status is None]
    unexpected = [a for a in rush.attempts if a.status not in (None, 201, 409)]

    sold_out = [s.id for s in shows if seats_per_show[s.id] == s.capacity]
    checks = {
        "attempts": len(rush.attempts),
        "confirmed": len(confirmed),
        "seats_confirmed": sum(len(told[a.key]["tickets"]) for a in confirmed),
        "refused_sold_out": sum(1 for a in rush.attempts if a.status == 409),
        "tickets_in_db": len(tickets),
        "bookings_in_db": len(db_bookings),
        "shows_sold_out": len(sold_out),
        "lost_bookings": len(lost),
        "mismatched_bookings": len(mismatched),
        "tickets_no_client_attempted": len(unknown),
        "bookings_not_confirmed_to_client": len(phantom),
        "keys_with_two_bookings": len(duplicate_keys),
        "shows_over_capacity": len(over),
        "seats_sold_twice": len(twice),
        "seats_promised_twice": len(promised_twice),
        "seats_out_of_range": len(out_of_range),
        "dangling_links": dangling,
        "idempotency_rows_mismatched": len(key_mismatch),
        "idempotency_rows_without_attempt": len(stray_keys),
        "unresolved_attempts": len(unresolved),
        "unexpected_answers": len(unexpected),
    }
    for name, value in checks.items():
        if name in (
            "attempts",
            "confirmed",
            "seats_confirmed",
            "refused_sold_out",
            "tickets_in_db",
            "bookings_in_db",
            "shows_sold_out",
        ):
            continue
        if value:
            problems.append(f"{name}: {value}")
    if lost:
        a = lost[0]
        problems.append(
            f"e.g. lost: key {a.key} {a.path} answered 201 reference {told[a.key]['reference']} "
            f"at {a.tries[-1].end:.2f} s, not in the database"
        )
    if phantom:
        problems.append(f"e.g. not confirmed but booked: {phantom[0]}")
    if over:
        problems.append(f"over capacity: {over}")
    if unexpected:
        a = unexpected[0]
        problems.append(f"e.g. unexpected answer {a.status} {a.answer} to {a.path} {a.body}")
    if not sold_out:
        problems.append("no show sold out: the rush did not test the capacity limit")
    if len(confirmed) < 100:
        problems.append(f"only {len(confirmed)} bookings confirmed: the rush was too thin to tell anything")
    checks["nodes_identical"] = same_on_every_node(ids, problems)
    return checks


def same_on_every_node(ids: str, problems: list[str], limit: float = 60) -> bool:
    """Every node, the rejoined old primary included, holds exactly the primary's tickets."""
    sql = (
        "SELECT count(*), coalesce(md5(string_agg(id::text, ',' ORDER BY id)), '') FROM api_ticket"
        f" WHERE show_id IN ({ids})"
    )
    deadline = now() + limit
    seen = {}
    while now() < deadline:
        seen = {}
        for node in cluster.NODES:
            try:
                seen[node.name] = tuple(rows(sql, port=node.pg_port)[0])
            except ClusterError:
                seen[node.name] = None
        if len(set(seen.values())) == 1 and None not in seen.values():
            return True
        time.sleep(1)
    problems.append(f"nodes differ (count, md5 of ticket ids): {seen}")
    return False


# --- the figures ------------------------------------------------------------------------------


def measure(rush: Rush, fault: float, back: float, stopped: float) -> dict:
    tries = [t for a in rush.attempts for t in a.tries]
    ok_ends = sorted(t.end for t in tries if t.status == 201)
    # The write outage: the longest gap between two confirmed bookings after the fault
    # began (a switchover's old primary goes on writing for a moment after the command).
    gap_start, gap_end = fault, back
    for before, after in zip(ok_ends, ok_ends[1:], strict=False):
        if after >= fault and before <= stopped and after - before > gap_end - gap_start:
            gap_start, gap_end = before, after
    failed = [t for t in tries if not t.definite and gap_start <= t.end <= gap_end]
    warm = rush.started + 2
    before_n = sum(1 for t in ok_ends if warm <= t <= gap_start)
    after_n = sum(1 for t in ok_ends if gap_end <= t <= stopped)
    fivexx = Counter(
        f"{t.status} {'json' if t.json_body else 'non-json'}" for t in tries if t.status is not None and t.status >= 500
    )
    codes_5xx = Counter(f"{t.status} {t.code or '-'}" for t in tries if t.status is not None and t.status >= 500)
    no_answer = Counter(t.code for t in tries if t.status is None)
    latencies = sorted(t.end - t.start for t in tries if t.status == 201 and t.end < gap_start)
    return {
        "outage_s": round(gap_end - gap_start, 2),
        "outage_window_s": [round(gap_start - fault, 2), round(gap_end - fault, 2)],
        "fault_to_first_confirmed_s": round(back - fault, 2),
        "failed_requests_in_outage": len(failed),
        "bookings_per_s_before": round(before_n / max(gap_start - warm, 1e-9), 1),
        "bookings_per_s_after": round(after_n / max(stopped - gap_end, 1e-9), 1),
        "tries": len(tries),
        "indeterminate_tries": sum(1 for t in tries if not t.definite),
        "5xx_by_status_and_body": dict(fivexx),
        "5xx_by_code": dict(codes_5xx),
        "no_http_answer": dict(no_answer),
        "confirmed_after_a_retry": sum(1 for a in rush.attempts if a.status == 201 and len(a.tries) > 1),
        "idempotency_key_in_use_409": sum(1 for t in tries if t.status == 409 and t.code == "idempotency_key_in_use"),
        "booking_latency_ms_p50_p99_before": [
            round(1000 * statistics.median(latencies), 1),
            round(1000 * latencies[int(len(latencies) * 0.99)], 1),
        ]
        if latencies
        else None,
    }


def check_cron(cron: Cron, outages: list[tuple[float, float]], problems: list[str]) -> dict:
    """A job may fail only while the database is failing over, and then cleanly."""
    clean_failure = ("OperationalError", "InterfaceError", "AdminShutdown", "connection", "server closed")
    failed, tolerated = [], []
    for run in cron.runs:
        if run.rc == 0:
            continue
        during = any(run.start <= end + 5 and run.end >= start - 1 for start, end in outages)
        clean = run.rc > 0 and any(s in run.err for s in clean_failure)
        (tolerated if during and clean else failed).append(run)
    for run in failed:
        problems.append(
            f"cron: {run.job} on host {run.host} exited {run.rc} at {run.start:.1f} s "
            f"outside a failover or not cleanly: {run.err.strip().splitlines()[-1:]}"
        )
    skipped = sum(1 for r in cron.runs if r.rc == 0 and "Another host" in r.out)
    worked = Counter(
        r.out.strip().splitlines()[0] if r.out.strip() else ""
        for r in cron.runs
        if r.rc == 0 and "Another host" not in r.out
    )
    return {
        "runs": len(cron.runs),
        "exit_codes": dict(Counter(r.rc for r in cron.runs)),
        "skipped_because_another_host_had_the_lock": skipped,
        "failed_during_failover_cleanly": len(tolerated),
        "failed_otherwise": len(failed),
        "failure_samples": [
            f"{r.job} host {r.host} rc {r.rc} at {r.start:.1f} s: {(r.err.strip().splitlines() or [''])[-1][:200]}"
            for r in tolerated[:3]
        ],
        "outputs": dict(worked.most_common(6)),
    }


# --- main ------------------------------------------------------------------------------------


def dump_logs(verbose: bool) -> None:
    """Every log copied beside the report; their tails printed when the run failed."""
    shutil.rmtree(ARTIFACTS / "logs", ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in sorted(cluster.RUNTIME.glob("**/*.log")):
        target = ARTIFACTS / "logs" / path.relative_to(cluster.RUNTIME)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    for path in sorted((ARTIFACTS / "logs").glob("**/*.log")) if verbose else []:
        if "patroni" in path.name or "haproxy" in path.name or "gunicorn" in path.name:
            lines = path.read_text(errors="replace").splitlines()[-15:]
            print(f"--- {path.relative_to(ARTIFACTS)} (last lines)", flush=True)
            print("\n".join(lines), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teeth", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--rounds", default="kill,switchover")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("failover_test.py runs as root", file=sys.stderr)
        return 2
    started = time.monotonic()
    kinds = ["teeth"] if args.teeth else [k.strip() for k in args.rounds.split(",") if k.strip()]
    results: list[RoundResult] = []
    problems: list[str] = []
    cron_summary: dict = {}
    watcher = cron = None
    exit_code = 1
    try:
        cluster.up(async_replication=args.teeth)
        watcher = Watcher()
        watcher.start()
        cron = Cron(cluster.state()["app_hosts"])
        cron.start()
        for number, kind in enumerate(kinds, start=1):
            result = run_round(f"r{number}{kind[0]}", kind, 30 + number, watcher)
            results.append(result)
        cron.stop()
        outages = [(r.fault_at - 1, r.fault_at + r.metrics["outage_s"] + 2) for r in results]
        cron_summary = check_cron(cron, outages, problems)
        exit_code = 0
    except (Failed, ClusterError) as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001 (a harness bug fails the test loudly, never silently)
        problems.append("harness error:\n" + traceback.format_exc())
    finally:
        if cron is not None:
            cron.stop()
        if watcher is not None:
            watcher.stop()

    for r in results:
        problems.extend(
            f"round {r.label} ({r.kind}): {p}"
            for p in r.problems
            if not (r.kind == "teeth" and is_expected_teeth_problem(p))
        )
    # API.md: a database that can't be reached is a JSON 503 {"code": "unavailable"}, and
    # every error under /api/ is JSON. Reported loudly; a failure with REQUIRE_JSON_ERRORS=1.
    contract = []
    for r in results:
        bad = {k: v for k, v in r.metrics["5xx_by_status_and_body"].items() if k.endswith("non-json")}
        not_503 = {k: v for k, v in r.metrics["5xx_by_code"].items() if not k.startswith("503 unavailable")}
        if bad or not_503:
            contract.append(
                f"round {r.label}: 5xx answers against API.md (want JSON 503 code unavailable): {bad} {not_503}"
            )
    if os.environ.get("REQUIRE_JSON_ERRORS") == "1":
        problems.extend(contract)
    report = {
        "mode": "teeth (asynchronous)" if args.teeth else "synchronous (strict)",
        "rounds": [
            {"label": r.label, "kind": r.kind, "checks": r.checks, "metrics": r.metrics, "problems": r.problems}
            for r in results
        ],
        "cron": cron_summary,
        "leader_timeline": watcher.events if watcher else [],
        "problems": problems,
        "contract_warnings": contract,
    }
    if args.teeth:
        lost = sum(r.lost for r in results)
        report["teeth"] = f"{'PASS' if lost else 'FAIL'}: {lost} acknowledged bookings lost"
        if not lost and results:
            problems.append("teeth: no acknowledged booking was lost, so this run cannot show the harness sees loss")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dump_logs(verbose=bool(problems or exit_code))
    if not args.keep and cluster.STARTED:
        try:
            cluster.down()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"cluster down failed: {exc}")
    report["wall_time_s"] = round(time.monotonic() - started, 1)
    (ARTIFACTS / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print_summary(report)
    ok = exit_code == 0 and not problems
    print(
        f"{'PASS' if ok else 'FAIL'}: {'teeth check' if args.teeth else 'failover test'} in "
        f"{report['wall_time_s']:.0f} s; report in {ARTIFACTS / 'report.json'}",
        flush=True,
    )
    return 0 if ok else 1


def is_expected_teeth_problem(problem: str) -> bool:
    """In the teeth check, loss (and what follows from it) is the point, not a failure."""
    return problem.startswith(
        (
            "lost_bookings",
            "e.g. lost",
            "seats_promised_twice",
            "idempotency_rows_mismatched",
            "mismatched_bookings",
            "bookings_not_confirmed_to_client",
            "e.g. not confirmed",
        )
    )


def print_summary(report: dict) -> None:
    print("=" * 72)
    print(f"mode: {report['mode']}")
    for r in report["rounds"]:
        m, c = r["metrics"], r["checks"]
        print(
            f"round {r['label']} ({r['kind']}): outage {m['outage_s']} s (fault -> first confirmed "
            f"{m['fault_to_first_confirmed_s']} s), {m['failed_requests_in_outage']} failed requests in it, "
            f"bookings/s {m['bookings_per_s_before']} before, {m['bookings_per_s_after']} after"
        )
        print(
            f"  new leader after {m.get('new_leader_at', '-')} s; old primary rejoined after "
            f"{m.get('rejoined_after', '-')} s: {m.get('cluster_after', '')}"
        )
        print(
            f"  5xx by status/body: {m['5xx_by_status_and_body']}; by code: {m['5xx_by_code']}; "
            f"no HTTP answer: {m['no_http_answer']}; 409 key in use: {m['idempotency_key_in_use_409']}; "
            f"confirmed after a retry: {m['confirmed_after_a_retry']}"
        )
        print(f"  latency of a booking before the fault p50/p99 ms: {m['booking_latency_ms_p50_p99_before']}")
        print("  checks: " + ", ".join(f"{k} {v}" for k, v in c.items()))
        for p in r["problems"]:
            print(f"  ! {p}")
    if report["cron"]:
        print(f"cron: {report['cron']}")
    print("leader timeline: " + "; ".join(f"{t:.1f} {e}" for t, e in report["leader_timeline"]))
    if "teeth" in report:
        print(f"teeth: {report['teeth']}")
    for warning in report["contract_warnings"]:
        print(f"CONTRACT WARNING: {warning}")
    for p in report["problems"]:
        print(f"PROBLEM: {p}")
    print("=" * 72, flush=True)


if __name__ == "__main__":
    sys.exit(main())
