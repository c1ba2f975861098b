"""Quality benchmark: does tidalsort know what each sound is, and does it group and order them well?

Four parts, all on the labelled drums of ../shared/datasets (dev: 533 Dirt-Samples drums,
train: 1,169 one-shots of drum machines; ten labels). Labels are read only here.

``model``
    The family model, cross-validated with folds that keep every kit or drum machine
    together (leave-groups-out, 10 folds over dev + train; the training code and settings
    of train/train_families.py, a model trained per fold): accuracy, macro-F1, per-family
    recall and precision, the confusion matrix, calibration.
``sorts``
    Whole sorts (``tidalsort sort --names off``, families grouping) of every held-out fold with
    that fold's model: ARI of the written families against the labels (all folds pooled,
    and the median fold), adjacent-pair agreement of the written order.
``rule``
    The automatic cluster count on dev and on train, grouped by sound (``--group sound``)
    and by family: clusters, largest cluster's share of the bank, sizes, ARI and NMI
    against the labels.
``similarity``
    The similarity features and orders on dev, by sound at K = 10 clusters, against the
    original workflow's configuration: agreement, ARI, NMI, purity, 5-NN precision.

    python bench/quality.py                          # all four (about 20 minutes on 2 cores)
    python bench/quality.py --only model,sorts
    python bench/quality.py --only similarity --halves 10   # and on 10 random halves of dev's kits
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sklearn.metrics import (
    adjusted_rand_score,
    confusion_matrix,
    f1_score,
    normalized_mutual_info_score,
    precision_score,
    recall_score,
)

from tidalsort.analysis.features import FeatureSettings
from tidalsort.evaluate import adjacent_agreement, evaluate_bank
from tidalsort.families.taxonomy import FAMILIES
from tidalsort.families.training import (
    TrainingConfig,
    cross_validate,
    labelled_examples,
    read,
    temperature,
)
from tidalsort.pipeline import SortOptions, sort_library

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PARTS = ("model", "sorts", "rule", "similarity")

#: name -> (feature set, frames, scaling, method, order, strategy), grouped by sound at K = 10
CONFIGS = {
    "original": ("paa", 2, "none", "ward", "tree", "exact"),
    "paa standardised": ("paa", 2, "standard", "ward", "optimal", "exact"),
    "mel": ("mel", 2, "standard", "ward", "refined", "exact"),
    "paa+mel, tree order": ("paa+mel", 2, "standard", "ward", "tree", "exact"),
    "paa+mel, optimal order": ("paa+mel", 2, "standard", "ward", "optimal", "exact"),
    "default features and order (paa+mel, refined)": ("paa+mel", 2, "standard", "ward", "refined", "exact"),
    "paa+mel, k-means": ("paa+mel", 2, "standard", "kmeans", "refined", "exact"),
    "paa+mel, summary strategy": ("paa+mel", 2, "standard", "ward", "refined", "summary"),
}
METRICS = ("agreement", "ari", "nmi", "purity", "knn5", "coverage")


def model_part(console: Console, folds: int) -> tuple[dict, object, list]:
    """Cross-validate the family model; print and return the figures (and the fold models)."""
    examples = labelled_examples(DATASETS)
    signals, durations = read(examples)
    labels = [e.label for e in examples]
    start = time.perf_counter()
    cv = cross_validate(
        signals,
        durations,
        labels,
        [e.group for e in examples],
        config=TrainingConfig(),
        folds=folds,
        progress=lambda f: console.print(f"  fold {f + 1}/{folds} trained"),
    )
    seconds = time.perf_counter() - start
    y = np.array([FAMILIES.index(label) for label in labels])
    sets = np.array([e.path.relative_to(DATASETS).parts[0] for e in examples])
    predicted = np.where(cv.novel, FAMILIES.index("other"), cv.logits.argmax(axis=1))
    recall = recall_score(y, predicted, labels=range(len(FAMILIES)), average=None, zero_division=0)
    precision = precision_score(y, predicted, labels=range(len(FAMILIES)), average=None, zero_division=0)
    t = temperature(cv.logits, y)
    z = cv.logits / t
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    confidence = p.max(axis=1)
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = sum(
        abs(np.mean(predicted[bins == b] == y[bins == b]) - confidence[bins == b].mean()) * np.mean(bins == b)
        for b in range(10)
        if np.any(bins == b)
    )
    figures = {
        "files": len(y),
        "groups": len({e.group for e in examples}),
        "folds": folds,
        "accuracy": float(np.mean(predicted == y)),
        "macro_f1": float(f1_score(y, predicted, average="macro")),
        "ari": float(adjusted_rand_score(y, predicted)),
        "recall": dict(zip(FAMILIES, map(float, recall))),
        "precision": dict(zip(FAMILIES, map(float, precision))),
        "novel": int(cv.novel.sum()),
        "temperature": t,
        "ece": float(ece),
        "by_set": {name: float(np.mean(predicted[sets == name] == y[sets == name])) for name in ("dev", "train")},
        "seconds": round(seconds, 1),
        "confusion": confusion_matrix(y, predicted, labels=range(len(FAMILIES))).tolist(),
    }
    table = Table(
        title=f"family model, {folds} leave-groups-out folds over dev + train ({figures['files']} files, {figures['groups']} kits or machines): rows = label, columns = predicted"
    )
    table.add_column("label")
    for f in FAMILIES:
        table.add_column(f[:8], justify="right")
    table.add_column("recall", justify="right")
    for f, row, r in zip(FAMILIES, figures["confusion"], recall):
        table.add_row(f, *map(str, row), f"{r:.2f}")
    table.add_row("precision", *[f"{v:.2f}" for v in precision], "")
    console.print(table)
    console.print(
        f"accuracy {figures['accuracy']:.3f}, macro-F1 {figures['macro_f1']:.3f}, lowest recall {min(recall):.2f} ({FAMILIES[int(np.argmin(recall))]}), "
        f"ARI of the predictions {figures['ari']:.3f}; dev {figures['by_set']['dev']:.3f}, train {figures['by_set']['train']:.3f}; "
        f"{figures['novel']} files too unlike any training sound (sent to other); calibration error (ECE) {figures['ece']:.3f} at temperature {t:.2f}; {seconds:.0f} s"
    )
    return figures, cv, examples


def sorts_part(console: Console, cv, examples: list) -> dict:
    """Sorts of every held-out fold with its fold's model, names off (the labels come from
    names): how the written families match the labels."""
    truth = {str(e.path): e.label for e in examples}
    pooled_true, pooled_written, per_fold, agreement = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for f, model in enumerate(cv.models):
            rows = np.flatnonzero(cv.fold == f)
            model_file = Path(tmp) / f"model-{f}.npz"
            model.save(model_file)
            entry = sort_library(
                [examples[i].path for i in rows],
                Path(tmp) / f"root-{f}",
                SortOptions(bank=f"fold{f}", names=False, model=model_file, dendrogram=False, cache=False),
            )
            written = [(truth[s.source], s.family) for s in entry.samples]
            labels, families = zip(*written)
            pooled_true += labels
            pooled_written += families
            per_fold.append(adjusted_rand_score(labels, families) if len(set(labels)) > 1 else float("nan"))
            agreement.append(adjacent_agreement(labels))
    figures = {
        "ari_pooled": float(adjusted_rand_score(pooled_true, pooled_written)),
        "ari_median_fold": float(np.nanmedian(per_fold)),
        "ari_folds": [round(a, 3) for a in per_fold],
        "family_accuracy": float(np.mean(np.array(pooled_true) == np.array(pooled_written))),
        "agreement_median_fold": float(np.median(agreement)),
    }
    console.print(
        f"default sorts of the {len(cv.models)} held-out folds: ARI of the written families against the labels {figures['ari_pooled']:.3f} "
        f"(all folds pooled; median fold {figures['ari_median_fold']:.3f}, folds {figures['ari_folds']}), families right {figures['family_accuracy']:.3f}, "
        f"adjacent-pair agreement of the written order (median fold) {figures['agreement_median_fold']:.3f}"
    )
    return figures


def rule_part(console: Console) -> dict:
    """The automatic cluster count, by sound and by family, on dev and on train."""
    figures = {}
    table = Table(title="automatic cluster count (--clusters auto) on the labelled sets")
    for column in ("set", "group", "samples", "clusters", "largest", "largest share", "median size", "ARI", "NMI", "agreement"):
        table.add_column(column, justify="left" if column in ("set", "group") else "right")
    for name in ("dev", "train"):
        examples = labelled_examples(DATASETS, [name])
        truth = {str(e.path): e.label for e in examples}
        for group in ("sound", "families"):
            with tempfile.TemporaryDirectory() as tmp:
                entry = sort_library(
                    [DATASETS / name], Path(tmp), SortOptions(bank="rule", group=group, names=False, dendrogram=False, cache=False)
                )
            sizes = [c.size for c in entry.clusters]
            labels = [truth[s.source] for s in entry.samples]
            clusters = [s.cluster for s in entry.samples]
            row = {
                "samples": len(labels),
                "clusters": len(sizes),
                "largest": max(sizes),
                "largest_share": max(sizes) / len(labels),
                "median_size": float(np.median(sizes)),
                "ari": float(adjusted_rand_score(labels, clusters)),
                "nmi": float(normalized_mutual_info_score(labels, clusters)),
                "agreement": adjacent_agreement(labels),
            }
            figures[f"{name}/{group}"] = row
            table.add_row(
                name,
                group,
                str(row["samples"]),
                str(row["clusters"]),
                str(row["largest"]),
                f"{row['largest_share']:.1%}",
                f"{row['median_size']:.0f}",
                f"{row['ari']:.3f}",
                f"{row['nmi']:.3f}",
                f"{row['agreement']:.3f}",
            )
    console.print(table)
    return figures


def label_count(labels: Path) -> int:
    """Number of distinct labels in a ``relative_path,label`` CSV."""
    with open(labels, newline="", encoding="utf-8") as f:
        return len({row["label"] for row in csv.DictReader(f)})


def similarity_runs(data: Path, labels: Path) -> list[dict]:
    """Every configuration of CONFIGS on ``data``, grouped by sound at K = number of labels."""
    k = label_count(labels)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (features, frames, scaling, method, order, strategy)) in enumerate(CONFIGS.items()):
            root = Path(tmp) / str(i)
            options = SortOptions(
                bank="bench",
                group="sound",
                clusters=k,
                features=FeatureSettings(features, frames),
                scaling=scaling,
                method=method,
                order=order,
                strategy=strategy,
                dendrogram=False,
            )
            sort_library([data], root, options)
            figures = evaluate_bank(root, "bench", labels)
            results.append({"config": name, **{m: round(figures[m], 4) for m in (*METRICS, "random_agreement")}})
    return results


def halves(data: Path, labels: Path, count: int, seed: int = 0) -> Iterator[tuple[Path, Path]]:
    """``count`` random halves of ``data``'s top-level folders (kits), as (folder, labels CSV).

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
                writer.writerows(
                    {"relative_path": f"half/{r['relative_path']}", "label": r["label"]}
                    for r in rows
                    if r["relative_path"].split("/")[0] in chosen
                )
            yield folder, csv_path


def similarity_part(console: Console, count: int) -> dict:
    """CONFIGS on dev at K = 10, against the original; with ``count``, also on random halves of dev's kits."""
    data, labels = DATASETS / "dev", DATASETS / "dev" / "labels.csv"
    results = similarity_runs(data, labels)
    k = label_count(labels)
    base = results[0]
    table = Table(
        title=f"similarity on dev, by sound at K = {k} (random order agreement {base['random_agreement']:.3f}); x = ratio to the original"
    )
    for column in ("config", *METRICS):
        table.add_column(column, justify="left" if column == "config" else "right")
    for r in results:
        table.add_row(r["config"], *[f"{r[m]:.3f} (x{r[m] / base[m]:.2f})" if base[m] else f"{r[m]:.3f}" for m in METRICS])
    console.print(table)
    report: dict = {"dev": results}
    if count:
        runs = [similarity_runs(folder, csv_path) for folder, csv_path in halves(data, labels, count)]
        report["halves"] = []
        table = Table(title=escape(f"median [min-max] over {count} random halves of dev's kits; share of halves beating the original"))
        for column in ("config", *METRICS[:-1]):
            table.add_column(column, justify="left" if column == "config" else "right")
        for i, name in enumerate(CONFIGS):
            row: dict = {"config": name}
            for m in METRICS[:-1]:
                values = np.array([r[i][m] for r in runs])
                base_values = np.array([r[0][m] for r in runs])
                row[m] = {
                    "median": float(np.median(values)),
                    "min": float(values.min()),
                    "max": float(values.max()),
                    "beats_original": float(np.mean(values > base_values)),
                }
            report["halves"].append(row)
            table.add_row(
                name,
                *[f"{row[m]['median']:.3f} [{row[m]['min']:.2f}-{row[m]['max']:.2f}] {row[m]['beats_original']:.0%}" for m in METRICS[:-1]],
            )
        console.print(table)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts to run (default: all of {', '.join(PARTS)}; sorts needs model)"
    )
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds (default: 10)")
    parser.add_argument("--halves", type=int, default=0, metavar="N", help="similarity: also on N random halves of dev's kits (default: 0)")
    parser.add_argument("--json", type=Path, default=Path("quality.json"), help="where to write the figures (default: quality.json)")
    args = parser.parse_args()
    parts = args.only.split(",")
    console = Console(width=220)
    report: dict = {}
    if "model" in parts or "sorts" in parts:
        report["model"], cv, examples = model_part(console, args.folds)
        if "sorts" in parts:
            report["sorts"] = sorts_part(console, cv, examples)
    if "rule" in parts:
        report["rule"] = rule_part(console)
    if "similarity" in parts:
        report["similarity"] = similarity_part(console, args.halves)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
