"""manage.py seed_demo: a demo multiplex of two venues in two time zones, screens with
aisles and wheelchair spaces, films, and a week of priced shows that never overlap;
running it again adds nothing."""

import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from api.models import AuditEntry, Film, Screen, Show, ShowPrice, Venue
from api.services import catalog, sales
from api.tests.conftest import all_at_once, postgres_only

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 15, 9, 0, tzinfo=UTC)  # a Saturday morning


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--no-admin", *args, stdout=out)
    return out.getvalue()


def _everything() -> dict:
    return {
        "venues": sorted(Venue.objects.values_list("name", "time_zone", "currency", "country")),
        "screens": sorted(Screen.objects.values_list("venue__name", "name", "capacity", "seat_map")),
        "films": sorted(Film.objects.values_list("title", "runtime_minutes", "rating")),
        "shows": sorted(Show.objects.values_list("screen_id", "starts_at", "ends_at", "busy_until", "film_id")),
    }


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def seeded():
    with time_machine.travel(NOW, tick=False):
        default = Screen.objects.default()
        default_map = default.seat_map
        output = _seed()
    return {"default": default, "default_map": default_map, "output": output}


def test_two_venues_in_two_zones(seeded):
    assert sorted(Venue.objects.values_list("name", "time_zone", "currency", "country")) == [
        ("Main theatre", settings.TIME_ZONE, settings.BOOKING_CURRENCY, settings.PHONENUMBER_DEFAULT_REGION),
        ("Odeon Kadıköy", "Europe/Istanbul", "TRY", "TR"),
    ]
    assert settings.TIME_ZONE != "Europe/Istanbul"


def test_the_default_screen_stays_the_version_1_theatre(seeded):
    default = Screen.objects.default()
    assert default == seeded["default"]
    assert default.seat_map == seeded["default_map"]
    assert default.shows.exists()  # and version-1 clients find shows on it


def test_screens_of_60_to_300_seats_with_aisles_categories_and_wheelchair_spaces(seeded):
    screens = Screen.objects.exclude(pk=seeded["default"].pk).select_related("venue")
    assert sorted((s.venue.name, s.name, s.capacity) for s in screens) == [
        ("Main theatre", "Screen 2", 300),
        ("Main theatre", "Screen 3 (studio)", 60),
        ("Odeon Kadıköy", "Salon 1", 192),
        ("Odeon Kadıköy", "Salon 2", 96),
    ]
    for screen in screens:
        seat_map = screen.seats
        steps = {b.x - a.x for row in seat_map.rows for a, b in pairwise(row.seats)}
        assert steps == {1, 2}, screen.name  # neighbours, and one-place aisles
        wheelchairs = [seat for seat in seat_map if seat.kind == "wheelchair"]
        assert 2 <= len(wheelchairs) <= 4, screen.name
        for space in wheelchairs:  # each with a companion seat beside it
            assert [n.kind for n in seat_map.neighbours(space)] == ["companion"], space.label
        assert {seat.kind for seat in seat_map} == {"seat", "wheelchair", "companion"}
    categories = {seat.category for screen in screens for seat in screen.seats}
    assert categories == {"standard", "premium"}


def test_films_with_runtimes(seeded):
    films = list(Film.objects.all())
    assert len(films) == 6
    assert all(60 <= film.runtime_minutes <= 200 and film.rating for film in films)


def test_a_week_of_shows_that_never_overlap(seeded):
    for screen in Screen.objects.select_related("venue"):
        zone = screen.venue.zone
        shows = list(screen.shows.select_related("film").order_by("starts_at"))
        today = timezone.localdate(NOW, zone)
        days = {timezone.localtime(show.starts_at, zone).date() for show in shows}
        assert days == {today + timedelta(days=n) for n in range(7)}, screen.name
        for show in shows:
            assert show.film is not None
            local = timezone.localtime(show.starts_at, zone)
            assert time(11, 0) <= local.time() <= time(22, 30) and local.second == 0
            assert show.starts_at > NOW
            assert show.ends_at == show.starts_at + timedelta(minutes=show.film.runtime_minutes)
            assert show.busy_until == show.ends_at + timedelta(minutes=settings.BOOKING_CLEANING_MINUTES)
            assert (show.title, show.capacity) == (show.film.title, screen.capacity)
        for before, after in pairwise(shows):
            assert before.busy_until <= after.starts_at, (before, after)
    assert seeded["output"] == f"Scheduled {Show.objects.count()} demo shows on 5 screens in 2 venues.\n"


def test_every_show_is_priced_in_its_venues_currency(seeded):
    euros = {
        ("adult", "standard"): "12.50",
        ("adult", "premium"): "16.00",
        ("child", "standard"): "8.50",
        ("child", "premium"): "11.00",
        ("senior", "standard"): "9.50",
        ("senior", "premium"): "12.50",
    }
    lira = {
        ("adult", "standard"): "250.00",
        ("adult", "premium"): "320.00",
        ("child", "standard"): "150.00",
        ("child", "premium"): "200.00",
        ("senior", "standard"): "180.00",
        ("senior", "premium"): "230.00",
    }
    prices: dict[int, dict] = {}
    for show_id, key, category, amount in ShowPrice.objects.values_list(
        "show", "ticket_type__key", "category", "amount"
    ):
        prices.setdefault(show_id, {})[(key, category)] = str(amount)
    for show in Show.objects.select_related("screen__venue"):
        expected = lira if show.screen.venue.currency == "TRY" else euros
        assert prices.get(show.pk) == expected, show


def test_a_seeded_show_sells_at_its_prices(seeded):
    # A party of an adult and a child in the premium rows of the 300-seat screen.
    screen = Screen.objects.get(name="Screen 2")
    show = screen.shows.order_by("starts_at")[0]
    premium = [seat.label for seat in screen.seats if seat.category == "premium"][:2]
    with time_machine.travel(NOW, tick=False):
        hold = sales.hold_create(show_id=show.pk, seats=premium, ticket_types={"adult": 1, "child": 1}, now=NOW)
    assert [line["price"] for line in hold.lines] == ["16.00", "11.00"]
    assert hold.total == Decimal("27.00")


def test_in_a_venue_no_two_shows_start_at_one_moment(seeded):
    # A version-1 client names a show by its date and time at the default venue.
    for venue in Venue.objects.all():
        starts = list(Show.objects.filter(screen__venue=venue).values_list("starts_at", flat=True))
        assert len(starts) == len(set(starts)) > 0


def test_what_it_makes_is_in_the_audit_trail_as_its_own(seeded):
    """Its films and second venue were made with no entry, and its screens and shows were
    recorded as "system", which names nobody (a review of the trail, a helper)."""
    made = {
        action: AuditEntry.objects.filter(action=action).count()
        for action in ("venue.created", "film.created", "screen.created", "show.created")
    }

    assert made == {
        "venue.created": 1,  # the second: the first is the migration's
        "film.created": Film.objects.count(),
        "screen.created": Screen.objects.count() - 1,  # but the migration's default screen
        "show.created": Show.objects.count(),
    }
    assert set(AuditEntry.objects.values_list("actor", flat=True)) == {"job:seed_demo"}


def test_running_it_again_adds_nothing(seeded):
    before = _everything()
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert _seed() == "Scheduled 0 demo shows on 5 screens in 2 venues.\n"
    assert _everything() == before


def test_a_day_later_it_adds_the_new_day_only(seeded):
    before = set(Show.objects.values_list("screen_id", "starts_at"))
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        _seed()
    after = set(Show.objects.values_list("screen_id", "starts_at"))
    assert before <= after
    new_days = {
        timezone.localtime(starts_at, Screen.objects.get(pk=s).venue.zone).date() for s, starts_at in after - before
    }
    assert new_days == {(NOW + timedelta(days=7)).date()}


def test_shows_staff_scheduled_are_kept_and_worked_around(frozen_now):
    screen = Screen.objects.default()
    film = Film.objects.create(title="Staff's choice", runtime_minutes=200)
    starts_at = timezone.make_aware(datetime(2030, 6, 16, 12, 0), screen.venue.zone)
    kept = catalog.show_create(starts_at=starts_at, screen_id=screen.pk, film_id=film.pk, now=timezone.now())
    output = _seed()
    assert "left out, other shows were in the way." in output
    shows = list(screen.shows.order_by("starts_at"))
    assert kept in shows
    for before, after in pairwise(shows):
        assert before.busy_until <= after.starts_at


def test_the_admin_login_is_for_development_only(frozen_now, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not get_user_model().objects.exists()
    # Refused before it seeds: a production host's database was given the demo venues and
    # shows, bookable by anyone, and only then refused the login.
    assert not Show.objects.exists() and not Venue.objects.exclude(pk=Screen.objects.default().venue_id).exists()
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", "--days", "1", stdout=out)
    call_command("seed_demo", "--days", "1", stdout=out)
    assert out.getvalue().count("Created the admin login") == 1
    admin_user = get_user_model().objects.get()
    assert admin_user.check_password("admin")
    made = AuditEntry.objects.get(action="user.created")  # who holds staff status is in the trail
    assert (made.actor, made.object_id, made.changes["is_superuser"]) == ("job:seed_demo", str(admin_user.pk), True)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_runs_on_several_hosts_at_once_make_one_of_each_and_none_fails(settings):
    """Three runs at once (make run on three hosts of one database): each read a film, the
    second venue, a screen and the admin by name, found none and made one: three of each
    film, two venues, an IntegrityError traceback on the admin, and every later run then
    failed on a title found twice. The seeding's lock lets one run at a time."""
    settings.DEBUG = True

    outputs = all_at_once(3, lambda n: _run_seed_demo("--days", "1"))

    assert all(isinstance(out, str) for out in outputs), outputs
    assert not Film.objects.values("title").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not Screen.objects.values("venue", "name").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert Venue.objects.filter(name="Odeon Kadıköy").count() == 1
    assert get_user_model().objects.filter(username="admin").count() == 1
    assert "Scheduled 0 demo shows" not in _run_seed_demo("--days", "2")  # and a later run still works


def _run_seed_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()
