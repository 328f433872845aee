from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


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

    def get_rate(self) -> str:
        return settings.THROTTLE_ANON_RATE

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_staff:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
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

    def wait(self) -> float:
        """Seconds until the client's window closes (the Retry-After of the 429)."""
        opened = self.cache.get(f"{self.key}:opened", self.now)
        return max(opened + self.duration - self.now, 1)
