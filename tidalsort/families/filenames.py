"""What file and folder names say a sound is: evidence for its family.

A sort reads names by default (``tidalsort sort --names off`` hears the audio only): a file
whose name or folder names an instrument (``Kick 03.wav``, ``bd/BT0A0A7.wav``,
``Hat Open.wav``) has that family, whatever the audio model hears (see
:func:`tidalsort.pipeline.name_families` for the measurement that decided it).

How a name is read
------------------
1. **Words.** The name is cut at camelCase, digits, ``_``, ``-``, spaces and dots
   (``DR110CHT`` -> ``dr 110 cht``, ``HiHat Open`` -> ``hi hat open``). A word the
   :data:`WORDS` table does not know is split into words it knows (``closedhh`` ->
   ``closed hh``, ``brushhitom`` -> ``brush hi tom``, ``Snaredrum`` -> ``snare drum``); where a
   word cannot be split entirely (``cymbalgrab``, ``clubkick``), only known words of four
   letters or more count, with short ones right next to them. Short codes (``bd``, ``oh``,
   ``cp``, ...) therefore count only as whole words: ``hchit`` holds no ``hc``.
2. **Phrases** before single words (:data:`PHRASES`): ``bass drum`` is a kick where ``bass``
   alone is not a drum, ``hi hat``, ``side stick``, ``hand clap``, ``ride bell``, ``cl hat``.
3. **One family or none.** Every word's family is a set (:data:`KINDS`): ``hat`` is either
   hi-hat, ``cymbal`` is a cymbal or a hi-hat (a hi-hat is a pair of cymbals; the Yamaha
   RM50 names its hats ``CYMBAL_nnn``). The name's family is what all its drum words agree
   on; ``open`` and ``closed``/``pedal``/``foot`` settle a hi-hat in any order (``Hat
   Open``, ``open_hihat``). Words of two different drums (``kick snare layer.wav``, the
   Sequential Tom's ``Tom Clap.wav``) name no single family: the name is **no evidence**,
   even if its folder names one of them, because nothing says which. Words for sounds that
   are not drums (``piano``, ``bass``, ``fx``, ``vox``, ...) name ``other``, but only where
   no drum word is there: ``Kick FX``, ``Synth Cymbal`` and ``Snare Stab`` are drums with a
   description. Words that name no family (``misc``, ``kit``, ``drum``, ``hit``, ``one
   shot``, numbers) are no evidence.
4. **The 808's codes.** In a file or folder name holding ``808`` (Dirt-Samples' ``808hc``,
   oramics' ``02.HC.808.wav``) ``hc``/``mc``/``lc`` are the TR-808's high, mid and low
   congas, ``ma`` maracas and ``cl`` claves; elsewhere ``hc``/``ho`` are Dirt-Samples'
   closed and open hats and ``ma``/``mc``/``lc``/``cl`` name nothing.
5. **The file name before the folder's.** The folder decides only where the file name is
   no evidence (``bd/BT0A0A7.wav``), or where it says more about the same family (``oh/
   Hat 1.wav`` is an open hat, ``yamaharm50-hh/CYMBAL_001.wav`` a closed one), or where the
   file name names only a non-drum (``yamaharm50-cp/FX_059.wav`` is a clap: the person who
   sorted the folder said more than the ROM's category). A file name that names another
   drum wins (``bd/Snare.wav`` is a snare).
6. **Kit folders.** A file named after its folder and a number, then more words
   of three letters or more (Dirt-Samples' ``hh/hh3kick1.wav``, ``hh27/hh27closedhh.wav``),
   sits in a *kit* named like a family: the folder is no evidence and the prefix is not
   read (``hh3kick1`` -> kick, ``hh3hit1`` -> no evidence). ``bd/bd01.wav`` and
   ``ht/HT0D7.wav`` are not kits: no word follows the number.

Only the file's own folder is read, not the folders above it. The table lists the
abbreviations of tidal-drum-machines' folders (``bd sd cp rim lt mt ht hh oh cr rd cb
perc sh tb misc fx``) and of Dirt-Samples (``sn``, ``hc``, ``ho``, ``808oh``, ``808cy``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .taxonomy import FAMILIES

_HATS = frozenset({"hihat_closed", "hihat_open"})
#: What a word of the table can name: a family, or a set of families a more precise word
#: may narrow (``hihat``: either hat, closed unless said open; ``metal``: a cymbal or a
#: hi-hat, a cymbal unless said otherwise).
KINDS: dict[str, frozenset[str]] = {
    **{family: frozenset({family}) for family in FAMILIES},
    "hihat": _HATS,
    "metal": _HATS | {"cymbal"},
}
#: Words that settle a hi-hat, in whatever order they come (``Hat Open``, ``open_hihat``).
MODIFIERS: dict[str, str] = {
    **dict.fromkeys(["open", "opened", "opn"], "hihat_open"),
    **dict.fromkeys(["closed", "close", "pedal", "ped", "foot"], "hihat_closed"),
}
#: Words that name no family but are known, so that they split compound words
#: (``brushhitom``) and do not count as unknown: drum descriptions, kit words, pitches.
NO_EVIDENCE: frozenset[str] = frozenset(
    "misc kit kits drum drums hit hits one shot oneshot sample samples dr loop "
    "hi high lo low mid med side hand floor cow wood cross bell "
    "brush ghost hard soft roll flam accent ambient room dry wet short long "
    "acoustic electric analog digital vintage layer layered reverb verb tape".split()
)
#: Word -> kind (a family or a key of :data:`KINDS`). Abbreviations of two or three letters
#: count only as whole words (see the module's notes).
WORDS: dict[str, str] = {
    # kick: tidal-drum-machines and Dirt-Samples bd; DR-110's KIK
    **dict.fromkeys(["kick", "kik", "kck", "bd", "bassdrum", "kickdrum"], "kick"),
    # snare: sd (tidal-drum-machines), sn (Dirt-Samples), DR-110's SNR
    **dict.fromkeys(["snare", "snr", "sd", "sn"], "snare"),
    **dict.fromkeys(["clap", "cp", "clp", "handclap", "clapper"], "clap"),
    # rim: rimshots, side and cross sticks; rs (Dirt-Samples, 808)
    **dict.fromkeys(["rim", "rimshot", "rs", "stick", "sidestick", "crossstick"], "rim"),
    # tom: tidal-drum-machines' lt/mt/ht (low, mid, high tom)
    **dict.fromkeys(["tom", "tomtom", "lt", "mt", "ht", "floortom"], "tom"),
    # hats: hh (either, closed unless said open), ch/chh/cht closed, oh/ohh/oht open;
    # Dirt-Samples' folders hc (hat closed) and ho (hat open); phh a pedal hat
    **dict.fromkeys(["hat", "hihat", "hh", "hhat"], "hihat"),
    **dict.fromkeys(["ch", "chh", "cht", "hc", "phh", "closedhat", "closedhh"], "hihat_closed"),
    **dict.fromkeys(["oh", "ohh", "oht", "ho", "openhat", "openhh"], "hihat_open"),
    # cymbals: cr (tidal-drum-machines crashes; Dirt-Samples' cr holds rides), rd, cy (808)
    **dict.fromkeys(["cymbal", "cym"], "metal"),
    **dict.fromkeys(["crash", "ride", "cr", "rd", "cy", "china", "splash", "sizzle"], "cymbal"),
    # percussion: cb cowbell, sh shaker, tb tambourine, perc (tidal-drum-machines)
    **dict.fromkeys(
        "perc percussion cb cowbell sh shaker shake shk tb tamb tambourine tamborine "
        "conga tumba quinto bongo timbale timbal timbales cabasa clave claves block woodblock "
        "triangle agogo guiro maraca maracas cuica whistle vibraslap tabla djembe cajon "
        "surdo udu chime chimes castanet castanets".split(),
        "perc",
    ),
    # sounds that are not drums: effects and other instruments
    **dict.fromkeys(
        "fx sfx noise riser sweep whoosh impact laser scratch vox vocal voice "
        "stab piano keys organ bass guitar string strings pad chord lead arp synth "
        "brass horn flute".split(),
        "other",
    ),
    **dict.fromkeys(MODIFIERS, "modifier"),
    **dict.fromkeys(NO_EVIDENCE, "none"),
}
#: Two words that mean more together than apart -> the word they make.
PHRASES: dict[tuple[str, str], str] = {
    ("bass", "drum"): "kick",
    ("kick", "drum"): "kick",
    ("snare", "drum"): "snare",
    ("hi", "hat"): "hihat",
    ("high", "hat"): "hihat",
    ("cl", "hat"): "closedhat",  # the DX drum machine's Cl Hat
    ("side", "stick"): "rim",
    ("cross", "stick"): "rim",
    ("rim", "shot"): "rim",
    ("hand", "clap"): "clap",
    ("floor", "tom"): "tom",
    ("ride", "bell"): "cymbal",
    ("cow", "bell"): "cowbell",
    ("wood", "block"): "block",
    ("one", "shot"): "oneshot",
}
#: The TR-808's own codes where a name says ``808``: congas (high, mid, low), maracas, claves.
CODES_808: dict[str, str] = dict.fromkeys(["hc", "mc", "lc", "ma", "cl"], "perc")
#: Unknown whole words kept for :data:`PHRASES` and :data:`CODES_808`.
_LOOSE = frozenset(word for pair in PHRASES for word in pair) | frozenset(CODES_808)
#: Pieces of two letters a compound word may be split into (``brushhitom``, ``closedhh``).
_SHORT_PIECES = frozenset({"hi", "lo", "hh"})
_INDEX = re.compile(r"^\d+[_\- .]*")  # a leading "000_", as Dirt-Samples numbers its files
_WORD_START = re.compile(r"[A-Za-z]{3}")
_CAMEL = re.compile(r"([a-z])([A-Z])")  # HiHat -> Hi Hat
_CAMEL_HEAD = re.compile(r"([A-Z]+)([A-Z][a-z])")  # DXShaker -> DX Shaker
_TOKEN = re.compile(r"[a-z]+|[0-9]+")


@dataclass(frozen=True)
class Reading:
    """What one name (a file's stem or a folder's name) says: the families it allows.

    ``families`` is empty when the name's words name two different drums.
    """

    families: frozenset[str]

    @property
    def family(self) -> str | None:
        """The one family read: a single one, else a cymbal (of ``metal``) or a closed hat
        (of ``hihat``); ``None`` for a conflict."""
        if len(self.families) == 1:
            return next(iter(self.families))
        for family in ("cymbal", "hihat_closed"):
            if family in self.families:
                return family
        return None


def _kind(word: str) -> str | None:
    """Kind of a word of the table, allowing a plural ``s`` (``kicks``, ``toms``)."""
    if word in WORDS:
        return WORDS[word]
    if len(word) > 3 and word.endswith("s") and word[:-1] in WORDS:
        return WORDS[word[:-1]]
    return None


@functools.lru_cache(maxsize=8192)  # a library repeats its words: split each once
def _split(token: str) -> list[str]:
    """A token as known words: itself, or the known words a compound splits into."""
    if _kind(token) is not None or token in _LOOSE:
        return [token]
    n = len(token)
    # best[i]: (characters covered by known words, -pieces, pieces) of token[:i]
    empty: list[tuple[str, bool]] = []
    best: list[tuple[int, int, list[tuple[str, bool]]]] = [(0, 0, empty)] + [(-1, 0, empty)] * n
    for i in range(n):
        covered, pieces, parts = best[i]
        options = [(i + 1, (token[i], False), 0)]
        for j in range(i + 2, n + 1):
            piece = token[i:j]
            if _kind(piece) is not None and (len(piece) >= 3 or piece in _SHORT_PIECES):
                options.append((j, (piece, True), len(piece)))
        for j, part, gain in options:
            candidate = (covered + gain, pieces - 1, parts + [part])
            if candidate[:2] > best[j][:2]:
                best[j] = candidate
    covered, _, parts = best[n]
    if covered == n:
        return [piece for piece, _ in parts]
    words: list[str] = []
    run: list[str] = []
    for piece, known in parts + [("", False)]:
        if known:
            run.append(piece)
            continue
        if any(len(p) >= 4 for p in run):  # short words count next to a long one only
            words += run
        run = []
    return words


def words(text: str) -> list[str]:
    """The known words of a name, phrases joined (``"HiHat Open"`` -> ``["hihat", "open"]``)."""
    text = _CAMEL_HEAD.sub(r"\1 \2", _CAMEL.sub(r"\1 \2", text)).lower()
    tokens = _TOKEN.findall(text)
    found = [w for token in tokens for w in ([token] if token.isdigit() else _split(token))]
    joined: list[str] = []
    i = 0
    while i < len(found):
        pair = tuple(found[i : i + 2])
        if pair in PHRASES:
            joined.append(PHRASES[pair])
            i += 2
        else:
            joined.append(found[i])
            i += 1
    return joined


@functools.lru_cache(maxsize=8192)  # every file of a folder reads the folder's name
def read_name(text: str, *, is_808: bool = False) -> Reading | None:
    """The families one name allows; ``None`` when it is no evidence.

    >>> read_name("Hat Open").family, read_name("open_hihat").family, read_name("drum hit")
    ('hihat_open', 'hihat_open', None)
    >>> read_name("kick snare layer").family is None   # two drums: no single family
    True
    """
    allowed: frozenset[str] | None = None
    other = False
    modifiers: set[str] = set()
    for word in words(text):
        kind = CODES_808.get(word) if is_808 and word in CODES_808 else _kind(word)
        if kind == "modifier":
            modifiers.add(MODIFIERS[word])
        elif kind == "other":
            other = True
        elif kind in KINDS:
            allowed = KINDS[kind] if allowed is None else allowed & KINDS[kind]
    if allowed is None:
        return Reading(KINDS["other"]) if other else None
    if allowed <= _HATS and modifiers:
        allowed = allowed & frozenset(modifiers)
    return Reading(allowed)


def _kit_prefix(stem: str, folder: str) -> str | None:
    """The file name after its folder's name and a number when the folder is a kit's name.

    ``hh3kick1`` in ``hh/`` -> ``kick1``; ``bd01`` in ``bd/`` -> ``None`` (no word follows),
    nor ``HT0D7`` in ``ht/`` (a TR-909 code, tune 0 and decay 7: a word has three letters or more).
    """
    stem = _INDEX.sub("", stem)
    if not folder or not stem.lower().startswith(folder.lower()):
        return None
    rest = stem[len(folder) :]
    words = rest.lstrip("0123456789")
    if not (len(words) < len(rest) or folder[-1].isdigit()) or not _WORD_START.match(words):
        return None
    return words


def name_family(source: str | Path) -> str | None:
    """The family the file name or its folder's name names, if any (see the module's notes).

    >>> name_family("/x/Open Hat.wav"), name_family("/lib/bd/BT0A0A7.wav"), name_family("/x/hh/hh3kick1.wav")
    ('hihat_open', 'kick', 'kick')
    >>> name_family("/x/Slap Bass.wav"), name_family("/x/808 misc 3.wav")
    ('other', None)
    """
    path = source if isinstance(source, Path) else Path(source)
    stem, folder = path.stem, path.parent.name
    rest = _kit_prefix(stem, folder)
    if rest is not None:
        stem, folder = rest, ""
    is_808 = "808" in re.findall(r"[0-9]+", f"{stem} {folder}")
    own = read_name(stem, is_808=is_808)
    if own is not None and not own.families:
        return None  # two drums in the file name
    around = read_name(folder, is_808=is_808) if folder else None
    if around is None or not around.families:
        return own.family if own is not None else None
    if own is None or own.families == KINDS["other"]:
        return around.family
    both = own.families & around.families
    return Reading(both).family if both else own.family
