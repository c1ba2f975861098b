"""A sort whose inputs have not changed into a bank that is as tidalsort wrote it stops at once;
any change to the sources, the options or the bank on disk sorts again."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import tone, tree_hashes, write

from tidalsort import pipeline
from tidalsort.cli import main
from tidalsort.output.index import index_path
from tidalsort.output.manifest import load, manifest_path


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many files each sort analysed (with the cache, only new or changed files are decoded)."""
    counts: list[int] = []
    real = pipeline.analyse

    def counting(files, *args, **kwargs):
        counts.append(len(files))
        return real(files, *args, **kwargs)

    monkeypatch.setattr(pipeline, "analyse", counting)
    return counts


def sort(kit: Path, out: Path, *extra: str) -> int:
    return main(["sort", str(kit), "--out", str(out), "--bank", "kit", "--no-dendrogram", *extra])


def test_an_unchanged_sort_writes_nothing(kit: Path, tmp_path: Path, analysed: list[int]) -> None:
    out = tmp_path / "out"
    assert sort(kit, out) == 0
    bank, manifest = tree_hashes(out / "kit"), manifest_path(out).stat().st_mtime_ns
    entry = load(out).banks["kit"]
    assert sort(kit, out, "--jobs", "1") == 0  # the number of processes changes nothing
    assert analysed == [18]
    assert tree_hashes(out / "kit") == bank
    assert manifest_path(out).stat().st_mtime_ns == manifest
    assert load(out).banks["kit"] == entry


def _add_source(kit: Path, out: Path) -> None:
    write(kit / "extra" / "new.wav", tone(300, 0.2))


def _touch_source(kit: Path, out: Path) -> None:
    os.utime(next(kit.rglob("*.wav")), ns=(1, 1))


def _change_bank_file(kit: Path, out: Path) -> None:
    first = sorted((out / "kit").glob("*.wav"))[0]
    write(first, tone(2000, 0.1))


def _remove_bank_file(kit: Path, out: Path) -> None:
    sorted((out / "kit").glob("*.wav"))[0].unlink()


def _add_file_to_bank(kit: Path, out: Path) -> None:
    write(out / "kit" / "99_stray.wav", tone(2000, 0.1))


def _remove_index(kit: Path, out: Path) -> None:
    index_path(out, "kit").unlink()


@pytest.mark.parametrize("change", [_add_source, _touch_source, _change_bank_file, _remove_bank_file, _add_file_to_bank, _remove_index])
def test_any_change_sorts_again_and_then_is_up_to_date(
    kit: Path, tmp_path: Path, analysed: list[int], change: Callable[[Path, Path], None]
) -> None:
    out = tmp_path / "out"
    assert sort(kit, out) == 0
    bank = tree_hashes(out / "kit")
    change(kit, out)
    assert sort(kit, out) == 0
    assert len(analysed) == 2  # sorted again
    if change is not _add_source:
        assert tree_hashes(out / "kit") == bank  # as it was before the change
    entry = load(out).banks["kit"]
    assert sorted(p.name for p in (out / "kit").iterdir() if not p.name.startswith(".")) == sorted(s.file for s in entry.samples)
    assert index_path(out, "kit").is_file()
    assert sort(kit, out) == 0  # a bank re-sorted from its own copies is up to date again
    assert len(analysed) == 2


@pytest.mark.parametrize("option", [["--layout", "split"], ["--clusters", "2"], ["--group", "sound"], ["--features", "mel"]])
def test_other_options_sort_again(kit: Path, tmp_path: Path, analysed: list[int], option: list[str]) -> None:
    out = tmp_path / "out"
    assert sort(kit, out) == 0
    assert sort(kit, out, *option) == 0
    assert len(analysed) == 2


def test_without_the_cache_it_always_sorts(kit: Path, tmp_path: Path, analysed: list[int]) -> None:
    out = tmp_path / "out"
    assert sort(kit, out) == 0
    assert sort(kit, out, "--no-cache") == 0
    assert len(analysed) == 2


def test_strict_still_refuses_an_up_to_date_bank_with_skipped_files(
    kit: Path, tmp_path: Path, analysed: list[int], capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    (kit / "broken.wav").write_bytes(b"not audio")
    assert sort(kit, out) == 0
    capsys.readouterr()
    assert sort(kit, out, "--strict") == 1
    assert len(analysed) == 1
    assert "1 file(s) skipped, nothing written (--strict); first: " in capsys.readouterr().err
