"""What the browser tests share: Debian's headless Chromium driven by selenium (never a
downloaded browser), screenshots in artifacts/ (git-ignored, kept by CI), the QR codes
read back from a screenshot with zbar, and axe-core's accessibility check.

axe-core comes from the npm registry at the version tools/package-lock.json pins
(`npm ci --prefix tools`; .ci/run does it); the test injects its script into the page.
"""

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"
AXE = Path(settings.BASE_DIR) / "tools" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = (1280, 800)
PHONE = (390, 844)

BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver libzbar0",
    ),
    # The live server answers from its own thread and connection: the test's rows must be committed.
    pytest.mark.django_db(transaction=True),
]


def start_chromium(profile: Path, *, flags: Iterable[str] = (), network_log: bool = False) -> webdriver.Chrome:
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
        f"--user-data-dir={profile}",
        *flags,
    ):
        options.add_argument(flag)
    if network_log:
        # Every request the page makes, as DevTools' Network events (driver.get_log("performance")).
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


def requested_urls(driver: webdriver.Chrome) -> list[str]:
    """The URLs of the requests the browser sent since the last call (needs network_log)."""
    urls = []
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        if event["method"] == "Network.requestWillBeSent":
            urls.append(event["params"]["request"]["url"])
    return urls


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


def axe_script() -> str:
    """axe-core's script; outside CI, the test is skipped when tools/ was not installed."""
    if not AXE.exists():
        reason = f"needs axe-core from the npm registry: npm ci --prefix tools (no {AXE})"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text()


def serious_violations(driver: webdriver.Chrome) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now (WCAG 2.x A and AA,
    and axe's best practices), each with the first few elements it found."""
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(axe_script())
    violations = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]}).then(
          (result) => done(result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
          }))),
          (error) => done([{id: "axe-error", impact: "critical", help: String(error), nodes: []}]),
        );
        """
    )
    return [v for v in violations if v["impact"] in {"serious", "critical"}]


@pytest.fixture
def browser(tmp_path) -> Iterator[webdriver.Chrome]:
    """A headless Chromium of its own, quit at the end."""
    driver = start_chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


# --- the show page (test_browser_show.py and the modules beside it) ------------------------


@pytest.fixture
def base_url(live_server) -> str:
    # The live server listens on localhost's IPv4 address: name it, as the offline rule does.
    return live_server.url.replace("localhost", "127.0.0.1")


def open_map(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#map .seat"))


def seat(driver: webdriver.Chrome, label: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#map .seat[data-seat="{label}"]')


def visible(driver: webdriver.Chrome, element_id: str) -> WebElement:
    return WebDriverWait(driver, 15).until(
        lambda d: d.find_element(By.ID, element_id).is_displayed() and d.find_element(By.ID, element_id)
    )


def message(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.ID, "message").text


def book_picked(driver: webdriver.Chrome, *labels: str) -> WebElement:
    """Pick the seats on the open map, hold them and book them for Ada: the page's answer."""
    for label in labels:
        seat(driver, label).click()
    driver.find_element(By.ID, "hold-picked").click()
    visible(driver, "held")
    driver.find_element(By.ID, "name").send_keys("Ada Lovelace")
    driver.find_element(By.ID, "phone").send_keys("+914155550123")
    driver.find_element(By.ID, "book-button").click()
    return visible(driver, "done")
