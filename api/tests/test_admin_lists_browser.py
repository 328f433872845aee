"""The admin's lists as a manager sees them: Chromium at 1280 px on the demo theatre (issue 16:
the tickets list showed only id and name, shows came furthest-future first with their
occupancy clipped, and customers could not be told apart). Screenshots land in artifacts/."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from selenium.webdriver.common.by import By

from api.models import Show
from api.tests.chromium import BROWSER_TESTS, DESKTOP, browser, screenshot  # noqa: F401 (browser: the fixture)
from api.tests.conftest import book_seats

pytestmark = BROWSER_TESTS


@pytest.fixture
def admin_browser(browser, live_server, admin_user):  # noqa: F811 (the imported fixture)
    """Chromium logged in to the admin as a superuser, at 1280 x 800."""
    client = Client()
    client.force_login(admin_user)
    browser.get(live_server.url + "/admin/login/")
    browser.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
    )
    browser.set_window_size(*DESKTOP)
    return browser


@pytest.fixture
def demo(db) -> dict:
    """The demo theatre, two people of one name, a show nearly full and one that started."""
    call_command("seed_demo", "--days", "3", "--no-admin", stdout=open("/dev/null", "w"))  # noqa: SIM115
    now = timezone.now()
    soonest = Show.objects.filter(starts_at__gt=now).order_by("starts_at").first()
    assert soonest is not None
    small = Show.objects.filter(starts_at__gt=now, screen__name="Screen 1").order_by("starts_at").first()
    assert small is not None
    book_seats(small.pk, name="Ada Lovelace", phone_number="+914155550123", quantity=9)
    book_seats(small.pk, name="Ada Lovelace", phone_number="+914155550999", quantity=8)
    started = Show.objects.filter(screen=small.screen, starts_at__lt=now).order_by("-starts_at").first()
    if started is None:  # before the first demo show of today: make one that started
        started = Show.objects.create(
            screen=small.screen, title="Early bird", starts_at=now - timedelta(minutes=30), capacity=20
        )
    return {"soonest": soonest, "small": small, "started": started}


def _no_column_clipped(driver) -> bool:
    """The results table fits its box: no column cut off or scrolled out of sight at 1280 px."""
    return driver.execute_script(
        "const box = document.querySelector('#changelist .results');"
        "return box !== null && box.scrollWidth <= box.clientWidth;"
    )


def _cells(driver, column: str) -> list[str]:
    return [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, f"#result_list tbody .field-{column}")]


def test_shows_list_soonest_first_with_occupancy_in_view(admin_browser, live_server, demo):
    admin_browser.get(live_server.url + "/admin/api/show/")
    screenshot(admin_browser, "admin-shows-1280", DESKTOP)
    rows = list(zip(_cells(admin_browser, "starts_local"), _cells(admin_browser, "screen"), strict=True))
    # Soonest first: the shows to come in the order they start (whatever their venue's
    # zone), then those that started, the latest first.
    now = timezone.now()
    # Shows starting at one moment (on other screens, in other venues) in the order they were made.
    shows = sorted(Show.objects.select_related("screen__venue"), key=lambda s: (s.starts_at <= now, s.starts_at, s.pk))
    coming = [s for s in shows if s.starts_at > now]
    gone = sorted((s for s in shows if s.starts_at <= now), key=lambda s: (-s.starts_at.timestamp(), s.pk))
    expected = [(f"{s.local_start:%Y-%m-%d %H:%M}", str(s.screen)) for s in coming + gone]
    assert rows == expected[: len(rows)]
    assert rows[0] == (f"{demo['soonest'].local_start:%Y-%m-%d %H:%M}", str(demo["soonest"].screen))
    occupancy = _cells(admin_browser, "occupancy")
    assert f"{round(100 * 17 / 20)}%" in occupancy
    assert _no_column_clipped(admin_browser)


def test_tickets_list_tells_people_and_shows_apart(admin_browser, live_server, demo):
    admin_browser.get(live_server.url + "/admin/api/ticket/")
    screenshot(admin_browser, "admin-tickets-1280", DESKTOP)
    headers = " ".join(th.text for th in admin_browser.find_elements(By.CSS_SELECTOR, "#result_list thead th"))
    for wanted in ("NAME", "PHONE", "SHOW (LOCAL TIME)", "SEAT", "BOOKING", "CHECKED IN"):
        assert wanted in headers, headers
    assert {"+914155550123", "+914155550999"} <= set(_cells(admin_browser, "phone_number"))
    # Which show: its title and screen, not a time alone.
    assert any(demo["small"].title in cell and "Screen 1" in cell for cell in _cells(admin_browser, "show_time"))
    assert _no_column_clipped(admin_browser)


def test_customers_of_one_name_are_told_apart(admin_browser, live_server, demo):
    admin_browser.get(live_server.url + "/admin/api/customer/")
    screenshot(admin_browser, "admin-customers-1280", DESKTOP)
    rows = [row.text for row in admin_browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")]
    adas = [row for row in rows if "Ada Lovelace" in row]
    assert len(adas) == 2
    assert any("+914155550123" in row for row in adas) and any("+914155550999" in row for row in adas)
    assert _no_column_clipped(admin_browser)


def test_bookings_list_fits(admin_browser, live_server, demo):
    admin_browser.get(live_server.url + "/admin/api/booking/")
    screenshot(admin_browser, "admin-bookings-1280", DESKTOP)
    assert len(_cells(admin_browser, "customer_phone")) == 2
    assert _no_column_clipped(admin_browser)
