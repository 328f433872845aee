"""Where a webhook's events go: to the address its host was checked at, under its name.

The internet is played by 127.0.0.2 (`outbound.is_public` is told it is public), the theatre's
own network by 127.0.0.1, and DNS by a resolver of the test's for `hooks.example.test`."""

import http.server
import ipaddress
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
import trustme

from api import outbound
from api.errors import WebhookUrlRefused
from api.models import Webhook, WebhookEvent
from api.services import webhook_delivery, webhooks
from api.tests.conftest import book_seats
from api.tests.webhooks_helpers import Receiver, deliver

NAME = "hooks.example.test"
PUBLIC, PRIVATE = "127.0.0.2", "127.0.0.1"
NOBODY = "127.0.0.3"  # public too, but nothing listens there


@pytest.fixture
def internet(monkeypatch, settings):
    """Private addresses refused, as in production, and 127.0.0.2 taken for a public one."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    is_public = outbound.is_public
    monkeypatch.setattr(outbound, "is_public", lambda address: str(address) in (PUBLIC, NOBODY) or is_public(address))


def resolve_name(monkeypatch, *answers: str | tuple[str, ...]) -> list[str | tuple[str, ...]]:
    """NAME resolves to each of `answers` (an address, or several) in turn, the last one
    from then on; every other name as usual. Returns the answers given, one per lookup."""
    real, given = socket.getaddrinfo, list[str | tuple[str, ...]]()

    def getaddrinfo(host, port, *args, **kwargs):
        if host != NAME:
            return real(host, port, *args, **kwargs)
        answer = answers[min(len(given), len(answers) - 1)]
        given.append(answer)
        return [
            info
            for address in ((answer,) if isinstance(answer, str) else answer)
            for info in real(address, port, *args, **kwargs)
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


def host_header(request: dict) -> str:
    return {name.lower(): value for name, value in request["headers"].items()}["host"]


def endpoint_at(url: str) -> Webhook:
    return Webhook.objects.create(url=url, events=[], secret=webhooks.new_secret())


@pytest.mark.django_db
def test_a_name_that_rebinds_to_a_private_address_after_the_check_gets_nothing_private(internet, monkeypatch, show):
    public = Receiver(host=PUBLIC)
    private = Receiver(host=PRIVATE, port=public.port)  # the same port on the theatre's network
    try:
        lookups = resolve_name(monkeypatch, PUBLIC, PRIVATE)  # public when checked, private after
        endpoint_at(f"http://{NAME}:{public.port}/hooks")
        book_seats(show.pk)

        assert deliver().delivered == 1

        assert lookups == [PUBLIC]  # resolved once, for the check
        assert private.requests == []
        (request,) = public.requests
        assert host_header(request) == f"{NAME}:{public.port}"
    finally:
        public.stop()
        private.stop()


@pytest.fixture
def authority(monkeypatch, tmp_path) -> Iterator[trustme.CA]:
    """A certificate authority that the deliverer trusts (httpx reads SSL_CERT_FILE when it
    makes the context, which outbound makes once a process: made again here, and after)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    outbound._ssl_context.cache_clear()
    yield ca
    outbound._ssl_context.cache_clear()


def tls_receiver(ca: trustme.CA, name: str) -> Receiver:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return Receiver(host=PUBLIC, tls=context)


@pytest.mark.django_db
def test_https_to_the_checked_address_still_checks_the_certificate_against_the_name(
    internet, monkeypatch, authority, show
):
    resolve_name(monkeypatch, PUBLIC)
    genuine = tls_receiver(authority, NAME)
    try:
        endpoint_at(f"https://{NAME}:{genuine.port}/hooks")
        book_seats(show.pk)

        assert deliver().delivered == 1
        assert host_header(genuine.requests[0]) == f"{NAME}:{genuine.port}"
    finally:
        genuine.stop()


@pytest.mark.django_db
def test_https_to_a_server_with_another_names_certificate_is_a_failure(internet, monkeypatch, authority, show):
    resolve_name(monkeypatch, PUBLIC)
    impostor = tls_receiver(authority, "elsewhere.example.test")
    try:
        endpoint_at(f"https://{NAME}:{impostor.port}/hooks")
        book_seats(show.pk)

        assert deliver().failed == 1
        assert impostor.requests == []
        assert WebhookEvent.objects.get().response_status is None
    finally:
        impostor.stop()


@pytest.mark.django_db
def test_a_name_with_any_private_address_is_refused_at_delivery(internet, monkeypatch, show):
    receiver = Receiver(host=PRIVATE)
    try:
        resolve_name(monkeypatch, PRIVATE)
        endpoint_at(f"http://{NAME}:{receiver.port}/hooks")  # saved while it was public, say
        book_seats(show.pk)

        assert deliver().failed == 1
        assert receiver.requests == []
    finally:
        receiver.stop()


def test_registration_refuses_a_name_that_resolves_privately(internet, monkeypatch):
    resolve_name(monkeypatch, PRIVATE)
    with pytest.raises(WebhookUrlRefused, match="private or reserved address 127.0.0.1"):
        webhooks.check_url(f"http://{NAME}/hooks")

    resolve_name(monkeypatch, PUBLIC)
    webhooks.check_url(f"http://{NAME}/hooks")  # the test's public address passes


def test_a_resolver_that_does_not_answer_in_time_is_a_refusal_not_a_stall(internet, monkeypatch):
    # getaddrinfo has no timeout of its own: a name server that never answered held the
    # registration's request, or the deliverer past its lease, for as long as the system's
    # resolver kept trying.
    monkeypatch.setattr(outbound, "RESOLVE_SECONDS", 0.2)
    answered = threading.Event()

    def silent(*args, **kwargs):
        answered.wait(5)
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", silent)
    monkeypatch.setattr(outbound, "_lookups", threading.BoundedSemaphore(2))
    try:
        started = time.monotonic()
        for _ in range(2):
            assert outbound.checked_addresses(NAME) == ([], f"The host {NAME} can't be resolved in time.")
        assert time.monotonic() - started < 2
        # Still stuck, each in a daemon thread, which never holds up the process's exit.
        stuck = [t for t in threading.enumerate() if t.name == f"resolve {NAME}"]
        assert len(stuck) == 2 and all(t.daemon for t in stuck)
        # Every look-up stuck: the next name is refused at once, not queued behind them.
        started = time.monotonic()
        assert outbound.checked_addresses("other.example.test")[1] == (
            "The host other.example.test can't be resolved in time."
        )
        assert time.monotonic() - started < 0.1
    finally:
        answered.set()


def resolve_names(monkeypatch, answers: dict[str, tuple[str, ...]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [info for address in answers[host] for info in real(address, port, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class KeepAliveTLS:
    """An HTTPS endpoint that keeps connections open (HTTP/1.1, as real servers do) and
    records the TLS server name of each handshake and the Host of each request."""

    def __init__(self, ca: trustme.CA, name: str, host: str = PUBLIC) -> None:
        self.server_names: list[str | None] = []
        self.hosts: list[str] = []
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                me.hosts.append(self.headers["host"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(name).configure_cert(context)
        context.sni_callback = lambda sock, server_name, ctx: me.server_names.append(server_name)
        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.django_db
def test_two_names_on_one_address_each_get_a_tls_session_checked_for_their_own_name(
    internet, monkeypatch, authority, show
):
    """Two endpoints whose names share an address (a host, a CDN): the server's certificate
    is good for one of them only. The other must not be sent to."""
    genuine, other = "a.example.test", "b.example.test"
    resolve_names(monkeypatch, {genuine: (PUBLIC,), other: (PUBLIC,)})
    server = KeepAliveTLS(authority, genuine)
    try:
        first = endpoint_at(f"https://{genuine}:{server.port}/hooks")
        second = endpoint_at(f"https://{other}:{server.port}/hooks")
        book_seats(show.pk)
        events = list(WebhookEvent.objects.order_by("pk"))
        assert [e.webhook_id for e in events] == [first.pk, second.pk]  # a.example.test's goes first

        deliver()

        # Each name's request should go over a TLS session negotiated (and verified) for it.
        assert server.server_names == [genuine, other]
        assert server.hosts == [f"{genuine}:{server.port}"]  # the certificate is not good for the other
        assert [e.status for e in WebhookEvent.objects.order_by("pk")] == ["delivered", "failed"]
    finally:
        server.stop()


class ConnectProxy:
    """A plain HTTP CONNECT proxy (as HTTPS_PROXY names one)."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_CONNECT(self) -> None:  # noqa: N802
                me.targets.append(self.path)
                host, port = self.path.rsplit(":", 1)
                upstream = socket.create_connection((host.strip("[]"), int(port)))
                self.send_response(200)
                self.end_headers()
                sockets = [self.connection, upstream]
                while True:
                    readable, _, _ = select.select(sockets, [], [], 5)
                    if not readable:
                        break
                    for s in readable:
                        data = s.recv(65536)
                        if not data:
                            upstream.close()
                            return
                        (upstream if s is self.connection else self.connection).sendall(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.django_db
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_proxy_from_the_environment_is_used_only_with_private_addresses_allowed(
    internet, settings, monkeypatch, authority, show, allow_private
):
    """Checked, the connection must be the one checked: HTTPS_PROXY would connect elsewhere
    (and check the certificate against the address it was handed). With private addresses
    allowed, an egress proxy that refuses them itself carries the request: the README's
    way to send through one."""
    settings.WEBHOOKS_ALLOW_PRIVATE = allow_private
    resolve_name(monkeypatch, PUBLIC)
    genuine = tls_receiver(authority, NAME)
    proxy = ConnectProxy()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        endpoint_at(f"https://{NAME}:{genuine.port}/hooks")
        book_seats(show.pk)

        assert deliver().delivered == 1
        assert proxy.targets == ([f"{NAME}:{genuine.port}"] if allow_private else [])
        assert len(genuine.requests) == 1
    finally:
        genuine.stop()
        proxy.stop()


def blackhole(port: int) -> list[socket.socket]:
    """A listener on NOBODY whose accept queue is full: the kernel drops further SYNs, as a
    dead route or a firewall does, and a connection there times out."""
    listener = socket.socket()
    listener.bind((NOBODY, port))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex((NOBODY, port))
        fillers.append(filler)
    return [listener, *fillers]


@pytest.mark.django_db
@pytest.mark.parametrize("nobody", ["refuses", "drops"])
def test_an_address_that_refuses_or_times_out_is_passed_for_the_next_one_checked(internet, monkeypatch, show, nobody):
    monkeypatch.setattr(webhook_delivery, "TIMEOUT_SECONDS", 2.0)  # 1 s for each of the two addresses
    public = Receiver(host=PUBLIC)
    held = blackhole(public.port) if nobody == "drops" else []
    try:
        resolve_name(monkeypatch, (NOBODY, PUBLIC))
        endpoint_at(f"http://{NAME}:{public.port}/hooks")
        book_seats(show.pk)

        assert deliver().delivered == 1
        assert len(public.requests) == 1
    finally:
        public.stop()
        for sock in held:
            sock.close()


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1: a translator on the theatre's network reaches it
        "64:ff9b:1::a00:1",  # the local-use NAT64 prefix
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "::ffff:10.0.0.1",  # IPv4-mapped
        "192.0.0.8",  # IANA's IPv4 dummy address, in its special-purpose block
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "::ffff:0:7f00:1",  # IPv4-translated (RFC 2765)
        "fec0::1",  # site-local (deprecated)
    ],
)
def test_an_ipv4_address_inside_an_ipv6_one_or_a_special_block_is_not_public(address):
    assert not outbound.is_public(ipaddress.ip_address(address))


def test_public_addresses_in_those_forms_stay_public():
    assert all(outbound.is_public(ipaddress.ip_address(a)) for a in ("64:ff9b::808:808", "2002:808:808::", "8.8.8.8"))
