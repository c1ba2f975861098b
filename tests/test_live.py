"""tidalsort sort --notify, notify and watch against a real sclang running the TidalSort quark.

Uses the jackd + scsynth + sclang stack of tests/sc_support.py (TidalSort inside real
SuperDirt), with the stack's sample root as tidalsort's output root.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import noise, tone, write
from pythonosc.osc_message import OscMessage

from tidalsort import cli
from tidalsort.cli import main
from tidalsort.live import bridge
from tidalsort.live.notify import notify_bank
from tidalsort.output.dendrogram import dendrogram_path
from tidalsort.output.entry import Bank, Cluster, Settings
from tidalsort.output.manifest import load

try:
    import sc_support as sc
except ImportError:  # tests/ imported as a package
    from tests import sc_support as sc  # type: ignore[no-redef]


def test_notify_without_sclang_says_so_quickly_in_one_line(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    port = sc.free_udp_port()
    hint = "; in SuperCollider, run TidalSort.start(~dirt, roots: [...]) after SuperDirt"
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kit", "--notify", "--sc-port", str(port), "--sc-timeout", "0.5"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"tidalsort: error: sclang is not listening on 127.0.0.1:{port} (no reply in 0.5 s){hint}"
    assert load(out).banks["kit"]  # the sort itself was done
    # with the default --sc-timeout (30 s per folder), a short ping answers first
    t0 = time.monotonic()
    assert main(["notify", str(out), "--sc-port", str(port)]) == 1
    assert time.monotonic() - t0 < 4
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tidalsort: error: sclang is not listening on 127.0.0.1:{port} (no reply in 2 s){hint}"]


def test_notify_refuses_another_protocol_version(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A receiver that answers pings with protocol 1 (the quark of an older tidalsort) is
    named in one line, and no bank is sent to it."""
    out = tmp_path / "out"
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kit"]) == 0
    capsys.readouterr()
    old = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    old.bind(("127.0.0.1", 0))
    old.settimeout(0.2)
    port = old.getsockname()[1]
    seen: list[str] = []
    stop = threading.Event()

    def receiver() -> None:
        while not stop.is_set():
            try:
                data, sender = old.recvfrom(65536)
            except OSError:
                continue
            seen.append(OscMessage(data).address)
            old.sendto(sc.osc("/tidalsort/pong", 1), sender)

    thread = threading.Thread(target=receiver, daemon=True)
    thread.start()
    try:
        assert main(["notify", str(out), "--sc-port", str(port)]) == 1
    finally:
        stop.set()
        thread.join(2)
        old.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"tidalsort: error: the TidalSort quark on 127.0.0.1:{port} speaks OSC protocol 1, this tidalsort "
        "speaks 2: install the quark from this tidalsort's supercollider/ folder and recompile"
    ]
    assert seen == ["/tidalsort/ping"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("live")
    (base / "root").mkdir()
    with sc.running_stack(base / "run", base / "root", grace=0.3, allow="127.0.0.1", num_buffers=16384) as st:  # sclang gets half: 2 logins
        yield st


def loaded_frames(stack: sc.ScStack, bank: str) -> list[int] | None:
    state = stack.state(bank)
    return None if state is None else [entry[1] for entry in state]


def written_frames(root: Path, folder: str) -> list[int]:
    return [sf.info(str(p)).frames for p in sorted((root / folder).glob("*.wav"))]


def ctrl_values(stack: sc.ScStack, timeout: float = 1.0) -> dict[str, str]:
    return {m.params[0]: m.params[1] for m in stack.ctrl.collect(timeout) if m.address == "/ctrl"}


def test_sort_notify_reloads_the_bank_in_manifest_order(stack: sc.ScStack, kit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """... and before the dendrogram is in place (a picture can take seconds; the bank can't wait)."""
    root = stack.root
    stack.ctrl.collect(0.1)
    picture = dendrogram_path(root, "kit")
    picture.unlink(missing_ok=True)
    pictured: list[bool] = []
    real = cli._notify
    monkeypatch.setattr(cli, "_notify", lambda *args: pictured.append(picture.exists()) or real(*args))
    assert (
        main(["sort", str(kit), "--out", str(root), "--bank", "kit", "--clusters", "3", "--notify", "--sc-port", str(stack.listen_port)])
        == 0
    )
    entry = load(root).banks["kit"].to_dict()
    assert pictured == [False] and picture.is_file()
    assert loaded_frames(stack, "kit") == written_frames(root, "kit")
    assert [sf.info(str(root / "kit" / s["file"])).frames for s in entry["samples"]] == written_frames(root, "kit")
    sent = ctrl_values(stack)
    assert sent["tidalsort_kit"] == " ".join(map(str, entry["boundaries"]))
    assert sent["tidalsort_kit_labels"] == " ".join(c["label"] for c in entry["clusters"])


def test_set_notify_reloads_the_bank_in_its_new_order(stack: sc.ScStack, kit: Path) -> None:
    """tidalsort set sorts the bank again and, with --notify, SuperDirt plays the new order at once."""
    root, port = stack.root, str(stack.listen_port)
    assert main(["sort", str(kit), "--out", str(root), "--bank", "mine", "--clusters", "3", "--notify", "--sc-port", port]) == 0
    before = load(root).banks["mine"]
    last = before.samples[-1]
    assert (
        main(["set", f"mine:{last.n}", "kick" if last.family != "kick" else "snare", "--out", str(root), "--notify", "--sc-port", port])
        == 0
    )
    after = load(root).banks["mine"]
    assert [s.sha1 for s in after.samples] != [s.sha1 for s in before.samples]  # the set sample moved
    assert loaded_frames(stack, "mine") == written_frames(root, "mine")
    assert ctrl_values(stack)["tidalsort_mine"] == " ".join(map(str, after.boundaries))


def test_notify_split_layout_sends_every_folder(stack: sc.ScStack, kit: Path) -> None:
    root = stack.root
    assert main(["sort", str(kit), "--out", str(root), "--bank", "parts", "--layout", "split", "--clusters", "3"]) == 0
    assert main(["notify", str(root), "--bank", "parts", "--sc-port", str(stack.listen_port)]) == 0
    for folder in ("parts-0", "parts-1", "parts-2"):
        assert loaded_frames(stack, folder) == written_frames(root, folder)


def test_resort_into_fewer_split_folders_unloads_the_removed_ones(stack: sc.ScStack, kit: Path, capsys: pytest.CaptureFixture) -> None:
    """--layout split into fewer clusters removes folders on disk; --notify (and notify) also
    removes their sounds from SuperDirt and their values from Tidal, and frees the buffers."""
    root, port = stack.root, str(stack.listen_port)
    stack.wait_idle()
    count = stack.allocated_buffer_count()
    assert (
        main(
            [
                "sort",
                str(kit),
                "--out",
                str(root),
                "--bank",
                "shrink",
                "--group",
                "sound",
                "--layout",
                "split",
                "--clusters",
                "3",
                "--notify",
                "--sc-port",
                port,
            ]
        )
        == 0
    )
    # a bank of its own whose name looks like a folder of shrink: it keeps its folder, so it stays
    assert main(["sort", str(kit), "--out", str(root), "--bank", "shrink-9", "--clusters", "2", "--notify", "--sc-port", port]) == 0
    stack.wait_idle()
    assert stack.allocated_buffer_count() == count + 2 * 18
    capsys.readouterr()
    stack.ctrl.drain()
    assert (
        main(
            [
                "sort",
                str(kit),
                "--out",
                str(root),
                "--bank",
                "shrink",
                "--group",
                "sound",
                "--layout",
                "split",
                "--clusters",
                "2",
                "--notify",
                "--sc-port",
                port,
            ]
        )
        == 0
    )
    assert not (root / "shrink-2").exists() and stack.state("shrink-2") is None
    for folder in ("shrink-0", "shrink-1", "shrink-9"):
        assert loaded_frames(stack, folder) == written_frames(root, folder)
    sent = ctrl_values(stack)
    assert sent["tidalsort_shrink-2"] == "" and sent["tidalsort_shrink-2_labels"] == ""
    err = capsys.readouterr().err
    assert "SuperDirt unloaded shrink-2 (" in err and "its folder is gone" in err and "shrink-9" not in err
    stack.wait_idle()
    assert stack.allocated_buffer_count() == count + 2 * 18
    # notify alone, after a sort without it: the two split folders go, the bank folder comes
    assert main(["sort", str(kit), "--out", str(root), "--bank", "shrink"]) == 0
    assert main(["notify", str(root), "--bank", "shrink", "--sc-port", port]) == 0
    assert stack.state("shrink-0") is None and stack.state("shrink-1") is None
    assert loaded_frames(stack, "shrink") == written_frames(root, "shrink")
    assert loaded_frames(stack, "shrink-9") == written_frames(root, "shrink-9")
    stack.wait_idle()
    assert stack.allocated_buffer_count() == count + 2 * 18


def test_thousand_clusters_keep_every_ctrl_message_small(stack: sc.ScStack, tmp_path: Path) -> None:
    """The repro of issue 11 item 9: --clusters 1000 on 1,100 short files. Every /ctrl message
    stays far below the 8,192 bytes Tidal 1.7 reads, and the parts give back the manifest's
    boundaries and labels."""
    rng = np.random.default_rng(11)
    for i in range(1100):
        write(tmp_path / "many" / f"hit{i:04d}.wav", tone(60 * 2 ** (7 * rng.random()), 0.05, decay=0.005 + 0.03 * rng.random()))
    stack.ctrl.drain()
    assert (
        main(
            [
                "sort",
                str(tmp_path / "many"),
                "--out",
                str(stack.root),
                "--bank",
                "many",
                "--clusters",
                "1000",
                "--no-dendrogram",
                "--notify",
                "--sc-port",
                str(stack.listen_port),
            ]
        )
        == 0
    )
    entry = load(stack.root).banks["many"].to_dict()
    msgs = [m for m in stack.ctrl.collect(1.0) if m.address == "/ctrl"]
    assert len(entry["clusters"]) == 1000 and max(m.size for m in msgs) <= 4200
    tidal = sc.TidalControls()
    tidal.apply(msgs)
    assert tidal.values["tidalsort_many_labels"].startswith("@")  # sent in parts
    assert tidal.live("tidalsort_many") == " ".join(map(str, entry["boundaries"]))
    assert tidal.live("tidalsort_many_labels") == " ".join(c["label"] for c in entry["clusters"])


def test_too_many_clusters_for_the_bridge_is_an_error_before_sending(tmp_path: Path) -> None:
    """The hard cap: a bank whose boundaries and labels do not fit in one message to sclang is
    refused in one line, and nothing is sent."""
    silent = sc.OscPeer()
    labels = [f"hihat_closed-{i + 2}" for i in range(4000)]
    entry = Bank(
        name="vast",
        settings=Settings(features="paa+mel", frames=2, method="ward"),
        samples=(),
        clusters=tuple(
            Cluster(id=i, label=label, folder="vast", start=5 * i, stop=5 * i + 5, size=5, representative=5 * i)
            for i, label in enumerate(labels)
        ),
    )
    try:
        with pytest.raises(bridge.InvalidBankMessage) as exc:
            notify_bank(tmp_path, entry, host="127.0.0.1", port=silent.port, timeout=1)
        assert silent.collect(0.3) == []
    finally:
        silent.close()
    message = str(exc.value)
    assert "\n" not in message and message.startswith("bank 'vast' has too many clusters (4000) for the OSC bridge")
    assert "at most 64,000 fit in one message; sort it into fewer clusters" in message


def test_watch_reloads_when_a_file_is_dropped_in(stack: sc.ScStack, tmp_path: Path) -> None:
    source = tmp_path / "incoming"
    for i in range(5):
        write(source / f"hit {i}.wav", tone(100 + 300 * i, 0.2))
    command = [
        sys.executable,
        "-m",
        "tidalsort",
        "watch",
        str(source),
        "--out",
        str(stack.root),
        "--bank",
        "fresh",
        "--sc-port",
        str(stack.listen_port),
        "--interval",
        "0.2",
        "--settle",
        "0.3",
        "--clusters",
        "2",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_for(count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames = loaded_frames(stack, "fresh")
            if frames is not None and len(frames) == count:
                return
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        raise AssertionError(f"bank 'fresh' did not reach {count} files: {loaded_frames(stack, 'fresh')}")

    try:
        wait_for(5)
        write(source / "new snare.wav", noise(0.7, seed=3))
        wait_for(6)
        assert loaded_frames(stack, "fresh") == written_frames(stack.root, "fresh")
        assert 0.69 * 44100 < max(loaded_frames(stack, "fresh")) < 0.71 * 44100
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0 and "Traceback" not in output
    assert output.count("SuperDirt reloaded fresh (") >= 2
