"""Sort options are checked at the door: a bad value is refused in one line before any file is read."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tidalsort import pipeline as pipeline_module
from tidalsort.analysis.features import FeatureSettings
from tidalsort.cli import main
from tidalsort.errors import BadOption, TidalsortError, UsageError
from tidalsort.pipeline import SortOptions, sort_library


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("layout", "bogus", "unknown layout 'bogus'; choose from bank, split, families"),
        ("link", "bogus", "unknown link mode 'bogus'; choose from copy, symlink, hardlink"),
        ("method", "bogus", "unknown clustering method 'bogus'; choose from ward, kmeans"),
        ("scaling", "bogus", "unknown scaling 'bogus'; choose from standard, none"),
        ("order", "bogus", "unknown order 'bogus'; choose from refined, optimal, tree"),
        ("strategy", "bogus", "unknown strategy 'bogus'; choose from auto, exact, summary"),
        ("group", "bogus", "unknown grouping 'bogus'; choose from families, sound"),
        ("group", None, "unknown grouping None"),
        ("clusters", 0, "clusters must be a whole number of at least 1 (or None: automatic), not 0"),
        ("clusters", 2.5, "clusters must be a whole number"),
        ("clusters", True, "clusters must be a whole number"),
        ("jobs", -1, "jobs must be a whole number of at least 1 (or None: one per core), not -1"),
        ("strict", "yes", "strict must be True or False, not 'yes'"),
        ("names", 1, "names must be True or False, not 1"),
        ("dendrogram", None, "dendrogram must be True or False"),
        ("cache", "no", "cache must be True or False"),
        ("features", "mel", "features must be a FeatureSettings, not 'mel'"),
        ("model", 3, "model must be the path of a family model file, not 3"),
        ("bank", 6, "bank must be a string, not 6"),
        ("strudel_base", b"http://x/", "strudel_base must be a string"),
    ],
)
def test_each_bad_option_is_refused_at_construction_in_one_line(field: str, value: Any, message: str) -> None:
    with pytest.raises(BadOption) as caught:
        SortOptions(**{field: value})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    with pytest.raises(BadOption):  # a changed copy is checked as well
        dataclasses.replace(SortOptions(), **{field: value})


@pytest.mark.parametrize(
    "options,message",
    [
        ({"bank": "Big Bank"}, "bank name 'Big Bank' is not safe in Tidal patterns"),
        ({"bank": "kb6_x", "layout": "families"}, "bank name 'kb6_x' holds '_'"),
        ({"strudel_base": " "}, "the Strudel base URL is empty"),
    ],
)
def test_a_bad_bank_name_or_base_is_a_usage_error_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        SortOptions(**options)


def test_good_options_are_taken_as_they_are(tmp_path: Path) -> None:
    options = SortOptions(
        bank="kb6",
        layout="families",
        link="symlink",
        clusters=4,
        jobs=2,
        model=tmp_path / "m.npz",
        strudel_base="http://x",
        features=FeatureSettings("mel", 3),
    )
    assert options.layout == "families" and options.clusters == 4 and options.strudel_base == "http://x"
    assert SortOptions(model="m.npz").model == "m.npz"


def test_feature_settings_refuse_a_bad_set_or_frame_count() -> None:
    with pytest.raises(BadOption, match="unknown feature set 'mfcc'"):
        FeatureSettings("mfcc")
    with pytest.raises(BadOption, match="frames must be a whole number of at least 1, not 0"):
        FeatureSettings("mel", 0)


@pytest.mark.parametrize("change", [{"method": "bogus"}, {"order": "bogus"}, {"scaling": "bogus"}, {"layout": "bogus"}, {"link": "bogus"}])
def test_a_sort_with_a_bad_option_reads_and_writes_nothing(
    kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, str]
) -> None:
    """Before, these were refused only after the whole analysis (method, scaling, order) or
    not at all (layout wrote a families layout, link copied, each recording the bad value)."""
    monkeypatch.setattr(pipeline_module, "analyse", lambda *args, **kwargs: pytest.fail("analysed with a bad option"))
    monkeypatch.setattr(pipeline_module, "scan", lambda *args, **kwargs: pytest.fail("scanned with a bad option"))
    root = tmp_path / "root"
    with pytest.raises(BadOption):
        sort_library([kit], root, SortOptions(bank="kit", **change))
    assert not root.exists()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--bank", "Big Bank"], "bank name 'Big Bank' is not safe in Tidal patterns"),
        (["--bank", "kit_a", "--layout", "families"], "bank name 'kit_a' holds '_'"),
    ],
)
def test_the_command_line_gets_the_same_one_line_error_before_any_file_is_read(
    kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    monkeypatch.setattr(pipeline_module, "scan", lambda *args, **kwargs: pytest.fail("scanned with a bad option"))
    root = tmp_path / "root"
    assert main(["sort", str(kit), "--out", str(root), *argv]) == 1
    err = capsys.readouterr().err
    assert err.strip().startswith(f"tidalsort: error: {message}") and len(err.strip().splitlines()) == 1
    assert not root.exists()
    with pytest.raises(TidalsortError, match=message.replace("(", r"\(")):
        SortOptions(bank=argv[1], layout=argv[3] if len(argv) > 2 else "bank")


def test_a_file_that_is_not_a_family_model_is_told_in_one_line(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = tmp_path / "model.npz"
    model.write_text("not a model")
    assert main(["sort", str(kit), "--out", str(tmp_path / "root"), "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.strip().startswith(f"tidalsort: error: {model}: not a tidalsort family model") and len(err.strip().splitlines()) == 1
