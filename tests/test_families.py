"""Banks that know their instruments: the family model, grouping by family, and everything downstream."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DEV, manifest, require, run, write

from tidalsort.analysis.analyse import analyse
from tidalsort.analysis.features import FeatureSettings
from tidalsort.demo import RATE, closed_hat, kick, snare
from tidalsort.evaluate import read_labels
from tidalsort.families.model import FamilyModel, model_path
from tidalsort.families.taxonomy import ABBREVIATIONS, FAMILIES, family_of_label
from tidalsort.families.training import (
    TrainingConfig,
    cross_validate,
    extra_examples,
    fingerprint,
    fit,
    labelled_examples,
    prepare,
    read,
    training_rows,
)

DATASETS = DEV.parent
#: Share of dev's files whose written family is their label in a default sort, measured
#: with the shipped model (README "Families"; dev is part of its training data, so this
#: checks the whole path from files to written families, not how the model generalises).
DEV_AGREEMENT = 1.0


# --- the model --------------------------------------------------------------------------


def test_the_shipped_model_is_a_small_versioned_file_trained_on_dev_and_train() -> None:
    path = model_path()
    assert path.name == "families-v3.npz" and path.stat().st_size <= 10_000_000
    model = FamilyModel.load()
    assert model.meta["version"] == 3 and model.meta["config"] == json.loads(json.dumps(asdict(TrainingConfig())))
    # dev + train and the Debian pool of train/datasets/build.py (README "Families")
    assert model.meta["files"] == 1702 + model.meta["extra_files"] == 3890 and 0 < model.temperature
    probabilities = model.predict_proba(np.zeros((3, len(model.mean))))
    assert probabilities.shape == (3, len(FAMILIES)) and np.allclose(probabilities.sum(axis=1), 1.0)


def test_the_shipped_model_was_trained_on_exactly_these_labelled_files() -> None:
    require(DATASETS.is_dir(), f"the labelled datasets are missing at {DATASETS}")
    assert FamilyModel.load().meta["data"] == fingerprint(labelled_examples(DATASETS))
    pool = Path.home() / ".cache" / "tidalsort-drums"  # built by train/datasets/build.py, outside the repository
    if (pool / "manifest.csv").is_file():
        assert FamilyModel.load().meta["extra_data"] == fingerprint(extra_examples(pool))


def test_training_is_deterministic_on_a_small_subset(tmp_path: Path) -> None:
    require(DATASETS.is_dir(), f"the labelled datasets are missing at {DATASETS}")
    examples = labelled_examples(DATASETS)[::40]
    config = replace(TrainingConfig(), networks=2, epochs=20, copies=1, synthetic=20)
    signals, durations = read(examples)
    labels = [e.label for e in examples]

    def train(out: Path) -> FamilyModel:
        prepared = prepare(signals, durations, labels, config=config)
        fit(*training_rows(prepared, np.arange(len(examples)), signals, config), config).save(out)
        return FamilyModel.load(out)

    a, b = train(tmp_path / "a.npz"), train(tmp_path / "b.npz")
    for (wa, ba), (wb, bb) in zip(sum(a.networks, ()), sum(b.networks, ())):
        assert np.array_equal(wa, wb) and np.array_equal(ba, bb)
    assert np.array_equal(a.basis, b.basis) and a.novelty_limit == b.novelty_limit
    # and the cross-validation that calibrates the shipped model keeps kits on one side
    cv = cross_validate(signals, durations, labels, [e.group for e in examples], config=config, folds=3)
    for f in range(3):
        held_out = {examples[i].group for i in np.flatnonzero(cv.fold == f)}
        trained = {examples[i].group for i in np.flatnonzero(cv.fold != f)}
        assert not held_out & trained


def test_one_preparation_serves_settings_with_fewer_copies() -> None:
    require(DATASETS.is_dir(), f"the labelled datasets are missing at {DATASETS}")
    examples = labelled_examples(DATASETS)[::120]
    signals, durations = read(examples)
    labels, rows = [e.label for e in examples], np.arange(len(examples))
    one, two = (replace(TrainingConfig(), copies=n, synthetic=5) for n in (1, 2))
    X1, y1, w1 = training_rows(prepare(signals, durations, labels, config=one), rows, signals, one)
    prepared = prepare(signals, durations, labels, config=two)
    X, y, w = training_rows(prepared, rows, signals, one)
    assert np.array_equal(X, X1) and np.array_equal(y, y1) and np.array_equal(w, w1)
    assert len(training_rows(prepared, rows, signals, two)[0]) == len(X) + len(examples)
    with pytest.raises(ValueError, match="3 copies asked of sounds prepared with 2"):
        training_rows(prepared, rows, signals, replace(two, copies=3))


def test_the_training_script_writes_a_model_tidalsort_can_sort_with(tmp_path: Path, kit: Path) -> None:
    require(DATASETS.is_dir(), f"the labelled datasets are missing at {DATASETS}")
    import runpy

    out = tmp_path / "small.npz"
    script = runpy.run_path(str(Path(__file__).resolve().parent.parent / "train" / "train_families.py"))
    assert script["main"](["--subset", "60", "--folds", "2", "--networks", "1", "--out", str(out)]) == 0
    model = FamilyModel.load(out)
    assert model.meta["files"] == 29 and model.meta["folds"] == 2
    assert run("sort", kit, "--out", tmp_path / "root", "--bank", "kit", "--model", out) == 0
    assert manifest(tmp_path / "root")["banks"]["kit"]["settings"]["model"] == "families-v3"


# --- what the model hears ---------------------------------------------------------------


def _not_one_shots(folder: Path) -> list[Path]:
    """Sounds that are not drum one-shots, made differently from the training script's."""
    t = lambda seconds: np.arange(int(seconds * RATE)) / RATE  # noqa: E731
    norm = lambda x: 0.8 * x / np.abs(x).max()  # noqa: E731
    rng = np.random.default_rng(42)
    tt = t(3.0)
    chord = sum(np.sin(2 * np.pi * f * h * tt) / h for f in (261.6, 329.6, 392.0) for h in (1, 2, 3, 4))
    sounds = {"organ chord.wav": chord * np.minimum(tt / 0.3, 1)}
    tt = t(2.5)
    sounds["sine glide.wav"] = np.sin(2 * np.pi * np.cumsum(np.geomspace(100, 800, len(tt))) / RATE)
    noise, riser = rng.standard_normal(int(2 * RATE)), np.zeros(int(2 * RATE))
    for i, a in enumerate(np.geomspace(0.03, 0.9, len(noise))[1:], 1):  # a one-pole low-pass opening up
        riser[i] = riser[i - 1] + a * (noise[i] - riser[i - 1])
    sounds["noise riser.wav"] = riser
    loop = np.zeros(int(4 * RATE))
    for i, hit in enumerate("khshkksh" * 2):
        x = {"k": kick, "s": snare, "h": closed_hat}[hit](rng, 0.5)
        start = int(i * 0.25 * RATE)
        loop[start : start + len(x)] += x[: len(loop) - start]
    sounds["beat loop.wav"] = loop
    tt = t(2.0)
    sounds["fm pad.wav"] = np.sin(2 * np.pi * 220 * tt + 2 * np.sin(2 * np.pi * 440 * tt)) * np.minimum(tt / 0.6, 1)
    return [write(folder / name, norm(x)) for name, x in sounds.items()]


def test_sounds_that_are_not_drum_one_shots_go_to_other(tmp_path: Path) -> None:
    paths = _not_one_shots(tmp_path / "not drums")
    analysis = analyse(paths, FeatureSettings(), jobs=1)
    families, confidence = FamilyModel.load().predict(analysis.family_inputs)
    assert dict(zip((p.name for p in analysis.sources), families)) == {p.name: "other" for p in paths}
    assert np.all((0 < confidence) & (confidence <= 1))


def test_a_default_sort_of_dev_agrees_with_its_labels(dev: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", dev, "--out", out, "--bank", "dev", "--no-dendrogram") == 0
    entry = manifest(out)["banks"]["dev"]
    labels = read_labels(dev / "labels.csv")
    written = [(labels[s["source"]], s["family"]) for s in entry["samples"]]
    assert np.mean([a == b for a, b in written]) >= DEV_AGREEMENT - 0.02
    # families in the fixed order, each contiguous, cut into clusters labelled kick, kick-2, ...
    order = [r["family"] for r in entry["families"]]
    assert order == sorted(order, key=FAMILIES.index) and len(order) == len(set(order))
    for c in entry["clusters"]:
        members = entry["samples"][c["start"] : c["stop"]]
        assert {s["family"] for s in members} == {c["family"]}
        assert family_of_label(c["label"]) == c["family"]
    assert max(c["size"] for c in entry["clusters"]) <= 0.25 * len(entry["samples"])


# --- banks by family, and what reads them ------------------------------------------------


@pytest.fixture
def drums(dev: Path, tmp_path: Path) -> Path:
    """40 real one-shots of four families from dev (kicks, snares, closed and open hats), in one messy folder."""
    folder = tmp_path / "drums"
    folder.mkdir()
    for kit, count in (("bd", 12), ("sn", 12), ("hc", 6), ("ho", 6), ("cr", 4)):
        for path in sorted((dev / kit).iterdir())[:count]:
            shutil.copy(path, folder / f"{kit}-{path.name}")
    return folder


def test_layout_families_writes_one_folder_per_family_under_drum_machine_names(drums: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", drums, "--out", out, "--bank", "kb6", "--layout", "families") == 0
    entry = manifest(out)["banks"]["kb6"]
    folders = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders == sorted(f"kb6_{ABBREVIATIONS[f]}" for f in {s["family"] for s in entry["samples"]})
    assert {"kb6_bd", "kb6_sd", "kb6_hh"} <= set(folders)
    for run_ in entry["families"]:  # one run per family, each a whole folder in n order
        names = sorted(p.name for p in (out / run_["folder"]).iterdir() if not p.name.startswith("."))
        assert run_["folder"] == f"kb6_{ABBREVIATIONS[run_['family']]}" and (run_["start"], run_["stop"]) == (0, len(names))
        assert [s["file"] for s in entry["samples"] if s["folder"] == run_["folder"]] == names
    assert "kb6_bd" in json.loads((out / "strudel.json").read_text())
    assert '"kb6_bd"' in (out / "tidalsort-banks.hs").read_text()


def test_layout_families_refuses_bank_names_with_an_underscore(drums: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run("sort", drums, "--out", tmp_path / "out", "--bank", "my_kit", "--layout", "families") == 1
    assert "'_'" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_manifest_gives_every_sample_a_family_and_every_family_its_n_range(drums: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", drums, "--out", out, "--bank", "kb6") == 0
    data = manifest(out)
    entry = data["banks"]["kb6"]
    assert data["version"] == 3 and entry["settings"]["group"] == "families" and entry["settings"]["model"] == "families-v3"
    assert all(s["family"] in FAMILIES and 0 < s["confidence"] <= 1 for s in entry["samples"])
    for r in entry["families"]:
        assert {s["family"] for s in entry["samples"][r["start"] : r["stop"]]} == {r["family"]}
        assert r["size"] == r["stop"] - r["start"]
    assert sum(r["size"] for r in entry["families"]) == len(entry["samples"])
    kicks = [s for s in entry["samples"] if "bd-" in s["source"]]
    assert all(s["family"] == "kick" for s in kicks)


def test_a_family_keeps_its_clusters_and_labels_when_samples_are_added(drums: Path, dev: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", drums, "--out", out, "--bank", "kb6") == 0
    before = manifest(out)["banks"]["kb6"]
    members = lambda e, label: {s["source"] for s in e["samples"] if e["clusters"][s["cluster"]]["label"] == label}  # noqa: E731
    kick_labels = [c["label"] for c in before["clusters"] if c["family"] == "kick"]
    for path in sorted((dev / "ho").iterdir())[6:]:  # more open hats: other families must not move
        shutil.copy(path, drums / f"ho-{path.name}")
    assert run("sort", drums, "--out", out, "--bank", "kb6") == 0
    after = manifest(out)["banks"]["kb6"]
    assert [c["label"] for c in after["clusters"] if c["family"] == "kick"] == kick_labels
    for label in kick_labels:
        assert members(after, label) == members(before, label)


def test_group_sound_clusters_the_whole_bank_by_sound(drums: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", drums, "--out", out, "--bank", "kb6", "--group", "sound", "--clusters", "3") == 0
    entry = manifest(out)["banks"]["kb6"]
    assert entry["settings"]["group"] == "sound" and len(entry["clusters"]) == 3
    for c in entry["clusters"]:  # each cluster is labelled by the family most of its members have
        members = [s["family"] for s in entry["samples"][c["start"] : c["stop"]]]
        assert members.count(c["family"]) == max(members.count(f) for f in members)


def test_report_and_similar_speak_families(drums: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert run("sort", drums, "--out", out, "--bank", "kb6") == 0
    capsys.readouterr()
    assert run("report", out, "--bank", "kb6") == 0
    text = capsys.readouterr().out
    assert "bank kb6: families" in text and "kick" in text and "confidence" in text and "kick-2" in text
    kick = next(p for p in sorted(drums.iterdir()) if p.name.startswith("bd-"))
    assert run("similar", kick, "--out", out, "-k", "3") == 0
    text = capsys.readouterr().out
    assert "(itself kick," in text and " kick " in text
    assert run("similar", kick, "--out", out, "-k", "3", "--json") == 0
    answers = json.loads(capsys.readouterr().out)
    assert all(a["family"] == "kick" and 0 < a["confidence"] <= 1 for a in answers)


def test_banks_sorted_before_families_are_still_read(drums: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert run("sort", drums, "--out", out, "--bank", "kb6") == 0
    text = (out / "tidalsort.yaml").read_text()
    old = yaml.safe_load(text)
    old["version"] = 1
    entry = old["banks"]["kb6"]
    del entry["families"], entry["settings"]["group"], entry["settings"]["names"], entry["settings"]["model"]
    for record in entry["samples"] + entry["clusters"]:
        record.pop("family", None)
        record.pop("confidence", None)
    (out / "tidalsort.yaml").write_text(yaml.safe_dump(old))
    capsys.readouterr()
    assert run("report", out) == 0
    text = capsys.readouterr().out
    assert "bank kb6" in text and "families" not in text.split("\n")[0]
    assert run("similar", "kb6:0", "--out", out, "-k", "2") == 0
    # sorting another bank into the root keeps the old entry and writes version 2
    assert run("sort", drums, "--out", out, "--bank", "second") == 0
    data = manifest(out)
    assert data["version"] == 3 and "families" not in data["banks"]["kb6"] and "families" in data["banks"]["second"]


def test_the_dendrogram_is_coloured_by_family(tmp_path: Path) -> None:
    import matplotlib.image

    from tidalsort.organise.grouping import group_by_family
    from tidalsort.output.colours import FAMILY_COLOURS
    from tidalsort.output.dendrogram import draw

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (8, 3)), rng.normal(6, 1, (8, 3))])
    names = np.array(["snare"] * 8 + ["kick"] * 8)
    ordering, _ = group_by_family(X, names)
    leaves = [f"kb6:{p} x" for p in range(16)]

    def colours(families: list[str] | None) -> set[str]:
        path = tmp_path / "d.png"
        draw(ordering.tree, ordering.order, leaves, ordering.boundaries, title="t", path=path, families=families)
        pixels = (matplotlib.image.imread(path)[..., :3] * 255).round().astype(int).reshape(-1, 3)
        found = {"#{:02x}{:02x}{:02x}".format(*p) for p in np.unique(pixels, axis=0)}
        return {f for f, c in FAMILY_COLOURS.items() if c in found}

    drawn = colours([str(names[r]) for r in ordering.order]) - {"other"}  # other is grey, like the axes
    assert drawn == {"kick", "snare"}
    assert colours(["perc"] * 16) - {"other"} == {"perc"}


def test_compare_cross_validates_settings_with_and_without_the_kit_as_context(capsys: pytest.CaptureFixture[str]) -> None:
    require(DATASETS.is_dir(), f"the labelled datasets are missing at {DATASETS}")
    import runpy

    script = runpy.run_path(str(Path(__file__).resolve().parent.parent / "train" / "compare.py"))
    quick = '{"epochs": 5, "synthetic": 10, "copies": 1}'
    assert script["main"](["--subset", "60", "--folds", "2", "--networks", "1", "--context", "2", quick]) == 0
    out = capsys.readouterr().out
    assert f"{quick} context 2" in out and "  dev + train: accuracy " in out and "one-instrument folders: " in out
    # where a sound sits in its folder: the lowest of three is rank -1, the highest +1; a folder of one says nothing
    members = np.array([[0.0], [1.0], [5.0], [3.0]])
    folder = np.array([0, 0, 0, 1])
    where = script["context"](members, folder, members, folder)
    assert list(where[:3, 1]) == [-1.0, 0.0, 1.0] and where[1, 0] == 0.0 and not where[3].any()
