from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class AnonThrottle(SimpleRateThrottle):
    """Anonymous clients, counted per address in the shared cache; staff go free.

    The rate is read from settings on each request (THROTTLE_ANON_RATE), not frozen at
    import as DRF's AnonRateThrottle does, so that a deployment or a test can set it.
    """

    scope = "anon"

    def get_rate(self) -> str:
        return settings.THROTTLE_ANON_RATE

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_staff:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
