"""Cut-off FLAC, OGG and MP3 files, the one WAV writer, and a disk that fills up.

A bank's WAV copy of a cut file holds every frame that decodes, its manifest entry says
so (a warning, the duration written), libmpg123 prints nothing of its own, and a disk that
fills up while the bank is written ends the run in one line, the previous bank intact.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from conftest import PROJECT, noise, require, tone, write

from tidalsort.analysis.audio import NOTHING_DECODES, UnreadableAudio, read_head
from tidalsort.analysis.wav import WAV_SUBTYPES, write_wav
from tidalsort.cli import main

FORMATS = {"flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"), "mp3": ("MP3", "MPEG_LAYER_III")}
CUTS = (10, 30, 60, 90, 99)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT)}


def sound() -> np.ndarray:
    """3 s of stereo, loud to the end (a cut anywhere loses sound)."""
    t = np.arange(3 * 44100) / 44100
    return np.column_stack([0.5 * np.sin(2 * np.pi * 220 * t), noise(3.0, decay=10.0, seed=4)])


def can_write(ext: str) -> None:
    """Skip (outside CI) a format this libsndfile cannot write: MP3 needs libsndfile 1.1."""
    fmt, subtype = FORMATS[ext]
    require(
        fmt in sf.available_formats() and subtype in sf.available_subtypes(fmt),
        f"libsndfile {sf.__libsndfile_version__} cannot write {fmt}",
    )


def cut(folder: Path, ext: str, percent: int) -> Path:
    """A 3 s file of format ``ext`` cut to ``percent`` of its size."""
    full = folder / f"full.{ext}"
    if not full.exists():
        write(full, sound(), fmt=FORMATS[ext][0], subtype=FORMATS[ext][1])
    data = full.read_bytes()
    path = folder / f"cut-{percent}.{ext}"
    path.write_bytes(data[: len(data) * percent // 100])
    return path


def decodable(path: Path) -> int:
    """Frames of ``path`` that decode, counted with soundfile: blocks of 256 frames, then
    single frames from the block that failed, then one more if a fresh reader fills that
    frame in though the read fails: soundfile fails *after* reading the last frame a cut
    FLAC decodes, in the seek one frame on that it makes."""
    with sf.SoundFile(path) as f:
        good = 0
        try:
            while len(block := f.read(256)):
                good += len(block)
        except sf.LibsndfileError:
            pass
        else:
            return good
    with sf.SoundFile(path) as f:
        f.seek(good)
        try:
            while len(f.read(1)):
                good += 1
        except sf.LibsndfileError:
            pass
    with sf.SoundFile(path) as f:
        f.seek(good)
        frame = np.full((1, f.channels), np.nan, dtype=np.float32)
        try:
            f.read(out=frame)
        except sf.LibsndfileError:
            pass
        return good + int(np.isfinite(frame).all())


@pytest.mark.parametrize("percent", CUTS)
@pytest.mark.parametrize("ext", FORMATS)
def test_a_cut_file_is_written_with_every_frame_that_decodes(tmp_path: Path, ext: str, percent: int) -> None:
    can_write(ext)
    source = cut(tmp_path, ext, percent)
    try:
        expected = decodable(source)
    except sf.LibsndfileError:  # does not even open (an OGG cut before its headers end)
        expected = 0
    target = tmp_path / "copy.wav"
    if expected == 0:
        with pytest.raises(UnreadableAudio):
            write_wav(source, target)
        assert not target.exists() or target.stat().st_size == 0
        return
    assert write_wav(source, target) == expected
    written, rate = sf.read(target, dtype="float32", always_2d=True)
    assert (len(written), rate) == (expected, 44100)
    with sf.SoundFile(source) as f:  # the samples soundfile decodes
        head = f.read(expected - 1, dtype="float32", always_2d=True)
    assert np.array_equal(written[: len(head)], head)


def test_a_cut_file_warns_and_its_duration_is_what_decodes(tmp_path: Path) -> None:
    """Analysis: a cut FLAC or MP3 (whose header still says 3 s) is sorted with a warning
    giving the seconds that decode, its duration the frames the bank holds."""
    for ext in ("flac", "mp3"):
        can_write(ext)
        source = cut(tmp_path, ext, 60)
        _, info = read_head(source, 1.0)
        assert info.frames == decodable(source) < 3 * 44100
        assert info.warning.startswith(f"truncated: {info.frames / 44100:.3f} s of the 3.000 s"), info.warning
        _, whole = read_head(tmp_path / f"full.{ext}", 1.0)
        assert (whole.frames, whole.warning) == (3 * 44100, None)


def test_a_sort_of_cut_files_warns_once_for_each_says_nothing_of_libmpg123_and_writes_what_decodes(tmp_path: Path) -> None:
    can_write("mp3")
    library = tmp_path / "library"
    library.mkdir()
    sources = [cut(library, ext, percent) for ext in FORMATS for percent in (5, 60, 99)] + [cut(library, "ogg", 10)]
    for ext in FORMATS:
        (library / f"full.{ext}").unlink()
    write(library / "kick.wav", tone(60, 0.5))
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "tidalsort", "sort", str(library), "--out", str(out), "--bank", "cut"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Xing" not in result.stderr + result.stdout and "libmpg123" not in result.stderr + result.stdout, result.stderr
    entry = yaml.safe_load((out / "tidalsort.yaml").read_text())["banks"]["cut"]
    warned = {Path(w["source"]).name for w in entry["warnings"]}
    skipped = {Path(s["source"]).name: s["reason"] for s in entry["skipped"]}
    # nothing of them decodes: skipped, with a reason (Ogg Vorbis has no length in its header: no warning)
    assert skipped == {
        "cut-5.ogg": "corrupt audio (Supported file format but file is malformed.)",
        "cut-10.ogg": "no audio frames (empty or cut-off file)",
    }
    assert warned == {f"cut-{percent}.{ext}" for ext in ("flac", "mp3") for percent in (5, 60, 99)}
    text = " ".join(result.stdout.split())
    for name in warned:
        assert text.count(f"{library / name}: truncated") == 1, name
    for sample in entry["samples"]:
        info = sf.info(out / sample["folder"] / sample["file"])
        assert info.frames > 1 and abs(info.duration - sample["duration"]) < 1e-4, sample
        source = Path(sample["source"])
        if source in sources:
            assert info.frames == decodable(source), source.name


def test_libmpg123_lines_are_held_back_and_all_else_on_stderr_is_not(tmp_path: Path) -> None:
    """While one thread decodes, another thread's output and a forked child's reach stderr;
    libmpg123's lines do not."""
    probe = textwrap.dedent(
        """
        import os, sys, threading
        from tidalsort.analysis.audio import quiet_decoder
        inside = threading.Event()
        def other():
            inside.wait()
            os.write(2, b"another thread\\n")
        thread = threading.Thread(target=other)
        thread.start()
        with quiet_decoder():
            os.write(2, b"Warning: Xing stream size off by more than 1%, fuzzy seeking may be even more fuzzy than by design!\\n")
            os.write(2, b"[src/libmpg123/parse.c:do_readahead():1099] warning: Cannot read next header, a one-frame stream? Duh...\\n")
            inside.set()
            thread.join()
            child = os.fork()
            if child == 0:
                os.write(2, b"a child\\n")
                os._exit(0)
            os.waitpid(child, 0)
        os.write(2, b"after\\n")
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stderr.decode().splitlines()) == ["a child", "after", "another thread"]


@pytest.mark.parametrize("subtype", ["PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW", "IMA_ADPCM"])
def test_one_writer_one_table_the_same_samples(tmp_path: Path, subtype: str) -> None:
    """Every encoding becomes one a browser and SuperDirt read, with the same samples (mu-law
    and A-law exactly as 16-bit PCM, 64-bit float as 32-bit float); a preview is cut to its
    length; more than two channels are mixed to mono."""
    fmt = "AIFF" if subtype == "PCM_S8" else "WAV"
    signal = np.column_stack([tone(300, 0.5, 48000), noise(0.5, 48000, seed=2)])
    source = write(tmp_path / f"source.{fmt.lower()}", signal, 48000, subtype, fmt)
    target = tmp_path / "copy.wav"
    assert write_wav(source, target) == sf.info(source).frames  # ADPCM: whole blocks
    with sf.SoundFile(target) as f:
        assert (f.format, f.subtype, f.channels, f.samplerate) == ("WAV", WAV_SUBTYPES.get(subtype, "FLOAT"), 2, 48000)
    decoded = sf.read(source, dtype="float32")[0]
    assert np.array_equal(sf.read(target, dtype="float32")[0], decoded)
    assert write_wav(source, target, seconds=0.25) == 12000 == sf.info(target).frames
    if subtype == "IMA_ADPCM":
        return  # libsndfile reads no IMA ADPCM WAV of more than two channels
    many = write(tmp_path / f"six.{fmt.lower()}", np.column_stack([signal] * 3), 48000, subtype, fmt)
    assert write_wav(many, target) == sf.info(many).frames
    mono = sf.read(target, dtype="float64")[0]
    expected = sf.read(many, dtype="float64")[0].mean(axis=1)
    assert mono.ndim == 1 and np.abs(mono - expected).max() <= (1e-6 if WAV_SUBTYPES.get(subtype, "FLOAT") == "FLOAT" else 2.0**-7)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (unmounted after); skipped outside CI where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True).returncode == 0
    )
    require(mounted, "cannot mount a tmpfs (not root, or no CAP_SYS_ADMIN)")  # skips outside CI, fails in it
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("ext", ["flac", "wav"])  # converted, copied
def test_a_disk_that_fills_up_ends_in_one_line_and_the_bank_stays(tmp_path: Path, small_disk: Path, ext: str) -> None:
    library = tmp_path / "library"
    for i in range(3):
        write(library / f"hit{i}.{ext}", tone(100 + 50 * i, 1.0))
    sort = [sys.executable, "-m", "tidalsort", "sort", str(library), "--out", str(small_disk), "--bank", "full", "--no-dendrogram"]
    assert subprocess.run(sort, capture_output=True, env=env(), timeout=300).returncode == 0
    before, manifest = hashes(small_disk / "full"), (small_disk / "tidalsort.yaml").read_bytes()
    for i in range(3, 9):  # 8 s of noise each, in 24-bit: more than the disk holds
        write(library / f"noise{i}.{ext}", noise(8.0, decay=100.0, seed=i), subtype="PCM_24")
    result = subprocess.run(sort, capture_output=True, text=True, env=env(), timeout=300)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith(f"tidalsort: error: no space left on device writing {small_disk}/"), result.stderr
    assert lines[0].endswith(".wav")
    assert hashes(small_disk / "full") == before and (small_disk / "tidalsort.yaml").read_bytes() == manifest
    assert [p.name for p in (small_disk / ".tidalsort").glob("tmp-*")] == []


def test_a_preview_on_a_full_disk_ends_in_one_line(tmp_path: Path, small_disk: Path) -> None:
    library = tmp_path / "library"
    for i in range(4):
        write(library / f"hit{i}.aiff", tone(100 + 50 * i, 2.0), fmt="AIFF")
    assert main(["sort", str(library), "--out", str(small_disk), "--bank", "aiffs", "--no-dendrogram"]) == 0
    fd = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)  # the disk full, but for 64 kB
    try:
        while os.write(fd, bytes(1 << 16)):
            pass
    except OSError:
        os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR) - (1 << 16))
    finally:
        os.close(fd)
    result = subprocess.run(
        [sys.executable, "-m", "tidalsort", "map", str(small_disk), "--bank", "aiffs"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )
    errors = [line for line in result.stderr.splitlines() if "error" in line]  # after a line of progress
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(errors) == 1 and errors[0].startswith(f"tidalsort: error: no space left on device writing {small_disk}/"), result.stderr


def test_a_file_cut_after_its_analysis_is_never_written_as_silence(tmp_path: Path) -> None:
    """The bank writer meets a file of which nothing decodes (cut between analysis and
    writing): one line naming it, and nothing of the new folder is left."""
    from tidalsort.output.bank import PlannedFile, build_folders

    source = write(tmp_path / "hit.flac", tone(100, 1.0), fmt="FLAC")
    source.write_bytes(source.read_bytes()[:100])  # the header only: it opens, as 1 s
    with pytest.raises(UnreadableAudio) as caught:
        build_folders(tmp_path / "root", "b", {"b": [PlannedFile(source, "000_hit.wav", True)]})
    assert str(caught.value) == f"{source}: {NOTHING_DECODES}; the bank is not changed"
    assert list((tmp_path / "root" / ".tidalsort").iterdir()) == []
