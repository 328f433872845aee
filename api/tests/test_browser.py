# ruff: noqa: F811  (the fixture `browser`, imported from chromium.py, used as an argument)
"""The pages in a real browser: Debian's headless Chromium, driven by selenium, against a live
server. Screenshots land in artifacts/ (git-ignored) for a person to look at; the e-ticket's
QR code is read back from its screenshot with zbar, as a door scanner would read it."""

import base64
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from api.services import catalog
from api.tests.chromium import (  # noqa: F401 (browser: the fixture)
    ARTIFACTS,
    BROWSER_TESTS,
    DESKTOP,
    PHONE,
    browser,
    fits_the_width,
    qr_codes,
    screenshot,
    serious_violations,
    start_chromium,
)
from api.tests.conftest import book_ticket, make_show

pytestmark = BROWSER_TESTS


def test_home_page_in_chromium(browser, live_server):
    show = make_show(days=2, hour=19, minute=30, title="Dune: Part Three")
    make_show(days=2, hour=22, minute=0, title="The Long Goodbye of an Overly Long Film Title, Director's Cut")
    # Untitled and scheduled by staff (an open timing that sold nothing is not listed).
    day = timezone.localdate() + timedelta(days=3)
    catalog.show_create(
        starts_at=timezone.make_aware(datetime(day.year, day.month, day.day, 18)),
        now=timezone.now(),
        title="",
        capacity=1,
    )
    book_ticket(show.pk, name="Ada Lovelace", phone_number="+914155550123")

    browser.get(live_server.url + "/")

    assert browser.title == f"{settings.THEATRE_NAME}: coming shows"
    films = [film.text for film in browser.find_elements(By.CSS_SELECTOR, ".film h4")]
    assert films == [
        "Dune: Part Three",
        "Film to be announced",
        "The Long Goodbye of an Overly Long Film Title, Director's Cut",
    ]
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, ".shows li")]
    assert len(rows) == 3
    assert "19 of 20 seats free" in rows[0]
    assert "1 of 1 seat free" in rows[1]
    show_link = browser.find_element(By.CSS_SELECTOR, ".shows a")
    assert show_link.get_attribute("href") == f"{live_server.url}/shows/{show.pk}/"
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "header nav a")}
    assert links == {
        "Find your booking": live_server.url + "/bookings/",
        "API docs": live_server.url + "/api/docs/",
        "Staff admin": live_server.url + "/admin/",
    }
    assert screenshot(browser, "home", DESKTOP).exists()
    assert screenshot(browser, "home-phone", PHONE, mobile=True).exists()
    assert fits_the_width(browser)
    assert serious_violations(browser) == []

    # A day's link (its weekday and date) lists that day's shows, the day marked as current.
    browser.find_element(By.LINK_TEXT, f"{day:%a} {day.day} {day:%b}").click()
    assert [film.text for film in browser.find_elements(By.CSS_SELECTOR, ".film h4")] == ["Film to be announced"]
    assert browser.find_element(By.CSS_SELECTOR, '.days [aria-current="date"]').text == f"{day:%a} {day.day} {day:%b}"
    assert screenshot(browser, "home-day-phone", PHONE, mobile=True).exists()
    assert fits_the_width(browser)
    assert serious_violations(browser) == []


def test_eticket_in_chromium_has_a_qr_code_of_the_ticket_id(browser, live_server):
    show = make_show(days=2, hour=19, minute=30, title="Dune: Part Three")
    ticket = book_ticket(show.pk, name="Ada Lovelace", phone_number="+914155550123", seat="A7")

    browser.get(f"{live_server.url}/tickets/{ticket.pk}/")

    # The e-ticket names the venue the show is at (v2), not the THEATRE_NAME of the site.
    assert browser.find_element(By.CSS_SELECTOR, ".theatre").text == show.screen.venue.name
    assert browser.find_element(By.TAG_NAME, "h1").text == "Dune: Part Three"
    facts = browser.find_element(By.TAG_NAME, "dl").text
    assert "A7" in facts
    assert ticket.booking.reference not in facts
    assert "Ada Lovelace" in facts
    assert browser.find_elements(By.CSS_SELECTOR, ".expired") == []

    # The door scanner's view: the code read back from the picture is the ticket id.
    assert qr_codes(screenshot(browser, "eticket", DESKTOP)) == [str(ticket.pk)]
    assert qr_codes(screenshot(browser, "eticket-phone", PHONE, mobile=True)) == [str(ticket.pk)]
    assert fits_the_width(browser)
    assert serious_violations(browser) == []

    # The print stylesheet keeps the ticket on one A4 page.
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    options = PrintOptions()
    options.page_height, options.page_width = 29.7, 21.0
    pdf = base64.b64decode(browser.print_page(options))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "eticket.pdf").write_bytes(pdf)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    screenshot(browser, "eticket-print", DESKTOP)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1


def test_expired_eticket_in_chromium_says_so(browser, live_server):
    show = make_show(days=2, title="Dune: Part Three")
    ticket = book_ticket(show.pk, name="Ada Lovelace", phone_number="+914155550123")
    ticket.expired = True
    ticket.save(update_fields=["expired"])

    browser.get(f"{live_server.url}/tickets/{ticket.pk}/")

    banner = browser.find_element(By.CSS_SELECTOR, ".expired")
    assert banner.is_displayed()
    assert banner.text.startswith("EXPIRED This ticket is no longer valid")
    assert screenshot(browser, "eticket-expired-phone", PHONE, mobile=True).exists()
