"""Faults: a sort killed (SIGKILL) at every step of its writing, and sorts running at once.

Each killed sort runs in a forked child that counts the file system calls of the sort and
kills itself just before the k-th one, for every k: so every moment between two steps,
among them the one between the folder swap and the manifest write, is a kill point.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import tone, write

from tidalsort.analysis.analyse import analyse_file
from tidalsort.analysis.features import FeatureSettings
from tidalsort.cli import main
from tidalsort.output import bank as bank_module
from tidalsort.output import journal as journal_module
from tidalsort.output.bank import STATE_DIR, owner
from tidalsort.output.haskell_banks import HASKELL_BANKS_NAME, haskell_banks
from tidalsort.output.index import load_index
from tidalsort.output.manifest import load
from tidalsort.output.strudel import STRUDEL_MAP_NAME, sample_map
from tidalsort.pipeline import SortOptions, sort_library

BANK = "b"
#: The file system calls a sort makes while it writes (module, name): each is a kill point.
STEPS = [
    (os, "rename"), (os, "replace"), (os, "link"), (os, "symlink"), (os, "unlink"), (os, "rmdir"), (os, "mkdir"),
    (os, "fsync"), (shutil, "copyfile"), (tempfile, "mkstemp"), (tempfile, "mkdtemp"),
    (bank_module, "exchange"), (bank_module, "_copy_hashing"), (journal_module, "flush"),
]  # fmt: skip


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def kits(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """12 kits of one ``hit.wav`` each, every one a different sound: all get the name NNN_hit.wav."""
    root = tmp_path_factory.mktemp("kits")
    return [write(root / f"kit{i:02d}" / "hit.wav", tone(60 * 1.3**i, 0.3, decay=0.05 + 0.01 * i)).parent for i in range(12)]


def in_child(work: Callable[[], None], kill_at: int | None = None) -> int | None:
    """Run ``work`` in a forked child, killed just before its ``kill_at``-th file system call.

    Returns the number of calls it made when it was not killed, None when it was.
    """
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: count, kill, never return to pytest
        os.close(reader)
        calls = [0]
        sort = os.getpid()  # a process it forks counts its own calls, and kills the sort too

        def counted(original: Callable) -> Callable:
            hashing = original is bank_module._copy_hashing

            def step(*args, **kwargs):
                if hashing and args[1] is None:  # hashing alone only reads (and runs ahead in a thread for as long as it may)
                    return original(*args, **kwargs)
                calls[0] += 1
                if calls[0] == kill_at:
                    os.kill(sort, signal.SIGKILL)
                return original(*args, **kwargs)

            return step

        for module, name in STEPS:
            setattr(module, name, counted(getattr(module, name)))
        os._exit(_run(lambda: (work(), os.write(writer, str(calls[0]).encode()))))
    os.close(writer)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(reader) as r:
        made = r.read()
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return None
    assert os.WEXITSTATUS(status) == 0 and made, "the sort failed in the child"
    return int(made)


def _run(work: Callable[[], object]) -> int:
    """Exit status for a forked child that ran ``work``: 0, or 1 with the traceback printed."""
    try:
        work()
        return 0
    except BaseException:
        traceback.print_exc()
        return 1


def on_disk(root: Path, bank: str) -> dict[str, dict[str, str]]:
    """Folder -> {file name: SHA-1} of every folder of ``bank`` under ``root``."""
    return {
        p.name: {f.name: sha1(f) for f in p.iterdir() if not f.name.startswith(".")}
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and owner(p) == bank
    }


def assert_described(root: Path, bank: str, features: dict[str, np.ndarray]) -> dict[str, dict[str, str]]:
    """The manifest, feature index, banks file and Strudel map say exactly what the bank's folders hold."""
    manifest = load(root)
    entry = manifest.banks[bank].to_dict()
    described: dict[str, dict[str, str]] = {}
    for s in entry["samples"]:
        described.setdefault(s["folder"], {})[s["file"]] = s["sha1"]
        assert sha1(Path(s["source"])) == s["sha1"]  # the right sound behind every name
    disk = on_disk(root, bank)
    assert disk == described
    index = load_index(root, bank)
    np.testing.assert_allclose(
        index.features, np.array([features[s["source"]] for s in entry["samples"]]), rtol=1e-4
    )  # the row of the right sound
    assert (root / HASKELL_BANKS_NAME).read_text() == haskell_banks(manifest, root)
    assert json.loads((root / STRUDEL_MAP_NAME).read_text()) == sample_map(manifest)
    return disk


def assert_no_leftovers(root: Path) -> None:
    assert sorted(p.name for p in (root / STATE_DIR).iterdir() if not p.name.startswith("cache.sqlite")) == [
        "features-b.npz",
        "lock",
        "manifest.json",
    ]


def test_a_sort_killed_at_any_step_leaves_a_whole_bank_and_the_next_run_repairs_the_rest(kits: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    first, second = kits[:10], kits[2:]  # 8 sounds in both, each at another n
    features = {str(k / "hit.wav"): analyse_file(k / "hit.wav", FeatureSettings())[0] for k in kits}
    # by sound: where the family model draws its lines through these made-up hits is not the point
    options = SortOptions(bank=BANK, clusters=3, group="sound", dendrogram=False)
    sort_library(first, root, options)
    whole = {"first": assert_described(root, BANK, features)}
    sort_library(second, tmp_path / "reference", options)
    whole["second"] = on_disk(tmp_path / "reference", BANK)
    assert whole["first"] != whole["second"]

    steps = in_child(lambda: sort_library(second, root, SortOptions(bank=BANK, clusters=3, group="sound")))
    sort_library(first, root, options)
    assert steps is not None and steps > 30
    journaled = 0
    for k in range(1, steps + 1):
        made = in_child(lambda: sort_library(second, root, SortOptions(bank=BANK, clusters=3, group="sound")), kill_at=k)
        assert made is None or made < k  # killed, or done sooner: with more of it in the cache, fewer files are made ahead
        assert on_disk(root, BANK) in whole.values()  # complete and loadable, old or new
        if any((root / STATE_DIR).glob("journal-*")):
            journaled += 1
            assert main(["report", str(root), "--json"]) == 0  # any next run finishes the sort first
            assert on_disk(root, BANK) == whole["second"]
        assert_described(root, BANK, features)
        sort_library(first, root, options)  # the next run: right files, nothing left over
        assert assert_described(root, BANK, features) == whole["first"]
        assert_no_leftovers(root)
    assert 5 < journaled < steps


def killed_before_replacing(path: Path, work: Callable[[], None]) -> Callable[[], None]:
    """``work``, killed just before it replaces ``path`` (as the manifest is replaced)."""

    def run() -> None:
        replace = os.replace

        def replace_or_die(src: str, dst: str, *args: object, **kwargs: object) -> None:
            if Path(dst) == path:
                os.kill(os.getpid(), signal.SIGKILL)
            replace(src, dst, *args, **kwargs)

        os.replace = replace_or_die
        work()

    return run


def test_a_resort_killed_between_the_folder_swap_and_the_manifest_write_never_mixes_up_sounds(kits: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    features = {str(k / "hit.wav"): analyse_file(k / "hit.wav", FeatureSettings())[0] for k in kits}
    options = SortOptions(bank=BANK, clusters=3, dendrogram=False)
    sort_library(kits[:10], root, options)
    first = on_disk(root, BANK)
    assert in_child(killed_before_replacing(root / "tidalsort.yaml", lambda: sort_library(kits[2:], root, options))) is None
    assert on_disk(root, BANK) != first  # the new folder is in place, the manifest is not written
    sort_library(kits[:10], root, options)  # reuses the bank's own files: each must hold its sound
    assert assert_described(root, BANK, features) == first


def test_a_sort_killed_while_copying_leaves_no_partial_copy_after_the_next_run(kits: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    options = SortOptions(bank=BANK, clusters=3, dendrogram=False, cache=False)
    copies = [0]

    def sort_and_die_at_the_third_copy() -> None:
        sort = os.getpid()  # copies are made ahead in processes of its own: the sort dies, and they with it

        def or_die(copy: Callable) -> Callable:
            def copy_or_die(source: Path, dest: Path | None, *args: object) -> object:
                if dest is not None:
                    copies[0] += 1
                    if copies[0] == 3:
                        Path(dest).write_bytes(Path(source).read_bytes()[:1000])
                        os.kill(sort, signal.SIGKILL)
                        time.sleep(10)
                return copy(source, dest, *args)

            return copy_or_die

        bank_module._copy_hashing = or_die(bank_module._copy_hashing)
        shutil.copyfile = or_die(shutil.copyfile)
        sort_library(kits[:10], root, options)

    assert in_child(sort_and_die_at_the_third_copy) is None
    partial = [f for folder in (root / STATE_DIR).glob("tmp-*") for f in folder.iterdir() if f.stat().st_size == 1000]
    assert len(partial) == 1  # the partial copy, made ahead
    sort_library(kits[5:], root, SortOptions(bank="other", clusters=2, dendrogram=False, cache=False))
    assert not list((root / STATE_DIR).glob("tmp-*"))


def test_a_split_bank_killed_between_its_folder_swaps_is_finished_by_the_next_run(kits: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    features = {str(k / "hit.wav"): analyse_file(k / "hit.wav", FeatureSettings())[0] for k in kits}
    split = SortOptions(bank=BANK, layout="split", clusters=3, group="sound", dendrogram=False)  # by sound, as above
    sort_library(kits[:6], root, SortOptions(bank=BANK, layout="split", clusters=2, group="sound", dendrogram=False))
    before = assert_described(root, BANK, features)
    exchanges = [0]
    real = bank_module.exchange

    def exchange_then_die(a: Path, b: Path) -> bool:
        done = real(a, b)
        exchanges[0] += 1
        if exchanges[0] == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return done

    def sort() -> None:
        bank_module.exchange = exchange_then_die
        sort_library(kits[6:], root, split)

    assert in_child(sort) is None
    assert sorted(on_disk(root, BANK)) == ["b-0", "b-1"] and on_disk(root, BANK) != before  # two swapped, the third folder not yet
    assert main(["report", str(root)]) == 0
    assert sorted(assert_described(root, BANK, features)) == ["b-0", "b-1", "b-2"]
    assert_no_leftovers(root)


def test_without_an_atomic_exchange_a_kill_between_the_renames_is_finished_by_the_next_run(kits: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    features = {str(k / "hit.wav"): analyse_file(k / "hit.wav", FeatureSettings())[0] for k in kits}
    options = SortOptions(bank=BANK, clusters=3, dendrogram=False)
    sort_library(kits[:10], root, options)

    def sort() -> None:  # as on a system without renameat2, killed when the old folder is away
        bank_module.exchange = lambda a, b: False
        rename = os.rename

        def rename_or_die(src: str, dst: str) -> None:
            if Path(dst) == root / BANK:
                os.kill(os.getpid(), signal.SIGKILL)
            rename(src, dst)

        os.rename = rename_or_die
        sort_library(kits[2:], root, options)

    assert in_child(sort) is None
    assert not (root / BANK).exists() and list((root / STATE_DIR).glob("old-b-*"))
    assert main(["report", str(root)]) == 0
    assert len(assert_described(root, BANK, features)[BANK]) == 10
    assert {s.source for s in load(root).banks[BANK].samples} == {str(k / "hit.wav") for k in kits[2:]}  # the new bank
    assert_no_leftovers(root)


def test_two_sorts_of_different_banks_into_one_root_at_once_keep_both(kits: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "root"
    features = {str(k / "hit.wav"): analyse_file(k / "hit.wav", FeatureSettings())[0] for k in kits}
    pids = []
    for bank, part in (("one", kits[:6]), ("two", kits[6:])):
        pid = os.fork()
        if pid == 0:
            os._exit(_run(lambda part=part, bank=bank: sort_library(part, root, SortOptions(bank=bank, clusters=2))))
        pids.append(pid)
    assert [os.waitpid(pid, 0)[1] for pid in pids] == [0, 0]
    assert set(load(root).banks) == {"one", "two"}
    for bank in ("one", "two"):
        assert len(assert_described(root, bank, features)[bank]) == 6
        assert (root / f"{bank}-dendrogram.png").is_file()
