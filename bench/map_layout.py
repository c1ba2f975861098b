"""Which 2-D layout for the sound map? Quality on dev, time at 1,000 and 20,000 samples.

For every candidate (t-SNE from openTSNE as tidalsort runs it, t-SNE from scikit-learn,
UMAP from umap-learn, PCA; fixed seeds) it prints, on the 533 labelled drums of
``../shared/datasets/dev`` in tidalsort's default scaled feature space:

- trustworthiness (``sklearn.manifold.trustworthiness``, 5 neighbours): how far the map's
  nearest neighbours are true neighbours in the feature space (1 is perfect);
- same-label neighbours: leave-one-out 5-NN label precision on the map (the feature space
  itself gives the figure printed as "feature space");
- seconds to lay out 533 (dev), 1,000 and 20,000 samples, each in a fresh process with the
  import and any just-in-time compilation included, as a first ``tidalsort map`` pays them.
  The 1,000 and 20,000 samples are dev's feature vectors drawn with replacement, each with
  Gaussian jitter of a quarter of its column's spread.

With ``--map-samples N`` it also makes a library of N one-shots (``bench/speed.py``'s
generator, 0.05-1 s), sorts it (symbolic links) and times ``tidalsort map`` on the sorted
bank in fresh processes: the first run (the layout is computed and cached) and the next
(cached); then opens the page in headless Chromium (software rendering), drags the map
across 30 steps and prints the median and slowest time to draw a frame.

UMAP needs ``pip install umap-learn`` (not a dependency of tidalsort).

    python bench/map_layout.py                       # all candidates
    python bench/map_layout.py --only tidalsort --sizes 1000 20000
    python bench/map_layout.py --map-samples 20000   # and tidalsort map on a 20,000-sample bank
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

DEV = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dev"
SEED = 0


def _tidalsort(X: np.ndarray) -> np.ndarray:
    from tidalsort.analysis import default_jobs
    from tidalsort.layout import embed

    return embed(X, SEED, default_jobs())


def _sklearn_tsne(X: np.ndarray) -> np.ndarray:
    from sklearn.manifold import TSNE

    return TSNE(init="pca", random_state=SEED).fit_transform(X)


def _umap(X: np.ndarray) -> np.ndarray:
    import umap

    return umap.UMAP(random_state=SEED).fit_transform(X)


def _pca(X: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=SEED).fit_transform(X)


CANDIDATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tidalsort": _tidalsort,
    "sklearn-tsne": _sklearn_tsne,
    "umap": _umap,
    "pca": _pca,
}
LABELS = {
    "tidalsort": "t-SNE, openTSNE (tidalsort.layout)",
    "sklearn-tsne": "t-SNE, scikit-learn (Barnes-Hut)",
    "umap": "UMAP, umap-learn",
    "pca": "PCA, scikit-learn",
}


def dev_features(data: Path) -> tuple[np.ndarray, list[str]]:
    """dev's labelled files in tidalsort's default scaled feature space, and their labels."""
    from tidalsort.analysis import analyse
    from tidalsort.features import FeatureSettings
    from tidalsort.scaling import Scaler

    with open(data / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    settings = FeatureSettings()
    analysis = analyse([data / row["relative_path"] for row in rows], settings)
    if analysis.skipped:
        raise SystemExit(f"{len(analysis.skipped)} dev files could not be analysed")
    return Scaler("standard", settings.group_sizes()).fit_transform(analysis.features), [row["label"] for row in rows]


def resample(X: np.ndarray, n: int) -> np.ndarray:
    """``n`` rows drawn from ``X`` with replacement, each jittered by a quarter of its column's spread."""
    rng = np.random.default_rng(SEED)
    return X[rng.integers(0, len(X), n)] + rng.normal(0.0, 0.25, (n, X.shape[1])) * X.std(axis=0)


def timed(candidate: str, features: Path, n: int) -> float:
    """Seconds a fresh process takes to import and run ``candidate`` on ``n`` rows."""
    command = [sys.executable, __file__, "--child", candidate, str(features), str(n)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def child(candidate: str, features: Path, n: int) -> None:
    X = np.load(features)
    X = X if n == len(X) else resample(X, n)
    start = time.perf_counter()
    xy = CANDIDATES[candidate](X)
    assert xy.shape == (n, 2)
    print(time.perf_counter() - start)


def timed_map(samples: int) -> dict[str, float]:
    """Sort ``samples`` generated one-shots, then time ``tidalsort map`` twice in fresh processes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from speed import make_library

    from tidalsort.pipeline import SortOptions, sort_library

    with tempfile.TemporaryDirectory() as tmp:
        library, root = Path(tmp) / "library", Path(tmp) / "root"
        make_library(library, samples, longest=1.0)
        sort_library([library], root, SortOptions(bank="big", link="symlink", dendrogram=False))
        times = {}
        for run in ("first", "cached"):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tidalsort", "map", str(root), "--bank", "big"], check=True, capture_output=True)
            times[run] = time.perf_counter() - start
        times["frame_ms_median"], times["frame_ms_max"] = frame_times(root / "big-map.html")
        return times


def frame_times(page: Path, steps: int = 30) -> tuple[float, float]:
    """Median and slowest milliseconds to draw the map while it is dragged, in headless Chromium."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser_support import chromium
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    with chromium() as driver:
        driver.get(page.as_uri())
        canvas = driver.find_element(By.ID, "map")
        ms = []
        drag = ActionChains(driver).move_to_element(canvas).click_and_hold()
        drag.perform()
        for step in range(steps):
            frames = driver.execute_script("return window.tidalsortMap.frames")
            ActionChains(driver).move_by_offset(7 if step % 2 else -5, 3).perform()
            while driver.execute_script("return window.tidalsortMap.frames") == frames:
                time.sleep(0.005)
            ms.append(driver.execute_script("return window.tidalsortMap.drawMs"))
        ActionChains(driver).release().perform()
        return float(np.median(ms)), float(max(ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEV, help="labelled collection (default: dev)")
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 20000], help="sample counts to time (default: 1000 20000)")
    parser.add_argument("--map-samples", type=int, default=0, help="also time tidalsort map on a sorted bank of this many samples")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), int(args.child[2]))
        return

    from sklearn.manifold import trustworthiness

    from tidalsort.evaluate import knn_precision

    X, labels = dev_features(args.data)
    print(f"dev: {len(X)} samples, {len(set(labels))} labels; feature space: same-label 5-NN {knn_precision(X, labels, 5):.3f}")
    print(f"{'layout':<36} {'trust.':>7} {'5-NN':>6} " + " ".join(f"{f't({n})':>9}" for n in [len(X), *args.sizes]))
    with tempfile.TemporaryDirectory() as tmp:
        features = Path(tmp) / "dev.npy"
        np.save(features, X)
        results = {}
        for name in args.only:
            xy = CANDIDATES[name](X)
            figures = {
                "trustworthiness": float(trustworthiness(X, xy, n_neighbors=5)),
                "same_label_5nn": knn_precision(xy, labels, 5),
                **{f"seconds_{n}": timed(name, features, n) for n in [len(X), *args.sizes]},
            }
            results[name] = figures
            times = " ".join(f"{figures[f'seconds_{n}']:>8.1f}s" for n in [len(X), *args.sizes])
            print(f"{LABELS[name]:<36} {figures['trustworthiness']:>7.3f} {figures['same_label_5nn']:>6.3f} {times}", flush=True)
    if args.map_samples:
        times = timed_map(args.map_samples)
        results["map"] = times
        print(f"tidalsort map, {args.map_samples} samples: first run (layout computed) {times['first']:.1f} s, next run (cached) {times['cached']:.1f} s")
        print(f"page, {args.map_samples} dots: a frame while dragging takes {times['frame_ms_median']:.1f} ms (median), {times['frame_ms_max']:.1f} ms at most")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
