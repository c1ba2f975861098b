"""Latency of a bank reload through tidalsort.live.bridge and the TidalSort quark.

Starts jackd (dummy driver), scsynth and headless sclang running the TidalSort quark inside
real SuperDirt from ../shared/vendor (the same harness as tests/test_supercollider.py), writes a bank of
128 samples, then measures the time from sending /tidalsort/bank to receiving
/tidalsort/loaded (``bridge.send_bank``), repeated; prints median and spread.

Usage::

    python bench/bridge_latency.py [--files 128] [--runs 30] [--seconds 0.5]

Needs jackd, scsynth and sclang (Debian: jackd2 supercollider-server supercollider-language)
and SuperDirt 1.7.3 with Vowel in ../shared/vendor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

import sc_support as sc  # noqa: E402

from tidalsort.live import bridge  # noqa: E402


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=128, help="samples in the bank (default 128)")
    ap.add_argument("--runs", type=int, default=30, help="timed reloads (default 30)")
    ap.add_argument("--seconds", type=float, default=0.5, help="length of each sample in s (default 0.5)")
    args = ap.parse_args(argv)
    return sc.run_bench(lambda tmp: run(args, tmp))


def run(args: argparse.Namespace, tmp: Path) -> int:
    root = tmp / "root"
    frames = int(44100 * args.seconds)
    names = [f"{i:03d}_s.wav" for i in range(args.files)]
    sc.write_bank(root / "bench", names, seed=1, base_frames=frames, step=7, channels=[1, 2], subtypes=["PCM_16", "PCM_24"])
    total_mb = sum(p.stat().st_size for p in (root / "bench").iterdir()) / 1e6
    boundaries = [0, args.files // 4, args.files // 2, args.files]

    with sc.ScStack(tmp / "run", root, grace=0.2, allow=None) as stack:
        port = stack.listen_port
        pings = []
        for _ in range(20):
            t0 = time.perf_counter()
            bridge.ping("127.0.0.1", port)
            pings.append((time.perf_counter() - t0) * 1000)
        # warm-up (first load also fills the OS page cache)
        for _ in range(3):
            bridge.send_bank("127.0.0.1", port, "bench", root / "bench", count=args.files, boundaries=boundaries, timeout=60)
        lat = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            n = bridge.send_bank("127.0.0.1", port, "bench", root / "bench", count=args.files, boundaries=boundaries, timeout=60)
            lat.append((time.perf_counter() - t0) * 1000)
            assert n == args.files
            stack.wait_idle()  # let the replaced buffers be freed between runs
        count = stack.allocated_buffer_count()

    print(f"bank: {args.files} files, {args.seconds:g} s each (mono/stereo, 16/24-bit), {total_mb:.1f} MB")
    print(f"ping round trip: median {statistics.median(pings):.2f} ms")
    print(f"/tidalsort/bank -> /tidalsort/loaded over {args.runs} runs:")
    print(f"  median {statistics.median(lat):.1f} ms  p90 {percentile(lat, 0.9):.1f} ms  min {min(lat):.1f} ms  max {max(lat):.1f} ms")
    print(f"  per file: {statistics.median(lat) / args.files:.2f} ms")
    print(f"server buffers allocated after the runs: {count} (bank size {args.files})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
