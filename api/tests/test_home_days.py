"""The home page's days (README, "Pages"): /?date=YYYY-MM-DD lists that day's shows, each
day read in its venue's zone as GET /api/shows?date= reads it, and a week of day links
leads to them. Found by a theatre developer: the page listed the next 50 shows only, and
Friday's could not be found (the demo's Main theatre stopped after tomorrow)."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api import pages
from api.models import Show, Venue
from api.tests.conftest import ADA, book_ticket, hold_seats, make_show, screen_of

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def monday():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def day_nav(html: str) -> str:
    found = re.search(r'<nav class="days" aria-label="Days">.*?</nav>', html, re.S)
    assert found, "no day links"
    return found.group(0)


def links(html: str) -> list[tuple[str, str, str]]:
    """The day links: (href, aria-current or "", text)."""
    return [
        (href, current or "", text)
        for href, current, text in re.findall(r'<a href="([^"]*)"(?: aria-current="(\w+)")?>([^<]*)</a>', day_nav(html))
    ]


def listed(response) -> list[int]:
    return [show.pk for show in response.context["shows"]]


def test_the_home_page_links_a_week_of_days_each_with_its_weekday_and_date(client):
    today = timezone.localdate()
    make_show(days=0, hour=20, minute=0)
    make_show(days=4, hour=19, minute=30)  # Friday
    make_show(days=6, hour=15, minute=0)

    html = client.get("/").content.decode()

    week = [today + timedelta(days=n) for n in range(7)]
    assert links(html) == [
        ("/", "page", "Next shows"),  # without a date, the next shows: marked as this page
        (f"/?date={week[0]}", "", f"Today, {label(week[0])}"),
        (f"/?date={week[4]}", "", label(week[4])),
        (f"/?date={week[6]}", "", label(week[6])),
    ]
    # The days without a show are said, not linked.
    for day in (week[1], week[2], week[3], week[5]):
        assert f"<li><span>{label(day)}: no shows</span></li>" in day_nav(html)
    assert "Later days" not in html and "Earlier days" not in html


def test_a_day_lists_its_shows_only_and_is_marked_current(client):
    friday = timezone.localdate() + timedelta(days=4)
    early = make_show(days=4, hour=11, minute=0, title="Perfect Days")
    late = make_show(days=4, hour=21, minute=0, title="Anora")
    make_show(days=3, hour=23, minute=30, title="Thursday Film")
    make_show(days=5, hour=0, minute=0, title="Saturday Film")
    book_ticket(early.pk, **ADA)
    hold_seats(late.pk, quantity=2)

    response = client.get(f"/?date={friday}")

    assert response.status_code == 200
    html = response.content.decode()
    assert listed(response) == [early.pk, late.pk]
    assert "Thursday Film" not in html and "Saturday Film" not in html
    assert f"<title>{response.context['theatre_name']}: shows on {label(friday)} {friday.year}</title>" in html
    assert f"<h2>Shows on {friday:%A} {friday.day} {friday:%B} {friday.year}</h2>" in html
    # The seats free, counted as on the next shows' page.
    assert "19 of 20 seats free" in html and "18 of 20 seats free" in html
    assert (f"/?date={friday}", "date", label(friday)) in links(html)
    assert ("/", "", "Next shows") in links(html)
    assert [current for _, current, _ in links(html)].count("date") == 1


def test_today_lists_the_shows_still_to_come_only(client):
    started = make_show(days=0, hour=9, minute=0)  # an hour ago
    coming = make_show(days=0, hour=18, minute=0)

    response = client.get(f"/?date={timezone.localdate()}")

    assert listed(response) == [coming.pk]
    assert started.pk not in listed(client.get("/"))


def test_a_day_is_read_in_each_venues_zone_as_the_api_reads_it(client, api_client):
    # Auckland is UTC+13 in December: 08:00 there on Thursday is 19:00 UTC on Wednesday.
    auckland = Venue.objects.create(name="Auckland Civic", time_zone="Pacific/Auckland", currency="NZD")
    thursday = timezone.localdate() + timedelta(days=3)
    there = Show.objects.create(
        screen=screen_of(8, venue=auckland),
        starts_at=datetime(thursday.year, thursday.month, thursday.day, 8, 0, tzinfo=auckland.zone),
        title="Anora",
    )
    here = make_show(days=3, hour=8, minute=0)

    for day, expected in ((thursday - timedelta(days=1), []), (thursday, sorted([there.pk, here.pk]))):
        page = client.get(f"/?date={day}")
        api = api_client.get("/api/shows", {"date": day.isoformat()}).json()
        assert sorted(listed(page)) == sorted(show["id"] for show in api["results"]) == expected
    # The day links count it on its own day too: Wednesday has nothing, Thursday is a link.
    html = client.get("/").content.decode()
    assert f"<li><span>{label(thursday - timedelta(days=1))}: no shows</span></li>" in html
    assert (f"/?date={thursday}", "", label(thursday)) in links(html)


def test_later_and_earlier_weeks(client):
    today = timezone.localdate()
    far = make_show(days=10, hour=19, minute=30)
    make_show(days=1, hour=19, minute=30)

    first = client.get("/").content.decode()
    next_week = today + timedelta(days=7)
    assert links(first)[-1] == (f"/?date={next_week}", "", f"Later days, from {label(next_week)}")

    response = client.get(f"/?date={today + timedelta(days=10)}")
    html = response.content.decode()

    assert listed(response) == [far.pk]
    # The week counted from today that holds the day: today + 7 to today + 13, the day marked.
    week = [today + timedelta(days=n) for n in range(7, 14)]
    assert links(html) == [
        ("/", "", "Next shows"),
        (f"/?date={today}", "", f"Earlier days, from {label(today)}"),
        (f"/?date={week[3]}", "date", label(week[3])),
    ]
    assert all(f"<li><span>{label(day)}: no shows</span></li>" in html for day in week if day != week[3])
    assert "Later days" not in html  # nothing after that week


def test_a_day_with_nothing_on_and_a_day_gone_by_still_answer(client):
    make_show(days=1)
    empty = timezone.localdate() + timedelta(days=2)
    gone = timezone.localdate() - timedelta(days=3)
    make_show(days=-3)  # it played then: nothing is on sale for that day

    nothing = client.get(f"/?date={empty}")
    past = client.get(f"/?date={gone}")

    assert (nothing.status_code, past.status_code) == (200, 200)
    said = f"No shows on {empty:%A} {empty.day} {empty:%B} {empty.year}. Pick another day above."
    assert said in nothing.content.decode()
    assert f"{gone:%A} {gone.day} {gone:%B} {gone.year} has passed" in past.content.decode()
    assert listed(past) == []
    # An empty day is marked current all the same; a past one is not in the week from today.
    assert (f"/?date={empty}", "date", f"{label(empty)}: no shows") in links(nothing.content.decode())
    assert "date" not in [current for _, current, _ in links(past.content.decode())]


def test_an_open_timing_that_sold_nothing_makes_no_day_link(client, api_client):
    tomorrow = timezone.localdate() + timedelta(days=1)
    held = api_client.post("/api/holds", {"date": str(tomorrow), "time": "10:00", "quantity": 1}, format="json")
    assert held.status_code == 201, held.json()
    assert api_client.delete(f"/api/holds/{held.json()['id']}").status_code == 204

    html = client.get("/").content.decode()

    assert f"<li><span>{label(tomorrow)}: no shows</span></li>" in html
    assert listed(client.get(f"/?date={tomorrow}")) == []


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("2026-13-01", "“2026-13-01” is not a day: give one as YYYY-MM-DD, such as {tomorrow}."),
        ("2026-02-30", "“2026-02-30” is not a day: give one as YYYY-MM-DD, such as {tomorrow}."),
        ("11/12/2026", "“11/12/2026” is not a day: give one as YYYY-MM-DD, such as {tomorrow}."),
        ("friday", "“friday” is not a day: give one as YYYY-MM-DD, such as {tomorrow}."),
        ("9999-12-31", "9999-12-31 is outside the calendar: give a day such as {tomorrow} (year, month, day)."),
        ("x" * 5000, "“" + "x" * 29 + "…” is not a day: give one as YYYY-MM-DD, such as {tomorrow}."),
    ],
)
def test_a_bad_date_is_a_400_page_that_says_how_to_write_one(client, asked, said):
    make_show(days=1)

    response = client.get("/", {"date": asked})

    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert f'<p class="error" role="alert">{said.format(tomorrow=tomorrow)}</p>' in html
    assert response.context["shows"] == []
    assert links(html)[1] == (f"/?date={tomorrow}", "", label(tomorrow))  # the week from today, to go on


def test_an_empty_date_is_the_next_shows(client):
    show = make_show(days=2)

    response = client.get("/?date=")

    assert (response.status_code, listed(response)) == (200, [show.pk])


def test_a_day_with_more_shows_than_the_page_lists_says_where_to_find_them(client, monkeypatch):
    monkeypatch.setattr(pages, "DAY_SHOW_COUNT", 2)
    shows = [make_show(days=1, hour=10 + n, minute=0) for n in range(3)]
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = client.get(f"/?date={tomorrow}")

    assert listed(response) == [shows[0].pk, shows[1].pk]
    assert f"<code>GET /api/shows?date={tomorrow}</code> lists them all" in response.content.decode()
    assert "lists them all" not in client.get(f"/?date={tomorrow + timedelta(days=1)}").content.decode()


def test_a_day_is_three_queries(client, django_assert_num_queries):
    for n in range(30):
        make_show(days=1 + n % 9, hour=8 + n % 12, minute=0, capacity=10, screen=screen_of(10))
    Venue.objects.time_zones()  # kept in the shared cache, as after the first search by date
    tomorrow = timezone.localdate() + timedelta(days=1)

    # The day's shows with their screen, venue, film and seat counts; the week's counts
    # (its shows alone, bounded in UTC: not every show to come); a show after the week.
    with CaptureQueriesContext(connection) as queries, django_assert_num_queries(3):
        response = client.get(f"/?date={tomorrow}")

    assert response.status_code == 200
    assert '"starts_at" <' in queries.captured_queries[1]["sql"]
    # A bad date is two (the week's counts and what comes after: the shows are not read).
    with django_assert_num_queries(2):
        assert client.get("/?date=tomorrow").status_code == 400


def test_the_days_start_where_it_is_earliest_so_tonight_west_of_time_zone_has_its_link(client, settings):
    # 02:00 in London on Tuesday is 21:00 on Monday in New York: the days began at Tuesday,
    # and the New York show at 22:30 tonight was on no day's link.
    settings.TIME_ZONE = "Europe/London"
    new_york = Venue.objects.create(name="Film Forum", time_zone="America/New_York", currency="USD")
    monday = date(2026, 12, 7)
    tonight = Show.objects.create(
        screen=screen_of(8, venue=new_york),
        starts_at=datetime(2026, 12, 7, 22, 30, tzinfo=new_york.zone),
        title="Anora",
    )

    with time_machine.travel(datetime(2026, 12, 8, 2, 0, tzinfo=UTC), tick=False):
        html = client.get("/").content.decode()
        page = client.get(f"/?date={monday}")

    assert links(html)[1] == (f"/?date={monday}", "", label(monday))
    assert f"Today, {label(monday + timedelta(days=1))}" in html  # London's day
    assert listed(page) == [tonight.pk]
    assert "has passed" not in page.content.decode()
