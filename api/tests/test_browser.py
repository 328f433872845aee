"""The pages in a real browser: Debian's headless Chromium, driven by selenium, against a live
server. Screenshots land in artifacts/ (git-ignored) for a person to look at; the e-ticket's
QR code is read back from its screenshot with zbar, as a door scanner would read it."""

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from api.tests.conftest import book_ticket, make_show

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"
DESKTOP = (1280, 800)
PHONE = (390, 844)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver libzbar0",
    ),
    # The live server answers from its own thread and connection: the test's rows must be committed.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(tmp_path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    # Debian's build, never a downloaded one: with both paths given, selenium looks nothing up.
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox can't start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: webdriver.Chrome, name: str, size: tuple[int, int], *, mobile: bool = False) -> Path:
    """The whole page at this viewport width, saved as artifacts/<name>.png."""
    width, height = size

    def viewport(h: int) -> None:
        # A phone's viewport (mobile=True honours the viewport meta tag), not just a narrow window.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": h, "deviceScaleFactor": 1, "mobile": mobile},
        )

    viewport(height)
    # Grow the viewport to the page's height so the picture holds all of it.
    viewport(max(height, driver.execute_script("return document.documentElement.scrollHeight")))
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path))
    return path


def fits_the_width(driver: webdriver.Chrome) -> bool:
    """Nothing sticks out sideways: no horizontal scrolling on a phone."""
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def qr_codes(path: Path) -> list[str]:
    with Image.open(path) as image:
        return [symbol.data.decode() for symbol in zbar_decode(image.convert("L"), symbols=[ZBarSymbol.QRCODE])]


def test_home_page_in_chromium(browser, live_server):
    show = make_show(days=2, hour=19, minute=30, title="Dune: Part Three")
    make_show(days=2, hour=22, minute=0, title="The Long Goodbye of an Overly Long Film Title, Director's Cut")
    make_show(days=3, hour=18, minute=0, title="", capacity=1)
    book_ticket(show.pk, name="Ada Lovelace", phone_number="+914155550123")

    browser.get(live_server.url + "/")

    assert browser.title == f"{settings.THEATRE_NAME}: coming shows"
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, ".shows li")]
    assert len(rows) == 3
    assert "Dune: Part Three" in rows[0]
    assert "19 of 20 seats free" in rows[0]
    assert "Film to be announced" in rows[2]
    assert "1 of 1 seat free" in rows[2]
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "nav a")}
    assert links == {"API docs": live_server.url + "/api/docs/", "Staff admin": live_server.url + "/admin/"}
    assert screenshot(browser, "home", DESKTOP).exists()
    assert screenshot(browser, "home-phone", PHONE, mobile=True).exists()
    assert fits_the_width(browser)


def test_eticket_in_chromium_has_a_qr_code_of_the_ticket_id(browser, live_server):
    show = make_show(days=2, hour=19, minute=30, title="Dune: Part Three")
    ticket = book_ticket(show.pk, name="Ada Lovelace", phone_number="+914155550123", seat="A7")

    browser.get(f"{live_server.url}/tickets/{ticket.pk}/")

    # The e-ticket names the venue the show is at (v2), not the THEATRE_NAME of the site.
    assert browser.find_element(By.CSS_SELECTOR, ".theatre").text == show.screen.venue.name
    assert browser.find_element(By.TAG_NAME, "h1").text == "Dune: Part Three"
    facts = browser.find_element(By.TAG_NAME, "dl").text
    assert "A7" in facts
    assert ticket.booking.reference in facts
    assert "Ada Lovelace" in facts
    assert browser.find_elements(By.CSS_SELECTOR, ".expired") == []

    # The door scanner's view: the code read back from the picture is the ticket id.
    assert qr_codes(screenshot(browser, "eticket", DESKTOP)) == [str(ticket.pk)]
    assert qr_codes(screenshot(browser, "eticket-phone", PHONE, mobile=True)) == [str(ticket.pk)]
    assert fits_the_width(browser)

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
