# ruff: noqa: F811  (the fixtures `browser` and `base_url`, imported from chromium.py, used as arguments)
"""The show page in a real browser when its seat map doesn't load: a 429 from the anonymous
throttle (a premiere's crowd behind one address) or no answer at all. The page hid its list
of seats for a map that never came, and left the customer only "the best seats"; now the
list comes back, with a sentence that says why, and the form books as it does without the
script."""

from urllib.request import urlopen

import pytest
from django.core.cache import cache
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from api.models import Ticket
from api.showform import SENTENCES
from api.tests.chromium import (  # noqa: F401 (browser, base_url: the fixtures)
    BROWSER_TESTS,
    base_url,
    browser,
    message,
    serious_violations,
    visible,
)
from api.tests.conftest import ADA, make_show

pytestmark = BROWSER_TESTS


@pytest.mark.parametrize("failure", ["throttled", "network"])
def test_a_seat_map_that_doesnt_load_gives_the_seat_list_back_and_the_form_books(browser, base_url, settings, failure):
    show = make_show(days=2)
    if failure == "throttled":
        # Someone else behind the same address had the one request a minute left.
        settings.THROTTLE_ANON_RATE = "1/min"
        with urlopen(f"{base_url}/api/shows/{show.pk}/seats", timeout=10) as answer:
            assert answer.status == 200
        said = SENTENCES["map_throttled"]
    else:
        browser.execute_cdp_cmd("Network.enable", {})
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": [f"*/api/shows/{show.pk}/seats*"]})
        said = SENTENCES["map_failed"]

    browser.get(f"{base_url}/shows/{show.pk}/")
    WebDriverWait(browser, 15).until(lambda d: message(d))

    assert browser.find_element(By.ID, "seat-list").is_displayed()
    assert message(browser) == said
    assert not browser.find_element(By.ID, "map-area").is_displayed()
    assert not browser.find_element(By.ID, "hold-buttons").is_displayed()
    assert browser.find_element(By.ID, "person").is_displayed()
    assert browser.find_element(By.ID, "book-button").text == "Book"
    assert serious_violations(browser) == []

    if failure == "throttled":
        cache.clear()  # a minute later, as filling in the form takes: the client's window closed
    for label in ["B4", "B5"]:
        browser.find_element(By.CSS_SELECTOR, f'input[name="seats"][value="{label}"]').click()
    browser.find_element(By.ID, "name").send_keys(ADA["name"])
    browser.find_element(By.ID, "phone").send_keys(ADA["phone_number"])
    browser.find_element(By.ID, "book-button").click()

    done = visible(browser, "done")
    assert [t.seat for t in Ticket.objects.filter(show=show).order_by("seat")] == ["B4", "B5"]
    assert len(done.find_elements(By.CSS_SELECTOR, ".etickets a")) == 2
