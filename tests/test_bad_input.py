"""Bad input of every kind in one run: nothing stops the sort, every file is accounted for.

The corpus is made here, deterministically, with numpy and soundfile. The sort runs as a
separate process without the capabilities that let root read anything (where the test
runs as root), so unreadable files and folders are unreadable to it, as to a user.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml
from conftest import PROJECT, noise, require, tone, write

from tidalsort.analysis.scan import path_text

NAME = re.compile(r"^[0-9]+_[A-Za-z0-9._-]+\.(wav|aif|aiff|aifc)$")
#: What a source not sorted is skipped for, by its name in the corpus.
SKIPPED = {
    "empty.wav": "empty file (0 bytes)",
    "header-only.wav": "no audio frames",
    "zero-frames.wav": "no audio frames",
    "random.wav": "not an audio file",
    "text.wav": "not an audio file",
    "notes.txt": "not an audio file",
    "silent.wav": "silent",
    "nan.wav": "non-finite samples",
    "inf.wav": "non-finite samples",
    "huge.wav": "sample values far beyond full scale",
    "self.wav": "symbolic link loop",
    "loop-a.wav": "symbolic link loop",
    "loop-b.wav": "symbolic link loop",
    "broken.wav": "broken symbolic link",
    "pipe.wav": "a named pipe (FIFO), not a file",
    "locked.wav": "cannot read the file (permission denied)",
    "locked-folder": "cannot read the folder (permission denied)",
    "cut.ogg": "corrupt audio",
}
#: Sorted, with a warning.
WARNED = {"truncated.wav": "truncated", "truncated.flac": "truncated", "cut.mp3": "truncated", "cut.flac": "truncated"}


def _odd(folder: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))


def make_corpus(root: Path) -> None:
    """About 60 kinds of awkward input under ``root``, the same bytes on every call."""
    rng = np.random.default_rng(11)
    hit = tone(90, 0.4)
    write(root / "kick.wav", hit)
    write(root / "snare.wav", np.stack([noise(0.3, 48000, seed=1), noise(0.3, 48000, seed=2)], axis=1), 48000, "PCM_24")
    write(root / "hat-8bit.wav", noise(0.2, 22050, decay=0.02, seed=3), 22050, "PCM_U8")
    write(root / "tom-32bit.wav", tone(140, 0.5), subtype="PCM_32")
    write(root / "float.wav", tone(300, 0.3), subtype="FLOAT")
    write(root / "double.wav", tone(310, 0.3), subtype="DOUBLE")
    write(root / "ulaw.wav", tone(500, 0.3), subtype="ULAW")
    write(root / "alaw.wav", tone(520, 0.3), subtype="ALAW")
    write(root / "ima-adpcm.wav", tone(700, 0.3), subtype="IMA_ADPCM")
    write(root / "ms-adpcm.wav", tone(720, 0.3), subtype="MS_ADPCM")
    write(root / "gsm.wav", tone(400, 0.5, 8000), 8000, "GSM610")
    write(root / "eight-channels.wav", np.stack([tone(200 + 50 * c, 0.3) for c in range(8)], axis=1))
    write(root / "rate-384k.wav", tone(1000, 0.3, 384000), 384000)
    write(root / "rate-4k.wav", tone(300, 0.5, 4000), 4000)
    write(root / "ten-minutes.wav", tone(100, 600.0, 8000, decay=60.0), 8000)
    write(root / "vorbis.ogg", tone(800, 0.4))
    write(root / "lossless.flac", tone(820, 0.4), subtype="PCM_24")
    write(root / "apple.aiff", tone(840, 0.4), fmt="AIFF")
    write(root / "compressed.aifc", tone(860, 0.4), fmt="AIFF", subtype="FLOAT")
    write(root / "core.caf", tone(880, 0.4), fmt="CAF")
    write(root / "mpeg.mp3", tone(900, 0.5), fmt="MP3")
    write(root / "sony.w64", tone(920, 0.4), fmt="W64")
    write(root / "wav-named.mp3", tone(940, 0.3), fmt="WAV")
    write(root / "no-extension.wav", tone(960, 0.3)).rename(root / "no-extension")
    write(root / "UPPER.WAV", tone(980, 0.3))
    write(root / "late.wav", np.concatenate([np.zeros(2 * 44100), hit]))
    write(root / "one-frame.wav", np.array([0.5]))
    shutil.copyfile(root / "kick.wav", root / "kick-duplicate.wav")
    os.link(root / "kick.wav", root / "kick-hardlink.wav")
    os.symlink("snare.wav", root / "snare-symlink.wav")
    write(root / "Ünïcødé Kick ß.wav", tone(95, 0.4))
    write(root / "🥁 drum 🎶.wav", tone(160, 0.4))
    write(root / "[a]*?{b}.wav", tone(170, 0.4))
    write(root / "-rf --help.wav", tone(180, 0.4))
    write(root / "new\nline.wav", tone(190, 0.4))
    write(_odd(root, b"lat\xe9in-1 \xff.wav"), tone(200, 0.4))
    write(root / ("long " * 40 + ".wav"), tone(210, 0.4))
    write(root / "Ordner ß" / "tief" / "deep.wav", tone(220, 0.4))
    write(root / "truncated.wav", tone(230, 2.0, decay=5.0))
    (root / "truncated.wav").write_bytes((root / "truncated.wav").read_bytes()[:100000])
    write(root / "truncated.flac", tone(240, 2.0, decay=5.0), fmt="FLAC")
    (root / "truncated.flac").write_bytes((root / "truncated.flac").read_bytes()[:20000])
    for name, percent in (("cut.flac", 5), ("cut.mp3", 60), ("cut.ogg", 5)):  # of their size
        data = write(root / name, tone(250, 3.0, decay=10.0), fmt=Path(name).suffix[1:].upper()).read_bytes()
        (root / name).write_bytes(data[: len(data) * percent // 100])
    (root / "copies").mkdir(exist_ok=True)
    for i in range(6):  # identical copies, all sorted: five or more crashed the clustering once
        shutil.copyfile(root / "kick.wav", root / "copies" / f"copy {i}.wav")
    # skipped, each for its own reason
    (root / "empty.wav").write_bytes(b"")
    (root / "header-only.wav").write_bytes((root / "kick.wav").read_bytes()[:44])
    write(root / "zero-frames.wav", np.zeros(0))
    (root / "random.wav").write_bytes(rng.bytes(5000))
    (root / "text.wav").write_text("this is not a sound\n" * 20)
    (root / "notes.txt").write_text("kit notes\n")
    write(root / "silent.wav", np.zeros(44100))
    for name, bad in (("nan.wav", np.nan), ("inf.wav", np.inf)):
        sound = tone(250, 0.5)
        sound[5000] = bad
        write(root / name, sound, subtype="FLOAT")
    write(root / "huge.wav", tone(260, 0.3) * 1e30, subtype="FLOAT")
    os.symlink("self.wav", root / "self.wav")
    os.symlink("loop-b.wav", root / "loop-a.wav")
    os.symlink("loop-a.wav", root / "loop-b.wav")
    os.symlink("..", root / "Ordner ß" / "up")  # a folder loop
    os.symlink(root / "gone.wav", root / "broken.wav")
    os.mkfifo(root / "pipe.wav")
    write(root / "locked.wav", tone(270, 0.3)).chmod(0)
    write(root / "locked-folder" / "inside.wav", tone(280, 0.3))
    (root / "locked-folder").chmod(0)
    # hidden: ignored by design, as README says
    write(root / ".hidden.wav", tone(290, 0.3))
    write(root / ".git" / "objects.wav", tone(295, 0.3))


def tree_state(root: Path) -> dict[bytes, tuple]:
    """Every entry below ``root`` (bytes paths): its mode, size, time and SHA-1 (root reads all)."""
    state = {}
    for folder, dirs, files in os.walk(os.fsencode(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha1(f.read()).hexdigest()
            state[path] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return state


def unprivileged(*argv: str) -> list[str]:
    """``python -m tidalsort argv`` without the capabilities that let root read unreadable files."""
    command = [sys.executable, "-m", "tidalsort", *argv]
    if os.geteuid() != 0:
        return command
    require(shutil.which("setpriv") is not None, "setpriv (util-linux) is missing")
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", "--bounding-set", drop, "--inh-caps", drop, "--", *command]


def unaccounted(root: Path, sorted_sources: set[str], skipped: set[str]) -> list[str]:
    """Entries below ``root`` (hidden ones aside) neither skipped by name nor sorted.

    A file counts as sorted when any of its names (hard links, symbolic links) was.
    Symbolic links to folders are not entries: what they lead to is.
    """
    names_of: dict[tuple[int, int], set[str]] = {}
    missing = []
    for folder, dirs, files in os.walk(os.fsencode(root)):
        dirs[:] = [d for d in dirs if not d.startswith(b".") and path_text(os.path.join(folder, d)) not in skipped]
        for name in files:
            path = os.path.join(folder, name)
            if name.startswith(b".") or path_text(path) in skipped:
                continue
            try:
                st = os.stat(path)
            except OSError:
                missing.append(path_text(path))
                continue
            if stat.S_ISREG(st.st_mode):
                names_of.setdefault((st.st_dev, st.st_ino), set()).add(path_text(os.path.realpath(path)))
            else:
                missing.append(path_text(path))
    return missing + sorted(min(names) for names in names_of.values() if not names & sorted_sources)


def test_every_kind_of_bad_input_in_one_run(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    make_corpus(corpus)
    before = tree_state(corpus)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    try:
        result = subprocess.run(
            unprivileged("sort", str(corpus), "--out", str(out), "--bank", "junk"), capture_output=True, text=True, env=env, timeout=300
        )
        after = tree_state(corpus)
    finally:
        (corpus / "locked-folder").chmod(0o755)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert after == before  # sources byte-identical, not even touched

    entry = yaml.safe_load((out / "tidalsort.yaml").read_text())["banks"]["junk"]
    skipped = {s["source"]: s["reason"] for s in entry["skipped"]}
    assert {Path(source).name: reason[: len(SKIPPED.get(Path(source).name, ""))] for source, reason in skipped.items()} == SKIPPED
    assert {Path(w["source"]).name: w["reason"][: len(WARNED[Path(w["source"]).name])] for w in entry["warnings"]} == WARNED
    assert all(reason and "\n" not in reason for reason in skipped.values())
    for source in skipped:  # the report names every file skipped (the first 20 one a line)
        assert path_text(source) in result.stdout or len(skipped) > 20
    sorted_sources = {s["source"] for s in entry["samples"]}
    assert unaccounted(corpus, sorted_sources, set(skipped)) == []
    assert len(entry["samples"]) == 46  # 40 kinds and 6 identical copies
    copies = [s["sha1"] for s in entry["samples"] if "/copies/" in s["source"]]
    assert len(copies) == 6 and len(set(copies)) == 1
    assert f"{corpus}/lat\\xe9in-1 \\xff.wav" in sorted_sources

    written = [p for p in (out / "junk").iterdir() if not p.name.startswith(".")]
    assert sorted(p.name for p in written) == sorted(s["file"] for s in entry["samples"])
    for path in written:
        assert NAME.match(path.name), path.name
        data, _ = sf.read(str(path), always_2d=True)
        assert len(data) and np.isfinite(data).all() and data.shape[1] <= 2, path.name
    gsm = next(s for s in entry["samples"] if s["source"].endswith("/gsm.wav"))
    assert gsm["format"] == "WAV/GSM610"


def test_unreadable_folders_and_files_are_named_and_the_run_goes_on(kit: Path, tmp_path: Path) -> None:
    (kit / "Low Toms").chmod(0)
    (kit / "bells" / "bell_0.wav").chmod(0)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    try:
        result = subprocess.run(
            unprivileged("sort", str(kit), "--out", str(tmp_path / "out"), "--bank", "kit"),
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    finally:
        (kit / "Low Toms").chmod(0o755)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert f"{kit / 'Low Toms'}: cannot read the folder (permission denied)" in text
    assert f"{kit / 'bells' / 'bell_0.wav'}: cannot read the file (permission denied)" in text
    entry = yaml.safe_load((tmp_path / "out" / "tidalsort.yaml").read_text())["banks"]["kit"]
    assert len(entry["samples"]) == 11 and len(entry["skipped"]) == 2
