"""The gallery in a real browser (headless Debian Chromium through selenium), served by ``deepdream serve``."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from deepdreamport.atlas import run_atlas
from deepdreamport.atlas.gallery import curve_svg_points

from .conftest import REPO, TINYNET, atlas_command, run_cli

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def atlas_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gallery")
    run_atlas(TINYNET, folder, layers="conv2,fc", params={"levels": 1, "iterations": 3}, batch=4, workers=1)
    return folder


@pytest.fixture(scope="module")
def served(atlas_folder):
    """``deepdream serve DIR --port 0`` as a subprocess; yields the URL it prints."""
    process = subprocess.Popen(
        atlas_command("serve", str(atlas_folder), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready, "serve printed no URL within 60 s"
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert match, line
    yield match.group(0)
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _all_images_decoded(driver) -> None:
    """Scroll so lazy images load, wait for them, then require every one decoded (naturalWidth > 0)."""
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if driver.execute_script("return Array.from(document.images).every(i => i.complete);"):
            break
        time.sleep(0.1)
    widths = driver.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth]);"
    )
    assert widths and all(width > 0 for _, width in widths), widths


def test_browse_index_layer_unit_and_filter(served, browser):
    from selenium.webdriver.common.by import By

    browser.get(served)
    assert "tinynet.onnx" in browser.title
    assert _console_errors(browser) == []
    browser.find_element(By.LINK_TEXT, "conv2").click()
    assert browser.current_url.endswith("layers/005_conv2.html")
    _all_images_decoded(browser)
    assert browser.execute_script("return Array.from(document.images).every(i => i.loading === 'lazy');")
    cards = browser.find_elements(By.CSS_SELECTOR, "#units .card")
    assert len(cards) == 6
    search = browser.find_element(By.ID, "filter")
    search.send_keys("2-3,6")
    shown = [card.get_attribute("data-unit") for card in cards if card.is_displayed()]
    assert shown == ["2", "3", "6"]
    assert browser.find_element(By.ID, "shown").text == "3"
    search.clear()
    search.send_keys("4")
    assert [card.get_attribute("data-unit") for card in cards if card.is_displayed()] == ["4"]
    assert _console_errors(browser) == []
    browser.find_element(By.PARTIAL_LINK_TEXT, "unit 4").click()
    assert browser.current_url.endswith("units/005_conv2/unit_0004.html")
    _all_images_decoded(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".examples img")) == 4
    polyline = browser.find_element(By.CSS_SELECTOR, "svg#curve polyline")
    assert len(polyline.get_attribute("points").split()) == 3  # one point per iteration
    command = browser.find_element(By.ID, "command").text
    assert "--layer conv2 --channels 4" in command and "--seed 0" in command
    browser.find_element(By.ID, "copy").click()
    assert _console_errors(browser) == []


def test_gallery_works_from_the_file_system(atlas_folder, browser):
    browser.get((atlas_folder / "units" / "009_fc" / "unit_0002.html").as_uri())
    _all_images_decoded(browser)
    assert _console_errors(browser) == []


def test_serve_refuses_a_folder_without_gallery(tmp_path):
    result = run_cli("serve", str(tmp_path), "--port", "0", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"deepdream serve: error: DIR: {str(tmp_path.resolve())!r} has no index.html (run deepdream atlas first)"
    ]


def test_curve_points_span_the_plot():
    points = [tuple(map(float, p.split(","))) for p in curve_svg_points([1.0, 3.0, 2.0]).split()]
    assert points == [(8.0, 112.0), (160.0, 8.0), (312.0, 60.0)]
