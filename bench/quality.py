"""Quality benchmark: how well does the sort group and order labelled samples?

Sorts a labelled collection (default: ../shared/datasets/dev, 533 Dirt-Samples drums)
with several configurations, the original workflow's among them (and the compact-summary
strategy used above 5,000 samples, forced, to show its cost against exact Ward), and
prints for each:
adjacent-pair label agreement of the written order (and the random baseline), ARI, NMI
and purity of the clusters at K = number of labels, leave-one-out 5-NN label precision of
the feature space, and coverage. Ratios are against the original configuration, measured
in the same run. Labels are read only by the evaluation.

For the default it also prints a supervised reference: what models trained on the labels
(cross-validated) get out of the same features. With ``--halves N`` every configuration is
also run on N random halves of the collection's folders (kits), collections the choices
were not made on, and the median, spread and share of halves beating the original are
printed: a choice that holds only on the whole set shows up there.

    python bench/quality.py                       # dev set, figures to stdout and quality.json
    python bench/quality.py --halves 10           # and on 10 random halves of dev's kits
    python bench/quality.py --data DIR --labels DIR/labels.csv --json out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tidalsort.evaluate import evaluate_bank
from tidalsort.features import FeatureSettings
from tidalsort.pipeline import SortOptions, sort_library

DEV = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dev"

#: name -> (feature set, frames, scaling, method, order, strategy)
CONFIGS = {
    "original": ("paa", 2, "none", "ward", "tree", "exact"),
    "paa standardised": ("paa", 2, "standard", "ward", "optimal", "exact"),
    "mel": ("mel", 2, "standard", "ward", "refined", "exact"),
    "paa+mel, tree order": ("paa+mel", 2, "standard", "ward", "tree", "exact"),
    "paa+mel, optimal order": ("paa+mel", 2, "standard", "ward", "optimal", "exact"),
    "default (paa+mel, refined)": ("paa+mel", 2, "standard", "ward", "refined", "exact"),
    "paa+mel, k-means": ("paa+mel", 2, "standard", "kmeans", "refined", "exact"),
    "default, summary strategy": ("paa+mel", 2, "standard", "ward", "refined", "summary"),
}
METRICS = ("agreement", "ari", "nmi", "purity", "knn5", "coverage")


DEFAULT = "default (paa+mel, refined)"
REFERENCE = ("svm_accuracy", "svm_ari", "nca_knn")


def run(data: Path, labels: Path, reference: bool = True) -> list[dict]:
    """Sort ``data`` with every configuration and evaluate it against ``labels``.

    With ``reference``, the default's row also holds the supervised reference figures.
    """
    with open(labels, newline="", encoding="utf-8") as f:
        k = len({row["label"] for row in csv.DictReader(f)})
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (features, frames, scaling, method, order, strategy)) in enumerate(CONFIGS.items()):
            root = Path(tmp) / str(i)
            options = SortOptions(
                bank="bench", clusters=k, features=FeatureSettings(features, frames), scaling=scaling, method=method, order=order, strategy=strategy, dendrogram=False
            )
            start = time.perf_counter()
            sort_library([data], root, options)
            seconds = time.perf_counter() - start
            figures = evaluate_bank(root, "bench", labels, reference=reference and name == DEFAULT)
            kept = [m for m in (*METRICS, "random_agreement", *REFERENCE) if m in figures]
            results.append({"config": name, "seconds": round(seconds, 2), **{m: round(figures[m], 4) for m in kept}})
    return results


def halves(data: Path, labels: Path, count: int, seed: int = 0) -> Iterator[tuple[Path, Path]]:
    """``count`` random halves of ``data``'s top-level folders, as (folder, labels CSV).

    Each half is a temporary folder of links to the chosen folders, with a labels CSV of
    their files; both are removed when the iteration moves on.
    """
    with open(labels, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    kits = sorted({row["relative_path"].split("/")[0] for row in rows})
    rng = np.random.default_rng(seed)
    for _ in range(count):
        chosen = set(rng.choice(kits, len(kits) // 2, replace=False))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "half"
            folder.mkdir()
            for kit in chosen:
                (folder / kit).symlink_to((data / kit).resolve(), target_is_directory=True)
            csv_path = Path(tmp) / "labels.csv"
            with open(csv_path, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=["relative_path", "label"])
                writer.writeheader()
                writer.writerows({"relative_path": f"half/{r['relative_path']}", "label": r["label"]} for r in rows if r["relative_path"].split("/")[0] in chosen)
            yield folder, csv_path


def summarise_halves(runs: list[list[dict]]) -> list[dict]:
    """Per configuration: median, min and max of every metric over the halves, and the
    share of halves on which it beats the original configuration (the first)."""
    summary = []
    for i, name in enumerate(CONFIGS):
        row: dict = {"config": name}
        for m in METRICS:
            values = np.array([r[i][m] for r in runs])
            base = np.array([r[0][m] for r in runs])
            row[m] = {"median": round(float(np.median(values)), 4), "min": float(values.min()), "max": float(values.max()), "beats_original": round(float(np.mean(values > base)), 2)}
        summary.append(row)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEV, help="labelled sample folder (default: the dev set)")
    parser.add_argument("--labels", type=Path, help="labels CSV (default: DATA/labels.csv)")
    parser.add_argument("--json", type=Path, default=Path("quality.json"), help="where to write the figures (default: quality.json)")
    parser.add_argument("--halves", type=int, default=0, metavar="N", help="also run on N random halves of the folders (default: 0)")
    args = parser.parse_args()
    labels = args.labels or args.data / "labels.csv"
    results = run(args.data, labels)
    base = results[0]
    console = Console(width=200)
    table = Table(title=f"quality on {args.data} (random order agreement {base['random_agreement']:.3f}); x = ratio to the original")
    for column in ("config", *METRICS, "seconds"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for r in results:
        table.add_row(r["config"], *[f"{r[m]:.3f} (x{r[m] / base[m]:.2f})" if base[m] else f"{r[m]:.3f}" for m in METRICS], f"{r['seconds']:.1f}")
    console.print(table)
    default = next(r for r in results if r["config"] == DEFAULT)
    console.print(
        f"supervised reference on the default's features (trained on the labels, 5-fold cross-validated): "
        f"SVM accuracy {default['svm_accuracy']:.3f}, ARI of its predictions {default['svm_ari']:.3f}, "
        f"5-NN precision after NCA {default['nca_knn']:.3f}"
    )
    report = {"results": results}
    if args.halves:
        runs = [run(folder, csv_path, reference=False) for folder, csv_path in halves(args.data, labels, args.halves)]
        report["halves"] = summarise_halves(runs)
        table = Table(title=escape(f"median [min-max] over {args.halves} random halves of the folders; share of halves beating the original"))
        for column in ("config", *METRICS[:-1]):
            table.add_column(column, justify="left" if column == "config" else "right")
        for row in report["halves"]:
            table.add_row(row["config"], *[f"{row[m]['median']:.3f} [{row[m]['min']:.2f}-{row[m]['max']:.2f}] {row[m]['beats_original']:.0%}" for m in METRICS[:-1]])
        console.print(table)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
