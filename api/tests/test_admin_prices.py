# ruff: noqa: F811  (pytest fixtures imported from the admin's helpers, used as arguments)
"""The admin of a show's prices (API.md (v2), "Ticket types and prices"): writes through
services.catalog, so that their rules and audit entries are the API's; their refusals as
form errors or messages, nothing saved. The ticket types' pages: test_admin_ticket_types.py."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.admin.prices import PRICES_CHANGED
from api.models import AuditEntry, Show, ShowPrice, TicketType
from api.services import catalog, sales
from api.tests.admin_catalog_helpers import _form, film, screen, show, venue  # noqa: F401 (the fixtures)
from api.tests.admin_helpers import NOW, _entries, _form_errors, _messages, _type, clerk, frozen  # noqa: F401 (the fixtures)
from api.tests.conftest import ADA, hold_seats

pytestmark = pytest.mark.django_db


def _prices_form(client, url: str, rows: list[dict], **changes) -> dict:
    """The show's form with new price rows added."""
    data = _form(client, url, **changes)
    initial = int(data["prices-INITIAL_FORMS"])
    for n, row in enumerate(rows, start=initial):
        data |= {f"prices-{n}-{field}": value for field, value in row.items()}
        data[f"prices-{n}-show"] = data.get(f"prices-{n}-show", "")
    data["prices-TOTAL_FORMS"] = str(initial + len(rows))
    return data


def _prices(show: Show) -> list[tuple[str, str, Decimal]]:
    return sorted(ShowPrice.objects.filter(show=show).values_list("ticket_type__key", "category", "amount"))


# --- a show's prices ---------------------------------------------------------------------------


def test_staff_set_a_shows_prices_on_its_page(staff, show):
    url = f"/admin/api/show/{show.pk}/change/"
    rows = [
        {"ticket_type": _type("adult"), "category": "standard", "amount": "250.00"},
        {"ticket_type": _type("child"), "category": "standard", "amount": "150.50"},
        {"ticket_type": _type("adult"), "category": "premium", "amount": "320.00"},
    ]

    response = staff.post(url, _prices_form(staff, url, rows))

    assert (response.status_code, response["Location"]) == (302, "/admin/api/show/")
    assert _prices(show) == [
        ("adult", "premium", Decimal("320.00")),
        ("adult", "standard", Decimal("250.00")),
        ("child", "standard", Decimal("150.50")),
    ]
    # Through services.catalog.show_update: audited as the API's change of prices.
    assert ("staff:admin", str(show.pk), {"prices": "changed"}) in _entries("show.changed")
    page = staff.get(url).content.decode()
    assert 'name="prices-TOTAL_FORMS" value="3"' in page and 'value="320.00"' in page
    assert "Prices (none:" not in page  # its heading said "none" above three prices


def test_saving_a_shows_page_with_new_prices_alone_records_one_change(staff, show):
    url = f"/admin/api/show/{show.pk}/change/"
    row = {"ticket_type": _type("adult"), "category": "standard", "amount": "250.00"}

    staff.post(url, _prices_form(staff, url, [row]))

    # The show's own fields, saved unchanged, made an empty show.changed (and its event) too.
    assert _entries("show.changed") == [("staff:admin", str(show.pk), {"prices": "changed"})]


def test_changing_and_removing_prices_replaces_the_list_and_holds_keep_theirs(staff, show):
    catalog.show_update(
        show_id=show.pk,
        now=NOW,
        prices=[("adult", "standard", Decimal("250.00")), ("child", "standard", Decimal("150.00"))],
    )
    held = hold_seats(show.pk, seats=["B1", "B2"], ticket_types={"adult": 1, "child": 1}, now=NOW)
    url = f"/admin/api/show/{show.pk}/change/"
    data = _form(staff, url)
    rows = {data[f"prices-{n}-ticket_type"]: n for n in range(2)}
    adult, child = rows[_type("adult")], rows[_type("child")]

    response = staff.post(url, {**data, f"prices-{adult}-amount": "275.00", f"prices-{child}-DELETE": "on"})

    assert response.status_code == 302
    assert _prices(show) == [("adult", "standard", Decimal("275.00"))]
    sale = sales.booking_confirm(hold_id=held.pk, now=NOW, **ADA)
    assert sale.booking.total == Decimal("400.00")  # the prices the hold froze
    assert [t.price for t in sale.tickets] == [Decimal("250.00"), Decimal("150.00")]


def test_adding_a_price_on_a_page_that_showed_none_keeps_the_prices_a_colleague_set_meanwhile(staff, show):
    """The page showed no prices; a colleague priced adult seats meanwhile (API or admin).
    Adding a child price on the page sent [child] as the whole list: the adult price was
    deleted, said "changed successfully". The save is refused: reload and see them."""
    url = f"/admin/api/show/{show.pk}/change/"
    data = _prices_form(staff, url, [{"ticket_type": _type("child"), "category": "standard", "amount": "100.00"}])
    catalog.show_update(
        show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("300.00"))], actor="staff:colleague"
    )

    response = staff.post(url, {**data, "capacity": "5"})

    assert _form_errors(response) == {"__all__": [PRICES_CHANGED]}
    assert _prices(show) == [("adult", "standard", Decimal("300.00"))]
    assert Show.objects.get(pk=show.pk).capacity != 5  # nothing saved
    assert 'value="300.00"' in staff.get(url).content.decode()  # reloaded: the prices now, and it saves
    assert staff.post(url, _form(staff, url, capacity="5")).status_code == 302


def test_a_colleagues_prices_saved_after_the_pages_check_are_not_overwritten(staff, show, monkeypatch):
    """ShowForm.clean compares the page's prices with the show's unlocked: a colleague's
    save could land between that and the formset's save, which replaces the whole list.
    The save compares them again under the show's lock and is refused."""
    from api.admin.show_form import ShowForm

    url = f"/admin/api/show/{show.pk}/change/"
    data = _prices_form(staff, url, [{"ticket_type": _type("child"), "category": "standard", "amount": "100.00"}])
    checked = ShowForm.clean

    def colleague_saves_after_the_check(form):
        cleaned = checked(form)
        catalog.show_update(show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("300.00"))])
        return cleaned

    monkeypatch.setattr(ShowForm, "clean", colleague_saves_after_the_check)

    response = staff.post(url, {**data, "capacity": "5"})

    assert response.status_code == 200
    assert PRICES_CHANGED in response.content.decode()
    # Never the page's list. (The colleague's save, in the test's one transaction, was
    # rolled back with the page's.)
    assert ("child", "standard", Decimal("100.00")) not in _prices(show)
    assert Show.objects.get(pk=show.pk).capacity != 5  # nothing of the page saved


def test_a_page_showing_a_price_deleted_meanwhile_says_so_not_select_a_valid_choice(staff, show):
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("300.00"))])
    url = f"/admin/api/show/{show.pk}/change/"
    data = _form(staff, url, **{"prices-0-amount": "310.00"})
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("child", "standard", Decimal("100.00"))])

    response = staff.post(url, data)

    page = response.content.decode()
    assert response.status_code == 200
    assert PRICES_CHANGED in page and "Select a valid choice" not in page
    assert _prices(show) == [("child", "standard", Decimal("100.00"))]


def test_a_show_is_added_with_its_prices(staff, screen, film):
    starts = (NOW + timedelta(days=5)).astimezone(screen.venue.zone)
    data = _prices_form(
        staff,
        "/admin/api/show/add/",
        [{"ticket_type": _type("senior"), "category": "standard", "amount": "99.90"}],
        screen=str(screen.pk),
        film=str(film.pk),
        starts_at_0=f"{starts:%Y-%m-%d}",
        starts_at_1="19:30:00",
        capacity="",
    )

    response = staff.post("/admin/api/show/add/", data)

    assert response.status_code == 302, response.context and response.context["errors"]
    (added,) = Show.objects.all()
    assert _prices(added) == [("senior", "standard", Decimal("99.90"))]
    assert [action for (action,) in AuditEntry.objects.order_by("pk").values_list("action")][-2:] == [
        "show.created",
        "show.changed",
    ]


def test_a_price_given_twice_is_a_form_error(staff, show):
    url = f"/admin/api/show/{show.pk}/change/"
    row = {"ticket_type": _type("adult"), "category": "standard", "amount": "250.00"}

    response = staff.post(url, _prices_form(staff, url, [row, {**row, "amount": "1.00"}], title="Changed"))

    assert response.status_code == 200
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "prices"]
    assert formset.formset.non_form_errors()
    assert not ShowPrice.objects.exists()
    assert Show.objects.get(pk=show.pk).title == "Dune: Part Two"  # nothing saved


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"category": "balcony", "amount": "1.00"}, "category"),
        ({"category": "standard", "amount": "-1.00"}, "amount"),
        ({"category": "standard", "amount": "1.005"}, "amount"),
    ],
)
def test_an_unknown_category_or_a_bad_amount_is_a_form_error(staff, show, row, field):
    url = f"/admin/api/show/{show.pk}/change/"

    response = staff.post(url, _prices_form(staff, url, [{"ticket_type": _type("adult"), **row}]))

    assert response.status_code == 200
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "prices"]
    assert list(formset.formset.errors[0]) == [field]
    assert not ShowPrice.objects.exists()


def test_the_show_page_costs_the_same_however_many_prices(staff, show, django_assert_num_queries):
    url = f"/admin/api/show/{show.pk}/change/"
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("1.00"))])
    staff.get(url)  # the session's first use
    with CaptureQueriesContext(connection) as one:
        staff.get(url)
    prices = [
        (key, category, Decimal("2.00")) for key in ("adult", "child", "senior") for category in ("standard", "premium")
    ]
    catalog.show_update(show_id=show.pk, now=NOW, prices=prices)
    with django_assert_num_queries(len(one)):
        page = staff.get(url).content.decode()
    assert page.count('value="2.00"') == 6


# --- staff who may change some of a show's prices only (found by a review helper) -------


def test_a_clerk_who_may_add_prices_but_not_change_them_adds_one_to_a_priced_show(client, show):
    # Without the right to change prices, the adult row is read-only, and Django gives its
    # form the row's values as read (the type an id): the save read it as typed, a 500.
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("250.00"))])
    clerk(client, "view_show", "change_show", "view_showprice", "add_showprice")
    url = f"/admin/api/show/{show.pk}/change/"
    child = TicketType.objects.get(key="child").pk

    response = client.post(
        url, _prices_form(client, url, [{"ticket_type": child, "category": "standard", "amount": "100.00"}])
    )

    assert response.status_code == 302
    prices = sorted(ShowPrice.objects.filter(show=show).values_list("ticket_type__key", "amount"))
    assert prices == [("adult", Decimal("250.00")), ("child", Decimal("100.00"))]


def test_a_clerk_who_may_delete_prices_but_not_change_them_deletes_one(client, show):
    # Django's read-only rows report no change, deleted ones too: the page said "changed
    # successfully" and nothing was deleted.
    prices = [("adult", "standard", Decimal("250.00")), ("child", "standard", Decimal("150.00"))]
    catalog.show_update(show_id=show.pk, now=NOW, prices=prices)
    clerk(client, "view_show", "change_show", "view_showprice", "delete_showprice")
    url = f"/admin/api/show/{show.pk}/change/"
    data = _form(client, url)
    child = ShowPrice.objects.get(show=show, ticket_type__key="child")
    row = next(name.split("-")[1] for name, value in data.items() if name.endswith("-id") and value == str(child.pk))

    assert client.post(url, {**data, f"prices-{row}-DELETE": "on"}).status_code == 302

    assert list(ShowPrice.objects.filter(show=show).values_list("ticket_type__key", "amount")) == [
        ("adult", Decimal("250.00"))
    ]
    assert AuditEntry.objects.filter(action="show.changed", actor="staff:clerk").exists()


def test_a_clerk_who_may_add_prices_but_not_view_them_adds_one_and_keeps_the_others(client, show):
    # The page lists no price to staff without the right to view them, and the show's
    # prices were saved as the page's rows: adding the child's price deleted the adult's.
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("250.00"))])
    clerk(client, "view_show", "change_show", "add_showprice")
    url = f"/admin/api/show/{show.pk}/change/"
    child = TicketType.objects.get(key="child").pk

    response = client.post(
        url, _prices_form(client, url, [{"ticket_type": child, "category": "standard", "amount": "100.00"}])
    )

    assert response.status_code == 302
    assert _prices(show) == [("adult", "standard", Decimal("250.00")), ("child", "standard", Decimal("100.00"))]


def test_a_row_of_a_price_the_page_did_not_list_is_no_price_not_a_500(client, show):
    """A row numbered among the page's prices that the formset did not find (a price staff
    may not view, named by its id): Django made it a new price whose values it never read."""
    catalog.show_update(show_id=show.pk, now=NOW, prices=[("adult", "standard", Decimal("250.00"))])
    clerk(client, "view_show", "change_show", "add_showprice")
    url = f"/admin/api/show/{show.pk}/change/"
    price = ShowPrice.objects.get(show=show)
    row = {"id": price.pk, "ticket_type": price.ticket_type_id, "category": "standard", "amount": "1.00"}
    data = _prices_form(client, url, [row])

    response = client.post(url, {**data, "prices-INITIAL_FORMS": "1", "prices-0-DELETE": "on"})

    assert response.status_code == 302
    assert _prices(show) == [("adult", "standard", Decimal("250.00"))]
