"""``tidalsort serve``: the banks under a root and their Strudel sample map, over HTTP, read-only.

Serves exactly two kinds of path: ``/strudel.json``, the sample map of the manifest's banks
(:func:`tidalsort.output.strudel.sample_map`) with ``_base`` set to the address the request was sent
to, and ``/<folder>/<file>`` for every sample file the manifest lists. Anything else, dot-files,
``ROOT/.tidalsort/``, the manifest, paths with ``..`` (also percent-encoded) and files that are
symbolic links other than those tidalsort made for ``--link symlink``, is a 404. GET and HEAD
with single byte ranges, CORS for any origin (the Strudel REPL is a page on another origin)
with Chromium's private network preflight, and, on a loopback address, only requests whose
``Host`` is a loopback name (a page on another site cannot rebind its name to this server).
Files are read when asked for, so a re-sort (``tidalsort watch``) is served at once.

The sound map of every bank is served too, as ``tidalsort map`` wrote it: ``/<bank>-map.html``,
its data ``/<bank>-map.js`` and the WAV previews it plays for AIFF samples
(``/.tidalsort/map-<bank>/<sha1>.wav``, only those the manifest's samples need), each a
regular file in a real folder of this user, never through a link; the page plays the
samples from this server.

AIFF samples are served as WAV under their own names (browsers' Web Audio does not decode
AIFF; it reads what a file holds, whatever its name): a WAV copy with the same samples
(:func:`tidalsort.analysis.wav.write_wav`) made at the first request and kept in
``ROOT/.tidalsort/serve-wav/``, named by the sample file's identity and time of change, so a
changed file gets a new copy; copies no sample needs are deleted when the manifest changes.
Where the root cannot be written, the copy is made in memory for each request.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import re
import socket
import stat
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ..analysis.audio import UnreadableAudio
from ..analysis.scan import path_text
from ..analysis.wav import write_wav
from ..confined import UnsafePath, no_follow, own_folder
from ..output.atomic import write_atomic
from ..output.bank import STATE_DIR, state_dir
from ..output.entry import Bank
from ..output.manifest import Manifest, ManifestError, load, manifest_path
from ..output.strudel import SERVE_HOST, SERVE_PORT, STRUDEL_MAP_NAME, sample_map
from ..soundmap.page import data_path, page_path
from ..soundmap.previews import PLAYABLE, preview_folder

CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".aifc": "audio/aiff",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
#: File name endings of the samples served as WAV.
AIFF = (".aif", ".aiff", ".aifc")
#: Version of the WAV copies: bump when :func:`tidalsort.analysis.wav.write_wav` writes other bytes.
#: 2: mu-law and A-law as 16-bit PCM.
WAV_VERSION = 2
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 1 << 16
#: Seconds a connection may be idle: a browser opens a new one when it needs it again, and a
#: client that never finishes its request holds its thread no longer than this.
IDLE_TIMEOUT = 30.0
_BEYOND = 1 << 64  # past the end of any file (sizes are below 2**63)


class Unsatisfiable(Exception):
    """A byte range that starts beyond the end of the file."""


def request_parts(target: str) -> list[str] | None:
    """The path segments of a request target, decoded; None if any could lead elsewhere.

    >>> request_parts("/kb6/003_x.wav?t=1"), request_parts("/kb6/%2e%2e/x"), request_parts("/.tidalsort/lock")
    (['kb6', '003_x.wav'], None, None)
    """
    path = urlsplit(target).path
    if not path.startswith("/"):
        return None
    parts = unquote(path, errors="strict").split("/")[1:]
    if any(not p or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    return parts


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte of a ``Range: bytes=...`` header for a file of ``size`` bytes.

    None means the whole file: no header, a header this server does not take (several ranges,
    other units) or a malformed one, which HTTP says to ignore.

    Raises
    ------
    Unsatisfiable
        If the range starts at or beyond the end of the file (HTTP 416).
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = (_position(digits) if digits else None for digits in match.groups())
    if first is None:  # the last N bytes
        assert last is not None  # the pattern needs one of the two
        if last == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - last), size - 1
    if first >= size:
        raise Unsatisfiable
    if last is not None and last < first:
        return None
    return first, min(last, size - 1) if last is not None else size - 1


def _position(digits: str) -> int:
    """A byte position of a ``Range`` header: a number too long for :func:`int` (over 4,300
    digits raises ValueError) is beyond the end of any file, so :data:`_BEYOND` stands in for it."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) < 20 else _BEYOND


def wav_name(st: os.stat_result) -> str:
    """Name of the WAV copy of a sample file with status ``st``: a new one when the file changes."""
    identity = f"{WAV_VERSION} {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns}"
    return hashlib.sha1(identity.encode()).hexdigest() + ".wav"


def map_files(root: Path, banks: dict[str, Bank]) -> dict[str, Path]:
    """Request path -> file, for the sound map of every bank: ``/<bank>-map.html``, its data
    ``/<bank>-map.js`` and the WAV previews it plays for the bank's non-WAV samples
    (``/.tidalsort/map-<bank>/<sha1>.wav``, as :func:`tidalsort.soundmap.previews.audio_urls` names them)."""
    out = {}
    for bank, entry in banks.items():
        previews = preview_folder(root, bank)
        files = [page_path(root, bank), data_path(root, bank)]
        files += [previews / f"{s.sha1}.wav" for s in entry.samples if not s.file.lower().endswith(PLAYABLE)]
        out.update({"/" + file.relative_to(root).as_posix(): file for file in files})
    return out


class Catalogue:
    """What a root's manifest lets the server hand out, read again whenever the manifest changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.wav_folder = root / STATE_DIR / "serve-wav"
        self._lock = threading.Lock()
        self._said_unsafe = False
        self._stamp: tuple[int, int] | None = (-1, -1)  # not read yet
        self.manifest = Manifest({})
        self.files: dict[tuple[str, str], tuple[str, bool]] = {}  # (folder, file) -> (source, symlink bank)
        self.map_files: dict[str, Path] = {}  # request path -> file of a sound map

    def refresh(self) -> None:
        """Read the manifest again if it changed on disk.

        Raises
        ------
        tidalsort.output.manifest.ManifestError
            If it cannot be read.
        """
        try:
            st = manifest_path(self.root).stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp == self._stamp:
                return
            manifest = load(self.root)
            self.files = {
                (s.folder, s.file): (s.source, entry.settings.link == "symlink") for entry in manifest.banks.values() for s in entry.samples
            }
            self.map_files = map_files(self.root, manifest.banks)
            self.manifest, self._stamp = manifest, stamp
            self._drop_unused_wavs()

    def _own_wav_folder(self, *, create: bool) -> Path | None:
        """:attr:`wav_folder` if the server may keep WAV copies there (made if ``create``), else
        None: a root this user may not write to, or a link or another user's folder in
        ``ROOT/.tidalsort`` (said once: the copies are then made in memory)."""
        if not create and not os.path.lexists(self.wav_folder):
            return None
        try:
            return own_folder(state_dir(self.root, create=create) / "serve-wav", create=create)
        except UnsafePath as exc:
            if not self._said_unsafe:
                sys.stderr.write(f"tidalsort: warning: {exc}; AIFF is converted in memory instead\n")
                self._said_unsafe = True
        except OSError:
            pass
        return None

    def _drop_unused_wavs(self) -> None:
        """Delete the WAV copies of files no sample of the manifest is now."""
        copies = self._own_wav_folder(create=False)
        if copies is None:
            return
        needed = set()
        for folder, name in self.files:
            if name.lower().endswith(AIFF):
                try:
                    needed.add(wav_name(os.stat(self.root / folder / name)))
                except OSError:
                    pass
        for copy in copies.iterdir():
            if copy.name not in needed:
                try:
                    copy.unlink(missing_ok=True)
                except OSError:  # a root this user may not write to: the copies stay
                    return

    def open(self, folder: str, name: str) -> BinaryIO | None:
        """The sample file ``folder/name`` opened for reading, or None if it may not be served.

        It must be listed in the manifest, in a real folder directly under the root, and a
        regular file, or the very symbolic link to its source that ``--link symlink`` made.
        """
        listed = self.files.get((folder, name))
        if listed is None or os.path.islink(self.root / folder):
            return None
        path = self.root / folder / name
        source, linked = listed
        try:
            if os.path.islink(path) and not (linked and path_text(os.readlink(path)) == source):
                return None
            handle = open(path, "rb", opener=lambda p, flags: os.open(p, flags | (0 if linked else os.O_NOFOLLOW)))
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            handle.close()
            return None
        return handle

    def open_map(self, target: str) -> tuple[BinaryIO, str] | None:
        """A file of a bank's sound map (:func:`map_files`) for the request target ``target``
        and its type, or None: a regular file in real folders, opened without following a link."""
        file = self.map_files.get(urlsplit(target).path)
        if file is None or any(os.path.islink(folder) for folder in file.parents if self.root in folder.parents):
            return None
        try:
            handle = open(file, "rb", opener=no_follow)
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            handle.close()
            return None
        return handle, CONTENT_TYPES[file.suffix]

    def as_wav(self, handle: BinaryIO) -> BinaryIO:
        """The WAV copy of the sample file open in ``handle``: kept in :attr:`wav_folder`, made
        now if it is not there yet (in memory if it cannot be kept).

        Raises
        ------
        UnreadableAudio
            If the file is not a sound libsndfile reads.
        """
        folder = self._own_wav_folder(create=True)
        if folder is not None:
            copy = folder / wav_name(os.fstat(handle.fileno()))
            try:
                return open(copy, "rb", opener=no_follow)
            except OSError:
                pass  # not made yet (or unreadable): make it
            try:
                write_atomic(copy, lambda tmp: write_wav(handle, tmp), self.root / STATE_DIR)
                return open(copy, "rb", opener=no_follow)
            except OSError:  # a root this user may not write to
                handle.seek(0)
        data = io.BytesIO()
        write_wav(handle, data)
        data.seek(0)
        return data


class SampleServer(ThreadingHTTPServer):
    """An HTTP server of one root's banks (see the module's docstring).

    Parameters
    ----------
    root, host, port
        What to serve, and where.
    idle_timeout
        Seconds a connection may send or take nothing before it is closed (its thread ends).
    """

    daemon_threads = True
    #: Connections the kernel queues until they are accepted (capped by net.core.somaxconn).
    #: A Strudel page loading a bank asks for its samples at once: with http.server's 5,
    #: 200 clients x 10 requests (bench/serve_load.py) left 42 to 146 requests unanswered in 30 s.
    request_queue_size = 1024

    def __init__(self, root: Path, host: str = SERVE_HOST, port: int = SERVE_PORT, *, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)
        self.catalogue = Catalogue(root)
        self.loopback = ipaddress.ip_address(str(self.server_address[0])).is_loopback
        self.idle_timeout = idle_timeout

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing of a client that went away (a download cancelled, a page closed) or went
        quiet past the idle timeout: both are normal; anything else is a fault, with its traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        """The server's own address, ``http://host:port/``."""
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def paste_line(url: str) -> str:
    """The line that loads the sample map of a server at ``url`` in Strudel."""
    return f"samples('{url}{STRUDEL_MAP_NAME}')"


class Handler(BaseHTTPRequestHandler):
    """GET, HEAD and CORS preflights for :class:`SampleServer`."""

    server: SampleServer
    protocol_version = "HTTP/1.1"
    server_version = "tidalsort"

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # type: ignore[misc]  # the socket's timeout, which StreamRequestHandler.setup reads from the instance
        super().setup()

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("Request timed out"):  # an idle connection closed: normal
            super().log_error(format, *args)

    def do_OPTIONS(self) -> None:
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers") or "Range")
        if self.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges")

    def _origin(self) -> str | None:
        """``http://<Host>`` of the request, or None if a loopback server was reached by another name."""
        host = self.headers.get("Host") or self.server.url[len("http://") : -1]
        try:
            name = urlsplit(f"//{host}").hostname
        except ValueError:
            return None
        if name is None or (self.server.loopback and name not in _LOOPBACK_NAMES and not name.endswith(".localhost")):
            return None
        return f"http://{host}"

    def _fail(self, status: HTTPStatus, reason: str, body: bool) -> None:
        data = f"{status.value} {status.phrase}: {reason}\n".encode()
        self.send_response(status)
        self._cors()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _answer(self, body: bool) -> None:
        origin = self._origin()
        if origin is None:
            return self._fail(HTTPStatus.MISDIRECTED_REQUEST, "this server answers to loopback names only (127.0.0.1, localhost)", body)
        try:
            parts = request_parts(self.path)
        except UnicodeDecodeError:
            parts = None
        try:
            self.server.catalogue.refresh()
        except ManifestError as exc:
            return self._fail(HTTPStatus.SERVICE_UNAVAILABLE, str(exc), body)
        if parts == [STRUDEL_MAP_NAME]:
            data = json.dumps(sample_map(self.server.catalogue.manifest, origin + "/"), indent=1).encode()
            return self._send_bytes(data, CONTENT_TYPES[".json"], body)
        page = self.server.catalogue.open_map(self.path)
        if page is not None:
            with page[0]:
                return self._send_file(page[0], page[1], body)
        handle = self.server.catalogue.open(*parts) if parts and len(parts) == 2 else None
        if parts is None or handle is None:
            return self._fail(HTTPStatus.NOT_FOUND, "not a sample of this root's banks", body)
        kind = CONTENT_TYPES.get(Path(parts[1]).suffix.lower(), "application/octet-stream")
        with handle:
            if parts[1].lower().endswith(AIFF):
                try:
                    with self.server.catalogue.as_wav(handle) as wav:
                        return self._send_file(wav, CONTENT_TYPES[".wav"], body)
                except UnreadableAudio as exc:
                    sys.stderr.write(
                        f"tidalsort: warning: {self.server.catalogue.root / parts[0] / parts[1]}: not readable as sound, served as it is ({exc})\n"
                    )
            self._send_file(handle, kind, body)

    def _send_bytes(self, data: bytes, kind: str, body: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self._cors()
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _send_file(self, handle: BinaryIO, kind: str, body: bool) -> None:
        size = handle.seek(0, os.SEEK_END)
        try:
            span = byte_range(self.headers.get("Range"), size)
        except Unsatisfiable:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self._cors()
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        first, last = span or (0, size - 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if span else HTTPStatus.OK)
        self._cors()
        self.send_header("Content-Type", kind)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(last - first + 1))
        if span:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if not body:
            return
        handle.seek(first)
        left = last - first + 1
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:  # the file shrank since: the client sees a short answer
                self.close_connection = True
                break
            self.wfile.write(chunk)
            left -= len(chunk)
