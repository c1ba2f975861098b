"""The ``tidalsort`` command.

Only what the argument parser needs is imported here; every command imports what it uses
when it runs, so that ``tidalsort --help``, ``report``, ``similar bank:n`` and ``notify``
start without scipy, scikit-learn, matplotlib or pyAudioAnalysis (over a second to load).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .choices import (
    FEATURE_SETS,
    GROUPS,
    LAYOUTS,
    METHODS,
    ORDERS,
    SCALINGS,
    STRATEGIES,
)
from .live import bridge
from .live.notify import DEFAULT_TIMEOUT
from .output import strudel

if TYPE_CHECKING:
    from rich.console import Console

    from .pipeline import Progress as JobProgress
    from .pipeline import SortOptions

EXAMPLES = """examples:
  tidalsort demo /tmp/tidalsort-demo
  tidalsort sort ~/samples/kb6 ~/samples/more --out ~/tidal-samples --bank kb6
  tidalsort sort ~/samples/808 --out ~/tidal-samples --layout split --clusters 8
  tidalsort report ~/tidal-samples --bank kb6
  tidalsort similar ~/Downloads/kick.wav --out ~/tidal-samples
  tidalsort eval ~/tidal-samples --bank kb6 --labels labels.csv
  tidalsort serve ~/tidal-samples
  tidalsort map ~/tidal-samples --bank kb6 --open
"""


SIMILAR_EXAMPLES = """examples:
  tidalsort similar ~/Downloads/kick.wav --out ~/tidal-samples
  tidalsort similar kb6:12 --out ~/tidal-samples -k 4
  tidalsort similar kb6:12 --out ~/tidal-samples --json | jq '.[].ref'
"""


LIVE_EXAMPLES = """examples:
  tidalsort notify ~/tidal-samples --bank kb6
  tidalsort watch ~/samples/incoming --out ~/tidal-samples --bank fresh
  tidalsort sort ~/samples/kb6 --out ~/tidal-samples --notify --sc-port 57120
"""


SERVE_EXAMPLES = """examples:
  tidalsort serve ~/tidal-samples                # then, in Strudel: samples('http://127.0.0.1:5432/strudel.json')
  tidalsort serve ~/tidal-samples --port 6000    # the map served says port 6000 by itself

AIFF samples are served as WAV with the same samples (browsers do not decode AIFF), under
their own names; the copies are kept in ROOT/.tidalsort/serve-wav/.
"""


MAP_EXAMPLES = """examples:
  tidalsort map ~/tidal-samples --bank kb6 --open
  tidalsort sort ~/samples/kb6 --out ~/tidal-samples --bank kb6 --map
  cd ~/tidal-samples && python -m http.server 8000 --bind 127.0.0.1   # then http://127.0.0.1:8000/kb6-map.html
"""


def _clusters(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None
    if k < 1:
        raise argparse.ArgumentTypeError("the number of clusters must be at least 1")
    return k


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_sort_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bank", help="bank (SuperDirt sound) name; default: the first source folder's name, sanitised")
    p.add_argument("--group", choices=list(GROUPS), default="families", help="families (default): kicks, snares, claps, rims, toms, closed hats, open hats, cymbals, percussion, then effects and other sounds, as the family model hears them, each cut into clusters of similar sounds; sound: clusters of similar sounds over the whole bank, whatever their family")
    p.add_argument("--names", action="store_true", help="let file and folder names decide a sample's family where they name an instrument (Kick 03.wav, bd/x.wav); by default only the audio counts")
    p.add_argument("--model", type=Path, metavar="FILE", help="a family model file written by train/train_families.py (default: the one tidalsort ships)")
    p.add_argument("--layout", choices=list(LAYOUTS), default="bank", help="bank: one folder, clusters contiguous (default); split: one folder per cluster, NAME-0, NAME-1, ...; families: one folder per family, NAME_bd, NAME_sd, NAME_cp, NAME_rim, NAME_tom, NAME_hh, NAME_oh, NAME_cr, NAME_perc, NAME_fx (for s \"bd\" # bank \"NAME\" and Strudel's .bank)")
    p.add_argument("--link", choices=["copy", "symlink", "hardlink"], default="copy", help="how samples get into the bank (default: copy); formats SuperDirt cannot load are always converted to WAV")
    p.add_argument("--clusters", type=_clusters, default=None, metavar="K|auto", help="number of clusters (with --group families: in all, shared out over the families by size), or auto (default): round(sqrt(n/2)) for n samples (of a family), more if one cluster would hold over a quarter of a bank of 100 or more")
    p.add_argument("--frames", type=_positive, default=2, help="50 ms frames analysed from the start of each sound (default: 2)")
    p.add_argument("--features", choices=list(FEATURE_SETS), default="paa+mel", help="feature set: paa (pyAudioAnalysis short-term features of the first --frames 50 ms frames), mel (log-mel cepstra of five spans from attack to 1 s), paa+mel (default: both, equally weighted)")
    p.add_argument("--scaling", choices=list(SCALINGS), default="standard", help="standard (default): every feature column to unit variance, every feature group equal weight; none: raw values, as the original workflow")
    p.add_argument("--method", choices=list(METHODS), default="ward", help="clustering: ward (default, hierarchical) or kmeans")
    p.add_argument("--strategy", choices=list(STRATEGIES), default="auto", help="auto (default): exact clustering up to 5,000 samples, a compact summary above; exact: always every sample (memory grows with the square of the count); summary: always the summary (micro-clusters of about 16 samples, then clusters of those)")
    p.add_argument("--order", choices=list(ORDERS), default="refined", help="refined (default): optimal leaf ordering (of the whole tree up to 1,000 samples, cluster by cluster above) then 2-opt moves inside clusters; optimal: optimal leaf ordering only; tree: the tree's plain leaf order")
    p.add_argument("--no-dendrogram", action="store_true", help="do not draw ROOT/BANK-dendrogram.png")
    p.add_argument("--strict", action="store_true", help="fail, writing nothing, if any file has to be skipped")
    p.add_argument("--jobs", type=_positive, default=None, help="processes analysing files (default: one per core)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache ROOT/.tidalsort/cache.sqlite")
    p.add_argument("--json", action="store_true", help="print the bank's manifest entry as JSON instead of the report")
    p.add_argument("--strudel-base", type=strudel.base_url, metavar="URL", help=f"where Strudel finds ROOT's folders, the _base of ROOT/strudel.json (default: the one it has, else {strudel.DEFAULT_BASE}, tidalsort serve's default address; serve itself always serves its own)")
    p.add_argument("--map", action="store_true", help="then write the sound map and pictures (as tidalsort map does), after the bank, the manifest and --notify")


def _add_sc_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sc-host", default=bridge.DEFAULT_HOST, help="host of sclang running TidalSort.start (default: 127.0.0.1)")
    p.add_argument("--sc-port", type=_positive, default=bridge.DEFAULT_PORT, help="port TidalSort listens on (default: 57120)")
    p.add_argument("--sc-timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for sclang's answer per folder (default: 30); whether anything answers at all is asked first, in at most 2 s")


def _add_strudel_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strudel", action="store_true", help='print the lines that play each family and cluster in Strudel\'s spelling (s("kb6").n(irand(4))) instead of Tidal\'s')


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tidalsort`` command."""
    parser = argparse.ArgumentParser(
        prog="tidalsort",
        description="Sort samples by sound into similarity-ordered SuperDirt banks, so that n means something.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tidalsort {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("sort", help="sort sample files and folders into a bank", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", type=Path, help="sample files and folders (searched recursively)")
    p.add_argument("--out", required=True, type=Path, metavar="ROOT", help="output root, a Dirt-Samples-style folder of banks; gets tidalsort.yaml")
    _add_sort_options(p)
    p.add_argument("--notify", action="store_true", help="then tell SuperDirt to reload the bank (needs TidalSort.start in SuperCollider)")
    _add_sc_options(p)
    _add_strudel_option(p)

    p = commands.add_parser("notify", help="tell a running SuperDirt to reload sorted banks and unload their removed folders (TidalSort quark)", epilog=LIVE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--bank", action="append", help="only this bank (repeatable; default: every bank)")
    _add_sc_options(p)

    p = commands.add_parser("watch", help="sort, then sort again and reload SuperDirt whenever the sources change", epilog=LIVE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", type=Path, help="sample files and folders to watch (recursively)")
    p.add_argument("--out", required=True, type=Path, metavar="ROOT", help="output root")
    _add_sort_options(p)
    p.add_argument("--settle", type=float, default=0.3, help="seconds without further changes before sorting (default: 0.3)")
    p.add_argument("--poll", action="store_true", help="look at the sources every --interval seconds instead of waiting for file-system events (for network file systems, which raise no events for changes made elsewhere); used anyway where events are not available")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between looks when polling (default: 1)")
    p.add_argument("--no-notify", dest="notify", action="store_false", help="only sort; do not tell SuperDirt")
    _add_sc_options(p)

    p = commands.add_parser("serve", help="serve the banks and their Strudel sample map over HTTP, for the Strudel REPL", epilog=SERVE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--port", type=int, default=strudel.SERVE_PORT, help=f"TCP port (default: {strudel.SERVE_PORT}; 0: any free port)")
    p.add_argument("--host", default=strudel.SERVE_HOST, help=f"address to listen on (default: {strudel.SERVE_HOST}, this machine only)")

    p = commands.add_parser("report", help="print the cluster report of sorted banks again, from the manifest")
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--bank", help="only this bank")
    p.add_argument("--json", action="store_true", help="print the manifest entries as JSON")
    _add_strudel_option(p)

    p = commands.add_parser("similar", help="which samples sound like this one? (a sound file, or bank:n)", epilog=SIMILAR_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", metavar="QUERY", help="an audio file (in the library or not), or a sample as bank:n")
    p.add_argument("--out", "--root", dest="root", type=Path, default=Path(os.environ.get("TIDALSORT_ROOT", ".")), metavar="ROOT", help="output root holding tidalsort.yaml (default: $TIDALSORT_ROOT, else the current folder)")
    p.add_argument("-k", type=_positive, default=8, help="how many answers (default: 8)")
    p.add_argument("--bank", action="append", help="search only this bank (repeatable)")
    p.add_argument("--json", action="store_true", help="print the answers as JSON")

    p = commands.add_parser("eval", help="measure a sorted bank against reference labels (a relative_path,label CSV)")
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--bank", required=True, help="the bank to measure")
    p.add_argument("--labels", required=True, type=Path, metavar="CSV", help="CSV with columns relative_path,label; paths relative to the CSV's folder")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")

    p = commands.add_parser("map", help="write a bank's interactive sound map (ROOT/BANK-map.html) and pictures (BANK-map.png, BANK-heatmap.png)", epilog=MAP_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--bank", help="the bank (default: the root's only bank)")
    p.add_argument("--open", action="store_true", help="then open the page in the web browser")

    p = commands.add_parser("demo", help="synthesise a small drum kit, sort it and map it: try tidalsort with no samples at hand")
    p.add_argument("dir", type=Path, metavar="DIR", help="folder for the kit (DIR/kit) and the sorted bank (DIR/samples/demo)")
    p.add_argument("--json", action="store_true", help="print the bank's manifest entry as JSON instead of the report")
    return parser


class _Bars:
    """Rich progress bars for a sort job, on standard error."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True
        )
        self.tasks: dict[str, Any] = {}

    def job(self) -> JobProgress:
        from .pipeline import Progress as JobProgress

        def start(stage: str, total: int) -> None:
            self.tasks[stage] = self.progress.add_task(stage, total=total)

        def advance(stage: str, count: int = 1) -> None:
            self.progress.advance(self.tasks[stage], count)

        return JobProgress(start, advance)


def _options(args: argparse.Namespace) -> SortOptions:
    from .analysis.features import FeatureSettings
    from .pipeline import SortOptions

    return SortOptions(
        bank=args.bank,
        group=args.group,
        names=args.names,
        model=args.model,
        layout=args.layout,
        link=args.link,
        clusters=args.clusters,
        features=FeatureSettings(args.features, args.frames),
        scaling=args.scaling,
        method=args.method,
        order=args.order,
        strategy=args.strategy,
        dendrogram=not args.no_dendrogram,
        strict=args.strict,
        jobs=args.jobs,
        cache=not args.no_cache,
        strudel_base=args.strudel_base,
    )


def _sort(args: argparse.Namespace, err: Console, out: Console) -> int:
    from .pipeline import sort_library

    root = args.out.expanduser().absolute()
    bars = _Bars(err)
    failed: list[bridge.BridgeError] = []

    def reload(entry: dict[str, Any]) -> None:  # as soon as the bank is in place, before its dendrogram
        try:
            _notify(root, [entry], args, err)
        except bridge.BridgeError as exc:
            failed.append(exc)

    progress = bars.job()
    if args.notify:
        progress.committed = reload
    with bars.progress:
        entry = sort_library(args.sources, root, _options(args), progress)
    _show([entry], root, args.json, out, strudel=args.strudel)
    if failed:
        raise failed[0]
    if args.map:
        _map(root, entry["name"], False, err)
    return 0


def _map(root: Path, bank: str | None, show: bool, err: Console) -> int:
    import webbrowser

    from .soundmap.writer import make_map

    say = lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    bank = bank or _only_bank(root)
    written = make_map(root, bank, say)
    for problem in written.problems:
        say(f"tidalsort: warning: {problem}")
    say(f"map: {written.page}")
    say(f"pictures: {', '.join(str(p) for p in written.pictures)}")
    if show:
        webbrowser.open(written.page.as_uri())
    return 0


def _only_bank(root: Path) -> str:
    from .output.manifest import bank_entries

    names = [entry["name"] for entry in bank_entries(root)]
    if len(names) > 1:
        raise KeyError(f"{root} holds several banks ({', '.join(names)}): choose one with --bank")
    return names[0]


def _notify(root: Path, entries: list[dict[str, Any]], args: argparse.Namespace, err: Console) -> None:
    from .live.notify import PING_TIMEOUT, check_receiver, notify_bank

    check_receiver(args.sc_host, args.sc_port, min(PING_TIMEOUT, args.sc_timeout))
    for entry in entries:
        loaded, unloaded = notify_bank(root, entry, args.sc_host, args.sc_port, args.sc_timeout)
        for sound, count in loaded:
            err.print(f"SuperDirt reloaded {sound} ({count} files)", markup=False, highlight=False)
        for sound, count in unloaded:
            err.print(f"SuperDirt unloaded {sound} ({count} files; its folder is gone)", markup=False, highlight=False)


def _watch(args: argparse.Namespace, err: Console) -> int:
    from .confined import UnsafePath
    from .live.watch import watch
    from .output.bank import BankClash
    from .output.manifest import ManifestError
    from .pipeline import NothingToSort, StrictSkip, sort_library
    from .pipeline import Progress as JobProgress

    root = args.out.expanduser().absolute()
    options = _options(args)

    def failed(exc: Exception) -> None:
        err.print(f"tidalsort: {exc}; watching on", markup=False, highlight=False)

    def reload(entry: dict[str, Any]) -> None:  # as soon as the bank is in place, before its dendrogram
        err.print(f"sorted {entry['name']}: {len(entry['samples'])} samples in {len(entry['clusters'])} clusters", markup=False, highlight=False)
        if args.notify:
            try:
                _notify(root, [entry], args, err)
            except bridge.BridgeError as exc:
                failed(exc)

    def sort_and_notify() -> None:
        try:
            entry = sort_library(args.sources, root, options, JobProgress(committed=reload))
            if args.map:
                _map(root, entry["name"], False, err)
        except (NothingToSort, StrictSkip, BankClash, ManifestError, UnsafePath, ValueError, OSError) as exc:
            failed(exc)

    def say(how: str) -> None:
        err.print(f"watching {', '.join(map(str, args.sources))} {how} (Ctrl-C to stop)", markup=False, highlight=False)

    try:
        watch(args.sources, sort_and_notify, args.interval, args.settle, poll=args.poll, say=say)
    except KeyboardInterrupt:
        pass
    return 0


def _serve(args: argparse.Namespace, err: Console) -> int:
    from .live.serve import SampleServer, paste_line
    from .output.manifest import load

    root = args.root.expanduser().absolute()
    if not root.is_dir():
        raise OSError(f"{root} is not a folder")
    try:
        server = SampleServer(root, args.host, args.port)
    except OSError as exc:
        raise OSError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    banks = list(load(root)["banks"])
    say = lambda text: err.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    say(f"serving {', '.join(banks) or 'no banks yet'} from {root} at {server.url} (read-only; Ctrl-C to stop)")
    if not server.loopback:
        say(f"tidalsort: warning: {args.host} is not a loopback address: every machine that reaches it can read these banks")
    say("in Strudel, run:")
    print(paste_line(server.url), flush=True)
    if banks:
        say(f'then play, e.g.: s("{banks[0]}").n(3)')
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _show(entries: list[dict[str, Any]], root: Path, as_json: bool, out: Console, *, strudel: bool = False) -> None:
    from .output.report import print_report

    if as_json:
        print(json.dumps(entries if len(entries) != 1 else entries[0], indent=2))
        return
    for entry in entries:
        print_report(entry, root, out, strudel=strudel)


def _similar(args: argparse.Namespace, out: Console) -> int:
    from dataclasses import asdict

    from .output.report import neighbour_line, neighbour_table
    from .similarity import Library

    library = Library(args.root.expanduser().absolute(), args.bank)
    neighbours = library.query(args.query, args.k)
    if args.json:
        print(json.dumps([asdict(nb) for nb in neighbours], indent=2))
        return 0
    query_file = Path(args.query)
    family = library.family_of(query_file) if query_file.is_file() else None
    out.print(neighbour_table(args.query, neighbours, family))
    line = neighbour_line(neighbours)
    if line:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    return 0


def _eval(args: argparse.Namespace, out: Console) -> int:
    from rich.table import Table

    from .evaluate import evaluate_bank

    figures = evaluate_bank(args.root.expanduser().absolute(), args.bank, args.labels)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    table = Table(title=f"bank {args.bank}: {figures['samples']} labelled samples, {figures['labels']} labels", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.3f}")
    out.print(table)
    return 0


def _report(args: argparse.Namespace, out: Console) -> int:
    from .output.manifest import bank_entries

    root = args.root.expanduser().absolute()
    _show(bank_entries(root, [args.bank] if args.bank else None), root, args.json, out, strudel=args.strudel)
    return 0


def _notify_banks(args: argparse.Namespace, err: Console) -> int:
    from .output.manifest import bank_entries

    root = args.root.expanduser().absolute()
    _notify(root, bank_entries(root, args.bank), args, err)
    return 0


def _demo(args: argparse.Namespace, err: Console, out: Console) -> int:
    from .demo import make_kit

    folder = args.dir.expanduser().absolute()
    make_kit(folder / "kit")
    sort_args = ["sort", str(folder / "kit"), "--out", str(folder / "samples"), "--bank", "demo", "--map"]
    return _sort(build_parser().parse_args(sort_args + ["--json"] * args.json), err, out)


def _expected(exc: Exception) -> bool:
    """Whether ``exc`` is bad input or a failure outside tidalsort, told in one line (not a bug)."""
    from .confined import UnsafePath
    from .output.manifest import ManifestError

    if isinstance(exc, (ManifestError, UnsafePath, bridge.BridgeError, ValueError, KeyError, OSError)):
        return True
    # the errors of sorting, imported only now: a run that raised one has loaded them already
    from .analysis.audio import UnreadableAudio
    from .output.bank import BankClash
    from .pipeline import NothingToSort, StrictSkip

    return isinstance(exc, (NothingToSort, StrictSkip, BankClash, UnreadableAudio))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    from rich.console import Console

    err = Console(stderr=True)
    warnings.showwarning = lambda message, *rest: err.print(f"tidalsort: warning: {message}", markup=False, highlight=False, soft_wrap=True)
    out = Console() if sys.stdout.isatty() else Console(width=160)  # piped: keep Tidal lines whole
    try:
        if args.command in ("report", "notify", "similar", "eval", "serve", "map"):
            from .output.journal import recover

            recover(args.root.expanduser().absolute())  # a sort killed in the middle: finish it first
        if args.command == "sort":
            return _sort(args, err, out)
        if args.command == "report":
            return _report(args, out)
        if args.command == "notify":
            return _notify_banks(args, err)
        if args.command == "watch":
            return _watch(args, err)
        if args.command == "similar":
            return _similar(args, out)
        if args.command == "serve":
            return _serve(args, err)
        if args.command == "eval":
            return _eval(args, out)
        if args.command == "map":
            return _map(args.root.expanduser().absolute(), args.bank, args.open, err)
        if args.command == "demo":
            return _demo(args, err, out)
    except Exception as exc:
        if not _expected(exc):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        err.print(f"tidalsort: error: {message}", markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
