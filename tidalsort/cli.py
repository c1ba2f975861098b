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
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .choices import (
    FEATURE_SETS,
    GROUPS,
    LAYOUTS,
    LINKS,
    METHODS,
    ORDERS,
    SCALINGS,
    STRATEGIES,
)
from .errors import REPORT, TidalsortError, UsageError
from .live import bridge
from .live.notify import DEFAULT_TIMEOUT
from .output import strudel

if TYPE_CHECKING:
    from rich.console import Console

    from .output.entry import Bank
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


SET_EXAMPLES = """examples:
  tidalsort set kb6:12 kick --out ~/tidal-samples
  tidalsort set kb6:40..47 tom --out ~/tidal-samples --notify
  tidalsort set ~/samples/808/CB.WAV perc --out ~/tidal-samples
  tidalsort set kb6:12 --clear --out ~/tidal-samples

The families you set are kept in ROOT/tidalsort-families.yaml, one line per sound, keyed by
the sound's bytes: they hold when the bank is sorted again or renamed and when files move.
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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port: 0 to 65535 (0: any free port)")
    return value


#: The shortest ``watch --interval``: every look lists the whole source tree (1,000 files took
#: 11% of a core at 0.1 s, 1.6% at 1 s; at 0 watchdog looks again at once, without end).
MIN_INTERVAL = 0.1


def _seconds(least: float, why: str) -> Callable[[str], float]:
    """An argument type: seconds from ``least`` (``why`` says why) to a day."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if not least <= value <= 86400:  # also refuses nan; more than a day is a slip (and past 292 years Event.wait overflows)
            raise argparse.ArgumentTypeError(f"must be {least:g} to 86400 seconds ({why}), got {text}")
        return value

    return seconds


def _add_sort_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bank", help="bank (SuperDirt sound) name; default: the first source folder's name, sanitised")
    p.add_argument(
        "--group",
        choices=list(GROUPS),
        default="families",
        help="families (default): kicks, snares, claps, rims, toms, closed hats, open hats, cymbals, percussion, then effects and other sounds, as the family model hears them, each cut into clusters of similar sounds; sound: clusters of similar sounds over the whole bank, whatever their family",
    )
    p.add_argument(
        "--names",
        nargs="?",
        const="on",
        default="on",
        choices=["on", "off"],
        help="on (default; --names alone too): a file or folder name that names an instrument (Kick 03.wav, Hat Open.wav, bd/x.wav) decides a sample's family; off: only the audio counts",
    )
    p.add_argument(
        "--model",
        type=Path,
        metavar="FILE",
        help="a family model file written by train/train_families.py (default: the one tidalsort ships)",
    )
    p.add_argument(
        "--layout",
        choices=list(LAYOUTS),
        default="bank",
        help='bank: one folder, clusters contiguous (default); split: one folder per cluster, NAME-0, NAME-1, ...; families: one folder per family, NAME_bd, NAME_sd, NAME_cp, NAME_rim, NAME_tom, NAME_hh, NAME_oh, NAME_cr, NAME_perc, NAME_fx (for s "bd" # bank "NAME" and Strudel\'s .bank)',
    )
    p.add_argument(
        "--link",
        choices=list(LINKS),
        default="copy",
        help="how samples get into the bank (default: copy); formats SuperDirt cannot load are always converted to WAV",
    )
    p.add_argument(
        "--clusters",
        type=_clusters,
        default=None,
        metavar="K|auto",
        help="number of clusters (with --group families: in all, shared out over the families by size), or auto (default): round(sqrt(n/2)) for n samples (of a family), more if one cluster would hold over a quarter of a bank of 100 or more",
    )
    p.add_argument("--frames", type=_positive, default=2, help="50 ms frames analysed from the start of each sound (default: 2)")
    p.add_argument(
        "--features",
        choices=list(FEATURE_SETS),
        default="paa+mel",
        help="feature set: paa (pyAudioAnalysis short-term features of the first --frames 50 ms frames), mel (log-mel cepstra of five spans from attack to 1 s), paa+mel (default: both, equally weighted)",
    )
    p.add_argument(
        "--scaling",
        choices=list(SCALINGS),
        default="standard",
        help="standard (default): every feature column to unit variance, every feature group equal weight; none: raw values, as the original workflow",
    )
    p.add_argument("--method", choices=list(METHODS), default="ward", help="clustering: ward (default, hierarchical) or kmeans")
    p.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        default="auto",
        help="auto (default): exact clustering up to 5,000 samples, a compact summary above; exact: always every sample (memory grows with the square of the count); summary: always the summary (micro-clusters of about 16 samples, then clusters of those)",
    )
    p.add_argument(
        "--order",
        choices=list(ORDERS),
        default="refined",
        help="refined (default): optimal leaf ordering (of the whole tree up to 1,000 samples, cluster by cluster above) then 2-opt moves inside clusters; optimal: optimal leaf ordering only; tree: the tree's plain leaf order",
    )
    p.add_argument("--no-dendrogram", action="store_true", help="do not draw ROOT/BANK-dendrogram.png")
    p.add_argument("--strict", action="store_true", help="fail, writing nothing, if any file has to be skipped")
    p.add_argument(
        "--dedupe",
        action="store_true",
        help="of files with the same bytes (exact duplicates, listed by the report), sort only the first by path; by default all are sorted",
    )
    p.add_argument("--jobs", type=_positive, default=None, help="processes analysing files (default: one per core)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache ROOT/.tidalsort/cache.sqlite")
    p.add_argument("--json", action="store_true", help="print the bank's manifest entry as JSON instead of the report")
    p.add_argument(
        "--strudel-base",
        type=strudel.base_url,
        metavar="URL",
        help=f"where Strudel finds ROOT's folders, the _base of ROOT/strudel.json (default: the one it has, else {strudel.DEFAULT_BASE}, tidalsort serve's default address; serve itself always serves its own)",
    )
    p.add_argument(
        "--map",
        action="store_true",
        help="then write the sound map and pictures (as tidalsort map does), after the bank, the manifest and --notify",
    )


def _add_sc_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sc-host", default=bridge.DEFAULT_HOST, help="host of sclang running TidalSort.start (default: 127.0.0.1)")
    p.add_argument("--sc-port", type=_positive, default=bridge.DEFAULT_PORT, help="port TidalSort listens on (default: 57120)")
    p.add_argument(
        "--sc-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait for sclang's answer per folder (default: 30); whether anything answers at all is asked first, in at most 2 s",
    )


def _add_strudel_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strudel",
        action="store_true",
        help="print the lines that play each family and cluster in Strudel's spelling (s(\"kb6\").n(irand(4))) instead of Tidal's",
    )


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: an argument it does not know is its own error, shown with its
    usage and the nearest option, not the top-level usage."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extra = super().parse_known_args(args, namespace)
        if extra:
            import difflib  # only for the error

            options = list(self._option_string_actions)
            near = [m for word in extra if word.startswith("-") for m in difflib.get_close_matches(word.partition("=")[0], options, n=1)]
            self.error(f"unrecognized arguments: {' '.join(extra)}" + (f" (did you mean {near[0]}?)" if near else ""))
        return namespace, extra


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tidalsort`` command."""
    parser = argparse.ArgumentParser(
        prog="tidalsort",
        description="Sort samples by sound into similarity-ordered SuperDirt banks, so that n means something.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tidalsort {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser)

    p = commands.add_parser(
        "sort", help="sort sample files and folders into a bank", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("sources", nargs="+", type=Path, help="sample files and folders (searched recursively)")
    p.add_argument(
        "--out", required=True, type=Path, metavar="ROOT", help="output root, a Dirt-Samples-style folder of banks; gets tidalsort.yaml"
    )
    _add_sort_options(p)
    p.add_argument("--notify", action="store_true", help="then tell SuperDirt to reload the bank (needs TidalSort.start in SuperCollider)")
    _add_sc_options(p)
    _add_strudel_option(p)

    p = commands.add_parser(
        "notify",
        help="tell a running SuperDirt to reload sorted banks and unload their removed folders (TidalSort quark)",
        epilog=LIVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--bank", action="append", help="only this bank (repeatable; default: every bank)")
    _add_sc_options(p)

    p = commands.add_parser(
        "watch",
        help="sort, then sort again and reload SuperDirt whenever the sources change",
        epilog=LIVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", type=Path, help="sample files and folders to watch (recursively)")
    p.add_argument("--out", required=True, type=Path, metavar="ROOT", help="output root")
    _add_sort_options(p)
    p.add_argument(
        "--settle",
        type=_seconds(0, "0: sort as soon as changes stop"),
        default=0.3,
        help="seconds without further changes before sorting (default: 0.3; 0: at once)",
    )
    p.add_argument(
        "--poll",
        action="store_true",
        help="look at the sources every --interval seconds instead of waiting for file-system events (for network file systems, which raise no events for changes made elsewhere); used anyway where events are not available",
    )
    p.add_argument(
        "--interval",
        type=_seconds(MIN_INTERVAL, "every look lists the whole source tree"),
        default=1.0,
        help=f"seconds between looks when polling (default: 1; at least {MIN_INTERVAL:g})",
    )
    p.add_argument("--no-notify", dest="notify", action="store_false", help="only sort; do not tell SuperDirt")
    _add_sc_options(p)

    p = commands.add_parser(
        "serve",
        help="serve the banks and their Strudel sample map over HTTP, for the Strudel REPL",
        epilog=SERVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--port", type=_port, default=strudel.SERVE_PORT, help=f"TCP port (default: {strudel.SERVE_PORT}; 0: any free port)")
    p.add_argument("--host", default=strudel.SERVE_HOST, help=f"address to listen on (default: {strudel.SERVE_HOST}, this machine only)")

    p = commands.add_parser("report", help="print the cluster report of sorted banks again, from the manifest")
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--bank", help="only this bank")
    p.add_argument("--json", action="store_true", help="print the manifest entries as JSON")
    _add_strudel_option(p)

    p = commands.add_parser(
        "similar",
        help="which samples sound like this one? (a sound file, or bank:n)",
        epilog=SIMILAR_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", metavar="QUERY", help="an audio file (in the library or not), or a sample as bank:n")
    p.add_argument(
        "--out",
        "--root",
        dest="root",
        type=Path,
        default=Path(os.environ.get("TIDALSORT_ROOT", ".")),
        metavar="ROOT",
        help="output root holding tidalsort.yaml (default: $TIDALSORT_ROOT, else the current folder)",
    )
    p.add_argument("-k", type=_positive, default=8, help="how many answers (default: 8)")
    p.add_argument("--bank", action="append", help="search only this bank (repeatable)")
    p.add_argument("--json", action="store_true", help="print the answers as JSON")

    p = commands.add_parser("eval", help="measure a sorted bank against reference labels (a relative_path,label CSV)")
    p.add_argument("root", type=Path, metavar="ROOT", help="output root holding tidalsort.yaml")
    p.add_argument("--bank", required=True, help="the bank to measure")
    p.add_argument(
        "--labels", required=True, type=Path, metavar="CSV", help="CSV with columns relative_path,label; paths relative to the CSV's folder"
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")

    p = commands.add_parser(
        "set",
        help="set the family of a sample or a range (you know best), and sort its bank again at once",
        epilog=SET_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "ref",
        metavar="SAMPLE",
        help="bank:n, bank:a..b (both included, as the report prints them), or a sound file (a source or a bank's own file, matched by its bytes)",
    )
    p.add_argument(
        "family",
        nargs="?",
        metavar="FAMILY",
        help="kick snare clap rim tom hihat_closed hihat_open cymbal perc other, or bd sd cp hh oh cr fx",
    )
    p.add_argument("--clear", action="store_true", help="forget the family set for SAMPLE: names and the audio decide again")
    p.add_argument(
        "--out",
        "--root",
        dest="root",
        type=Path,
        default=Path(os.environ.get("TIDALSORT_ROOT", ".")),
        metavar="ROOT",
        help="output root holding tidalsort.yaml (default: $TIDALSORT_ROOT, else the current folder)",
    )
    p.add_argument("--notify", action="store_true", help="then tell SuperDirt to reload the bank (needs TidalSort.start in SuperCollider)")
    _add_sc_options(p)

    p = commands.add_parser(
        "map",
        help="write a bank's interactive sound map (ROOT/BANK-map.html) and pictures (BANK-map.png, BANK-heatmap.png)",
        epilog=MAP_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        names=args.names == "on",
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
        dedupe=args.dedupe,
        jobs=args.jobs,
        cache=not args.no_cache,
        strudel_base=args.strudel_base,
    )


def _sort(args: argparse.Namespace, err: Console, out: Console) -> int:
    from .analysis.scan import path_text, unreachable
    from .pipeline import sort_library

    missing = unreachable(args.sources)
    if missing:  # a typo, not a file to skip: stop before any work
        (source, reason), more = missing[0], len(missing) - 1
        others = f" (and {more} more source{'s' * (more > 1)} not found)" if more else ""
        err.print(f"tidalsort: error: {path_text(source)}: {reason}{others}", markup=False, highlight=False, soft_wrap=True)
        return 2
    root = args.out.expanduser().absolute()
    bars = _Bars(err)
    failed: list[bridge.BridgeError] = []

    def reload(entry: Bank) -> None:  # as soon as the bank is in place, before its dendrogram
        try:
            _notify(root, [entry], args, err)
        except bridge.BridgeError as exc:
            failed.append(exc)

    progress = bars.job()
    if args.notify:
        progress.committed = reload
    with bars.progress:
        entry = sort_library(args.sources, root, _options(args), progress)
    # the bars hold the stages the job ran: none when the bank was up to date
    _show(
        [entry],
        root,
        as_json=args.json,
        out=out,
        done="written" if "write" in bars.tasks else "up to date, nothing written",
        strudel=args.strudel,
    )
    if failed:
        raise failed[0]
    if args.map:
        _map(root, entry.name, False, err)
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

    names = [entry.name for entry in bank_entries(root)]
    if len(names) > 1:
        raise UsageError(f"{root} holds several banks ({', '.join(names)}): choose one with --bank")
    return names[0]


def _notify(root: Path, entries: list[Bank], args: argparse.Namespace, err: Console) -> None:
    from .live.notify import PING_TIMEOUT, check_receiver, notify_bank

    check_receiver(args.sc_host, args.sc_port, min(PING_TIMEOUT, args.sc_timeout))
    for entry in entries:
        loaded, unloaded = notify_bank(root, entry, host=args.sc_host, port=args.sc_port, timeout=args.sc_timeout)
        for sound, count in loaded:
            err.print(f"SuperDirt reloaded {sound} ({count} files)", markup=False, highlight=False)
        for sound, count in unloaded:
            err.print(f"SuperDirt unloaded {sound} ({count} files; its folder is gone)", markup=False, highlight=False)


def _watch(args: argparse.Namespace, err: Console) -> int:
    from .live.notify import PING_TIMEOUT, check_receiver
    from .live.watch import watch
    from .pipeline import Progress as JobProgress
    from .pipeline import sort_library

    root = args.out.expanduser().absolute()
    options = _options(args)
    told: set[str] = set()  # the skipped files told of at the last sort
    silent = False  # whether SuperDirt did not answer at the last sort (and that was told)

    def failed(exc: Exception) -> None:
        message = _expected(exc)
        if message is None:
            raise exc
        err.print(f"tidalsort: {message}; watching on", markup=False, highlight=False, soft_wrap=True)

    def reload(entry: Bank) -> None:  # as soon as the bank is in place, before its dendrogram
        nonlocal told, silent
        err.print(
            f"sorted {entry.name}: {len(entry.samples)} samples in {len(entry.clusters)} clusters",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        skipped = {f"{s.source}: {s.reason}" for s in entry.skipped}
        for line in sorted(skipped - told):  # each once, not at every sort
            err.print(f"tidalsort: warning: skipped {line}", markup=False, highlight=False, soft_wrap=True)
        told = skipped
        if not args.notify:
            return
        try:
            check_receiver(args.sc_host, args.sc_port, min(PING_TIMEOUT, args.sc_timeout))
        except bridge.BridgeTimeout:
            if not silent:  # once, until it answers again
                err.print(
                    f"tidalsort: warning: SuperDirt did not answer on {args.sc_host}:{args.sc_port}; the banks are written; "
                    "start SuperDirt with TidalSort.start(~dirt, roots: [...]), or run watch with --no-notify",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            silent = True
            return
        except bridge.BridgeError as exc:
            return failed(exc)
        silent = False
        try:
            _notify(root, [entry], args, err)  # pings again: a millisecond
        except bridge.BridgeError as exc:
            failed(exc)

    def sort_and_notify() -> None:
        try:
            entry = sort_library(args.sources, root, options, JobProgress(committed=reload))
            if args.map:
                _map(root, entry.name, False, err)
        except Exception as exc:
            failed(exc)

    def say(how: str) -> None:
        err.print(f"watching {', '.join(map(str, args.sources))} {how} (Ctrl-C to stop)", markup=False, highlight=False, soft_wrap=True)

    try:
        watch(args.sources, sort_and_notify, interval=args.interval, settle=args.settle, poll=args.poll, say=say)
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
    banks = list(load(root).banks)
    say = lambda text: err.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    say(f"serving {', '.join(banks) or 'no banks yet'} from {root} at {server.url} (read-only; Ctrl-C to stop)")
    if not server.loopback:
        say(f"tidalsort: warning: {args.host} is not a loopback address: every machine that reaches it can read these banks")
    say("in Strudel, run:")
    print(paste_line(server.url), flush=True)
    if banks:
        say(f'then play, e.g.: s("{banks[0]}").n(3)')
    server.catalogue.refresh()
    for path, file in server.catalogue.map_files.items():
        if file.suffix == ".html" and file.is_file():
            say(f"sound map of {file.name.removesuffix('-map.html')}: {server.url}{path.removeprefix('/')}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _show(entries: list[Bank], root: Path, *, as_json: bool, out: Console, done: str | None = None, strudel: bool = False) -> None:
    from .output.report import print_report

    if as_json:
        named = [{"name": entry.name, **entry.to_dict()} for entry in entries]
        print(json.dumps(named if len(named) != 1 else named[0], indent=2))
        return
    for entry in entries:
        print_report(entry, root, out, done, strudel=strudel)


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
    _show(bank_entries(root, [args.bank] if args.bank else None), root, as_json=args.json, out=out, strudel=args.strudel)
    return 0


def _notify_banks(args: argparse.Namespace, err: Console) -> int:
    from .output.manifest import bank_entries

    root = args.root.expanduser().absolute()
    _notify(root, bank_entries(root, args.bank), args, err)
    return 0


def _set(args: argparse.Namespace, err: Console) -> int:
    from .set_family import set_family

    if (args.family is None) == (not args.clear):
        raise UsageError("give a FAMILY, or --clear to forget the family set for " + args.ref)
    root = args.root.expanduser().absolute()

    def sorted_bank(entry: Bank) -> None:
        if args.notify:
            _notify(root, [entry], args, err)

    for chosen in set_family(root, args.ref, None if args.clear else args.family, sorted_bank=sorted_bank):
        what = f"{chosen.family} (you)" if chosen.family else f"cleared (was {chosen.was})"
        err.print(f"{chosen.source}: {what}; plays at {', '.join(chosen.now)}", markup=False, highlight=False, soft_wrap=True)
    return 0


def _demo(args: argparse.Namespace, err: Console, out: Console) -> int:
    from .demo import make_kit

    folder = args.dir.expanduser().absolute()
    make_kit(folder / "kit")
    sort_args = ["sort", str(folder / "kit"), "--out", str(folder / "samples"), "--bank", "demo", "--map"]
    return _sort(build_parser().parse_args(sort_args + ["--json"] * args.json), err, out)


def _expected(exc: Exception) -> str | None:
    """The one line that tells ``exc``, if it is bad input or a failure outside tidalsort (a
    :class:`~tidalsort.errors.TidalsortError`, or an OSError of the file system); None for a bug."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None) + f": {exc.strerror}"
    return str(exc) if isinstance(exc, (TidalsortError, OSError)) else None


def _report_bug(err: Console) -> None:
    """Print the traceback of the exception being handled, and where to report it."""
    err.print(traceback.format_exc(), markup=False, highlight=False, soft_wrap=True, end="")
    err.print(REPORT, markup=False, highlight=False, soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (130 after Ctrl-C)."""
    try:
        return _run(argv)
    except KeyboardInterrupt as exc:  # one line, as the shell's own Ctrl-C status says
        detail = f": {exc}" if str(exc) else ""
        print(f"tidalsort: interrupted{detail}", file=sys.stderr, flush=True)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    from rich.console import Console

    err = Console(stderr=True)
    warnings.showwarning = lambda message, *rest: err.print(f"tidalsort: warning: {message}", markup=False, highlight=False, soft_wrap=True)
    out = Console() if sys.stdout.isatty() else Console(width=160)  # piped: keep Tidal lines whole
    try:
        if args.command in ("report", "notify", "similar", "eval", "serve", "map", "set"):
            from .output.journal import recover, writable

            root = args.root.expanduser().absolute()
            if args.command == "map" and root.is_dir() and not writable(root):
                raise OSError(f"{root} cannot be written (read-only): map writes its page and pictures there")
            if recover(root):  # a sort killed in the middle: finished first where the root can be written
                err.print(
                    f"tidalsort: warning: a sort into {root} was interrupted and {root} cannot be written here: reading its banks as they are; "
                    "the next tidalsort command that can write it finishes the sort",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
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
        if args.command == "set":
            return _set(args, err)
    except Exception as exc:
        message = _expected(exc)
        if message is None:
            _report_bug(err)
        else:
            err.print(f"tidalsort: error: {message}", markup=False, highlight=False, soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
