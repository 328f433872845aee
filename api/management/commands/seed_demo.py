"""A demo multiplex: two venues in two time zones, screens of 60 to 300 seats with aisles,
premium rows and wheelchair spaces, films, and a week of shows that never overlap, priced in
each venue's currency by ticket type and seat category (a show made earlier keeps its
prices, or their absence).

Safe to run again: venues, screens and films are found by name, shows by screen and start;
the schedule of a day depends on the day alone, so a later run finds the same times. Safe to
run on several hosts at once: a run holds the seeding's advisory lock (PostgreSQL) for its
one transaction, and another host's run meanwhile does nothing (each of its reads-then-
inserts would have made a second film, venue or screen of a name). Scheduled through
services.catalog (the runtime, the cleaning, the overlap rule), the maps saved through
screen_save. The default screen (Main theatre, Screen 1: the version-1 theatre) keeps its
map and gets shows too; in a venue no two shows start at one moment, so that a version-1
client's date and time still name one show.
"""

import math
from argparse import ArgumentTypeError
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from api.errors import DomainError
from api.locking import try_job_lock
from api.models import Film, Screen, Show, TicketType, Venue
from api.seatmaps import parse, row_label
from api.services import accounts, catalog, venues

FILMS = [
    # title, runtime in minutes, rating, description
    ("Dune: Part Two", 166, "PG-13", "Paul Atreides unites with the Fremen on a path of revenge."),
    ("Spirited Away", 125, "PG", "A girl wanders into a world of spirits and must free her parents."),
    ("The Grand Budapest Hotel", 99, "R", "A legendary concierge and his lobby boy in a famous European hotel."),
    ("Paddington in Peru", 106, "PG", "Paddington returns to Peru to visit his beloved Aunt Lucy."),
    ("Past Lives", 106, "PG-13", "Two childhood friends meet again, decades and a continent apart."),
    ("Perfect Days", 124, "PG", "A Tokyo toilet cleaner finds beauty in his everyday routine."),
]

SECOND_VENUE = {"name": "Odeon Kadıköy", "time_zone": "Europe/Istanbul", "currency": "TRY", "country": "TR"}

# What the demo's shows cost, by the venue's currency: per ticket type, a standard seat
# and a premium one. A venue in another currency gets the EUR figures in its own.
PRICES = {
    "EUR": {"adult": ("12.50", "16.00"), "child": ("8.50", "11.00"), "senior": ("9.50", "12.50")},
    "TRY": {"adult": ("250.00", "320.00"), "child": ("150.00", "200.00"), "senior": ("180.00", "230.00")},
}

SEED_LOCK = 0x7469636B65740004  # beside services/jobs.py's job locks
ACTOR = "job:seed_demo"  # the audit trail's name for what it makes
MOST_DAYS = 366


def days_to_schedule(text: str) -> int:
    """argparse's type= for --days: 1 to MOST_DAYS (0 or fewer scheduled nothing and said
    so as a success; millions ran until the calendar ended, in a traceback)."""
    try:
        days = int(text)
    except ValueError:
        raise ArgumentTypeError(f"must be a whole number of days, not {text!r}") from None
    if not 1 <= days <= MOST_DAYS:
        raise ArgumentTypeError(f"must be 1 to {MOST_DAYS} days, not {days}")
    return days


OPENS, LAST_START = time(11, 0), time(22, 30)  # local times of the first show and the latest start
STEP = 15  # shows start on a quarter hour, plus the screen's stagger (5 minutes a screen)


@dataclass(frozen=True)
class Auditorium:
    """A screen's map: `rows` rows of blocks of seats (their sizes) with a one-place aisle
    between blocks; `premium` rows (from the back) of the middle block are premium; in
    the back row, the seat beside each aisle is a wheelchair space and its neighbour
    away from the aisle a companion seat."""

    name: str
    rows: int
    blocks: tuple[int, ...]
    premium: int

    def document(self) -> dict:
        rows = []
        middle = len(self.blocks) // 2
        for r in range(self.rows):
            seats, x, number = [], 1, 1
            back = r == self.rows - 1
            for b, size in enumerate(self.blocks):
                for i in range(size):
                    seat: dict = {"number": number, "x": x}
                    if b == middle and r >= self.rows - self.premium - 1 and not back:
                        seat["category"] = "premium"
                    beside_aisle = (i == size - 1 and b < len(self.blocks) - 1) or (i == 0 and b > 0)
                    next_to_that = (i == size - 2 and b < len(self.blocks) - 1) or (i == 1 and b > 0)
                    if back and beside_aisle:
                        seat["kind"] = "wheelchair"
                    elif back and next_to_that and size > 2:
                        seat["kind"] = "companion"
                    seats.append(seat)
                    x, number = x + 1, number + 1
                x += 1  # the aisle
            rows.append({"label": row_label(r), "seats": seats})
        return {"rows": rows}


# The default venue's demo screens (its Screen 1 is the version-1 theatre, kept as it is),
# and the second venue's.
MAIN_SCREENS = [
    Auditorium("Screen 2", rows=15, blocks=(4, 12, 4), premium=4),  # 300 places
    Auditorium("Screen 3 (studio)", rows=6, blocks=(5, 5), premium=0),  # 60
]
SECOND_SCREENS = [
    Auditorium("Salon 1", rows=12, blocks=(3, 10, 3), premium=3),  # 192
    Auditorium("Salon 2", rows=8, blocks=(6, 6), premium=2),  # 96
]


class Command(BaseCommand):
    help = (
        "Make a demo multiplex (two venues, screens with seat maps, films) and schedule its shows for the next "
        "7 days; with DEBUG on, an admin/admin login. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=days_to_schedule, default=7, help=f"1 to {MOST_DAYS} (default 7).")
        parser.add_argument("--no-admin", action="store_true", help="Don't create the admin/admin login.")

    def handle(self, *args, days: int, no_admin: bool, **options) -> None:
        if not (no_admin or settings.DEBUG):  # before anything is made
            raise CommandError(
                "The admin/admin login is for development only (DEBUG=true); use createsuperuser. "
                "--no-admin makes the demo venues and shows alone."
            )
        with transaction.atomic():
            if not try_job_lock(SEED_LOCK):
                self.stdout.write("Another host is seeding the demo; nothing to do.")
                return
            self._seed(days=days, no_admin=no_admin)

    def _seed(self, *, days: int, no_admin: bool) -> None:
        now = timezone.now()
        # The first of a title: staff may have added another film of the same title (a remake).
        # Made through the services, as staff would make them: audited as this job's.
        films = [
            Film.objects.filter(title=title).order_by("pk").first()
            or venues.plain_save(
                Film(),
                fields={"title": title, "runtime_minutes": r, "rating": g, "description": d},
                actor=ACTOR,
                now=now,
            )
            for title, r, g, d in FILMS
        ]
        default = Screen.objects.default()
        second = Venue.objects.filter(name=SECOND_VENUE["name"]).first() or venues.plain_save(
            Venue(), fields=dict(SECOND_VENUE), actor=ACTOR, now=now
        )
        theatres = [
            (default.venue, [default, *(_screen(default.venue, a, now) for a in MAIN_SCREENS)]),
            (second, [_screen(second, a, now) for a in SECOND_SCREENS]),
        ]
        created = refused = 0
        for venue, screens in theatres:
            prices = _prices(venue)
            today = timezone.localdate(now, venue.zone)
            for day in (today + timedelta(days=n) for n in range(days)):
                for stagger, screen in enumerate(screens):
                    for starts_at, film in _day_of(screen, films, day, venue, stagger):
                        if starts_at <= now or Show.objects.filter(screen=screen, starts_at=starts_at).exists():
                            continue
                        try:
                            catalog.show_create(
                                starts_at=starts_at,
                                now=timezone.now(),
                                screen_id=screen.pk,
                                film_id=film.pk,
                                prices=prices,
                                actor=ACTOR,
                            )
                            created += 1
                        except DomainError:  # a show staff scheduled is in the way
                            refused += 1
        self.stdout.write(
            f"Scheduled {created} demo shows on {sum(len(s) for _, s in theatres)} screens in {len(theatres)} venues"
            + (f"; {refused} left out, other shows were in the way." if refused else ".")
        )
        if no_admin:
            return
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            admin_user = User.objects.create_superuser("admin", "admin@example.com", "admin")
            accounts.record_saved(actor=ACTOR, now=now, obj=admin_user, before=None)
            self.stdout.write("Created the admin login: user admin, password admin (development only).")


def _prices(venue: Venue) -> catalog.Prices:
    """The demo's prices in the venue's currency, for the ticket types and seat categories
    this installation has (staff may have removed some)."""
    table = PRICES.get(venue.currency, PRICES["EUR"])
    TicketType.objects.default()  # a database without types gets adult, child and senior
    types = set(TicketType.objects.values_list("key", flat=True))
    return [
        (key, category, Decimal(amount))
        for key, amounts in table.items()
        if key in types
        for category, amount in zip(("standard", "premium"), amounts, strict=True)
        if category in settings.BOOKING_SEAT_CATEGORIES
    ]


def _screen(venue: Venue, auditorium: Auditorium, now: datetime) -> Screen:
    """The venue's screen of that name; made with the auditorium's map when missing (an
    existing screen keeps the map staff gave it)."""
    screen = Screen.objects.filter(venue=venue, name=auditorium.name).first()
    if screen is None:
        screen = Screen(venue=venue, name=auditorium.name)
        venues.screen_save(screen=screen, seat_map=parse(auditorium.document()), now=now, actor=ACTOR)
    return screen


def _day_of(screen: Screen, films: list[Film], day: date, venue: Venue, stagger: int) -> list[tuple[datetime, Film]]:
    """A screen's shows of one day, back to back with the cleaning between: the films in
    turn (which first depends on the day and the screen), each starting on the next
    quarter hour (plus the screen's stagger) after the last one's cleaning."""
    shows = []
    starts_at = timezone.make_aware(datetime.combine(day, OPENS), venue.zone) + timedelta(minutes=5 * stagger)
    last = timezone.make_aware(datetime.combine(day, LAST_START), venue.zone)
    turn = day.toordinal() + 2 * screen.pk
    while starts_at <= last:
        film = films[turn % len(films)]
        shows.append((starts_at, film))
        free_at = starts_at + timedelta(minutes=film.runtime_minutes + settings.BOOKING_CLEANING_MINUTES)
        starts_at = _next_quarter(free_at - timedelta(minutes=5 * stagger)) + timedelta(minutes=5 * stagger)
        turn += 1
    return shows


def _next_quarter(moment: datetime) -> datetime:
    """The moment itself on a quarter hour, else the next quarter hour (every zone's offset
    is a whole number of quarter hours)."""
    seconds = moment.timestamp()
    return datetime.fromtimestamp(math.ceil(seconds / (STEP * 60)) * STEP * 60, tz=moment.tzinfo)
