"""Terminal reports of a bank from its manifest entry: what each cluster holds, how to play it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

#: Member names listed per cluster.
MEMBERS_SHOWN = 3
#: Problem files listed one per line before the rest are summarised by reason.
SKIPPED_SHOWN = 20


def tidal_line(folder: str, start: int, stop: int) -> str:
    """A Tidal line that plays random members of the ``n`` range [start, stop) of ``folder``."""
    size = stop - start
    if size == 1:
        pick = str(start)
    elif start == 0:
        pick = f"(irand {size})"
    else:
        pick = f"(irand {size} + {start})"
    return f'd1 $ s "{folder}" # n {pick}'


def cluster_table(entry: dict[str, Any]) -> Table:
    """One row per cluster: id, label, n range, size, members (the medoid first, starred), a Tidal line."""
    name = entry["name"]
    title = f"bank {name}: {len(entry['samples'])} samples in {len(entry['clusters'])} clusters (*n: the most typical member)"
    table = Table(title=title, title_justify="left")
    labelled = any(c.get("label") for c in entry["clusters"])
    widths = {"label": 8, "n": 9, "members": 24}
    for column in ("id", "label", "n", "size", "members", "play it"):
        if column != "label" or labelled:
            table.add_column(column, overflow="fold", no_wrap=column == "play it", min_width=widths.get(column))
    samples = {(s["folder"], s["n"]): s for s in entry["samples"]}
    for c in entry["clusters"]:
        folder, start, stop = c["folder"], c["start"], c["stop"]
        rep = samples[(folder, c["representative"])]
        others = [Path(samples[(folder, n)]["source"]).name for n in range(start, stop) if n != rep["n"]]
        shown = f"*{rep['n']} {Path(rep['source']).name}" + "".join(f", {name}" for name in others[: MEMBERS_SHOWN - 1])
        shown += f", … +{len(others) - MEMBERS_SHOWN + 1}" if len(others) >= MEMBERS_SHOWN else ""
        where = f"{start}..{stop - 1}" if folder == name else f"{folder}:{start}..{stop - 1}"
        table.add_row(
            str(c["id"]),
            *([c.get("label") or ""] if labelled else []),
            where,
            str(c["size"]),
            escape(shown),  # file names may hold [brackets]
            tidal_line(folder, start, stop),
        )
    return table


def problem_lines(problems: list[dict[str, str]]) -> list[str]:
    """One line per file (the first :data:`SKIPPED_SHOWN`), then counts by reason."""
    lines = [f"{s['source']}: {s['reason']}" for s in problems[:SKIPPED_SHOWN]]
    rest = Counter(s["reason"] for s in problems[SKIPPED_SHOWN:])
    lines += [f"… and {count} more: {reason}" for reason, count in rest.most_common()]
    return lines


def print_report(entry: dict[str, Any], root: Path, console: Console) -> None:
    """Print the cluster table, the skipped files and where things are."""
    console.print(cluster_table(entry))
    for key, heading in (("skipped", "skipped"), ("warnings", "sorted, with a warning")):
        problems = entry.get(key) or []
        if problems:
            console.print(f"[bold yellow]{heading}: {len(problems)} file(s)[/]")
            for line in problem_lines(problems):
                console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    folders = sorted({c["folder"] for c in entry["clusters"]})
    console.print(f"written: {root / folders[0]}" + (f" … {folders[-1]}" if len(folders) > 1 else ""), highlight=False, soft_wrap=True)
    console.print(f'in SuperCollider: ~dirt.loadSoundFiles("{root}/*");', markup=False, highlight=False, soft_wrap=True)


def neighbour_table(query: str, neighbours: list[Any]) -> Table:
    """The answers of ``tidalsort similar``: rank, ``bank:n``, distance, cluster, source."""
    table = Table(title=f"sounds like {query}", title_justify="left")
    for column in ("#", "bank:n", "distance", "cluster", "source"):
        table.add_column(column, overflow="fold", no_wrap=column == "bank:n")
    for rank, nb in enumerate(neighbours, 1):
        cluster = f"{nb.cluster} {nb.label}" if nb.label else str(nb.cluster)
        table.add_row(str(rank), nb.ref, f"{nb.distance:.3f}", cluster, escape(nb.source))
    return table


def neighbour_line(neighbours: list[Any]) -> str | None:
    """A Tidal line that plays the answers of the most represented folder, nearest first."""
    if not neighbours:
        return None
    folder = Counter(nb.ref.rpartition(":")[0] for nb in neighbours).most_common(1)[0][0]
    ns = [nb.ref.rpartition(":")[2] for nb in neighbours if nb.ref.rpartition(":")[0] == folder]
    return f'd1 $ s "{folder}*{len(ns)}" # n "{" ".join(ns)}"'
