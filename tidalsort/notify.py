"""Tell a running SuperDirt (through the TidalSort quark) that banks changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import bridge
from .haskell_banks import entry_sounds

DEFAULT_TIMEOUT = 30.0


def notify_bank(root: Path, entry: dict[str, Any], host: str = bridge.DEFAULT_HOST, port: int = bridge.DEFAULT_PORT, timeout: float = DEFAULT_TIMEOUT) -> list[tuple[str, int]]:
    """Ask sclang to reload every folder of one bank; returns ``(sound, files loaded)``.

    One ``/tidalsort/bank`` message per folder (one for ``--layout bank``, one per cluster
    for ``--layout split``), each answered before the next is sent.

    Raises
    ------
    tidalsort.bridge.BridgeError
        When sclang does not answer in ``timeout`` seconds or rejects a folder; its message
        is one line.
    """
    loaded = []
    for sound, boundaries, labels in entry_sounds(entry):
        count = int(boundaries.split()[-1])
        loaded.append((sound, bridge.send_bank(host, port, sound, root / sound, count, boundaries, labels, timeout)))
    return loaded
