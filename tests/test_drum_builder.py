"""The Debian drum-pool builder (train/datasets): its label tables and its duplicate detection.

No network, no apt: the tables are pure functions of names, and the duplicates are of
audio generated here and written with soundfile.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "train" / "datasets"))

import dedupe
from drum_labels import (
    gm_drum_family,
    gm_melodic_family,
    hydrogen_family,
    sample_family,
)
from soundfont import Note, midi_file

from tidalsort.families.taxonomy import FAMILIES

RATE = 44100


@pytest.mark.parametrize(
    ("key", "program", "name", "family"),
    [
        (36, 0, "Standard", "kick"), (35, 25, "TR-808", "kick"), (37, 0, "Standard", "rim"), (38, 8, "Room", "snare"),
        (39, 0, "Standard", "clap"), (41, 0, "Standard", "tom"), (50, 32, "Jazz", "tom"), (42, 0, "Standard", "hihat_closed"),
        (44, 0, "Standard", "hihat_closed"), (46, 0, "Standard", "hihat_open"), (49, 0, "Standard", "cymbal"),
        (51, 0, "Standard", "cymbal"), (53, 0, "Standard", "cymbal"), (56, 0, "Standard", "perc"), (63, 0, "Standard", "perc"),
        (31, 0, "Standard", None), (71, 0, "Standard", None), (86, 0, "Standard", None),  # sticks, whistle, surdo
        (45, 48, "Orchestra Kit", None), (38, 48, "Orchestra Kit", "snare"),  # timpani on the orchestra kit's tom keys
        (60, 56, "SFX", "other"), (40, 56, "SFX", None), (38, 56, "MarchingSnare", None), (36, 55, "Metronome", None),
    ],
)  # fmt: skip
def test_gm_percussion_keys_map_to_families(key: int, program: int, name: str, family: str | None) -> None:
    assert gm_drum_family(key, program=program, name=name) == family


def test_melodic_presets_are_other_unless_drum_like() -> None:
    assert gm_melodic_family(0) == gm_melodic_family(33) == gm_melodic_family(55) == gm_melodic_family(120) == "other"
    assert gm_melodic_family(47) is None and all(gm_melodic_family(p) is None for p in range(112, 120))


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("Kick", "kick"), ("BassDrum", "kick"), ("c3 - bass drum 1", "kick"), ("Kick Stomp", "kick"),
        ("Snare Jazz", "snare"), ("Snare (Pearl Free Floating Maple 14x3.5)", "snare"),
        ("Snare Rimshot (Pearl Free Floating Maple 14x3.5)", "rim"), ("Pearl Side Stick", "rim"), ("Stick", "rim"),
        ("Hand Clap", "clap"), ("Tom Low", "tom"), ("tomhi2", "tom"), ("Floor Tom", "tom"),
        ("Closed HH", "hihat_closed"), ("Hi-Hat Pedal (Paiste Alpha Metal edge 14\")", "hihat_closed"), ("VariBreaks Hat 1 Cl", "hihat_closed"),
        ("Open HH", "hihat_open"), ("Hi Hat Opened", "hihat_open"), ("Hat Op Dirty", "hihat_open"),
        ("Ride (Custom, Zagrebin 22\")", "cymbal"), ("Ride Bell", "cymbal"), ("crash16inch", "cymbal"), ("China (Paiste Alpha 18\")", "cymbal"),
        ("Cowbell", "perc"), ("Tambourine Pedal (Pearl PTM-10GH)", "perc"), ("Djembe1 Slap", "perc"), ("Conga 1", "perc"),
        ("FX", "other"),
        ("Hat Semi-Open", None), ("Sabian Hat Choke", None), ("Snare Roll", None), ("Bell", None), ("Hi Hat Free", None),
        ("Hat Ring 1", None), ("Drum 1", None), ("Zap 1", None), ("17", None), ("Whistle", None),
    ],
)  # fmt: skip
def test_hydrogen_instrument_names_map_to_families(name: str, family: str | None) -> None:
    assert hydrogen_family(name, kit="SomeKit") == family


def test_a_hydrogen_kit_that_is_not_drums_is_other() -> None:
    assert hydrogen_family("Cmajor \\ C1-F5-G4", kit="belofilms_GuitarStrums") == "other"


@pytest.mark.parametrize(
    ("package", "path", "family"),
    [
        ("sonic-pi-samples", "bd_haus.flac", "kick"), ("sonic-pi-samples", "sn_dub.flac", "snare"),
        ("sonic-pi-samples", "drum_cymbal_open.flac", "hihat_open"), ("sonic-pi-samples", "drum_cymbal_pedal.flac", "hihat_closed"),
        ("sonic-pi-samples", "drum_cymbal_hard.flac", "cymbal"), ("sonic-pi-samples", "drum_bass_soft.flac", "kick"),
        ("sonic-pi-samples", "drum_tom_lo_hard.flac", "tom"), ("sonic-pi-samples", "drum_roll.flac", None),
        ("sonic-pi-samples", "elec_hollow_kick.flac", "kick"), ("sonic-pi-samples", "elec_blip.flac", None),
        ("sonic-pi-samples", "tabla_na.flac", "perc"), ("sonic-pi-samples", "perc_bell.flac", "perc"), ("sonic-pi-samples", "perc_door.flac", None),
        ("sonic-pi-samples", "ambi_choir.flac", "other"), ("sonic-pi-samples", "bass_voxy_c.flac", "other"),
        ("sonic-pi-samples", "loop_amen.flac", "other"), ("sonic-pi-samples", "vinyl_hiss.flac", "other"),
        ("sonic-pi-samples", "guit_em9.flac", "other"), ("sonic-pi-samples", "glitch_perc1.flac", None),
        ("lmms-common", "drums/kick_hard01.ogg", "kick"), ("lmms-common", "drums/bassdrum_acoustic01.ogg", "kick"),
        ("lmms-common", "drums/snare_rim01.ogg", "rim"), ("lmms-common", "drums/sidestick01.ogg", "rim"),
        ("lmms-common", "drums/hihat_opened02.ogg", "hihat_open"), ("lmms-common", "drums/hihat_foot_pedal01.ogg", "hihat_closed"),
        ("lmms-common", "drums/ride01.ogg", "cymbal"), ("lmms-common", "drums/clav01.ogg", "perc"), ("lmms-common", "drums/zap01.ogg", None),
        ("lmms-common", "drums/nasty_bass01.ogg", None), ("lmms-common", "basses/bass_acid01.ogg", "other"),
        ("lmms-common", "stringsnpads/juno_pad01.ogg", "other"), ("lmms-common", "instruments/piano01.ogg", "other"),
        ("lmms-common", "effects/explode01.ogg", "other"), ("lmms-common", "beats/break01.ogg", None), ("lmms-common", "misc/hit01.ogg", None),
        ("some-other-pack", "kick.wav", None),
    ],
)  # fmt: skip
def test_sample_pack_prefixes_and_folders_map_to_families(package: str, path: str, family: str | None) -> None:
    assert sample_family(package, path) == family


def test_every_table_names_only_known_families() -> None:
    import drum_labels

    named = set(drum_labels.GM_KEYS.values()) | {f for _, f in drum_labels.HYDROGEN_RULES} | set(drum_labels.SONIC_PI_PREFIXES.values())
    named |= {f for table in drum_labels.SONIC_PI_TOKENS.values() for _, f in table} | {f for _, f in drum_labels.LMMS_DRUM_TOKENS}
    assert named - {None} <= set(FAMILIES)


def test_a_midi_file_plays_one_note_per_slot() -> None:
    data = midi_file([Note(0, 36, True), Note(25, 38, True), Note(5, 60, False)])
    assert data[:4] == b"MThd" and data.count(b"\xc9") == 2 and data.count(b"\x99\x24\x64") == 1 and b"\x90\x3c\x64" in data


# --- duplicates of decoded audio ---------------------------------------------------------


def _hit(rng: np.random.Generator, freq: float, seconds: float = 0.6) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * freq * t) + rng.standard_normal(len(t))) * np.exp(-t / 0.1)


def test_duplicates_are_found_across_containers_levels_padding_and_rates(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a, b, c = (x / np.abs(x).max() for x in (_hit(rng, 60.0), _hit(rng, 200.0), _hit(rng, 900.0)))
    pcm = np.round(0.5 * a * 32767).astype(np.int16)
    files = {
        "a.wav": (pcm, RATE, "PCM_16"),
        "a.flac": (np.stack([pcm, pcm], axis=1), RATE, "PCM_16"),  # same samples, another container and channel count: exact
        "a quiet padded.wav": (np.concatenate([np.zeros(3000), 0.1 * a]), RATE, "FLOAT"),  # level and leading silence: near
        "a 48k.wav": (np.interp(np.arange(0, len(a), RATE / 48000), np.arange(len(a)), a) * 0.5, 48000, "PCM_24"),  # another rate: near
        "b.wav": (0.5 * b, RATE, "PCM_16"),
        "c.ogg": (0.5 * c, RATE, "VORBIS"),
        "b inverted.wav": (-0.4 * b, RATE, "PCM_16"),  # polarity: near
        "b with other noise.wav": (0.5 * _hit(rng, 200.0) / 4, RATE, "PCM_16"),  # same recipe, other noise: another hit
    }  # fmt: skip
    prints = []
    for name, (audio, rate, subtype) in files.items():
        sf.write(tmp_path / name, audio, rate, subtype=subtype)
        prints.append(dedupe.read_print(tmp_path / name))
    found = {list(files)[d.row]: (list(files)[d.of], d.exact) for d in dedupe.duplicates(prints)}
    assert found == {
        "a.flac": ("a.wav", True),
        "a quiet padded.wav": ("a.wav", False),
        "a 48k.wav": ("a.wav", False),
        "b inverted.wav": ("b.wav", False),
    }


def test_the_first_rows_are_kept_and_velocity_layers_of_one_sample_are_one_sound() -> None:
    rng = np.random.default_rng(1)
    hit = _hit(rng, 150.0)
    prints = [dedupe.fingerprint(g * hit, RATE) for g in (0.9, 0.5, 0.2)]
    assert [(d.row, d.of) for d in dedupe.duplicates(prints)] == [(1, 0), (2, 0)]
    assert [(d.row, d.of) for d in dedupe.duplicates(prints[::-1], keep=2)] == [(2, 0)]
    other = dedupe.fingerprint(_hit(rng, 150.0), RATE)  # same recipe, other noise: a different hit
    assert dedupe.duplicates([prints[0], other]) == []
