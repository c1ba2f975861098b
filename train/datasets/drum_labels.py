"""Label tables of the Debian drum data: which family a General MIDI key, a Hydrogen instrument or a sample file is.

Pure functions of names; :mod:`build` applies them. Every function returns a family of
:data:`tidalsort.families.taxonomy.FAMILIES`, or ``None`` when the name does not say
clearly one family (the builder leaves such sounds out and counts them). The tables are
the documentation: a name that is not in them is left out, never guessed.

>>> gm_drum_family(36, program=0), gm_drum_family(41, program=48)
('kick', None)
>>> hydrogen_family("Snare Rimshot (Pearl Free Floating Maple 14x3.5)"), hydrogen_family("Hat Semi-Open")
('rim', None)
>>> sample_family("sonic-pi-samples", "bd_haus.flac"), sample_family("lmms-common", "basses/bass01.ogg")
('kick', 'other')
"""

from __future__ import annotations

import re

# --- General MIDI percussion (bank 128, keys of the GM/GS drum map) -----------------------

#: Family of every GM percussion key the drum map names clearly. Keys 27-34 (high Q, slap,
#: scratches, sticks, clicks), 58 (vibraslap), 71/72 (whistles), 84 (bell tree) and 86/87
#: (surdos) are not one family of ours and are left out.
GM_KEYS: dict[int, str] = {
    35: "kick", 36: "kick",
    37: "rim",
    38: "snare", 40: "snare",
    39: "clap",
    41: "tom", 43: "tom", 45: "tom", 47: "tom", 48: "tom", 50: "tom",
    42: "hihat_closed", 44: "hihat_closed",
    46: "hihat_open",
    49: "cymbal", 51: "cymbal", 52: "cymbal", 53: "cymbal", 55: "cymbal", 57: "cymbal", 59: "cymbal",
    54: "perc", 56: "perc", 60: "perc", 61: "perc", 62: "perc", 63: "perc", 64: "perc", 65: "perc",
    66: "perc", 67: "perc", 68: "perc", 69: "perc", 70: "perc", 73: "perc", 74: "perc", 75: "perc",
    76: "perc", 77: "perc", 78: "perc", 79: "perc", 80: "perc", 81: "perc", 82: "perc", 83: "perc",
    85: "perc",
}  # fmt: skip
#: Percussion programs of the GM/GS drum sets (standard, room, power, electronic, TR-808,
#: jazz, brush, orchestra and their variations). Other percussion presets (marching
#: kits, metronomes) do not follow the GM map: they are left out, but for the marching
#: kits' rims (:func:`marching_family`). The orchestra kit plays
#: timpani on keys 41-53; a preset named "SFX" (GS program 56) holds sound effects, which
#: are ``other`` from key 47 up (below it: clicks and scratches, left out).
GM_DRUM_PROGRAMS = frozenset({*range(20), 24, 25, *range(32, 37), 40, 41, 42, 48})
ORCHESTRA_PROGRAM, SFX_NAME = 48, "SFX"
#: Melodic GM programs that are drums or drum-like (47 timpani, 112-119 tinkle bell,
#: agogo, steel drums, woodblock, taiko, melodic tom, synth drum, reverse cymbal): left
#: out of ``other``. Every other melodic program, played as one note, is ``other``.
DRUM_LIKE_PROGRAMS = frozenset({47, *range(112, 120)})


def gm_drum_family(key: int, *, program: int, name: str = "") -> str | None:
    """Family of MIDI ``key`` played on the percussion preset ``program`` called ``name`` (bank 128)."""
    if name.strip().upper() == SFX_NAME:
        return "other" if 47 <= key <= 84 else None
    if program not in GM_DRUM_PROGRAMS or program == ORCHESTRA_PROGRAM and 41 <= key <= 53:
        return None
    return GM_KEYS.get(key)


#: A percussion preset whose name says it is a marching kit, and the sample names of a
#: marching rim or rimshot (MuseScore's "MSnr-rim shot 3", "MBass-4 rim 2", "MTnr-1 rim 2";
#: FluidR3 Mono's "56_52_SNR_RIMSHOT", "56_53_SNR_RIM").
MARCHING_PRESET = re.compile(r"march", re.IGNORECASE)
MARCHING_RIM_SAMPLE = re.compile(r"(?<![a-z])rim( ?shot)?(?![a-z])", re.IGNORECASE)


def marching_family(samples: tuple[str, ...]) -> str | None:
    """Family of a key of a marching kit, by the names of the ``samples`` it plays (every velocity).

    ``rim`` when every one is a rim or rimshot of a marching snare, tenor or bass drum; any
    other key (hits, stick clicks, stick shots and backsticks, which are stick on stick,
    cymbals, buzzes) is left out: the other families have 100+ sounds without them.
    """
    return "rim" if samples and all(MARCHING_RIM_SAMPLE.search(s) for s in samples) else None


def gm_melodic_family(program: int) -> str | None:
    """Family of one note of melodic GM ``program`` (bank 0): ``other`` unless drum-like."""
    return None if program in DRUM_LIKE_PROGRAMS else "other"


# --- Hydrogen instrument names (drumkit.xml) ----------------------------------------------

#: Ordered rules on a Hydrogen instrument name (lower case); the first that matches decides,
#: ``None`` leaves the instrument out. Half-open and choked hats, rolls, swishes and
#: "free" hats are neither open nor closed; a rimshot is a rim sound even on a snare; a
#: "Bell" alone may be a ride's or a cowbell; zaps are neither drums nor clearly effects.
HYDROGEN_RULES: tuple[tuple[str, str | None], ...] = (
    (r"semi.?open|swish|choke|flink|roll|hat free|whistle|^bell$", None),
    (r"rim ?shot|rim ?click|\brim\b|side ?stick|\bstick\b", "rim"),
    (r"clap", "clap"),
    (r"(\bhh\b|hat).*\b(open|opened|op)\b|\b(open|opened)\b.*(\bhh\b|hat)|\bohh\b", "hihat_open"),
    (r"(\bhh\b|hat).*\b(closed|pedal|cl|pd)\b|\b(closed|pedal)\b.*(\bhh\b|hat)", "hihat_closed"),
    (r"kick|bass ?drum", "kick"),
    (r"snare", "snare"),
    (r"crash|ride|splash|china|cymbal", "cymbal"),
    (r"\btom", "tom"),
    (r"cowbell|tambourine|shaker|conga|bongo|clave|wood ?block|triangle|maraca|agogo|guiro|cabasa|djembe|sangban|dununba|kenkeni|cajon|timbale", "perc"),
    (r"^fx$", "other"),
)  # fmt: skip
#: Hydrogen kits that are not drums at all: every instrument is ``other``.
HYDROGEN_NOT_DRUMS = frozenset({"belofilms_GuitarStrums"})


def hydrogen_family(name: str, *, kit: str = "") -> str | None:
    """Family of a Hydrogen instrument called ``name`` in ``kit`` (:data:`HYDROGEN_RULES`)."""
    if kit in HYDROGEN_NOT_DRUMS:
        return "other"
    lower = name.lower()
    for pattern, family in HYDROGEN_RULES:
        if re.search(pattern, lower):
            return family
    return None


# --- sample packs (file name prefixes and folders) ----------------------------------------

#: Sonic Pi samples: name prefix -> family, or a table of name tokens for mixed prefixes.
#: ``drum_*`` and ``elec_*`` hold whole kits; an ``elec_*`` bleep, blip or ping is not a
#: drum family and is left out, as are ``glitch_perc*`` (glitches), ``drum_roll`` (a roll)
#: and ``perc_*`` other than bells (snaps, doors, impacts, swooshes, a till).
SONIC_PI_PREFIXES: dict[str, str | None] = {
    "bd": "kick", "sn": "snare", "tabla": "perc",
    "ambi": "other", "bass": "other", "guit": "other", "loop": "other", "vinyl": "other",
    "mehackit": "other", "misc": "other",
}  # fmt: skip
SONIC_PI_TOKENS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "drum": (
        ("roll", None), ("cymbal_closed", "hihat_closed"), ("cymbal_pedal", "hihat_closed"),
        ("cymbal_open", "hihat_open"), ("cymbal", "cymbal"), ("splash", "cymbal"), ("bass", "kick"),
        ("kick", "kick"), ("snare", "snare"), ("tom", "tom"), ("cowbell", "perc"),
    ),
    "elec": (("snare", "snare"), ("kick", "kick"), ("tom", "tom"), ("cymbal", "cymbal"), ("triangle", "perc"), ("wood", "perc")),
    "perc": (("bell", "perc"),),
    "glitch": (("bass", "other"), ("robot", "other")),
}  # fmt: skip
#: LMMS: folders that are not drums (``other``), and name tokens inside ``drums/``
#: (``nasty_bass`` and the ``zap`` sounds are left out: not clearly one family).
LMMS_OTHER_FOLDERS = frozenset({"basses", "stringsnpads", "effects", "instruments", "latin"})
LMMS_DRUM_TOKENS: tuple[tuple[str, str | None], ...] = (
    ("nasty_bass", None), ("zap", None),
    ("hihat_closed", "hihat_closed"), ("hihat_foot", "hihat_closed"), ("hihat_open", "hihat_open"),
    ("sidestick", "rim"), ("rim", "rim"), ("bassdrum", "kick"), ("kick", "kick"), ("snare", "snare"),
    ("clap", "clap"), ("tom", "tom"), ("crash", "cymbal"), ("ride", "cymbal"), ("shaker", "perc"),
    ("clav", "perc"), ("wood", "perc"),
)  # fmt: skip


def _first_token(name: str, table: tuple[tuple[str, str | None], ...]) -> str | None:
    return next((family for token, family in table if token in name), None)


def sample_family(package: str, path: str) -> str | None:
    """Family of a sample file of a sample pack, from its name (``path`` relative to the pack's sample folder)."""
    name = path.rsplit("/", 1)[-1].lower()
    if package == "sonic-pi-samples":
        prefix = name.split("_", 1)[0]
        if prefix in SONIC_PI_TOKENS:
            return _first_token(name, SONIC_PI_TOKENS[prefix])
        return SONIC_PI_PREFIXES.get(prefix)
    if package == "lmms-common":
        folder = path.split("/", 1)[0] if "/" in path else ""
        if folder == "drums":
            return _first_token(name, LMMS_DRUM_TOKENS)
        return "other" if folder in LMMS_OTHER_FOLDERS else None
    return None


# --- LMMS synth presets (rendered by LMMS) ------------------------------------------------

#: LMMS presets of synthesised drums: DrumSynth files (``samples/drumsynth/<kit>/<name>.ds``)
#: and Kicker presets (``presets/Kicker/<name>.xpf``), rendered by :mod:`lmms_presets`. They give
#: the two scarce families only (clap and rim had under 100 sounds with dev + train; every
#: other family has more, so their presets are left out): every preset of the DrumSynth kit
#: ``misc_claps`` is a clap, the others go by the first rule on their name that matches (a
#: name part starts where no letter stands before it: ``experiment`` holds no rim;
#: ``linn_stk`` is the LinnDrum's side stick); ``clappy_snare`` and ``rimmy_noise`` are not
#: clearly one family.
LMMS_SYNTH_CLAP_KITS = frozenset({"misc_claps"})
LMMS_SYNTH_RULES: tuple[tuple[str, str | None], ...] = (
    (r"clappy_snare|(?<![a-z])rimmy", None), (r"clap|(?<![a-z])clp", "clap"), (r"(?<![a-z])(rim|stk)", "rim"),
)  # fmt: skip


def lmms_preset_family(path: str) -> str | None:
    """Family of an LMMS synth preset (``path`` relative to ``/usr/share/lmms``) by :data:`LMMS_SYNTH_RULES`."""
    parts = path.split("/")
    if path.endswith(".ds") and parts[:2] == ["samples", "drumsynth"] and len(parts) == 4:
        if parts[2] in LMMS_SYNTH_CLAP_KITS:
            return "clap"
    elif not (path.endswith(".xpf") and parts[:2] == ["presets", "Kicker"] and len(parts) == 3):
        return None
    name = parts[-1].rsplit(".", 1)[0].lower()
    return next((family for pattern, family in LMMS_SYNTH_RULES if re.search(pattern, name)), None)
