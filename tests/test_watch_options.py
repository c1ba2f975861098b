"""tidalsort watch: options refused at the door, and what it says while it runs (real processes,
real files, a UDP port on loopback where nothing answers)."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import noise, tone, write

PROJECT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(PROJECT), "COLUMNS": "80"}  # rich wraps long lines at 80 columns when not on a terminal


def watch_command(source: Path, root: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "tidalsort", "watch", str(source), "--out", str(root), "--bank", "w", "--no-dendrogram", *options]


@pytest.mark.parametrize("option, value", [
    ("--interval", "0"), ("--interval", "0.01"), ("--interval", "-1"), ("--interval", "nan"), ("--interval", "inf"),
    ("--settle", "-5"), ("--settle", "nan"), ("--settle", "1e300"), ("--settle", "soon"),
])  # fmt: skip
def test_an_interval_or_settle_out_of_range_is_refused_in_one_line(tmp_path: Path, option: str, value: str) -> None:
    write(tmp_path / "src" / "a.wav", tone(200, 0.1))
    proc = subprocess.Popen(
        watch_command(tmp_path / "src", tmp_path / "root", "--poll", "--no-notify", f"{option}={value}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        _, err = proc.communicate(timeout=30)  # accepted, it would watch on until killed
    finally:
        proc.kill()
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"tidalsort watch: error: argument {option}: "), err
    assert not (tmp_path / "root").exists()


def test_the_smallest_interval_and_settle_are_taken() -> None:
    from tidalsort.cli import MIN_INTERVAL, build_parser

    args = build_parser().parse_args(["watch", "src", "--out", "root", "--interval", str(MIN_INTERVAL), "--settle", "0"])
    assert (args.interval, args.settle) == (MIN_INTERVAL, 0.0)


def closed_udp_port() -> int:
    """A UDP port on 127.0.0.1 nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreadable_files_are_named_and_a_silent_superdirt_is_told_once(tmp_path: Path) -> None:
    source, root = tmp_path / "src", tmp_path / "root"
    for i in range(4):
        write(source / f"hit {i}.wav", tone(100 + 300 * i, 0.2))
    (source / "broken.wav").write_bytes(b"RIFF not really")
    port = closed_udp_port()
    proc = subprocess.Popen(
        watch_command(source, root, "--settle", "0.2", "--sc-port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in proc.stdout or []], daemon=True).start()
    seen: list[str] = []

    def wait_for_sorted(count: int, timeout: float = 90.0) -> None:
        """Until the ``count``-th "sorted" line and what follows it (the notification, 2 s at most) are read."""
        deadline = time.monotonic() + timeout
        while sum(line.startswith("sorted w:") for line in seen) < count:
            assert time.monotonic() < deadline and proc.poll() is None, "\n".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        quiet_until = time.monotonic() + 3
        while time.monotonic() < quiet_until:
            try:
                seen.append(lines.get(timeout=0.2))
            except queue.Empty:
                pass

    try:
        wait_for_sorted(1)
        write(source / "new snare.wav", noise(0.3, seed=7))
        (source / "also broken.wav").write_bytes(b"not a sound at all")
        wait_for_sorted(2)
        write(source / "another.wav", noise(0.2, seed=8))
        wait_for_sorted(3)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    output = "\n".join(seen)
    assert proc.returncode == 0 and "Traceback" not in output, output
    for name in ("broken.wav", "also broken.wav"):
        named = [line for line in seen if line.startswith(f"tidalsort: warning: skipped {source / name}: ")]
        assert len(named) == 1, output  # once, on one line, though every sort skips it
    told = [line for line in seen if "SuperDirt did not answer" in line]
    assert told == [
        f"tidalsort: warning: SuperDirt did not answer on 127.0.0.1:{port}; the banks are written; start SuperDirt with "
        "TidalSort.start(~dirt, roots: [...]), or run watch with --no-notify"
    ], output
    assert all(line.startswith(("watching ", "sorted w: ", "tidalsort: warning: ")) for line in seen), output  # nothing wrapped
