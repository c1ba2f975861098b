"""Nothing under ROOT is trusted: links planted in ROOT/.tidalsort, hostile journals and
manifests (alias bombs, paths out of ROOT) never make tidalsort write, delete or read
outside ROOT, and each ends in one line naming what is wrong."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import run, tone, tree_hashes, write

from tidalsort.live.serve import SampleServer
from tidalsort.output.manifest import MAX_UNKNOWN_BYTES, load


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line a failed command printed on stderr (progress lines aside), with no traceback."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("tidalsort: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder outside every root, holding what an attacker would like tidalsort to touch."""
    folder = tmp_path / "victim"
    write(folder / "keep.wav", tone(300, 0.2))
    (folder / "tmp-notes.txt").write_text("notes")
    (folder / "sub").mkdir()
    (folder / "sub" / "x.txt").write_text("x")
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root with bank ``aif`` (AIFF files, which serve converts and the map previews)."""
    for i in range(4):
        write(tmp_path / "aif" / f"a{i}.aiff", tone(200 * (i + 1), 0.2), fmt="AIFF")
    out = tmp_path / "root"
    assert run("sort", tmp_path / "aif", "--out", out, "--bank", "aif", "--no-dendrogram") == 0
    return out


def plant(link: Path, target: Path) -> None:
    """Replace whatever is at ``link`` with a symbolic link to ``target``."""
    if link.is_dir() and not link.is_symlink():
        import shutil

        shutil.rmtree(link)
    elif os.path.lexists(link):
        link.unlink()
    link.symlink_to(target)


def get(srv: SampleServer, target: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
    try:
        connection.request("GET", target)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@pytest.fixture
def serving(root: Path) -> Iterator[SampleServer]:
    srv = SampleServer(root, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_linked_serve_wav_folder_is_neither_emptied_nor_written(
    root: Path, victim: Path, serving: SampleServer, capfd: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(victim)
    plant(root / ".tidalsort" / "serve-wav", victim)
    assert get(serving, "/strudel.json")[0] == 200
    sample = load(root).to_dict()["banks"]["aif"]["samples"][0]
    status, body = get(serving, f"/{sample['folder']}/{sample['file']}")
    assert status == 200 and body[:4] == b"RIFF"  # still served, converted in memory
    assert tree_hashes(victim) == before
    assert "serve-wav is a link" in capfd.readouterr().err


def test_a_linked_map_folder_is_refused_in_one_line(root: Path, victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = tree_hashes(victim)
    plant(root / ".tidalsort" / "map-aif", victim)
    assert run("map", root, "--bank", "aif") == 1
    assert "map-aif is a link" in one_line(capsys)
    assert tree_hashes(victim) == before


@pytest.mark.parametrize("command", ["sort", "report"])
def test_a_linked_state_folder_is_refused_in_one_line(
    root: Path, victim: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (victim / "journal-aif.json").write_text("{}")  # what a sort or a read would carry out there
    before = tree_hashes(victim)
    plant(root / ".tidalsort", victim)
    capsys.readouterr()
    argv = ["sort", tmp_path / "aif", "--out", root, "--bank", "aif", "--no-cache"] if command == "sort" else ["report", root]
    assert run(*argv) == 1
    assert ".tidalsort is a link" in one_line(capsys)
    assert tree_hashes(victim) == before


def test_a_linked_lock_file_is_refused(root: Path, victim: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant(root / ".tidalsort" / "lock", victim / "made-by-tidalsort")
    capsys.readouterr()
    assert run("sort", tmp_path / "aif", "--out", root, "--bank", "aif", "--no-cache", "--clusters", "2") == 1
    assert "lock is a link" in one_line(capsys)
    assert not os.path.lexists(victim / "made-by-tidalsort")


def test_a_linked_cache_is_not_written_and_the_sort_goes_on(
    root: Path, victim: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = victim / "other.sqlite"
    with sqlite3.connect(outside) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    before = tree_hashes(victim)
    plant(root / ".tidalsort" / "cache.sqlite", outside)
    capsys.readouterr()
    assert run("sort", tmp_path / "aif", "--out", root, "--bank", "aif", "--clusters", "2") == 0
    assert "cache.sqlite is a link" in capsys.readouterr().err
    assert tree_hashes(victim) == before
    assert not os.path.lexists(f"{outside}-wal")


def test_a_journal_naming_paths_out_of_root_is_refused(root: Path, victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = root / ".tidalsort"
    (state / "tmp-x").write_bytes(b"overwritten")
    entry = load(root).to_dict()["banks"]["aif"]
    journal = {
        "bank": "aif",
        "folders": {"aif": ["../../victim/sub", 1]},
        "stale": [],
        "files": {"../victim/keep.wav": "tmp-x"},
        "entry": entry,
        "strudel_base": None,
    }
    (state / "journal-aif.json").write_text(json.dumps(journal))
    before = tree_hashes(victim)
    capsys.readouterr()
    assert run("report", root) == 1
    assert "not a journal tidalsort wrote" in one_line(capsys)
    assert tree_hashes(victim) == before


def alias_bomb(depth: int = 6) -> str:
    """YAML in which each level repeats the one before ten times: 10**depth strings of 40
    characters once expanded (40 MB at depth 6), from under 2 KB of text."""
    lines = ['  l0: &l0 ["' + "x" * 40 + '"]']
    lines += [f"  l{d}: &l{d} [{', '.join([f'*l{d - 1}'] * 10)}]" for d in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["top", "sources"])
def test_an_alias_bomb_in_the_manifest_is_refused(root: Path, tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = root / "tidalsort.yaml"
    text = path.read_text()
    if where == "top":
        text += "bomb:\n" + alias_bomb()
    else:
        head, tail = text.split("    sources: ", 1)
        text = head + "    sources:\n" + alias_bomb().replace("  l", "      l") + "    sources_was: " + tail
    path.write_text(text)
    size = path.stat().st_size
    capsys.readouterr()
    assert run("sort", tmp_path / "aif", "--out", root, "--bank", "aif", "--no-cache") == 1
    assert "aliases (*name) are not allowed" in one_line(capsys)
    assert run("report", root) == 1
    assert "aliases" in one_line(capsys)
    assert path.stat().st_size == size
    assert all(p.stat().st_size < 1 << 20 for p in (root / ".tidalsort").iterdir() if p.is_file())


def test_unknown_keys_are_kept_only_when_small(root: Path, tmp_path: Path) -> None:
    path = root / "tidalsort.yaml"
    big = "y" * (MAX_UNKNOWN_BYTES + 1)
    path.write_text(path.read_text() + f'notes: "mine"\nblob: "{big}"\n')
    write(tmp_path / "aif" / "a9.aiff", tone(1900, 0.2), fmt="AIFF")  # a change, so the sort writes
    assert run("sort", tmp_path / "aif", "--out", root, "--bank", "aif", "--no-dendrogram") == 0
    written = yaml.safe_load(path.read_text())  # the YAML itself, not its JSON copy
    assert written["notes"] == "mine" and "blob" not in written and load(root).to_dict()["notes"] == "mine"
    assert path.stat().st_size < MAX_UNKNOWN_BYTES


def test_a_sample_path_out_of_root_in_the_manifest_is_refused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = root / "tidalsort.yaml"
    first = load(root).to_dict()["banks"]["aif"]["samples"][0]["file"]
    path.write_text(path.read_text().replace(f'"file": "{first}"', '"file": "../../victim/keep.wav"', 1))
    capsys.readouterr()
    assert run("report", root) == 1
    assert "samples[0]" in one_line(capsys)


def test_an_index_that_would_unpack_to_too_much_is_not_read(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tidalsort.output import index

    size = (root / ".tidalsort" / "features-aif.npz").stat().st_size
    monkeypatch.setattr(index, "MAX_NPZ_BYTES", size // 2)  # as a planted file far larger than it looks
    capsys.readouterr()
    assert run("similar", "aif:0", "--out", root) == 1
    err = capsys.readouterr().err
    assert "features-aif.npz: not a readable feature index (would unpack to" in err and "Traceback" not in err
