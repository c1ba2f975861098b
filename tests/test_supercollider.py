"""End-to-end tests of the TidalSort quark and tidalsort.live.bridge with real components.

jackd (dummy driver), scsynth and headless sclang are started by the module-scoped
``stack`` fixture on free ports (see tests/sc_support.py). sclang compiles the quark
from supercollider/TidalSort beside real SuperDirt 1.7.3 and Vowel from ../shared/vendor
(put on the class path by a language config, never installed) and runs TidalSort inside a
started SuperDirt. Outside CI the tests that need these programs are skipped when one is
missing; with CI=true they fail.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import string
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

try:
    import sc_support as sc
except ImportError:  # tests/ imported as a package
    from tests import sc_support as sc  # type: ignore[no-redef]

from tidalsort.live import bridge
from tidalsort.output.names import BANK_NAME

HOST = "127.0.0.1"


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("sc")
    root = base / "root"
    root.mkdir()
    outside = base / "outside"
    seed = sc.write_bank(base / "seed" / "seeded", [f"{i:03d}_s.wav" for i in range(4)], seed=99)
    return {"base": base, "root": root, "outside": outside, "seed": seed}


@pytest.fixture(scope="module")
def stack(env: dict[str, Any]):
    seed = env["base"] / "seed" / "seeded"
    # sclang gets half: 2 logins
    with sc.running_stack(env["base"] / "run", env["root"], seed_folder=seed, grace=0.3, allow="127.0.0.1", num_buffers=16384) as st:
        yield st


def load(stack: sc.ScStack, bank: str, folder: Path, count: int, boundaries: Any, labels: Any = None) -> int:
    return bridge.send_bank(HOST, stack.listen_port, bank, folder, count=count, boundaries=boundaries, labels=labels, timeout=20)


def make_bank(env: dict[str, Any], bank: str, n: int, seed: int = 0, sub: str = "", **kw: Any) -> list[dict[str, Any]]:
    folder = env["root"] / (sub or bank)
    names = [f"{i:03d}_{bank}.wav" for i in range(n)]
    return sc.write_bank(folder, names, seed=seed, **kw)


def assert_bank_matches(stack: sc.ScStack, bank: str, files: list[dict[str, Any]]) -> None:
    """The library's entries and the server's buffers hold the files in the given order."""
    state = stack.state(bank)
    assert state is not None, f"bank {bank} missing"
    assert len(state) == len(files)
    info = stack.buffer_info([s[0] for s in state])
    for entry, f in zip(state, files):
        bufnum, frames, chans, ev_buf, ev_frames, ev_chans = entry
        assert (frames, chans) == (f["frames"], f["channels"]), f["name"]
        assert (ev_buf, ev_frames, ev_chans) == (bufnum, frames, chans)
        assert info[bufnum][:2] == (f["frames"], f["channels"]), f["name"]
        data = f["data"].reshape(-1)
        head = stack.buffer_samples(bufnum, 0, min(64, data.size))
        tail_start = data.size - min(32, data.size)
        tail = stack.buffer_samples(bufnum, tail_start, data.size - tail_start)
        np.testing.assert_array_equal(head, data[: head.size], err_msg=f["name"])
        np.testing.assert_array_equal(tail, data[tail_start:], err_msg=f["name"])


def assert_unchanged(stack: sc.ScStack, before: dict[str, Any], buffers: int) -> None:
    """Once sclang is idle, every bank is as in ``before`` and ``buffers`` buffers are allocated."""
    stack.wait_idle()
    assert stack.states() == before
    assert stack.allocated_buffer_count() == buffers


def ctrl_messages(stack: sc.ScStack, timeout: float = 1.0) -> list[tuple]:
    return [tuple(m.params) for m in stack.ctrl.collect(timeout) if m.address == "/ctrl"]


def drain_ctrl(stack: sc.ScStack) -> None:
    stack.ctrl.collect(0.2)


# --------------------------------------------------------------------------------------
# pure-Python bridge tests (no SuperCollider needed)
# --------------------------------------------------------------------------------------


def test_format_boundaries_and_labels() -> None:
    assert bridge.format_boundaries([0, 12, 30, 55], 55) == "0 12 30 55"
    assert bridge.format_boundaries("0  12 30 55 ") == "0 12 30 55"
    assert bridge.format_boundaries(np.array([0, 3, 5])) == "0 3 5"
    assert bridge.format_labels(["kick", "snare", "c2"], 3) == "kick snare c2"
    for bad in ([1, 5], [0, 5, 5], [0], "0 x 5", [0, 2.5, 5], [0, True]):
        with pytest.raises(bridge.InvalidBankMessage):
            bridge.format_boundaries(bad)  # type: ignore[arg-type]
    with pytest.raises(bridge.InvalidBankMessage):
        bridge.format_boundaries([0, 5], 6)
    with pytest.raises(ValueError):  # InvalidBankMessage is a ValueError too
        bridge.format_labels(["a b"], 1)
    with pytest.raises(bridge.InvalidBankMessage):
        bridge.format_labels(["a", "b"], 3)


def test_build_bank_message_validates(tmp_path: Path) -> None:
    dgram = bridge.build_bank_message("kick", tmp_path, 5, [0, 2, 5], labels=["lo", "hi"])
    from pythonosc.osc_message import OscMessage

    msg = OscMessage(dgram)
    assert msg.address == "/tidalsort/bank"
    assert msg.params == ["kick", str(tmp_path), 5, "0 2 5", "lo hi"]
    assert OscMessage(bridge.build_bank_message("kick", tmp_path, 5, "0 5")).params[4:] == []
    for args in (
        ("Kick", 5, [0, 5]),
        ("_k", 5, [0, 5]),
        ("k k", 5, [0, 5]),
        ("k", 0, [0, 0]),
        ("k", 5.0, [0, 5]),
        ("k", 5, [0, 4]),
        ("k" * 65, 5, [0, 5]),
    ):
        with pytest.raises(bridge.InvalidBankMessage):
            bridge.build_bank_message(args[0], tmp_path, args[1], args[2])  # type: ignore[arg-type]
    assert bridge.ctrl_key("kick") == "tidalsort_kick"
    assert bridge.ctrl_labels_key("kick") == "tidalsort_kick_labels"


def test_timeout_message_when_nobody_answers() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(bridge.BridgeTimeout) as exc:
            bridge.ping(HOST, port, timeout=0.4)
        assert str(exc.value) == f"sclang is not listening on 127.0.0.1:{port} (no reply in 0.4 s)"
        assert time.monotonic() - t0 < 2
        with pytest.raises(bridge.BridgeTimeout, match="not listening"):
            bridge.send_bank(HOST, port, "kick", "/tmp", count=1, boundaries=[0, 1], timeout=0.3)
    finally:
        silent.close()


# --------------------------------------------------------------------------------------
# SuperCollider tests
# --------------------------------------------------------------------------------------


def test_sclang_unit_checks(tmp_path: Path) -> None:
    """Class-level checks in sclang alone, then TidalSort on the language port (the default
    set-up) with a server that is not running: ping works, loads are refused."""
    sc.require_sclang()
    root = tmp_path / "root"
    sc.write_bank(root / "kick", ["000_a.wav", "001_b.wav"], seed=7)
    lang_port = sc.free_udp_port()
    proc, log = sc.start_sclang(sc.UNIT_SCRIPT, tmp_path / "unit", lang_port, TIDALSORT_TEST_ROOT=str(root))
    try:
        text = sc.wait_for_line(log, proc, "UNIT READY")
        lines = text.splitlines()
        fails = [line for line in lines if line.startswith("UNIT FAIL")]
        passes = [line for line in lines if line.startswith("UNIT PASS")]
        assert fails == [] and len(passes) == 17, "\n".join(fails) or text[-3000:]
        sorted_line = next(line for line in lines if line.startswith("UNIT SORTED "))
        names = sorted_line[len("UNIT SORTED ") :].split("|")
        assert names == sc.byte_order(names)
        assert names[:3] == ["002.wav", "10.wav", "2.wav"] and names[-2:] == ["ä.wav", "é.wav"]
        assert bridge.ping(HOST, lang_port, timeout=5) == bridge.PROTOCOL_VERSION
        with pytest.raises(bridge.BankRejected, match="is not running"):
            bridge.send_bank(HOST, lang_port, "kick", root / "kick", count=2, boundaries=[0, 2], timeout=5)
        with pytest.raises(bridge.BankRejected, match="folder not found"):
            bridge.send_bank(HOST, lang_port, "kick", root / "nope", count=2, boundaries=[0, 2], timeout=5)
    finally:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(sc.osc("/test/quit"), (HOST, lang_port))
            proc.wait(timeout=5)
        except Exception:
            pass
        sc.stop_process(proc)


def test_folder_with_glob_characters(stack: sc.ScStack, env: dict[str, Any]) -> None:
    files = sc.write_bank(env["root"] / "kit [old] *", ["000_a.wav", "001_b.wav", "002_c.wav"], seed=8)
    (env["root"] / "kit [old] x").mkdir()  # would match the unescaped pattern too
    sc.write_bank(env["root"] / "kit [old] x", ["000_z.wav"], seed=9)
    assert load(stack, "brackets", env["root"] / "kit [old] *", 3, [0, 3]) == 3
    assert_bank_matches(stack, "brackets", files)


def test_ping_returns_protocol_version(stack: sc.ScStack) -> None:
    assert bridge.ping(HOST, stack.listen_port, timeout=5) == bridge.PROTOCOL_VERSION == 2


def test_bank_loads_files_in_byte_order(stack: sc.ScStack, env: dict[str, Any]) -> None:
    # names whose byte order differs from natural, case-insensitive and locale order
    names = ["a.wav", "B.WAV", "10.wav", "2.aif", "002.wav", "_x.wav", "A.wav", "b2.aiff"]
    files = sc.write_bank(env["root"] / "order", names, seed=1, channels=[1, 2], subtypes=["FLOAT", "PCM_16", "PCM_24"])
    (env["root"] / "order" / "manifest.json").write_text("{}")  # sidecar: ignored
    (env["root"] / "order" / "sub").mkdir()  # sub-folder: ignored
    (env["root"] / "order" / ".hidden.txt").write_text("x")  # dot-file: ignored
    by_name = {f["name"]: f for f in files}
    ordered = [by_name[n] for n in sc.byte_order(names)]
    assert [f["name"] for f in ordered] == ["002.wav", "10.wav", "2.aif", "A.wav", "B.WAV", "_x.wav", "a.wav", "b2.aiff"]
    assert load(stack, "order", env["root"] / "order", len(names), [0, 3, 8], ["low", "high"]) == len(names)
    assert_bank_matches(stack, "order", ordered)


def test_boundaries_and_labels_reach_tidal(stack: sc.ScStack, env: dict[str, Any]) -> None:
    make_bank(env, "ctl", 6, seed=2)
    drain_ctrl(stack)
    load(stack, "ctl", env["root"] / "ctl", 6, [0, 2, 5, 6], "kick snare c2")
    msgs = ctrl_messages(stack)
    assert ("tidalsort_ctl", "0 2 5 6") in msgs
    assert ("tidalsort_ctl_labels", "kick snare c2") in msgs
    for m in msgs:  # both arguments typed as strings, exactly two of them
        assert len(m) == 2 and all(isinstance(x, str) for x in m)
    # reloaded without labels: the stale labels are cleared once
    load(stack, "ctl", env["root"] / "ctl", 6, "0 6")
    msgs = ctrl_messages(stack)
    assert ("tidalsort_ctl", "0 6") in msgs
    assert ("tidalsort_ctl_labels", "") in msgs
    load(stack, "ctl", env["root"] / "ctl", 6, "0 3 6")
    msgs = ctrl_messages(stack)
    assert msgs == [("tidalsort_ctl", "0 3 6")]


def test_resend(stack: sc.ScStack, env: dict[str, Any]) -> None:
    make_bank(env, "rs", 3, seed=3)
    load(stack, "rs", env["root"] / "rs", 3, [0, 1, 3], ["a", "b"])
    drain_ctrl(stack)
    assert bridge.resend(HOST, stack.listen_port, "rs") == 1
    assert sorted(ctrl_messages(stack)) == [("tidalsort_rs", "0 1 3"), ("tidalsort_rs_labels", "a b")]
    n = bridge.resend(HOST, stack.listen_port)
    msgs = ctrl_messages(stack)
    keys = {m[0] for m in msgs}
    assert n >= 1 and "tidalsort_rs" in keys and "tidalsort_rs_labels" in keys
    assert len([k for k in keys if not k.endswith("_labels")]) == n
    with pytest.raises(bridge.BankRejected, match="no boundaries stored"):
        bridge.resend(HOST, stack.listen_port, "neverloaded")
    # the same from SuperCollider: TidalSort.resend(\rs) and TidalSort.resend
    drain_ctrl(stack)
    assert stack.peer.request(stack.listen_port, sc.osc("/test/resend", "rs"), "/test/resend").params == [1]
    assert sorted(ctrl_messages(stack)) == [("tidalsort_rs", "0 1 3"), ("tidalsort_rs_labels", "a b")]
    assert stack.peer.request(stack.listen_port, sc.osc("/test/resend"), "/test/resend").params == [n]
    assert {m[0] for m in ctrl_messages(stack)} == keys


def test_long_values_reach_tidal_in_small_parts(stack: sc.ScStack, env: dict[str, Any]) -> None:
    """1,000 clusters of 1,100 files: Tidal 1.7 reads at most 8,192 bytes of a /ctrl message,
    so the long boundaries and labels arrive in parts that join to the exact values, and at
    every moment of a reload Tidal sees the old or the new value, never a mix."""
    make_bank(env, "huge", 1100, seed=90, base_frames=32, step=1)
    bounds = [0]
    for i in range(1000):
        bounds.append(bounds[-1] + (2 if i < 100 else 1))
    labels = [f"hihat_closed-{i + 2}" for i in range(1000)]
    values = {"tidalsort_huge": " ".join(map(str, bounds)), "tidalsort_huge_labels": " ".join(labels)}
    assert len(values["tidalsort_huge"]) > 4000 and len(values["tidalsort_huge_labels"]) > 8192
    drain_ctrl(stack)
    assert load(stack, "huge", env["root"] / "huge", 1100, bounds, labels) == 1100
    msgs = [m for m in stack.ctrl.collect(1.0) if m.address == "/ctrl"]
    assert max(m.size for m in msgs) <= 4200
    tidal = sc.TidalControls()
    tidal.apply(msgs)
    for key, value in values.items():
        assert tidal.values[key].startswith("@") and tidal.live(key) == value
        keys = [m.params[0] for m in msgs]
        assert keys.index(key) > max(i for i, k in enumerate(keys) if k.startswith(key + "."))  # header last
    # reload (the same values, a new generation in the other slot): at every message the
    # values Tidal can read are the whole old ones or the whole new ones
    before = dict(tidal.values)
    load(stack, "huge", env["root"] / "huge", 1100, bounds, labels)
    msgs = [m for m in stack.ctrl.collect(1.0) if m.address == "/ctrl"]
    for m in msgs:
        tidal.apply([m])
        assert all(tidal.live(key) == value for key, value in values.items())
    assert {k: v for k, v in tidal.values.items() if v != before.get(k)}  # something new was sent
    assert tidal.values["tidalsort_huge"] != before["tidalsort_huge"]
    # short values again: sent whole, and every part left in Tidal is emptied
    load(stack, "huge", env["root"] / "huge", 1100, [0, 1100], ["all"])
    tidal.apply(stack.ctrl.collect(1.0))
    assert tidal.live("tidalsort_huge") == "0 1100" and tidal.live("tidalsort_huge_labels") == "all"
    parts = {k: v for k, v in tidal.values.items() if k.startswith("tidalsort_huge.") or k.startswith("tidalsort_huge_labels.")}
    assert len(parts) >= 10 and set(parts.values()) == {""}


def test_unload_frees_buffers_after_grace_and_clears_tidal(stack: sc.ScStack, env: dict[str, Any]) -> None:
    root: Path = env["root"]
    make_bank(env, "gone", 4, seed=95, base_frames=20000, step=100)
    load(stack, "gone", root / "gone", 4, [0, 2, 4], ["a", "b"])
    stack.wait_idle()
    count = stack.allocated_buffer_count()
    state = stack.state("gone")
    others = {bank: s for bank, s in stack.states().items() if bank != "gone"}
    assert stack.play("gone", 1) is not None
    drain_ctrl(stack)
    assert "gone" in bridge.sounds(HOST, stack.listen_port, root, prefix="gon")
    # never a sound read from another folder (a same-named sound of another root)
    with pytest.raises(bridge.BankRejected, match="was not loaded from"):
        bridge.unload(HOST, stack.listen_port, "gone", root / "elsewhere" / "gone")
    assert bridge.unload(HOST, stack.listen_port, "gone", root / "gone") == 4
    assert stack.state("gone") is None and "gone" not in bridge.sounds(HOST, stack.listen_port, root, prefix="gon")
    # freed only after the grace delay, so notes already scheduled still play
    assert stack.loader()[0] == 4
    assert all(frames > 0 for frames, _, _ in stack.buffer_info([s[0] for s in state]).values())
    stack.wait_idle()
    assert stack.allocated_buffer_count() == count - 4
    assert stack.play("gone", 1, timeout=1.0) is None
    tidal = sc.TidalControls()
    tidal.apply(stack.ctrl.collect(0.5))
    assert tidal.values == {"tidalsort_gone": "", "tidalsort_gone_labels": ""}
    with pytest.raises(bridge.BankRejected, match="no boundaries stored"):
        bridge.resend(HOST, stack.listen_port, "gone")
    with pytest.raises(bridge.BankRejected, match="no sound named 'gone' is loaded"):
        bridge.unload(HOST, stack.listen_port, "gone", root / "gone")
    assert {bank: s for bank, s in stack.states().items()} == others


def test_unload_sounds_superdirt_loaded_only_below_the_roots(stack: sc.ScStack, env: dict[str, Any]) -> None:
    """Sounds SuperDirt loaded itself (~dirt.loadSoundFiles at startup) are listed and unloaded
    when they come from a folder below the roots; SuperDirt's other sounds never are."""
    root: Path = env["root"]
    sc.write_bank(root / "startup", [f"{i:03d}.wav" for i in range(3)], seed=96)
    stack.peer.request(stack.listen_port, sc.osc("/test/dirtreload", "startup", str(root / "startup")), "/test/dirtreload")
    stack.wait_idle()
    count = stack.allocated_buffer_count()
    listed = bridge.sounds(HOST, stack.listen_port, root)
    assert "startup" in listed and "seeded" not in listed
    assert bridge.sounds(HOST, stack.listen_port, env["base"] / "seed") == []  # not below the roots
    with pytest.raises(bridge.BankRejected, match="not loaded from"):
        bridge.unload(HOST, stack.listen_port, "seeded", env["base"] / "seed" / "seeded")
    assert stack.state("seeded") is not None
    assert bridge.unload(HOST, stack.listen_port, "startup", root / "startup") == 3
    stack.wait_idle()
    assert stack.allocated_buffer_count() == count - 3


def test_reload_does_not_leak_and_swaps(stack: sc.ScStack, env: dict[str, Any]) -> None:
    a = make_bank(env, "leak", 8, seed=10, sub="leak_a")
    b = make_bank(env, "leak", 5, seed=11, sub="leak_b", channels=[2])
    order_before = stack.state("order")
    seeded_before = stack.state("seeded")
    assert seeded_before is not None and len(seeded_before) == 4
    load(stack, "leak", env["root"] / "leak_a", 8, [0, 8])
    stack.wait_idle()
    after_first = stack.allocated_buffer_count()
    ticks0, violations0 = stack.monitor()
    for i in range(20):
        files, folder = (b, "leak_b") if i % 2 == 0 else (a, "leak_a")
        assert load(stack, "leak", env["root"] / folder, len(files), [0, len(files)]) == len(files)
        state = stack.state("leak")
        assert [s[1] for s in state] == [f["frames"] for f in files]
    assert_bank_matches(stack, "leak", a)
    stack.wait_idle()
    assert stack.allocated_buffer_count() == after_first
    # other banks untouched: same buffers, same events
    assert stack.state("order") == order_before
    assert stack.state("seeded") == seeded_before
    ticks1, violations1 = stack.monitor()
    assert ticks1 > ticks0 and violations1 == violations0 == 0


def test_superdirt_reload_path_leaks(stack: sc.ScStack, env: dict[str, Any]) -> None:
    """Sanity check of the leak metric: SuperDirt's own reload path leaks."""
    folder = env["base"] / "dirtleak"
    sc.write_bank(folder, [f"{i:03d}.wav" for i in range(3)], seed=5)
    stack.peer.request(stack.listen_port, sc.osc("/test/dirtreload", "dirtleak", str(folder)), "/test/dirtreload")
    stack.wait_idle()
    before = stack.allocated_buffer_count()
    for _ in range(2):
        stack.peer.request(stack.listen_port, sc.osc("/test/dirtreload", "dirtleak", str(folder)), "/test/dirtreload")
    stack.wait_idle()
    assert stack.allocated_buffer_count() == before + 6


def test_dirt_events_play_the_buffer_of_manifest_n(stack: sc.ScStack, env: dict[str, Any]) -> None:
    """What Tidal's s "play" # n k does, a \\dirt event through SuperDirt's orbit, starts a
    dirt_sample synth on the server reading the buffer of manifest n = k (n wraps, as in
    SuperDirt); after a reload, the same n plays the new files."""
    names = [f"{i:03d}_play.wav" for i in range(5)]
    files = sc.write_bank(env["root"] / "play_a", names, seed=80, base_frames=20000, step=900, channels=[1, 2])
    load(stack, "play", env["root"] / "play_a", 5, [0, 2, 5])
    state = stack.state("play")
    for k in (0, 1, 2, 3, 4, 5, 7, -1):
        f, entry = files[k % 5], state[k % 5]
        assert stack.play("play", k) == (f"dirt_sample_{f['channels']}_2", entry[0]), k
        assert stack.buffer_info([entry[0]])[entry[0]][:2] == (f["frames"], f["channels"])
    # reloaded from another folder: the same n plays the new buffers, never the old ones
    files_b = sc.write_bank(env["root"] / "play_b", names[:3], seed=81, base_frames=16000, step=500, channels=[2, 1])
    load(stack, "play", env["root"] / "play_b", 3, [0, 3])
    state_b = stack.state("play")
    assert not {s[0] for s in state_b} & {s[0] for s in state}
    for k in range(4):
        f, entry = files_b[k % 3], state_b[k % 3]
        assert stack.play("play", k) == (f"dirt_sample_{f['channels']}_2", entry[0]), k
    assert_bank_matches(stack, "play", files_b)
    assert stack.play("neverloaded", 0, timeout=1.0) is None


def test_split_layout_adds_new_banks(stack: sc.ScStack, env: dict[str, Any]) -> None:
    banks = {f"split-{i}": make_bank(env, f"split-{i}", 2 + i, seed=20 + i) for i in range(3)}
    seeded_before = stack.state("seeded")
    # --layout split: one message per folder; sent back to back from one socket
    peer = sc.OscPeer()
    try:
        for name, files in banks.items():
            peer.send(stack.listen_port, bridge.build_bank_message(name, env["root"] / name, len(files), [0, len(files)]))
        seen: set = set()

        def all_loaded(m: Any) -> bool:
            if m.address == "/tidalsort/loaded":
                seen.add(m.params[0])
            return len(seen) == len(banks)

        msgs = peer.collect(20, until=all_loaded)
    finally:
        peer.close()
    assert sorted(m.params[0] for m in msgs if m.address == "/tidalsort/loaded") == sorted(banks)
    for name, files in banks.items():
        assert_bank_matches(stack, name, files)
    assert stack.state("seeded") == seeded_before
    assert set(banks) <= set(stack.banks())


def test_large_bank_spans_query_chunks(stack: sc.ScStack, env: dict[str, Any]) -> None:
    """300 files: more than one /b_query chunk (256) and far more than one UDP burst."""
    files = make_bank(env, "big", 300, seed=50, base_frames=64, step=3)
    assert load(stack, "big", env["root"] / "big", 300, [0, 100, 300]) == 300
    state = stack.state("big")
    assert [s[1] for s in state] == [f["frames"] for f in files]
    info = stack.buffer_info([s[0] for s in state])
    assert [info[s[0]][0] for s in state] == [f["frames"] for f in files]
    for i in (0, 255, 256, 299):  # spot-check contents around the chunk border
        np.testing.assert_array_equal(stack.buffer_samples(state[i][0], 0, 16), files[i]["data"].reshape(-1)[:16])
    stack.wait_idle()
    count = stack.allocated_buffer_count()
    assert load(stack, "big", env["root"] / "big", 300, [0, 300]) == 300
    stack.wait_idle()
    assert stack.allocated_buffer_count() == count


def udp_drops(port: int) -> int:
    """Datagrams the kernel dropped at the loopback UDP socket on ``port`` (its queue was full)."""
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rpartition(":")[2], 16) == port:
            return int(fields[-1])
    raise AssertionError(f"no UDP socket on port {port}")


def test_reads_lost_while_the_server_is_busy_are_read_again(tmp_path: Path) -> None:
    """A server too busy to empty its socket (here: stopped) loses reads of a large bank's
    burst; they read as 0 frames, like unreadable files, until read again."""
    files = sc.write_bank(tmp_path / "root" / "busy", [f"{i:04d}_busy.wav" for i in range(1100)], seed=7, base_frames=32, step=1)
    with sc.running_stack(tmp_path / "run", tmp_path / "root", grace=0.3, num_buffers=8192) as stack:
        synth = dict(stack.procs)["scsynth"]
        dropped = udp_drops(stack.server_port)
        loaded: dict[str, Any] = {}

        def send() -> None:
            try:
                loaded["count"] = load(stack, "busy", tmp_path / "root" / "busy", 1100, [0, 1100])
            except bridge.BridgeError as exc:
                loaded["error"] = exc

        os.kill(synth.pid, signal.SIGSTOP)
        try:
            sender = threading.Thread(target=send)
            sender.start()
            deadline = time.monotonic() + 10
            while udp_drops(stack.server_port) == dropped and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            os.kill(synth.pid, signal.SIGCONT)
        sender.join(30)
        assert udp_drops(stack.server_port) > dropped, "no read was lost: nothing tested"
        assert loaded == {"count": 1100}
        info = stack.buffer_info([s[0] for s in stack.state("busy")])
        assert [frames for frames, _, _ in info.values()] == [f["frames"] for f in files]


@pytest.mark.parametrize("mode", ["frames", "path"])
def test_server_side_read_failure_changes_nothing(stack: sc.ScStack, env: dict[str, Any], mode: str) -> None:
    """A load whose server read disagrees with the header (or fails) is rolled back."""
    files = make_bank(env, "fail", 5, seed=60)
    load(stack, "fail", env["root"] / "fail", 5, [0, 5])
    stack.wait_idle()
    before = stack.states()
    count = stack.allocated_buffer_count()
    drain_ctrl(stack)
    msg = stack.peer.request(
        stack.listen_port,
        sc.osc("/test/badload", "fail", str(env["root"] / "fail"), 5, "0 2 5", mode),
        "/test/badload",
        timeout=20,
    )
    assert msg.params[0] == "fail"
    assert msg.params[1].startswith("the server could not read"), msg.params[1]
    assert_unchanged(stack, before, count)
    assert ctrl_messages(stack, 0.3) == []
    assert_bank_matches(stack, "fail", files)


def test_cmd_period_during_load_and_grace(stack: sc.ScStack, env: dict[str, Any]) -> None:
    """Cmd-Period clears SystemClock: no load may hang, no buffer may leak."""
    files = make_bank(env, "cmd", 150, seed=70, base_frames=4000, step=11)
    stack.wait_idle()
    c0 = stack.allocated_buffer_count()
    peer = sc.OscPeer()
    try:
        peer.send(stack.listen_port, bridge.build_bank_message("cmd", env["root"] / "cmd", 150, [0, 150]))
        time.sleep(0.02)
        peer.send(stack.listen_port, sc.osc("/test/cmdperiod"))
        msgs = peer.collect(20, until=lambda m: m.address in ("/tidalsort/loaded", "/tidalsort/error"))
    finally:
        peer.close()
    reply = msgs[-1]
    assert reply.address == "/tidalsort/loaded" or reply.params[1] == "interrupted by Cmd-Period", reply.params
    stack.wait_idle()
    expected = c0 + (150 if reply.address == "/tidalsort/loaded" else 0)
    assert stack.allocated_buffer_count() == expected
    # the queue still works, and frees pending during a Cmd-Period still happen
    assert load(stack, "cmd", env["root"] / "cmd", 150, [0, 150]) == 150
    stack.wait_idle()
    c1 = stack.allocated_buffer_count()
    assert c1 == c0 + 150
    assert load(stack, "cmd", env["root"] / "cmd", 150, [0, 150]) == 150
    stack.peer.request(stack.listen_port, sc.osc("/test/cmdperiod"), "/test/cmdperiod")
    stack.wait_idle()
    assert stack.allocated_buffer_count() == c1
    state = stack.state("cmd")
    assert [s[1] for s in state] == [f["frames"] for f in files]
    assert stack.monitor()[1] == 0
    assert bridge.ping(HOST, stack.listen_port) == bridge.PROTOCOL_VERSION


def _error_cases(env: dict[str, Any]) -> list[Any]:
    root: Path = env["root"]
    outside: Path = env["outside"]
    good = root / "guard"
    cases: list[Any] = []

    def add(label: str, args: list[Any], expect: str) -> None:
        cases.append((label, args, expect))

    add("no args", [], "expected 4 or 5 arguments")
    add("3 args", ["guard", str(good), 3], "expected 4 or 5 arguments")
    add("6 args", ["guard", str(good), 3, "0 3", "a", "b"], "expected 4 or 5 arguments")
    add("int bank", [5, str(good), 3, "0 3"], "bank must be a string")
    add("blob folder", ["guard", (b"\x01\x02", "b"), 3, "0 3"], "folder must be a string")
    add("float count", ["guard", str(good), 3.0, "0 3"], "count must be an int32")
    add("string count", ["guard", str(good), "3", "0 3"], "count must be an int32")
    add("int boundaries", ["guard", str(good), 3, 3], "boundaries must be a string")
    add("zero count", ["guard", str(good), 0, "0 0"], "out of range")
    add("negative count", ["guard", str(good), -3, "0 3"], "out of range")
    add("absurd count", ["guard", str(good), 2**31 - 1, f"0 {2**31 - 1}"], "out of range")
    add("upper bank", ["Guard", str(good), 3, "0 3"], "invalid bank name")
    add("dots bank", ["../guard", str(good), 3, "0 3"], "invalid bank name")
    add("underscore bank", ["_guard", str(good), 3, "0 3"], "invalid bank name")
    add("space bank", ["gu ard", str(good), 3, "0 3"], "invalid bank name")
    add("empty bank", ["", str(good), 3, "0 3"], "invalid bank name")
    add("long bank", ["g" * 65, str(good), 3, "0 3"], "invalid bank name")
    add("synth bank", ["superpiano", str(good), 3, "0 3"], "a synth named")
    add("bad boundaries", ["guard", str(good), 3, "0 x 3"], "boundaries must be non-negative ints")
    add("negative boundary", ["guard", str(good), 3, "0 -1 3"], "boundaries must be non-negative ints")
    add("boundaries not at 0", ["guard", str(good), 3, "1 3"], "must start at 0")
    add("boundaries not at count", ["guard", str(good), 3, "0 2"], "must end at the count")
    add("boundaries decreasing", ["guard", str(good), 3, "0 2 1 3"], "strictly increasing")
    add("boundaries one value", ["guard", str(good), 3, "0"], "at least two")
    add("labels too few", ["guard", str(good), 3, "0 1 3", "a"], "labels: expected 2")
    add("labels bad chars", ["guard", str(good), 3, "0 3", "a/b"], "invalid label")
    add("relative folder", ["guard", "root/guard", 3, "0 3"], "absolute path")
    add("dotdot folder", ["guard", f"{root}/../root/guard", 3, "0 3"], "must not contain '..'")
    add("missing folder", ["guard", str(root / "nope"), 3, "0 3"], "folder not found")
    add("outside folder", ["guard", str(outside / "bank"), 3, "0 3"], "outside the allowed roots")
    add("root itself", ["guard", str(root), 3, "0 3"], "outside the allowed roots")
    add("etc", ["guard", "/etc", 3, "0 3"], "outside the allowed roots")
    add("file not folder", ["guard", str(good / "000_guard.wav"), 3, "0 3"], "not a folder")
    add("symlink folder escapes", ["guard", str(root / "escape"), 3, "0 3"], "outside the allowed roots")
    add("symlink file escapes", ["guard", str(root / "badlink"), 2, "0 2"], "leads outside the allowed roots")
    add("count mismatch", ["guard", str(good), 4, "0 4"], "count is 4 but the folder holds 3")
    add("non-audio file", ["guard", str(root / "exe"), 2, "0 2"], "non-audio file in bank folder: run.exe")
    add("flac file", ["guard", str(root / "flac"), 1, "0 1"], "non-audio file in bank folder: x.flac")
    add("fake wav", ["guard", str(root / "fake"), 2, "0 2"], "not a readable audio file: 001_fake.wav")
    add("empty wav", ["guard", str(root / "emptywav"), 1, "0 1"], "empty audio file: 000_e.wav")
    add("4 channels", ["guard", str(root / "quad"), 1, "0 1"], "has 4 channels")
    add("empty folder", ["guard", str(root / "empty"), 1, "0 1"], "count is 1 but the folder holds 0")
    return cases


def _prepare_error_fixtures(env: dict[str, Any]) -> list[dict[str, Any]]:
    root: Path = env["root"]
    outside: Path = env["outside"]
    guard = make_bank(env, "guard", 3, seed=30)
    sc.write_bank(outside / "bank", [f"{i:03d}_o.wav" for i in range(3)], seed=31)
    if not (root / "escape").exists():
        os.symlink(outside / "bank", root / "escape")
    sc.write_bank(root / "badlink", ["000_ok.wav"], seed=32)
    if not (root / "badlink" / "001_link.wav").exists():
        os.symlink(outside / "bank" / "000_o.wav", root / "badlink" / "001_link.wav")
    sc.write_bank(root / "exe", ["000_a.wav", "001_b.wav"], seed=33)
    (root / "exe" / "run.exe").write_bytes(b"MZ\x90\x00")
    (root / "flac").mkdir(exist_ok=True)
    sf.write(str(root / "flac" / "x.flac"), np.zeros(100, dtype=np.float32), 44100)
    sc.write_bank(root / "fake", ["000_ok.wav"], seed=34)
    (root / "fake" / "001_fake.wav").write_bytes(b"RIFF\x00\x00\x00\x00notawave" * 4)
    (root / "emptywav").mkdir(exist_ok=True)
    sf.write(str(root / "emptywav" / "000_e.wav"), np.zeros((0, 1), dtype=np.float32), 44100)
    sc.write_bank(root / "quad", ["000_q.wav"], seed=35, channels=[4])
    (root / "empty").mkdir(exist_ok=True)
    return guard


def test_malformed_messages_get_errors_and_change_nothing(stack: sc.ScStack, env: dict[str, Any]) -> None:
    guard = _prepare_error_fixtures(env)
    load(stack, "guard", env["root"] / "guard", 3, [0, 1, 3], ["a", "b"])
    stack.wait_idle()
    before = stack.states()
    count_before = stack.allocated_buffer_count()
    drain_ctrl(stack)
    peer = sc.OscPeer()
    try:
        for label, args, expect in _error_cases(env):
            msg = peer.request(stack.listen_port, sc.osc("/tidalsort/bank", *args), "/tidalsort/error", timeout=5)
            assert len(msg.params) == 2, label
            assert expect in msg.params[1], f"{label}: {msg.params[1]!r}"
            if args and isinstance(args[0], str) and len(args[0]) <= 128:
                assert msg.params[0] == args[0], label
        # /tidalsort/resend with wrong arguments
        msg = peer.request(stack.listen_port, sc.osc("/tidalsort/resend", "a", "b"), "/tidalsort/error")
        assert "expected 0 or 1" in msg.params[1]
        msg = peer.request(stack.listen_port, sc.osc("/tidalsort/resend", 5), "/tidalsort/error")
        assert "must be a string" in msg.params[1]
        # /tidalsort/unload and /tidalsort/sounds with wrong arguments
        for address, args, expect in [
            ("/tidalsort/unload", ["guard"], "expected 2 arguments (sound, folder), got 1"),
            ("/tidalsort/unload", ["guard", "root/guard"], "folder must be an absolute path"),
            ("/tidalsort/unload", ["Guard", str(env["root"] / "guard")], "invalid sound name"),
            ("/tidalsort/unload", ["guard", f"{env['root']}/../root/guard"], "must not contain '..'"),
            ("/tidalsort/sounds", [5, "g"], "root must be a string"),
            ("/tidalsort/sounds", [str(env["root"])], "expected 2 arguments (root, prefix), got 1"),
        ]:
            msg = peer.request(stack.listen_port, sc.osc(address, *args), "/tidalsort/error")
            assert expect in msg.params[1], (address, args, msg.params)
    finally:
        peer.close()
    # through the Python API: BankRejected with sclang's reason
    with pytest.raises(bridge.BankRejected) as exc:
        load(stack, "guard", env["root"] / "guard", 4, [0, 4])
    assert exc.value.bank == "guard" and "count is 4" in exc.value.reason
    assert "sclang rejected bank 'guard': count is 4" in str(exc.value)
    assert_unchanged(stack, before, count_before)
    assert ctrl_messages(stack, 0.3) == []
    assert_bank_matches(stack, "guard", guard)


def test_sender_allow_list(stack: sc.ScStack, env: dict[str, Any]) -> None:
    # this stack allows only 127.0.0.1: a sender on 127.0.0.2 is ignored without a reply
    make_bank(env, "allow", 2, seed=40)
    other = sc.OscPeer(bind_host="127.0.0.2")
    try:
        other.send(stack.listen_port, sc.osc("/tidalsort/ping"))
        other.send(stack.listen_port, bridge.build_bank_message("allow", env["root"] / "allow", 2, [0, 2]))
        assert other.collect(0.7) == []
    finally:
        other.close()
    assert stack.state("allow") is None
    # the default allow-list is loopback only
    assert stack.default_allows("127.0.0.1") and stack.default_allows("127.9.8.7")
    assert not stack.default_allows("10.0.0.1") and not stack.default_allows("192.168.1.20")


def _fuzz_value(rng: random.Random, env: dict[str, Any]) -> Any:
    root = str(env["root"])
    kind = rng.randrange(12)
    if kind == 0:
        return rng.randint(-(2**31), 2**31 - 1)
    if kind == 1:
        return rng.uniform(-1e6, 1e6)
    if kind == 2:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(0, 40)))
    if kind == 3:
        return (bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))), "b")
    if kind == 4:
        return rng.choice([True, False, None])
    if kind == 5:
        return rng.choice(
            [
                "/etc",
                "/",
                root,
                root + "/..",
                root + "/guard/..",
                root + "/escape",
                "../x",
                root + "/guard/000_guard.wav",
                "/dev/null",
                root + "/fake",
                root + "/exe",
            ]
        )
    if kind == 6:
        return rng.choice(["guard", "seeded", "order", "Guard", "-x", "a" * 300, "ü", "a:b", "x y"])
    if kind == 7:
        return " ".join(str(rng.randint(-5, 60)) for _ in range(rng.randrange(0, 6)))
    if kind == 8:
        return rng.choice([0, 1, 3, -1, 4096, 4097, 2**31 - 1])
    if kind == 9:
        return "x" * rng.randrange(0, 5000)
    if kind == 10:
        return rng.choice(["kick snare", "a/b", "", "é", "a  b"])
    return rng.random()


def _valid_bank(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= 64 and BANK_NAME.fullmatch(v) is not None


def _valid_boundaries(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    tokens = v.split()
    return all(t.isascii() and t.isdigit() for t in tokens) and [int(t) for t in tokens] in ([0, 1, 3], [0, 3])


def _valid_labels(v: Any) -> bool:
    return isinstance(v, str) and len(v.split()) == 2 and all(bridge._LABEL_RE.match(t) for t in v.split())


def _fuzz_message(rng: random.Random, env: dict[str, Any]) -> bytes:
    """A /tidalsort/bank message that can never be valid."""
    guard = str(env["root"] / "guard")
    base: list[Any] = ["guard", guard, 3, "0 1 3", "a b"]
    mode = rng.randrange(4)
    if mode == 0:  # random arity and random values
        n = rng.choice([0, 1, 2, 3, 6, 7, 9])
        args = [_fuzz_value(rng, env) for _ in range(n)]
    elif mode in (1, 2):  # a valid message with one or more fields broken
        args = list(base[: rng.choice([4, 5])])
        broken = rng.sample(range(len(args)), rng.choice([1, 1, 1, 2, len(args)]))
        for i in broken:
            args[i] = _fuzz_value(rng, env)
            # make sure the field really is broken (a valid value is replaced)
            valid = {
                0: _valid_bank,
                1: lambda v: isinstance(v, str) and v.rstrip("/") == guard,
                2: lambda v: v == 3 and not isinstance(v, (bool, float)),
                3: _valid_boundaries,
                4: _valid_labels,
            }[i]
            if valid(args[i]):
                args[i] = 3.5 if i == 2 else 99
    else:  # mismatches between otherwise well-typed fields
        args = ["guard", guard, rng.choice([1, 2, 4, 5, 100]), "0 1 3", "a b"]
        args[3] = f"0 {args[2]}" if rng.random() < 0.5 else "0 1 3"
        if args[2] == 3:
            args[2] = 2
    return sc.osc("/tidalsort/bank", *args)


def _fuzz_request(rng: random.Random, env: dict[str, Any]) -> bytes:
    """A /tidalsort/unload or /tidalsort/sounds message that can never be valid."""
    address = rng.choice(["/tidalsort/unload", "/tidalsort/sounds"])
    args = [_fuzz_value(rng, env) for _ in range(rng.choice([0, 1, 2, 2, 2, 3]))]
    if len(args) == 2 and all(isinstance(a, str) for a in args):
        which = 0 if address == "/tidalsort/sounds" else 1  # the folder argument
        path = args[which]
        if path.startswith("/") and ".." not in path.split("/"):
            args[which] = path.lstrip("/")  # relative (or empty): refused
    return sc.osc(address, *args)


def test_fuzz_then_valid_reload(stack: sc.ScStack, env: dict[str, Any]) -> None:
    if not (env["root"] / "guard").exists():
        _prepare_error_fixtures(env)
    load(stack, "guard", env["root"] / "guard", 3, [0, 1, 3], ["a", "b"])
    stack.wait_idle()
    before = stack.states()
    count_before = stack.allocated_buffer_count()
    rng = random.Random(1234)
    peer = sc.OscPeer()
    sent_bank = 0
    sent_other = 0  # /tidalsort/resend, /unload, /sounds
    sent_total = 0
    replies: list[Any] = []
    try:
        while sent_total < 1200:
            for _ in range(40):
                r = rng.random()
                if r < 0.8:
                    peer.send(stack.listen_port, _fuzz_message(rng, env))
                    sent_bank += 1
                elif r < 0.86:  # garbage datagrams: not OSC at all
                    peer.send(stack.listen_port, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
                elif r < 0.9:  # other addresses in our namespace
                    peer.send(
                        stack.listen_port,
                        sc.osc(rng.choice(["/tidalsort", "/tidalsort/bank/x", "/tidalsort/BANK", "/tidalsort/load"]), "guard", 1),
                    )
                elif r < 0.95:  # /tidalsort/resend with junk
                    peer.send(stack.listen_port, sc.osc("/tidalsort/resend", _fuzz_value(rng, env), 1))
                    sent_other += 1
                else:
                    peer.send(stack.listen_port, _fuzz_request(rng, env))
                    sent_other += 1
                sent_total += 1
            # ping: everything sent before has been handled when the pong arrives
            peer.send(stack.listen_port, sc.osc("/tidalsort/ping"))
            replies += peer.collect(10, until=lambda m: m.address == "/tidalsort/pong")
        replies += peer.collect(0.5)  # unloads answer from the load queue, maybe after the pong
    finally:
        peer.close()
    bank_errors = [m for m in replies if m.address == "/tidalsort/error"]
    done = [m for m in replies if m.address in ("/tidalsort/loaded", "/tidalsort/unloaded", "/tidalsort/sounds")]
    assert sent_total >= 1000 and sent_other >= 80
    assert done == []
    # every /tidalsort/bank message and every junk /resend, /unload or /sounds got exactly one error
    assert len(bank_errors) == sent_bank + sent_other
    assert_unchanged(stack, before, count_before)
    # a valid reload still works and leaves the other banks alone
    guard2 = make_bank(env, "guard", 4, seed=36, sub="guard2")
    assert load(stack, "guard", env["root"] / "guard2", 4, [0, 2, 4]) == 4
    assert_bank_matches(stack, "guard", guard2)
    after = stack.states()
    del after["guard"], before["guard"]
    assert after == before
    assert bridge.ping(HOST, stack.listen_port) == bridge.PROTOCOL_VERSION
    assert stack.monitor()[1] == 0
