"""Render LMMS synth presets of drums (shipped by lmms-common) to audio with LMMS, headless.

Two kinds: DrumSynth files (``.ds``), which LMMS's AudioFileProcessor plays through its
DrumSynth engine, and Kicker presets (``.xpf``, an instrument track of LMMS's Kicker synth).
Why LMMS: both hold synth parameters, not audio, LMMS is the program they are made for, and
``lmms --render`` runs without a display (0.2 s a preset). Each is one note of a one-track
project at the track's base note. Why the seed shim: LMMS seeds ``rand()`` with its pid and the clock, and DrumSynth
draws its noise from ``rand()``, so two renders of one clap differed; preloading an ``srand``
that does nothing leaves glibc's fixed default seed, and three renders were equal to the
sample. ``HOME`` is a fresh folder per render, so no user configuration of LMMS enters it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import soundfile as sf
from soundfont import CUT_S, RATE, trim

#: The shim, compiled once into the cache with the system C compiler.
SEED_SHIM_C = "void srand(unsigned int seed) { (void)seed; }\n"
#: Tempo and note length of the one-note project: a 4-beat note at 60 bpm lasts 4 s, longer
#: than :data:`soundfont.CUT_S`, so the preset plays to its end or to the cut (a Kicker
#: preset's own envelope ends it).
_BPM, _TICKS_PER_BAR = 60, 192


def track(preset: Path) -> ET.Element:
    """The instrument track that plays ``preset``: an AudioFileProcessor of a ``.ds`` file (no loop), or a Kicker preset's own."""
    if preset.suffix == ".xpf":
        found = ET.parse(preset).getroot().find("instrumenttracksettings/instrumenttrack")
        if found is None:
            raise ValueError(f"{preset}: no instrument track")
        return found
    settings = ET.Element("instrumenttrack", pan="0", fxch="0", pitchrange="1", pitch="0", basenote="57", vol="100")
    instrument = ET.SubElement(settings, "instrument", name="audiofileprocessor")
    ET.SubElement(
        instrument,
        "audiofileprocessor",
        src=str(preset),
        reversed="0",
        amp="100",
        looped="0",
        sframe="0",
        eframe="1",
        stutter="0",
        interp="0",
    )
    return settings


def project(settings: ET.Element) -> str:
    """An LMMS project that plays the instrument track ``settings`` once, at its base note."""
    root = ET.Element("lmms-project", version="1.0", creator="LMMS", creatorversion="1.2.2", type="song")
    ET.SubElement(root, "head", timesig_numerator="4", timesig_denominator="4", mastervol="100", bpm=str(_BPM), masterpitch="0")
    container = ET.SubElement(ET.SubElement(root, "song"), "trackcontainer", type="song")
    one = ET.SubElement(container, "track", type="0", name="preset", muted="0", solo="0")
    one.append(settings)
    pattern = ET.SubElement(one, "pattern", type="0", name="p", pos="0", len=str(_TICKS_PER_BAR), steps="16", muted="0")
    ET.SubElement(pattern, "note", key=settings.get("basenote", "57"), vol="100", pan="0", pos="0", len=str(_TICKS_PER_BAR))
    return '<?xml version="1.0"?>\n<!DOCTYPE lmms-project>\n' + ET.tostring(root, encoding="unicode") + "\n"


def seed_shim(folder: Path) -> Path:
    """The preloadable ``srand`` shim in ``folder``, compiled with ``cc`` unless it is there."""
    shim = folder / "fixed-seed.so"
    if not shim.exists():
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / "fixed-seed.c"
        source.write_text(SEED_SHIM_C)
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(source)], check=True)
    return shim


def render(preset: Path, *, shim: Path) -> np.ndarray | None:
    """The stereo float32 render of ``preset`` up to :data:`soundfont.CUT_S`, trailing silence cut (``None`` if silent).

    A render above full scale is scaled to peak at full scale, so that it fits a PCM file.
    """
    with tempfile.TemporaryDirectory() as tmp:
        mmp, wav = Path(tmp) / "preset.mmp", Path(tmp) / "preset.wav"
        mmp.write_text(project(track(preset)), encoding="utf-8")
        env = {**os.environ, "HOME": tmp, "LD_PRELOAD": str(shim)}
        command = ["lmms", "--allowroot", "-r", str(mmp), "-o", str(wav), "-f", "wav", "-s", str(RATE), "-a"]
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    assert rate == RATE
    out = trim(audio[: round(CUT_S * RATE)])
    peak = float(np.abs(out).max()) if out is not None else 0.0
    return out / peak if peak > 1.0 else out  # LMMS mixes in float: the Kicker clap peaks at 1.94
