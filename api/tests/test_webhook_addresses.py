"""Where a webhook's events go: to the address its host was checked at, under its name.

The internet is played by 127.0.0.2 (`_is_public` is told it is public), the theatre's
own network by 127.0.0.1, and DNS by a resolver of the test's for `hooks.example.test`."""

import socket
import ssl

import pytest
import trustme

from api.errors import WebhookUrlRefused
from api.models import Webhook, WebhookEvent
from api.services import webhooks
from api.tests.conftest import book_seats
from api.tests.test_webhooks import Receiver, deliver

NAME = "hooks.example.test"
PUBLIC, PRIVATE = "127.0.0.2", "127.0.0.1"
NOBODY = "127.0.0.3"  # public too, but nothing listens there


@pytest.fixture
def internet(monkeypatch, settings):
    """Private addresses refused, as in production, and 127.0.0.2 taken for a public one."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    is_public = webhooks._is_public
    monkeypatch.setattr(webhooks, "_is_public", lambda address: str(address) in (PUBLIC, NOBODY) or is_public(address))


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


@pytest.mark.django_db
def test_an_address_that_refuses_the_connection_is_passed_for_the_next_one_checked(internet, monkeypatch, show):
    public = Receiver(host=PUBLIC)
    try:
        resolve_name(monkeypatch, (NOBODY, PUBLIC))
        endpoint_at(f"http://{NAME}:{public.port}/hooks")
        book_seats(show.pk)

        assert deliver().delivered == 1
        assert len(public.requests) == 1
    finally:
        public.stop()


@pytest.fixture
def authority(monkeypatch, tmp_path) -> trustme.CA:
    """A certificate authority that the deliverer trusts (httpx reads SSL_CERT_FILE)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return ca


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
