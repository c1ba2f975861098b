"""Quality benchmark: how well does the sort group and order labelled samples?

Sorts a labelled collection (default: ../shared/datasets/dev, 533 Dirt-Samples drums)
with several configurations, the original workflow's among them (and the compact-summary
strategy used above 5,000 samples, forced, to show its cost against exact Ward), and
prints for each:
adjacent-pair label agreement of the written order (and the random baseline), ARI, NMI
and purity of the clusters at K = number of labels, leave-one-out 5-NN label precision of
the feature space, and coverage. Ratios are against the original configuration, measured
in the same run. Labels are read only by the evaluation.

    python bench/quality.py                       # dev set, figures to stdout and quality.json
    python bench/quality.py --data DIR --labels DIR/labels.csv --json out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
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


def run(data: Path, labels: Path) -> list[dict]:
    with open(labels, newline="", encoding="utf-8") as f:
        k = len({row["label"] for row in csv.DictReader(f)})
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (features, frames, scaling, method, order, strategy) in CONFIGS.items():
            root = Path(tmp) / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
            options = SortOptions(
                bank="bench", clusters=k, features=FeatureSettings(features, frames), scaling=scaling, method=method, order=order, strategy=strategy, dendrogram=False
            )
            start = time.perf_counter()
            sort_library([data], root, options)
            seconds = time.perf_counter() - start
            figures = evaluate_bank(root, "bench", labels)
            results.append({"config": name, "seconds": round(seconds, 2), **{m: round(figures[m], 4) for m in METRICS}, "random_agreement": round(figures["random_agreement"], 4)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEV, help="labelled sample folder (default: the dev set)")
    parser.add_argument("--labels", type=Path, help="labels CSV (default: DATA/labels.csv)")
    parser.add_argument("--json", type=Path, default=Path("quality.json"), help="where to write the figures (default: quality.json)")
    args = parser.parse_args()
    results = run(args.data, args.labels or args.data / "labels.csv")
    base = results[0]
    table = Table(title=f"quality on {args.data} (random order agreement {base['random_agreement']:.3f}); x = ratio to the original")
    for column in ("config", *METRICS, "seconds"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for r in results:
        table.add_row(r["config"], *[f"{r[m]:.3f} (x{r[m] / base[m]:.2f})" if base[m] else f"{r[m]:.3f}" for m in METRICS], f"{r['seconds']:.1f}")
    Console(width=200).print(table)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
