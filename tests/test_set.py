"""tidalsort set: the user's word on families, kept by the sound's bytes, applied by re-sorting from the cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run

from tidalsort.analysis import analyse
from tidalsort.output.manifest import load
from tidalsort.output.overrides import load_overrides, overrides_path


def by_sha1(root: Path, bank: str = "kb6") -> dict[str, dict]:
    return {s["sha1"]: s for s in load(root).to_dict()["banks"][bank]["samples"]}


@pytest.fixture
def root(kit: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kb6", "--no-dendrogram") == 0
    return out


@pytest.fixture
def no_analysis(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file analysed (not read from the cache) from here on."""
    analysed: list[Path] = []
    compute = analyse._compute
    monkeypatch.setattr(analyse, "_compute", lambda paths, *rest: analysed.extend(paths) or compute(paths, *rest))
    return analysed


def test_set_one_sample_sorts_the_bank_again_from_the_cache(root: Path, no_analysis: list[Path]) -> None:
    sample = load(root).to_dict()["banks"]["kb6"]["samples"][0]
    new = "cymbal" if sample["family"] != "cymbal" else "kick"
    assert run("set", "kb6:0", new, "--out", root) == 0
    assert by_sha1(root)[sample["sha1"]]["family"] == new
    assert load_overrides(root)[sample["sha1"]][0] == new
    assert no_analysis == []
    runs = {r["family"] for r in load(root).to_dict()["banks"]["kb6"]["families"]}
    assert new in runs  # the sample moved into its family's run


def test_a_range_an_abbreviation_and_a_file(root: Path, kit: Path) -> None:
    assert run("set", "kb6:2..4", "oh", "--out", root) == 0
    assert sum(s["family"] == "hihat_open" for s in load(root).to_dict()["banks"]["kb6"]["samples"]) >= 3
    source = kit / "bells" / "bell_0.wav"
    assert run("set", source, "rim", "--out", root) == 0
    assert [s["family"] for s in load(root).to_dict()["banks"]["kb6"]["samples"] if s["source"].endswith("bell_0.wav")] == ["rim"]


def test_the_choice_holds_for_a_renamed_bank_and_moved_files(root: Path, kit: Path, tmp_path: Path) -> None:
    assert run("set", kit / "hat 03.wav", "clap", "--out", root) == 0
    [sha1] = load_overrides(root)
    moved = tmp_path / "moved"
    shutil.copytree(kit, moved)
    (moved / "hat 03.wav").rename(moved / "renamed.wav")
    assert run("sort", moved, "--out", root, "--bank", "other", "--no-dendrogram") == 0
    assert by_sha1(root, "other")[sha1]["family"] == "clap"


def test_clear_gives_the_family_back_to_the_audio(root: Path) -> None:
    sample = load(root).to_dict()["banks"]["kb6"]["samples"][5]
    assert run("set", "kb6:5", "other" if sample["family"] != "other" else "kick", "--out", root) == 0
    where = next(f"kb6:{s['n']}" for s in load(root).to_dict()["banks"]["kb6"]["samples"] if s["sha1"] == sample["sha1"])
    assert run("set", where, "--clear", "--out", root) == 0
    assert by_sha1(root)[sample["sha1"]]["family"] == sample["family"]
    assert load_overrides(root) == {}


def test_with_layout_families_the_sample_moves_to_its_familys_folder(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kb6", "--layout", "families", "--no-dendrogram") == 0
    sample = load(out).to_dict()["banks"]["kb6"]["samples"][0]
    assert run("set", f"{sample['folder']}:0", "tom", "--out", out) == 0
    moved = by_sha1(out)[sample["sha1"]]
    assert moved["folder"] == "kb6_tom" and (out / "kb6_tom" / moved["file"]).is_file()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["kb6:0", "banjo"], "'banjo' is not a family"),
        (["kb6:99", "kick"], "kb6 holds n 0..17"),
        (["kb6:3..1", "kick"], "kb6 holds n 0..17"),
        (["nope:1", "kick"], "no bank folder 'nope'"),
        (["kb6:1"], "give a FAMILY, or --clear"),
        (["kb6:1", "kick", "--clear"], "give a FAMILY, or --clear"),
        (["/no/such.wav", "kick"], "neither FOLDER:N"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(root: Path, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = (root / "tidalsort.yaml").read_bytes()
    capsys.readouterr()
    assert run("set", *argv, "--out", root) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert (root / "tidalsort.yaml").read_bytes() == manifest and not overrides_path(root).exists()


def test_a_sound_in_no_bank_is_refused(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stranger = tmp_path / "stranger.wav"
    stranger.write_bytes(b"RIFF not in any bank")
    capsys.readouterr()
    assert run("set", stranger, "kick", "--out", root) == 1
    assert "no bank here holds this sound" in capsys.readouterr().err
