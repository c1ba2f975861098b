"""Scanning: files and folders, recursion, hidden files, each file once, stable order."""

import os
from pathlib import Path

from conftest import tone, write

from tidalsort.scan import BANK_MARKER, scan


def test_mix_of_files_and_folders_recursive_hidden_skipped(tmp_path: Path) -> None:
    a = write(tmp_path / "lib" / "a.wav", tone(100, 0.1))
    b = write(tmp_path / "lib" / "deep" / "er" / "b.aiff", tone(100, 0.1), fmt="AIFF")
    write(tmp_path / "lib" / ".hidden.wav", tone(100, 0.1))
    write(tmp_path / "lib" / ".git" / "c.wav", tone(100, 0.1))
    single = write(tmp_path / "elsewhere" / "d.flac", tone(100, 0.1))
    files, missing = scan([tmp_path / "lib", single, tmp_path / "nope"])
    assert files == sorted([a, b, single], key=str)
    assert missing == [(tmp_path / "nope", "no such file or folder")]


def test_file_reached_twice_counts_once(tmp_path: Path) -> None:
    a = write(tmp_path / "lib" / "sub" / "a.wav", tone(100, 0.1))
    os.symlink(tmp_path / "lib" / "sub", tmp_path / "lib" / "link-to-sub")
    os.symlink(a, tmp_path / "lib" / "alias.wav")
    os.link(a, tmp_path / "hard.wav")
    files, _ = scan([tmp_path / "lib", tmp_path / "lib" / "sub", a, tmp_path / "hard.wav"])
    assert len(files) == 1


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    write(tmp_path / "lib" / "a.wav", tone(100, 0.1))
    os.symlink(tmp_path / "lib", tmp_path / "lib" / "loop")
    files, _ = scan([tmp_path / "lib"])
    assert len(files) == 1


def test_order_of_sources_does_not_matter(kit: Path) -> None:
    sources = sorted(kit.iterdir())
    assert scan(sources)[0] == scan(list(reversed(sources)))[0] == scan([kit])[0]


def test_banks_written_by_tidalsort_are_not_rescanned(tmp_path: Path) -> None:
    write(tmp_path / "lib" / "a.wav", tone(100, 0.1))
    write(tmp_path / "lib" / "sorted" / "000_a.wav", tone(100, 0.1))
    (tmp_path / "lib" / "sorted" / BANK_MARKER).write_text("bank: sorted\n")
    files, _ = scan([tmp_path / "lib"])
    assert [f.name for f in files] == ["a.wav"]
