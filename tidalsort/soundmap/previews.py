"""Sound files a browser can play for every sample of a bank: WAV copies of AIFF samples.

Browsers play WAV but not AIFF, which banks keep as it is (SuperDirt loads both). For every
AIFF sample the sound map plays a WAV preview instead (its first :data:`PREVIEW_SECONDS`,
written by :func:`tidalsort.analysis.wav.write_wav` with the same samples where browsers
decode them), written once under ``ROOT/.tidalsort/map-BANK/`` and named by the source's
SHA-1; previews no sample needs any more are deleted.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import quote

from ..analysis.audio import UnreadableAudio
from ..analysis.wav import WriteFailed, write_wav
from ..confined import own_folder, refuse_link
from ..output.atomic import write_atomic
from ..output.bank import STATE_DIR
from ..output.entry import Bank

#: How much of a sound its preview holds.
PREVIEW_SECONDS = 3.0
#: File name endings browsers play as they are.
PLAYABLE = (".wav",)


def preview_folder(root: Path, bank: str) -> Path:
    """Where the previews of ``bank`` are kept."""
    return root / STATE_DIR / f"map-{bank}"


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
                write_atomic(target, functools.partial(write_wav, source, seconds=PREVIEW_SECONDS), root / STATE_DIR)
            except WriteFailed:
                raise  # a full disk: no other preview fits either
            except (OSError, RuntimeError, UnreadableAudio) as exc:
                problems.append(f"{root / s.folder / s.file}: no preview for the map ({exc})")
                urls.append(own)
                continue
        urls.append(f"{quote(STATE_DIR)}/{quote(folder.name)}/{name}")
    if folder.is_dir():
        for stale in folder.iterdir():
            if stale.name not in needed:
                stale.unlink()
    return urls, problems
