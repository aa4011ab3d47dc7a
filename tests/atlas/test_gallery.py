"""The gallery in a real browser (headless Debian Chromium through selenium), served by ``deepdream serve``.

One atlas of two recipes (matlab and lucid) with dataset examples from a small folder: the index
with thumbnails, the network page, search, a layer page (filter, sort, recipe choice, keyboard),
a unit page (recipes side by side, curves with labelled axes, examples, histogram, keyboard), a
phone-width layout, and the screenshot script the README's pictures come from.
"""

from __future__ import annotations

import importlib.util
import os
import re
import select
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from deepdreamport.atlas.gallery import build_gallery, curve_svg_points
from deepdreamport.atlas.worker import is_dead

from .conftest import REPO, TINYNET, atlas_command, run_cli, run_inline
from .test_examples import make_folder

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def atlas_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gallery")
    examples = make_folder(folder / "examples-in")
    run_inline(
        TINYNET,
        folder / "atlas",
        layers="conv2,fc",
        recipe="matlab,lucid",
        params={"levels": 1, "iterations": 3, "steps": 3, "size": 32},
        examples=examples,
        batch=4,
    )
    return folder / "atlas"


@pytest.fixture(scope="module")
def served(atlas_folder):
    """``deepdream serve DIR --host 127.0.0.1 --port 0`` as a subprocess; yields the URL and the process."""
    process = subprocess.Popen(
        atlas_command("serve", str(atlas_folder), "--port", "0", "--host", "127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready, "serve printed no URL within 60 s"
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert match, line
    yield match.group(0), process
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _all_images_decoded(driver) -> int:
    """Scroll so lazy images load, wait for them, then require every visible one decoded (naturalWidth > 0)."""
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    script = "return Array.from(document.images).filter(i => i.offsetParent !== null)"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if driver.execute_script(script + ".every(i => i.complete);"):
            break
        time.sleep(0.1)
    widths = driver.execute_script(script + ".map(i => [i.getAttribute('src'), i.naturalWidth]);")
    assert widths and all(width > 0 for _, width in widths), widths
    return len(widths)


def _press(driver, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def _wait_url(driver, ending: str) -> None:
    deadline = time.monotonic() + 15
    while not driver.current_url.split("#")[0].endswith(ending):
        assert time.monotonic() < deadline, driver.current_url
        time.sleep(0.05)


def test_index_network_page_and_search(served, browser):
    from selenium.webdriver.common.by import By

    url, _ = served
    browser.get(url)
    assert "tinynet.onnx" in browser.title
    assert _all_images_decoded(browser) >= 6 + 5  # thumbnails of both layers
    facts = browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert "{" not in facts and "recipe lucid" in facts and "9 images, 8 scored" in facts
    assert "1 unreadable files skipped, 2 grey images converted to RGB" in facts
    browser.find_element(By.LINK_TEXT, "network page").click()
    _wait_url(browser, "network.html")
    rows = browser.find_elements(By.CSS_SELECTOR, "#layers tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows] == [
        "data", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flat", "fc"
    ]  # fmt: skip
    conv2 = rows[4].text
    assert "14×14×6" in conv2 and "8×8" in conv2 and "12/12" in conv2
    search = browser.find_element(By.ID, "filter")
    search.send_keys("fc")
    results = browser.find_elements(By.CSS_SELECTOR, "#search-results a")
    assert [r.text for r in results] == ["fc (Fully Connected)"]
    search.clear()
    search.send_keys("conv2:4")
    results = browser.find_elements(By.CSS_SELECTOR, "#search-results a")
    assert [r.text for r in results] == ["conv2 unit 4"]
    results[0].click()
    _wait_url(browser, "units/005_conv2/unit_0004.html")
    browser.get(url + "network.html")
    _press(browser, "\ue015")  # ArrowDown: the first row
    _press(browser, "\ue015")
    focused = browser.switch_to.active_element
    assert browser.find_elements(By.CSS_SELECTOR, "#layers tbody tr.focus")[0].text.startswith("2 conv1")
    assert focused.tag_name in ("a", "body")
    assert _console_errors(browser) == []


def test_layer_page_filter_sort_recipe_and_keyboard(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = served
    browser.get(url + "layers/005_conv2.html")
    _all_images_decoded(browser)
    assert browser.execute_script("return Array.from(document.images).every(i => i.loading === 'lazy');")
    cards = browser.find_elements(By.CSS_SELECTOR, "#units .card")
    assert len(cards) == 6
    visible = browser.execute_script(
        "return Array.from(document.querySelectorAll('#units img'))"
        ".filter(i => i.offsetParent !== null).map(i => i.getAttribute('src'));"
    )
    assert len(visible) == 6 and all("/matlab/" in src for src in visible)
    search = browser.find_element(By.ID, "filter")
    search.send_keys("2-3,6")
    assert [card.get_attribute("data-unit") for card in cards if card.is_displayed()] == ["2", "3", "6"]
    assert browser.find_element(By.ID, "shown").text == "3"
    search.clear()
    search.send_keys("f")  # not a unit number: a layer-name search
    assert "fc (Fully Connected)" in [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#search-results a")]
    search.clear()
    search.send_keys("\ue00c")  # Escape leaves the box
    Select(browser.find_element(By.ID, "recipe-choice")).select_by_value("lucid")
    _all_images_decoded(browser)
    visible = browser.execute_script(
        "return Array.from(document.querySelectorAll('#units img'))"
        ".filter(i => i.offsetParent !== null).map(i => i.getAttribute('src'));"
    )
    assert len(visible) == 6 and all("/lucid/" in src for src in visible)
    Select(browser.find_element(By.ID, "sort")).select_by_value("activation")
    order = [card.get_attribute("data-unit") for card in browser.find_elements(By.CSS_SELECTOR, "#units .card")]
    values = {card.get_attribute("data-unit"): float(card.get_attribute("data-act-lucid")) for card in cards}
    assert order == sorted(values, key=lambda unit: (-values[unit], int(unit)))
    Select(browser.find_element(By.ID, "sort")).select_by_value("examples")
    best = [
        float(card.get_attribute("data-example")) for card in browser.find_elements(By.CSS_SELECTOR, "#units .card")
    ]
    assert best == sorted(best, reverse=True)
    Select(browser.find_element(By.ID, "sort")).select_by_value("unit")
    browser.find_element(By.TAG_NAME, "h1").click()
    _press(browser, "\ue014")  # ArrowRight: focus the first card
    _press(browser, "\ue014")  # then the second
    assert browser.switch_to.active_element.get_attribute("href").endswith("units/005_conv2/unit_0002.html")
    _press(browser, "\ue007")  # Enter follows the focused link
    _wait_url(browser, "units/005_conv2/unit_0002.html")
    browser.get(url + "layers/005_conv2.html")
    _press(browser, "/")
    assert browser.switch_to.active_element.get_attribute("id") == "filter"
    search = browser.switch_to.active_element
    search.send_keys("\ue00c")
    _press(browser, "]")  # the next layer
    _wait_url(browser, "layers/009_fc.html")
    assert _console_errors(browser) == []


def test_unit_page_compares_recipes_and_shows_examples(served, browser):
    from selenium.webdriver.common.by import By

    url, _ = served
    browser.get(url + "units/005_conv2/unit_0004.html")
    _all_images_decoded(browser)
    sections = browser.find_elements(By.CSS_SELECTOR, "section.recipe")
    assert [s.get_attribute("id") for s in sections] == ["recipe-matlab", "recipe-lucid"]
    tops = [s.location["y"] for s in sections]
    assert tops[0] == tops[1]  # side by side
    for section, x_label, points in zip(sections, ("iteration →", "step →"), (3, 3)):
        assert section.find_element(By.CSS_SELECTOR, "img.hero").get_attribute("naturalWidth") != "0"
        assert section.find_element(By.CSS_SELECTOR, "svg.curve .x-label").text == x_label
        assert section.find_element(By.CSS_SELECTOR, "svg.curve .y-label").text.startswith("↑ ")
        assert len(section.find_element(By.CSS_SELECTOR, "polyline").get_attribute("points").split()) == points
    matlab_command = browser.find_element(By.ID, "command-matlab").text
    assert "--layer conv2 --channels 4" in matlab_command and matlab_command.startswith("OMP_NUM_THREADS=1 deepdream")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".examples img.crop")) == 8
    assert len(browser.find_elements(By.CSS_SELECTOR, ".examples .whole .box")) == 16
    assert len(browser.find_elements(By.CSS_SELECTOR, ".histogram rect.bar")) == 24
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".histogram text")]
    assert "↑ images" in labels and "strongest response in the image →" in labels
    browser.find_element(By.CSS_SELECTOR, "a.recipe-link[href='#recipe-lucid']").click()
    assert browser.current_url.endswith("#recipe-lucid")
    browser.find_element(By.CSS_SELECTOR, "button.copy").click()
    _press(browser, "\ue014")  # ArrowRight: the next unit
    _wait_url(browser, "units/005_conv2/unit_0005.html")
    _press(browser, "\ue012")  # ArrowLeft: back
    _wait_url(browser, "units/005_conv2/unit_0004.html")
    _press(browser, "u")
    _wait_url(browser, "layers/005_conv2.html")
    assert _console_errors(browser) == []


def test_phone_width_and_the_screenshot_script(atlas_folder, browser, tmp_path):
    browser.set_window_size(375, 800)
    try:
        for page in ("index.html", "network.html", "layers/005_conv2.html", "units/009_fc/unit_0002.html"):
            browser.get((atlas_folder / page).as_uri())
            widths = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
            assert widths[0] <= widths[1], (page, widths)
    finally:
        browser.set_window_size(1200, 900)
    spec = importlib.util.spec_from_file_location("make_screenshots", REPO / "docs" / "atlas" / "make_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.screenshots(atlas_folder, tmp_path, width=640, phone_width=360, max_height=900)
    assert [p.name for p in written] == ["index.png", "network.png", "layer.png", "unit.png", "phone-layer.png",
                                         "phone-unit.png"]  # fmt: skip
    for path in written:
        with Image.open(path) as image:
            assert image.size[0] in (640, 360) and image.size[1] > 100


def test_gallery_works_from_the_file_system(atlas_folder, browser):
    browser.get((atlas_folder / "units" / "009_fc" / "unit_0002.html").as_uri())
    _all_images_decoded(browser)
    assert _console_errors(browser) == []


def test_dead_units_are_flagged_not_shown_as_pictures(atlas_folder, tmp_path):
    import shutil

    copy = tmp_path / "atlas"
    shutil.copytree(atlas_folder, copy)
    connection = sqlite3.connect(copy / "atlas.sqlite")
    connection.execute("UPDATE renders SET dead = 1, curve_json = '[0.0, 0.0, 0.0]' WHERE id = "
                       "(SELECT r.id FROM renders r JOIN units u ON u.id = r.unit_id WHERE u.layer = 'conv2' "
                       "AND u.channel = 3 AND r.recipe = 'matlab')")  # fmt: skip
    connection.commit(), connection.close()
    build_gallery(copy)
    page = (copy / "units" / "005_conv2" / "unit_0003.html").read_text()
    assert "dead unit" in page and "no gradient reached the image" in page
    assert 'data-unit="3"' in (copy / "layers" / "005_conv2.html").read_text()
    assert "badge dead" in (copy / "layers" / "005_conv2.html").read_text()
    assert is_dead([0.0, 0.0], [[1.0]]) and not is_dead([0.0, 0.1], [[1.0]])
    assert is_dead([1.0], [[float("nan")]])


def test_serve_imports_no_torch_and_refuses_a_folder_without_gallery(served, tmp_path):
    _, process = served
    result = run_cli("serve", str(tmp_path), "--port", "0", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"deepdream serve: error: DIR: {str(tmp_path.resolve())!r} has no index.html (run deepdream atlas first)"
    ]
    maps = Path(f"/proc/{process.pid}/maps").read_text()  # the shared libraries the running server has loaded
    assert process.poll() is None and "libpython" in maps or "python" in maps
    assert "libtorch" not in maps and "/torch/" not in maps


def test_curve_points_span_the_plot():
    points = [
        tuple(map(float, p.split(","))) for p in curve_svg_points([1.0, 3.0, 2.0], 320, 120, (8, 8, 8, 8)).split()
    ]
    assert points == [(8.0, 112.0), (160.0, 8.0), (312.0, 60.0)]
