"""A real library: the 533 labelled Dirt-Samples drums in ../shared/datasets/dev."""

import csv
from pathlib import Path

import yaml
from conftest import tree_hashes

from tidalsort.cli import main


def test_sorts_every_sample_of_the_dev_set(dev: Path, tmp_path: Path) -> None:
    labels = {row["relative_path"]: row["label"] for row in csv.DictReader(open(dev / "labels.csv", newline=""))}
    before = tree_hashes(dev)
    out = tmp_path / "out"
    assert main(["sort", str(dev), "--out", str(out), "--bank", "dev"]) == 0
    entry = yaml.safe_load((out / "tidalsort.yaml").read_text())["banks"]["dev"]
    sorted_paths = [str(Path(s["source"]).relative_to(dev)) for s in entry["samples"]]
    assert sorted(sorted_paths) == sorted(labels)  # coverage 1.0: every labelled sample
    assert {Path(s["source"]).suffix for s in entry["skipped"]} <= {".csv", ".json", ".md"}
    files = sorted(p.name for p in (out / "dev").iterdir() if not p.name.startswith("."))
    assert files == [s["file"] for s in entry["samples"]] and files[0].startswith("000_")
    # neighbours share a label far more often than in a random order (about 0.15)
    seq = [labels[p] for p in sorted_paths]
    agreement = sum(a == b for a, b in zip(seq, seq[1:])) / (len(seq) - 1)
    assert agreement > 0.5
    assert tree_hashes(dev) == before
