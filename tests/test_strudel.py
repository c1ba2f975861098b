"""ROOT/strudel.json: written with every sort, for every bank folder, and read by Strudel's own code.

The node test runs the pinned Strudel packages of tests/strudel/ (``npm ci`` there) against
``tidalsort serve``: Strudel fetches the map over HTTP and resolves ``s("kb6").n(...)``.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.request import urlopen

import numpy as np
import pytest
import soundfile as sf
from conftest import PROJECT, require, tone, write

from tidalsort.cli import main
from tidalsort.live.serve import SampleServer
from tidalsort.output.entry import Bank, Sample, Settings
from tidalsort.output.manifest import Manifest, load
from tidalsort.output.strudel import DEFAULT_BASE, STRUDEL_MAP_NAME, sample_map

STRUDEL = PROJECT / "tests" / "strudel"


def read_map(root: Path) -> dict:
    return json.loads((root / STRUDEL_MAP_NAME).read_text())


def folders_in_n_order(root: Path) -> dict[str, list[str]]:
    """Folder -> its files in manifest n order, from the manifest."""
    found: dict[str, dict[int, str]] = {}
    for entry in load(root).banks.values():
        for s in entry.samples:
            found.setdefault(s.folder, {})[s.n] = s.file
    return {folder: [f"{folder}/{files[n]}" for n in range(len(files))] for folder, files in found.items()}


def sounds(strudel_map: dict) -> dict[str, list[str]]:
    return {key: value for key, value in strudel_map.items() if not key.startswith("_")}


def test_every_folder_of_every_bank_is_in_the_map_in_bank_order(kit: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    # clusters by sound: which family the model hears in these made-up tones is not the point
    assert main(["sort", str(kit), "--out", str(root), "--bank", "kb6", "--clusters", "3", "--group", "sound"]) == 0
    # the bank's name comes from the folder "Low Toms": lowercase, as Strudel looks sounds up
    assert (
        main(
            [
                "sort",
                str(kit / "Low Toms"),
                str(kit / "bells"),
                "--out",
                str(root),
                "--layout",
                "split",
                "--clusters",
                "2",
                "--group",
                "sound",
            ]
        )
        == 0
    )
    written = read_map(root)
    assert written["_base"] == DEFAULT_BASE == "http://127.0.0.1:5432/"
    assert sounds(written) == folders_in_n_order(root)
    assert sorted(sounds(written)) == ["kb6", "low-toms-0", "low-toms-1"]
    assert all((root / path).is_file() for paths in sounds(written).values() for path in paths)
    # re-sorting one bank keeps the others in the map; the map follows the new order
    assert main(["sort", str(kit), "--out", str(root), "--bank", "kb6", "--clusters", "2", "--order", "tree"]) == 0
    assert sounds(read_map(root)) == folders_in_n_order(root)
    assert sorted(sounds(read_map(root))) == ["kb6", "low-toms-0", "low-toms-1"]


def test_keys_are_the_folders_the_manifest_lists_whatever_the_layout() -> None:
    """Folders named <bank>_<family> (as Strudel's .bank() makes them) are keys as they are, each
    list ordered by n even when the manifest lists the samples in another order."""
    samples = [
        Sample(folder=f, n=n, file=f"{n:03d}_{f}.wav", source="/x.wav", cluster=0, sha1="0")
        for f, n in [("kb6_sd", 1), ("kb6_bd", 0), ("kb6_sd", 0), ("kb6_bd", 2), ("kb6_bd", 1)]
    ]
    made = sample_map(
        Manifest(
            {"kb6": Bank(name="kb6", settings=Settings(features="mel", frames=2, method="ward"), clusters=(), samples=tuple(samples))}
        ),
        "https://example.org/s",
    )
    assert made["_base"] == "https://example.org/s/"
    assert sounds(made) == {
        "kb6_bd": ["kb6_bd/000_kb6_bd.wav", "kb6_bd/001_kb6_bd.wav", "kb6_bd/002_kb6_bd.wav"],
        "kb6_sd": ["kb6_sd/000_kb6_sd.wav", "kb6_sd/001_kb6_sd.wav"],
    }


def test_strudel_base_holds_until_another_is_given(kit: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    raw = "https://raw.githubusercontent.com/me/samples/main"
    assert main(["sort", str(kit), "--out", str(root), "--bank", "kb6", "--strudel-base", raw]) == 0
    assert read_map(root)["_base"] == raw + "/"
    assert main(["sort", str(kit / "bells"), "--out", str(root), "--bank", "bells"]) == 0
    assert read_map(root)["_base"] == raw + "/" and sorted(sounds(read_map(root))) == ["bells", "kb6"]
    assert main(["sort", str(kit / "bells"), "--out", str(root), "--bank", "bells", "--strudel-base", "http://localhost:6000/"]) == 0
    assert read_map(root)["_base"] == "http://localhost:6000/"


def test_a_strudel_json_tidalsort_did_not_write_is_left_alone(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "root"
    root.mkdir()
    theirs = '{"_base": "https://example.org/", "bd": ["bd/BT0A0A7.wav"]}\n'
    (root / STRUDEL_MAP_NAME).write_text(theirs)
    assert main(["sort", str(kit), "--out", str(root), "--bank", "kb6"]) == 0
    assert (root / STRUDEL_MAP_NAME).read_text() == theirs
    err = capsys.readouterr().err
    assert f"tidalsort: warning: {root / STRUDEL_MAP_NAME} was not written by tidalsort: left as it is" in err
    assert load(root).banks["kb6"]  # the sort itself went on


@pytest.fixture
def served(kit: Path, tmp_path: Path):
    """A root with bank kb6 (18 samples), served on a free port."""
    root = tmp_path / "root"
    assert main(["sort", str(kit), "--out", str(root), "--bank", "kb6", "--clusters", "3"]) == 0
    server = SampleServer(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, server
    finally:
        server.shutdown()
        server.server_close()


def strudel_events(map_url: str, *codes: str) -> list[dict]:
    """Run tests/strudel/resolve.mjs: Strudel's own code loads the map and resolves ``codes``."""
    require(
        shutil.which("node") is not None and (STRUDEL / "node_modules" / "superdough").is_dir(),
        "node and Strudel's packages are needed: apt-get install nodejs npm; cd tests/strudel && npm ci",
    )
    done = subprocess.run(["node", str(STRUDEL / "resolve.mjs"), map_url, *codes], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("EVENTS ")]
    assert len(lines) == 1, done.stdout + done.stderr
    return json.loads(lines[0].removeprefix("EVENTS "))


def test_strudel_plays_the_file_of_manifest_n_and_wraps_n_as_strudel_does(served: tuple[Path, SampleServer]) -> None:
    """s("kb6").n(3) in Strudel is the file of manifest n = 3, fetched from tidalsort serve; n is
    rounded, then wrapped around the bank (mod(round(n), 18)), where SuperDirt truncates."""
    root, server = served
    files = folders_in_n_order(root)["kb6"]
    assert len(files) == 18
    events = strudel_events(server.url + STRUDEL_MAP_NAME, 's("kb6").n(3)', 's("kb6").n("21 -1 2.6 3.4 -19 17.5")')
    assert [e["value"]["n"] for e in events] == [3, 21, -1, 2.6, 3.4, -19, 17.5]
    expected = [3, 3, 17, 3, 3, 17, 0]
    assert [e["url"] for e in events] == [server.url + files[n] for n in expected]
    assert server.url.startswith("http://127.0.0.1:") and server.url != DEFAULT_BASE  # _base made right for this port
    with urlopen(events[0]["url"]) as answer:  # the URL Strudel plays is the manifest's sample
        assert answer.read() == (root / files[3]).read_bytes()


def test_strudel_gets_aiff_samples_as_wav(tmp_path: Path) -> None:
    """An AIFF bank: the URL Strudel resolves for s("aif").n(1) answers a WAV file (which Web
    Audio decodes) with the samples of manifest n = 1; the map lists the file's own name."""
    for i in range(3):
        write(tmp_path / "aif" / f"a{i}.aiff", tone(200 * (i + 1), 0.2), subtype="PCM_24", fmt="AIFF")
    root = tmp_path / "root"
    assert main(["sort", str(tmp_path / "aif"), "--out", str(root), "--bank", "aif"]) == 0
    server = SampleServer(root, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        [event] = strudel_events(server.url + STRUDEL_MAP_NAME, 's("aif").n(1)')
        expected = folders_in_n_order(root)["aif"][1]
        assert expected.endswith(".aiff") and event["url"] == server.url + expected
        with urlopen(event["url"]) as answer:
            kind, data = answer.headers["Content-Type"], answer.read()
    finally:
        server.shutdown()
        server.server_close()
    served, _ = sf.read(io.BytesIO(data), dtype="int32")
    assert kind == "audio/wav" and sf.info(io.BytesIO(data)).format == "WAV"
    assert np.array_equal(served, sf.read(root / expected, dtype="int32")[0])
