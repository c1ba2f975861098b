#!/usr/bin/env python3
"""Train the family model that tidalsort ships, from the labelled drums of ../shared/datasets.

    python train/train_families.py                      # writes tidalsort/families/data/families-v<N>.npz
    python train/train_families.py --subset 60 --out /tmp/small.npz   # a quick, smaller model
    python train/train_families.py --extra ~/.cache/tidalsort-drums --out /tmp/big.npz   # with a pool of train/datasets/build.py
    python train/train_families.py --extra ~/.cache/tidalsort-drums --evaluate MODEL     # only measure MODEL on the extra pool

The cross-validated figures (accuracy, macro-F1, per-family recall, calibration error,
confusion matrix) are printed for the whole pool and for dev + train alone, and the share
of the extra pools' real non-drum sounds (``other``) held out with their source that the
model calls ``other``.

Deterministic: the same data and settings give the same weights. The steps: read dev and
train (10 families, ~1,700 one-shots); cross-validate with folds that keep every kit or
machine together, to calibrate the confidences (softmax temperature); train the ensemble
on everything; write the weights with what they were trained on (data fingerprint,
settings, cross-validated figures). About 10 minutes on dev + train, 25 with the Debian pool of
train/datasets/build.py, on two shared cores.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tidalsort.families.model import FamilyModel, model_path  # noqa: E402
from tidalsort.families.taxonomy import FAMILIES  # noqa: E402
from tidalsort.families.training import (  # noqa: E402
    TrainingConfig,
    cross_validate,
    extra_examples,
    fingerprint,
    fit,
    inputs,
    labelled_examples,
    read,
    temperature,
    training_rows,
)


def figures(y: np.ndarray, predicted: np.ndarray, confidence: np.ndarray) -> dict:
    """Accuracy, macro-F1, per-family recall and ECE (10 bins) of ``predicted`` against the labels ``y``."""
    from sklearn.metrics import f1_score, recall_score

    recall = recall_score(y, predicted, labels=range(len(FAMILIES)), average=None, zero_division=0)
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = sum(
        abs(np.mean(predicted[bins == b] == y[bins == b]) - confidence[bins == b].mean()) * np.mean(bins == b)
        for b in range(10)
        if np.any(bins == b)
    )
    return {
        "files": len(y), "accuracy": round(float(np.mean(predicted == y)), 4),
        "macro_f1": round(float(f1_score(y, predicted, labels=range(len(FAMILIES)), average="macro", zero_division=0)), 4),
        "recall": {f: round(float(r), 3) for f, r in zip(FAMILIES, recall)}, "ece": round(float(ece), 4),
    }  # fmt: skip


def report(title: str, y: np.ndarray, predicted: np.ndarray, confidence: np.ndarray) -> dict:
    """Print and return :func:`figures` and the confusion matrix."""
    from sklearn.metrics import confusion_matrix

    result = figures(y, predicted, confidence)
    print(f"{title}: {len(y)} files, accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}, ECE {result['ece']:.3f}")
    print("  recall " + ", ".join(f"{f} {r:.2f}" for f, r in result["recall"].items()))
    print("  label \\ said " + " ".join(f"{f[:6]:>6}" for f in FAMILIES))
    for f, row in zip(FAMILIES, confusion_matrix(y, predicted, labels=range(len(FAMILIES)))):
        print(f"  {f:>12} " + " ".join(f"{v:6d}" for v in row))
    return result


def reports(examples: list, datasets: Path, y: np.ndarray, predicted: np.ndarray, confidence: np.ndarray) -> dict:
    """:func:`report` on the whole pool, on dev + train, and the ``other`` share of the extra pools' non-drum sounds."""
    old = np.array([datasets in e.path.parents for e in examples])
    figures = {"whole": report("whole pool", y, predicted, confidence)}
    if old.any() and not old.all():
        figures["old"] = report("dev + train", y[old], predicted[old], confidence[old])
    if not old.all():
        real_other = ~old & (y == FAMILIES.index("other"))
        rate = float(np.mean(predicted[real_other] == FAMILIES.index("other"))) if real_other.any() else float("nan")
        figures["non_drum_to_other"] = round(rate, 4)
        print(f"real non-drum one-shots of the extra pools called other: {rate:.3f} of {int(real_other.sum())}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=PROJECT.parent / "shared" / "datasets", help="folder holding dev/ and train/")
    parser.add_argument("--out", type=Path, default=model_path(), help="model file to write (default: the shipped model)")
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds for calibration (default: 10)")
    parser.add_argument("--subset", type=int, default=None, help="only every n-th labelled file (quick runs and tests)")
    parser.add_argument("--networks", type=int, default=None, help="networks in the ensemble (default: the configuration's)")
    parser.add_argument(
        "--extra", type=Path, action="append", default=[], help="also a pool written by train/datasets/build.py (repeatable)"
    )
    parser.add_argument(
        "--evaluate",
        type=Path,
        default=None,
        metavar="MODEL",
        help="train nothing: measure MODEL on the extra pools' files (on dev + train without --extra)",
    )
    args = parser.parse_args(argv)

    extra = [e for pool in args.extra for e in extra_examples(pool.expanduser())]
    examples = extra if args.evaluate and extra else labelled_examples(args.datasets) + extra  # a model is measured on what it never heard
    if args.subset:
        examples = examples[:: args.subset]
    config = TrainingConfig() if args.networks is None else replace(TrainingConfig(), networks=args.networks)
    print(
        f"{len(examples)} labelled files, {len({e.sound or e.path for e in examples})} sounds, {len({e.group for e in examples})} kits or machines",
        flush=True,
    )
    signals, durations = read(examples)
    labels, groups = [e.label for e in examples], [e.group for e in examples]
    y = np.array([FAMILIES.index(label) for label in labels])
    if args.evaluate:
        model = FamilyModel.load(args.evaluate)
        said, confidence = model.predict(inputs(signals, durations))
        reports(examples, args.datasets, y, np.array([FAMILIES.index(f) for f in said]), confidence)
        return 0
    cv = cross_validate(
        signals,
        durations,
        labels,
        groups,
        config=config,
        folds=args.folds,
        progress=lambda f: print(f"fold {f + 1}/{args.folds} done", flush=True),
        sounds=[e.sound for e in examples],
    )
    t = temperature(cv.logits, y)
    predicted = np.where(cv.novel, FAMILIES.index("other"), cv.logits.argmax(axis=1))
    accuracy = float(np.mean(predicted == y))
    print(f"cross-validated accuracy {accuracy:.3f}; temperature {t:.3f}", flush=True)
    z = cv.logits / t
    p = np.exp(z - z.max(axis=1, keepdims=True))
    figures = reports(examples, args.datasets, y, predicted, (p / p.sum(axis=1, keepdims=True))[np.arange(len(y)), predicted])
    old = [e for e in examples if args.datasets in e.path.parents]
    meta = {"data": fingerprint(old), "files": len(examples), "folds": args.folds, "cv_accuracy": round(accuracy, 4)}
    if args.extra:  # dev + train's fingerprint stays checkable where the extra pools are not built
        added = [e for e in examples if args.datasets not in e.path.parents]
        meta |= {"extra_data": fingerprint(added), "extra_files": len(added), "cv": figures}
    model = fit(*training_rows(cv.prepared, np.arange(len(examples)), signals, config), config, temperature=t, meta=meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
