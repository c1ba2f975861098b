"""Which 2-D layout for the sound map? Quality on dev and at 20,000 samples, time up to 20,000.

For every candidate (tidalsort's layout: a t-SNE from openTSNE of at most 1,000 landmarks,
the other samples placed among them; openTSNE's t-SNE of every sample, tidalsort's layout
before; t-SNE from scikit-learn, UMAP from umap-learn, PCA; fixed seeds) it prints, on the
533 labelled drums of ``../shared/datasets/dev`` in tidalsort's default scaled feature space:

- trustworthiness (``sklearn.manifold.trustworthiness``, 5 neighbours): how far the map's
  nearest neighbours are true neighbours in the feature space (1 is perfect);
- same-label neighbours: leave-one-out 5-NN label precision on the map (the feature space
  itself gives the figure printed as "feature space");
- seconds to lay out 533 (dev), 1,000 and 20,000 samples, each in a fresh process with the
  import and any just-in-time compilation included, as a first ``tidalsort map`` pays them.
  The 1,000 and 20,000 samples are dev's feature vectors drawn with replacement, each with
  Gaussian jitter of a quarter of its column's spread;
- the same figures on that map of 20,000 samples (``--quality-at``), where tidalsort places
  19 samples in 20 among landmarks: trustworthiness on a fixed random 5,000 of them (on all
  20,000 it needs tens of GB), same-label 5-NN and same-source 5-NN (the share of the map's
  5 nearest neighbours drawn from the same dev sound: the finest structure there is) for a
  fixed 2,000.

``--landmarks N ...`` adds tidalsort's layout with at most N landmarks (``tidalsort-LN``),
so that on dev, too, most samples are placed rather than laid out by the t-SNE. ``--seeds N``
gives the dev figures as the mean over N seeds, with their spread (a t-SNE's figures move with
its seed by about as much as its settings move them).

With ``--map-samples N`` it also makes a library of N one-shots (``bench/speed.py``'s
generator, 0.05-1 s, one in ten AIFF), sorts it (symbolic links) and times ``tidalsort map``
on the sorted bank in fresh processes, ``--runs`` times each (medians): cold (no layout and
no AIFF previews cached, as the first map after a sort) and cached; then opens the page in
headless Chromium (software rendering), drags the map across 30 steps and prints the median
and slowest time to draw a frame.

UMAP needs ``pip install umap-learn`` (not a dependency of tidalsort).

    python bench/map_layout.py                       # all candidates
    python bench/map_layout.py --only tidalsort exact pca --landmarks 250 100 --seeds 5 --map-samples 20000
    python bench/map_layout.py --only tidalsort --sizes --map-samples 20000 --runs 3   # only tidalsort map
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEV = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dev"
SEED = 0


def _tidalsort(X: np.ndarray, seed: int = SEED, landmarks: int | None = None) -> np.ndarray:
    from tidalsort.soundmap.layout import LANDMARKS, embed

    return embed(X, seed, landmarks or LANDMARKS)


def _exact(X: np.ndarray, seed: int = SEED) -> np.ndarray:
    """openTSNE's t-SNE of every sample, with its default steps: tidalsort's layout before landmarks."""
    from openTSNE import TSNE

    from tidalsort.soundmap.layout import unit_square

    return unit_square(np.asarray(TSNE(perplexity=min(30.0, (len(X) - 1) / 3), random_state=seed, n_jobs=1).fit(X)))


def _sklearn_tsne(X: np.ndarray, seed: int = SEED) -> np.ndarray:
    from sklearn.manifold import TSNE

    return TSNE(init="pca", random_state=seed).fit_transform(X)


def _umap(X: np.ndarray, seed: int = SEED) -> np.ndarray:
    import umap

    return umap.UMAP(random_state=seed).fit_transform(X)


def _pca(X: np.ndarray, seed: int = SEED) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(X)


CANDIDATES: dict[str, Callable[..., np.ndarray]] = {
    "tidalsort": _tidalsort,
    "exact": _exact,
    "sklearn-tsne": _sklearn_tsne,
    "umap": _umap,
    "pca": _pca,
}
LABELS = {
    "tidalsort": "landmark t-SNE (tidalsort.soundmap.layout)",
    "exact": "t-SNE of every sample, openTSNE (before)",
    "sklearn-tsne": "t-SNE, scikit-learn (Barnes-Hut)",
    "umap": "UMAP, umap-learn",
    "pca": "PCA, scikit-learn",
}


def dev_features(data: Path) -> tuple[np.ndarray, list[str]]:
    """dev's labelled files in tidalsort's default scaled feature space, and their labels."""
    from tidalsort.analysis.analyse import analyse
    from tidalsort.analysis.features import FeatureSettings
    from tidalsort.organise.scaling import Scaler

    with open(data / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    settings = FeatureSettings()
    analysis = analyse([data / row["relative_path"] for row in rows], settings)
    if analysis.skipped:
        raise SystemExit(f"{len(analysis.skipped)} dev files could not be analysed")
    return Scaler("standard", settings.group_sizes()).fit_transform(analysis.features), [row["label"] for row in rows]


def resample(X: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows drawn from ``X`` with replacement, each jittered by a quarter of its column's
    spread, and the row of ``X`` each was drawn from."""
    rng = np.random.default_rng(SEED)
    sources = rng.integers(0, len(X), n)
    return X[sources] + rng.normal(0.0, 0.25, (n, X.shape[1])) * X.std(axis=0), sources


def layout_function(candidate: str) -> Callable[..., np.ndarray]:
    """The layout of a candidate's name (``tidalsort-LN``: tidalsort's with at most N landmarks)."""
    if candidate.startswith("tidalsort-L"):
        return functools.partial(_tidalsort, landmarks=int(candidate.removeprefix("tidalsort-L")))
    return CANDIDATES[candidate]


def label(candidate: str) -> str:
    if candidate.startswith("tidalsort-L"):
        return f"landmark t-SNE, {candidate.removeprefix('tidalsort-L')} landmarks"
    return LABELS[candidate]


def timed(candidate: str, features: Path, n: int, keep: Path | None = None) -> float:
    """Seconds a fresh process takes to import and run ``candidate`` on ``n`` rows (the map
    saved to ``keep`` if given)."""
    command = [sys.executable, __file__, "--child", candidate, str(features), str(n), str(keep or "")]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def child(candidate: str, features: Path, n: int, keep: str) -> None:
    X = np.load(features)
    X = X if n == len(X) else resample(X, n)[0]
    start = time.perf_counter()
    xy = layout_function(candidate)(X)
    seconds = time.perf_counter() - start
    assert xy.shape == (n, 2)
    if keep:
        np.save(keep, xy)
    print(seconds)


def large_quality(X: np.ndarray, labels: list[str], xy: np.ndarray) -> dict[str, float]:
    """Quality of a map ``xy`` of ``resample(X, len(xy))``, on fixed random subsets."""
    from sklearn.manifold import trustworthiness

    from tidalsort.evaluate import knn_precision

    Y, sources = resample(X, len(xy))
    rng = np.random.default_rng(1)
    some = np.sort(rng.choice(len(Y), min(5000, len(Y)), replace=False))
    fewer = some[rng.choice(len(some), min(2000, len(some)), replace=False)]
    return {
        "trustworthiness": float(trustworthiness(Y[some], xy[some], n_neighbors=5)),
        "same_label_5nn": knn_precision(xy, np.asarray(labels)[sources], 5, rows=fewer),
        "same_source_5nn": knn_precision(xy, sources, 5, rows=fewer),
    }


def timed_map(samples: int, runs: int) -> dict[str, float]:
    """Sort ``samples`` generated one-shots, then time ``tidalsort map`` in fresh processes:
    median seconds of ``runs`` cold runs and of ``runs`` cached ones, and frame times."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from speed import make_library

    from tidalsort.pipeline import SortOptions, sort_library
    from tidalsort.soundmap.layout import layout_path
    from tidalsort.soundmap.previews import preview_folder

    with tempfile.TemporaryDirectory() as tmp:
        library, root = Path(tmp) / "library", Path(tmp) / "root"
        make_library(library, samples, longest=1.0)
        sort_library([library], root, SortOptions(bank="big", link="symlink", dendrogram=False))
        command = [sys.executable, "-m", "tidalsort", "map", str(root), "--bank", "big"]
        times: dict[str, list[float]] = {"cold": [], "cached": []}
        for run in ["cold"] * runs + ["cached"] * runs:
            if run == "cold":  # as the first map after a sort: no layout, no AIFF previews
                layout_path(root, "big").unlink(missing_ok=True)
                shutil.rmtree(preview_folder(root, "big"), ignore_errors=True)
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[run].append(time.perf_counter() - start)
        figures = {f"{run}_runs": values for run, values in times.items()}
        figures.update({run: statistics.median(values) for run, values in times.items()})
        figures["frame_ms_median"], figures["frame_ms_max"] = frame_times(root / "big-map.html")
        return figures


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
    parser.add_argument("--landmarks", nargs="*", type=int, default=[], help="also tidalsort's layout with at most these many landmarks")
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 20000], help="sample counts to time (default: 1000 20000)")
    parser.add_argument(
        "--quality-at", type=int, default=20000, help="also measure the map of this many samples, one of --sizes (default: 20000; 0: no)"
    )
    parser.add_argument("--map-samples", type=int, default=0, help="also time tidalsort map on a sorted bank of this many samples")
    parser.add_argument("--seeds", type=int, default=1, help="dev figures as the mean over seeds 0..N-1, with their spread (default: 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs of tidalsort map, cold and cached (medians; default: 3)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), int(args.child[2]), args.child[3])
        return

    from sklearn.manifold import trustworthiness

    from tidalsort.evaluate import knn_precision

    X, labels = dev_features(args.data)
    sizes = [len(X), *args.sizes]
    large = args.quality_at if args.quality_at in args.sizes else 0
    print(f"dev: {len(X)} samples, {len(set(labels))} labels; feature space: same-label 5-NN {knn_precision(X, labels, 5):.3f}")
    columns = ["trust.", "5-NN"] + ([f"trust.{large}", f"5-NN{large}", f"source{large}"] if large else []) + [f"t({n})" for n in sizes]
    print(f"{'layout':<40} " + " ".join(f"{c:>12}" for c in columns))
    with tempfile.TemporaryDirectory() as tmp:
        features, kept = Path(tmp) / "dev.npy", Path(tmp) / "large.npy"
        np.save(features, X)
        results = {}
        for name in [*args.only, *(f"tidalsort-L{n}" for n in args.landmarks)]:
            maps = [layout_function(name)(X, seed) for seed in range(args.seeds)]
            dev = np.array([[trustworthiness(X, xy, n_neighbors=5), knn_precision(xy, labels, 5)] for xy in maps])
            figures = {"trustworthiness": float(dev[:, 0].mean()), "same_label_5nn": float(dev[:, 1].mean())}
            if args.seeds > 1:
                figures.update({"trustworthiness_sd": float(dev[:, 0].std()), "same_label_5nn_sd": float(dev[:, 1].std())})
            for n in sizes:
                figures[f"seconds_{n}"] = timed(name, features, n, kept if n == large else None)
            if large:
                figures.update({f"{key}_{large}": value for key, value in large_quality(X, labels, np.load(kept)).items()})
            results[name] = figures
            quality = [figures["trustworthiness"], figures["same_label_5nn"]]
            quality += [figures[f"{key}_{large}"] for key in ("trustworthiness", "same_label_5nn", "same_source_5nn")] if large else []
            line = " ".join(f"{q:>12.4f}" for q in quality) + " " + " ".join(f"{figures[f'seconds_{n}']:>11.1f}s" for n in sizes)
            if args.seeds > 1:
                line += f"   (dev, {args.seeds} seeds: ±{figures['trustworthiness_sd']:.4f}, ±{figures['same_label_5nn_sd']:.4f})"
            print(f"{label(name):<40} {line}", flush=True)
    if args.map_samples:
        times = timed_map(args.map_samples, args.runs)
        results["map"] = times
        print(
            f"tidalsort map, {args.map_samples} samples, medians of {args.runs} runs in fresh processes: "
            f"cold (layout and previews computed) {times['cold']:.1f} s, cached {times['cached']:.1f} s"
        )
        print(
            f"page, {args.map_samples} dots: a frame while dragging takes {times['frame_ms_median']:.1f} ms (median), {times['frame_ms_max']:.1f} ms at most"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
