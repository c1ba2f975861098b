"""Similarity-search latency on a large library: ``tidalsort similar`` after loading.

Builds a root with one bank of N samples (default 20,000) whose feature index holds
random features of the default feature set's width (search cost depends on the size of
the index, not on the sounds), then times queries by reference (``bank:n``) and by an
audio file (analysis of the query included), and prints medians over repeated runs.

    python bench/similar_speed.py [--samples 20000] [--repeats 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tidalsort.analysis.features import FeatureSettings
from tidalsort.organise.scaling import Scaler
from tidalsort.output.index import save_index
from tidalsort.output.manifest import locked, save_bank
from tidalsort.similarity import Library


def build(root: Path, n: int) -> None:
    settings = FeatureSettings()
    width = sum(size for _, size in settings.group_sizes())
    features = np.random.default_rng(0).normal(size=(n, width))
    samples = [{"folder": "big", "n": i, "file": f"{i:05d}_s.wav", "source": f"/lib/s{i}.wav", "cluster": 0} for i in range(n)]
    entry = {
        "layout": "bank",
        "settings": {"features": settings.name, "frames": settings.frames, "method": "ward"},
        "clusters": [{"id": 0, "label": "all", "folder": "big", "start": 0, "stop": n}],
        "samples": samples,
    }
    with locked(root):
        save_index(root, "big", features, Scaler("standard", settings.group_sizes()).fit(features))
        save_bank(root, "big", entry)


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.samples)
        start = time.perf_counter()
        library = Library(root)
        load_ms = (time.perf_counter() - start) * 1000
        query = root / "query.wav"
        t = np.arange(22050) / 44100
        sf.write(str(query), 0.8 * np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.2), 44100)
        by_ref = median_ms(lambda: library.query("big:123", 8), args.repeats)
        by_file = median_ms(lambda: library.query(query, 8), args.repeats)
    print(f"library of {args.samples} samples: load {load_ms:.0f} ms")
    print(f"query by bank:n   median {by_ref:.1f} ms over {args.repeats} runs")
    print(f"query by file     median {by_file:.1f} ms over {args.repeats} runs (analysis of the query included)")


if __name__ == "__main__":
    main()
