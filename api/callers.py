"""Who is calling: the client a request counts as (idempotency keys, the per-client caps)
and the name the audit trail gives it.

The API's views pass DRF's Request, the pages Django's HttpRequest: both have `.user` and
`.META`, which is all that is read here, so a booking through the show page's form is
counted and recorded as the same booking through the API would be.
"""

import uuid

from django.http import HttpRequest
from rest_framework.request import Request

from .throttling import client_address, client_network


def client_scope(request: HttpRequest | Request) -> str:
    """Who is calling, for idempotency keys and the per-client caps (an IPv6 client by its /64)."""
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"addr:{client_network(client_address(request))}"


def idempotency_scope(request: HttpRequest | Request, *, hold: object = None) -> str:
    """Whose Idempotency-Key this is. A signed-in caller's are its own. An anonymous
    caller's are its address's, unless the request confirms a hold (`hold`: its id, as the
    body gives it): the hold's id is a secret only its holder has, so the key is that
    hold's ("hold:<id>"), recognised from any address (a retry after the phone changed
    networks gets the first answer) and no one else's (customers who chose the same key
    each confirm their own hold; one scope for every anonymous confirm refused the second
    as a reuse). A key's own length proves nothing: "aaaaaaaaaaaaaaaa" is one guess away."""
    if (request.user and request.user.is_authenticated) or not isinstance(hold, str):
        return client_scope(request)
    try:
        return f"hold:{uuid.UUID(hold)}"
    except ValueError:  # no hold's id: the body is a 400 once read, which stores no key
        return client_scope(request)


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
