"""Names benchmark: how many labelled files does the name reader name, and how often is it right?

On ../shared/datasets (dev: 533 Dirt-Samples drums, train: 1,169 drum-machine one-shots),
dev and train apart. Caution: the labels were themselves made from folder names and
file-name words (see the datasets' README), so agreement is an upper bound of what the
reader gets right on names nobody has cleaned up; what it does not name, and where it
disagrees, are the informative part (``--show``).

``reader``
    Files named (share of all), and named files whose family is the label (share of the
    named), in all and per label.
``audio`` (``--audio``)
    Where the name names a family and the audio model disagrees with confidence >= c,
    how often the name is right and how often the audio is. The audio is the family model
    cross-validated with folds that keep every kit or machine together (the code and
    settings of train/train_families.py; the shipped model has heard these very files,
    so its own confidences would flatter the audio). About ten minutes on two cores; the
    out-of-fold logits are kept in ``--cv`` and read from there next time.

Measured 2026-12-05: dev 490 of 533 files named (91.9%; before this reader 467, of which
435 agreed), all 490 agree; train 1,169 of 1,169 named (before: 1,089, 977 agreed), 1,168
agree (``misc/CYMBAL_062.wav``, labelled other). Dev's unnamed: 22 ``hit``s (no evidence
by design), the Sequential Tom's ``Tom Clap.wav``... (two drums), ``cc/CSHD0.wav``,
``P1.wav``, ``flam.wav``, ``hh3rerc1.wav``, ``hh27opendhh.wav``, ``RIMA.wav``. Audio
(cross-validated accuracy 79.3%, as train/train_families.py reports): 337 named files
where it hears another family; the label is the name's in 336, the audio's in 1; at
confidence >= 0.9, 19 files, all the name's.

    python bench/names.py                    # the reader's figures
    python bench/names.py --show dev         # and dev's unnamed and disagreeing files
    python bench/names.py --audio --cv /tmp/names-cv.npz
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

import numpy as np

from tidalsort.families.filenames import name_family
from tidalsort.families.taxonomy import FAMILIES
from tidalsort.families.training import TrainingConfig, cross_validate, labelled_examples, read, temperature

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SETS = ("dev", "train")
THRESHOLDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


def labelled(name: str) -> list[tuple[Path, str]]:
    """(path, label) of every file of ``datasets/<name>/labels.csv``."""
    with open(DATASETS / name / "labels.csv", newline="", encoding="utf-8") as f:
        return [(DATASETS / name / row["relative_path"], row["label"]) for row in csv.DictReader(f)]


def reader_part(show: set[str]) -> None:
    for name in SETS:
        rows = labelled(name)
        named = [(path, label, name_family(path)) for path, label in rows]
        hits = [r for r in named if r[2] is not None]
        right = [r for r in hits if r[2] == r[1]]
        print(
            f"{name}: {len(hits)}/{len(rows)} named ({len(hits) / len(rows):.1%}), {len(right)}/{len(hits)} of them agree with the label ({len(right) / max(len(hits), 1):.1%})"
        )
        for family in FAMILIES:
            of = [r for r in named if r[1] == family]
            n = sum(r[2] is not None for r in of)
            ok = sum(r[2] == family for r in of)
            print(f"  {family:13} {len(of):4} files  {n:4} named  {ok:4} agree")
        if name in show:
            for path, label, family in named:
                if family != label:
                    print(f"    {'unnamed' if family is None else family:13} label {label:13} {path.relative_to(DATASETS / name)}")


def cross_validated(cache: Path | None) -> dict[str, np.ndarray]:
    """Out-of-fold logits of the family model over dev + train, with paths, labels, temperature."""
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            return dict(data)
    examples = labelled_examples(DATASETS)
    signals, durations = read(examples)
    labels = [e.label for e in examples]
    cv = cross_validate(
        signals,
        durations,
        labels,
        [e.group for e in examples],
        config=TrainingConfig(),
        folds=10,
        progress=lambda f: print(f"  fold {f + 1}/10 trained", flush=True),
    )
    y = np.array([FAMILIES.index(label) for label in labels])
    result = {
        "logits": cv.logits,
        "novel": cv.novel,
        "paths": np.array([str(e.path) for e in examples]),
        "labels": np.array(labels),
        "temperature": np.array(temperature(cv.logits, y)),
    }
    if cache is not None:
        np.savez(cache, **result)
    return result


def audio_part(cache: Path | None) -> None:
    cv = cross_validated(cache)
    z = cv["logits"] / float(cv["temperature"])
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    best = np.where(cv["novel"], FAMILIES.index("other"), p.argmax(axis=1))  # as FamilyModel.predict
    audio = np.array(FAMILIES)[best]
    confidence = p[np.arange(len(p)), best]
    names = np.array([name_family(path) or "" for path in cv["paths"]])
    which = np.array([Path(path).relative_to(DATASETS).parts[0] for path in cv["paths"]])
    labels = cv["labels"]
    print(
        f"audio: cross-validated accuracy {np.mean(audio == labels):.1%}; where the name names a family, name {np.mean((names == labels)[names != '']):.1%} and audio {np.mean((audio == labels)[names != '']):.1%} agree with the label"
    )
    for subset in (*SETS, "dev+train"):
        rows = (which == subset) if subset in SETS else np.ones(len(labels), dtype=bool)
        print(f"{subset}: named files where the audio says another family with confidence >= c")
        print("      c   files  name right  audio right  neither")
        for c in THRESHOLDS:
            d = rows & (names != "") & (names != audio) & (confidence >= c)
            n = int(d.sum())
            name_ok, audio_ok = int((names[d] == labels[d]).sum()), int((audio[d] == labels[d]).sum())
            print(f"  {c:5.2f}  {n:6}  {name_ok:10}  {audio_ok:11}  {n - name_ok - audio_ok:7}")
        d = rows & (names != "") & (names != audio) & (confidence >= 0.9)
        pairs = Counter(zip(names[d], audio[d], labels[d]))
        for (named, heard, label), count in pairs.most_common(12):
            print(f"    name {named:13} audio {heard:13} label {label:13} {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", action="append", default=[], choices=SETS, help="list the set's unnamed and disagreeing files")
    parser.add_argument(
        "--audio", action="store_true", help="also measure names against the cross-validated audio model (about ten minutes)"
    )
    parser.add_argument(
        "--cv",
        type=Path,
        default=None,
        metavar="FILE",
        help="keep the out-of-fold logits in FILE (.npz) and read them from there when it exists",
    )
    args = parser.parse_args()
    reader_part(set(args.show))
    if args.audio:
        audio_part(args.cv)


if __name__ == "__main__":
    main()
