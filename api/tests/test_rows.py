"""Rows of hand-written SQL loaded as the ORM loads them (api/rows.py): the show lock and the
tariff (on its own, or as JSON with the taken seats) give back the instances a query of
the ORM would, field for field, on both databases (SQLite gives datetimes as text, which
the backend's converters turn into datetimes)."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from api.locking import lock_shows, seats_in_use, show_with_screen
from api.models import Show, ShowPrice, TicketType
from api.services.seating import tariff
from api.tests.conftest import make_show

pytestmark = pytest.mark.django_db


def fields(instance, *, leave_out: str = "") -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if f.name != leave_out}


def test_a_locked_show_comes_with_its_screen_and_venue_as_the_orm_reads_them(show):
    other = make_show(days=4, title="Another")
    with transaction.atomic():
        locked = lock_shows([other.pk, show.pk])

    assert list(locked) == sorted([show.pk, other.pk])
    for found in locked.values():
        read = Show.objects.select_related("screen__venue").get(pk=found.pk)
        assert fields(found) == fields(read)
        assert fields(found.screen, leave_out="seat_map") == fields(read.screen, leave_out="seat_map")
        assert fields(found.screen.venue) == fields(read.screen.venue)
        # Loaded, as a query loads them: the seat map deferred (Screen.seats finds it by its
        # digest), the instances not "adding", a later save an UPDATE.
        assert found.screen.get_deferred_fields() == {"seat_map"}
        assert not found._state.adding and found._state.db == "default"
        assert found.starts_at.tzinfo is not None
    unlocked = show_with_screen(show.pk)
    assert unlocked is not None and fields(unlocked) == fields(locked[show.pk])


def test_the_tariff_is_every_ticket_type_with_the_shows_prices(show):
    types = {t.key: t for t in TicketType.objects.all()}  # adult (the default), child, senior
    child = types["child"]
    ShowPrice.objects.create(show=show, ticket_type=types["adult"], category="standard", amount=Decimal("12.50"))
    ShowPrice.objects.create(show=show, ticket_type=types["adult"], category="premium", amount=Decimal("15"))
    ShowPrice.objects.create(show=show, ticket_type=child, category="standard", amount=Decimal("7.00"))
    ShowPrice.objects.create(show=make_show(days=5), ticket_type=child, category="premium", amount=Decimal("1.00"))

    found = tariff(show.pk)

    # Read with the taken seats (a sale's one round trip) it is the same tariff, and the
    # same order of types: the default first, then by id.
    with_seats = tariff(show.pk, read=seats_in_use(show.pk, now=timezone.now(), with_tariff=True).tariff)
    assert list(with_seats.types) == list(found.types) == [t.key for t in TicketType.objects.all()]
    assert {key: fields(t) for key, t in with_seats.types.items()} == {key: fields(t) for key, t in found.types.items()}
    assert with_seats.prices == found.prices
    assert seats_in_use(show.pk, now=timezone.now()).tariff is None  # only when asked
    assert {key: fields(t) for key, t in found.types.items()} == {t.key: fields(t) for t in TicketType.objects.all()}
    assert found.default.default
    assert found.prices == {
        ("adult", "standard"): Decimal("12.50"),
        ("adult", "premium"): Decimal("15.00"),
        ("child", "standard"): Decimal("7.00"),
    }
    assert tariff(None).prices == {} and set(tariff(None).types) == set(found.types)


def test_a_tariff_kept_by_its_text_is_never_an_old_one(show):
    """seating.tariff keeps the tariff it read by the database's text of it: a change to a
    price or a type is a new text, read anew by the next sale, whichever process it runs in."""
    adult = TicketType.objects.get(key="adult")
    price = ShowPrice.objects.create(show=show, ticket_type=adult, category="standard", amount=Decimal("9.00"))
    used = seats_in_use(show.pk, now=timezone.now(), with_tariff=True)
    assert tariff(show.pk, read=used.tariff) is tariff(show.pk)  # the same text, the tariff kept

    ShowPrice.objects.filter(pk=price.pk).update(amount=Decimal("9.50"))  # no signal, no save()
    TicketType.objects.filter(pk=adult.pk).update(name="Grown-up")

    found = tariff(show.pk, read=seats_in_use(show.pk, now=timezone.now(), with_tariff=True).tariff)
    assert found.prices == {("adult", "standard"): Decimal("9.50")}
    assert found.types["adult"].name == "Grown-up"
    with pytest.raises(TypeError):  # kept and shared, so read-only
        found.prices[("adult", "premium")] = Decimal("1.00")  # type: ignore[index]


def test_a_ticket_types_columns_come_through_the_tariffs_json_as_they_are():
    """The tariff brings TicketType's columns through JSON (tariffs.tariff_sql), where
    only numbers, text and booleans keep their kind: a decimal, a date or a UUID field would
    load as text on PostgreSQL. A field of such a kind needs the tariff read otherwise."""
    kinds = {field.get_internal_type() for field in TicketType._meta.concrete_fields}
    assert kinds <= {"AutoField", "BigAutoField", "CharField", "SlugField", "TextField", "BooleanField"}
    assert kinds >= {"BooleanField"}  # the default flag: 0 or 1 on SQLite, loaded as a bool
    (adult,) = [t for t in tariff(None).types.values() if t.default]
    assert adult.default is True


def test_without_ticket_types_a_sale_gets_the_fresh_installations(show):
    TicketType.objects.all().delete()
    used = seats_in_use(show.pk, now=timezone.now(), with_tariff=True)
    assert used.tariff == "[]"  # on both databases

    found = tariff(show.pk, read=used.tariff)

    assert list(found.types) == ["adult", "child", "senior"] and found.default.key == "adult"
