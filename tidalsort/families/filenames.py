"""What file and folder names say a sound is: evidence for its family, used only when asked.

By default families come from the audio alone (:mod:`tidalsort.families.model`); with
``tidalsort sort --names`` a file whose name or folder names an instrument
(``Kick 03.wav``, ``bd/BT0A0A7.wav``, ``SnareRoll.wav``) gets that family instead.
"""

from __future__ import annotations

import re
from pathlib import Path

#: File-name token -> family.
TOKENS: dict[str, str] = {
    **dict.fromkeys(["kick", "kik", "kck", "bd", "bassdrum", "bass_drum"], "kick"),
    **dict.fromkeys(["snare", "snr", "sd", "sn", "snares"], "snare"),
    **dict.fromkeys(["hat", "hats", "hh", "hihat", "ch", "closedhh", "closedhat", "chh"], "hihat_closed"),
    **dict.fromkeys(["oh", "ohh", "openhh", "openhat", "ohat"], "hihat_open"),
    **dict.fromkeys(["tom", "toms", "lt", "mt", "ht", "tm", "floortom"], "tom"),
    **dict.fromkeys(["clap", "claps", "cp", "handclap"], "clap"),
    **dict.fromkeys(["crash", "ride", "cymbal", "cym", "cy", "cr", "rd", "china", "splash"], "cymbal"),
    **dict.fromkeys(["rim", "rimshot", "rs", "stick", "sidestick"], "rim"),
    **dict.fromkeys(["perc", "cowbell", "cb", "conga", "bongo", "shaker", "shake", "tamb", "tambourine", "cabasa", "clave", "block", "triangle"], "perc"),
    **dict.fromkeys(["fx", "sfx", "noise", "riser", "sweep", "vox", "vocal", "stab"], "other"),
}
_SPLIT = re.compile(r"[^a-z]+")
_WORDS = sorted((t for t in TOKENS if len(t) >= 4), key=len, reverse=True)


def name_family(source: str | Path) -> str | None:
    """The family named by the file name or its folder's name, if any.

    Whole tokens are looked up first (``"Kick 03.wav"``, ``"hh/x.wav"``), then words of
    four letters or more inside tokens (``"000_hh3closedhh.wav"``); the file name is read
    before its folder's.

    >>> name_family("/x/Kick 03.wav"), name_family("/x/openhat_2.aif"), name_family("/x/zap.wav")
    ('kick', 'hihat_open', None)
    """
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
