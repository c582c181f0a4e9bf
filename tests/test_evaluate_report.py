"""The interactive HTML report: one offline file, checked in a real headless Chromium.

The browser tests need Debian's `chromium` and `chromium-driver` packages and
the `selenium` package, all installed by scripts/install.sh. Without them the
tests fail (never skip): a skipped browser check would hide a broken report.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from contour.evaluate import evaluate, render_html, write_html
from tests.evalfixtures import make_record, point_id, write_run

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXES = {"length": (2, 4, 8, 16), "depth": (0, 1, 2), "width": (1, 3)}


def three_axis_run(model: str, skill: float, seed: int) -> list[dict]:
    """arithmetic over three axes (accuracy falls with length and depth, not width),
    boolean over one axis, and a single-point task."""
    rng = random.Random(seed)
    records, index = [], 0
    for length in AXES["length"]:
        for depth in AXES["depth"]:
            for width in AXES["width"]:
                params = {"length": length, "depth": depth, "width": width}
                point = point_id(index, "arithmetic", params)
                index += 1
                p = min(0.97, max(0.03, 1.05 - 0.05 * length - 0.2 * depth + skill))
                for sample in range(10):
                    truncated = rng.random() < 0.06 * depth
                    records.append(make_record(point, "arithmetic", sample, params, model=model,
                                               correct=not truncated and rng.random() < p,
                                               truncated=truncated, tokens=50 * length + rng.randint(0, 40)))
    for length in (3, 5, 9):
        point = point_id(index, "boolean", {"length": length})
        index += 1
        records += [make_record(point, "boolean", s, {"length": length}, guess=0.5, model=model,
                                correct=rng.random() < 0.9 - 0.04 * length) for s in range(12)]
    point = point_id(index, "letters", {"words": 1})
    records += [make_record(point, "letters", s, {"words": 1}, model=model, correct=s % 3 > 0)
                for s in range(6)]
    return records


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    folders = [write_run(root / m, three_axis_run(m, 0.15 * i, i))
               for i, m in enumerate(["model-a", "model-b"])]
    result = evaluate(folders, compare=True, group_by=["genresult.has_distractor"], resamples=100)
    return write_html(result, root / "report.html")


def embedded_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="contour-data">(.*?)</script>', html, re.DOTALL)
    return json.loads(match.group(1))


def test_report_is_one_offline_file(report):
    html = report.read_text(encoding="utf-8")
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.DOTALL)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", markup)
    assert html.count("<script") == 3           # Plotly, the data, the page's script: all inline
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert "<img" not in html and "<link rel=\"stylesheet\"" not in html
    assert "plotly.js" in html and "Plotly" in html          # the library itself, inlined
    data = embedded_data(html)
    assert [t["name"] for t in data["tasks"]] == ["arithmetic", "boolean", "letters"]
    arithmetic = data["tasks"][0]
    assert arithmetic["axes"] == ["length", "depth", "width"]
    assert set(arithmetic["cells"]) == {"length|depth", "length|width", "depth|width"}
    for heading in ["Leaderboard", "arithmetic", "boolean", "letters", "Tables"]:
        assert f"<h2>{heading}</h2>" in html
    for title in ["Per task", "Difficulty fits", "Paired comparison", "Per group"]:
        assert title in html


def test_report_numbers_are_the_tables_numbers(report):
    """The page's cells come from the same metrics as the tables: spot-check against the records."""
    data = embedded_data(report.read_text(encoding="utf-8"))
    records = three_axis_run("model-a", 0.0, 0)
    arithmetic = data["tasks"][0]
    for c in arithmetic["cells"]["length|width"]:
        if c["run"] != 0:
            continue
        mine = [r for r in records if r["base_task"] == "arithmetic"
                and r["params"]["length"] == c["x"] and r["params"]["width"] == c["y"]]
        assert c["n"] == len(mine) and c["correct"] == sum(r["is_correct"] for r in mine)
        assert c["low"] <= c["acc"] <= c["high"]


def test_report_escapes_record_text(tmp_path):
    record = make_record(point="000_<b>evil</b>", task="<script>alert(1)</script>",
                         params={"length": 2})
    result = evaluate([write_run(tmp_path / "run", [record])], resamples=0)
    html = render_html(result)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "</b>" not in embedded_data_text(html)


def embedded_data_text(html: str) -> str:
    return re.search(r'id="contour-data">(.*?)</script>', html, re.DOTALL).group(1)


# --- in a real browser ------------------------------------------------------------------------

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
                 "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={user_data}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _driver(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _load(browser, path: Path) -> list[dict]:
    browser.get_log("browser")                     # drop anything from earlier pages
    browser.set_window_size(1280, 900)
    browser.get(path.resolve().as_uri())
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def _heatmap_state(browser, element: str) -> dict:
    return browser.execute_script("""
        const el = document.getElementById(arguments[0]);
        const image = el.querySelector('.hm image');
        return {x: el.data[0].x, y: el.data[0].y, z: el.data[0].z,
                xtitle: (el.querySelector('.xtitle') || {}).textContent,
                ytitle: (el.querySelector('.ytitle') || {}).textContent,
                image: image ? image.getAttribute('href') : null};""", element)


@pytest.mark.browser
def test_explorer_renders_in_chromium_without_errors(browser, report):
    assert _load(browser, report) == []
    assert browser.execute_script("return document.body.getAttribute('data-explorer')") == "ready"
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);")
    assert all(name.startswith(("data:", "file:")) for name in fetched), fetched   # nothing from a network
    charts = browser.execute_script("""
        return Array.from(document.querySelectorAll('.chart')).map(el => ({
            id: el.id, svgs: el.querySelectorAll('svg.main-svg').length,
            marks: el.querySelectorAll('.scatterlayer path.js-line, .scatterlayer path.point, '
                                       + '.barlayer path, .hm image').length}));""")
    ids = {c["id"] for c in charts}
    assert {"leaderboard-chart", "taskboard-chart", "task-0-heatmap", "task-0-curve-0", "task-0-curve-1",
            "task-0-curve-2", "task-1-curve-0"} <= ids
    assert "task-1-heatmap" not in ids                      # boolean has one axis: no heatmap
    for chart in charts:
        assert chart["svgs"] > 0 and chart["marks"] > 0, chart
    state = _heatmap_state(browser, "task-0-heatmap")
    assert state["image"].startswith("data:image/png;base64,") and len(state["image"]) > 200
    assert state["xtitle"] == "length" and state["ytitle"] == "depth"


@pytest.mark.browser
def test_choosing_two_other_axes_changes_the_heatmap(browser, report):
    from selenium.webdriver.support.ui import Select
    assert _load(browser, report) == []
    before = _heatmap_state(browser, "task-0-heatmap")
    Select(browser.find_element("css selector", "#task-0 [data-control='x']")).select_by_value("width")
    Select(browser.find_element("css selector", "#task-0 [data-control='y']")).select_by_value("length")
    after = _heatmap_state(browser, "task-0-heatmap")
    assert (after["xtitle"], after["ytitle"]) == ("width", "length")
    assert after["x"] == ["1", "3"] and after["y"] == ["2", "4", "8", "16"]
    assert len(after["z"]) == 4 and all(len(row) == 2 for row in after["z"])
    assert after["image"] != before["image"]
    # the colour metric and the run are choices too
    Select(browser.find_element("css selector", "#task-0 [data-control='run']")).select_by_index(1)
    other_run = _heatmap_state(browser, "task-0-heatmap")
    assert other_run["z"] != after["z"] and other_run["image"] != after["image"]
    Select(browser.find_element("css selector", "#task-0 [data-control='metric']")).select_by_value("trunc")
    assert _heatmap_state(browser, "task-0-heatmap")["z"] != other_run["z"]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.browser
def test_hover_shows_n_correct_and_interval(browser, report):
    """A real mouse over a heatmap cell and a curve point shows the cell's numbers."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait
    assert _load(browser, report) == []
    for chart in ("task-0-heatmap", "task-0-curve-0"):
        area = browser.find_element("css selector", f"#{chart} .nsewdrag")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", area)
        width, height = area.size["width"], area.size["height"]
        if chart.endswith("heatmap"):       # the bottom-left cell
            x, y = width * 0.1 - width / 2, height * 0.9 - height / 2
        else:                               # the first point of the first run
            acc = browser.execute_script(
                "return document.getElementById(arguments[0]).data[2].y[0];", chart)
            x, y = -width / 2 + 1, height / 2 - height * (acc + 0.02) / 1.04
        ActionChains(browser).move_to_element_with_offset(area, int(x), int(y)).perform()
        text = WebDriverWait(browser, 10).until(lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' .hoverlayer text'))"
            ".map(t => t.textContent).join(' ');", chart))
        assert re.search(r"n \d+, correct \d+", text), text
        assert re.search(r"accuracy [\d.]+ \[[\d.]+, [\d.]+\]", text), text


@pytest.mark.browser
def test_truncation_and_token_overlays(browser, report):
    assert _load(browser, report) == []
    count = "return document.getElementById('task-0-curve-0').data.length;"
    plain = browser.execute_script(count)
    browser.find_element("css selector", "#task-0 [data-control='trunc']").click()
    with_truncation = browser.execute_script(count)
    browser.find_element("css selector", "#task-0 [data-control='tokens']").click()
    with_tokens = browser.execute_script(count)
    assert with_truncation == plain + 2 and with_tokens == plain + 4     # one line per run each
    assert browser.execute_script(
        "return document.getElementById('task-0-curve-0').layout.yaxis2.title.text;") == "mean tokens"


@pytest.mark.browser
def test_tables_fit_the_page(browser, report):
    assert _load(browser, report) == []
    widths = browser.execute_script("""
        return {page: [document.documentElement.scrollWidth, window.innerWidth],
                tables: Array.from(document.querySelectorAll('.table-wrap'))
                             .filter(w => w.offsetParent !== null)
                             .map(w => [w.scrollWidth, w.clientWidth])};""")
    assert widths["page"][0] <= widths["page"][1]
    assert widths["tables"] and all(scroll <= client for scroll, client in widths["tables"])
    # every chart title lies inside its chart (the old report cut the first one off)
    outside = browser.execute_script("""
        return Array.from(document.querySelectorAll('.chart')).flatMap(chart => {
            const box = chart.getBoundingClientRect();
            return Array.from(chart.querySelectorAll('.gtitle')).map(t => t.getBoundingClientRect())
                .filter(r => r.left < box.left - 2 || r.right > box.right + 2)
                .map(r => [chart.id, r.left, r.right, box.left, box.right]);
        });""")
    assert browser.execute_script("return document.querySelectorAll('.chart .gtitle').length") > 5
    assert outside == []


@pytest.mark.browser
def test_browser_check_catches_a_broken_page(browser, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<!doctype html><link rel="icon" href="data:,">'
                      '<script>undefinedFunction()</script>')
    severe = _load(browser, broken)
    assert any("undefinedFunction" in entry["message"] for entry in severe)


def test_png_titles_are_wrapped_to_fit_their_figure():
    """The --plots pictures: a long title on a narrow figure wraps instead of being cut off."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from contour.evaluate.plots import _title
    figure = Figure(figsize=(4.2, 3.4), layout="constrained")
    figure.add_subplot()
    _title(figure, "a_rather_long_task_name: accuracy along each axis (95% intervals)")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    box = figure._suptitle.get_window_extent(canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width
    assert "\n" in figure._suptitle.get_text()


@pytest.fixture(scope="module")
def sampled_report(tmp_path_factory) -> Path:
    """A run with 4 completions per test over one axis (as `--completions 4` writes it)."""
    folder = tmp_path_factory.mktemp("sampled") / "run"
    records = []
    for index, open_ in enumerate((1, 2, 3)):
        point = point_id(index, "brackets", {"open": open_})
        for sample in range(6):
            for completion in range(4):
                ok = (sample + completion) % (open_ + 1) != 0
                record = make_record(point, "brackets", sample, {"open": open_}, correct=ok, target=")")
                record.update(completion=completion, normalized_answer=")" if ok else "]",
                              key=f"{point}-{sample}" + (f".{completion}" if completion else ""))
                records.append(record)
    write_run(folder, records, manifest={"seed": 1, "mode": {"online": True, "completions": 4}})
    return write_html(evaluate([folder], resamples=0), folder / "report.html")


def test_k_completion_curves_are_in_the_page(sampled_report):
    html = sampled_report.read_text(encoding="utf-8")
    sampling = embedded_data(html)["tasks"][0]["sampling"]["open"]
    assert [row["x"] for row in sampling] == [1, 2, 3] and {row["k"] for row in sampling} == {4}
    assert set(sampling[0]["series"]) == {"pass@1", "pass@4", "maj@4", "agreement"}
    assert 'id="task-0-sampling-0"' in html and "k completions per test, per task" in html


@pytest.mark.browser
def test_k_completion_curves_render(browser, sampled_report):
    assert _load(browser, sampled_report) == []
    drawn = browser.execute_script("""
        const el = document.getElementById('task-0-sampling-0');
        return [el.data.length, el.querySelectorAll('.scatterlayer path.js-line').length];""")
    assert drawn[0] == 4 and drawn[1] >= 4


@pytest.mark.slow
def test_the_page_assets_ship_in_the_wheel(tmp_path):
    """A regular install must find explorer.js and explorer.css (package data)."""
    import subprocess
    import sys
    import zipfile

    from tests.conftest import REPO
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    assert {"contour/evaluate/assets/explorer.js", "contour/evaluate/assets/explorer.css"} <= set(names)
