"""Rows of hand-written SQL loaded as the ORM loads them (api/rows.py): the show lock and the
tariff give back the instances a query of the ORM would, field for field, on both databases
(SQLite gives datetimes as text, which the backend's converters turn into datetimes)."""

from decimal import Decimal

import pytest
from django.db import transaction

from api.locking import lock_shows, show_with_screen
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

    assert {key: fields(t) for key, t in found.types.items()} == {t.key: fields(t) for t in TicketType.objects.all()}
    assert found.default.default
    assert found.prices == {
        ("adult", "standard"): Decimal("12.50"),
        ("adult", "premium"): Decimal("15.00"),
        ("child", "standard"): Decimal("7.00"),
    }
    assert tariff(None).prices == {} and set(tariff(None).types) == set(found.types)
