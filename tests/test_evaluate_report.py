"""The HTML report: self-contained, and checked in a real headless Chromium.

The browser test needs Debian's `chromium` and `chromium-driver` packages and
the `selenium` package, all installed by scripts/install.sh. Without them the
test fails (never skips): a skipped browser check would hide a broken report.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from contour.evaluate import evaluate, render_html, write_html
from tests.evalfixtures import grid_run, make_record, write_run

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    folders = [write_run(root / m, grid_run(seed=i, model=m, skill=0.15 * i))
               for i, m in enumerate(["model-a", "model-b"])]
    result = evaluate(folders, compare=True, group_by=["genresult.has_distractor"], resamples=100)
    return write_html(result, root / "report.html")


def test_report_is_self_contained(report):
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == 3 and all(src.startswith("data:image/png;base64,") for src in images)
    for heading in ["Leaderboard", "Comparison", "Tasks", "Accuracy along each axis", "Groups", "Points"]:
        assert f"<h2>{heading}</h2>" in html


def test_report_escapes_record_text(tmp_path):
    record = make_record(point="000_<b>evil</b>", task="<script>alert(1)</script>")
    result = evaluate([write_run(tmp_path / "run", [record])], resamples=0)
    html = render_html(result)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def _driver(user_data: Path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        pytest.fail(f"headless browser check needs {', '.join(missing)} "
                    "(run scripts/install.sh)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={user_data}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _driver(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _load(browser, path: Path) -> tuple[list[dict], list[int]]:
    browser.get_log("browser")                     # drop anything from earlier pages
    browser.get(path.resolve().as_uri())
    widths = browser.execute_script(
        "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0);")
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return severe, widths


def test_report_loads_in_chromium_without_errors(browser, report):
    severe, widths = _load(browser, report)
    assert severe == []
    assert len(widths) == 3 and all(width > 0 for width in widths)


def test_browser_check_catches_a_broken_page(browser, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<!doctype html><link rel="icon" href="data:,">'
                      '<img src="data:image/png;base64,AAAA"><script>undefinedFunction()</script>')
    severe, widths = _load(browser, broken)
    assert widths == [0]
    assert any("undefinedFunction" in entry["message"] for entry in severe)
