"""Files made for the bank while the sources are analysed (tidalsort.output.ahead, issue 22)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import noise, tone, write

from tidalsort.analysis import wav
from tidalsort.output import ahead, bank
from tidalsort.output.ahead import CopyAhead
from tidalsort.output.bank import STATE_DIR, clean_state
from tidalsort.output.manifest import load
from tidalsort.pipeline import Progress, SortOptions, sort_library

REPO = Path(__file__).resolve().parents[1]


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def library(folder: Path, count: int) -> list[Path]:
    """``count`` different one-shots, every fifth a FLAC (which the bank converts to WAV)."""
    made = []
    for i in range(count):
        sound = tone(80 * 1.09**i, 0.2) if i % 2 else noise(0.2, seed=i)
        made.append(write(folder / f"hit{i:02d}.{'flac' if i % 5 == 0 else 'wav'}", sound))
    return made


def ahead_folders(root: Path) -> list[Path]:
    return sorted((root / STATE_DIR).glob("tmp-ahead-*"))


def test_copies_conversions_and_hashes_made_ahead_are_what_the_bank_needs(tmp_path: Path) -> None:
    kick = write(tmp_path / "kick.wav", tone(60, 0.3))
    snare = write(tmp_path / "snare.flac", noise(0.3), subtype="PCM_16")
    hat = write(tmp_path / "hat.wav", noise(0.1, seed=3))
    gone = tmp_path / "gone.wav"
    with CopyAhead(tmp_path / "root") as made:
        made.add(kick, make="copy")
        made.add(snare, make="convert")
        made.add(hat, make="hash")
        made.add(gone, make="copy")
        found = made.done()
        assert set(found) == {kick, snare, hat}  # the missing file is left to the writing, which names it
        assert all(found[p].sha1 == sha1(p) and found[p].identity == (p.stat().st_size, p.stat().st_mtime_ns) for p in found)
        copy, converted = found[kick].copy, found[snare].copy
        assert copy is not None and copy.read_bytes() == kick.read_bytes() and not copy.samefile(kick)
        assert converted is not None and sf.info(str(converted)).format == "WAV"
        np.testing.assert_array_equal(sf.read(str(converted))[0], sf.read(str(snare))[0])
        assert found[hat].copy is None
        (folder,) = ahead_folders(tmp_path / "root")
        assert sorted(p.name for p in folder.iterdir()) == sorted([copy.name, converted.name])
    assert ahead_folders(tmp_path / "root") == [] and multiprocessing.active_children() == []


def test_a_source_changed_while_it_is_copied_is_left_to_the_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kick = write(tmp_path / "kick.wav", tone(60, 0.3))
    copying = ahead.copy_hashing

    def copy_then_change(source: Path, dest: Path) -> str:
        digest = copying(source, dest)
        write(source, tone(90, 0.4))  # the copying processes are forked: they run this
        return digest

    monkeypatch.setattr(ahead, "copy_hashing", copy_then_change)
    with CopyAhead(tmp_path / "root") as made:
        made.add(kick, make="copy")
        assert made.done() == {}
        (folder,) = ahead_folders(tmp_path / "root")
        assert list(folder.iterdir()) == []  # the stale copy is gone at once


def test_a_cold_sort_moves_the_files_made_ahead_into_the_bank(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = library(tmp_path / "library", 40)  # more than a batch: the first goes while the rest are analysed
    root = tmp_path / "out"
    copying, converting = bank._copy_hashing, wav.write_wav

    def only_ahead(make):  # the build runs in this process, the files ahead are made in forked ones
        def checked(source: Path, dest: Path | None, *args: object, **kwargs: object) -> object:
            if dest is not None and not Path(dest).parent.name.startswith("tmp-ahead-"):
                raise AssertionError(f"{dest} was made by the writing, not ahead")
            return make(source, dest, *args, **kwargs)

        return checked

    monkeypatch.setattr(bank, "_copy_hashing", only_ahead(copying))
    monkeypatch.setattr(wav, "write_wav", only_ahead(converting))
    monkeypatch.setattr(bank.shutil, "copyfile", only_ahead(bank.shutil.copyfile))
    entry = sort_library([tmp_path / "library"], root, SortOptions(bank="b", names=False))
    assert len(entry.samples) == len(sources)
    for sample in entry.samples:
        placed = root / sample.folder / sample.file
        source = Path(sample.source)
        assert sample.sha1 == sha1(source)
        if source.suffix == ".flac":
            assert sf.info(str(placed)).format == "WAV"
            np.testing.assert_array_equal(sf.read(str(placed))[0], sf.read(str(source))[0])
        else:
            assert placed.read_bytes() == source.read_bytes()
    assert ahead_folders(root) == [] and multiprocessing.active_children() == []  # the copying and drawing processes ended
    assert (root / "b-dendrogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_source_changed_after_its_copy_was_made_ahead_is_copied_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = library(tmp_path / "library", 36)
    changed = sources[1]

    def written_then_changed(path: Path) -> None:  # in the copying process, once the copy is whole and checked
        if path.read_bytes() == changed.read_bytes() and len(changed.read_bytes()) < 40_000:
            write(changed, tone(1000, 0.5))

    def analysed(stage: str, count: int = 1) -> None:
        done[0] += count
        deadline = time.monotonic() + 30
        while stage == "analyse" and done[0] == len(sources) and len(changed.read_bytes()) < 40_000 and time.monotonic() < deadline:
            time.sleep(0.05)  # the first batch was sent at the 32nd file: its copy is made and then the source changed

    done = [0]
    monkeypatch.setattr(ahead, "start_writeback", written_then_changed)
    options = SortOptions(bank="b", names=False, dendrogram=False)
    entry = sort_library([tmp_path / "library"], tmp_path / "out", options, Progress(advance=analysed))
    assert len(changed.read_bytes()) > 40_000  # it did change after its copy was made, before the sort went on
    (sample,) = [s for s in entry.samples if Path(s.source) == changed]
    assert (tmp_path / "out" / sample.folder / sample.file).read_bytes() == changed.read_bytes()
    assert sample.sha1 == sha1(changed) == load(tmp_path / "out").banks["b"].samples[entry.samples.index(sample)].sha1


def test_ctrl_c_while_analysing_leaves_no_copies_and_no_processes(tmp_path: Path) -> None:
    library(tmp_path / "library", 70)
    seen = [0]

    def advance(stage: str, count: int = 1) -> None:
        seen[0] += count
        if stage == "analyse" and seen[0] >= 48:  # a batch of copies is on its way
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sort_library([tmp_path / "library"], tmp_path / "out", SortOptions(bank="b", cache=False), Progress(advance=advance))
    assert ahead_folders(tmp_path / "out") == [] and multiprocessing.active_children() == []


def test_tidying_the_state_folder_leaves_a_folder_a_running_sort_holds(tmp_path: Path) -> None:
    root = tmp_path / "root"
    held = root / STATE_DIR / "tmp-ahead-live"
    left = root / STATE_DIR / "tmp-ahead-dead"
    for folder in (held, left):
        folder.mkdir(parents=True)
        (folder / "1").write_bytes(b"copy")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, time; from tidalsort.output.atomic import hold; hold({str(held)!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        clean_state(root)
        assert held.is_dir() and (held / "1").read_bytes() == b"copy" and not left.exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    for _ in range(50):  # the lock goes with the process
        clean_state(root)
        if not held.exists():
            break
        time.sleep(0.1)
    assert not held.exists()
