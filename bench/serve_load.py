"""``tidalsort serve`` under load: many clients asking at once, as a Strudel page loading a bank does.

Sorts a bank of ``--samples`` one-shots into a temporary root, starts ``python -m tidalsort
serve ROOT --port 0`` (its own process, as a user runs it) and lets ``--clients`` threads
each make ``--requests`` GET requests of the bank's samples and ``strudel.json``, every
request on a new connection (the hardest case for the listen queue), all clients started
together. Prints the latency of the requests (p50, p99 with no answer counted as slowest, and the slowest answer), how many got no answer within
``--timeout`` seconds, and the wall time.

Usage::

    python bench/serve_load.py [--clients 200] [--requests 10] [--samples 40] [--runs 3]
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def make_root(folder: Path, samples: int) -> Path:
    """A root with one bank ``load`` of ``samples`` 0.2-second one-shots; returns the root."""
    rng = np.random.default_rng(0)
    kit = folder / "kit"
    kit.mkdir()
    t = np.arange(int(0.2 * 44100)) / 44100
    for i in range(samples):
        signal_ = np.sin(2 * np.pi * 50 * 2 ** (7 * rng.random()) * t) * np.exp(-t / (0.01 + 0.1 * rng.random()))
        sf.write(kit / f"hit{i:03d}.wav", (0.5 * signal_).astype(np.float32), 44100)
    root = folder / "root"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "tidalsort", "sort", str(kit), "--out", str(root), "--bank", "load", "--no-dendrogram"],
        env=env,
        check=True,
        capture_output=True,
    )
    return root


def get(host: str, port: int, target: str, timeout: float) -> float | None:
    """Seconds one GET of ``target`` took on a new connection, or None if it got no whole answer."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", target)
        answer = connection.getresponse()
        answer.read()
        return time.perf_counter() - start if answer.status == 200 else None
    except OSError:
        return None
    finally:
        connection.close()


def run(root: Path, clients: int, requests: int, timeout: float) -> dict[str, float]:
    """One load run against a fresh server process; its figures."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [sys.executable, "-m", "tidalsort", "serve", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        line = server.stdout.readline().strip() if server.stdout else ""
        host, port = line.split("/")[2].split(":")
        files = [f"/load/{name}" for name in sorted(os.listdir(root / "load")) if not name.startswith(".")]
        targets = ["/strudel.json", *files]
        latencies: list[float | None] = []
        lock = threading.Lock()
        go = threading.Barrier(clients)

        def client(c: int) -> None:
            go.wait()
            mine = [get(host, int(port), targets[(c * requests + r) % len(targets)], timeout) for r in range(requests)]
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    ordered = sorted(math.inf if x is None else x for x in latencies)  # no answer: slower than any
    return {
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[int(0.99 * len(ordered))],
        "max": max((x for x in ordered if x < math.inf), default=math.nan),
        "unanswered": sum(x is None for x in latencies),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10, help="requests per client, each on a new connection")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a client waits for an answer")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(Path(tmp), args.samples)
        figures = []
        for i in range(args.runs):
            f = run(root, args.clients, args.requests, args.timeout)
            figures.append(f)
            print(
                f"run {i + 1}: {args.clients} clients x {args.requests} requests: p50 {f['p50'] * 1000:.0f} ms, p99 {f['p99'] * 1000:.0f} ms, "
                f"max {f['max'] * 1000:.0f} ms, unanswered in {args.timeout:g} s: {f['unanswered']:.0f}, wall {f['wall']:.1f} s",
                flush=True,
            )
        med = {key: statistics.median(f[key] for f in figures) for key in figures[0]}
        print(
            f"median of {args.runs}: p50 {med['p50'] * 1000:.0f} ms, p99 {med['p99'] * 1000:.0f} ms, max {med['max'] * 1000:.0f} ms, "
            f"unanswered {med['unanswered']:.0f}, wall {med['wall']:.1f} s"
        )


if __name__ == "__main__":
    main()
