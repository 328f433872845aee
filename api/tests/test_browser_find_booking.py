# ruff: noqa: F811  (the fixtures `browser` and `base_url`, imported from chromium.py, used as arguments)
"""Find your booking in a real browser: a booking made with the show page's script says to
keep its reference and links to /bookings/, which finds it again after the show page is gone
(a reload showed the form again, the booking nowhere)."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from api.models import Ticket
from api.showform import SENTENCES
from api.tests.chromium import (  # noqa: F401 (browser, base_url: the fixtures)
    BROWSER_TESTS,
    PHONE,
    base_url,
    book_picked,
    browser,
    fits_the_width,
    open_map,
    screenshot,
    seat,
    serious_violations,
    visible,
)
from api.tests.conftest import make_show

pytestmark = BROWSER_TESTS


@pytest.fixture
def show():
    return make_show(days=2, title="Perfect Days")


def test_a_booking_made_with_the_script_is_found_again_by_its_reference(browser, base_url, show):
    open_map(browser, f"{base_url}/shows/{show.pk}/")
    done = book_picked(browser, "A4", "A5")
    tickets = list(Ticket.objects.filter(show=show).order_by("seat"))
    reference = tickets[0].booking.reference

    # The confirmation says to keep the reference, and where it finds the tickets again.
    keep = done.find_element(By.CSS_SELECTOR, "p.keep")
    assert keep.text == f"{SENTENCES['keep_reference']} Find your booking"
    link = keep.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == f"{base_url}/bookings/"
    assert serious_violations(browser) == []

    # The tab closed (here: the link followed, the show page gone): the reference and the
    # phone number as the booker would type them, the reference copied in lower case.
    link.click()
    WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.ID, "reference"))
    assert serious_violations(browser) == []
    browser.find_element(By.ID, "reference").send_keys(reference.lower())
    browser.find_element(By.ID, "phone").send_keys("+91 41555 50123")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    found = visible(browser, "booking")

    assert f"Booking {reference}, for Ada Lovelace." in found.text
    links = found.find_elements(By.CSS_SELECTOR, "tbody a")
    assert [a.text for a in links] == ["E-ticket for seat A4", "E-ticket for seat A5"]
    assert [a.get_attribute("href") for a in links] == [f"{base_url}/tickets/{t.pk}/" for t in tickets]
    assert "Total 0.00 EUR" in found.text  # a show without prices
    assert serious_violations(browser) == []
    screenshot(browser, "find-booking-phone", PHONE, mobile=True)
    assert fits_the_width(browser)
