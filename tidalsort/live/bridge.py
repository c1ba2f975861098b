"""OSC client for the TidalSort SuperCollider quark (protocol version 2).

tidalsort writes a bank folder; this module tells a running sclang (with
``TidalSort.start(~dirt, roots: [...])``) to load it into SuperDirt and waits
for the answer.

Protocol version 2 (Python -> sclang, replies go back to the sending socket)::

    /tidalsort/bank    bank folder count boundaries [labels]
                       -> /tidalsort/loaded bank count
                       or /tidalsort/error  bank reason
    /tidalsort/sounds  root prefix
                       -> /tidalsort/sounds root total name... (one or more messages)
                       or /tidalsort/error  "" reason
    /tidalsort/unload  sound folder
                       -> /tidalsort/unloaded sound count
                       or /tidalsort/error  sound reason
    /tidalsort/ping    -> /tidalsort/pong version
    /tidalsort/resend  [bank]
                       -> /tidalsort/resent n
                       or /tidalsort/error  bank reason

``boundaries`` is one string of ints, the cluster starts plus the final stop
(``"0 12 30 55"``); ``labels`` is one label per cluster (``"kick snare c2"``).
A ``/tidalsort/bank`` message is at most :data:`MAX_DATAGRAM` bytes; the receiver
passes long values on to Tidal's ``/ctrl`` in parts of at most 4,000 characters.

Every call sends from a fresh UDP socket bound to a free port (on 127.0.0.1
when sclang is on a loopback address) and waits for the matching reply, so
replies to other callers are never mixed up.

Examples
--------
>>> from tidalsort.live import bridge
>>> bridge.ctrl_key("kick"), bridge.format_boundaries([0, 12, 30, 55])
('tidalsort_kick', '0 12 30 55')
>>> bridge.ping("127.0.0.1", 57120)                          # doctest: +SKIP
1
>>> bridge.send_bank("127.0.0.1", 57120, "kick", "/samples/kick", count=55,
...                  boundaries=[0, 12, 30, 55], labels=["low", "mid", "high"])  # doctest: +SKIP
55
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from ..errors import TidalsortError
from ..output.names import BANK_NAME

__all__ = [
    "PROTOCOL_VERSION",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "BridgeError",
    "BridgeTimeout",
    "BankRejected",
    "InvalidBankMessage",
    "MAX_DATAGRAM",
    "ping",
    "send_bank",
    "sounds",
    "unload",
    "resend",
    "format_boundaries",
    "format_labels",
    "build_bank_message",
    "ctrl_key",
    "ctrl_labels_key",
]

PROTOCOL_VERSION: int = 2
"""Version of the OSC protocol this module speaks (answered by ``/tidalsort/pong``)."""

DEFAULT_HOST: str = "127.0.0.1"
DEFAULT_PORT: int = 57120
"""sclang's language port, where ``TidalSort.start`` listens unless told otherwise."""

MAX_DATAGRAM: int = 64_000
"""Largest ``/tidalsort/bank`` message sent (sclang reads UDP datagrams of up to 64 KiB)."""

MAX_NAME_LENGTH: int = 64
MAX_FILES: int = 4096
"""The receiver's default ``maxFiles``; larger banks need ``maxFiles:`` in ``TidalSort.start``."""

_LABEL_RE = re.compile(r"[A-Za-z0-9_.-]+\Z")

T = TypeVar("T")
Boundaries = str | Sequence[int]
Labels = str | Sequence[str]


class BridgeError(TidalsortError):
    """Base class of every error raised by this module; its message is one line."""


class BridgeTimeout(BridgeError):
    """No (matching) reply arrived in time, e.g. sclang is not running or not listening."""


class BankRejected(BridgeError):
    """sclang answered ``/tidalsort/error`` for the bank.

    Attributes
    ----------
    bank : str
        Bank name echoed by sclang (may be empty for malformed messages).
    reason : str
        The receiver's reason, e.g. ``"folder not found: /x"``.
    """

    def __init__(self, bank: str, reason: str) -> None:
        self.bank = bank
        self.reason = reason
        super().__init__(f"sclang rejected bank '{bank}': {reason}")


class InvalidBankMessage(BridgeError, ValueError):
    """The arguments cannot form a valid ``/tidalsort/bank`` message; nothing was sent."""


def ctrl_key(bank: str) -> str:
    """Return the key under which the receiver sends a bank's boundaries to Tidal.

    Parameters
    ----------
    bank : str
        Bank name.

    Returns
    -------
    str
        ``"tidalsort_<bank>"``; read it in Tidal with ``cS "" "tidalsort_<bank>"``.
    """
    return f"tidalsort_{bank}"


def ctrl_labels_key(bank: str) -> str:
    """Return the key under which the receiver sends a bank's labels to Tidal:
    :func:`ctrl_key` followed by ``"_labels"``."""
    return f"{ctrl_key(bank)}_labels"


def _check_bank(bank: str) -> str:
    if not isinstance(bank, str) or len(bank) > MAX_NAME_LENGTH or not BANK_NAME.fullmatch(bank):
        raise InvalidBankMessage(f"invalid bank name {bank!r} (must match ^[a-z0-9][a-z0-9_-]*$, at most {MAX_NAME_LENGTH} characters)")
    return bank


def _check_count(count: int) -> int:
    if isinstance(count, bool) or not hasattr(count, "__index__"):
        raise InvalidBankMessage(f"count must be an int, got {count!r}")
    value = int(count.__index__())
    if not 1 <= value <= 2**31 - 1:
        raise InvalidBankMessage(f"count must be between 1 and 2**31-1, got {value}")
    return value


def format_boundaries(boundaries: Boundaries, count: int | None = None) -> str:
    """Validate cluster boundaries and return them as the protocol's string.

    Parameters
    ----------
    boundaries : str or sequence of int
        Cluster starts plus the final stop, e.g. ``[0, 12, 30, 55]`` or
        ``"0 12 30 55"``.
    count : int, optional
        Number of files in the bank; when given, the last boundary must equal it.

    Returns
    -------
    str
        Space-separated decimal ints, e.g. ``"0 12 30 55"``.

    Raises
    ------
    InvalidBankMessage
        If the values are not ints, do not start at 0, do not strictly increase,
        or do not end at ``count``.
    """
    if isinstance(boundaries, str):
        tokens = boundaries.split()
        if not all(t.isascii() and t.isdigit() for t in tokens):
            raise InvalidBankMessage(f"boundaries must be ints separated by spaces, got {boundaries!r}")
        values = [int(t) for t in tokens]
    else:
        values = []
        for value in boundaries:
            if isinstance(value, bool) or not hasattr(value, "__index__"):
                raise InvalidBankMessage(f"boundaries must be ints, got {value!r}")
            values.append(int(value.__index__()))
    if len(values) < 2:
        raise InvalidBankMessage("boundaries need at least two values (0 and the file count)")
    if values[0] != 0:
        raise InvalidBankMessage(f"boundaries must start at 0, got {values[0]}")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise InvalidBankMessage(f"boundaries must be strictly increasing, got {values}")
    if count is not None and values[-1] != count:
        raise InvalidBankMessage(f"boundaries must end at the file count {count}, got {values[-1]}")
    return " ".join(str(v) for v in values)


def format_labels(labels: Labels, clusters: int | None = None) -> str:
    """Validate cluster labels and return them as the protocol's string.

    Parameters
    ----------
    labels : str or sequence of str
        One label per cluster, e.g. ``["kick", "snare", "c2"]`` or ``"kick snare c2"``.
        Each label is letters, digits, ``_``, ``-`` or ``.`` (at most 64 characters).
    clusters : int, optional
        Number of clusters; when given, the number of labels must equal it.

    Returns
    -------
    str
        Space-separated labels, e.g. ``"kick snare c2"``.

    Raises
    ------
    InvalidBankMessage
        If a label is empty, too long, has other characters, or the count is wrong.
    """
    items = labels.split() if isinstance(labels, str) else [str(label) for label in labels]
    for label in items:
        if len(label) > MAX_NAME_LENGTH or not _LABEL_RE.match(label):
            raise InvalidBankMessage(f"invalid label {label!r} (letters, digits, _ - ., at most {MAX_NAME_LENGTH} characters)")
    if clusters is not None and len(items) != clusters:
        raise InvalidBankMessage(f"expected {clusters} labels (one per cluster), got {len(items)}")
    return " ".join(items)


def build_bank_message(
    bank: str,
    folder: str | os.PathLike[str],
    count: int,
    boundaries: Boundaries,
    *,
    labels: Labels | None = None,
) -> bytes:
    """Validate the arguments and return the ``/tidalsort/bank`` datagram.

    Parameters
    ----------
    bank : str
        Bank name, ``^[a-z0-9][a-z0-9_-]*$`` (becomes the SuperDirt sound name).
    folder : str or os.PathLike
        The bank folder; made absolute with :func:`os.path.abspath` (symlinks are
        not resolved here, sclang checks them against its roots).
    count : int
        Number of audio files in the folder.
    boundaries : str or sequence of int
        Cluster starts plus the final stop, ending at ``count``.
    labels : str or sequence of str, optional
        One label per cluster; omitted from the message when ``None``.

    Returns
    -------
    bytes
        The encoded OSC message.

    Raises
    ------
    InvalidBankMessage
        If any argument is invalid, or the message would be longer than
        :data:`MAX_DATAGRAM` bytes (too many clusters); nothing is sent.
    """
    _check_bank(bank)
    count = _check_count(count)
    folder_str = os.path.abspath(os.fspath(folder))
    bounds = format_boundaries(boundaries, count)
    builder = OscMessageBuilder("/tidalsort/bank")
    builder.add_arg(bank, OscMessageBuilder.ARG_TYPE_STRING)
    builder.add_arg(folder_str, OscMessageBuilder.ARG_TYPE_STRING)
    builder.add_arg(count, OscMessageBuilder.ARG_TYPE_INT)
    builder.add_arg(bounds, OscMessageBuilder.ARG_TYPE_STRING)
    clusters = len(bounds.split()) - 1
    if labels is not None:
        builder.add_arg(format_labels(labels, clusters), OscMessageBuilder.ARG_TYPE_STRING)
    datagram = builder.build().dgram
    if len(datagram) > MAX_DATAGRAM:
        raise InvalidBankMessage(
            f"bank '{bank}' has too many clusters ({clusters}) for the OSC bridge: its boundaries and "
            f"labels take {len(datagram):,} bytes, at most {MAX_DATAGRAM:,} fit in one message; "
            "sort it into fewer clusters"
        )
    return datagram


def _message(address: str, *args: str | int) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def _iter_messages(datagram: bytes) -> Iterator[OscMessage]:
    try:
        if OscBundle.dgram_is_bundle(datagram):
            for content in OscBundle(datagram):
                if isinstance(content, OscMessage):
                    yield content
                else:  # nested bundle
                    yield from _iter_messages(content.dgram)
        elif OscMessage.dgram_is_message(datagram):
            yield OscMessage(datagram)
    except Exception:  # not OSC: ignore it
        return


def _rejected(params: list, name: str) -> BankRejected:
    """The error of a ``/tidalsort/error`` reply (``name`` when it echoes no name)."""
    echoed = str(params[0]) if params else ""
    reason = str(params[1]) if len(params) > 1 else "(no reason given)"
    return BankRejected(echoed or name, reason)


def _resolve(host: str, port: int) -> tuple[str, int]:
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BridgeError(f"cannot resolve sclang host {host!r}: {exc}") from None
    if not infos:
        raise BridgeError(f"cannot resolve sclang host {host!r}")
    return str(infos[0][4][0]), int(port)


class _Exchange:
    """One UDP socket for one request and its replies."""

    def __init__(self, host: str, port: int) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise BridgeError(f"invalid sclang port {port!r}")
        self.host = host
        self.port = port
        self.target = _resolve(host, port)
        loopback = ipaddress.ip_address(self.target[0]).is_loopback
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.sock.bind(("127.0.0.1" if loopback else "0.0.0.0", 0))
        except OSError:
            self.sock.close()
            raise

    def __enter__(self) -> _Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, datagram: bytes) -> None:
        try:
            self.sock.sendto(datagram, self.target)
        except OSError as exc:
            raise BridgeError(f"cannot send to sclang on {self.host}:{self.port}: {exc}") from None

    def replies(self, timeout: float) -> Iterator[OscMessage]:
        """Yield incoming messages until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.sock.settimeout(remaining)
            try:
                datagram, _ = self.sock.recvfrom(65536)
            except TimeoutError:
                return
            except ConnectionRefusedError:  # ICMP port unreachable from an earlier send
                continue
            except OSError as exc:
                raise BridgeError(f"error while waiting for sclang on {self.host}:{self.port}: {exc}") from None
            yield from _iter_messages(datagram)


def _not_listening(host: str, port: int, timeout: float) -> BridgeTimeout:
    return BridgeTimeout(f"sclang is not listening on {host}:{port} (no reply in {timeout:g} s)")


def _check_timeout(timeout: float) -> float:
    timeout = float(timeout)
    if not timeout > 0:
        raise BridgeError(f"timeout must be positive, got {timeout}")
    return timeout


def _request(
    host: str, port: int, datagram: bytes, *, timeout: float, answer: Callable[[str, list[Any]], T | None], name: str = ""
) -> T | None:
    """Send ``datagram`` from a fresh socket and return the first answer: what ``answer``
    (given each reply's address and arguments) returns that is not None.

    Returns None when no reply was accepted within ``timeout`` seconds.

    Raises
    ------
    BankRejected
        For a ``/tidalsort/error`` reply (the socket is this request's alone, so any error
        answers it; ``name`` where the reply echoes none).
    """
    with _Exchange(host, port) as ex:
        ex.send(datagram)
        for msg in ex.replies(_check_timeout(timeout)):
            params = list(msg.params)
            if msg.address == "/tidalsort/error":
                raise _rejected(params, name)
            result = answer(msg.address, params)
            if result is not None:
                return result
    return None


def _count(address: str, *, echo: str | None = None) -> Callable[[str, list[Any]], int | None]:
    """An ``answer`` for :func:`_request`: the int of an ``address`` reply (after the echoed name ``echo``)."""

    def answer(got: str, params: list[Any]) -> int | None:
        if got != address:
            return None
        if echo is not None:
            if not params or params[0] != echo:
                return None
            params = params[1:]
        return int(params[0]) if params and isinstance(params[0], int) and not isinstance(params[0], bool) else None

    return answer


def ping(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, timeout: float = 5.0) -> int:
    """Ask the TidalSort receiver for its protocol version.

    Parameters
    ----------
    host : str
        Address of the machine running sclang.
    port : int
        Port ``TidalSort.start`` listens on (default 57120).
    timeout : float
        Seconds to wait for ``/tidalsort/pong``.

    Returns
    -------
    int
        The receiver's protocol version (:data:`PROTOCOL_VERSION` for this module's protocol).

    Raises
    ------
    BridgeTimeout
        If no pong arrives in time, with a message such as
        ``"sclang is not listening on 127.0.0.1:57120 (no reply in 5 s)"``.
    BridgeError
        If the pong is malformed or the socket fails.
    """

    def pong(address: str, params: list[Any]) -> int | None:
        if address == "/tidalsort/pong" and not (params and isinstance(params[0], int)):
            raise BridgeError(f"malformed /tidalsort/pong from {host}:{port}: {params!r}")
        return int(params[0]) if address == "/tidalsort/pong" else None

    version = _request(host, port, _message("/tidalsort/ping"), timeout=timeout, answer=pong)
    if version is None:
        raise _not_listening(host, port, timeout)
    return version


def send_bank(
    host: str,
    port: int,
    bank: str,
    folder: str | os.PathLike[str],
    *,
    count: int,
    boundaries: Boundaries,
    labels: Labels | None = None,
    timeout: float = 30.0,
) -> int:
    """Tell sclang to (re)load a bank folder and wait until it is swapped in.

    Parameters
    ----------
    host : str
        Address of the machine running sclang (usually ``"127.0.0.1"``).
    port : int
        Port ``TidalSort.start`` listens on (default 57120).
    bank : str
        Bank name (the SuperDirt sound name), ``^[a-z0-9][a-z0-9_-]*$``.
    folder : str or os.PathLike
        Absolute path of the bank folder (relative paths are made absolute); it
        must lie below one of the roots given to ``TidalSort.start``.
    count : int
        Number of audio files in the folder (files are read in byte order of
        their names, i.e. manifest order).
    boundaries : str or sequence of int
        Cluster starts plus the final stop, e.g. ``[0, 12, 30, 55]``; sent to
        Tidal as ``/ctrl tidalsort_<bank> "0 12 30 55"`` after the swap.
    labels : str or sequence of str, optional
        One label per cluster; sent to Tidal as ``tidalsort_<bank>_labels``.
    timeout : float
        Seconds to wait for ``/tidalsort/loaded`` or ``/tidalsort/error``.
        A 128-file bank loads in about 50 ms on a local server
        (``bench/bridge_latency.py``).

    Returns
    -------
    int
        Number of buffers sclang loaded (equals ``count``).

    Raises
    ------
    InvalidBankMessage
        If the arguments are invalid (nothing was sent). Also a ``ValueError``.
    BankRejected
        If sclang answered ``/tidalsort/error`` (``.reason`` holds its reason);
        the bank in SuperDirt is unchanged.
    BridgeTimeout
        If no answer arrived in time. The message says whether sclang answers
        pings at all ("sclang is not listening on 127.0.0.1:57120 (no reply in
        30 s)") or is alive but did not finish.
    BridgeError
        For socket or resolution failures.
    """
    datagram = build_bank_message(bank, folder, count, boundaries, labels=labels)

    def loaded(address: str, params: list[Any]) -> int | None:
        if address != "/tidalsort/loaded" or not params or params[0] != bank:
            return None
        if len(params) < 2 or not isinstance(params[1], int):
            raise BridgeError(f"malformed /tidalsort/loaded from {host}:{port}: {params!r}")
        return int(params[1])

    buffers = _request(host, port, datagram, timeout=timeout, answer=loaded, name=bank)
    if buffers is not None:
        return buffers
    try:
        ping(host, port, timeout=min(float(timeout), 2.0))
    except BridgeError:
        raise _not_listening(host, port, timeout) from None
    raise BridgeTimeout(
        f"sclang on {host}:{port} answers pings but did not report on bank '{bank}' "
        f"within {timeout:g} s (still loading? try a longer timeout)"
    )


def resend(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    bank: str | None = None,
    timeout: float = 5.0,
) -> int:
    """Ask sclang to send the stored boundaries (and labels) to Tidal's ``/ctrl`` again.

    Useful after Tidal restarted and lost its control values.

    Parameters
    ----------
    host : str
        Address of the machine running sclang.
    port : int
        Port ``TidalSort.start`` listens on.
    bank : str, optional
        Only this bank; all loaded banks when ``None``.
    timeout : float
        Seconds to wait for ``/tidalsort/resent``.

    Returns
    -------
    int
        Number of banks whose values were sent.

    Raises
    ------
    InvalidBankMessage
        If ``bank`` is not a valid bank name.
    BankRejected
        If sclang has no boundaries stored for ``bank``.
    BridgeTimeout
        If no answer arrived in time.
    """
    args = [] if bank is None else [_check_bank(bank)]
    sent = _request(host, port, _message("/tidalsort/resend", *args), timeout=timeout, answer=_count("/tidalsort/resent"), name=bank or "")
    if sent is None:
        raise _not_listening(host, port, timeout)
    return sent


def sounds(
    host: str,
    port: int,
    root: str | os.PathLike[str],
    *,
    prefix: str = "",
    timeout: float = 5.0,
) -> list[str]:
    """Ask sclang which sounds it holds that were read from folders directly in ``root``.

    Parameters
    ----------
    host, port : str, int
        Where ``TidalSort.start`` listens.
    root : str or os.PathLike
        A folder of banks (made absolute); only sounds whose files were all read from
        ``root/<sound>/`` (by TidalSort or by SuperDirt's own loading) and that lie below
        the receiver's roots are listed.
    prefix : str
        Only sounds whose names start with it.
    timeout : float
        Seconds to wait for the whole answer.

    Returns
    -------
    list of str
        Sound names, sorted.

    Raises
    ------
    BankRejected
        If sclang rejected the request (``.reason`` says why).
    BridgeTimeout
        If no (complete) answer arrived in time.
    """
    names: list[str] = []
    totals: list[int] = []

    def listed(address: str, params: list[Any]) -> list[str] | None:  # the answer may come in parts
        if address != "/tidalsort/sounds" or len(params) < 2 or not isinstance(params[1], int):
            return None
        totals.append(int(params[1]))
        names.extend(str(name) for name in params[2:])
        return sorted(names) if len(names) >= totals[-1] else None

    found = _request(host, port, _message("/tidalsort/sounds", os.path.abspath(os.fspath(root)), prefix), timeout=timeout, answer=listed)
    if found is not None:
        return found
    if not totals:
        raise _not_listening(host, port, timeout)
    raise BridgeTimeout(f"sclang on {host}:{port} listed {len(names)} of {totals[-1]} sounds within {timeout:g} s")


def unload(
    host: str,
    port: int,
    sound: str,
    folder: str | os.PathLike[str],
    *,
    timeout: float = 5.0,
) -> int:
    """Remove a sound from SuperDirt and clear its values in Tidal.

    The receiver removes the sound from ``~dirt.soundLibrary``, frees its buffers after
    its grace delay and sends ``""`` to Tidal under the sound's ``/ctrl`` keys, so the
    Tidal helpers fall back to static boundaries.

    Parameters
    ----------
    host, port : str, int
        Where ``TidalSort.start`` listens.
    sound : str
        The SuperDirt sound name, ``^[a-z0-9][a-z0-9_-]*$``.
    folder : str or os.PathLike
        The folder the sound's files were read from (made absolute; it may no longer
        exist); the receiver refuses a sound read from anywhere else.
    timeout : float
        Seconds to wait for ``/tidalsort/unloaded``.

    Returns
    -------
    int
        Number of buffers the sound had.

    Raises
    ------
    InvalidBankMessage
        If ``sound`` is not a valid name (nothing was sent).
    BankRejected
        If sclang refused, e.g. the sound is not loaded or came from another folder.
    BridgeTimeout
        If no answer arrived in time.
    """
    _check_bank(sound)
    count = _request(
        host,
        port,
        _message("/tidalsort/unload", sound, os.path.abspath(os.fspath(folder))),
        timeout=timeout,
        answer=_count("/tidalsort/unloaded", echo=sound),
        name=sound,
    )
    if count is None:
        raise _not_listening(host, port, timeout)
    return count
