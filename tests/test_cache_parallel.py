"""Parallel analysis and the feature cache: same results, no needless decoding, robust."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import noise, tone, tree_hashes, write

from tidalsort.analysis import analyse as analysis_module
from tidalsort.analysis.analyse import analyse
from tidalsort.analysis.cache import CacheWarning, FeatureCache
from tidalsort.analysis.features import FeatureSettings
from tidalsort.analysis.scan import scan
from tidalsort.cli import main
from tidalsort.output.manifest import load


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """300 short files (enough for the process pool) and a few bad ones."""
    root = tmp_path / "lib"
    rng = np.random.default_rng(5)
    for i in range(300):
        sound = tone(rng.uniform(40, 4000), rng.uniform(0.02, 0.5)) if i % 3 else noise(rng.uniform(0.02, 0.5), seed=i)
        write(root / f"d{i % 7}" / f"s{i:03d}.wav", sound, rate=[22050, 44100, 48000][i % 3])
    (root / "bad.wav").write_bytes(b"nope")
    return root


def test_parallel_analysis_equals_one_process(library: Path) -> None:
    files, _ = scan([library])
    one = analyse(files, FeatureSettings(), jobs=1)
    many = analyse(files, FeatureSettings(), jobs=2)
    assert one.sources == many.sources and len(one.sources) == 300
    np.testing.assert_array_equal(one.features, many.features)
    np.testing.assert_array_equal(one.centroids, many.centroids)
    assert one.infos == many.infos and one.skipped == many.skipped


def test_parallel_progress_counts_every_file(library: Path) -> None:
    files, _ = scan([library])
    counts: list[int] = []
    analyse(files, FeatureSettings(), progress=counts.append, jobs=2)
    assert sum(counts) == len(files) == 301


def test_warm_run_decodes_nothing_and_a_changed_file_is_reanalysed(library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert main(["sort", str(library), "--out", str(out), "--bank", "lib"]) == 0
    first = tree_hashes(out / "lib")
    decoded: list[Path] = []
    real = analysis_module.read_head

    def counting(path, seconds):
        decoded.append(path)
        return real(path, seconds)

    monkeypatch.setattr(analysis_module, "read_head", counting)
    assert main(["sort", str(library), "--out", str(out), "--bank", "lib", "--jobs", "1"]) == 0
    assert decoded == []
    assert tree_hashes(out / "lib") == first
    changed = library / "d3" / "s003.wav"
    write(changed, tone(5000, 0.3))
    os.utime(changed, ns=(1, 1))  # a different modification time, whatever the clock
    assert main(["sort", str(library), "--out", str(out), "--bank", "lib", "--jobs", "1"]) == 0
    assert decoded == [changed]


def test_resort_reuses_the_banks_own_copies(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["sort", str(library), "--out", str(out), "--bank", "lib"]) == 0
    inodes = {p.read_bytes(): p.stat().st_ino for p in (out / "lib").glob("*.wav")}
    write(library / "d0" / "new.wav", tone(100, 0.2))
    assert main(["sort", str(library), "--out", str(out), "--bank", "lib"]) == 0
    files = list((out / "lib").glob("*.wav"))
    assert len(files) == 301
    reused = [p for p in files if inodes.get(p.read_bytes()) == p.stat().st_ino]
    assert len(reused) == 300  # every unchanged sample kept its file; only the new one was copied
    for p in files:  # still copies: never the sources' own inodes
        assert p.stat().st_nlink == 1


def test_corrupt_cache_is_rebuilt_with_a_warning(library: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    (out / ".tidalsort").mkdir(parents=True)
    (out / ".tidalsort" / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    assert main(["sort", str(library), "--out", str(out), "--bank", "lib"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "cache.sqlite" in err and "rebuilding" in err
    with sqlite3.connect(out / ".tidalsort" / "cache.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM analysis").fetchone()[0] == 301


def test_foreign_database_is_rebuilt_too(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema', '999')")
    with pytest.warns(CacheWarning, match="rebuilding"):
        cache = FeatureCache(tmp_path)
    assert cache.db is not None
    cache.close()


def test_two_concurrent_runs_share_the_cache(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "tidalsort", "sort", str(library / f"d{i}"), "--out", str(out), "--jobs", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], errors
    with sqlite3.connect(out / ".tidalsort" / "cache.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        analysed = db.execute("SELECT COUNT(*) FROM analysis").fetchone()[0]
    assert analysed == sum(len(list((library / f"d{i}").glob("*.wav"))) for i in range(4))
    assert set(load(out).banks) == {"d0", "d1", "d2", "d3"}


def test_a_foreign_sqlite_file_is_rebuilt_once_and_used_after(library: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    (out / ".tidalsort").mkdir(parents=True)
    with sqlite3.connect(out / ".tidalsort" / "cache.sqlite") as db:  # someone else's database, no tidalsort schema
        db.execute("CREATE TABLE analysis (name TEXT, score REAL)")
        db.execute("INSERT INTO analysis VALUES ('x', 1.0)")
    assert main(["sort", str(library / "d0"), "--out", str(out), "--bank", "lib"]) == 0
    err = capsys.readouterr().err
    assert "cache.sqlite: not a usable tidalsort cache (a database, but not a tidalsort cache); rebuilding it" in " ".join(err.split())
    assert main(["sort", str(library / "d0"), "--out", str(out), "--bank", "lib"]) == 0
    assert "warning" not in capsys.readouterr().err
    with sqlite3.connect(out / ".tidalsort" / "cache.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM analysis").fetchone()[0] == len(list((library / "d0").glob("*.wav")))


def test_a_cache_another_run_keeps_busy_is_not_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FeatureCache(tmp_path).close()
    monkeypatch.setattr(FeatureCache, "busy_timeout", 0.2)
    with sqlite3.connect(tmp_path / "cache.sqlite", isolation_level=None) as other:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.warns(CacheWarning, match="going on without the cache"):
            cache = FeatureCache(tmp_path)
        other.execute("COMMIT")
    assert cache.db is None
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("SELECT value FROM meta").fetchone() == ("1",)  # still the same cache
