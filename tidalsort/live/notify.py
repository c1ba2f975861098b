"""Tell a running SuperDirt (through the TidalSort quark) that banks changed."""

from __future__ import annotations

from pathlib import Path

from ..output.entry import Bank
from ..output.haskell_banks import entry_sounds
from ..output.names import may_be_folder_of
from . import bridge

DEFAULT_TIMEOUT = 30.0
PING_TIMEOUT = 2.0


def check_receiver(host: str = bridge.DEFAULT_HOST, port: int = bridge.DEFAULT_PORT, timeout: float = PING_TIMEOUT) -> None:
    """Make sure the TidalSort receiver answers and speaks this tidalsort's protocol.

    One ``/tidalsort/ping`` with a short timeout, so that nothing listening is reported in
    seconds, before any load (which may take longer) is waited for.

    Raises
    ------
    tidalsort.live.bridge.BridgeError
        With a one-line message: nothing answers (a :class:`~tidalsort.live.bridge.BridgeTimeout`
        that says how to start the receiver), or the quark speaks another protocol version.
    """
    try:
        version = bridge.ping(host, port, timeout)
    except bridge.BridgeTimeout as exc:
        raise bridge.BridgeTimeout(f"{exc}; in SuperCollider, run TidalSort.start(~dirt, roots: [...]) after SuperDirt") from None
    if version != bridge.PROTOCOL_VERSION:
        raise bridge.BridgeError(
            f"the TidalSort quark on {host}:{port} speaks OSC protocol {version}, this tidalsort speaks "
            f"{bridge.PROTOCOL_VERSION}: install the quark from this tidalsort's supercollider/ folder and recompile"
        )


def notify_bank(
    root: Path,
    entry: Bank,
    *,
    host: str = bridge.DEFAULT_HOST,
    port: int = bridge.DEFAULT_PORT,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Reload every folder of one bank, then unload the bank's sounds whose folders are gone.

    One ``/tidalsort/bank`` message per folder (one for ``--layout bank``, one per cluster
    for ``--layout split``), each answered before the next is sent. Then the receiver is
    asked which sounds it holds from folders in ``root`` named like a folder of this bank
    (:func:`~tidalsort.output.names.may_be_folder_of`); those whose folder no longer exists (e.g.
    after re-sorting ``--layout split`` into fewer clusters) are unloaded.

    Returns
    -------
    tuple
        ``(sound, files loaded)`` of every folder, and ``(sound, buffers freed)`` of every
        sound unloaded.

    Raises
    ------
    tidalsort.live.bridge.BridgeError
        When sclang does not answer in ``timeout`` seconds or rejects a request; its message
        is one line.
    """
    bank = entry.name
    rows = entry_sounds(entry)
    loaded = [
        (
            sound,
            bridge.send_bank(
                host, port, sound, root / sound, count=int(bounds.split()[-1]), boundaries=bounds, labels=labels, timeout=timeout
            ),
        )
        for sound, bounds, labels in rows
    ]
    current = {sound for sound, _, _ in rows}
    stale = [
        sound
        for sound in bridge.sounds(host, port, root, prefix=bank, timeout=timeout)
        if sound not in current and may_be_folder_of(bank, sound) and not (root / sound).exists()
    ]
    unloaded = [(sound, bridge.unload(host, port, sound, root / sound, timeout=timeout)) for sound in stale]
    return loaded, unloaded
