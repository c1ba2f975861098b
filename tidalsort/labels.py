"""Short labels for clusters: from what their members' file names say, else from their sound.

Used for the report, the manifest and the Tidal helpers (pick a cluster by label); the
quality evaluation never reads them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Sequence

#: File-name token -> instrument label.
TOKENS: dict[str, str] = {
    **dict.fromkeys(["kick", "kik", "kck", "bd", "bassdrum", "bass_drum"], "kick"),
    **dict.fromkeys(["snare", "snr", "sd", "sn", "snares"], "snare"),
    **dict.fromkeys(["hat", "hats", "hh", "hihat", "ch", "closedhh", "closedhat", "chh"], "hat"),
    **dict.fromkeys(["oh", "ohh", "openhh", "openhat", "ohat"], "open-hat"),
    **dict.fromkeys(["tom", "toms", "lt", "mt", "ht", "tm", "floortom"], "tom"),
    **dict.fromkeys(["clap", "claps", "cp", "handclap"], "clap"),
    **dict.fromkeys(["crash", "ride", "cymbal", "cym", "cy", "cr", "rd", "china", "splash"], "cymbal"),
    **dict.fromkeys(["rim", "rimshot", "rs", "stick", "sidestick"], "rim"),
    **dict.fromkeys(["perc", "cowbell", "cb", "conga", "bongo", "shaker", "shake", "tamb", "tambourine", "cabasa", "clave", "block", "triangle"], "perc"),
}
#: Share of a cluster's members that must agree on a name label.
AGREEMENT = 0.6
_SPLIT = re.compile(r"[^a-z]+")
_WORDS = sorted((t for t in TOKENS if len(t) >= 4), key=len, reverse=True)


def name_label(source: str | Path) -> str | None:
    """Instrument named by the file name or its folder's name, if any (``"Kick 03.wav"`` -> ``"kick"``)."""
    path = Path(source)
    for text in (path.stem, path.parent.name):
        text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()
        tokens = [t for t in _SPLIT.split(text) if t]
        for token in tokens:
            if token in TOKENS:
                return TOKENS[token]
        for token in tokens:
            for word in _WORDS:
                if word in token:
                    return TOKENS[word]
    return None


def sound_label(centroid_hz: float, duration: float) -> str:
    """Label from the sound: brightness (``low``/``mid``/``bright``) and length (``short``/``long``)."""
    tone = "low" if centroid_hz < 600 else "mid" if centroid_hz < 3000 else "bright"
    length = "short" if duration < 0.3 else "long" if duration >= 1.0 else ""
    return f"{tone}-{length}" if length else tone


def cluster_label(sources: Sequence[str | Path], centroids: Sequence[float], durations: Sequence[float]) -> str:
    """Label of one cluster: the name label most members agree on, else the median sound's."""
    votes = Counter(name_label(s) for s in sources)
    label, count = max(votes.items(), key=lambda item: (item[0] is not None, item[1]))
    if label is not None and count >= AGREEMENT * len(sources):
        return label
    middle = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    return sound_label(middle(centroids), middle(durations))


def unique(labels: Sequence[str]) -> list[str]:
    """Make repeated labels distinct: ``kick, kick`` -> ``kick, kick-2``."""
    seen: Counter[str] = Counter()
    result = []
    for label in labels:
        seen[label] += 1
        result.append(label if seen[label] == 1 else f"{label}-{seen[label]}")
    return result
