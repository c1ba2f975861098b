"""tidalsort sort --notify, notify and watch against a real sclang running the TidalSort quark.

Uses the jackd + scsynth + sclang stack of tests/sc_support.py (SuperDirt stand-in), with
the stack's sample root as tidalsort's output root.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
from conftest import noise, tone, write

from tidalsort.cli import main
from tidalsort.manifest import load

try:
    import sc_support as sc
except ImportError:  # tests/ imported as a package
    from tests import sc_support as sc  # type: ignore[no-redef]


def test_notify_without_sclang_says_so_in_one_line(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    port = sc.free_udp_port()
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kit", "--notify", "--sc-port", str(port), "--sc-timeout", "0.5"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"tidalsort: error: sclang is not listening on 127.0.0.1:{port} (no reply in 0.5 s)"
    assert load(out)["banks"]["kit"]  # the sort itself was done
    assert main(["notify", str(out), "--sc-port", str(port), "--sc-timeout", "0.5"]) == 1


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    sc.require_tools()
    base = tmp_path_factory.mktemp("live")
    st = sc.ScStack(base / "run", base / "root", grace=0.3, allow="127.0.0.1")
    (base / "root").mkdir()
    st.start()
    try:
        yield st
    finally:
        st.stop()


def loaded_frames(stack: sc.ScStack, bank: str) -> list[int] | None:
    state = stack.state(bank)
    return None if state is None else [entry[1] for entry in state]


def written_frames(root: Path, folder: str) -> list[int]:
    return [sf.info(str(p)).frames for p in sorted((root / folder).glob("*.wav"))]


def ctrl_values(stack: sc.ScStack, timeout: float = 1.0) -> dict[str, str]:
    return {m.params[0]: m.params[1] for m in stack.ctrl.collect(timeout) if m.address == "/ctrl"}


def test_sort_notify_reloads_the_bank_in_manifest_order(stack: sc.ScStack, kit: Path) -> None:
    root = stack.root
    stack.ctrl.collect(0.1)
    assert main(["sort", str(kit), "--out", str(root), "--bank", "kit", "--clusters", "3", "--notify", "--sc-port", str(stack.listen_port)]) == 0
    entry = load(root)["banks"]["kit"]
    assert loaded_frames(stack, "kit") == written_frames(root, "kit")
    assert [sf.info(str(root / "kit" / s["file"])).frames for s in entry["samples"]] == written_frames(root, "kit")
    sent = ctrl_values(stack)
    assert sent["tidalsort_kit"] == " ".join(map(str, entry["boundaries"]))
    assert sent["tidalsort_kit_labels"] == " ".join(c["label"] for c in entry["clusters"])


def test_notify_split_layout_sends_every_folder(stack: sc.ScStack, kit: Path) -> None:
    root = stack.root
    assert main(["sort", str(kit), "--out", str(root), "--bank", "parts", "--layout", "split", "--clusters", "3"]) == 0
    assert main(["notify", str(root), "--bank", "parts", "--sc-port", str(stack.listen_port)]) == 0
    for folder in ("parts-0", "parts-1", "parts-2"):
        assert loaded_frames(stack, folder) == written_frames(root, folder)


def test_watch_reloads_when_a_file_is_dropped_in(stack: sc.ScStack, tmp_path: Path) -> None:
    source = tmp_path / "incoming"
    for i in range(5):
        write(source / f"hit {i}.wav", tone(100 + 300 * i, 0.2))
    command = [sys.executable, "-m", "tidalsort", "watch", str(source), "--out", str(stack.root), "--bank", "fresh",
               "--sc-port", str(stack.listen_port), "--interval", "0.2", "--settle", "0.3", "--clusters", "2"]
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
