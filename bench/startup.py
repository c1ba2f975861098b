"""Start-up time of the ``tidalsort`` command on a sorted 20,000-sample library.

Every command runs N times as a fresh process (``python -m tidalsort ...``, this tree first
on ``PYTHONPATH``; also the installed ``tidalsort`` console script when it resolves to this
tree); the figures are wall-clock times from starting the process to its exit, median and
min-max:

- bare ``python -c pass``, for scale;
- ``--help`` and ``sort --help``;
- ``report ROOT`` (the families and clusters tables of every bank, output discarded);
- ``similar big:123`` and ``similar big:123 --json`` (manifest, feature index, query);
- ``notify`` with nothing listening: ``--sc-timeout 0.05`` makes the quick ping give up
  after 50 ms, so the figure is start-up, reading the 20,000-sample manifest and that
  50 ms (the command fails, as it should);
- ``notify --bank small`` against a real receiver (jackd dummy driver, scsynth, headless
  sclang with SuperDirt and the TidalSort quark, as in tests/sc_support.py), when those
  are installed: start-up, reading the whole manifest, the ping, reloading the 16-sample
  bank ``small`` and asking which sounds are stale. sclang's own part of that (the same
  messages sent from this process, timed the same way) is printed beside it, and the
  difference is the Python side.

The library (made once and kept in ``--work``): 20,000 one-shots of at most 0.1 s made as
bench/speed.py makes them, sorted into bank ``big`` with ``--no-dendrogram``, and 16 of
them sorted into bank ``small``; or an output root of your own with ``--root`` (give
``--ref`` and ``--small`` to match its banks). Building takes about a minute.

    python bench/startup.py
    python bench/startup.py --runs 20 --work /tmp/tidalsort-startup
    python bench/startup.py --root ~/tidal-samples --ref kb6:12 --small kb6
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

import sc_support as sc  # noqa: E402
from speed import make_library  # noqa: E402

from tidalsort.live import bridge  # noqa: E402
from tidalsort.output.haskell_banks import entry_sounds  # noqa: E402
from tidalsort.output.manifest import bank_entries  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
LIBRARY_SIZE = 20000
SMALL_SIZE = 16


def tidalsort(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m tidalsort`` of this tree."""
    return subprocess.run([sys.executable, "-m", "tidalsort", *map(str, args)], env=ENV, capture_output=True, text=True, check=check)


def build(work: Path) -> Path:
    """The sorted library under ``work`` (made unless a complete one is there); its root."""
    root = work / "root"
    if (root / "tidalsort.yaml").exists() and (root / "small").is_dir():
        return root
    shutil.rmtree(work, ignore_errors=True)
    sources = work / "sources"
    print(f"making {LIBRARY_SIZE} one-shots in {sources} ...", flush=True)
    make_library(sources, LIBRARY_SIZE, longest=0.1)
    start = time.perf_counter()
    tidalsort("sort", sources, "--out", root, "--bank", "big", "--no-dendrogram")
    print(f"sorted into {root} in {time.perf_counter() - start:.0f} s", flush=True)
    small = work / "small-sources"
    small.mkdir()
    for path in sorted(sources.rglob("*.wav"))[:SMALL_SIZE]:
        shutil.copyfile(path, small / path.name)
    tidalsort("sort", small, "--out", root, "--bank", "small", "--no-dendrogram")
    return root


def timed(argv: Sequence[str | Path], runs: int, status: int = 0, between: Callable[[], None] = lambda: None) -> list[float]:
    """Seconds each of ``runs`` fresh processes of ``argv`` took (each must exit with
    ``status``), calling ``between`` after each, untimed."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(list(map(str, argv)), env=ENV, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != status:
            raise SystemExit(f"{' '.join(map(str, argv))}: exit {done.returncode}, expected {status}\n{done.stderr}")
        between()
    return times


def line(name: str, times: list[float]) -> str:
    return f"| {name} | **{statistics.median(times):.2f} s** ({min(times):.2f}-{max(times):.2f}) |"


def console_script() -> Path | None:
    """The ``tidalsort`` script beside this Python, if it runs this tree's code."""
    script = Path(sys.executable).parent / "tidalsort"
    if not script.exists():
        return None
    interpreter = script.read_text(encoding="utf-8", errors="replace").splitlines()[0].removeprefix("#!").strip()
    found = subprocess.run([interpreter, "-c", "import tidalsort; print(tidalsort.__file__)"], env=ENV, capture_output=True, text=True)
    return script if Path(found.stdout.strip()).resolve().parent == REPO / "tidalsort" else None


def with_receiver(root: Path, small: str, runs: int, python: list[str]) -> list[str]:
    """Rows for ``notify --bank SMALL`` against real SuperDirt, or why there are none."""
    missing = sc.missing_tools() + sc.missing_vendor()
    if missing:
        return [f"(no real receiver: missing {', '.join(missing)})"]
    entry = bank_entries(root, [small])[0]
    tmp = Path(tempfile.mkdtemp(prefix="tidalsort-bench-"))
    try:
        with sc.ScStack(tmp, root, grace=0.2, allow=None) as stack:
            port = str(stack.listen_port)

            def by_hand() -> None:  # the messages notify sends, from this process: sclang's part
                bridge.ping("127.0.0.1", stack.listen_port, 2.0)
                for sound, bounds, labels in entry_sounds(entry):
                    bridge.send_bank(
                        "127.0.0.1",
                        stack.listen_port,
                        sound,
                        root / sound,
                        count=int(bounds.split()[-1]),
                        boundaries=bounds,
                        labels=labels,
                        timeout=30.0,
                    )
                bridge.sounds("127.0.0.1", stack.listen_port, root, prefix=small, timeout=30.0)

            notify = [*python, "notify", root, "--bank", small, "--sc-port", port]
            timed(notify, 2, between=stack.wait_idle)  # warm-up: the first load fills the page cache
            command = timed(notify, runs, between=stack.wait_idle)
            sclang = []
            for _ in range(runs):
                start = time.perf_counter()
                by_hand()
                sclang.append(time.perf_counter() - start)
                stack.wait_idle()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    python_side = statistics.median(command) - statistics.median(sclang)
    return [
        line(f"`notify --bank {small}`, real SuperDirt", command),
        line("  of which sclang (same messages sent in-process)", sclang),
        f"| Python side (difference of the medians) | **{python_side:.2f} s** |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="processes per command (default 10)")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tidalsort-startup-bench",
        help="where the library is made and kept (default: a folder in /tmp, reused)",
    )
    parser.add_argument("--root", type=Path, help="time on this sorted output root instead")
    parser.add_argument("--ref", default="big:123", help="the bank:n of similar (default big:123)")
    parser.add_argument("--small", default="small", help="the bank notify reloads in real SuperDirt (default small)")
    parser.add_argument("--no-receiver", action="store_true", help="skip notify against real SuperDirt")
    args = parser.parse_args(argv)
    root = args.root.expanduser().absolute() if args.root else build(args.work)
    python = [sys.executable, "-m", "tidalsort"]
    commands: list[tuple[str, list[str | Path], int]] = [
        ("bare `python -c pass`", [sys.executable, "-c", "pass"], 0),
        ("`--help`", [*python, "--help"], 0),
        ("`sort --help`", [*python, "sort", "--help"], 0),
        ("`report`", [*python, "report", root], 0),
        (f"`similar {args.ref}`", [*python, "similar", args.ref, "--root", root], 0),
        (f"`similar {args.ref} --json`", [*python, "similar", args.ref, "--root", root, "--json"], 0),
        (
            "`notify`, nothing listening (50 ms ping)",
            [*python, "notify", root, "--sc-port", str(sc.free_udp_port()), "--sc-timeout", "0.05"],
            1,
        ),
    ]
    script = console_script()
    if script:
        commands[2:2] = [("`tidalsort --help` (console script)", [script, "--help"], 0)]
        commands.append(("`tidalsort report` (console script)", [script, "report", root], 0))
    samples = sum(len(entry.samples) for entry in bank_entries(root))
    print(f"{root}: {samples} samples; {args.runs} fresh processes per command; {sys.executable}")
    print("| command | median (min-max) |\n|---|---|")
    for name, argv_, status in commands:
        print(line(name, timed(argv_, args.runs, status)), flush=True)
    if not args.no_receiver:
        for row in with_receiver(root, args.small, args.runs, python):
            print(row, flush=True)
    if not script:
        print(f"(console script not timed: {Path(sys.executable).parent / 'tidalsort'} does not run this tree)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
