"""System checks of a production configuration (`manage.py check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def client_address_behind_the_front(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Production runs behind the front (deploy/front/haproxy.cfg, required), so every
    request comes from its address: with no proxy trusted, every customer is one client for
    the throttle and the per-client caps on held and booked seats."""
    if settings.NUM_PROXIES:
        return []
    return [
        checks.Warning(
            "NUM_PROXIES is 0: behind the front every request comes from its address, and all customers"
            " share one client's throttle and caps on held and booked seats.",
            hint="Set NUM_PROXIES to the proxies that append to X-Forwarded-For: 1 for the front alone,"
            " 2 behind a TLS load balancer.",
            id="booking.W001",
        )
    ]


@checks.register()
def dotenv_names_read(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A .env name the service doesn't read, though it looks like one of its own: the slip
    went unsaid, and the service ran on that variable's default."""
    return [
        checks.Warning(f".env sets {said}", hint="Remove it or correct its name.", id="booking.W002")
        for said in settings.DOTENV_UNREAD
    ]
