"""Every line the report prints to play a family, a cluster or a bank plays the samples it says,
in every layout (bank, split, families, and bank sorted --group sound, where the helpers'
tsFamRand plays a family spread over clusters):

- Tidal lines, as printed, run in real Tidal (Debian's 1.7.10, started as BootTidal.hs does,
  with tidalsort.hs and the sort's tidalsort-banks.hs loaded by :script): the /dirt/play
  messages it sends name a folder of the bank and an n that is a sample of that family or
  cluster; real SuperDirt 1.7.3 (banks loaded by ``tidalsort notify``) plays each such
  (s, n) from a buffer holding that file;
- the Tidal 1.10 line of --layout families (``s "bd*4 tom" # bank "kfam"``) in Tidal 1.10's own
  pattern code: every event's bank and s name a folder (SuperDirt after 1.7.4 plays
  ``bank_s``);
- the Strudel lines (``--strudel``) in Strudel's own code (node, tests/strudel) against
  ``tidalsort serve``: every URL Strudel would fetch is a sample of that family or cluster.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import PROJECT, noise, require, tone, write

try:
    import hs_support as hs
except ImportError:  # tests/ imported as a package
    from tests import hs_support as hs  # type: ignore[no-redef]

from tidalsort.cli import main
from tidalsort.live.serve import SampleServer
from tidalsort.output.entry import Bank
from tidalsort.output.manifest import bank_entries
from tidalsort.output.strudel import STRUDEL_MAP_NAME

STRUDEL = PROJECT / "tests" / "strudel"
#: bank name -> the sort options that make it
BANKS = {
    "kbank": ["--layout", "bank"],
    "ksound": ["--layout", "bank", "--group", "sound", "--names", "on"],  # bd 0 (a tone), bd 1 (noise): one family, two clusters
    "ksplit": ["--layout", "split"],
    "kfam": ["--layout", "families", "--names", "on"],  # kicks (bd 0, bd 1) and toms (Low Toms) first
}


def _printed(argv: list[str]) -> str:
    """What ``tidalsort ARGV`` prints (piped: rich draws 160 columns)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv) == 0
    return buffer.getvalue()


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[Path, dict[str, dict[str, str]]]:
    """One ROOT holding the four banks (20 one-shots, 6 clusters each) and,
    per bank, the report as printed in Tidal's spelling and in Strudel's."""
    base = tmp_path_factory.mktemp("lines")
    kit = base / "kit"
    for i in range(6):
        write(kit / "Low Toms" / f"Tom {i}.wav", tone(60 + 8 * i, 0.4))
        write(kit / "bells" / f"bell_{i}.wav", tone(2500 + 150 * i, 0.3, decay=0.2))
        write(kit / f"hat {i:02d}.wav", noise(0.2, seed=i, decay=0.02 + 0.005 * i))
    write(kit / "bd 0.wav", tone(70, 0.4))
    write(kit / "bd 1.wav", noise(0.2, seed=9, decay=0.03))
    root = base / "root"
    printed = {}
    for bank, options in BANKS.items():
        argv = ["sort", str(kit), "--out", str(root), "--bank", bank, "--clusters", "6", "--no-dendrogram", *options]
        sorted_strudel = _printed([*argv, "--strudel"])  # sort --strudel prints the Strudel report
        printed[bank] = {
            "tidal": _printed(["report", str(root), "--bank", bank]),
            "strudel": _printed(["report", str(root), "--bank", bank, "--strudel"]),
        }
        assert _rows(sorted_strudel) == _rows(printed[bank]["strudel"])
    return root, printed


def _rows(text: str) -> list[tuple[str, str, str]]:
    """(what, key, line) of every line that plays: ("family", family, line), ("cluster", id,
    line) from the tables' "play it" column, ("bank", "", line) from the lines of --layout families."""
    out, table = [], None
    for row in text.splitlines():
        if re.match(r"bank \S+: families", row):
            table = "family"
        elif re.match(r"bank \S+: \d+ samples in", row):
            table = "cluster"
        elif row.startswith("│") and table:
            cells = [cell.strip() for cell in row.strip().strip("│").split("│")]
            if cells[0]:  # rows folded onto more lines repeat no key
                out.append((table, cells[0], cells[-1]))
        elif row.startswith(("Tidal 1.10 ", "Strudel: ")):
            out.append(("bank", "", row.split(": ", 1)[1]))
    return out


def _allowed(entry: Bank, what: str, key: str) -> set[tuple[str, int]]:
    """The (folder, n) a row's line may play."""
    if what == "family":
        return {(s.folder, s.n) for s in entry.samples if s.family == key}
    [cluster] = [c for c in entry.clusters if str(c.id) == key]
    return {(cluster.folder, n) for n in range(cluster.start, cluster.stop)}


def _entries(root: Path) -> dict[str, Bank]:
    return {entry.name: entry for entry in bank_entries(root)}


def test_reports_print_lines_for_every_family_and_cluster(library):
    root, printed = library
    for bank, entry in _entries(root).items():
        for spelling in ("tidal", "strudel"):
            rows = _rows(printed[bank][spelling])
            keys = {(what, key) for what, key, _ in rows}
            assert keys >= {("family", s.family) for s in entry.samples} | {("cluster", str(c.id)) for c in entry.clusters}
            lines = [line for what, _, line in rows if what != "bank"]
            if spelling == "tidal":
                assert all(line.startswith("d1 $ ") for line in lines), lines
            else:
                assert all(line.startswith(("s(", "randcat(")) and "d1" not in line for line in lines), lines
        bank_rows = [line for what, _, line in _rows(printed[bank]["tidal"]) if what == "bank"]
        assert bank_rows == ([f'd1 $ s "bd*4 tom" # bank "{bank}"', f's("bd*4, tom").bank("{bank}")'] if bank == "kfam" else [])
    # --group sound --names: bd 1 (noise) sits in the hats' cluster, so no cluster is labelled
    # kick and the hats' cluster holds a kick: tsFamRand would play nothing, or the kick as a hat
    assert 'tsFamRand "ksound"' not in printed["ksound"]["tidal"]
    assert re.search(r'kick .*d1 \$ randcat \[s "ksound" # n \d+, s "ksound" # n \d+\]', printed["ksound"]["tidal"])
    assert "randcat [" in printed["ksplit"]["tidal"] and "randcat(" in printed["ksplit"]["strudel"]


# --------------------------------------------------------------------------- Tidal


def _files(root: Path, folder: str) -> list[str]:
    """A folder's sample files in SuperDirt's order (byte order of the names)."""
    return sorted(p.name for p in (root / folder).iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def tidal_heard(library) -> tuple[list[tuple[str, str, str, str]], dict[int, set[tuple[str, int]]]]:
    """Every Tidal line of every report, as printed, played at once in a real Tidal stream
    (each tagged with a control of its own) for 2.5 s at 8 cycles per second: the lines
    (bank, what, key, line) and the (s, n) each sent in /dirt/play."""
    root, printed = library
    toolchain = hs.require_toolchain()
    lines = [
        (bank, what, key, line)
        for bank in BANKS
        for what, key, line in _rows(printed[bank]["tidal"])
        if line.startswith("d1 $ ") and " # bank " not in line
    ]  # the bank line: Tidal 1.10 only, below
    dirt = hs.DirtCapture()
    ghci = hs.GhciSession(toolchain, dirt.port, hs.free_udp_port(), hs.free_udp_port())
    try:
        ghci.run(f":script {root / 'tidalsort-banks.hs'}\ntsStatic tidal tidalsortBanks\nsetcps 8\n")
        ghci.run("".join(f'p {k + 1} $ ({line.removeprefix("d1 $ ")}) # pS "tsline" "{k}"\n' for k, (_, _, _, line) in enumerate(lines)))
        t0 = time.monotonic() + 0.5
        time.sleep(3.0)
        ghci.run("hush\n")
        plays = dirt.between(t0, t0 + 2.5)
    finally:
        err = ghci.close()
        dirt.close()
    assert "rror" not in err, err
    heard: dict[int, set[tuple[str, int]]] = {}
    for m in plays:
        n = m.get("n", 0.0)
        assert float(n).is_integer(), m
        heard.setdefault(int(m["tsline"]), set()).add((m["s"], int(n)))
    return lines, heard


def test_tidal_lines_play_their_samples_in_real_tidal(library, tidal_heard):
    """The /dirt/play messages of every printed Tidal line name a folder and an n that is a
    sample of the line's family or cluster (manifest and folders on disk)."""
    root, _ = library
    entries = _entries(root)
    lines, heard = tidal_heard
    for k, (bank, what, key, line) in enumerate(lines):
        got = heard.get(k, set())
        assert len(got) >= 2 or len(_allowed(entries[bank], what, key)) == 1, (line, got)
        assert got <= _allowed(entries[bank], what, key), (bank, what, key, line, got)
        for folder, n in got:
            assert n < len(_files(root, folder)), (line, folder, n)


def test_superdirt_plays_the_files_tidal_asks_for(library, tidal_heard, tmp_path_factory):
    """Real SuperDirt 1.7.3 (tests/sc_support.py), banks loaded by ``tidalsort notify``: every
    (s, n) the printed Tidal lines sent starts a sample synth whose buffer holds that file."""
    import numpy as np
    import sc_support as sc
    import soundfile as sf

    root, _ = library
    _, heard = tidal_heard
    with sc.running_stack(tmp_path_factory.mktemp("lines-sc"), root, grace=0.3, allow="127.0.0.1", num_buffers=4096) as stack:
        assert main(["notify", str(root), "--sc-port", str(stack.listen_port)]) == 0
        stack.wait_idle()
        for folder, n in sorted(set().union(*heard.values())):
            played = stack.play(folder, n)
            assert played is not None and played[0].startswith("dirt_sample_"), (folder, n)
            data, _ = sf.read(root / folder / _files(root, folder)[n], dtype="float32", always_2d=True)
            np.testing.assert_allclose(stack.buffer_samples(played[1], 0, 16), data.reshape(-1)[:16], atol=1e-6, err_msg=f"{folder}:{n}")


def test_tidal_1_10_bank_line_names_family_folders(library, tmp_path):
    """The report's Tidal 1.10 line for --layout families, in Tidal 1.10's pattern code: the
    sounds it asks for (bank_s, as SuperDirt after 1.7.4 joins them) are the bank's folders."""
    root, printed = library
    toolchain = hs.require_toolchain()
    [line] = [line for what, _, line in _rows(printed["kfam"]["tidal"]) if what == "bank" and line.startswith("d1 $ ")]
    script = (
        hs.ghci_preamble("1.10.0") + ':set -XOverloadedStrings\n:set prompt ""\nimport qualified Data.Map as Map\n'
        f'print [(Map.lookup "bank" (value e), Map.lookup "s" (value e), Map.lookup "n" (value e)) | e <- queryArc ({line.removeprefix("d1 $ ")}) (Arc 0 1)]\n'
    )
    res = hs.run_ghci(toolchain, script, timeout=300, flags=hs.tidal_flags("1.10.0", tmp_path / "objs", ghci=True))
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr
    events = re.findall(r'\(Just "([^"]*)",Just "([^"]*)",Nothing\)', res.stdout)
    assert len(events) == 5, res.stdout
    folders = {s.folder: s.family for s in _entries(root)["kfam"].samples}
    assert {f"{bank}_{s}" for bank, s in events} == {"kfam_bd", "kfam_tom"}
    assert all(f"{bank}_{s}" in folders for bank, s in events)
    assert [folders[f"{bank}_{s}"] for bank, s in events] == ["kick"] * 4 + ["tom"]


# --------------------------------------------------------------------------- Strudel


def test_superdough_still_joins_bank_and_sound_as_resolve_mjs_does():
    superdough = STRUDEL / "node_modules" / "superdough" / "superdough.mjs"
    require(superdough.is_file(), "Strudel's packages are needed: cd tests/strudel && npm ci")
    assert re.search(r"if \(bank && s\) \{\s*s = `\$\{bank\}_\$\{s\}`;", superdough.read_text())


def test_strudel_lines_play_their_samples_in_strudel(library):
    """Every Strudel line of every report (--strudel), in Strudel's own code over 16 cycles:
    each event resolves to a URL of tidalsort serve holding a sample of that family or cluster."""
    root, printed = library
    require(
        shutil.which("node") is not None and (STRUDEL / "node_modules" / "superdough").is_dir(),
        "node and Strudel's packages are needed: apt-get install nodejs npm; cd tests/strudel && npm ci",
    )
    entries = _entries(root)
    rows = [(bank, what, key, line) for bank in BANKS for what, key, line in _rows(printed[bank]["strudel"])]
    n_of = {(s.folder, s.file): s.n for entry in entries.values() for s in entry.samples}
    server = SampleServer(root, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = subprocess.run(
            ["node", str(STRUDEL / "resolve.mjs"), server.url + STRUDEL_MAP_NAME, *[line for *_, line in rows]],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, STRUDEL_CYCLES="16"),
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    [events_line] = [line for line in done.stdout.splitlines() if line.startswith("EVENTS ")]
    events = json.loads(events_line.removeprefix("EVENTS "))
    by_code: dict[str, set[tuple[str, int]]] = {}
    for event in events:
        assert event["url"] and event["url"].startswith(server.url), event
        folder, file = unquote(event["url"].removeprefix(server.url)).split("/")
        by_code.setdefault(event["code"], set()).add((folder, n_of[(folder, file)]))
    for bank, what, key, line in rows:
        got = by_code.get(line, set())
        if what == "bank":  # s("bd*4, tom").bank("kfam"): n 0 of kfam_bd and kfam_tom
            assert got == {(f"{bank}_bd", 0), (f"{bank}_tom", 0)}, (line, got)
            continue
        allowed = _allowed(entries[bank], what, key)
        assert got <= allowed and (len(got) >= 2 or len(allowed) == 1), (bank, what, key, line, got)
