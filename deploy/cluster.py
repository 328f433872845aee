#!/usr/bin/python3
"""The booking service on several "hosts" of one machine: etcd, Patroni, HAProxy, gunicorn.

    cluster.py up [--async]   from nothing: packages, Patroni's venv, 3 etcd members,
                              3 PostgreSQL 15 nodes under Patroni, HAProxy, the database
                              and its migrations, 3 gunicorn app hosts behind the front
    cluster.py status         Patroni's view of the cluster, and where each front points
    cluster.py down           stop everything this set-up started, delete its data

Standard library only, run as root with the system's /usr/bin/python3 (Patroni runs as the
postgres user, from a venv built with that same Python). Ports and paths are below; the
runtime directory (default /tmp/booking-cluster) holds every data directory, config, log
and pid file, and `down` deletes it. failover_test.py imports this module.

Environment: APP_DIR (the Django project to run; default: the repository that holds this
deploy/ folder), APP_VENV (its virtualenv; default APP_DIR/.venv, else the repository's
.venv), APP_HOSTS (3), APP_WORKERS (gunicorn workers per host, 2), BOOKING_CLUSTER_DIR,
PATRONI_HOME (where Patroni's venv lives, /opt/booking-patroni).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
RUNTIME = Path(os.environ.get("BOOKING_CLUSTER_DIR", "/tmp/booking-cluster"))
PATRONI_HOME = Path(os.environ.get("PATRONI_HOME", "/opt/booking-patroni"))
PATRONI_VENV = PATRONI_HOME / "venv"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_PYTHON = "/usr/bin/python3"  # one the postgres user can run (not pyenv's under /root)
HOST = "127.0.0.1"

# Ports: clear of 2379/2380 (a packaged etcd), 5432 (the machine's own PostgreSQL) and
# 8008 (Patroni's default REST port).
ETCD_MEMBERS = [("etcd1", 15401, 15411), ("etcd2", 15402, 15412), ("etcd3", 15403, 15413)]


@dataclass(frozen=True)
class Node:
    name: str
    pg_port: int
    rest_port: int

    @property
    def dir(self) -> Path:
        return RUNTIME / self.name

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def config(self) -> Path:
        return self.dir / "patroni.yml"

    @property
    def api(self) -> str:
        return f"http://{HOST}:{self.rest_port}"


NODES = [Node("node1", 15431, 15441), Node("node2", 15432, 15442), Node("node3", 15433, 15443)]
WRITE_PORT = 15450  # HAProxy -> the primary
STATS_PORT = 15459
LB_PORT = 15480  # HAProxy -> the app hosts
APP_PORTS = [15481, 15482, 15483, 15484, 15485]
DB_NAME = "booking"
STARTED = False  # set by up() once it starts building: a failed up() then tears down only its own


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class ClusterError(RuntimeError):
    pass


# --- processes: started by us, remembered in pid files, ended by their id ---------------


def _pidfile(name: str) -> Path:
    return RUNTIME / "pids" / f"{name}.pid"


def _remember(name: str, pid: int, signature: str) -> None:
    _pidfile(name).parent.mkdir(parents=True, exist_ok=True)
    _pidfile(name).write_text(f"{pid}\n{signature}\n")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int, signature: str) -> bool:
    """The process still runs and is the one we started (pids wrap at 32768)."""
    cmdline = _cmdline(pid)
    if not cmdline or signature not in cmdline:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def remembered(name: str) -> int | None:
    """The pid of a process we started under this name, if it is still that process."""
    try:
        pid_text, signature = _pidfile(name).read_text().splitlines()[:2]
    except (OSError, ValueError):
        return None
    pid = int(pid_text)
    return pid if _alive(pid, signature) else None


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pids: dict[int, str], seconds: float) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while pids and time.monotonic() < deadline:
        pids = {pid: sig for pid, sig in pids.items() if _alive(pid, sig)}
        if pids:
            time.sleep(0.1)
    return pids


def _spawn(name: str, argv: list[str], log_path: Path, signature: str, env: dict | None = None, cwd=None) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    _remember(name, proc.pid, signature)
    return proc.pid


def run(
    argv: list[str],
    *,
    env: dict | None = None,
    cwd=None,
    check: bool = True,
    quiet: bool = False,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise ClusterError(
            f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    if not quiet and result.stdout.strip():
        print(result.stdout.rstrip(), flush=True)
    return result


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(what: str, check, seconds: float, interval: float = 0.2):
    deadline = time.monotonic() + seconds
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 (any failure means "not yet")
            last_error = exc
        time.sleep(interval)
    raise ClusterError(
        f"timed out after {seconds:.0f} s waiting for {what}" + (f" ({last_error})" if last_error else "")
    )


# --- from nothing: packages and Patroni's virtualenv ------------------------------------------


def ensure_packages() -> None:
    missing = [pkg for pkg, binary in (("etcd-server", "etcd"), ("haproxy", "haproxy")) if not shutil.which(binary)]
    if not Path(PG_BIN / "postgres").exists():
        raise ClusterError(f"PostgreSQL 15 binaries not found in {PG_BIN}")
    if not missing:
        return
    log(f"apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Another apt (CI installing its own packages) may hold the lock: wait for it.
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    run(["apt-get", *lock, "update", "-qq"], env=env, quiet=True)
    run(["apt-get", *lock, "install", "-y", "-qq", *missing], env=env, quiet=True)


def ensure_patroni_venv() -> None:
    requirements = DEPLOY / "requirements-patroni.txt"
    stamp = PATRONI_VENV / f".installed-{hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]}"
    if stamp.exists():
        return
    log(f"building Patroni's virtualenv in {PATRONI_VENV}")
    shutil.rmtree(PATRONI_VENV, ignore_errors=True)
    PATRONI_HOME.mkdir(parents=True, exist_ok=True)
    PATRONI_HOME.chmod(0o755)
    run([SYSTEM_PYTHON, "-m", "venv", str(PATRONI_VENV)])
    pip = [str(PATRONI_VENV / "bin/pip"), "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "-r", str(requirements)], quiet=True)
    stamp.touch()
    # The postgres user runs it: everything readable, nothing writable by it.
    run(["chmod", "-R", "a+rX", str(PATRONI_HOME)])


# --- etcd ----------------------------------------------------------------------------


def etcd_hosts() -> str:
    return ",".join(f"{HOST}:{client}" for _, client, _ in ETCD_MEMBERS)


def start_etcd() -> None:
    token = "booking-" + secrets.token_hex(4)
    initial = ",".join(f"{name}=http://{HOST}:{peer}" for name, _, peer in ETCD_MEMBERS)
    for name, client, peer in ETCD_MEMBERS:
        data = RUNTIME / name
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        argv = [
            "etcd",
            "--name",
            name,
            "--data-dir",
            str(data / "data"),
            "--listen-client-urls",
            f"http://{HOST}:{client}",
            "--advertise-client-urls",
            f"http://{HOST}:{client}",
            "--listen-peer-urls",
            f"http://{HOST}:{peer}",
            "--initial-advertise-peer-urls",
            f"http://{HOST}:{peer}",
            "--initial-cluster",
            initial,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            token,
            "--listen-metrics-urls",
            "",
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]
        _spawn(name, argv, data / "etcd.log", f"--name {name}")
    for name, client, _ in ETCD_MEMBERS:
        wait_for(f"{name} healthy", lambda c=client: b'"true"' in http_get(f"http://{HOST}:{c}/health")[1], 30)
    log("etcd: 3 members healthy")


# --- Patroni and PostgreSQL --------------------------------------------------------------


def _node_values(node: Node, async_replication: bool, passwords: dict) -> dict:
    return {
        "name": node.name,
        "host": HOST,
        "rest_port": node.rest_port,
        "pg_port": node.pg_port,
        "etcd_hosts": etcd_hosts(),
        "data_dir": node.data_dir,
        "node_dir": node.dir,
        "bin_dir": PG_BIN,
        "socket_dir": node.dir / "run",
        "log_dir": node.dir / "log",
        "synchronous_mode": "false" if async_replication else "true",
        "synchronous_mode_strict": "false" if async_replication else "true",
        # The teeth check's cluster: asynchronous, and a replica promotes whatever it lags.
        # MAXIMUM_LAG_ON_FAILOVER (bytes) overrides it, for experiments (README, "Isolation").
        "maximum_lag_on_failover": int(os.environ.get("MAXIMUM_LAG_ON_FAILOVER", 1 << 30 if async_replication else 0)),
        **passwords,
    }


def write_node_configs(async_replication: bool) -> None:
    template = string.Template((DEPLOY / "patroni/patroni.yml.tmpl").read_text())
    passwords = {k: secrets.token_hex(16) for k in ("superuser_password", "replication_password", "rewind_password")}
    for node in NODES:
        for sub in ("run", "log"):
            (node.dir / sub).mkdir(parents=True, exist_ok=True)
        node.config.write_text(template.substitute(_node_values(node, async_replication, passwords)))
        node.config.chmod(0o600)
        run(["chown", "-R", "postgres:postgres", str(node.dir)])
        node.dir.chmod(0o700)


def start_patroni(node: Node) -> int:
    env = {
        "PATH": f"{PATRONI_VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(node.dir),
        "PYTHONUNBUFFERED": "1",
    }
    # setpriv execs Patroni in place (runuser and su fork), so the pid we keep is Patroni's.
    argv = [
        "setpriv",
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
        str(PATRONI_VENV / "bin/patroni"),
        str(node.config),
    ]
    return _spawn(f"patroni-{node.name}", argv, node.dir / "patroni.log", str(node.config), env=env, cwd=node.dir)


def node_by_name(name: str) -> Node:
    return next(node for node in NODES if node.name == name)


def cluster_view(exclude: str | None = None) -> dict:
    """Patroni's /cluster, asked of the first node that answers."""
    last = None
    for node in NODES:
        if node.name == exclude:
            continue
        try:
            status, body = http_get(f"{node.api}/cluster", timeout=1.0)
            if status == 200:
                return json.loads(body)
        except (OSError, ValueError) as exc:
            last = exc
    raise ClusterError(f"no Patroni REST API answers ({last})")


def leader_name(view: dict | None = None) -> str | None:
    view = view or cluster_view()
    return next((m["name"] for m in view["members"] if m["role"] == "leader" and m["state"] == "running"), None)


def members(view: dict | None = None) -> dict[str, dict]:
    view = view or cluster_view()
    return {m["name"]: m for m in view["members"]}


def ready(async_replication: bool) -> bool:
    """A running leader, and every other node streaming (one as sync standby in sync mode)."""
    view = cluster_view()
    if leader_name(view) is None:
        return False
    others = [m for m in view["members"] if m["role"] != "leader"]
    if len(others) != len(NODES) - 1 or any(m["state"] != "streaming" for m in others):
        return False
    return async_replication or any(m["role"] == "sync_standby" for m in others)


def postmaster_pid(node: Node) -> int | None:
    return _postmaster_of(node.data_dir)


def _postmaster_of(data_dir: Path) -> int | None:
    """The first line of postmaster.pid, if that process is a postgres of this data directory."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid, str(data_dir)) else None


def kill_node(node: Node) -> tuple[int | None, int | None]:
    """kill -9 of the node's Patroni, then of its postmaster: the host dies."""
    patroni, postmaster = remembered(f"patroni-{node.name}"), postmaster_pid(node)
    if patroni:
        _signal(patroni, signal.SIGKILL)
    if postmaster:
        _signal(postmaster, signal.SIGKILL)
    return patroni, postmaster


def patronictl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([str(PATRONI_VENV / "bin/patronictl"), "-c", str(NODES[0].config), *args], check=check, quiet=True)


def psql(sql: str, port: int = WRITE_PORT, db: str = DB_NAME, timeout: float = 30) -> str:
    """Run SQL as postgres over TCP; tab-separated rows without headers."""
    result = run(
        [
            str(PG_BIN / "psql"),
            "-X",
            "-h",
            HOST,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-F",
            "\t",
            "-c",
            sql,
        ],
        env=dict(os.environ, PGCONNECT_TIMEOUT="3"),
        quiet=True,
        timeout=timeout,
    )
    return result.stdout


# --- HAProxy ---------------------------------------------------------------------------


def start_haproxy(app_hosts: int) -> None:
    run_dir = RUNTIME / "haproxy"
    run_dir.mkdir(parents=True, exist_ok=True)
    db_servers = "\n".join(f"    server {n.name} {HOST}:{n.pg_port} check port {n.rest_port}" for n in NODES)
    app_servers = "\n".join(
        f"    server app{i + 1} {HOST}:{port} check" for i, port in enumerate(APP_PORTS[:app_hosts])
    )
    page_servers = "\n".join(
        f"    server app{i + 1} {HOST}:{port} track booking_app/app{i + 1}"
        for i, port in enumerate(APP_PORTS[:app_hosts])
    )
    config = string.Template((DEPLOY / "haproxy/haproxy.cfg.tmpl").read_text()).substitute(
        write_port=WRITE_PORT,
        lb_port=LB_PORT,
        stats_port=STATS_PORT,
        run_dir=run_dir,
        errors_dir=DEPLOY / "haproxy/errors",
        db_servers=db_servers,
        app_servers=app_servers,
        page_servers=page_servers,
    )
    cfg = run_dir / "haproxy.cfg"
    cfg.write_text(config)
    run(["haproxy", "-c", "-q", "-f", str(cfg)])
    _spawn("haproxy", ["haproxy", "-db", "-f", str(cfg)], run_dir / "haproxy.log", str(cfg))


def primary_through_haproxy() -> bool:
    """HAProxy counts a server up until its first check: ask for real."""
    return psql("SELECT NOT pg_is_in_recovery()", db="postgres", timeout=10).strip() == "t"


# --- the app hosts --------------------------------------------------------------------------


def app_dir() -> Path:
    return Path(os.environ.get("APP_DIR", REPO)).resolve()


def app_venv() -> Path:
    if os.environ.get("APP_VENV"):
        return Path(os.environ["APP_VENV"]).resolve()
    for candidate in (app_dir() / ".venv", REPO / ".venv"):
        if (candidate / "bin/python").exists():
            return candidate
    raise ClusterError(f"no virtualenv for the app: run `make venv` in {REPO}, or set APP_VENV")


def app_env(secret_key: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BOOKING_", "REDIS_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        DEBUG="false",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"postgres://postgres@{HOST}:{WRITE_PORT}/{DB_NAME}",
        THROTTLE_ANON_RATE="100000/min",
        BOOKING_MAX_HELD_SEATS_PER_CLIENT="0",
        BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR="100000000",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    return env


def state() -> dict:
    return json.loads((RUNTIME / "state.json").read_text())


def manage(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    st = state()
    return run(
        [str(Path(st["app_venv"]) / "bin/python"), "manage.py", *args],
        env=app_env(st["secret_key"]),
        cwd=st["app_dir"],
        check=check,
        quiet=True,
        timeout=timeout,
    )


def start_app_host(index: int) -> None:
    st = state()
    port = APP_PORTS[index]
    host_dir = RUNTIME / f"app{index + 1}"
    host_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(Path(st["app_venv"]) / "bin/gunicorn"),
        "-c",
        "gunicorn.conf.py",
        "booking.wsgi",
        "-b",
        f"{HOST}:{port}",
        "-w",
        str(st["app_workers"]),
        "--pid",
        str(host_dir / "gunicorn.pid"),
    ]
    _spawn(
        f"app{index + 1}",
        argv,
        host_dir / "gunicorn.log",
        f"{HOST}:{port}",
        env=app_env(st["secret_key"]),
        cwd=st["app_dir"],
    )


def app_healthy(port: int) -> bool:
    status, body = http_get(f"http://{HOST}:{port}/api/health", timeout=3)
    return status == 200 and json.loads(body).get("database") == "ok"


# --- up / down / status ---------------------------------------------------------------------


def up(async_replication: bool = False, app_hosts: int | None = None) -> dict:
    started = time.monotonic()
    app_hosts = app_hosts or int(os.environ.get("APP_HOSTS", 3))
    if RUNTIME.exists() and any(remembered(p.stem) for p in (RUNTIME / "pids").glob("*.pid")):
        raise ClusterError(f"a cluster is already running from {RUNTIME}: run `make cluster-down` first")
    ports = [p for _, c, peer in ETCD_MEMBERS for p in (c, peer)] + [p for n in NODES for p in (n.pg_port, n.rest_port)]
    ports += [WRITE_PORT, STATS_PORT, LB_PORT, *APP_PORTS[:app_hosts]]
    busy = [p for p in ports if _port_open(p)]
    if busy:
        raise ClusterError(f"ports already in use: {busy}")
    ensure_packages()
    ensure_patroni_venv()
    venv = app_venv()
    global STARTED
    STARTED = True  # from here on, down() is ours to call
    shutil.rmtree(RUNTIME, ignore_errors=True)
    RUNTIME.mkdir(parents=True)
    RUNTIME.chmod(0o755)
    st = {
        "mode": "async" if async_replication else "sync",
        "app_dir": str(app_dir()),
        "app_venv": str(venv),
        "app_hosts": app_hosts,
        "app_workers": int(os.environ.get("APP_WORKERS", 2)),
        "secret_key": secrets.token_urlsafe(50),
    }
    (RUNTIME / "state.json").write_text(json.dumps(st, indent=1))
    (RUNTIME / "state.json").chmod(0o600)
    log(f"up: {st['mode']} replication, app {st['app_dir']} with {st['app_venv']}")

    start_etcd()
    write_node_configs(async_replication)
    # The first node bootstraps the cluster alone; the others then clone it (starting all
    # three at once works too, but makes the first leader a race).
    start_patroni(NODES[0])
    wait_for("node1 to lead", lambda: leader_name() == "node1", 60)
    for node in NODES[1:]:
        start_patroni(node)
    # In strict synchronous mode every commit waits until a standby streams: nothing is
    # written before /cluster shows a sync_standby.
    wait_for(
        "a leader and two streaming replicas" + ("" if async_replication else " (one sync_standby)"),
        lambda: ready(async_replication),
        120,
    )
    log(f"patroni: {describe_cluster()}")

    start_haproxy(app_hosts)
    wait_for("the primary through HAProxy's write port", primary_through_haproxy, 30)
    if DB_NAME not in psql("SELECT datname FROM pg_database", db="postgres").split():
        psql(f"CREATE DATABASE {DB_NAME}", db="postgres")
    log("migrate")
    manage("migrate", "--noinput")

    for index in range(app_hosts):
        start_app_host(index)
    for port in APP_PORTS[:app_hosts]:
        wait_for(f"app host on {port}", lambda p=port: app_healthy(p), 60, interval=0.3)
    wait_for("the app through the load balancer", lambda: app_healthy(LB_PORT), 30)
    log(
        f"up in {time.monotonic() - started:.1f} s: load balancer http://{HOST}:{LB_PORT}/api/, "
        f"database through HAProxy on {WRITE_PORT}, HAProxy stats http://{HOST}:{STATS_PORT}/"
    )
    return st


def describe_cluster() -> str:
    try:
        view = cluster_view()
    except ClusterError as exc:
        return str(exc)
    parts = []
    for m in sorted(view["members"], key=lambda m: m["name"]):
        lag = m.get("lag", m.get("receive_lag"))
        parts.append(
            f"{m['name']} {m['role']}/{m['state']} tl{m.get('timeline', '?')}"
            + (f" lag {lag}" if lag not in (None, 0) else "")
        )
    return ", ".join(parts)


def down() -> None:
    """Stop everything we started (by pid), etcd members together, and delete the data."""
    if not RUNTIME.exists():
        log(f"down: nothing at {RUNTIME}")
        return
    pids_dir = RUNTIME / "pids"

    def running(prefix: str) -> dict[int, str]:
        found = {}
        for path in sorted(pids_dir.glob(f"{prefix}*.pid")):
            pid = remembered(path.stem)
            if pid:
                found[pid] = path.read_text().splitlines()[1]
        return found

    def stop(prefix: str, sig: int, grace: float) -> None:
        pids = running(prefix)
        for pid in pids:
            _signal(pid, sig)
        left = _wait_gone(pids, grace)
        for pid in left:
            log(f"down: {prefix} pid {pid} still running after {grace:.0f} s: SIGKILL")
            _signal(pid, signal.SIGKILL)
        _wait_gone(left, 5)

    if pids_dir.exists():
        stop("app", signal.SIGTERM, 15)
        stop("haproxy", signal.SIGTERM, 5)
        # Patroni stops its PostgreSQL on SIGTERM (fast shutdown).
        stop("patroni-", signal.SIGTERM, 40)
    for data_dir in sorted(RUNTIME.glob("*/data")):
        # A postmaster left behind (its Patroni was killed, or latency.py's single server).
        pid = _postmaster_of(data_dir)
        if pid:
            _signal(pid, signal.SIGINT)  # fast shutdown
            if _wait_gone({pid: str(data_dir)}, 15):
                _signal(pid, signal.SIGKILL)
    if pids_dir.exists():
        # All three at once: a member left alone can hang on SIGTERM waiting for the others.
        stop("etcd", signal.SIGTERM, 10)
    shutil.rmtree(RUNTIME, ignore_errors=True)
    log(f"down: stopped, {RUNTIME} deleted")


def status() -> None:
    print(describe_cluster())
    for node in NODES:
        code = None
        try:
            code = http_get(f"{node.api}/primary", timeout=1)[0]
        except OSError:
            pass
        print(f"{node.name}: postgres {HOST}:{node.pg_port}, patroni {node.api} /primary -> {code}")
    try:
        print("write port ->", psql("SELECT inet_server_port(), pg_is_in_recovery()", db="postgres").strip())
    except ClusterError as exc:
        print("write port ->", str(exc).splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up")
    up_parser.add_argument(
        "--async",
        dest="async_replication",
        action="store_true",
        help="asynchronous replication (the teeth check's cluster)",
    )
    sub.add_parser("down")
    sub.add_parser("status")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("cluster.py runs as root (it starts Patroni as postgres, and may apt-get install)", file=sys.stderr)
        return 2
    try:
        if args.command == "up":
            up(async_replication=args.async_replication)
        elif args.command == "down":
            down()
        else:
            status()
    except ClusterError as exc:
        print(f"cluster.py {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
