"""The app in a real browser: `streamlit run app.py` headless, Debian's chromium driven by selenium.

Each page must render its main content (expected text present) and a non-blank screenshot.
Screenshots are kept in the pytest temporary folder (printed) for a person to look at.
Skipped where chromium/chromedriver are not installed (.ci/run installs them with apt-get).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="Debian chromium and chromium-driver not installed"
)

#: Seconds to wait for the server and for a page's content (websocket render on a 2-core machine).
SERVER_TIMEOUT_S = 60
RENDER_TIMEOUT_S = 45
#: A rendered page has many distinct colours; a blank or error page has a handful.
MIN_DISTINCT_COLOURS = 50

PAGES = {
    "compare": "ranks first by",
    "tradeoff": "slower per user raises tokens per dollar",
    "plan": "the cheapest fleet is",
    "capacity": "Fewest chips that hold one instance",
    "design": "Add to this session's catalogs and rank it",
    "explore": "collectives overtake memory time",
    "catalogs": "every row has a source",
    "assumptions": "Site us-average",
    "export": "Build the report for this selection",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + SERVER_TIMEOUT_S
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1500,1400",
        "--disable-dev-shm-usage",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_chromium(server, browser, page, tmp_path_factory):
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    path = "" if page == "compare" else page  # the default page lives at the root URL
    browser.get(f"{server}/{path}?model=llama3-70b&context=4096&min_utps=30")
    WebDriverWait(browser, RENDER_TIMEOUT_S).until(
        ec.text_to_be_present_in_element((By.TAG_NAME, "body"), PAGES[page])
    )
    time.sleep(1.5)  # let charts finish drawing
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in body and "Page not found" not in body
    shot = tmp_path_factory.mktemp("screens") / f"{page}.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) >= MIN_DISTINCT_COLOURS
    if page in ("compare", "tradeoff", "plan", "capacity", "explore"):
        charts = browser.find_elements(By.CSS_SELECTOR, "canvas, svg.marks")
        assert charts, f"no chart drawn on {page}"


def test_url_reproduces_the_view(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/?model=deepseek-v3&context=131072&min_utps=100")
    WebDriverWait(browser, RENDER_TIMEOUT_S).until(
        ec.text_to_be_present_in_element(
            (By.TAG_NAME, "body"), "For deepseek-v3 with a floor of 100 tokens/s"
        )
    )
