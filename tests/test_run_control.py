"""Runs that must not surprise: identical copies, killed and interrupted sorts, bad paths."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from conftest import noise, tone, write

from tidalsort.analysis.analyse import cache_key
from tidalsort.analysis.cache import FeatureCache
from tidalsort.analysis.features import FeatureSettings
from tidalsort.analysis.scan import identity
from tidalsort.choices import METHODS, STRATEGIES
from tidalsort.organise.cluster import cluster_tree
from tidalsort.pipeline import SortOptions, sort_library
from tidalsort.workers import forking


def sort_cli(*argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``tidalsort`` in a process of its own, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "tidalsort", *map(str, argv)], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("group", ["families", "sound"])
def test_five_identical_copies_sort_into_one_cluster(tmp_path: Path, method: str, group: str) -> None:
    for i in range(5):
        write(tmp_path / "src" / f"copy {i}.wav", tone(200, 0.3))
    entry = sort_library([tmp_path / "src"], tmp_path / "out", SortOptions(method=method, group=group))
    assert [c.size for c in entry.clusters] == [5]
    assert entry.settings.clusters_used == 1


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("method", METHODS)
def test_six_copies_among_four_other_sounds(tmp_path: Path, method: str, strategy: str) -> None:
    for i in range(6):
        write(tmp_path / "src" / f"cb {i}.wav", tone(200, 0.3))
    for i in range(4):
        write(tmp_path / "src" / f"hat {i}.wav", noise(0.2, seed=i, decay=0.02 + 0.01 * i))
    entry = sort_library([tmp_path / "src"], tmp_path / "out", SortOptions(method=method, strategy=strategy, clusters=8, group="sound"))
    sizes = [c.size for c in entry.clusters]
    assert sum(sizes) == 10 and len(sizes) == entry.settings.clusters_used <= 5  # the 6 copies can not be parted
    copies = {s.cluster for s in entry.samples if s.file.split("_", 1)[1].startswith("cb")}
    assert len(copies) == 1


@pytest.mark.parametrize("method", METHODS)
def test_auto_count_never_asks_for_more_clusters_than_distinct_sounds(method: str) -> None:
    X = np.concatenate([np.zeros((80, 3)), np.random.default_rng(0).normal(size=(20, 3))])  # 21 distinct rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # k-means warned of fewer distinct clusters than asked
        _, labels, k = cluster_tree(X, None, method)
    assert k == len(set(labels)) <= 21


@pytest.mark.parametrize("link", ["copy", "symlink", "hardlink"])
def test_identical_copies_through_the_command_line(tmp_path: Path, link: str) -> None:
    for i in range(6):
        write(tmp_path / "src" / f"808 {i}" / "CB.WAV", tone(800, 0.2))
    for i in range(4):
        write(tmp_path / "src" / f"hat {i}.wav", noise(0.2, seed=i))
    done = sort_cli("sort", tmp_path / "src", "--out", tmp_path / "out", "--link", link, "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len(json.loads(done.stdout)["samples"]) == 10


#: Enough files for the worker pool and several seconds of analysis with two workers (about 12 ms a file each).
LIBRARY = 2000


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    for i in range(LIBRARY):
        write(folder / f"{i:04d}.wav", tone(60 + 5 * i, 0.3))
    return folder


def children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def start_sort(library: Path, out: Path) -> tuple[subprocess.Popen, set[int]]:
    """A sort of ``library`` with two workers, in a session of its own, and its workers once they analyse."""
    sort = subprocess.Popen(
        [sys.executable, "-m", "tidalsort", "sort", str(library), "--out", str(out), "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(workers := children(sort.pid)) < 2:
        assert sort.poll() is None and time.monotonic() < deadline, "the sort never started its workers"
        time.sleep(0.05)
    # into the analysis, and well before its end: once the first analysed chunk is in the
    # cache (a fixed sleep let an idle machine finish all 2,000 files first)
    while analysed_in_cache(out) == 0:
        assert sort.poll() is None and time.monotonic() < deadline, "nothing reached the cache"
        time.sleep(0.02)
    assert sort.poll() is None, "the analysis ended too soon to be interrupted"
    return sort, workers


def analysed_in_cache(out: Path) -> int:
    """Files whose analysis the sort into ``out`` has put in its cache so far (read-only)."""
    path = out / ".tidalsort" / "cache.sqlite"
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            return int(db.execute("SELECT count(*) FROM analysis").fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


def wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_ctrl_c_while_forking_is_raised_once_the_workers_are_forked() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with forking():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs by now: it must not raise here
            read, write_end = os.pipe()
            if (child := os.fork()) == 0:  # a worker forked now starts with Ctrl-C blocked
                os.write(write_end, b"1" if signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []) else b"0")
                os._exit(0)
            os.waitpid(child, 0)
            reached.append(os.read(read, 1))
            os.close(read), os.close(write_end)
    assert reached == [b"1"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_forking_stays_ignored_where_it_was() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a shell's background job
    try:
        with forking():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        time.sleep(0.05)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_sort(library: Path, tmp_path: Path) -> None:
    sort, workers = start_sort(library, tmp_path / "out")
    try:
        os.kill(sort.pid, signal.SIGKILL)
        sort.wait(10)
        assert wait_gone(workers, 3) == set(), "workers outlived the killed sort"
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_is_one_line_exit_130_and_keeps_what_was_analysed(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sort, workers = start_sort(library, out)
    try:
        os.killpg(sort.pid, signal.SIGINT)  # as Ctrl-C does: the whole process group
        _, stderr = sort.communicate(timeout=30)
        assert wait_gone(workers, 3) == set()
    finally:
        for pid in workers | {sort.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert sort.returncode == 130
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tidalsort: interrupted"), stderr
    analysed = int(re.search(r"(\d+) of 2000 files analysed", lines[0]).group(1))
    # the next sort finds them in the cache
    cache = FeatureCache(out / ".tidalsort")
    try:
        files = sorted(library.iterdir())
        found = cache.get(cache_key(FeatureSettings()), [(f, identity(f)) for f in files])
    finally:
        cache.close()
    assert 0 < len(found) == analysed < LIBRARY
    assert [p.name for p in out.iterdir()] == [".tidalsort"]  # nothing written but the cache
