"""The sort job end to end: banks, names, layouts, links, manifest, report, bad input, safety."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import manifest, noise, run, tone, tree_hashes, write

from tidalsort import pipeline as pipeline_module
from tidalsort.analysis import analyse as analysis_module
from tidalsort.demo import KIT
from tidalsort.output import bank as bank_module
from tidalsort.output.manifest import load
from tidalsort.pipeline import Progress, SortOptions, sort_library

ROOT_FILES = {"tidalsort.yaml", "tidalsort-banks.hs", "strudel.json"}


def family(name: str) -> str:
    return "tom" if name.startswith("tom") else "bell" if name.startswith("bell") else "hat"


def test_bank_is_zero_padded_and_byte_order_is_similarity_order(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kb6", "--group", "sound", "--clusters", "3") == 0
    files = sorted(p.name for p in (out / "kb6").iterdir() if not p.name.startswith("."))
    entry = manifest(out)["banks"]["kb6"]
    assert [s["file"] for s in entry["samples"]] == files  # byte order == n order
    assert [s["n"] for s in entry["samples"]] == list(range(18))
    assert all(name[:4].isdigit() is False and name[3] == "_" for name in files)
    assert files[0].startswith("000_") and files[-1].startswith("017_")
    # the three families are three contiguous clusters
    families = [family(f[4:]) for f in files]
    assert sum(a != b for a, b in zip(families, families[1:])) == 2
    assert [(c["start"], c["stop"]) for c in entry["clusters"]] == [(0, 6), (6, 12), (12, 18)]
    assert entry["boundaries"] == [0, 6, 12, 18]
    for c in entry["clusters"]:
        members = {s["cluster"] for s in entry["samples"][c["start"] : c["stop"]]}
        assert members == {c["id"]}


@pytest.mark.slow
def test_pad_width_grows_past_1000_files(tmp_path: Path) -> None:
    src = tmp_path / "many"
    rng = np.random.default_rng(0)
    for i in range(1001):
        write(src / f"s{i}.wav", tone(50 + 5 * i, 0.02) * rng.uniform(0.5, 1))
    out = tmp_path / "out"
    assert run("sort", src, "--out", out, "--clusters", "4", "--no-dendrogram") == 0
    names = sorted(p.name for p in (out / "many").glob("*.wav"))
    assert len(names) == 1001 and names[0].startswith("0000_") and names[-1].startswith("1000_")


def test_same_files_give_byte_identical_output_whatever_the_source_order(kit: Path, tmp_path: Path) -> None:
    parts = sorted(kit.iterdir())
    run("sort", *parts, "--out", tmp_path / "a", "--bank", "kit")
    run("sort", *reversed(parts), "--out", tmp_path / "b", "--bank", "kit")
    a, b = tree_hashes(tmp_path / "a" / "kit"), tree_hashes(tmp_path / "b" / "kit")
    assert a == b and len(a) == 19
    strip = lambda t: t.replace(str(tmp_path / "a"), "").replace(str(tmp_path / "b"), "")  # noqa: E731
    assert strip((tmp_path / "a" / "tidalsort.yaml").read_text()) == strip((tmp_path / "b" / "tidalsort.yaml").read_text())


def test_split_layout_one_folder_per_cluster(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit", "--group", "sound", "--layout", "split", "--clusters", "3") == 0
    folders = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders == ["kit-0", "kit-1", "kit-2"]
    entry = manifest(out)["banks"]["kit"]
    for c in entry["clusters"]:
        names = sorted(p.name for p in (out / c["folder"]).glob("*.wav"))
        assert (c["start"], c["stop"]) == (0, len(names)) and names[0].startswith("000_")
        assert len({family(n[4:]) for n in names}) == 1
    # re-sorting into fewer clusters removes the bank's own stale folders
    assert run("sort", kit, "--out", out, "--bank", "kit", "--group", "sound", "--layout", "split", "--clusters", "2") == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) == ["kit-0", "kit-1"]
    # and switching layout replaces the split folders with one bank
    assert run("sort", kit, "--out", out, "--bank", "kit") == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) == ["kit"]


@pytest.mark.parametrize("link", ["copy", "symlink", "hardlink"])
def test_link_modes(kit: Path, tmp_path: Path, link: str) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit", "--link", link) == 0
    entry = manifest(out)["banks"]["kit"]
    for s in entry["samples"]:
        written, source = out / "kit" / s["file"], Path(s["source"])
        assert written.is_symlink() == (link == "symlink")
        assert os.path.samefile(written, source) == (link != "copy")
        assert written.read_bytes() == source.read_bytes()
    assert entry["settings"]["link"] == link


def test_formats_superdirt_cannot_load_are_written_as_wav(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a.flac", tone(100, 0.3), subtype="PCM_24")
    write(src / "b.ogg", tone(3000, 0.3))
    write(src / "c.AIF", tone(500, 0.3), fmt="AIFF")
    write(src / "d.wav", np.stack([tone(300, 0.3)] * 4, axis=1))  # 4 channels: SuperDirt has no synth for it
    noext = write(src / "e.wav", tone(800, 0.3))
    noext.rename(src / "e")
    out = tmp_path / "out"
    assert run("sort", src, "--out", out, "--bank", "conv") == 0
    written = {Path(s["source"]).name: out / "conv" / s["file"] for s in manifest(out)["banks"]["conv"]["samples"]}
    assert {k: v.suffix for k, v in written.items()} == {"a.flac": ".wav", "b.ogg": ".wav", "c.AIF": ".aif", "d.wav": ".wav", "e": ".wav"}
    assert sf.info(str(written["a.flac"])).subtype == "PCM_24"
    assert sf.info(str(written["b.ogg"])).format == "WAV"
    assert sf.info(str(written["d.wav"])).channels == 1
    assert written["c.AIF"].read_bytes() == (src / "c.AIF").read_bytes()
    data, _ = sf.read(str(written["a.flac"]))
    np.testing.assert_allclose(data, sf.read(str(src / "a.flac"))[0], atol=1e-6)


def test_bad_input_is_skipped_with_one_line_each_and_sources_are_untouched(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    write(src / "good1.wav", tone(100, 0.3))
    write(src / "good2.wav", noise(0.3))
    (src / "empty.wav").write_bytes(b"")
    (src / "notes.txt").write_text("not audio\n")
    (src / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(40)))
    write(src / "silent.wav", np.zeros(44100))
    full = write(tmp_path / "full.wav", tone(200, 2.0, decay=5))
    (src / "cut.wav").write_bytes(full.read_bytes()[:44])
    (src / "half.wav").write_bytes(full.read_bytes()[:100000])
    before = tree_hashes(src)
    out = tmp_path / "out"
    assert run("sort", src, "--out", out, "--bank", "bad") == 0
    entry = manifest(out)["banks"]["bad"]
    reasons = {Path(s["source"]).name: s["reason"] for s in entry["skipped"]}
    assert set(reasons) == {"empty.wav", "notes.txt", "corrupt.wav", "silent.wav", "cut.wav"}
    assert "empty" in reasons["empty.wav"] and "not an audio file" in reasons["notes.txt"]
    assert "silent" in reasons["silent.wav"] and "no audio frames" in reasons["cut.wav"]
    assert all("\n" not in r for r in reasons.values())
    assert [Path(w["source"]).name for w in entry["warnings"]] == ["half.wav"]
    assert len(entry["samples"]) == 3
    printed = capsys.readouterr().out
    for name in reasons:
        assert name in printed
    assert tree_hashes(src) == before


def test_strict_makes_a_skip_an_error_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    write(src / "good.wav", tone(100, 0.3))
    (src / "notes.txt").write_text("not audio\n")
    out = tmp_path / "out"
    assert run("sort", src, "--out", out, "--strict") == 1
    err = capsys.readouterr().err
    assert "notes.txt" in err and "Traceback" not in err
    assert not (out / "src").exists() and not (out / "tidalsort.yaml").exists()


def test_nothing_sortable_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("x")
    assert run("sort", tmp_path / "src", "--out", tmp_path / "out") == 1
    assert "nothing to sort" in capsys.readouterr().err


def test_folders_tidalsort_did_not_create_are_never_touched(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    write(out / "kb6" / "mine.wav", tone(100, 0.1))
    before = tree_hashes(out)
    assert run("sort", kit, "--out", out, "--bank", "kb6") == 1
    assert "was not written by tidalsort" in capsys.readouterr().err
    assert tree_hashes(out) == before
    # a source folder used as the output bank is a clash too
    assert run("sort", kit, "--out", kit.parent, "--bank", "kit") == 1


@pytest.mark.parametrize("bank", ["Kicks", "../up", "kit_labels"])
def test_unsafe_or_reserved_bank_names_are_refused_before_anything_is_written(
    kit: Path, tmp_path: Path, bank: str, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", bank) == 1
    err = capsys.readouterr().err
    assert bank in err and ("reserved" if bank.endswith("_labels") else "not safe") in err
    assert not out.exists() or not any(out.iterdir())


def test_several_banks_coexist_and_a_resort_replaces_only_its_own(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", kit / "bells", "--out", out) == 0
    assert run("sort", kit / "Low Toms", "--out", out) == 0
    assert set(load(out).banks) == {"bells", "low-toms"}
    bells_before = tree_hashes(out / "bells")
    write(kit / "Low Toms" / "Tom 9.wav", tone(90, 0.4))
    assert run("sort", kit / "Low Toms", "--out", out) == 0
    banks = load(out).banks
    assert len(banks["low-toms"].samples) == 7 and len(banks["bells"].samples) == 6
    assert tree_hashes(out / "bells") == bells_before
    hs = (out / "tidalsort-banks.hs").read_text()
    assert '("bells", "0 ' in hs and '("low-toms", "0 ' in hs


def test_nothing_under_root_becomes_a_spurious_superdirt_sound(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run("sort", kit, "--out", out, "--bank", "kit", "--layout", "split", "--clusters", "3", "--group", "sound")
    # SuperDirt loads every non-hidden folder of ROOT/* as a sound, and wav/aif(f/c) files in it
    sounds = {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert sounds == {"kit-0", "kit-1", "kit-2"}
    for folder in sounds:
        visible = [p for p in (out / folder).iterdir() if not p.name.startswith(".")]
        assert all(p.suffix == ".wav" for p in visible)
    assert {p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")} == ROOT_FILES | {"kit-dendrogram.png"}


def test_interrupted_run_leaves_the_previous_bank_intact(kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit") == 0
    before, manifest_before = tree_hashes(out / "kit"), (out / "tidalsort.yaml").read_text()
    calls = {"n": 0}
    place = bank_module._place

    def failing_place(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return place(*args, **kwargs)

    monkeypatch.setattr(bank_module, "_place", failing_place)
    write(kit / "extra.wav", tone(440, 0.2))
    assert run("sort", kit, "--out", out, "--bank", "kit") == 130  # Ctrl-C: one line, exit 130
    assert tree_hashes(out / "kit") == before
    assert (out / "tidalsort.yaml").read_text() == manifest_before
    assert not list((out / ".tidalsort").glob("tmp-*"))


def test_swap_interrupted_between_renames_is_recovered(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit") == 0
    before = tree_hashes(out / "kit")
    os.rename(out / "kit", out / ".tidalsort" / "old-kit-abc123")  # as if killed mid-swap
    shutil.rmtree(kit / "bells")
    assert run("sort", kit / "Low Toms", "--out", out, "--bank", "other") == 0
    assert tree_hashes(out / "kit") == before


def test_dendrogram_is_drawn_large_enough_to_read(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run("sort", kit, "--out", out, "--bank", "kit")
    png = out / "kit-dendrogram.png"
    import matplotlib.image

    height, width = matplotlib.image.imread(str(png)).shape[:2]
    assert width >= 1000 and height >= 400
    big = tmp_path / "big"
    for i in range(120):
        write(big / f"s{i:03d}.wav", tone(60 + 20 * i, 0.1))
    run("sort", big, "--out", out, "--clusters", "5")
    big_height = matplotlib.image.imread(str(out / "big-dendrogram.png")).shape[0]
    assert big_height >= 120 * 10  # about 11 pixels per leaf row


def test_report_and_json_from_the_manifest(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    run("sort", kit, "--out", out, "--bank", "kb6", "--clusters", "3", "--group", "sound")
    capsys.readouterr()
    assert run("report", out, "--bank", "kb6") == 0
    text = capsys.readouterr().out
    assert 'd1 $ s "kb6" # n (irand 6 + 6)' in text and "bank kb6: 18 samples in 3 clusters" in text
    assert run("report", out, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "kb6" and data["boundaries"] == [0, 6, 12, 18]
    assert run("report", out, "--bank", "nope") == 1
    assert "no bank 'nope'" in capsys.readouterr().err


def test_demo_sorts_a_synthetic_kit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run("demo", tmp_path / "demo", "--json") == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry["name"] == "demo" and len(entry["samples"]) == 36 and not entry["skipped"]
    # neighbours are mostly the same instrument (a random order gives about 6 of 35)
    instrument = {base: name for name, (_, bases) in KIT.items() for base in bases}
    kinds = [instrument[Path(s["source"]).stem.rsplit(" ", 1)[0]] for s in entry["samples"]]
    assert sum(a == b for a, b in zip(kinds, kinds[1:])) >= 20
    assert (tmp_path / "demo" / "samples" / "demo-dendrogram.png").exists()


def test_progress_is_reported_per_file(kit: Path, tmp_path: Path) -> None:
    seen: dict[str, list[int]] = {}
    progress = Progress(
        start=lambda stage, total: seen.setdefault(stage, [total, 0]),
        advance=lambda stage, count=1: seen[stage].__setitem__(1, seen[stage][1] + count),
    )
    sort_library([kit], tmp_path / "out", SortOptions(bank="kit"), progress)
    assert seen == {"analyse": [18, 18], "cluster": [1, 1], "write": [18, 18]}


def test_installed_console_script(tmp_path: Path) -> None:
    exe = shutil.which("tidalsort")
    assert exe, "pip install -e . did not put the tidalsort command on PATH"
    result = subprocess.run([exe, "sort", "--help"], capture_output=True, text=True, check=True)
    assert "--layout" in result.stdout and "examples:" in result.stdout
    result = subprocess.run([sys.executable, "-m", "tidalsort", "report", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_cluster_ids_stay_with_their_family_across_resorts(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"

    def families() -> dict[int, str]:
        entry = load(out).banks["kit"]
        return {c.id: family(Path(entry.samples[c.start].source).name.lower()) for c in entry.clusters}

    assert run("sort", kit, "--out", out, "--bank", "kit", "--clusters", "3") == 0
    before = families()
    assert set(before.values()) == {"bell", "hat", "tom"}  # the model may hear two families in the tones or the bells
    for i in range(4):  # more of one family: the tree, and its leaf order, change
        write(kit / "bells" / f"bell_extra{i}.wav", tone(2400 - 50 * i, 0.3, decay=0.2))
        write(kit / f"hat x{i}.wav", noise(0.2, seed=50 + i, decay=0.03))
    for seed in range(3):
        assert run("sort", kit, "--out", out, "--bank", "kit", "--clusters", "3") == 0
        assert families() == before
        write(kit / "Low Toms" / f"Tom extra{seed}.wav", tone(70 + seed, 0.4))


def test_manifest_yaml_and_its_fast_copy_agree_and_the_yaml_wins(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit") == 0
    assert load(out).to_dict() == manifest(out)  # the JSON copy in .tidalsort/ says what the YAML says
    text = (out / "tidalsort.yaml").read_text()
    (out / "tidalsort.yaml").write_text(text.replace('layout: "bank"', 'layout: "split"'))
    assert load(out).banks["kit"].layout == "split"


def test_mp3_and_8_bit_many_channel_sources_are_written_as_wav_superdirt_reads(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a.mp3", tone(200, 0.5), fmt="MP3")
    write(src / "b.aiff", np.stack([tone(3000, 0.3)] * 4, axis=1), fmt="AIFF", subtype="PCM_S8")
    out = tmp_path / "out"
    assert run("sort", src, "--out", out, "--bank", "conv") == 0
    written = {Path(s["source"]).name: out / "conv" / s["file"] for s in manifest(out)["banks"]["conv"]["samples"]}
    infos = {name: sf.info(str(path)) for name, path in written.items()}
    assert {name: (i.format, i.subtype, i.channels, path.suffix) for (name, i), path in zip(infos.items(), written.values())} == {
        "a.mp3": ("WAV", "FLOAT", 1, ".wav"),
        "b.aiff": ("WAV", "PCM_U8", 1, ".wav"),
    }
    data, rate = sf.read(str(written["a.mp3"]))
    assert rate == 44100 and len(data) >= 22050 and 0.5 < np.abs(data).max() < 1.0


def test_float_files_holding_nan_or_infinity_are_skipped_and_similar_names_them(
    kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for name, bad in (("nan.wav", np.nan), ("inf.wav", np.inf)):
        sound = tone(300, 0.5)
        sound[1000] = bad
        write(kit / name, sound, subtype="FLOAT")
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit") == 0
    entry = manifest(out)["banks"]["kit"]
    assert {Path(s["source"]).name: s["reason"][:19] for s in entry["skipped"]} == {
        "nan.wav": "non-finite samples ",
        "inf.wav": "non-finite samples ",
    }
    assert len(entry["samples"]) == 18
    capsys.readouterr()
    assert run("similar", kit / "nan.wav", "--out", out, "--json") == 1
    assert f"{kit / 'nan.wav'}: non-finite samples" in capsys.readouterr().err


def test_a_name_that_is_not_utf8_is_sorted_recorded_with_escapes_and_found_in_the_cache(
    kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = Path(os.fsdecode(os.path.join(os.fsencode(kit), b"lat\xe9in.wav")))
    write(odd, tone(700, 0.3))
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit") == 0
    sample = next(s for s in manifest(out)["banks"]["kit"]["samples"] if "lat" in s["source"])
    assert sample["source"] == f"{kit}/lat\\xe9in.wav" and sample["file"].endswith("_latin.wav")
    assert (out / "kit" / sample["file"]).read_bytes() == odd.read_bytes()
    decoded: list[Path] = []
    real = analysis_module.read_head
    monkeypatch.setattr(analysis_module, "read_head", lambda path, seconds: decoded.append(path) or real(path, seconds))
    assert run("sort", kit, "--out", out, "--bank", "kit", "--jobs", "1") == 0
    assert decoded == []  # the cache knows the file by the same name
    assert run("sort", kit, "--out", tmp_path / "plain", "--bank", "kit", "--no-cache", "--jobs", "1") == 0
    assert odd in decoded


@pytest.mark.parametrize("inside", ["sorted"])  # --out equal to a source is refused: tests/test_messages.py
def test_out_inside_or_equal_to_a_source_never_lists_tidalsorts_own_files(kit: Path, tmp_path: Path, inside: str) -> None:
    out = kit / inside
    for _ in range(2):
        assert run("sort", kit, "--out", out, "--bank", "kb", "--strict", "--clusters", "3") == 0
    entry = manifest(out)["banks"]["kb"]
    assert entry["skipped"] == [] and len(entry["samples"]) == 18
    assert (out / "kb-dendrogram.png").is_file() and (out / "tidalsort-banks.hs").is_file() and (out / "strudel.json").is_file()


@pytest.mark.parametrize(
    "content,message",
    [
        (b"\xff\xfe\x00\x81 not text", "cannot read the manifest ('utf-8' codec can't decode byte 0xff"),
        (b"banks: [unclosed", "cannot read the manifest"),
        (b"version: 1\nbanks: {x: 5}\n", "bank 'x': the entry is not a mapping"),
        (b"version: 1\nbanks: {x: {settings: {}, clusters: [], samples: []}}\n", "bank 'x': settings: features is missing"),
        (
            b'version: 1\nbanks: {x: {settings: {features: mel, frames: 2, method: ward}, clusters: [], samples: [{folder: x, n: 0, file: a.wav, source: /a.wav, cluster: 3, sha1: "0"}]}}\n',
            "bank 'x': samples[0]: no cluster 3",
        ),
        (b"version: 1\nbanks: {'../x': {}}\n", "'../x' is not a bank name"),
    ],
)
def test_an_unusable_manifest_is_refused_before_the_analysis_naming_the_file(
    kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, content: bytes, message: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "tidalsort.yaml").write_bytes(content)
    monkeypatch.setattr(pipeline_module, "analyse", lambda *args, **kwargs: pytest.fail("analysed before the manifest was checked"))
    for argv in (["sort", kit, "--out", out, "--bank", "kit"], ["report", out]):
        assert run(*argv) == 1
        err = capsys.readouterr().err
        assert f"tidalsort: error: {out / 'tidalsort.yaml'}: {message}" in err and "Traceback" not in err
    assert (out / "tidalsort.yaml").read_bytes() == content


def test_a_wrong_shape_json_copy_of_the_manifest_is_not_used(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert run("sort", kit, "--out", out, "--bank", "kit") == 0
    mirror = out / ".tidalsort" / "manifest.json"
    copy = json.loads(mirror.read_text())
    mirror.write_text(json.dumps({"yaml": copy["yaml"], "manifest": {"version": 1, "banks": {"kit": {"samples": 5}}}}))
    capsys.readouterr()
    assert run("report", out) == 0
    assert "bank kit: 18 samples" in capsys.readouterr().out  # from the YAML
    assert len(load(out).banks["kit"].samples) == 18


def test_report_prints_file_names_with_brackets_as_they_are(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    write(src / "[kick] one.wav", tone(80, 0.3))
    write(src / "[red]two.wav", tone(85, 0.3))
    assert run("sort", src, "--out", tmp_path / "out", "--bank", "br", "--clusters", "1") == 0
    text = capsys.readouterr().out
    assert "[kick] one.wav" in text and "[red]two.wav" in text
