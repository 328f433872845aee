"""Helpers for tests that start processes of their own (gunicorn, workers, jobs): a free
port, waiting for a server to answer, the test database's URL for them, and a gunicorn
serving that database (the `server` fixture)."""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

WORKERS = 4  # the `server` fixture's gunicorn workers


def database_url() -> str:
    """A DATABASE_URL naming the test database, for processes started by a test."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(**settings: str) -> dict[str, str]:
    """The environment of a process a test starts: this one's, with production's settings
    (DEBUG off, a secret key of its own) on the test database, and `settings` on top."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "booking.settings",
        "DATABASE_URL": database_url(),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        **settings,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Ask the process to end; kill it if it hasn't within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    for _ in range(150):
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer on port {port}:\n{log.read_text()}")


@pytest.fixture
def server(tmp_path):
    """gunicorn on a free local port, serving the test database; stopped at the end."""
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    env = production_env(
        ALLOWED_HOSTS="127.0.0.1",
        THROTTLE_ANON_RATE="100000/min",
        BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR="0",  # every client here is 127.0.0.1
        REDIS_URL="",
    )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", "booking.wsgi"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(port, process, tmp_path / "gunicorn.log")
        yield port, tmp_path / "gunicorn.log"
    finally:
        stop(process)
        log.close()
