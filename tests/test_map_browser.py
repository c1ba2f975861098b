"""The sound map page in a real browser: headless Chromium opens it from disk (and over HTTP)."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest
from browser_support import chromium, console_errors

from tidalsort.cli import main
from tidalsort.demo import make_kit
from tidalsort.output.index import load_index
from tidalsort.output.manifest import load
from tidalsort.soundmap.layout import cached_layout
from tidalsort.soundmap.page import page_data, page_path, write_page
from tidalsort.soundmap.previews import audio_urls


@pytest.fixture(scope="module")
def browser() -> Any:
    with chromium() as driver:
        driver.set_script_timeout(10)
        yield driver


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo kit sorted and mapped: ``ROOT/demo-map.html``."""
    folder = tmp_path_factory.mktemp("demo")
    make_kit(folder / "kit")
    assert main(["sort", str(folder / "kit"), "--out", str(folder / "root"), "--bank", "demo", "--map", "--json"]) == 0
    return folder / "root"


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def state(driver: Any, key: str) -> Any:
    return driver.execute_script(f"return window.tidalsortMap.{key}")


def open_page(driver: Any, url: str) -> None:
    driver.get(url)
    assert wait_for(lambda: driver.execute_script("return !!window.tidalsortMap && window.tidalsortMap.frames > 0"))


def pointer(driver: Any, x: float, y: float, click: bool = False) -> None:
    """Move the mouse (and click) at page coordinates ``x``, ``y``."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "map")
    box = canvas.rect
    actions = ActionChains(driver).move_to_element_with_offset(
        canvas, round(x - box["x"] - box["width"] / 2), round(y - box["y"] - box["height"] / 2)
    )
    (actions.click() if click else actions).perform()


def at_sample(driver: Any, i: int, click: bool = False) -> None:
    x, y = driver.execute_script("return window.tidalsortMap.screenOf(arguments[0])", i)
    pointer(driver, x, y, click)


def unlock_sound(driver: Any) -> None:
    """Click an empty corner of the map: browsers play sound only after a gesture."""
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "map").rect
    pointer(driver, box["x"] + 3, box["y"] + 3, click=True)


def canvas_pixels(driver: Any) -> str:
    return driver.execute_script("return document.getElementById('map').toDataURL()")


def press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def test_page_from_disk_draws_plays_searches_and_toggles(browser: Any, demo: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    entry = load(demo).banks["demo"].to_dict()
    samples = entry["samples"]
    open_page(browser, page_path(demo, "demo").as_uri())
    assert state(browser, "drawn") == state(browser, "size") == len(samples) == 36
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-drawn") == "36"
    assert state(browser, "engine()") == "element"  # file://: <audio> elements play directly

    # hovering a dot plays that sample's file: a WAV as it is, an AIFF through its preview
    unlock_sound(browser)
    wav = next(i for i, s in enumerate(samples) if s["file"].endswith(".wav"))
    aiff = next(i for i, s in enumerate(samples) if s["file"].endswith(".aiff"))
    for i in (wav, aiff):
        at_sample(browser, i)
        played = wait_for(lambda i=i: [p for p in state(browser, "played") if p["n"] == i])
        assert played and played[-1]["folder"] == "demo"
        url = played[-1]["src"]
        assert url == f"demo/{samples[i]['file']}" if i == wav else url.startswith(".tidalsort/map-demo/")
        voice = wait_for(lambda i=i: [v for v in state(browser, "voices()") if v["n"] == i and v["time"] > 0 and not v["paused"]])
        assert voice and voice[0]["src"] == (demo / url).as_uri()  # the browser is playing that very file
    assert f"demo:{aiff}" in browser.find_element(By.ID, "details").text
    # sweeping across many dots: every one plays, never more than 8 at once
    played = len(state(browser, "played"))
    most = 0
    for i in range(12):
        at_sample(browser, i)
        most = max(most, len(state(browser, "voices()")))
    assert len(state(browser, "played")) >= played + 11 and 0 < most <= 8

    # clicking copies the Tidal line, or the Strudel line; arrows walk the n order
    at_sample(browser, 7, click=True)
    assert state(browser, "copied") == 'd1 $ s "demo" # n 7'
    assert 'd1 $ s "demo" # n 7' in browser.find_element(By.ID, "toast").text
    press(browser, Keys.ARROW_RIGHT)
    assert state(browser, "selected") == 8 and state(browser, "played")[-1]["n"] == 8
    press(browser, Keys.ARROW_LEFT + Keys.ARROW_LEFT)
    assert state(browser, "selected") == 6
    press(browser, Keys.ENTER)
    assert state(browser, "copied") == 'd1 $ s "demo" # n 6'
    browser.find_element(By.CSS_SELECTOR, "#copy-as option[value=strudel]").click()
    at_sample(browser, 3, click=True)
    assert state(browser, "copied") == 's("demo").n(3)'

    # search highlights the matching names
    before = canvas_pixels(browser)
    search = browser.find_element(By.ID, "search")
    search.send_keys("kick")
    kicks = sum("kick" in f"demo:{s['n']} {s['file']} {s['source']}".lower() for s in samples)
    assert 0 < kicks < 36
    assert wait_for(lambda: state(browser, "highlighted") == kicks) and f"{kicks} found" in browser.find_element(By.ID, "found").text
    assert canvas_pixels(browser) != before
    search.send_keys(Keys.ESCAPE)
    assert wait_for(lambda: state(browser, "highlighted") == 0)

    # the legend (families) hides and shows a family
    first = browser.find_elements(By.CSS_SELECTOR, "#legend button")[0]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#legend button")) == len({s["family"] for s in samples})
    family = first.text.split("\n")[0]
    first.click()
    size = sum(s["family"] == family for s in samples)
    assert wait_for(lambda: state(browser, "drawn") == 36 - size)
    browser.find_elements(By.CSS_SELECTOR, "#legend button")[0].click()
    assert wait_for(lambda: state(browser, "drawn") == 36)

    # the n order's path can be hidden
    path = browser.find_element(By.ID, "path")
    ActionChains(browser).move_to_element(path).perform()  # the pointer off the map: no hover ring
    frames = state(browser, "frames")
    wait_for(lambda: state(browser, "frames") > frames, timeout=0.5)
    before = canvas_pixels(browser)
    path.click()
    assert wait_for(lambda: canvas_pixels(browser) != before)
    path.click()
    assert wait_for(lambda: canvas_pixels(browser) == before)

    # zooming in leaves dots outside the view undrawn; 0 shows the whole map again
    canvas = browser.find_element(By.ID, "map")
    canvas.click()
    press(browser, "+++++++")
    assert wait_for(lambda: state(browser, "drawn") < 36)
    press(browser, "0")
    assert wait_for(lambda: state(browser, "drawn") == 36)

    screenshot = matplotlib.image.imread(io.BytesIO(browser.get_screenshot_as_png()), format="png")
    colours = {tuple(p) for p in (screenshot[..., :3] * 255).astype(np.uint8).reshape(-1, 3)[::7]}
    assert len(colours) > 50 and (screenshot[..., :3] < 0.9).any(axis=-1).mean() > 0.01  # not blank
    assert console_errors(browser) == []


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_page_over_http_plays_through_webaudio(browser: Any, demo: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(demo)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        open_page(browser, f"http://127.0.0.1:{server.server_port}/demo-map.html")
        assert state(browser, "engine()") == "webaudio" and state(browser, "drawn") == 36
        unlock_sound(browser)
        kick = next(i for i, s in enumerate(load(demo).banks["demo"].samples) if "kick" in s.source.lower())
        at_sample(browser, kick)
        assert wait_for(lambda: any(p["n"] == kick for p in state(browser, "played")))
        # the sound really flows through the WebAudio graph (the meter after the fades)
        assert wait_for(lambda: (state(browser, "level()") or 0) > 0.01, timeout=3)
        assert console_errors(browser) == []
    finally:
        server.shutdown()
        server.server_close()


def test_families_colour_the_map_and_details_show_confidence(browser: Any, demo: Path, tmp_path: Path) -> None:
    """The sort's families colour the map; confidences (set here to known values) show in the details."""
    from selenium.webdriver.common.by import By

    bank = load(demo).banks["demo"]
    entry = dataclasses.replace(bank, samples=tuple(dataclasses.replace(s, confidence=0.5 + s.n / 100) for s in bank.samples))
    xy, _ = cached_layout(demo, "demo", load_index(demo, "demo"))
    audio, _ = audio_urls(demo, "demo", entry)
    write_page(demo, "fam", page_data("demo", entry, xy, audio))
    try:
        open_page(browser, page_path(demo, "fam").as_uri())
        names = [b.text.split("\n")[0] for b in browser.find_elements(By.CSS_SELECTOR, "#legend button")]
        families = sorted({s.family for s in entry.samples})
        assert sorted(names) == families and browser.find_element(By.ID, "mode-box").is_displayed()
        hidden = entry.samples[0].family
        browser.find_elements(By.CSS_SELECTOR, "#legend button")[names.index(hidden)].click()
        assert wait_for(lambda: state(browser, "drawn") == 36 - sum(s.family == hidden for s in entry.samples))
        at_sample(browser, 30)
        details = browser.find_element(By.ID, "details").text
        assert "confidence\n0.80" in details and f"family\n{entry.samples[30].family}" in details
        browser.find_element(By.CSS_SELECTOR, "#mode option[value=cluster]").click()
        assert len(browser.find_elements(By.CSS_SELECTOR, "#legend button")) == len(entry.clusters)
        assert state(browser, "drawn") == 36 or wait_for(lambda: state(browser, "drawn") == 36)
        assert console_errors(browser) == []
    finally:
        for name in ("fam-map.html", "fam-map.js"):
            (demo / name).unlink()
