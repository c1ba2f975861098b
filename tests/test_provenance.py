"""Where each family came from (you, the name, the audio) is in the manifest, the report,
similar and the map; manifests of format 2 are still read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run, tone, write

from tidalsort.demo import RATE, kick
from tidalsort.output.manifest import load
from tidalsort.soundmap.page import page_data


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Bank ``b``: a kick named a snare (the name decides, the audio disagrees), an unnamed
    tone (the audio decides) and a tone you set to tom."""
    src = tmp_path / "src"
    write(src / "Snare 01.wav", kick(np.random.default_rng(0), 0.5), RATE)
    write(src / "zap.wav", tone(60, 0.6, decay=0.2))
    write(src / "blip.wav", tone(900, 0.3, decay=0.05))
    out = tmp_path / "out"
    assert run("sort", src, "--out", out, "--bank", "b", "--no-dendrogram") == 0
    assert run("set", src / "blip.wav", "tom", "--out", out) == 0
    return out


def by_file(root: Path) -> dict[str, dict]:
    entry = yaml.safe_load((root / "tidalsort.yaml").read_text())["banks"]["b"]
    return {Path(s["source"]).name: s for s in entry["samples"]}


def test_the_manifest_says_who_decided_and_what_the_audio_heard(root: Path) -> None:
    samples = by_file(root)
    assert yaml.safe_load((root / "tidalsort.yaml").read_text())["version"] == 3
    named, heard, yours = samples["Snare 01.wav"], samples["zap.wav"], samples["blip.wav"]
    assert (named["family"], named["family_from"], named["audio_family"]) == ("snare", "name", "kick")
    assert named["confidence"] == 1.0 and named["audio_confidence"] > 0.9
    assert heard["family_from"] == "audio" and heard["audio_family"] == heard["family"] and heard["audio_confidence"] == heard["confidence"]
    assert (yours["family"], yours["family_from"]) == ("tom", "you") and yours["audio_family"] != "tom"


def test_the_report_counts_the_sources_and_lists_name_and_sound_disagreeing(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run("report", root) == 0
    out = capsys.readouterr().out
    assert re.search(r"snare .* name 1 ", out) and re.search(r"tom .* you 1 ", out)
    assert "name and sound disagree: 1 file(s)" in out
    assert re.search(r"b:\d+ Snare 01\.wav: named snare, sounds like kick \(0\.9\d\)", out)


def test_similar_and_the_map_show_who_decided(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = load(root).banks["b"].samples
    ref = next(f"b:{s.n}" for s in n if s.family_from == "audio")
    capsys.readouterr()
    assert run("similar", ref, "--out", root, "--json") == 0
    answers = json.loads(capsys.readouterr().out)
    assert {a["family_from"] for a in answers} == {"name", "you"}
    bank = load(root).banks["b"]
    data = page_data("b", bank, np.zeros((len(bank.samples), 2)), [""] * len(bank.samples))
    assert data["familyFrom"] == [s.family_from for s in bank.samples] and data["audioFamily"][0] is not None


def test_a_format_2_manifest_is_still_read(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = root / "tidalsort.yaml"
    text = path.read_text().replace("version: 3", "version: 2")
    text = re.sub(r', "family_from": "[a-z]+", "audio_family": "[a-z_]+", "audio_confidence": [0-9.]+', "", text)
    path.write_text(text)
    capsys.readouterr()
    assert run("report", root) == 0
    out = capsys.readouterr().out
    assert "disagree" not in out and " from " not in out.splitlines()[2]
    assert all(s.family_from is None for s in load(root).banks["b"].samples)
