"""Sound files a browser can play for every sample of a bank: WAV copies of AIFF samples.

Browsers play WAV but not AIFF, which banks keep as it is (SuperDirt loads both).
:func:`write_wav` writes a sound as WAV with the same samples (in the same sample format
where WAV holds it and browsers decode it); ``tidalsort serve`` serves AIFF samples so. For
every AIFF sample the sound map plays a WAV preview instead (its first
:data:`PREVIEW_SECONDS`), written once under ``ROOT/.tidalsort/map-BANK/`` and named by the
source's SHA-1; previews no sample needs any more are deleted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import soundfile as sf

from ..output.atomic import write_atomic
from ..confined import own_folder, refuse_link
from ..output.bank import STATE_DIR
from ..output.entry import Bank

#: How much of a sound its preview holds.
PREVIEW_SECONDS = 3.0
#: File name endings browsers play as they are.
PLAYABLE = (".wav",)
#: Sample formats kept as they are in a WAV copy, and what 8-bit signed becomes (WAV's 8 bits
#: are unsigned). Any other (64-bit float, which Chromium does not decode in WAV, and the
#: compressed formats of AIFC) is written as 32-bit float: what browsers decode every sound to.
SAME_IN_WAV = {"PCM_S8": "PCM_U8", "PCM_U8": "PCM_U8", "PCM_16": "PCM_16", "PCM_24": "PCM_24", "PCM_32": "PCM_32", "FLOAT": "FLOAT", "ULAW": "ULAW", "ALAW": "ALAW"}
_BLOCK = 1 << 16


def preview_folder(root: Path, bank: str) -> Path:
    """Where the previews of ``bank`` are kept."""
    return root / STATE_DIR / f"map-{bank}"


def write_wav(source: Path | BinaryIO, target: Path | BinaryIO, seconds: float | None = None) -> None:
    """Write the sound of ``source`` (a file libsndfile reads), or its first ``seconds``, to
    ``target`` as WAV, with the same samples (see :data:`SAME_IN_WAV`).

    Raises
    ------
    soundfile.LibsndfileError
        If ``source`` cannot be read as sound.
    """
    with sf.SoundFile(os.fsencode(source) if isinstance(source, Path) else source) as f:
        subtype = SAME_IN_WAV.get(f.subtype, "FLOAT")
        frames = -1 if seconds is None else int(seconds * f.samplerate)
        dtype = "float32" if subtype == "FLOAT" else "int32"  # integers as integers: exactly the same
        with sf.SoundFile(os.fsencode(target) if isinstance(target, Path) else target, "w", f.samplerate, f.channels, subtype, format="WAV") as out:
            for block in f.blocks(_BLOCK, frames=frames, dtype=dtype, always_2d=True):
                out.write(block)


def audio_urls(root: Path, bank: str, entry: Bank) -> tuple[list[str], list[str]]:
    """Relative URL (from a page in ``root``) of a playable file for every sample of ``entry``.

    Returns
    -------
    urls, problems
        One URL per sample in bank order (the bank's own file, or its preview), and one line
        for every preview that could not be made (the sample's own file is used instead).

    Raises
    ------
    tidalsort.confined.UnsafePath
        If the previews' folder is a link.
    """
    folder = preview_folder(root, bank)
    refuse_link(folder)  # never fill or empty a folder outside ROOT
    urls, problems, needed = [], [], set()
    for s in entry.samples:
        own = f"{quote(s.folder)}/{quote(s.file)}"
        if s.file.lower().endswith(PLAYABLE):
            urls.append(own)
            continue
        name = f"{s.sha1}.wav"
        needed.add(name)
        target = folder / name
        if not target.exists():
            try:
                own_folder(folder)
                source = root / s.folder / s.file
                write_atomic(target, lambda tmp: write_wav(source, tmp, PREVIEW_SECONDS), root / STATE_DIR)
            except (OSError, RuntimeError, sf.LibsndfileError) as exc:
                problems.append(f"{root / s.folder / s.file}: no preview for the map ({exc})")
                urls.append(own)
                continue
        urls.append(f"{quote(STATE_DIR)}/{quote(folder.name)}/{name}")
    if folder.is_dir():
        for stale in folder.iterdir():
            if stale.name not in needed:
                stale.unlink()
    return urls, problems
