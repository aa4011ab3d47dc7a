"""Screenshots of an atlas gallery's pages in headless Chromium (the README's pictures; the tests run it small).

    python docs/atlas/make_screenshots.py ATLAS_DIR OUT_DIR [--width 1200] [--phone-width 390] [--max-height 2200]

Writes ``index.png``, ``network.png``, ``layer.png``, ``unit.png`` (the first layer's and its first unit's pages)
and ``phone-layer.png``, ``phone-unit.png`` at phone width. Needs ``/usr/bin/chromium`` and
``/usr/bin/chromedriver`` (Debian's ``chromium`` and ``chromium-driver``) and selenium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def browser(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _shoot(driver, url: str, target: Path, width: int, max_height: int) -> Path:
    driver.get(url)
    driver.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; });")
    driver.execute_script(  # the shown images (lazy ones load once scrolled to), at most 10 s
        "const shown = Array.from(document.images).filter(i => i.offsetParent !== null);"
        "return Promise.race([new Promise(r => setTimeout(r, 10000)), Promise.all(shown.map(i => i.complete ? 0 :"
        " new Promise(r => { i.onload = i.onerror = r; })))]);"
    )
    height = min(max_height, driver.execute_script("return document.documentElement.scrollHeight;") + 16)
    driver.set_window_size(width, height)
    driver.save_screenshot(str(target))
    return target


def screenshots(
    atlas: Path, out: Path, width: int = 1200, phone_width: int = 390, max_height: int = 2200
) -> list[Path]:
    """Take the screenshots of the gallery in ``atlas`` into ``out``; returns the files written."""
    atlas, out = Path(atlas).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    layer = sorted((atlas / "layers").glob("*.html"))[0]
    unit = sorted((atlas / "units" / layer.stem).glob("unit_*.html"))[0]
    pages = {"index": atlas / "index.html", "network": atlas / "network.html", "layer": layer, "unit": unit}
    written = []
    driver = browser(width, 900)
    try:
        for name, page in pages.items():
            written.append(_shoot(driver, page.as_uri(), out / f"{name}.png", width, max_height))
        for name in ("layer", "unit"):
            driver.set_window_size(phone_width, 800)
            written.append(_shoot(driver, pages[name].as_uri(), out / f"phone-{name}.png", phone_width, max_height))
    finally:
        driver.quit()
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("atlas")
    parser.add_argument("out")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--phone-width", type=int, default=390)
    parser.add_argument("--max-height", type=int, default=2200)
    args = parser.parse_args(argv)
    for path in screenshots(Path(args.atlas), Path(args.out), args.width, args.phone_width, args.max_height):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
