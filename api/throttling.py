import ipaddress
import weakref

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from . import sharedcache

# With Redis the count, the window's start and its end are one Lua script: one round trip
# per request instead of four, and atomic, so no request falls between a window's end and
# the next one's start. KEYS: the counter, the window's start. ARGV: period (s), now.
WINDOW_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1])
    return {count, ARGV[2]}
end
return {count, redis.call('GET', KEYS[2])}
"""

# One registered script (and so one redis client) per cache backend object: Django makes a
# backend per thread and anew when the test settings change CACHES, hence weak keys.
_scripts: "weakref.WeakKeyDictionary[RedisCache, object]" = weakref.WeakKeyDictionary()


# While Redis is down or hung the throttle fails open, but not wide open: each process
# counts its clients in its own memory meanwhile (so a client gets at most the rate once
# per process, not unlimited).
_while_redis_is_down = LocMemCache("throttle-while-redis-is-down", {"MAX_ENTRIES": 10_000})


def _window_script(backend: RedisCache, key: str):
    script = _scripts.get(backend)
    if script is None:
        client = backend._cache.get_client(key, write=True)
        script = _scripts[backend] = client.register_script(WINDOW_SCRIPT)
    return script


class AnonThrottle(SimpleRateThrottle):
    """Anonymous clients, counted per address in the shared cache; staff go free.

    The rate is read from settings on each request (THROTTLE_ANON_RATE), not frozen at
    import as DRF's AnonRateThrottle does, so that a deployment or a test can set it.

    DRF's own throttle reads the client's request history, appends and writes it back:
    two processes can both read nine requests and both let a tenth through. Here each
    client has one counter that the cache increments atomically (INCR in Redis), in a
    window that opens with the client's first request and lasts the rate's period.
    """

    scope = "anon"
    opened: float | None  # the window's start when the script read it (Redis), else None

    def get_rate(self) -> str:
        return settings.THROTTLE_ANON_RATE

    def get_ident(self, request: Request) -> str:
        """The client's address (DRF's: behind NUM_PROXIES, the one the nearest trusted
        proxy forwarded), as an address: a forwarded value that is none (the app's port
        reached directly, more proxies configured than append) is the connection's. So is
        an IPv6 address with a zone id ("fe80::1%eth0"): a zone names an interface of the
        host that sent it, means nothing here, and is text of any length (it overflowed the
        audit trail's column), each spelling another client for the caps and the lockout."""
        ident = super().get_ident(request)
        try:
            ip = ipaddress.ip_address(ident)
        except ValueError:
            return request.META.get("REMOTE_ADDR", "")
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
            return request.META.get("REMOTE_ADDR", "")
        return str(ip)

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_staff:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_network(self.get_ident(request))}

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        num_requests, duration = self.parse_rate(self.rate)
        assert num_requests is not None and duration is not None  # parse_rate of a rate (not None)
        self.num_requests, self.duration = num_requests, duration
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.opened = None
        backend = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(backend, RedisCache):
            if sharedcache.cache_usable():
                try:
                    return self._allow_in_redis(backend)
                except sharedcache.CacheFailure as exc:
                    sharedcache.cache_failed(exc, "throttling")
            self.cache = _while_redis_is_down
        # add() creates the counter only when the client has none: a window opens.
        if self.cache.add(self.key, 0, self.duration):
            self.cache.set(f"{self.key}:opened", self.now, self.duration)
        try:
            count = self.cache.incr(self.key)
        except ValueError:  # the window closed between add() and incr(): a new one opens
            self.cache.add(self.key, 1, self.duration)
            return True
        if count == 1:
            # Redis' INCR recreates a key that expired just before it without a timeout,
            # which would throttle the client for good: the window gets its end again.
            self.cache.touch(self.key, self.duration)
        return count <= self.num_requests

    def _allow_in_redis(self, backend: RedisCache) -> bool:
        # make_and_validate_key applies KEY_PREFIX and the version, as cache.add/incr would:
        # the counter stays where the other code path (and an operator) looks for it.
        counter = backend.make_and_validate_key(self.key)
        opened_key = backend.make_and_validate_key(f"{self.key}:opened")
        count, opened = _window_script(backend, counter)(
            keys=[counter, opened_key], args=[self.duration, repr(self.now)]
        )
        try:
            self.opened = float(opened)
        except (TypeError, ValueError):
            # No start, or one pickled by cache.set() before this script: the whole
            # period is the safe wait.
            self.opened = self.now
        return count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the client's window closes (the Retry-After of the 429)."""
        if self.opened is not None:
            opened = self.opened
        else:
            opened = self.cache.get(f"{self.key}:opened", self.now)
        return max(opened + self.duration - self.now, 1)


def client_network(address: str) -> str:
    """Whom the throttle and the per-client caps count: an IPv4 address, or an IPv6 one's
    /64, which one subscriber has whole (each of its addresses counted apart, one client
    had as many caps as it cared to use addresses)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)  # an IPv4 client seen on a dual-stack socket: its own address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else address


def client_address(request: HttpRequest | Request) -> str:
    """The client's address as the throttle reads it (NUM_PROXIES), for api/callers.py and
    login_address."""
    # DRF's get_ident reads only request.headers and request.META, which a Django request
    # has too; the stubs ask for DRF's Request.
    return AnonThrottle().get_ident(request)  # type: ignore[arg-type]


def login_address(request: HttpRequest) -> str:
    """Whom django-axes counts admin login guesses of (AXES_CLIENT_IP_CALLABLE): the client as
    the throttle counts it, so that a guesser with a /64 is not a new client at each of its
    addresses; the /64 as its first address ("2001:db8:1:2::"), since axes keeps an address."""
    return client_network(client_address(request)).removesuffix("/64")
