"""Requests to addresses the theatre doesn't control (webhook endpoints): only to public
addresses, and only to the addresses that were checked.

A host is resolved once by `Sender` and refused if any of its addresses is private,
loopback, reserved or multicast (unless `allow_private`). The request is then made by name,
as any client makes it (the Host header, TLS's server name, the certificate check and the
kept connections are all the endpoint's name), but the connection is opened by
`_CheckedConnections`, which connects a name only to the addresses checked for it: a name
that resolves to a public address for the check and to a private one a moment later (DNS
rebinding) reaches nothing private. The addresses are tried in turn, as a connection by
name tries them; their TCP connects share one connect timeout (TLS's handshake then has
its own).

Proxies from the environment (HTTPS_PROXY) are not used: the connection must be the one
checked. A theatre that sends through an egress proxy lets the proxy refuse private
addresses instead, and sets WEBHOOKS_ALLOW_PRIVATE: then no check is made, and requests
go by name, through the environment's proxy if there is one.
"""

import functools
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

logger = logging.getLogger(__name__)

# IPv6 prefixes that carry an IPv4 address, which a network with a translator or a relay
# reaches: NAT64's well-known prefix (64:ff9b::/96, the address in the last 32 bits) and its
# local-use one (64:ff9b:1::/48). 6to4 (2002::/16) and IPv4-mapped addresses have their own
# accessors. Python 3.11 counts 64:ff9b::a00:1 (10.0.0.1) and 2002:a00:1:: as global.
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# Older forms that carry one in their last 32 bits: IPv4-compatible (::a.b.c.d, deprecated)
# and IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
CARRY_IPV4 = (*NAT64, ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("::ffff:0:0:0/96"))
# Site-local addresses (deprecated, RFC 3879), which Python 3.11 counts as global.
SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
# IANA's IPv4 special-purpose block (192.0.0.8, the dummy address, and others), which
# Python 3.11 counts as global but for a few of its addresses.
IETF_PROTOCOL_ASSIGNMENTS = ipaddress.IPv4Network("192.0.0.0/24")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in CARRY_IPV4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A public unicast address; an IPv6 one that carries an IPv4 address is judged by it."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded_ipv4(address)) is not None:
        return is_public(inner)
    if address in IETF_PROTOCOL_ASSIGNMENTS or address in SITE_LOCAL:
        return False
    return address.is_global and not address.is_multicast


# How long a name may take to resolve. getaddrinfo has no timeout of its own (the system's
# resolver tries each name server in turn, for as long as resolv.conf says): it runs in a
# thread of its own, and a name that takes longer is refused. The thread is a daemon, so a
# look-up still stuck never holds up the process's exit; at most LOOKUPS run at once, and
# with every one of them stuck a new name is refused at once instead of queued behind them
# (a registration's).
RESOLVE_SECONDS = 5.0
LOOKUPS = 4
# A Sender's look-ups have slots of their own, one for each of a delivery run's lanes (up to
# WEBHOOKS_LANES, 16, look up their hosts at once): a lane's waits for no other lane's, and
# gets its whole RESOLVE_SECONDS. Shared with LOOKUPS, a third wave of lanes waited for two
# look-ups of 2 s and was left 1 s of its own: healthy hosts were refused. A Sender waits for
# a slot (within its RESOLVE_SECONDS, so that a send still ends within its lease and a cron
# run within its minute) only while earlier look-ups, stuck, hold every one.
SENDER_LOOKUPS = 16
_lookups = threading.BoundedSemaphore(LOOKUPS)
_sender_lookups = threading.BoundedSemaphore(SENDER_LOOKUPS)


# A Sender's look-ups still running, by host: another Sender asking for that host waits for
# the same answer (within its own RESOLVE_SECONDS) and takes no slot. Without that, a host
# whose name server never answers took a slot more with each run's lane (a look-up outlives
# its 5 s until getaddrinfo gives up), until stuck look-ups held all SENDER_LOOKUPS and
# every healthy host was refused.
Looking = tuple[threading.Event, list[Any]]  # set when done; the answer or its error
_looking: dict[str, Looking] = {}
_looking_lock = threading.Lock()


def _fresh_lookups() -> None:  # a forked child has none of its parent's threads running
    global _lookups, _sender_lookups, _looking_lock
    _lookups = threading.BoundedSemaphore(LOOKUPS)
    _sender_lookups = threading.BoundedSemaphore(SENDER_LOOKUPS)
    _looking.clear()
    _looking_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lookups)


def _resolve(host: str, queue: bool) -> list[Any]:
    """getaddrinfo's answer for `host`, or TimeoutError after RESOLVE_SECONDS (`queue`: a
    Sender's, among SENDER_LOOKUPS, waiting for a free one counted in, or for the look-up of
    the same host another Sender started; else among LOOKUPS, refused at once when none is
    free)."""
    deadline = time.monotonic() + RESOLVE_SECONDS
    done, answer = threading.Event(), list[Any]()
    if queue:
        with _looking_lock:
            running = _looking.setdefault(host, (done, answer))
        if running[0] is not done:  # another Sender's look-up of this host: its answer is ours
            return _answer(host, *running, deadline)
    slots = _sender_lookups if queue else _lookups
    if not (slots.acquire(timeout=RESOLVE_SECONDS) if queue else slots.acquire(blocking=False)):
        _looked_up(host, done, answer, TimeoutError(host), queue)
        raise TimeoutError(host)

    def look_up() -> None:
        try:
            found: Any = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            found = exc
        slots.release()
        _looked_up(host, done, answer, found, queue)

    threading.Thread(target=look_up, name=f"resolve {host}", daemon=True).start()
    return _answer(host, done, answer, deadline)


def _looked_up(host: str, done: threading.Event, answer: list[Any], found: Any, queue: bool) -> None:
    answer.append(found)
    if queue:
        with _looking_lock:
            if _looking.get(host, (None,))[0] is done:
                del _looking[host]
    done.set()


def _answer(host: str, done: threading.Event, answer: list[Any], deadline: float) -> list[Any]:
    if not done.wait(max(deadline - time.monotonic(), 0)):
        raise TimeoutError(host)
    if isinstance(answer[0], BaseException):
        raise answer[0]
    return answer[0]


def checked_addresses(host: str, *, queue: bool = False) -> tuple[list[str], str | None]:
    """`host`'s addresses in the resolver's order, and None when every one is public; else
    ([], why not). `queue` (a Sender's): among SENDER_LOOKUPS, and with every one of them
    running, wait for one (within the time a name has to resolve) rather than be refused
    at once."""
    try:
        infos = _resolve(host, queue)
    except TimeoutError:
        return [], f"The host {host} can't be resolved in time."
    except (socket.gaierror, UnicodeError):
        return [], f"The host {host} can't be resolved."
    if not infos:
        return [], f"The host {host} has no address."
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not is_public(address):
            return [], f"The host {host} has the private or reserved address {address}."
    return list(dict.fromkeys(str(info[4][0]) for info in infos)), None


class _CheckedConnections(httpcore.NetworkBackend):
    """Opens a connection to a name only at the addresses checked for it (`addresses`,
    filled by Sender before each request); to a name not checked, none."""

    def __init__(self, addresses: dict[str, list[str]]) -> None:
        self.addresses = addresses
        self.system = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host not in self.addresses:
            raise httpcore.ConnectError(f"The host {host} was not checked.")
        checked = self.addresses[host]
        deadline = None if timeout is None else time.monotonic() + timeout
        error: Exception = httpcore.ConnectError(f"The host {host} has no address.")
        for n, address in enumerate(checked):
            # The rest of the timeout, shared among the addresses left: a send stays
            # within its connect timeout however many addresses time out.
            left = None if deadline is None else (deadline - time.monotonic()) / (len(checked) - n)
            if left is not None and left <= 0:
                error = httpcore.ConnectTimeout(f"The host {host} took too long to connect.")
                break
            try:
                return self.system.connect_tcp(address, port, left, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def sleep(self, seconds: float) -> None:
        self.system.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default context (certifi's certificates, verified), made once: each made
    loads the certificates again, most of the 62 ms of CPU a Sender cost, and a delivery
    run makes a Sender for each lane. A context is safe to share between connections."""
    return httpx.create_ssl_context()


class _Transport(httpx.HTTPTransport):
    """httpx's transport over connections opened by `backend`. (httpx 0.28 takes no
    network backend: its pool is made again, with httpx's SSL defaults and limits, around
    this one; test_webhook_addresses.py fails if httpx stops using it.)"""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        super().__init__(verify=_ssl_context())
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            # httpx's default limits: above all, a kept connection idle for 5 s is closed,
            # not reused just as its server closes it.
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


# The longest a whole answer may take, in timeouts: past one connect and one read, with room.
WHOLE_ANSWER_TIMEOUTS = 1.5
# The requests given up at that deadline and still running, by URL: one to a URL is let end
# before another is started there (a worker polling every second would start a thread a
# second for each receiver that trickles its answers).
_given_up: dict[str, threading.Thread] = {}


# Django's reading of a URL's form; a host of one label is taken by well_formed.
_URL_FORM = URLValidator(schemes=["http", "https"])


def well_formed(url: str) -> bool:
    """A URL of the form URLValidator takes, but with a host of one label too (a theatre's
    own system by its name on its network, http://crm:8080/hooks, with
    WEBHOOKS_ALLOW_PRIVATE): URLValidator asks for a dot in a name, or localhost."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ of an IPv6 address
        return False
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    if host and "." not in host and not host.startswith("["):
        url = urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}.example{colon}{port}"))
    try:
        _URL_FORM(url)
    except ValidationError:
        return False
    return True


def masked(url: str) -> str:
    """The URL with what may be its receiver's credentials masked, for the audit trail,
    which keeps no secret as it keeps no name or phone: a password (user:pw@) and the
    query's values (?token=...) as "***", the rest as given."""
    parts = urlsplit(url)
    netloc = parts.netloc
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = "&".join(
        f"{name}={'***' if value else ''}" if has_value else name
        for name, has_value, value in (field.partition("=") for field in parts.query.split("&") if field)
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@dataclass(frozen=True)
class Answer:
    """A receiver's answer: its status, and how long its Retry-After asks to wait (seconds
    from when it answered; None without one, or one that can't be read)."""

    status: int
    retry_after: float | None = None


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header's wait in seconds (RFC 9110: delay-seconds or an HTTP-date), never
    below 0; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # no zone given: every HTTP-date is in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class Sender:
    """POSTs to checked addresses, with connections kept per name; use as a context
    manager. `allow_private`: no check, httpx as it comes (by name, the environment's proxy)."""

    def __init__(self, *, timeout: float, allow_private: bool = False) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.refused: dict[str, str | None] = {}
        self.connections = _CheckedConnections({})
        # Allowed private addresses, httpx's own transport: by name, through a proxy from
        # the environment if there is one.
        transport = None if allow_private else _Transport(self.connections)
        self.client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport, verify=_ssl_context())

    def __enter__(self) -> "Sender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def refusal(self, host: str) -> str | None:
        """Why `host` (in its ASCII form) may not be sent to, or None; resolved and checked
        on its first request only."""
        if self.allow_private:
            return None
        if host not in self.refused:
            self.connections.addresses[host], self.refused[host] = checked_addresses(host, queue=True)
        return self.refused[host]

    def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Answer | str:
        """The answer, or why there was none: the host refused (the check's
        reason), or the exception's class and message (unreachable, a TLS error, timed out,
        a URL that can't be sent to).

        The whole answer within one and a half times the timeout: httpx's is for each
        connect, write and read, and a receiver that trickled its answer a byte at a time
        held the run (and, past its lease, had the event sent again by another host). The
        request runs in a thread of its own; one still running then is left to end when its
        connection does (at the latest when the sender closes), and counts as timed out."""
        try:
            parsed = httpx.URL(url)
            refusal = self.refusal(parsed.raw_host.decode("ascii"))  # in its IDNA form, as DNS and TLS take it
        except httpx.InvalidURL as exc:
            # InvalidURL is not an HTTPError: an endpoint saved before check_url refused
            # such URLs fails its own events, not the batch's others.
            return f"{type(exc).__name__}: {exc}"
        if refusal:
            return refusal
        earlier = _given_up.get(url)
        if earlier is not None and earlier.is_alive():
            return "ReadTimeout: an earlier request to it is still unanswered"
        answer: list[Answer | str] = []

        def send() -> None:
            try:
                # The whole answer is read (its connection kept for the next request), none of
                # its body kept: only the status and Retry-After count. Kept, a long body grew
                # the worker by as much as the network brought in 15 s.
                with self.client.stream("POST", parsed, content=content, headers=headers) as response:
                    for _ in response.iter_raw():
                        pass
                answer.append(
                    Answer(response.status_code, retry_after_seconds(response.headers.get("retry-after"), time.time()))
                )
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: the sender closed under it
                answer.append(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a fault of this code: said as one, not as the receiver's
                logger.exception("Sending to %s failed", parsed.host)
                answer.append(f"{type(exc).__name__}: {exc}")

        sending = threading.Thread(target=send, name=f"send to {parsed.host}", daemon=True)
        sending.start()
        whole = self.timeout * WHOLE_ANSWER_TIMEOUTS
        sending.join(whole)
        if answer:
            return answer[0]
        _given_up[url] = sending
        return f"ReadTimeout: no whole answer within {whole:g} s"
