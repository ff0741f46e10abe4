"""Benchmark: how long the Compare page takes to render in a browser, on a warm server.

    python benchmarks/app_render.py [--runs 7] [--charts 3] [--root DIR]

Starts ``streamlit run app.py --server.headless true`` (from ``--root``, default this checkout) on a
free port, warms it (two loads and one change of the energy price, so the searches are cached),
then in headless chromium (selenium, Debian's chromium and chromedriver) times ``--runs`` times:

- fresh tab: a new tab opens ``/compare``, from its navigation start;
- after one change: in that tab, an energy price typed in the sidebar (a new value each run, so
  nothing is cached), from the Enter key.

Each ends at the last change to the page's elements (a canvas's content left out: it is not
drawn), once the page is done: the app's script has finished (Streamlit's
``data-test-script-state`` is ``notRunning``, no element is stale, the URL carries the new price),
``--charts`` charts are drawn (a Vega canvas or SVG each) and nothing has changed for
:data:`QUIET_S`. Prints the median, min and max seconds of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120
#: The page counts as rendered once nothing on it has changed for this long [s].
QUIET_S = 1.0
CHART = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg.marks"
PRICE = "[data-testid='stSidebar'] input[aria-label='electricity [USD/kWh]']"
#: Installed in every new document before its own scripts: the time of its latest DOM change [ms],
#: leaving out a canvas's content (not drawn: the tables' text for screen readers, updated later).
OBSERVER = """
window.__changed = 0;
new MutationObserver((changes) => {
  for (const m of changes) {
    const node = m.target.nodeType === Node.ELEMENT_NODE ? m.target : m.target.parentElement;
    const drawn = m.type === "attributes" && node.tagName === "CANVAS";
    if (drawn || node.closest("canvas") === null) { window.__changed = performance.now(); }
  }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
DONE = """
const app = document.querySelector("[data-testid='stApp']");
return app !== null && app.dataset.testScriptState === "notRunning"
  && document.querySelector("[data-stale='true']") === null
  && document.querySelectorAll(arguments[0]).length >= arguments[1]
  && performance.now() - window.__changed > arguments[2];
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, port: int) -> subprocess.Popen:
    """``streamlit run app.py`` from ``root``, importing that checkout's code; returns once it listens."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += [
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = os.environ | {"PYTHONPATH": str(root)}
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("streamlit did not start")


def chromium() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
        "--window-size=1440,900",
    ):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def rendered(driver, charts: int, url_has: str = "") -> float:
    """Wait until the page is done (module doc); the time of its last change [s since navigation]."""
    WebDriverWait(driver, TIMEOUT_S, poll_frequency=0.05).until(
        lambda d: url_has in d.current_url and d.execute_script(DONE, CHART, charts, QUIET_S * 1000)
    )
    return driver.execute_script("return window.__changed") / 1000


def fresh_tab(driver, url: str, charts: int) -> float:
    """Open ``url`` in a new tab (closing the old one); seconds until it has rendered."""
    old = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.switch_to.window(old)
    driver.close()
    driver.switch_to.window(driver.window_handles[-1])
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER})
    driver.get(url)
    return rendered(driver, charts)


def change_price(driver, price: str, charts: int) -> float:
    """Type ``price`` as the energy price; seconds from the Enter key until the page has rendered."""
    box = WebDriverWait(driver, TIMEOUT_S).until(lambda d: d.find_element(By.CSS_SELECTOR, PRICE))
    box.send_keys(price)
    start = driver.execute_script("return performance.now()") / 1000
    box.send_keys(Keys.ENTER)
    return rendered(driver, charts, f"energy_price={price}") - start


def summary(label: str, times: list[float]) -> str:
    return (
        f"{label:<18} median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
        f"max {max(times):.2f} s over {len(times)} runs: " + " ".join(f"{t:.2f}" for t in times)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--charts", type=int, default=3, help="charts Compare draws (default 3)")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default this one)")
    args = ap.parse_args()
    root = args.root.resolve()
    git = ("git", "-C", str(root))
    commit = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    edited = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    port = free_port()
    server = start_server(root, port)
    driver = chromium()
    url = f"http://127.0.0.1:{port}/compare"
    try:
        for _ in range(2):
            fresh_tab(driver, url, args.charts)
        change_price(driver, "0.15", args.charts)
        loads, changes = [], []
        for i in range(args.runs):
            loads.append(fresh_tab(driver, url, args.charts))
            changes.append(change_price(driver, str(round(0.2 + 0.01 * i, 2)), args.charts))
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=20)
    version = (commit or "?") + (" with uncommitted changes" if edited.stdout.strip() else "")
    print(f"{root} at {version}, {args.charts} charts, warm server:")
    print(summary("fresh tab", loads))
    print(summary("after one change", changes))


if __name__ == "__main__":
    main()
