# ruff: noqa: F811  (pytest fixtures imported from the admin's helpers, used as arguments)
"""The admin of ticket types (API.md (v2), "Ticket types and prices"): writes through
services.catalog, so that their rules and audit entries are the API's; their refusals as
form errors or messages, nothing saved. A show's prices: test_admin_prices.py."""

from decimal import Decimal

import pytest
from django.utils import timezone

from api.models import TicketType
from api.services import catalog, venues
from api.tests.admin_catalog_helpers import _form, film, screen, show, venue  # noqa: F401 (the fixtures)
from api.tests.admin_helpers import NOW, _entries, _form_errors, _messages, _type, frozen  # noqa: F401 (the fixtures)

pytestmark = pytest.mark.django_db


def test_the_ticket_type_pages_render_for_staff_only(staff, client):
    child = TicketType.objects.get(key="child")
    for url in [
        "/admin/api/tickettype/",
        "/admin/api/tickettype/add/",
        f"/admin/api/tickettype/{child.pk}/change/",
        f"/admin/api/tickettype/{child.pk}/delete/",
    ]:
        assert staff.get(url).status_code == 200, url
    staff.logout()
    response = staff.get("/admin/api/tickettype/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/api/tickettype/")


def test_the_list_shows_each_type_the_default_first(staff):
    TicketType.objects.default()
    response = staff.get("/admin/api/tickettype/")

    rows = [(str(t.name), t.key, t.default) for t in response.context["cl"].result_list]
    assert rows == [("Adult", "adult", True), ("Child", "child", False), ("Senior", "senior", False)]


def test_adding_a_type_as_the_default_takes_the_old_ones_place(staff):
    TicketType.objects.default()

    response = staff.post("/admin/api/tickettype/add/", {"key": "student", "name": "Student", "is_default": "on"})

    assert response.status_code == 302
    assert list(TicketType.objects.filter(default=True).values_list("key", flat=True)) == ["student"]
    made = {"key": "student", "name": "Student", "default": True}
    assert _entries("ticket_type.created") == [("staff:admin", "student", made)]


def test_renaming_a_type(staff):
    child = TicketType.objects.get(key="child")
    url = f"/admin/api/tickettype/{child.pk}/change/"

    response = staff.post(url, _form(staff, url, name="Under 12"))

    assert response.status_code == 302
    assert TicketType.objects.get(pk=child.pk).name == "Under 12"
    # The entry names what changed (it named the key and the default, not the name).
    assert _entries("ticket_type.changed") == [("staff:admin", "child", {"name": ["Child", "Under 12"]})]
    assert 'name="key"' not in staff.get(url).content.decode()  # a key stays once made


def test_the_default_stays_the_default_until_another_takes_its_place(staff):
    adult = TicketType.objects.default()
    url = f"/admin/api/tickettype/{adult.pk}/change/"

    data = _form(staff, url, name="Grown-up")
    data.pop("is_default", None)  # the box unticked
    response = staff.post(url, data)

    message = "One ticket type is always the default: make another one the default instead."
    assert _form_errors(response) == {"__all__": [message]}
    assert TicketType.objects.get(pk=adult.pk).default and TicketType.objects.get(pk=adult.pk).name == "Adult"


def test_renaming_a_type_keeps_the_default_a_colleague_moved_meanwhile(staff):
    adult, child = TicketType.objects.default(), TicketType.objects.get(key="child")
    url = f"/admin/api/tickettype/{adult.pk}/change/"
    page = {**_form(staff, url, name="Adult (18+)"), "is_default": "on"}  # the box as the page showed it
    child.default = True
    venues.ticket_type_save(child, now=timezone.now(), actor="staff:bob")

    response = staff.post(url, page)

    # The box, ticked as shown, made adult the default again.
    assert response.status_code == 302
    assert (TicketType.objects.default().key, TicketType.objects.get(pk=adult.pk).name) == ("child", "Adult (18+)")
    assert _entries("ticket_type.changed")[-1] == ("staff:admin", "adult", {"name": ["Adult", "Adult (18+)"]})


def test_making_a_type_the_default_keeps_a_rename_a_colleague_made_since_the_page_opened(staff):
    TicketType.objects.default()
    child = TicketType.objects.get(key="child")
    url = f"/admin/api/tickettype/{child.pk}/change/"
    page = {**_form(staff, url), "is_default": "on"}  # the page as opened, the box ticked
    child.name = "Kids"
    venues.ticket_type_save(child, now=timezone.now(), actor="staff:bob", given=["name"])  # a colleague's rename

    assert staff.post(url, page).status_code == 302

    child.refresh_from_db()
    assert (child.default, child.name) == (True, "Kids")


def test_deleting_an_unused_type(staff):
    senior = TicketType.objects.get(key="senior")

    response = staff.post(f"/admin/api/tickettype/{senior.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not TicketType.objects.filter(key="senior").exists()
    assert _entries("ticket_type.deleted") == [("staff:admin", "senior", {})]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("adult", "The default ticket type can't be deleted: make another one the default first."),
        ("child", "Tickets or show prices use this ticket type: it can't be deleted."),
    ],
)
def test_deleting_the_default_or_a_priced_type_is_refused_with_a_message(staff, show, key, message):
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("child", "standard", Decimal("1.00"))])
    kept = TicketType.objects.get(key=key)
    url = f"/admin/api/tickettype/{kept.pk}/delete/"

    assert staff.get(url).status_code == 200  # the question is asked; the service decides
    response = staff.post(url, {"post": "yes"})

    change = f"/admin/api/tickettype/{kept.pk}/change/"
    assert (response.status_code, response["Location"]) == (302, change)
    assert _messages(staff.get(change)) == [message]
    assert TicketType.objects.filter(key=key).exists()
    assert not _entries("ticket_type.deleted")


def test_types_are_deleted_one_at_a_time(staff):
    response = staff.get("/admin/api/tickettype/")

    assert "delete_selected" not in response.content.decode()
