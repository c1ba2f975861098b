"""Similarity search, cluster labels and the quality evaluation."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tone, write

from tidalsort.cli import main
from tidalsort.evaluate import (
    adjacent_agreement,
    knn_precision,
    purity,
    random_agreement,
)
from tidalsort.families.filenames import name_family
from tidalsort.families.taxonomy import family_of_label, numbered
from tidalsort.similarity import Library, nearest_rows


def test_nearest_rows_are_sorted_deterministic_and_exclude() -> None:
    X = np.array([[0.0], [1.0], [1.0], [5.0], [-2.0]])
    rows, dist = nearest_rows(X, np.array([0.9]), 3)
    assert list(rows) == [1, 2, 0] and np.allclose(dist, [0.1, 0.1, 0.9])
    rows, _ = nearest_rows(X, X[1], 2, exclude=1)
    assert list(rows) == [2, 0]
    assert len(nearest_rows(X, X[0], 10, exclude=0)[0]) == 4


def test_metrics_on_known_sequences() -> None:
    assert adjacent_agreement(list("aaabbb")) == pytest.approx(4 / 5)
    assert random_agreement(list("aabb")) == pytest.approx(0.5)
    assert purity(list("aabbc"), [0, 0, 1, 1, 1]) == pytest.approx(4 / 5)
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    assert knn_precision(X, list("aaabbb"), k=2) == 1.0
    assert knn_precision(X, list("ababab"), k=1) < 0.5
    assert knn_precision(X, list("aaabba"), k=2, rows=[0, 1]) == 1.0
    assert knn_precision(X, list("aaabba"), k=2, rows=[5]) == 0.0


def test_file_and_folder_names_name_families() -> None:
    assert name_family("/x/Kick 03.wav") == "kick"
    assert name_family("/lib/bd/BT0A0A7.wav") == "kick"  # the folder names it
    assert name_family("/x/hh/000_hh3closedhh.wav") == "hihat_closed"
    assert name_family("/x/SnareRoll.wav") == "snare"  # camelCase
    assert name_family("/x/openhat_2.aif") == "hihat_open"
    assert name_family("/x/thing/zap 1.wav") is None


def test_cluster_labels_number_each_family_in_bank_order() -> None:
    assert numbered(["kick", "hihat_closed", "kick", "kick"]) == ["kick", "hihat_closed", "kick-2", "kick-3"]
    assert [family_of_label(label) for label in ("kick", "kick-12", "hihat_open-2", "other")] == ["kick", "kick", "hihat_open", "other"]


@pytest.fixture
def sorted_kit(kit: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kit", "--group", "sound", "--clusters", "3"]) == 0
    return out


def test_cluster_labels_name_their_family_and_reach_tidal(sorted_kit: Path) -> None:
    entry = Library(sorted_kit).entries["kit"].to_dict()
    labels = [c["label"] for c in entry["clusters"]]
    assert labels == numbered([c["family"] for c in entry["clusters"]])
    assert f'"{" ".join(labels)}"' in (sorted_kit / "tidalsort-banks.hs").read_text()


def test_similar_to_a_file_outside_the_library(sorted_kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    query = write(tmp_path / "new tom.wav", tone(75, 0.4))
    assert main(["similar", str(query), "--out", str(sorted_kit), "-k", "4", "--json"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert len(answers) == 4
    assert all("Low Toms" in a["source"] for a in answers)
    assert [a["distance"] for a in answers] == sorted(a["distance"] for a in answers)
    assert all(a["ref"].startswith("kit:") for a in answers)


def test_similar_to_a_bank_reference_never_answers_itself(sorted_kit: Path, capsys: pytest.CaptureFixture) -> None:
    library = Library(sorted_kit)
    hat = next(s for s in library.entries["kit"].samples if "hat" in s.source)
    ref = f"kit:{hat.n}"
    answers = library.query(ref, 5)
    assert ref not in [a.ref for a in answers]
    assert all("hat" in a.source for a in answers)
    assert main(["similar", ref, "--out", str(sorted_kit), "-k", "2"]) == 0
    text = capsys.readouterr().out
    assert 'd1 $ s "kit*2" # n "' in text
    assert main(["similar", "kit:999", "--out", str(sorted_kit)]) == 1
    assert "no sample 'kit:999'" in capsys.readouterr().err


def test_similar_with_the_same_file_finds_it_at_distance_zero(sorted_kit: Path, kit: Path) -> None:
    answers = Library(sorted_kit).query(kit / "bells" / "bell_2.wav", 1)
    assert answers[0].source.endswith("bell_2.wav") and answers[0].distance == pytest.approx(0, abs=1e-9)


def test_eval_command_reports_every_metric(sorted_kit: Path, kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["relative_path", "label"])
        for path in sorted(kit.rglob("*.wav")):
            w.writerow([path.relative_to(tmp_path), path.parent.name if path.parent != kit else "hat"])
        w.writerow(["kit/missing.wav", "hat"])  # given but not sorted: coverage < 1
    capsys.readouterr()
    assert main(["eval", str(sorted_kit), "--bank", "kit", "--labels", str(labels), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["samples"] == 18 and figures["labels"] == 3
    assert figures["coverage"] == pytest.approx(18 / 19)
    assert figures["agreement"] == pytest.approx(15 / 17)  # three contiguous families
    assert figures["random_agreement"] == pytest.approx(3 * (6 / 18) ** 2)
    assert figures["ari"] == pytest.approx(1.0) and figures["purity"] == 1.0 and figures["knn5"] > 0.9


@pytest.mark.parametrize("damage", ["garbage", "pickled", "rows"])
def test_a_damaged_feature_index_leaves_only_its_bank_out(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture, damage: str) -> None:
    out = tmp_path / "out"
    assert main(["sort", str(kit / "Low Toms"), "--out", str(out), "--bank", "toms"]) == 0
    assert main(["sort", str(kit / "bells"), "--out", str(out), "--bank", "bells"]) == 0
    index = out / ".tidalsort" / "features-bells.npz"
    if damage == "garbage":
        index.write_bytes(b"PK\x03\x04 not a zip at all")
    elif damage == "pickled":
        np.savez(index, features=np.array([{"x": 1}], dtype=object))
    else:
        with np.load(index) as data:
            arrays = dict(data)
        np.savez(index, **{**arrays, "features": arrays["features"][:3]})
    capsys.readouterr()
    assert main(["similar", str(kit / "Low Toms" / "Tom 2.wav"), "--out", str(out), "-k", "3", "--json"]) == 0
    captured = capsys.readouterr()
    assert [a["bank"] for a in json.loads(captured.out)] == ["toms"] * 3
    assert "warning: bank 'bells' is not searched" in captured.err and "sort it again" in captured.err
    assert main(["similar", "toms:0", "--out", str(out), "--bank", "bells"]) == 1
    assert "no searchable tidalsort banks" in capsys.readouterr().err
