"""The documented production front, deploy/front/haproxy.cfg, in front of real gunicorn.

gunicorn's sync workers read a request's body themselves: a client that sends its body a
byte at a time holds a worker for as long as it likes (issue 16: five such clients froze
the service for 30 s). Behind the front, gunicorn only ever gets whole requests. Both
processes run on free ports of 127.0.0.1, started by the tests; gunicorn has 2 workers and
5 slow clients, so that without the front every worker would be held (the control test
shows that it is).
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from api.tests.servers import free_port, production_env, stop, wait_until_up

HAPROXY = shutil.which("haproxy")
DEPLOY = Path(settings.BASE_DIR) / "deploy"
WORKERS = 2
SLOW_CLIENTS = 5
REQUEST_TIMEOUT = 4  # seconds: the front's FRONT_REQUEST_TIMEOUT in these tests

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy: apt-get install haproxy"),
]


@pytest.fixture(scope="module")
def gunicorn(django_db_setup, tmp_path_factory) -> Iterator[int]:
    """gunicorn as production runs it (gunicorn.conf.py, sync workers), on the test database."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = production_env(ALLOWED_HOSTS="127.0.0.1", NUM_PROXIES="1", REDIS_URL="")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "booking.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(port, process, log_path)
            yield port
        finally:
            stop(process)


def _front(app_port: int, log_path: Path, *, app_up: bool = True) -> Iterator[int]:
    """HAProxy with the repository's front configuration, unchanged, before app_port."""
    port = free_port()
    env = {
        **os.environ,
        "FRONT_BIND": f"127.0.0.1:{port}",
        "APP_SERVER": f"127.0.0.1:{app_port}",
        "FRONT_REQUEST_TIMEOUT": f"{REQUEST_TIMEOUT}s",
    }
    command = [str(HAPROXY), "-db", "-C", str(DEPLOY), "-f", str(DEPLOY / "front/haproxy.cfg")]
    subprocess.run([*command, "-c", "-q"], env=env, check=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if app_up:
                wait_until_up(port, process, log_path)
            else:
                _listening(port, process, log_path)
            yield port
        finally:
            stop(process)


def _listening(port: int, process: subprocess.Popen, log: Path) -> None:
    for _ in range(150):
        if process.poll() is not None:
            pytest.fail(f"haproxy exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"haproxy did not listen on port {port}:\n{log.read_text()}")


@pytest.fixture(scope="module")
def front(gunicorn, tmp_path_factory) -> Iterator[int]:
    """The front before gunicorn."""
    yield from _front(gunicorn, tmp_path_factory.mktemp("haproxy") / "haproxy.log")


@pytest.fixture
def front_without_app(tmp_path) -> Iterator[int]:
    """The front before an app host that is down (nothing listens on its port)."""
    yield from _front(free_port(), tmp_path / "haproxy.log", app_up=False)


class SlowClient(threading.Thread):
    """Sends a booking whose 60-byte body comes one byte every 0.25 s (15 s in all)."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.answer = b""

    def run(self) -> None:
        body = json.dumps({"name": "Slow Loris", "show": 1, "x": "y" * 20}).ljust(60).encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            head = (
                "POST /api/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode())
            try:
                for byte in body:
                    if self.stop.wait(0.25):
                        return
                    sock.sendall(bytes([byte]))
                self.answer = sock.recv(4096)
            except OSError:  # the front closed the connection after answering
                pass
            if not self.answer:
                try:
                    self.answer = sock.recv(4096)
                except OSError:
                    pass


def _slow_clients(port: int) -> tuple[list[SlowClient], threading.Event]:
    stop = threading.Event()
    clients = [SlowClient(port, stop) for _ in range(SLOW_CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # every slow client connected and sending
    return clients, stop


def _timed_get(port: int, path: str, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


def test_without_the_front_slow_clients_hold_every_worker(gunicorn):
    """The control: the hazard is real, so the test below could fail."""
    clients, stop = _slow_clients(gunicorn)
    try:
        with pytest.raises(TimeoutError):
            _timed_get(gunicorn, "/api/health", timeout=2)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)


def test_slow_clients_do_not_stop_other_requests_through_the_front(front):
    clients, stop = _slow_clients(front)
    try:
        answers = []
        for _ in range(10):
            answers.append(_timed_get(front, "/api/health", timeout=5))
            time.sleep(0.2)
        assert [status for status, _ in answers] == [200] * 10
        # Quickly: each in well under the 2+ s the slow clients would hold a worker for.
        assert max(seconds for _, seconds in answers) < 1.5, answers
        # The slow requests are cut off by the front, never passed on: a JSON 408.
        for client in clients:
            client.join(timeout=REQUEST_TIMEOUT + 10)
        for client in clients:
            head, _, body = client.answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), client.answer
            assert json.loads(body)["code"] == "request_timeout"
    finally:
        stop.set()


def _raw(port: int, request: bytes) -> tuple[int, str, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return int(lines[0].split()[1]), content_type, body


LONG_URL = b"GET /api/shows?title=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
LONG_HEADER = b"GET /api/shows HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n"
MANY_HEADERS = (
    b"GET /api/shows HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    + b"".join(b"X-H%d: 1\r\n" % n for n in range(120))
    + b"Connection: close\r\n\r\n"
)
BIG_BODY = (
    b"POST /api/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 70000\r\nConnection: close\r\n\r\n" + b"{" * 70000
)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (LONG_URL, 414, "uri_too_long"),
        (LONG_HEADER, 431, "headers_too_large"),
        (MANY_HEADERS, 431, "headers_too_large"),
    ],
    ids=["url-over-4094", "header-over-8190", "120-headers"],
)
def test_gunicorns_own_errors_are_json_through_the_front(gunicorn, front, request_bytes, status, code):
    # gunicorn alone answers these itself, before Django, with an HTML page...
    direct_status, direct_type, _ = _raw(gunicorn, request_bytes)
    assert (direct_status, direct_type.split(";")[0]) == (status, "text/html")
    # ... which the front turns into the API's JSON, with the same status.
    front_status, front_type, body = _raw(front, request_bytes)
    assert (front_status, front_type) == (status, "application/json")
    assert json.loads(body)["code"] == code


def test_a_body_over_the_limit_is_refused_by_the_front(front):
    status, content_type, body = _raw(front, BIG_BODY)
    assert (status, content_type) == (413, "application/json")
    assert json.loads(body)["code"] == "payload_too_large"


def test_the_apps_own_answers_pass_unchanged(front):
    status, content_type, body = _raw(
        front, b"GET /api/shows/%00 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert (status, content_type) == (404, "application/json")
    assert json.loads(body) == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/api/shows", "application/json"), ("/", "text/html; charset=utf-8"), ("/bookings/", "text/html; charset=utf-8")],
)
def test_with_no_app_host_up_the_fronts_503_is_json_for_the_api_and_a_page_for_the_pages(
    front_without_app, path, content_type
):
    # A customer's browser was shown the API's JSON ("... Retry it with the same
    # Idempotency-Key.") when no app host could take a page's request.
    status, answer_type, body = _raw(
        front_without_app, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    assert (status, answer_type) == (503, content_type)
    if content_type == "application/json":
        assert json.loads(body)["code"] == "unavailable"
    else:
        assert b"<h1>The booking service is busy</h1>" in body and b"Idempotency-Key" not in body
