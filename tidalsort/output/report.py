"""Terminal reports of a bank from its manifest entry: what each cluster holds, how to play it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .entry import FAMILY_SOURCES, Bank, FamilyRun, Problem, Sample

#: Member names listed per cluster.
MEMBERS_SHOWN = 3
#: Problem files listed one per line before the rest are summarised by reason.
SKIPPED_SHOWN = 20
#: Confidence below which the report counts a sample as unsure of its family.
LOW_CONFIDENCE = 0.5
#: Audio confidence from which a sample whose name decided another family is listed as a
#: disagreement: on dev + train, where names are the labels, the cross-validated model was
#: this sure of another family for 19 of the 1,659 files whose names name one (bench/names.py --audio), so
#: the list stays short and each entry is worth a listen.
DISAGREE_CONFIDENCE = 0.9


def tidal_line(folder: str, start: int, stop: int, *, strudel: bool = False) -> str:
    """A line that plays random members of the ``n`` range [start, stop) of ``folder``: Tidal's,
    or with ``strudel`` Strudel's (``s("kb6").n(irand(4).add(12))``; ``irand`` and ``add`` are
    @strudel/core's)."""
    size = stop - start
    if strudel:
        pick = str(start) if size == 1 else f"irand({size})" + (f".add({start})" if start else "")
        return f's("{folder}").n({pick})'
    if size == 1:
        pick = str(start)
    elif start == 0:
        pick = f"(irand {size})"
    else:
        pick = f"(irand {size} + {start})"
    return f'd1 $ s "{folder}" # n {pick}'


def family_line(bank: str, family: str, runs: Sequence[FamilyRun], *, strudel: bool = False, helpers: bool = True) -> str:
    """A line that plays random members of one family, whatever the layout.

    One ``n`` range: :func:`tidal_line`. Several ranges in the bank's one folder: the
    helpers' ``tsFamRand`` when ``helpers`` (they read families from cluster labels, so only
    where the family's clusters hold exactly its samples). Otherwise, and for ranges in several
    folders (``--layout split``, where the sound ``bank`` itself does not exist): a random
    choice of the ranges each cycle, in plain Tidal. Strudel has no helpers: its ``randcat``.

    >>> family_line("kb6", "kick", [FamilyRun(family="kick", folder="kb6", start=0, stop=4)])
    'd1 $ s "kb6" # n (irand 4)'
    >>> family_line("kb6", "kick", [FamilyRun(family="kick", folder="kb6-0", start=0, stop=4), FamilyRun(family="kick", folder="kb6-2", start=0, stop=3)])
    'd1 $ randcat [s "kb6-0" # n (irand 4), s "kb6-2" # n (irand 3)]'
    >>> family_line("kb6", "kick", [FamilyRun(family="kick", folder="kb6", start=0, stop=4), FamilyRun(family="kick", folder="kb6", start=9, stop=12)], strudel=True)
    'randcat(s("kb6").n(irand(4)), s("kb6").n(irand(3).add(9)))'
    """
    lines = [tidal_line(r.folder, r.start, r.stop, strudel=strudel) for r in runs]
    if len(lines) == 1:
        return lines[0]
    if strudel:
        return "randcat(" + ", ".join(lines) + ")"
    if helpers and all(r.folder == bank for r in runs):
        return f'd1 $ s "{bank}" # n (tsFamRand "{bank}" "{family}")'
    return "d1 $ randcat [" + ", ".join(line.removeprefix("d1 $ ") for line in lines) + "]"


def bank_lines(entry: Bank, *, strudel: bool = False) -> list[str]:
    """For ``--layout families``: its folders ``NAME_bd``, ``NAME_sd``, … played through a bank
    name, in Tidal 1.10 (whose ``bank`` SuperDirt 1.7.3 ignores: it needs a SuperDirt after
    1.7.4) and in Strudel (``.bank()``). Empty for the other layouts.

    >>> runs = (FamilyRun(family="kick", folder="kb6_bd", start=0, stop=4), FamilyRun(family="snare", folder="kb6_sd", start=0, stop=2))
    >>> entry = Bank.from_dict("kb6", {"layout": "families", "settings": {"features": "mel", "frames": 2, "method": "ward"}, "families": [r.to_dict() for r in runs], "clusters": [], "samples": []})
    >>> bank_lines(entry)[0]
    'Tidal 1.10 with a SuperDirt after 1.7.4 (1.7.3 has no bank): d1 $ s "bd*4 sd" # bank "kb6"'
    >>> bank_lines(entry, strudel=True)
    ['Strudel: s("bd*4, sd").bank("kb6")']
    """
    if entry.layout != "families" or not entry.families:
        return []
    name = entry.name
    kinds = list(dict.fromkeys(r.folder.removeprefix(f"{name}_") for r in entry.families))[:2]
    strudel_line = f'Strudel: s("{", ".join([kinds[0] + "*4", *kinds[1:]])}").bank("{name}")'
    if strudel:
        return [strudel_line]
    tidal = f'd1 $ s "{" ".join([kinds[0] + "*4", *kinds[1:]])}" # bank "{name}"'
    return [f"Tidal 1.10 with a SuperDirt after 1.7.4 (1.7.3 has no bank): {tidal}", strudel_line]


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ranges with touching ones joined: ``[(0, 2), (2, 5), (7, 9)]`` -> ``[(0, 5), (7, 9)]``."""
    out: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(stop, out[-1][1]))
        else:
            out.append((start, stop))
    return out


def _confidence(samples: Sequence[Sample]) -> str:
    """Median confidence of ``samples`` (``""`` where the manifest has none)."""
    values = sorted(s.confidence for s in samples if s.confidence is not None)
    return f"{values[len(values) // 2]:.2f}" if values else ""


def family_table(entry: Bank, *, strudel: bool = False) -> Table | None:
    """One row per family, in bank order: n range(s), samples, clusters, confidence, a Tidal
    (with ``strudel``, Strudel) line.

    None for banks sorted before families existed.
    """
    runs = entry.families
    if not runs:
        return None
    name = entry.name
    table = Table(title=f"bank {name}: families", title_justify="left")
    sourced = any(s.family_from is not None for s in entry.samples)
    for column in ("family", "n", "samples", *(["from"] if sourced else []), "clusters", "confidence", "low", "play it"):
        table.add_column(
            column,
            no_wrap=column in ("play it", "from"),
            justify="right" if column in ("samples", "clusters", "confidence", "low") else "left",
        )
    by_family: dict[str, list[FamilyRun]] = {}
    for run in runs:
        by_family.setdefault(run.family, []).append(run)
    for family, family_runs in by_family.items():
        members = [s for s in entry.samples if s.family == family]
        clusters = sum(c.family == family for c in entry.clusters)
        where = ", ".join(
            f"{r.start}..{r.stop - 1}" if r.folder == name else f"{r.folder}:{r.start}..{r.stop - 1}" for r in family_runs[:3]
        )
        where += f", … ({len(family_runs)} runs)" if len(family_runs) > 3 else ""
        # --group sound: a cluster is labelled with the family most of its members have, so
        # tsFamRand "tom" can play a kick that sits among toms (and "kick" nothing at all)
        labelled = [(c.start, c.stop) for c in entry.clusters if c.family == family]
        helpers = _merged(labelled) == _merged([(r.start, r.stop) for r in family_runs])
        play = family_line(name, family, family_runs, strudel=strudel, helpers=helpers)
        low = sum(s.confidence is not None and s.confidence < LOW_CONFIDENCE for s in members)
        table.add_row(
            family,
            where,
            str(len(members)),
            *([_sources(members)] if sourced else []),
            str(clusters),
            _confidence(members),
            str(low) if low else "",
            escape(play),
        )  # randcat [s ...] reads as markup
    return table


def _sources(samples: Sequence[Sample]) -> str:
    """How many of ``samples`` got their family from you, their name and the audio.

    >>> _sources([Sample(folder="b", n=0, file="000_a.wav", source="a", cluster=0, sha1="x", family_from=f) for f in ("name", "audio", "name")])
    'name 2, audio 1'
    """
    counts = Counter(s.family_from for s in samples)
    return ", ".join(f"{source} {counts[source]}" for source in FAMILY_SOURCES if counts[source])


def disagreements(entry: Bank) -> list[Sample]:
    """Samples whose name decided their family while the audio model is at least
    :data:`DISAGREE_CONFIDENCE` sure of another: likely misnamed, or a model's mistake."""
    return [
        s
        for s in entry.samples
        if s.family_from == "name" and s.audio_family not in (None, s.family) and (s.audio_confidence or 0) >= DISAGREE_CONFIDENCE
    ]


def disagreement_lines(entry: Bank) -> list[str]:
    """One line per :func:`disagreements` sample (the first :data:`SKIPPED_SHOWN`)."""
    found = disagreements(entry)
    short = short_names([s.source for s in found])
    lines = [
        f"{s.folder}:{s.n} {short[s.source]}: named {s.family}, sounds like {s.audio_family} ({s.audio_confidence:.2f})"
        for s in found[:SKIPPED_SHOWN]
    ]
    return lines + ([f"… and {len(found) - SKIPPED_SHOWN} more"] if len(found) > SKIPPED_SHOWN else [])


def short_names(sources: list[str]) -> dict[str, str]:
    """The shortest end of every source path that no other source path ends with.

    >>> short_names(["/kits/808/CB.WAV", "/kits/909/CB.WAV", "/kits/909/BD.WAV"])
    {'/kits/808/CB.WAV': '808/CB.WAV', '/kits/909/CB.WAV': '909/CB.WAV', '/kits/909/BD.WAV': 'BD.WAV'}
    """
    parts = {source: Path(source).parts for source in dict.fromkeys(sources)}
    names: dict[str, str] = {}
    left = list(parts)
    depth = 1
    while left:
        ends = Counter(parts[source][-depth:] for source in left)
        for source in left:
            if ends[parts[source][-depth:]] == 1 or depth >= len(parts[source]):
                names[source] = str(Path(*parts[source][-depth:]))
        left = [source for source in left if source not in names]
        depth += 1
    return {source: names[source] for source in parts}


def cluster_table(entry: Bank, *, strudel: bool = False) -> Table:
    """One row per cluster, grouped by family: id, label, n range, size, confidence,
    members (the medoid first, starred), a Tidal (with ``strudel``, Strudel) line."""
    name = entry.name
    title = f"bank {name}: {len(entry.samples)} samples in {len(entry.clusters)} clusters (*n: the most typical member)"
    table = Table(title=title, title_justify="left")
    labelled = any(c.label for c in entry.clusters)
    sure = any(s.confidence is not None for s in entry.samples)
    widths = {"label": 8, "n": 9, "members": 24}
    columns = ["id", *(["label"] if labelled else []), "n", "size", *(["conf"] if sure else []), "members", "play it"]
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column == "play it", min_width=widths.get(column))
    samples = {(s.folder, s.n): s for s in entry.samples}
    short = short_names([s.source for s in entry.samples])
    previous = None
    for c in entry.clusters:
        if previous is not None and c.family != previous:
            table.add_section()
        previous = c.family
        folder, start, stop = c.folder, c.start, c.stop
        rep = samples[(folder, c.representative)]
        members = [samples[(folder, n)] for n in range(start, stop)]
        others = [s for s in members if s.n != rep.n]
        shown = f"*{rep.n} {short[rep.source]}" + "".join(f", {short[s.source]}" for s in others[: MEMBERS_SHOWN - 1])
        shown += f", … +{len(others) - MEMBERS_SHOWN + 1}" if len(others) >= MEMBERS_SHOWN else ""
        where = f"{start}..{stop - 1}" if folder == name else f"{folder}:{start}..{stop - 1}"
        table.add_row(
            str(c.id),
            *([c.label or ""] if labelled else []),
            where,
            str(c.size),
            *([_confidence(members)] if sure else []),
            escape(shown),  # file names may hold [brackets]
            tidal_line(folder, start, stop, strudel=strudel),
        )
    return table


def problem_lines(problems: Sequence[Problem]) -> list[str]:
    """One line per file (the first :data:`SKIPPED_SHOWN`), then counts by reason."""
    lines = [f"{s.source}: {s.reason}" for s in problems[:SKIPPED_SHOWN]]
    rest = Counter(s.reason for s in problems[SKIPPED_SHOWN:])
    lines += [f"… and {count} more: {reason}" for reason, count in rest.most_common()]
    return lines


def duplicates_heading(entry: Bank) -> str:
    """How many sets of files with the same bytes the bank's sources hold, and what became of them."""
    sets = entry.duplicates or ()
    extra = sum(len(paths) - 1 for paths in sets)
    fate = (
        f"{extra} later copies left out (--dedupe)"
        if entry.settings.dedupe
        else f"{extra} extra file(s) sorted too; sort --dedupe keeps the first of each"
    )
    return f"exact duplicates (same bytes): {len(sets)} set(s), {fate}"


def duplicate_lines(entry: Bank) -> list[str]:
    """One line per set of duplicates (the first :data:`SKIPPED_SHOWN`): where each copy plays, or that it was left out."""
    sets = entry.duplicates or ()
    places = {s.source: f"{s.folder}:{s.n}" for s in entry.samples}
    short = short_names([*places, *(path for paths in sets for path in paths)])
    lines = [
        " = ".join(f"{places[path]} {short[path]}" if path in places else f"{short[path]} (left out)" for path in paths)
        for paths in sets[:SKIPPED_SHOWN]
    ]
    if len(sets) > SKIPPED_SHOWN:
        lines.append(f"… and {len(sets) - SKIPPED_SHOWN} more sets")
    return lines


def folders_line(entry: Bank, root: Path) -> str:
    """The bank's folders: the one, or the first and last in bank order and how many."""
    folders = list(dict.fromkeys(c.folder for c in entry.clusters))  # bank order: NAME-9 before NAME-10
    if len(folders) == 1:
        return str(root / folders[0])
    return f"{root / folders[0]} … {folders[-1]} ({len(folders)} folders)"


def print_report(entry: Bank, root: Path, console: Console, done: str | None = None, *, strudel: bool = False) -> None:
    """Print the family and cluster tables, the skipped files and where things are.

    ``done`` says what the run did to the folders (``"written"``, ``"up to date, nothing
    written"``); None (reporting on a bank sorted before) only says where they are. With
    ``strudel`` the lines that play are Strudel's.
    """
    families = family_table(entry, strudel=strudel)
    if families is not None:
        console.print(families)
    for line in bank_lines(entry, strudel=strudel):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(cluster_table(entry, strudel=strudel))
    for problems, heading in ((entry.skipped, "skipped"), (entry.warnings, "sorted, with a warning")):
        if problems:
            console.print(f"[bold yellow]{heading}: {len(problems)} file(s)[/]")
            for line in problem_lines(problems):
                console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    disagreeing = disagreement_lines(entry)
    if disagreeing:
        console.print(
            f"[bold yellow]name and sound disagree: {len(disagreements(entry))} file(s); the name decided (tidalsort set SAMPLE FAMILY to change one)[/]"
        )
        for line in disagreeing:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    sets = entry.duplicates or ()
    if sets:
        console.print(f"[bold yellow]{duplicates_heading(entry)}[/]")
        for line in duplicate_lines(entry):
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"{done or 'folders'}: {folders_line(entry, root)}", markup=False, highlight=False, soft_wrap=True)
    console.print(f'in SuperCollider: ~dirt.loadSoundFiles("{root}/*");', markup=False, highlight=False, soft_wrap=True)


def neighbour_table(query: str, neighbours: list[Any], family: tuple[str, float] | None = None) -> Table:
    """The answers of ``tidalsort similar``: rank, ``bank:n``, distance, cluster, family and confidence, source.

    ``family`` is the query's own family and confidence, when it is a sound file.
    """
    title = f"sounds like {query}" + (f" (itself {family[0]}, {family[1]:.2f})" if family else "")
    table = Table(title=escape(title), title_justify="left")
    for column in ("#", "bank:n", "distance", "cluster", "family", "source"):
        table.add_column(column, overflow="fold", no_wrap=column == "bank:n")
    for rank, nb in enumerate(neighbours, 1):
        cluster = f"{nb.cluster} {nb.label}" if nb.label else str(nb.cluster)
        family_cell = (
            " ".join(x for x in (nb.family, f"{nb.confidence:.2f}" if nb.confidence is not None else None, nb.family_from) if x)
            if nb.family is not None
            else ""
        )
        table.add_row(str(rank), ", ".join([nb.ref, *nb.also]), f"{nb.distance:.3f}", cluster, family_cell, escape(nb.source))
    return table


def neighbour_line(neighbours: list[Any]) -> str | None:
    """A Tidal line that plays the answers of the most represented folder, nearest first."""
    if not neighbours:
        return None
    folder = Counter(nb.ref.rpartition(":")[0] for nb in neighbours).most_common(1)[0][0]
    ns = [nb.ref.rpartition(":")[2] for nb in neighbours if nb.ref.rpartition(":")[0] == folder]
    return f'd1 $ s "{folder}*{len(ns)}" # n "{" ".join(ns)}"'
