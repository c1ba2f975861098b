"""What tidalsort says: mistakes named in one line, reports that tell the truth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import noise, run, tone, write
from scipy.cluster.hierarchy import cophenet, is_valid_linkage, leaves_list

from tidalsort.cli import main
from tidalsort.organise.grouping import group_by_family, keep_ids
from tidalsort.output.dendrogram import _spans, bank_order_tree


def one_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tidalsort: error: "), err
    return err


def test_a_source_that_does_not_exist_is_an_error_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert run("sort", tmp_path / "nope", "--out", out) == 2
    assert str(tmp_path / "nope") in one_error(capsys)
    # beside a valid source too: the typo is not merely skipped
    write(tmp_path / "src" / "a.wav", tone(100, 0.2))
    assert run("sort", tmp_path / "src", tmp_path / "nope", "--out", out) == 2
    assert str(tmp_path / "nope") in one_error(capsys)
    assert not out.exists()  # before any work


def test_nothing_to_sort_says_why_for_the_sources(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    src.mkdir()
    os.mkfifo(src / "pipe")
    (src / "empty.wav").write_bytes(b"")
    (src / "loop").symlink_to("loop")
    assert run("sort", src, "--out", tmp_path / "out") == 1
    err = one_error(capsys)
    assert str(src) in err
    assert "pipe: a named pipe" in err and "loop: symbolic link loop" in err and "empty.wav: " in err


def test_out_equal_to_a_source_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    write(src / "a.wav", tone(100, 0.2))
    write(src / "b.wav", noise(0.2))
    before = sorted(p.name for p in src.iterdir())
    assert run("sort", src, "--out", src / ".", "--bank", "kit") == 1
    assert "is a source folder" in one_error(capsys)
    assert sorted(p.name for p in src.iterdir()) == before


def test_a_source_directly_in_the_output_root_is_warned_of(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path / "root" / "incoming" / "a.wav", tone(100, 0.2))
    write(tmp_path / "root" / "incoming" / "b.wav", noise(0.2))
    assert run("sort", tmp_path / "root" / "incoming", "--out", tmp_path / "root", "--bank", "kit", "--json") == 0
    err = capsys.readouterr().err
    assert "tidalsort: warning: source " in err and "loads it as a bank 'incoming'" in err


def last_lines(capsys: pytest.CaptureFixture) -> list[str]:
    return capsys.readouterr().out.strip().splitlines()[-2:]


def test_the_last_lines_say_what_the_run_did_and_list_split_folders_truly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for i in range(24):
        write(tmp_path / "src" / f"s{i:02d}.wav", tone(80 * 1.2**i, 0.3) if i % 2 else noise(0.2, seed=i, decay=0.01 + 0.004 * i))
    out = tmp_path / "out"
    assert run("sort", tmp_path / "src", "--out", out, "--bank", "mixs", "--layout", "split", "--clusters", "12", "--group", "sound") == 0
    written, load = last_lines(capsys)
    assert written == f"written: {out / 'mixs-0'} … mixs-11 (12 folders)"
    assert load.startswith("in SuperCollider: ")
    assert run("sort", tmp_path / "src", "--out", out, "--bank", "mixs", "--layout", "split", "--clusters", "12", "--group", "sound") == 0
    assert last_lines(capsys)[0] == f"up to date, nothing written: {out / 'mixs-0'} … mixs-11 (12 folders)"
    assert run("report", out) == 0
    report = capsys.readouterr().out
    assert "written" not in report and f"folders: {out / 'mixs-0'} … mixs-11 (12 folders)" in report


def test_report_members_tell_files_of_the_same_name_apart(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path / "kits" / "808" / "CB.WAV", tone(800, 0.2))
    write(tmp_path / "kits" / "909" / "CB.WAV", tone(820, 0.2))
    write(tmp_path / "kits" / "909" / "BD.WAV", tone(60, 0.4))
    assert run("sort", tmp_path / "kits", "--out", tmp_path / "out", "--group", "sound", "--clusters", "1") == 0
    report = capsys.readouterr().out
    assert "808/CB.WAV" in report and "909/CB.WAV" in report and "909/BD.WAV" not in report and "BD.WAV" in report


def test_similar_shows_a_sound_in_several_banks_once_with_all_its_places(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    for bank in ("one", "two"):
        assert run("sort", kit, "--out", out, "--bank", bank, "--json") == 0
    assert run("sort", kit / "bells", "--out", out, "--bank", "bells", "--json") == 0
    capsys.readouterr()
    query = kit / "bells" / "bell_2.wav"
    assert run("similar", query, "--out", out, "-k", "4", "--json") == 0
    answers = json.loads(capsys.readouterr().out)
    sources = [a["source"] for a in answers]
    assert len(answers) == 4 and len(set(sources)) == 4
    first = answers[0]
    assert first["source"] == str(query) and first["distance"] == pytest.approx(0, abs=1e-9)
    assert sorted([first["ref"], *first["also"]])[0].startswith("bells:") and len(first["also"]) == 2
    places = {first["ref"], *first["also"]}
    assert {p.partition(":")[0] for p in places} == {"bells", "one", "two"}
    assert run("similar", query, "--out", out, "-k", "4") == 0
    table = capsys.readouterr().out
    rows = table.split("\n", 1)[1]  # below the title, which names the query
    assert rows.count("bell_2.wav") == 1 and all(p in rows for p in places)
    # a reference never answers with its own source, from another bank either
    assert run("similar", first["ref"], "--out", out, "-k", "4", "--json") == 0
    assert str(query) not in [a["source"] for a in json.loads(capsys.readouterr().out)]


def test_the_dendrogram_lists_the_bank_in_n_order() -> None:
    rng = np.random.default_rng(3)
    names = np.array(["kick"] * 30 + ["snare"] * 30)
    X = rng.normal(size=(60, 5)) + np.where(names == "kick", 3.0, -3.0)[:, None]
    ordering, families = group_by_family(X, names)
    # the last sort's clusters keep their places: the second kick cluster comes first
    keys = [str(i) for i in range(60)]
    b = ordering.boundaries
    old = [(families[c], {keys[r] for r in ordering.order[b[c] : b[c + 1]]}) for c in range(len(families))]
    old[0], old[1] = old[1], old[0]
    ordering = keep_ids(ordering, families, keys, old)
    assert list(leaves_list(ordering.tree)) != list(ordering.order)  # what made the rows read 22, 24, 25, 23, 27
    drawn = bank_order_tree(ordering.tree, ordering.order)
    assert is_valid_linkage(drawn) and list(leaves_list(drawn)) == list(range(60))
    # every cluster is a subtree, at the heights of the sort's tree
    first, last = _spans(drawn, range(60))
    subtrees = set(zip(first[60:], last[60:]))
    b = ordering.boundaries
    assert all((s, e - 1) in subtrees for s, e in zip(b, b[1:]) if e - s > 1)
    assert drawn[:, 2].max() == ordering.tree[:, 2].max()
    # a bank in the tree's own leaf order gets the tree's own heights between every pair
    Z = ordering.tree
    same = bank_order_tree(Z, leaves_list(Z))
    leaves = leaves_list(Z)
    assert np.allclose(cophenet(same), cophenet(Z)[_condensed_positions(leaves)])


def _condensed_positions(leaves: np.ndarray) -> np.ndarray:
    """Indices into the condensed distances of the rows for the pairs of positions (i < j)."""
    n = len(leaves)
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            a, b = sorted((int(leaves[i]), int(leaves[j])))
            out.append(n * a - a * (a + 1) // 2 + b - a - 1)
    return np.array(out)


def test_identical_copies_draw_without_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for i in range(5):
        write(tmp_path / "src" / f"{i}" / "CB.WAV", tone(200, 0.3))
    assert run("sort", tmp_path / "src", "--out", tmp_path / "out", "--json") == 0
    assert capsys.readouterr().err.strip() == ""
    assert (tmp_path / "out" / "src-dendrogram.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("argv", "usage", "nearest"),
    [
        (["sort", "src", "--out", "out", "--lnk", "copy"], "usage: tidalsort sort ", "--link"),
        (["report", "out", "--jsn"], "usage: tidalsort report ", "--json"),
    ],
)
def test_a_mistyped_option_shows_the_command_usage_and_the_nearest_option(
    argv: list[str], usage: str, nearest: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and f"(did you mean {nearest}?)" in err.splitlines()[-1]


def test_exact_duplicates_are_reported_and_dedupe_keeps_the_first(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    for kit in ("808", "909"):
        write(src / kit / "CB.WAV", tone(800, 0.2))
        write(src / kit / "BD.WAV", tone(60, 0.4))
    write(src / "909" / "HH.WAV", noise(0.1))
    sets = [[str(src / "808" / "BD.WAV"), str(src / "909" / "BD.WAV")], [str(src / "808" / "CB.WAV"), str(src / "909" / "CB.WAV")]]
    assert run("sort", src, "--out", out, "--bank", "dup", "--json") == 0
    entry = json.loads(capsys.readouterr().out)
    assert len(entry["samples"]) == 5 and entry["duplicates"] == sets  # never dropped by default
    assert run("report", out) == 0
    report = capsys.readouterr().out
    assert "exact duplicates (same bytes): 2 set(s), 2 extra file(s) sorted too; sort --dedupe keeps the first of each" in report
    assert "808/CB.WAV = dup:" in report and "909/CB.WAV" in report
    assert run("sort", src, "--out", out, "--bank", "dup", "--dedupe", "--json") == 0  # not up to date: dedupe is in the fingerprint
    entry = json.loads(capsys.readouterr().out)
    assert sorted(s["source"] for s in entry["samples"]) == [sets[0][0], sets[1][0], str(src / "909" / "HH.WAV")]
    assert entry["duplicates"] == sets and entry["settings"]["dedupe"] is True
    assert len(list((out / "dup").glob("*.wav"))) == 3
    assert run("sort", src, "--out", out, "--bank", "dup", "--dedupe") == 0
    assert "909/CB.WAV (left out)" in capsys.readouterr().out
