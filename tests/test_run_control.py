"""Runs that must not surprise: identical copies, killed and interrupted sorts, bad paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import noise, tone, write

from tidalsort.choices import METHODS, STRATEGIES
from tidalsort.pipeline import SortOptions, sort_library


def sort_cli(*argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``tidalsort`` in a process of its own, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "tidalsort", *map(str, argv)], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("group", ["families", "sound"])
def test_five_identical_copies_sort_into_one_cluster(tmp_path: Path, method: str, group: str) -> None:
    for i in range(5):
        write(tmp_path / "src" / f"copy {i}.wav", tone(200, 0.3))
    entry = sort_library([tmp_path / "src"], tmp_path / "out", SortOptions(method=method, group=group))
    assert [c["size"] for c in entry["clusters"]] == [5]
    assert entry["settings"]["clusters_used"] == 1


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("method", METHODS)
def test_six_copies_among_four_other_sounds(tmp_path: Path, method: str, strategy: str) -> None:
    for i in range(6):
        write(tmp_path / "src" / f"cb {i}.wav", tone(200, 0.3))
    for i in range(4):
        write(tmp_path / "src" / f"hat {i}.wav", noise(0.2, seed=i, decay=0.02 + 0.01 * i))
    entry = sort_library([tmp_path / "src"], tmp_path / "out", SortOptions(method=method, strategy=strategy, clusters=8, group="sound"))
    sizes = [c["size"] for c in entry["clusters"]]
    assert sum(sizes) == 10 and len(sizes) == entry["settings"]["clusters_used"] <= 5  # the 6 copies can not be parted
    copies = {s["cluster"] for s in entry["samples"] if s["file"].split("_", 1)[1].startswith("cb")}
    assert len(copies) == 1


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
