"""Who is calling: the client a request counts as (idempotency keys, the per-client caps)
and the name the audit trail gives it.

The API's views pass DRF's Request, the pages Django's HttpRequest: both have `.user` and
`.META`, which is all that is read here, so a booking through the show page's form is
counted and recorded as the same booking through the API would be.
"""

from django.http import HttpRequest
from rest_framework.request import Request

from .throttling import client_address, client_network


def client_scope(request: HttpRequest | Request) -> str:
    """Who is calling, for idempotency keys and the per-client caps (an IPv6 client by its /64)."""
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"addr:{client_network(client_address(request))}"


# A key this long is taken to be unguessable (a UUID has 36 characters): an anonymous
# caller's is recognised from any address, so a retry after the phone changed networks
# replays. A shorter one is kept per address, where a guess reaches only that address's.
UNGUESSABLE_KEY_LENGTH = 16


def idempotency_scope(request: HttpRequest | Request, key: str) -> str:
    """Whose Idempotency-Key this is: a signed-in caller's own; an anonymous caller's, any
    anonymous caller's when it is long enough to be unguessable, else its address's."""
    if (request.user and request.user.is_authenticated) or len(key) < UNGUESSABLE_KEY_LENGTH:
        return client_scope(request)
    return "anonymous"


def capped_client(request: HttpRequest | Request) -> str:
    """The client the hourly seat cap counts: an anonymous client's address; "" for staff,
    who are exempt."""
    return "" if request.user and request.user.is_staff else client_scope(request)


def actor_of(request: HttpRequest | Request) -> str:
    """Who made a change, for the audit trail: "staff:<username>" or "client:<address>".
    A user who is no longer staff (whose old token or session still signs them in) is a
    client: the trail never says staff did what they no longer may."""
    if request.user and request.user.is_staff:
        return f"staff:{request.user.get_username()}"
    return f"client:{client_address(request)}"
