"""Every "play it" line of the report names sounds that exist and n values they hold, in every layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tidalsort.cli import main
from tidalsort.output.manifest import bank_entries
from tidalsort.output.report import cluster_table, family_table

#: ``s "folder" # n N``, ``n (irand N)`` or ``n (irand N + START)`` in a plain Tidal line.
PLAIN = re.compile(r's "([^"]+)" # n (?:\(irand (\d+)(?: \+ (\d+))?\)|(\d+))')


def plays(line: str, root: Path) -> list[tuple[str, range]]:
    """(folder, n values) of every plain pick in ``line``, checked against the folders on disk."""
    picks = []
    for folder, size, start, single in PLAIN.findall(line):
        ns = range(int(single), int(single) + 1) if single else range(int(start or 0), int(start or 0) + int(size))
        files = sorted(p for p in (root / folder).iterdir() if not p.name.startswith("."))
        assert ns.stop <= len(files), f"{line}: n {ns} beyond the {len(files)} files of {folder}"
        picks.append((folder, ns))
    return picks


@pytest.mark.parametrize("layout", ["bank", "split", "families"])
def test_every_family_and_cluster_line_plays_existing_samples_of_that_family(kit: Path, tmp_path: Path, layout: str) -> None:
    root = tmp_path / "out"
    assert main(["sort", str(kit), "--out", str(root), "--bank", "mixs", "--layout", layout, "--clusters", "6", "--no-dendrogram"]) == 0
    [entry] = bank_entries(root)
    family_of = {(s.folder, s.n): s.family for s in entry.samples}
    table = family_table(entry)
    assert table is not None
    families, lines = table.columns[0]._cells, table.columns[-1]._cells
    for family, line in zip(families, lines):
        if "tsFamRand" in line:  # the helpers: only where the bank is one folder
            assert layout == "bank" and f's "{entry.name}"' in line
            continue
        picks = plays(line, root)
        assert picks and all(family_of[(folder, n)] == family for folder, ns in picks for n in ns), line
    for line in cluster_table(entry).columns[-1]._cells:
        assert plays(line, root)
