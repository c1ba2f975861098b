#!/usr/bin/env python3
"""Compare settings of the family model with kit-grouped folds: how the shipped settings were chosen.

    python train/compare.py --extra ~/.cache/tidalsort-drums-v3 '{}' '{"hidden": [256, 128]}' '{"hidden": [512]}'
    python train/compare.py --extra ~/.cache/tidalsort-drums-v3 --networks 2 --context 8 '{}'

Every SETTINGS is a JSON object of :class:`~tidalsort.families.training.TrainingConfig`
fields that differ from the defaults. The sounds and their augmented copies are prepared
once (with the most copies any setting asks for); each setting is then cross-validated
with the folds of ``train/train_families.py`` (kits, machines and font families never on
both sides). Printed per setting: accuracy, macro-F1, the lowest recall, ECE, on the whole
pool and on dev + train, and accuracy on the files of kit folders (two families or more)
and of one-instrument folders (``bd/``, ``Kicks/``) apart.

``--context K`` tries the kit as context (not shipped; figures in docs/families.md): every
sound also gets where it sits among the other sounds of its folder, along the first K
principal axes of the model's input: its offset from the folder's median, its rank, the
folder's spread and size. A folder is a file's parent folder, or a sound font's preset.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "train")]  # tidalsort, and train_families beside this script

from train_families import figures  # noqa: E402

from tidalsort.families.taxonomy import FAMILIES  # noqa: E402
from tidalsort.families.training import (  # noqa: E402
    Example,
    Prepared,
    TrainingConfig,
    extra_examples,
    fit,
    group_folds,
    labelled_examples,
    prepare,
    read,
    temperature,
    training_rows,
)

#: Made-up ``other`` sounds share a folder in tens (a folder of pads, of loops...).
MADE_UP_FOLDER = 10


def folders(examples: list[Example], extra: list[Path]) -> np.ndarray:
    """Folder of every example as an index: its parent folder, or its kit (a font's preset) in an extra pool."""
    kits = {}
    for pool in extra:
        with open(pool / "manifest.csv", newline="", encoding="utf-8") as f:
            kits |= {str(pool / row["relative_path"]): row["kit"] for row in csv.DictReader(f)}
    names = [f"{e.path.parent}/{kits.get(str(e.path), '')}" for e in examples]
    return np.unique(np.array(names), return_inverse=True)[1].reshape(-1)


def context(members: np.ndarray, folder: np.ndarray, rows: np.ndarray, row_folder: np.ndarray) -> np.ndarray:
    """Where each of ``rows`` sits among the ``members`` of its folder (both projected on the same axes).

    Per axis: offset from the folder's median in units of its spread (+1), rank in the
    folder (-1 lowest, 1 highest), the folder's spread; then the log of the folder's size.
    A folder of one sound has all zeros.
    """
    k = members.shape[1]
    out = np.zeros((len(rows), 3 * k + 1))
    for f in np.unique(row_folder):
        m, q = members[folder == f], np.flatnonzero(row_folder == f)
        if len(m) < 2:
            continue
        spread = m.std(axis=0)
        below = (m[None] < rows[q][:, None]).sum(axis=1) + 0.5 * (m[None] == rows[q][:, None]).sum(axis=1) - 0.5
        out[q, :k] = (rows[q] - np.median(m, axis=0)) / (spread + 1.0)
        out[q, k : 2 * k] = 2 * np.clip(below / (len(m) - 1), 0, 1) - 1
        out[q, 2 * k : 3 * k] = spread
        out[q, -1] = np.log(len(m))
    return out


def with_context(
    prepared: Prepared, train: np.ndarray, test: np.ndarray, X: np.ndarray, *, folder: np.ndarray, config: TrainingConfig, axes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training rows ``X`` (of :func:`training_rows`) and the test rows, each with its :func:`context` appended."""
    mean, scale = prepared.X[train].mean(axis=0), prepared.X[train].std(axis=0) + 1e-9
    z = (prepared.X[train] - mean) / scale
    centre = z.mean(axis=0)
    basis = np.linalg.svd(z - centre, full_matrices=False)[2][:axes].T

    def project(rows: np.ndarray) -> np.ndarray:
        return ((rows - mean) / scale - centre) @ basis

    keep = np.flatnonzero(prepared.copies_of(train, config.copies))
    members, copies = project(prepared.X[train]), len(keep)
    made_up = project(X[len(X) - config.synthetic :])
    train_context = np.concatenate(
        [
            context(members, folder[train], members, folder[train]),
            context(members, folder[train], project(X[len(train) : len(train) + copies]), folder[prepared.source[keep]]),
            context(made_up, np.arange(len(made_up)) // MADE_UP_FOLDER, made_up, np.arange(len(made_up)) // MADE_UP_FOLDER),
        ]
    )
    tested = project(prepared.X[test])
    return np.hstack([X, train_context]), np.hstack([prepared.X[test], context(tested, folder[test], tested, folder[test])])


def summary(y: np.ndarray, said: np.ndarray, confidence: np.ndarray) -> str:
    """:func:`train_families.figures` in one line: accuracy, macro-F1, lowest recall (and its family), ECE."""
    result = figures(y, said, confidence)
    family, lowest = min(result["recall"].items(), key=lambda item: item[1])
    return f"accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}, lowest recall {lowest:.2f} ({family}), ECE {result['ece']:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("settings", nargs="+", help="JSON object of TrainingConfig fields, e.g. '{\"hidden\": [256, 128]}'")
    parser.add_argument("--datasets", type=Path, default=PROJECT.parent / "shared" / "datasets", help="folder holding dev/ and train/")
    parser.add_argument("--extra", type=Path, action="append", default=[], help="a pool written by train/datasets/build.py (repeatable)")
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds (default: 10)")
    parser.add_argument("--networks", type=int, default=None, help="networks per ensemble, for every setting (quicker with 2)")
    parser.add_argument("--subset", type=int, default=None, help="only every n-th labelled file (quick runs)")
    parser.add_argument("--context", type=int, default=0, metavar="K", help="add the kit as context along K principal axes")
    args = parser.parse_args(argv)

    pools = [p.expanduser() for p in args.extra]
    examples = (labelled_examples(args.datasets) + [e for p in pools for e in extra_examples(p)])[:: args.subset or 1]
    configs = []
    for text in args.settings:
        fields = json.loads(text)
        fields |= {"hidden": tuple(fields["hidden"])} if "hidden" in fields else {}
        fields |= {"networks": args.networks} if args.networks else {}
        configs.append(replace(TrainingConfig(), **fields))
    signals, durations = read(examples)
    most = max(configs, key=lambda c: c.copies)
    prepared = prepare(signals, durations, [e.label for e in examples], config=most, sounds=[e.sound for e in examples])
    y, folder = prepared.y, folders(examples, pools)
    kit_folder = np.array([len(set(y[folder == f])) > 1 for f in folder])
    old = np.array([args.datasets in e.path.parents for e in examples])
    test_rows = group_folds([e.group for e in examples], args.folds)
    for text, config in zip(args.settings, configs):
        if config.seed != most.seed:
            raise SystemExit(f"{text}: every setting must use the seed its copies were prepared with ({most.seed})")
        logits, novel = np.zeros((len(y), len(FAMILIES))), np.zeros(len(y), dtype=bool)
        for test in test_rows:
            train = np.setdiff1d(np.arange(len(y)), test)
            X, fy, weights = training_rows(prepared, train, signals, config)
            tested = prepared.X[test]
            if args.context:
                X, tested = with_context(prepared, train, test, X, folder=folder, config=config, axes=args.context)
            model = fit(X, fy, weights, config)
            logits[test], novel[test] = model.logits(tested), model.novelty(tested) > model.novelty_limit
        said = np.where(novel, FAMILIES.index("other"), logits.argmax(axis=1))
        z = logits / temperature(logits, y)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        confidence = (p / p.sum(axis=1, keepdims=True))[np.arange(len(y)), said]
        print(f"{text}{f' context {args.context}' if args.context else ''}", flush=True)
        print(f"  whole pool: {summary(y, said, confidence)}")
        print(f"  dev + train: {summary(y[old], said[old], confidence[old])}")
        for name, rows in (("kit folders", kit_folder), ("one-instrument folders", ~kit_folder)):
            print(f"  {name}: {rows.sum()} files, accuracy {np.mean(said[rows] == y[rows]):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
