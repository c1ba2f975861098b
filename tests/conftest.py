"""Shared fixtures: real audio files made with numpy + soundfile, and the dev dataset."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PROJECT = Path(__file__).resolve().parent.parent
DEV = PROJECT.parent / "shared" / "datasets" / "dev"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip outside CI when a tool or dataset is missing; under CI=true, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def tone(freq: float, seconds: float, rate: int = 44100, decay: float = 0.1) -> np.ndarray:
    """A decaying sine, the simplest one-shot."""
    t = np.arange(int(seconds * rate)) / rate
    return 0.8 * np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)


def noise(seconds: float, rate: int = 44100, decay: float = 0.05, seed: int = 0) -> np.ndarray:
    """A decaying white-noise burst (hat-like)."""
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.random.default_rng(seed).uniform(-1, 1, len(t)) * np.exp(-t / decay)


def write(path: Path, signal: np.ndarray, rate: int = 44100, subtype: str | None = None, fmt: str | None = None) -> Path:
    """Write ``signal`` to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(os.fsencode(path), signal, rate, subtype=subtype, format=fmt)
    return path


def tree_hashes(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-1 (or link target) of everything below ``folder``."""
    result = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            result[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            result[rel] = hashlib.sha1(path.read_bytes()).hexdigest()
        else:
            result[rel] = "dir"
    return result


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """A messy folder of 18 one-shots in three families: low tones, high tones, noise bursts."""
    root = tmp_path / "kit"
    for i in range(6):
        write(root / "Low Toms" / f"Tom {i}.wav", tone(60 + 8 * i, 0.4))
        write(root / "bells" / f"bell_{i}.wav", tone(2500 + 150 * i, 0.3, decay=0.2))
        write(root / f"hat {i:02d}.wav", noise(0.2, seed=i, decay=0.02 + 0.005 * i))
    return root


@pytest.fixture
def dev() -> Path:
    """The 533 labelled Dirt-Samples drums beside the project."""
    require(DEV.is_dir(), f"the dev dataset is missing at {DEV}")
    return DEV


#: Test modules that boot SuperCollider, GHC, Chromium or node, kill or interrupt real
#: sorts, or sort hundreds of files: ``pytest -m "not slow"`` leaves them out.
SLOW_MODULES = {
    "test_bad_input",
    "test_cache_parallel",
    "test_cut_audio",
    "test_dev_dataset",
    "test_faults",
    "test_families",
    "test_haskell",
    "test_lines_play",
    "test_live",
    "test_map",
    "test_map_browser",
    "test_map_serve",
    "test_run_control",
    "test_serve",
    "test_serve_hardening",
    "test_startup",
    "test_strudel",
    "test_supercollider",
    "test_tidal_bridge",
    "test_tidal_versions",
    "test_watch",
    "test_watch_options",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`SLOW_MODULES` ``slow``."""
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and module.__name__.rpartition(".")[2] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def run(*argv: str | Path) -> int:
    """``tidalsort ARGV...`` in this process; its exit status."""
    from tidalsort.cli import main

    return main([str(a) for a in argv])


def manifest(root: Path) -> dict:
    """``ROOT/tidalsort.yaml`` as plain data."""
    import yaml

    return yaml.safe_load((root / "tidalsort.yaml").read_text())
