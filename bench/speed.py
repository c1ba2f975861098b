"""Speed and memory benchmark of ``tidalsort sort``.

Makes N realistic one-shots (deterministic seed: lengths 0.05 to 10 s, log-uniform;
22.05/44.1/48/96 kHz; mono and stereo; 16-bit, 24-bit and float WAV, some AIFF and FLAC)
or takes a folder, then reports medians over repeated runs of:

- cold sort (no feature cache): analysis files/s, clustering and ordering time, writing
  time (bank, manifest, index, dendrogram), end to end, the same as a process (start-up
  included), peak memory of the sort and its workers together;
- warm sort (nothing changed, cache present: the bank is found up to date): the same;
- adding 10 files and sorting again;
- analysis files/s of 1-2 s files against 5-10 s files, to show that cost does not grow
  with length (every file longer than the analysed second costs the same);
- the original workflow's whole run (whole files decoded, pyAudioAnalysis on every 50 ms
  frame, Ward clustering, copies, dendrogram; one process, as it was written) against
  ``tidalsort sort`` with default settings and no cache, both as fresh processes (start-up
  included), and the ratio;
- the original workflow's analysis alone (one process) on a sample of the files, against
  tidalsort's analysis in one process and on all cores.

Each sort runs in its own process; its memory is sampled every 0.1 s as the sum of the
proportional set sizes of it and its workers (``/proc``, Linux). "Cold" means without tidalsort's cache; the operating system's file
cache stays warm after the files are made.

    python bench/speed.py --samples 2000 --runs 3
    python bench/speed.py --samples 20000 --runs 3 --only sorts
    python bench/speed.py --folder ../shared/datasets --runs 3     # 1,702 real drum one-shots
    python bench/speed.py --samples 100000 --runs 1 --only cold --link symlink --longest 2  # memory at scale
    python bench/speed.py --folder ~/samples --runs 3
    python bench/speed.py --folder ../shared/datasets --profile    # where the time goes, step by step

``--profile`` instead runs one cold sort under cProfile in a fresh process (so the imports
before the first file count) and prints the time of every step of it, then times each
step of one file's analysis (decoding and resampling, the similarity features, the
whole-sound descriptors) in one process, as a worker runs it, over a sample of the files.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

FORMATS = [  # (container, subtype, extension, weight)
    ("WAV", "PCM_16", "wav", 5),
    ("WAV", "PCM_24", "wav", 2),
    ("WAV", "FLOAT", "wav", 1),
    ("AIFF", "PCM_16", "aif", 1),
    ("FLAC", "PCM_16", "flac", 1),
]
RATES = [22050, 44100, 44100, 44100, 48000, 96000]


def make_library(folder: Path, count: int, seed: int = 1, start: int = 0, longest: float = 10.0) -> None:
    """Write ``count`` one-shots (numbered from ``start``) under ``folder``."""
    rng = np.random.default_rng(seed + start)
    weights = np.array([f[3] for f in FORMATS], dtype=float)
    for i in range(start, start + count):
        seconds = math.exp(rng.uniform(math.log(0.05), math.log(longest)))
        rate = int(rng.choice(RATES))
        container, subtype, ext, _ = FORMATS[rng.choice(len(FORMATS), p=weights / weights.sum())]
        t = np.arange(int(seconds * rate)) / rate
        kind = i % 4
        if kind == 0:  # kick-like: falling sine
            sound = np.sin(2 * np.pi * np.cumsum(50 + 150 * np.exp(-t / 0.03)) / rate)
        elif kind == 1:  # tonal: bell or tom
            sound = np.sin(2 * np.pi * rng.uniform(80, 4000) * t)
        else:  # noisy: hats, snares, cymbals
            sound = rng.uniform(-1, 1, len(t))
        sound *= np.exp(-t / (seconds * rng.uniform(0.1, 0.5))) * rng.uniform(0.2, 0.9)
        if rng.random() < 0.4:
            sound = np.stack([sound, sound * rng.uniform(0.5, 1)], axis=1)
        path = folder / f"pack{i % 37:02d}" / f"sample {i:06d}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), sound.astype(np.float32), rate, format=container, subtype=subtype)


def child(sources: list[str], root: str, jobs: int | None, link: str) -> None:
    """Run one sort and print its stage timings as JSON (``--child`` mode)."""
    from tidalsort.pipeline import Progress, SortOptions, sort_library

    marks: dict[str, float] = {}
    start = time.perf_counter()
    options = SortOptions(bank="bench", jobs=jobs, link=link)  # type: ignore[arg-type]
    entry = sort_library(sources, root, options, Progress(start=lambda stage, total: marks.setdefault(stage, time.perf_counter())))
    end = time.perf_counter()
    stages = [marks.get(stage, end) for stage in ("analyse", "cluster", "write")] + [end]  # an up-to-date bank has none
    print(
        json.dumps(
            {
                "files": len(entry.samples) + len(entry.skipped),
                "analyse": stages[1] - stages[0],
                "cluster": stages[2] - stages[1],
                "write": stages[3] - stages[2],
                "end_to_end": end - start,
                "clusters": len(entry.clusters),
            }
        )
    )


def tree_pss_mb(pid: int) -> float:
    """Memory of process ``pid`` and all its descendants in MB: the sum of their proportional
    set sizes (pages shared by forked workers counted once overall), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        process = todo.pop()
        todo.extend(children.get(process, []))
        try:
            rollup = Path(f"/proc/{process}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total / 1024


def timed_sort(sources: list[Path], root: Path, jobs: int | None, link: str) -> dict:
    """Sort in a child process: its stage timings, its wall time as a process (start-up
    included) and the peak memory of it and its workers together, sampled every 0.1 s or
    less often, so that sampling takes at most a tenth of one core.

    Reading the processes' ``smaps_rollup`` walks all their memory: every 0.1 s, on a sort
    of 20,000 files (six processes, 640 MB), it took most of a core and made the sort 10 s
    slower (55.9 s against 45.6 s alone)."""
    command = [sys.executable, __file__, "--child", link, str(jobs or 0), str(root), *map(str, sources)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        sampled = time.perf_counter()
        peak = max(peak, tree_pss_mb(process.pid))
        time.sleep(max(0.1, 9 * (time.perf_counter() - sampled)))
    wall = time.perf_counter() - start
    out = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command, out)
    figures = json.loads(out.strip().splitlines()[-1])
    figures.update(peak_mb=peak, process=wall, files_per_s=figures["files"] / figures["analyse"] if figures["analyse"] else math.inf)
    return figures


def original(files: list[str], out: str) -> None:
    """The original workflow's whole run (``--child-original`` mode): pyAudioAnalysis on every
    50 ms frame of every whole file (means and deviations, as its mid-term features), Ward
    clustering of the raw vectors with the silhouette's cluster count, one folder of copies
    per cluster, and a dendrogram with a row per sample."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pyAudioAnalysis import ShortTermFeatures as stf
    from scipy.cluster.hierarchy import dendrogram, fcluster, linkage
    from sklearn.metrics import silhouette_score

    kept, vectors = [], []
    for path in files:
        try:
            data, rate = sf.read(path, always_2d=True)
        except RuntimeError:
            continue
        signal = data.mean(axis=1)
        window = int(0.05 * rate)
        if len(signal) >= window:
            frames, _ = stf.feature_extraction(signal, rate, window, window)
            kept.append(path)
            vectors.append(np.concatenate([frames.mean(axis=1), frames.std(axis=1)]))
    X = np.nan_to_num(np.array(vectors))
    Z = linkage(X, "ward")
    k = max(range(2, 11), key=lambda k: silhouette_score(X, fcluster(Z, k, "maxclust")))
    labels = fcluster(Z, k, "maxclust")
    for path, label in zip(kept, labels):
        folder = Path(out) / f"cluster_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, folder / Path(path).name)
    fig, ax = plt.subplots(figsize=(12, max(4.0, 0.11 * len(kept))))
    dendrogram(Z, orientation="left", labels=[Path(p).name for p in kept], leaf_font_size=6, ax=ax)
    fig.tight_layout()
    fig.savefig(Path(out) / "dendrogram.png", dpi=100)


def whole_run_seconds(command: list[str]) -> float:
    """Wall time of a command in a fresh process, start-up and imports included."""
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - start


def baseline_files_per_s(files: list[Path]) -> float:
    """The original workflow: whole file decoded, pyAudioAnalysis on every 50 ms frame."""
    from pyAudioAnalysis import ShortTermFeatures as stf

    import tidalsort.analysis.features  # noqa: F401  (memoises the filter banks: undo it for the baseline)

    cached = {name: getattr(stf, name) for name in ("mfcc_filter_banks", "chroma_features_init")}
    for name, fn in cached.items():
        setattr(stf, name, fn.__wrapped__)
    try:
        start = time.perf_counter()
        for path in files:
            data, rate = sf.read(str(path), always_2d=True)
            signal = data.mean(axis=1)
            window = int(0.05 * rate)
            if len(signal) >= window:
                stf.feature_extraction(signal, rate, window, window)
        return len(files) / (time.perf_counter() - start)
    finally:
        for name, fn in cached.items():
            setattr(stf, name, fn)


#: Steps of a sort that --profile reports: (label, file the function is in, function name),
#: in the order they run. Analysis, the files made ahead for the bank and the dendrogram run
#: in processes of their own: the profile sees none of them, only the wait for them.
STEPS = [
    ("imports before work (tidalsort.pipeline)", "tidalsort/pipeline.py", "<module>"),
    ("scan", "tidalsort/analysis/scan.py", "scan"),
    ("analysis (in the workers; cache included)", "tidalsort/analysis/analyse.py", "analyse"),
    ("families, clustering, order, writing (_finish)", "tidalsort/pipeline.py", "_finish"),
    ("  of it, the family model", "tidalsort/families/model.py", "predict"),
    ("  of it, grouping.group_by_family", "tidalsort/organise/grouping.py", "group_by_family"),
    ("    of it, order.refine", "tidalsort/organise/order.py", "refine"),
    ("  of it, waiting for the files made ahead", "tidalsort/pipeline.py", "take_ahead"),
    ("  of it, bank.build_folders (placing files)", "tidalsort/output/bank.py", "build_folders"),
    ("  of it, the index", "tidalsort/output/index.py", "write_index"),
    ("  of it, the bank put in place (syncfs, swap)", "tidalsort/output/journal.py", "commit"),
]


def import_seconds(runs: int) -> float:
    """Median seconds a fresh Python takes to import what a sort imports before its first
    file (``tidalsort.pipeline``), less a bare start-up: the figure without the profiler."""
    started = [whole_run_seconds([sys.executable, "-c", code]) for _ in range(runs) for code in ("pass", "import tidalsort.pipeline")]
    return statistics.median(started[1::2]) - statistics.median(started[::2])


def profile_sort(sources: list[Path], root: Path, jobs: int | None, link: str) -> None:
    """One cold sort under cProfile in a fresh process; print the time of each of :data:`STEPS`."""
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sort.prof"
        command = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(out),
            __file__,
            "--child",
            link,
            str(jobs or 0),
            str(root),
            *map(str, sources),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    print(f"cold sort under cProfile, one run: {wall:.2f} s as a process ({figures['files']} files; profiling slows the main process)")
    print(f"  {'imports before work, without the profiler':<46} {import_seconds(5):7.2f} s (median of 5)")
    for label, path, name in STEPS:
        seconds = sum(entry[3] for (file, _, function), entry in stats.items() if file.endswith(path) and function == name)
        print(f"  {label:<46} {seconds:7.2f} s")


def profile_files(files: list[Path], runs: int) -> None:
    """Time each step of one file's analysis in this process, as a worker runs it (median ms a file)."""
    from threadpoolctl import threadpool_limits

    from tidalsort.analysis.analyse import MODEL_FEATURES, _keep_freed_memory, analyse_file
    from tidalsort.analysis.audio import ANALYSIS_RATE, UnreadableAudio, read_head
    from tidalsort.analysis.descriptors import SECONDS, whole_sound
    from tidalsort.analysis.features import mel_spans, short_term, spectrogram

    _keep_freed_memory()
    seconds = max(MODEL_FEATURES.seconds, SECONDS)
    first = round(MODEL_FEATURES.seconds * ANALYSIS_RATE)
    readable, heads = [], []
    for path in files:
        try:
            heads.append(read_head(path, seconds))
            readable.append(path)
        except UnreadableAudio:
            continue
    # one call a file, nothing kept: results kept for hundreds of files would be timed as page faults
    steps = {
        "decode and resample (read_head)": lambda i: read_head(readable[i], seconds),
        "pyAudioAnalysis features (short_term)": lambda i: short_term(heads[i][0][:first], MODEL_FEATURES.frames),
        "mel: spectrogram": lambda i: spectrogram(heads[i][0][:first]),
        "mel: spectrogram and cepstra": lambda i: mel_spans(spectrogram(heads[i][0][:first])),
        "whole-sound descriptors": lambda i: whole_sound(heads[i][0], heads[i][1].duration),
        "all of a file (analyse_file)": lambda i: analyse_file(readable[i], MODEL_FEATURES),
    }
    print(f"one file's analysis, one process, median of {runs} passes over {len(heads)} files (CPU time):")
    with threadpool_limits(1):
        for label, step in steps.items():
            times = []
            for _ in range(runs + 1):  # the first pass warms up
                start = time.process_time()
                for i in range(len(heads)):
                    step(i)
                times.append((time.process_time() - start) / max(1, len(heads)) * 1e3)
            print(f"  {label:<46} {statistics.median(times[1:]):7.3f} ms")


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def show(name: str, runs: list[dict]) -> None:
    print(
        f"{name:<22} files/s {median(runs, 'files_per_s'):8.0f}   analyse {median(runs, 'analyse'):6.2f} s   "
        f"cluster+order {median(runs, 'cluster'):6.2f} s   write {median(runs, 'write'):6.2f} s   "
        f"end to end {median(runs, 'end_to_end'):6.2f} s   as a process {median(runs, 'process'):6.2f} s   "
        f"peak memory {median(runs, 'peak_mb'):6.0f} MB   ({len(runs)} runs)"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-original":  # --child-original OUT FILE...
        original(sys.argv[3:], sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child":  # --child LINK JOBS ROOT SOURCE...
        link, jobs, root, *sources = sys.argv[2:]
        child(sources, root, int(jobs) or None, link)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000, help="files to make (default 2000)")
    parser.add_argument("--folder", type=Path, help="use this folder of samples instead of making them")
    parser.add_argument("--work", type=Path, help="where to keep the made files (default: a folder in /tmp, reused)")
    parser.add_argument("--runs", type=int, default=3, help="repeats for the medians (default 3)")
    parser.add_argument("--jobs", type=int, help="analysis processes (default: all cores)")
    parser.add_argument(
        "--link",
        choices=["copy", "symlink", "hardlink"],
        default="copy",
        help="how sorts write banks (default copy; symlink spares disk at 100,000 files)",
    )
    parser.add_argument("--longest", type=float, default=10.0, help="longest made file in seconds (default 10)")
    parser.add_argument(
        "--only",
        choices=["cold", "sorts", "all"],
        default="all",
        help="cold: only the cold sorts (for very large N); sorts: cold, warm and 10 added, without the comparisons with the original workflow",
    )
    parser.add_argument("--baseline-files", type=int, default=300, help="files the baseline analyses (default 300)")
    parser.add_argument("--profile", action="store_true", help="print where the time of a cold sort goes, step by step, instead")
    args = parser.parse_args()

    work = args.work or Path(tempfile.gettempdir()) / f"tidalsort-speed-{args.samples}"
    if args.folder:
        library = args.folder
    else:
        library = work / "library"
        if not (work / "complete").exists():
            shutil.rmtree(work, ignore_errors=True)
            start = time.perf_counter()
            make_library(library, args.samples, longest=args.longest)
            (work / "complete").write_text("ok")
            print(f"made {args.samples} files in {time.perf_counter() - start:.0f} s under {library}")
    files = sorted(p for p in library.rglob("*") if p.is_file())
    print(f"library: {len(files)} files, {sum(p.stat().st_size for p in files) / 1e9:.2f} GB")

    if args.profile:
        with tempfile.TemporaryDirectory(dir=work if not args.folder else None) as tmp:
            profile_sort([library], Path(tmp) / "out", args.jobs, args.link)
        audio = [p for p in files if p.suffix.lower() in (".wav", ".aif", ".aiff", ".flac")]
        profile_files(audio[:: max(1, len(audio) // args.baseline_files)][: args.baseline_files], args.runs)
        return

    # Every run's output is kept until the bench ends: on a file system without a journal
    # (this machine's ext4), creating a file near thousands deleted 1-360 s before costs
    # 0.2-0.7 ms of CPU instead of 0.02 ms (ext4 passes over recently freed inodes one by
    # one), so deleting one run's bank made the next run's copies dearer (1.2 s for 2,000).
    with tempfile.TemporaryDirectory(dir=work if not args.folder else None) as scratch:
        print(f"creating an empty file where the banks go: {creation_ms(Path(scratch)):.3f} ms (0.02 on a fresh ext4 here)")
        compare(args, library, files, Path(scratch))


def creation_ms(scratch: Path, count: int = 500) -> float:
    """Milliseconds a new empty file takes under ``scratch`` (the files are kept: deleting them
    would make the next ones dearer)."""
    folder = scratch / "probe"
    folder.mkdir()
    start = time.perf_counter()
    for i in range(count):
        (folder / str(i)).touch()
    return (time.perf_counter() - start) / count * 1e3


def compare(args: argparse.Namespace, library: Path, files: list[Path], scratch: Path) -> None:
    """Time cold, warm and "10 added" sorts (and, with ``--only all``, the original workflow and
    the analysis alone), each run in a new folder under ``scratch``; print the figures."""
    cold, warm, added = [], [], []
    for run in range(args.runs):
        tmp = scratch / f"run-{run}"
        root = tmp / "out"
        cold.append(timed_sort([library], root, args.jobs, args.link))
        if args.only != "cold":
            warm.append(timed_sort([library], root, args.jobs, args.link))
            extra = tmp / "extra"
            make_library(extra, 10, seed=99, start=10_000_000 + run)
            added.append(timed_sort([library, extra], root, args.jobs, args.link))
    show("cold (no cache)", cold)
    if warm:
        show("warm (nothing changed)", warm)
        show("10 files added", added)

    if args.only == "all":
        ours_runs, theirs_runs = [], []
        for run in range(args.runs):
            tmp = scratch / f"whole-{run}"
            ours_runs.append(
                whole_run_seconds([sys.executable, "-m", "tidalsort", "sort", str(library), "--out", str(tmp / "ours"), "--bank", "bench"])
            )
            theirs_runs.append(whole_run_seconds([sys.executable, __file__, "--child-original", str(tmp / "theirs"), *map(str, files)]))
        ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
        print(f"whole run, original workflow:      {theirs:6.2f} s  ({min(theirs_runs):.2f}-{max(theirs_runs):.2f})")
        print(f"whole run, tidalsort sort (cold):  {ours:6.2f} s  ({min(ours_runs):.2f}-{max(ours_runs):.2f})   x{theirs / ours:.1f}")

        audio = [p for p in files if p.suffix.lower() in (".wav", ".aif", ".aiff", ".flac")]
        infos = [(p, sf.info(str(p)).duration) for p in audio[:4000]]
        short = [p for p, d in infos if 1.0 < d < 2.0][:400]
        long = [p for p, d in infos if d > 5.0][:400]
        from tidalsort.analysis.analyse import analyse
        from tidalsort.analysis.features import FeatureSettings

        def one_process_files_per_s(group: list[Path]) -> float:
            rates = []
            for _ in range(args.runs):
                start = time.perf_counter()
                analyse(group, FeatureSettings(), jobs=1)
                rates.append(len(group) / (time.perf_counter() - start))
            return statistics.median(rates)

        for name, group in (("1-2 s", short), ("5-10 s", long)):
            if group:
                print(f"analysis, one process, {name:<16} {one_process_files_per_s(group):7.0f} files/s ({len(group)} files)")
        sample = audio[:: max(1, len(audio) // args.baseline_files)][: args.baseline_files]
        base = statistics.median(baseline_files_per_s(sample) for _ in range(args.runs))
        ours = one_process_files_per_s(sample)
        print(f"baseline (original workflow, one process): {base:7.0f} files/s on {len(sample)} files")
        print(f"tidalsort analysis, one process:           {ours:7.0f} files/s  (x{ours / base:.1f})")
        print(
            f"tidalsort cold analysis, all cores:        {median(cold, 'files_per_s'):7.0f} files/s  (x{median(cold, 'files_per_s') / base:.1f})"
        )


if __name__ == "__main__":
    main()
