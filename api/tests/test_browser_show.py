# ruff: noqa: F811  (the fixture `base_url`, imported from chromium.py, used as an argument)
"""The show page in a real browser (Debian's headless Chromium against a live server): pick
seats on the map, hold, book, open an e-ticket; a second browser sees the seats go; the best
seats for a party with a child; the single-seat rule in a sentence; axe-core on the page;
and /api/docs/ rendered with every request to anything but the server refused."""

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest
from django.utils import timezone
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from api.models import Hold, Screen, Show, ShowPrice, Ticket, TicketType
from api.tests.chromium import (  # noqa: F401 (base_url: the fixture)
    BROWSER_TESTS,
    DESKTOP,
    PHONE,
    base_url,
    book_picked,
    fits_the_width,
    message,
    open_map,
    qr_codes,
    requested_urls,
    screenshot,
    seat,
    serious_violations,
    start_chromium,
    visible,
)
from api.tests.conftest import book_ticket, make_show

pytestmark = BROWSER_TESTS

# Everything but the live server's own address resolves to nothing: the docs page must
# render with no internet.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture
def start(tmp_path) -> Iterator[Callable[..., webdriver.Chrome]]:
    """Starts browsers (each with its own profile), quits them all at the end."""
    started: list[webdriver.Chrome] = []

    def start_one(**kwargs) -> webdriver.Chrome:
        started.append(start_chromium(tmp_path / f"profile-{len(started)}", **kwargs))
        return started[-1]

    yield start_one
    for driver in started:
        driver.quit()


@pytest.fixture
def sixty_priced() -> Show:
    """60 seats (rows A to F of 10), adults 12.50 and children 8.00."""
    show = make_show(days=2, title="Dune: Part Three", capacity=60)
    # (The live server's tests run in flushed transactions: the installation's types are made again.)
    for key, amount in [("adult", "12.50"), ("child", "8.00")]:
        ticket_type, _ = TicketType.objects.get_or_create(
            key=key, defaults={"name": key.title(), "default": key == "adult"}
        )
        ShowPrice.objects.create(show=show, ticket_type=ticket_type, category="standard", amount=amount)
    return show


def set_count(driver: webdriver.Chrome, name: str, value: int) -> None:
    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(str(value))


def test_pick_two_seats_hold_book_and_open_an_eticket(start, base_url, sixty_priced):
    url = f"{base_url}/shows/{sixty_priced.pk}/"
    browser, other = start(), start()
    book_ticket(sixty_priced.pk, seat="A1", name="Grace Hopper", phone_number="+14155550199")

    open_map(browser, url)

    # The map replaces the list of checkboxes; each seat says its label, kind and status.
    assert not browser.find_element(By.ID, "seat-list").is_displayed()
    assert seat(browser, "A1").get_attribute("data-status") == "booked"
    assert seat(browser, "A1").get_attribute("aria-label") == "A1, seat, standard, booked"
    assert seat(browser, "A1").get_attribute("aria-disabled") == "true"
    assert seat(browser, "D5").get_attribute("aria-label") == "D5, seat, standard, free"
    assert "SCREEN" in browser.find_element(By.CSS_SELECTOR, "#map svg").text
    # One seat by the mouse, its neighbour by the keyboard.
    seat(browser, "D5").click()
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT, Keys.SPACE)
    assert browser.switch_to.active_element.get_attribute("data-seat") == "D6"
    assert [seat(browser, label).get_attribute("aria-checked") for label in ["D5", "D6", "D7"]] == [
        "true",
        "true",
        "false",
    ]
    assert browser.find_element(By.NAME, "tickets-adult").get_attribute("value") == "2"
    assert serious_violations(browser) == []
    screenshot(browser, "show-picked", DESKTOP)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    browser.find_element(By.ID, "hold-picked").click()
    held = visible(browser, "held")

    assert browser.find_element(By.ID, "held-total").text == "25.00 EUR"
    assert re.fullmatch(r"(10:00|9:[0-5]\d)", browser.find_element(By.ID, "held-timer").text)
    assert "D5" in held.text and "D6" in held.text and "Adult, standard" in held.text
    hold = Hold.objects.get()
    assert sorted(hold.seats) == ["D5", "D6"]
    # A second browser, meanwhile, finds them held: it can't pick them.
    open_map(other, url)
    assert [seat(other, label).get_attribute("data-status") for label in ["D5", "D6", "D7"]] == ["held", "held", "free"]
    seat(other, "D5").click()
    assert seat(other, "D5").get_attribute("aria-checked") == "false"
    assert message(other) == "Seat D5 is held by someone: choose a free seat."

    browser.find_element(By.ID, "name").send_keys("Ada Lovelace")
    browser.find_element(By.ID, "phone").send_keys("+914155550123")
    browser.find_element(By.ID, "book-button").click()
    done = visible(browser, "done")

    tickets = list(Ticket.objects.filter(show=sixty_priced, booking__customer__name="Ada Lovelace").order_by("seat"))
    assert [t.seat for t in tickets] == ["D5", "D6"]
    reference = tickets[0].booking.reference
    assert f"Your booking reference is {reference}. Total 25.00 EUR." in done.text
    links = done.find_elements(By.CSS_SELECTOR, ".etickets a")
    assert [link.text for link in links] == ["E-ticket for seat D5", "E-ticket for seat D6"]
    assert [link.get_attribute("href") for link in links] == [f"{base_url}/tickets/{t.pk}/" for t in tickets]
    assert not browser.find_element(By.ID, "book").is_displayed()
    screenshot(browser, "show-booked-phone", PHONE, mobile=True)
    assert fits_the_width(browser)
    # The second browser, reloaded, finds them booked.
    open_map(other, url)
    assert [seat(other, label).get_attribute("data-status") for label in ["D5", "D6"]] == ["booked", "booked"]

    # The e-ticket behind the first link: its QR code is the ticket's id.
    links[0].click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url == f"{base_url}/tickets/{tickets[0].pk}/")
    assert qr_codes(screenshot(browser, "show-eticket", DESKTOP)) == [str(tickets[0].pk)]


def test_best_three_with_one_child_and_the_single_seat_rule_in_a_sentence(start, base_url, sixty_priced, settings):
    # The seat map kept as in production: the page asks for a fresh one after its own hold
    # and release (Cache-Control: no-cache), so it draws its released seats free at once.
    settings.SEAT_MAP_CACHE_SECONDS = 60
    browser = start()
    open_map(browser, f"{base_url}/shows/{sixty_priced.pk}/")

    # A2 alone would leave A1 alone at the row's end: the page says so in a sentence.
    seat(browser, "A2").click()
    browser.find_element(By.ID, "hold-picked").click()
    WebDriverWait(browser, 15).until(lambda d: message(d))
    assert message(browser) == (
        "That choice would leave seat A1 on its own, and nobody could book a single seat there. "
        "Take it too, or choose seats that leave no gap."
    )
    assert not Hold.objects.exists()
    seat(browser, "A2").click()  # unpicked
    assert browser.find_element(By.NAME, "tickets-adult").get_attribute("value") == "0"

    set_count(browser, "tickets-adult", 2)
    set_count(browser, "tickets-child", 1)
    browser.find_element(By.ID, "hold-best").click()
    held = visible(browser, "held")

    # 2 × 12.50 + 8.00, as the hold froze it.
    assert browser.find_element(By.ID, "held-total").text == "33.00 EUR"
    hold = Hold.objects.get()
    assert hold.total == Decimal("33.00")
    assert held.text.count("Adult, standard") == 2 and held.text.count("Child, standard") == 1
    mine = [
        s.get_attribute("data-seat") for s in browser.find_elements(By.CSS_SELECTOR, '#map .seat[data-status="mine"]')
    ]
    assert sorted(mine) == sorted(hold.seats)
    assert len({label[0] for label in mine}) == 1  # together, in one row
    assert serious_violations(browser) == []
    screenshot(browser, "show-best-three-phone", PHONE, mobile=True)
    assert fits_the_width(browser)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # Released, the seats are free again, though the service keeps a map that shows them
    # held (kept here by another client's fresh read).
    fresh = Request(f"{base_url}/api/shows/{sixty_priced.pk}/seats", headers={"Cache-Control": "no-cache"})
    with urlopen(fresh, timeout=10) as answer:
        kept = json.load(answer)
    assert {s["label"]: s["status"] for row in kept["rows"] for s in row["seats"]}[hold.seats[0]] == "held"
    browser.find_element(By.ID, "release").click()
    WebDriverWait(browser, 15).until(lambda d: not d.find_element(By.ID, "held").is_displayed())
    assert not Hold.objects.live(timezone.now()).exists()
    WebDriverWait(browser, 15).until(
        lambda d: all(seat(d, label).get_attribute("data-status") == "free" for label in hold.seats)
    )
    # The release button went with its box: the focus is back on the map, not on the page.
    assert browser.switch_to.active_element.get_attribute("data-seat") is not None


def test_sold_out_is_a_sentence(start, base_url):
    show = make_show(days=2, capacity=20)
    show.capacity = 2
    show.save(update_fields=["capacity"])
    browser = start()
    open_map(browser, f"{base_url}/shows/{show.pk}/")

    set_count(browser, "tickets", 3)
    browser.find_element(By.ID, "hold-best").click()
    WebDriverWait(browser, 15).until(lambda d: message(d))

    assert message(browser) == "Sorry, this show doesn't have that many seats left. Try fewer seats, or another show."
    assert not Hold.objects.exists()


def test_without_javascript_the_form_books(start, base_url, sixty_priced):
    browser = start()
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.get(f"{base_url}/shows/{sixty_priced.pk}/")

    assert browser.find_element(By.ID, "seat-list").is_displayed()
    assert not browser.find_element(By.ID, "map-area").is_displayed()
    browser.find_element(By.CSS_SELECTOR, 'input[name="seats"][value="C3"]').click()
    browser.find_element(By.CSS_SELECTOR, 'input[name="seats"][value="C4"]').click()
    browser.find_element(By.ID, "name").send_keys("Ada Lovelace")
    browser.find_element(By.ID, "phone").send_keys("+914155550123")
    screenshot(browser, "show-without-script-phone", PHONE, mobile=True)
    assert fits_the_width(browser)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.find_element(By.ID, "book-button").click()

    done = visible(browser, "done")
    assert [t.seat for t in Ticket.objects.order_by("seat")] == ["C3", "C4"]
    assert len(done.find_elements(By.CSS_SELECTOR, ".etickets a")) == 2


def test_api_docs_render_with_no_request_leaving_the_server(start, base_url):
    browser = start(flags=[OFFLINE], network_log=True)

    requested_urls(browser)  # what the browser fetched for itself at its start
    browser.get(f"{base_url}/api/docs/")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))

    assert "Movie theatre booking API" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info").text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")) > 20
    urls = requested_urls(browser)
    paths = {urlsplit(url).path for url in urls}
    assert {"/api/docs/", "/api/schema"} <= paths
    assert any(path.endswith("/swagger-ui-bundle.js") for path in paths)
    # Only the server was asked (data: URLs are inline, chrome: ones the browser's own pages).
    assert {urlsplit(url).scheme for url in urls} <= {"http", "data", "chrome"}
    left = [url for url in urls if urlsplit(url).scheme == "http" and urlsplit(url).hostname != "127.0.0.1"]
    assert left == []
    screenshot(browser, "api-docs", DESKTOP)


def test_the_map_tells_seat_categories_apart_and_names_them(start, base_url):
    # Every category but standard had the same thick border: premium and VIP looked alike.
    rows = [
        {"label": label, "seats": [{"number": n, **({"category": category} if category else {})} for n in range(1, 7)]}
        for label, category in [("A", None), ("B", "premium"), ("C", "vip")]
    ]
    screen = Screen.objects.create(venue=Screen.objects.default().venue, name="Three bands", seat_map={"rows": rows})
    show = make_show(days=2, screen=screen, capacity=18)
    browser = start()
    open_map(browser, f"{base_url}/shows/{show.pk}/")

    def outline(label: str) -> tuple[str | None, str | None]:
        rect = seat(browser, label).find_element(By.TAG_NAME, "rect")
        return rect.get_attribute("stroke-width"), rect.get_attribute("stroke-dasharray")

    assert len({outline("A1"), outline("B1"), outline("C1")}) == 3
    assert outline("B1") == outline("B6")
    key = browser.find_element(By.ID, "category-key")
    assert key.is_displayed()
    assert [item.text for item in key.find_elements(By.TAG_NAME, "li")] == ["standard", "premium", "vip"]
    assert seat(browser, "C2").get_attribute("aria-label") == "C2, seat, vip, free"
    assert serious_violations(browser) == []


def test_a_refused_hold_leaves_the_focus_on_the_button_pressed(start, base_url, sixty_priced):
    # The page disables its buttons while a request runs: the button pressed lost the focus
    # to the page's body, and a keyboard or screen reader user, told the refusal, went on
    # from the top of the page instead of from the seats and buttons to change.
    browser = start()
    open_map(browser, f"{base_url}/shows/{sixty_priced.pk}/")
    seat(browser, "A2").click()  # would leave A1 alone

    browser.find_element(By.ID, "hold-picked").send_keys(Keys.ENTER)
    WebDriverWait(browser, 15).until(lambda d: message(d))

    assert message(browser).startswith("That choice would leave seat A1 on its own")
    assert browser.switch_to.active_element.get_attribute("id") == "hold-picked"


def test_a_hold_that_ran_out_leaves_its_seats_picked_to_hold_again(start, base_url, sixty_priced):
    # Its seats were dropped from the customer's choice: told to choose again, they had to
    # find and pick them one by one on the map, with the ticket types typed again.
    browser = start()
    open_map(browser, f"{base_url}/shows/{sixty_priced.pk}/")
    seat(browser, "D5").click()
    seat(browser, "D6").click()
    set_count(browser, "tickets-child", 1)
    browser.find_element(By.ID, "hold-picked").click()
    visible(browser, "held")
    Hold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # ran out on the server

    browser.find_element(By.ID, "name").send_keys("Ada Lovelace")
    browser.find_element(By.ID, "phone").send_keys("+914155550123")
    browser.find_element(By.ID, "book-button").click()
    WebDriverWait(browser, 15).until(lambda d: message(d))

    assert message(browser).startswith("Your hold ran out before you confirmed")
    assert [seat(browser, label).get_attribute("aria-checked") for label in ["D5", "D6"]] == ["true", "true"]
    counts = [browser.find_element(By.NAME, name).get_attribute("value") for name in ["tickets-adult", "tickets-child"]]
    assert counts == ["1", "1"]
    browser.find_element(By.ID, "hold-picked").click()  # one click holds them again
    WebDriverWait(browser, 15).until(lambda d: Hold.objects.live(timezone.now()).exists())
    assert sorted(Hold.objects.live(timezone.now()).get().seats) == ["D5", "D6"]


def test_back_from_an_eticket_shows_the_booking_again(start, base_url, sixty_priced):
    # The page is no-store: a browser that keeps no such page in its back-forward cache
    # (Firefox, Safari; Chromium whenever it drops one) loads it afresh on Back. The booking
    # the script showed was gone, its reference with it (the e-ticket doesn't show it): a
    # party's other e-tickets could only be found again with a reference not kept.
    browser = start(flags=["--disable-features=BackForwardCache"])
    url = f"{base_url}/shows/{sixty_priced.pk}/"
    open_map(browser, url)
    booked = book_picked(browser, "D5", "D6").text
    reference = Ticket.objects.filter(show=sixty_priced).earliest("seat").booking.reference

    browser.find_element(By.CSS_SELECTOR, "#done .etickets a").click()
    WebDriverWait(browser, 15).until(lambda d: "/tickets/" in d.current_url)
    browser.back()

    assert visible(browser, "done").text == booked
    assert reference in booked
    assert not browser.find_element(By.ID, "book").is_displayed()
    # Neither the address nor what it sends names the reference.
    assert browser.current_url == url
    links = browser.find_elements(By.CSS_SELECTOR, "#done .etickets a")
    assert [link.text for link in links] == ["E-ticket for seat D5", "E-ticket for seat D6"]
    # A reload keeps it too, as the form's booked page does; a new visit shows the map.
    browser.refresh()
    assert visible(browser, "done").text == booked
    browser.get(f"{base_url}/")
    open_map(browser, url)
    assert not browser.find_element(By.ID, "done").is_displayed()
