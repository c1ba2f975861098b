"""The typed bank model: manifest bytes unchanged, every entry checked in one place, version 1 read."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import tone, write
from rich.console import Console

from tidalsort.cli import main
from tidalsort.errors import ManifestError
from tidalsort.output.entry import MAX_SAMPLES, MAX_TEXT, Bank
from tidalsort.output.manifest import Manifest, dumps, load
from tidalsort.output.report import print_report

#: Written by main's code before the bank model (at 0947d5a and again at 4a857b1, which added
#: dedupe and duplicates): two banks of generated audio, families and split layouts, a skipped
#: file, a non-ASCII quoted name; source paths replaced by /SOURCES/kit.
GOLDEN = Path(__file__).parent / "data" / "golden-manifest.yaml"


def golden() -> dict[str, Any]:
    return yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))


def key_orders(data: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The key order of every kind of record in a manifest (distinct orders, as found)."""
    found: dict[str, list[list[str]]] = {}

    def add(kind: str, record: dict[str, Any]) -> None:
        if list(record) not in found.setdefault(kind, []):
            found[kind].append(list(record))

    for entry in data["banks"].values():
        add("entry", entry)
        add("settings", entry["settings"])
        for kind in ("families", "clusters", "samples", "skipped", "warnings"):
            for record in entry[kind]:
                add(kind, record)
    return found


def test_the_golden_manifest_goes_through_the_model_byte_for_byte() -> None:
    text = GOLDEN.read_text(encoding="utf-8")
    manifest = Manifest.from_dict(yaml.safe_load(text))
    assert dumps(manifest.to_dict()) == text
    kit = manifest.banks["kit"]
    assert kit.name == "kit" and kit.layout == "families" and kit.settings.clusters == "auto"
    assert (
        kit.skipped[0].reason == "empty file (0 bytes)"
        and kit.families[0].family == "tom"
        and kit.duplicates == ()
        and kit.settings.dedupe is False
    )
    assert any(s.source.endswith('café "q" ♪.wav') for s in kit.samples)


def test_a_real_sort_writes_what_the_code_before_the_model_wrote(kit: Path, tmp_path: Path) -> None:
    """Same keys in the same order as the golden manifest, and the model reads and writes the
    sort's manifest (and its JSON copy) back byte for byte."""
    write(kit / "bells" / 'café "q" ♪.wav', tone(3100, 0.3))
    (kit / "empty.wav").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kit", "--layout", "families", "--no-dendrogram"]) == 0
    assert (
        main(
            [
                "sort",
                str(kit / "bells"),
                str(kit / "Low Toms"),
                "--out",
                str(out),
                "--bank",
                "two",
                "--layout",
                "split",
                "--group",
                "sound",
                "--clusters",
                "2",
                "--no-dendrogram",
            ]
        )
        == 0
    )
    text = (out / "tidalsort.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert key_orders(data) == key_orders(golden())
    assert text.splitlines()[:6] == GOLDEN.read_text(encoding="utf-8").splitlines()[:6]
    assert dumps(Manifest.from_dict(data).to_dict()) == text
    mirror = json.loads((out / ".tidalsort" / "manifest.json").read_text(encoding="utf-8"))
    assert mirror["manifest"] == data and dumps(load(out).to_dict()) == text


def test_sorting_another_bank_leaves_the_first_banks_lines_as_they_were(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["sort", str(kit / "bells"), "--out", str(out), "--bank", "zz", "--no-dendrogram"]) == 0
    before = (out / "tidalsort.yaml").read_text(encoding="utf-8").split("  zz:\n")[1]
    assert main(["sort", str(kit / "Low Toms"), "--out", str(out), "--bank", "aa", "--no-dendrogram"]) == 0
    assert (out / "tidalsort.yaml").read_text(encoding="utf-8").split("  zz:\n")[1] == before


def test_the_model_holds_what_the_entry_says() -> None:
    entry = golden()["banks"]["two"]
    bank = Bank.from_dict("two", entry)
    assert bank.to_dict() == entry and list(bank.to_dict()) == list(entry)
    assert [c.folder for c in bank.clusters] == ["two-0", "two-1"] and bank.settings.clusters == 2
    assert [s.n for s in bank.samples[:3]] == [0, 1, 2] and all(0 < s.confidence <= 1 for s in bank.samples)
    with pytest.raises(AttributeError):
        bank.samples[0].n = 5  # type: ignore[misc]  # frozen
    copies = dataclasses.replace(bank, duplicates=(("/a.wav", "/b.wav"),))
    assert copies.to_dict()["duplicates"] == [["/a.wav", "/b.wav"]] and Bank.from_dict("two", copies.to_dict()) == copies


def set_path(entry: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = entry
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value


@pytest.mark.parametrize(
    "path,value,message",
    [
        (("samples", 3, "confidence"), math.nan, "samples[3]: confidence is not a number from 0 to 1"),
        (("samples", 3, "confidence"), 1.5, "samples[3]: confidence is not a number from 0 to 1"),
        (("samples", 0, "duration"), math.inf, "samples[0]: duration is not a number"),
        (("samples", 0, "centroid"), -math.inf, "samples[0]: centroid is not a number"),
        (("samples", 2, "n"), "2", "samples[2]: n is not a whole number from 0 to 1,000,000"),
        (("samples", 2, "n"), True, "samples[2]: n is not a whole number"),
        (("samples", 2, "n"), -1, "samples[2]: n is not a whole number"),
        (("samples", 2, "n"), 2.0, "samples[2]: n is not a whole number"),
        (("samples", 1, "sha1"), KeyError, "samples[1]: sha1 is missing"),
        (("samples", 1, "source"), ["a"], "samples[1]: source is not a string"),
        (("samples", 1, "source"), "x" * (MAX_TEXT + 1), "samples[1]: source is not a string of at most 20,000 characters"),
        (("samples", 4, "family"), "banjo", "samples[4]: family 'banjo' is not one of kick, snare"),
        (("samples", 4, "family"), None, "samples[4]: family None is not one of"),
        (("samples", 5), "a sample", "samples[5] is not a mapping"),
        (("samples", 0, "cluster"), 9, "samples[0]: no cluster 9"),
        (("samples",), {"0": 1}, "samples is not a list of at most 1,000,000 items"),
        (("boundaries",), list(range(MAX_SAMPLES + 1)), "boundaries is not a list of at most 1,000,000 items"),
        (("boundaries", 1), None, "boundaries[1] is not a whole number"),
        (("sources", 0), 7, "sources[0] is not a string"),
        (("clusters", 1, "label"), 5, "clusters[1]: label is not a string"),
        (("clusters", 1, "representative"), 99, "clusters[1]: refers to samples the entry does not have"),
        (("clusters",), KeyError, "clusters is missing"),
        (("families", 0, "stop"), "4", "families[0]: stop is not a whole number"),
        (("skipped", 0, "reason"), None, "skipped[0]: reason is not a string"),
        (("settings", "frames"), 0, "settings: frames is not a whole number from 1 to 10,000"),
        (("settings", "method"), "average", "settings: method 'average' is not one of ward, kmeans"),
        (("settings", "names"), "no", "settings: names is not true or false"),
        (("settings", "clusters"), 0, "settings: clusters is not 'auto' or a whole number"),
        (("settings",), [], "settings is not a mapping"),
        (("layout",), "diagonal", "layout 'diagonal' is not one of bank, split, families"),
        (("samples", 0, "file"), "../../victim.wav", "samples[0]: file is not a plain file name"),
        (("samples", 0, "folder"), "/etc", "samples[0]: folder is not the name of a bank folder"),
        (("clusters", 0, "folder"), "../x", "clusters[0]: folder is not the name of a bank folder"),
        (("families", 0, "folder"), ".tidalsort", "families[0]: folder is not the name of a bank folder"),
    ],
)
def test_a_broken_entry_is_refused_naming_bank_field_and_index(path: tuple[Any, ...], value: Any, message: str) -> None:
    data = golden()
    set_path(data["banks"]["kit"], path, value)
    with pytest.raises(ManifestError) as caught:
        Manifest.from_dict(data)
    assert str(caught.value).startswith(f"bank 'kit': {message}") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "data,message",
    [
        ([], "not a tidalsort manifest"),
        ({"version": True, "banks": {}}, "not a tidalsort manifest"),
        ({"version": 2, "banks": {"Big Bank": {}}}, "'Big Bank' is not a bank name"),
        ({"version": 2, "banks": {"x": 5}}, "bank 'x': the entry is not a mapping"),
    ],
)
def test_a_manifest_that_is_not_one_is_refused(data: Any, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.from_dict(data)


def test_nan_in_the_yaml_is_refused_in_one_line_and_in_the_json_copy_the_yaml_is_read(
    kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    assert main(["sort", str(kit / "bells"), "--out", str(out), "--bank", "kit", "--no-dendrogram"]) == 0
    mirror = out / ".tidalsort" / "manifest.json"
    copy_ = json.loads(mirror.read_text())
    copy_["manifest"]["banks"]["kit"]["samples"][0]["confidence"] = math.nan
    mirror.write_text(json.dumps(copy_))  # json writes NaN, and reads it back
    assert all(not math.isnan(s.confidence) for s in load(out).banks["kit"].samples)  # from the YAML
    path = out / "tidalsort.yaml"
    text = path.read_text()
    path.write_text(text.replace('"confidence": ', '"confidence": .nan, "was": ', 1))
    capsys.readouterr()
    assert main(["report", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"tidalsort: error: {path}: bank 'kit': samples[0]: confidence is not a number from 0 to 1"


def test_unknown_keys_of_an_entry_are_kept_when_small_and_dropped_inside_records() -> None:
    data = golden()
    entry = data["banks"]["kit"]
    entry["notes"], entry["blob"] = {"mine": [1, 2]}, "y" * (64 << 10)
    entry["samples"][0]["rating"] = 5
    data["top"] = "kept"
    manifest = Manifest.from_dict(data)
    written = manifest.to_dict()
    assert manifest.banks["kit"].extra == {"notes": {"mine": [1, 2]}} and list(written["banks"]["kit"])[-1] == "notes"
    assert "rating" not in written["banks"]["kit"]["samples"][0] and written["top"] == "kept"


def version_1(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` as tidalsort wrote it before families: no family fields, fewer settings."""
    old = copy.deepcopy(entry)
    for key in ("families", "inputs", "layout", "sources", "boundaries", "warnings"):
        del old[key]
    for key in ("group", "names", "model", "clusters_used", "strategy"):
        del old["settings"][key]
    for record in old["samples"] + old["clusters"]:
        record.pop("family", None)
        record.pop("confidence", None)
    return old


def test_a_version_1_manifest_is_read_and_written_back_as_it_was(tmp_path: Path) -> None:
    old = version_1(golden()["banks"]["kit"])
    bank = Manifest.from_dict({"version": 1, "banks": {"kit": old}}).banks["kit"]
    assert bank.families is None and bank.samples[0].family is None and bank.samples[0].confidence is None and bank.settings.group is None
    assert bank.to_dict() == {**old, "warnings": []}  # only the list of warnings, empty, is added
    console = Console(file=(tmp_path / "report.txt").open("w"), width=200)
    print_report(bank, tmp_path, console)
    console.file.close()
    report = (tmp_path / "report.txt").read_text()
    assert "bank kit: 13 samples in 4 clusters" in report and "families" not in report.splitlines()[0]


def test_entry_and_manifest_checks_are_gone_from_the_manifest_module() -> None:
    """from_dict is the one place that checks an entry."""
    import tidalsort.output.manifest as manifest_module

    assert not any(hasattr(manifest_module, name) for name in ("_entry_problem", "entry_problem", "_wrong", "_problem"))
