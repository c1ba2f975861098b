"""The fast paths of analysis (issue 22): libsoxr resampling, and the modules analysis loads."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import tone, write

from tidalsort.analysis.analyse import analyse_file
from tidalsort.analysis.audio import ANALYSIS_RATE, read_head
from tidalsort.analysis.features import FeatureSettings
from tidalsort.output import bank
from tidalsort.output.bank import PlannedFile

REPO = Path(__file__).resolve().parents[1]


def loaded_after(*lines: str) -> set[str]:
    """The modules loaded once ``lines`` have run in a fresh Python."""
    probe = "\n".join([*lines, "import json, sys", "print(json.dumps(sorted(sys.modules)))"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("rate", [22050, 48000, 96000])
def test_resampling_keeps_length_and_timing(tmp_path: Path, rate: int) -> None:
    click = np.zeros(rate)
    click[round(0.25 * rate)] = 0.9  # one sample at 250 ms
    path = write(tmp_path / "click.wav", click, rate=rate, subtype="FLOAT")
    signal, info = read_head(path, 0.5)
    assert info.samplerate == rate and len(signal) == round(0.5 * ANALYSIS_RATE)
    at = round(0.25 * ANALYSIS_RATE)
    assert abs(int(np.argmax(np.abs(signal))) - at) <= 1  # not delayed by the filter
    ringing = np.abs(np.delete(signal, np.s_[at - 50 : at + 50])).max()
    assert ringing < 0.01 * np.abs(signal).max()  # and the filter rings out within 1 ms


@pytest.mark.parametrize("rate", [22050, 48000, 96000])
def test_a_sound_has_the_same_features_at_any_rate(tmp_path: Path, rate: int) -> None:
    """A sound recorded at another rate gets (nearly) the features of the same sound at 44.1 kHz."""
    settings = FeatureSettings()
    for freq in (120, 700, 5000):  # below 11 kHz: the same sound at 22.05 kHz too
        native = write(tmp_path / f"{freq}-44100.wav", tone(freq, 1.5, decay=0.3), subtype="FLOAT")
        other = write(tmp_path / f"{freq}-{rate}.wav", tone(freq, 1.5, rate=rate, decay=0.3), rate=rate, subtype="FLOAT")
        a, a_inputs, a_centroid, _ = analyse_file(native, settings)
        b, b_inputs, b_centroid, _ = analyse_file(other, settings)
        mel = slice(-65, None)  # the log-mel cepstra: what a resampler could spoil
        assert np.abs(a[mel] - b[mel]).max() < 0.05 * np.abs(a[mel]).max()
        assert abs(a_centroid - b_centroid) < 0.01 * a_centroid
        assert np.abs(a_inputs - b_inputs).max() < 0.05 * np.abs(a_inputs).max()


def test_reading_audio_at_any_rate_loads_no_scipy_signal(tmp_path: Path) -> None:
    path = write(tmp_path / "x.wav", tone(440, 0.5, rate=48000), rate=48000)
    loaded = loaded_after(
        "from pathlib import Path", "from tidalsort.analysis.audio import read_head", f"read_head(Path({str(path)!r}), 2.0)"
    )
    assert "soxr" in loaded
    assert "scipy.signal" not in loaded


def test_analysis_loads_pyaudioanalysis_without_what_it_does_not_use(tmp_path: Path) -> None:
    """ShortTermFeatures imports scipy.signal and matplotlib.pyplot but uses neither: analysing a
    file loads neither (0.8 s of imports before any work); importing them later gives the real ones."""
    path = write(tmp_path / "x.wav", tone(440, 0.5))
    loaded = loaded_after(
        "from pathlib import Path",
        "from tidalsort.analysis.analyse import analyse_file",
        "from tidalsort.analysis.features import FeatureSettings",
        f"analyse_file(Path({str(path)!r}), FeatureSettings())",
    )
    assert "pyAudioAnalysis.ShortTermFeatures" in loaded
    assert not {"scipy.signal", "matplotlib", "matplotlib.pyplot"} & loaded
    real = loaded_after(
        "import tidalsort.analysis.features",
        "import scipy.signal, matplotlib.pyplot",
        "from pyAudioAnalysis import ShortTermFeatures",
        "assert callable(scipy.signal.lfilter.__call__) and hasattr(matplotlib.pyplot, 'figure') and hasattr(scipy.signal, 'firwin')",
        "import numpy as np",
        "assert np.allclose(ShortTermFeatures.lfilter([1.0], [1.0, -0.5], [1.0, 0.0, 0.0]), [1.0, 0.5, 0.25])",
    )
    assert {"scipy.signal", "matplotlib.pyplot"} <= real


def test_a_sort_imports_no_matplotlib_before_its_first_file() -> None:
    """matplotlib (0.25 s) is imported where a picture is drawn: the dendrogram, in a thread while copying."""
    loaded = loaded_after("import tidalsort.pipeline")
    assert not {m for m in loaded if m.split(".")[0] == "matplotlib"} and "scipy.signal" not in loaded


def page_faults_reading(path: Path, *setup: str) -> int:
    """Minor page faults of analysing ``path`` 40 times in a fresh Python, after ``setup``."""
    probe = [
        "import resource",
        "from pathlib import Path",
        "from tidalsort.analysis.analyse import _analyse_entry, _keep_freed_memory",
        "from tidalsort.analysis.features import FeatureSettings",
        *setup,
        f"path = Path({str(path)!r})",
        "_analyse_entry(path, FeatureSettings())",
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt",
        "for _ in range(40): _analyse_entry(path, FeatureSettings())",
        "faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(
        [sys.executable, "-c", "\n".join([*probe, "print(faults)"])], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_analysis_reuses_freed_memory_instead_of_faulting_it_in_again(tmp_path: Path) -> None:
    """Every 2 s head's arrays (0.7 MB each) used to be mapped afresh and faulted in page by page."""
    path = write(tmp_path / "x.wav", tone(440, 3.0, rate=48000), rate=48000)
    default = page_faults_reading(path)
    kept = page_faults_reading(path, "_keep_freed_memory()")
    assert default > 40 * 100  # hundreds of pages a file
    assert kept < default / 10


def planned_kit(folder: Path, count: int = 6) -> dict[str, list[PlannedFile]]:
    sources = [write(folder / f"hit{i}.wav", tone(200 + 100 * i, 0.3)) for i in range(count)]
    return {"b": [PlannedFile(source, f"{i:03d}_hit{i}.wav", False) for i, source in enumerate(sources)]}


def test_copies_are_clones_where_the_file_system_makes_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reflink (Btrfs, XFS) copies no byte: simulated here, as /tmp is ext4, by an ioctl that copies."""
    import fcntl

    cloned = []

    def fake_ioctl(fd: int, request: int, arg: int) -> int:
        assert request == bank.FICLONE
        os.lseek(arg, 0, os.SEEK_SET)
        os.sendfile(fd, arg, 0, os.fstat(arg).st_size)
        cloned.append(fd)
        return 0

    def no_copy(*args: object, **kwargs: object) -> None:
        raise AssertionError("copied, not cloned")

    hashing = bank._copy_hashing
    monkeypatch.setattr(fcntl, "ioctl", fake_ioctl)
    monkeypatch.setattr(bank, "_copy_hashing", lambda source, dest: no_copy() if dest else hashing(source, None))
    monkeypatch.setattr(bank.shutil, "copyfile", no_copy)
    monkeypatch.setattr(bank, "_NO_CLONE", set())
    folders = planned_kit(tmp_path / "src")
    built = bank.build_folders(tmp_path / "root", "b", folders)
    assert len(cloned) == 6 and len(built.written) == 6
    for item in folders["b"]:
        placed = built.folders["b"] / item.name
        assert placed.read_bytes() == item.source.read_bytes() and not placed.samefile(item.source)
        assert built.hashes[item.source] == bank.file_sha1(item.source)


def test_where_clones_cannot_be_made_files_are_copied_trying_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    tried = []

    def refusing_ioctl(fd: int, request: int, arg: int) -> int:
        tried.append(request)
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "ioctl", refusing_ioctl)
    monkeypatch.setattr(bank, "_NO_CLONE", set())
    folders = planned_kit(tmp_path / "src")
    built = bank.build_folders(tmp_path / "root", "b", folders)
    assert 1 <= len(tried) <= bank.PLACING_THREADS  # once for the pair of file systems (each thread at most once)
    for item in folders["b"]:
        assert (built.folders["b"] / item.name).read_bytes() == item.source.read_bytes()
        assert built.hashes[item.source] == bank.file_sha1(item.source)
    leftovers = [p.name for p in built.folders["b"].iterdir() if not p.name.startswith(".")]
    assert sorted(leftovers) == sorted(item.name for item in folders["b"])
