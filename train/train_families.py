#!/usr/bin/env python3
"""Train the family model that tidalsort ships, from the labelled drums of ../shared/datasets.

    python train/train_families.py                      # writes tidalsort/families/data/families-v<N>.npz
    python train/train_families.py --subset 60 --out /tmp/small.npz   # a quick, smaller model

Deterministic: the same data and settings give the same weights. The steps: read dev and
train (10 families, ~1,700 one-shots); cross-validate with folds that keep every kit or
machine together, to calibrate the confidences (softmax temperature); train the ensemble
on everything; write the weights with what they were trained on (data fingerprint,
settings, cross-validated figures). Takes about ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tidalsort.families.model import model_path  # noqa: E402
from tidalsort.families.taxonomy import FAMILIES  # noqa: E402
from tidalsort.families.training import (  # noqa: E402
    TrainingConfig,
    cross_validate,
    fingerprint,
    fit,
    labelled_examples,
    read,
    temperature,
    training_rows,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=PROJECT.parent / "shared" / "datasets", help="folder holding dev/ and train/")
    parser.add_argument("--out", type=Path, default=model_path(), help="model file to write (default: the shipped model)")
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds for calibration (default: 10)")
    parser.add_argument("--subset", type=int, default=None, help="only every n-th labelled file (quick runs and tests)")
    parser.add_argument("--networks", type=int, default=None, help="networks in the ensemble (default: the configuration's)")
    args = parser.parse_args(argv)

    examples = labelled_examples(args.datasets)
    if args.subset:
        examples = examples[:: args.subset]
    config = TrainingConfig() if args.networks is None else replace(TrainingConfig(), networks=args.networks)
    print(f"{len(examples)} labelled files, {len({e.group for e in examples})} kits or machines", flush=True)
    signals, durations = read(examples)
    labels, groups = [e.label for e in examples], [e.group for e in examples]
    cv = cross_validate(signals, durations, labels, groups, config, args.folds, lambda f: print(f"fold {f + 1}/{args.folds} done", flush=True))
    y = np.array([FAMILIES.index(label) for label in labels])
    t = temperature(cv.logits, y)
    predicted = np.where(cv.novel, FAMILIES.index("other"), cv.logits.argmax(axis=1))
    accuracy = float(np.mean(predicted == y))
    print(f"cross-validated accuracy {accuracy:.3f}; temperature {t:.3f}", flush=True)
    meta = {"data": fingerprint(examples), "files": len(examples), "folds": args.folds, "cv_accuracy": round(accuracy, 4)}
    model = fit(*training_rows(cv.prepared, np.arange(len(examples)), signals, config), config, temperature=t, meta=meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
