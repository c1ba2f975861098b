"""The sound map beside the samples: ``tidalsort serve`` serves ``/<bank>-map.html`` and what it
loads (its data and the WAV previews of AIFF samples), read-only and by the same rules as the
samples; the page, opened from the server in headless Chromium, plays from the server."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from browser_support import chromium, console_errors
from conftest import PROJECT

from tidalsort.cli import main
from tidalsort.demo import make_kit
from tidalsort.live.serve import SampleServer
from tidalsort.output.manifest import load
from tidalsort.soundmap.previews import preview_folder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """The demo kit (WAV, AIFF and FLAC sources) sorted with its map, served on a free port."""
    folder = tmp_path_factory.mktemp("mapserve")
    make_kit(folder / "kit")
    root = folder / "root"
    assert main(["sort", str(folder / "kit"), "--out", str(root), "--bank", "demo", "--map", "--json"]) == 0
    server = SampleServer(root, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield root, server
    finally:
        server.shutdown()
        server.server_close()


def get(server: SampleServer, path: str, host: str | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        conn.close()


def previews(root: Path) -> list[Path]:
    return sorted(preview_folder(root, "demo").iterdir())


def test_the_page_its_data_and_previews_are_served_as_written(served: tuple[Path, SampleServer]) -> None:
    root, server = served
    assert get(server, "/demo-map.html") == (200, "text/html; charset=utf-8", (root / "demo-map.html").read_bytes())
    assert get(server, "/demo-map.js") == (200, "text/javascript; charset=utf-8", (root / "demo-map.js").read_bytes())
    wavs = previews(root)
    assert wavs, "the demo kit has AIFF samples: the map plays WAV previews of them"
    for wav in wavs:
        assert get(server, f"/.tidalsort/map-demo/{wav.name}") == (200, "audio/wav", wav.read_bytes())
    assert f".tidalsort/map-demo/{wavs[0].name}" in (root / "demo-map.js").read_text()  # what the page loads


def test_nothing_else_beside_the_map_is_served(served: tuple[Path, SampleServer]) -> None:
    root, server = served
    stray = preview_folder(root, "demo") / ("0" * 40 + ".wav")
    stray.write_bytes(previews(root)[0].read_bytes())  # a file no sample needs
    (root / "other-map.html").write_text("<p>not a bank</p>")
    try:
        for path in (
            "/other-map.html",
            "/demo-map.png",
            "/demo-dendrogram.png",
            f"/.tidalsort/map-demo/{stray.name}",
            "/.tidalsort/map-demo/",
            "/.tidalsort/lock",
            "/tidalsort.yaml",
            "/demo-map.html/..",
            "/%64emo-map.html",
            "/x/../demo-map.html",
        ):
            assert get(server, path)[0] == 404, path
        assert get(server, "/demo-map.html", host="evil.example:80")[0] == 421  # DNS rebinding
    finally:
        stray.unlink()
        (root / "other-map.html").unlink()


def test_links_are_not_followed(served: tuple[Path, SampleServer], tmp_path: Path) -> None:
    root, server = served
    outside = tmp_path / "secret.html"
    outside.write_text("secret")
    page = root / "demo-map.html"
    kept = page.read_bytes()
    folder = preview_folder(root, "demo")
    moved = tmp_path / "previews"
    try:
        page.unlink()
        page.symlink_to(outside)
        assert get(server, "/demo-map.html")[0] == 404
        name = previews(root)[0].name
        folder.rename(moved)
        folder.symlink_to(moved)  # the previews' folder a link out of ROOT
        assert get(server, f"/.tidalsort/map-demo/{name}")[0] == 404
    finally:
        page.unlink()
        page.write_bytes(kept)
        if folder.is_symlink():
            folder.unlink()
            moved.rename(folder)


def test_the_served_page_plays_from_the_server(served: tuple[Path, SampleServer]) -> None:
    """In headless Chromium: the page over HTTP, an AIFF sample's preview played through Web
    Audio, fetched from this server."""
    root, server = served
    from test_map_browser import at_sample, open_page, state, unlock_sound, wait_for

    samples = load(root).banks["demo"].samples
    aiff = next(s.n for s in samples if s.file.lower().endswith((".aif", ".aiff")))
    with chromium() as browser:
        browser.set_script_timeout(10)
        open_page(browser, f"{server.url}demo-map.html")
        assert state(browser, "engine()") == "webaudio" and state(browser, "drawn") == len(samples)
        unlock_sound(browser)
        at_sample(browser, aiff)
        assert wait_for(lambda: any(p["n"] == aiff for p in state(browser, "played")))
        assert wait_for(lambda: (state(browser, "level()") or 0) > 0.01, timeout=3)
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert f"{server.url}demo-map.js" in loaded
        assert any(url.startswith(f"{server.url}.tidalsort/map-demo/") for url in loaded), loaded
        assert console_errors(browser) == []


def test_serve_prints_the_address_of_the_map(served: tuple[Path, SampleServer]) -> None:
    root, _ = served
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidalsort", "serve", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT)),
    )
    try:
        lines = []
        while not any("sound map" in line for line in lines) and len(lines) < 10:
            lines.append(proc.stderr.readline())
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
    [line] = [line for line in lines if "sound map" in line]
    assert line.startswith("sound map of demo: http://127.0.0.1:") and line.rstrip().endswith("/demo-map.html")
    served_at = lines[0].split(" at ")[1].split(" ")[0]
    assert line.split(": ", 1)[1].strip() == served_at + "demo-map.html"
