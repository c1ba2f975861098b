"""Latency of ``tidalsort watch`` from a dropped file to the reloaded bank, and its idle CPU.

Starts jackd (dummy driver), scsynth and headless sclang running the TidalSort quark inside
real SuperDirt (the harness of tests/test_live.py), makes a source folder of 1,000 one-shots
and runs ``python -m tidalsort watch SOURCE --out ROOT --bank bench --sc-port P`` with its
default options. Then, repeatedly, writes one new sample into the source and times the
moment watch prints "SuperDirt reloaded bench (...)", which it does when the receiver's
``/tidalsort/loaded`` arrives: drop -> event -> settle -> sort -> ``/tidalsort/bank`` ->
buffers read by scsynth and swapped in -> ``/tidalsort/loaded``. Also times the "sorted"
line before it. Finally measures the CPU time the idle watch process (and any children)
uses over ``--idle`` seconds. With file-system events (the default), with ``--no-dendrogram``
(drawing the dendrogram of a 1,000-sample bank takes about a second) and with ``--poll``.

Usage::

    python bench/watch_latency.py [--files 1000] [--runs 10] [--idle 60] [--modes events,no-dendrogram,poll]

Needs jackd, scsynth and sclang (Debian: jackd2 supercollider-server supercollider-language)
and SuperDirt 1.7.3 with Vowel in ../shared/vendor.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

import sc_support as sc  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
#: watch's options in each mode.
MODES = {"events": [], "no-dendrogram": ["--no-dendrogram"], "poll": ["--poll"]}


def one_shot(rng: np.random.Generator, seconds: float = 0.2, rate: int = 44100) -> np.ndarray:
    """A decaying tone plus noise, different for every call."""
    t = np.arange(int(seconds * rate)) / rate
    tone = np.sin(2 * np.pi * 50 * 2 ** (7 * rng.random()) * t)
    noise = rng.uniform(-1, 1, len(t)) * rng.random()
    return (0.5 * (tone + noise) * np.exp(-t / (0.01 + 0.1 * rng.random()))).astype(np.float32)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and every process below it, in seconds."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
        todo.extend(children.get(p, []))
    return total


class Lines:
    """The stderr lines of a process, each with the time it arrived."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            self.lines.put((time.monotonic(), line.rstrip()))

    def wait_for(self, text: str, timeout: float = 120.0) -> float:
        """Time the first line (from now on) holding ``text`` arrived."""
        deadline = time.monotonic() + timeout
        while True:
            at, line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            self.log.append(line)
            if text in line:
                return at


def run_mode(mode: str, args: argparse.Namespace, stack: sc.ScStack, source: Path, rng: np.random.Generator) -> dict:
    root, bank = stack.root, f"bench-{mode}"
    command = [
        sys.executable,
        "-m",
        "tidalsort",
        "watch",
        str(source),
        "--out",
        str(root),
        "--bank",
        bank,
        "--sc-port",
        str(stack.listen_port),
        *MODES[mode],
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    lines = Lines(proc)
    try:
        how = next(line for line in iter(lambda: lines.lines.get(timeout=60)[1], None) if line.startswith("watching"))
        lines.wait_for(f"SuperDirt reloaded {bank} ({len(list(source.iterdir()))} files)", timeout=300)
        sorted_after, loaded_after = [], []
        for run in range(args.runs):
            time.sleep(args.pause)
            count = len(list(source.iterdir())) + 1
            t0 = time.monotonic()
            sf.write(source / f"dropped-{mode}-{run:02d}.wav", one_shot(rng), 44100, subtype="PCM_16")
            sorted_after.append(lines.wait_for(f"sorted {bank}: {count} samples") - t0)
            loaded_after.append(lines.wait_for(f"SuperDirt reloaded {bank} ({count} files)") - t0)
        time.sleep(3)  # the last reload's grace delay; then nothing happens
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(args.idle)
        idle = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)
        assert proc.poll() is None, "\n".join(lines.log)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    return {"how": how, "sorted": sorted_after, "loaded": loaded_after, "idle": idle}


def measure(args: argparse.Namespace, tmp: Path, results: dict) -> int:
    """Make the source, start the SuperCollider stack, run every mode into ``results``."""
    rng = np.random.default_rng(7)
    source = tmp / "source"
    source.mkdir()
    for i in range(args.files):
        sf.write(source / f"hit{i:04d}.wav", one_shot(rng), 44100, subtype="PCM_16")
    (tmp / "root").mkdir()
    with sc.ScStack(tmp / "run", tmp / "root", grace=0.5, allow=None, num_buffers=65536) as stack:
        for mode in args.modes.split(","):
            results[mode] = run_mode(mode, args, stack, source, rng)
    return 0


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000, help="samples in the watched source (default 1000)")
    ap.add_argument("--runs", type=int, default=10, help="files dropped in, one at a time (default 10)")
    ap.add_argument("--pause", type=float, default=2.0, help="seconds between drops (default 2)")
    ap.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measured (default 60)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"any of {', '.join(MODES)} (default: all)")
    args = ap.parse_args(argv)
    results: dict = {}
    status = sc.run_bench(lambda tmp: measure(args, tmp, results))
    if status:
        return status
    print(f"tidalsort watch, source of {args.files} samples (0.2 s, 16-bit), {args.runs} files dropped one at a time")
    for mode, r in results.items():
        print(f"{mode} ({' '.join(MODES[mode]) or 'default options'}): {r['how']}")
        print(
            f"  drop -> 'sorted' line:              median {statistics.median(r['sorted']):.2f} s  "
            f"min {min(r['sorted']):.2f}  max {max(r['sorted']):.2f}"
        )
        print(
            f"  drop -> /tidalsort/loaded (reloaded): median {statistics.median(r['loaded']):.2f} s  "
            f"min {min(r['loaded']):.2f}  max {max(r['loaded']):.2f}"
        )
        print(f"  idle CPU over {args.idle:g} s: {100 * r['idle']:.2f}% of one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
