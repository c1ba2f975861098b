"""The ten instrument families, their order in a bank and their names in other tools.

A family is what a sound *is* (kick, snare, ...), as the model of
:mod:`tidalsort.families.model` predicts it from the audio. Banks open with the kicks and end with
the effects, in the order of :data:`FAMILIES`. Cluster labels are a family's name,
numbered within the family in bank order (``kick``, ``kick-2``, ...), so the Tidal helpers
find a family from the labels alone.

>>> family_of_label("hihat_open-3")
'hihat_open'
>>> numbered(["kick", "kick", "snare", "kick"])
['kick', 'kick-2', 'snare', 'kick-3']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

#: The families, in bank order; also the classes of the model.
FAMILIES: tuple[str, ...] = ("kick", "snare", "clap", "rim", "tom", "hihat_closed", "hihat_open", "cymbal", "perc", "other")
#: Folder suffix of every family with ``--layout families`` (``<bank>_<abbr>``): the
#: abbreviations of tidal-drum-machines and Strudel's drum-machine banks where one names
#: the whole family. Toms have no single abbreviation there (``lt``/``mt``/``ht``), so
#: they get ``tom``; crashes and rides (``cr``/``rd``) share ``cr``; effects are ``fx``.
ABBREVIATIONS: dict[str, str] = {
    "kick": "bd",
    "snare": "sd",
    "clap": "cp",
    "rim": "rim",
    "tom": "tom",
    "hihat_closed": "hh",
    "hihat_open": "oh",
    "cymbal": "cr",
    "perc": "perc",
    "other": "fx",
}
_NUMBERED = re.compile(r"-[0-9]+$")


def family_of_label(label: str) -> str:
    """The family a cluster label belongs to: the label without a trailing ``-<digits>``."""
    return _NUMBERED.sub("", label)


def numbered(families: Sequence[str]) -> list[str]:
    """Cluster labels for clusters of the given families, in bank order.

    The first cluster of a family is labelled with the family's name, the next ones
    ``<family>-2``, ``<family>-3``, ...
    """
    seen: Counter[str] = Counter()
    labels = []
    for family in families:
        seen[family] += 1
        labels.append(family if seen[family] == 1 else f"{family}-{seen[family]}")
    return labels


def family_rank(family: str) -> int:
    """Position of ``family`` in bank order (:data:`FAMILIES`)."""
    return FAMILIES.index(family)
