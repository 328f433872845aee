"""What the catalog admin tests (test_admin_v2.py, test_admin_shows.py) share: a venue in
Istanbul with a screen of AISLE_MAP, a film and a show of it, the seats a page draws,
and the form a page holds, as staff would submit it."""

import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from api.models import Film, Screen, Show, Venue
from api.seatmaps import parse
from api.services import catalog, venues
from api.tests.admin_helpers import NOW

SVG = "{http://www.w3.org/2000/svg}"

# Two rows; an aisle after seat 2 of each; a premium seat; a wheelchair space and the
# companion seat beside it.
AISLE_MAP = {
    "rows": [
        {
            "label": "A",
            "seats": [
                {"number": 1},
                {"number": 2},
                {"number": 3, "x": 4, "category": "premium"},
                {"number": 4, "x": 5, "kind": "wheelchair"},
                {"number": 5, "x": 6, "kind": "companion"},
            ],
        },
        {"label": "B", "seats": [{"number": 1}, {"number": 2}, {"number": 3, "x": 4}, {"number": 4, "x": 5}]},
    ]
}
LABELS = ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4"]


@pytest.fixture
def venue(frozen) -> Venue:
    return Venue.objects.create(name="Odeon Kadıköy", time_zone="Europe/Istanbul", currency="TRY", country="TR")


@pytest.fixture
def screen(venue) -> Screen:
    return venues.screen_save(screen=Screen(venue=venue, name="Salon 1"), seat_map=parse(AISLE_MAP), now=NOW)


@pytest.fixture
def film(frozen) -> Film:
    return Film.objects.create(title="Dune: Part Two", runtime_minutes=166, rating="PG-13")


@pytest.fixture
def show(screen, film) -> Show:
    return catalog.show_create(
        now=timezone.now(), starts_at=NOW + timedelta(days=3), screen_id=screen.pk, film_id=film.pk
    )


def _svg_seats(html: str) -> dict[str, ET.Element]:
    """The seats drawn in the page's seat map, by label."""
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="seat-map"')
    end = html.index("</svg>", start) + len("</svg>")
    svg = ET.fromstring(html[start:end])
    return {g.get("data-seat", ""): g for g in svg.iter(f"{SVG}g") if g.get("data-seat")}


class _FormReader(HTMLParser):
    """The values a browser would send from a page's fields, as they were rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.enctype = "application/x-www-form-urlencoded"  # a form's, when it names none
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "form" and found.get("enctype"):
            self.enctype = found["enctype"] or self.enctype
        elif tag == "input" and name and found.get("type") not in ("submit", "checkbox"):
            self.data[name] = found.get("value") or ""
        elif tag == "select" and "disabled" not in found:
            self._select = name
        elif tag == "option" and self._select and "selected" in found:
            self.data[self._select] = found["value"] or ""
        elif tag == "textarea" and name:
            self._textarea, self.data[name] = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None


def _page(client, url: str, **changes) -> tuple[dict, str]:
    """The page's form as loaded, with some fields changed, and its encoding."""
    reader = _FormReader()
    reader.feed(client.get(url).content.decode())
    data = {name: value for name, value in reader.data.items() if name != "csrfmiddlewaretoken"}
    # A textarea's text starts after one newline, which the browser drops.
    data = {name: value.removeprefix("\n") for name, value in data.items()}
    return {**data, **changes, "_save": "Save"}, reader.enctype


def _form(client, url: str, **changes) -> dict:
    """The page's form as loaded, with some fields changed: what staff submit."""
    return _page(client, url, **changes)[0]


def _submit(client, url: str, **changes):
    """The page's form, with some fields changed, sent as a browser sends it: url-encoded
    unless the form asks for multipart/form-data (the test client's post() always sends
    multipart, whose fields go as they are; url-encoded, a body is larger)."""
    data, enctype = _page(client, url, **changes)
    if enctype == "multipart/form-data":
        return client.post(url, data)
    return client.post(url, urlencode(data), content_type=enctype)
