"""Run real GHC, GHCi and Tidal for the tests of the Tidal helpers (tests/test_haskell.py,
tests/test_tidal_bridge.py): the toolchain check, OSC encoding and decoding, a UDP socket
standing in for SuperDirt that records Tidal's /dirt/play messages, and GHCi sessions
started as BootTidal.hs starts Tidal.

Plain Python apart from :func:`require_toolchain` (which skips or, under CI=true, fails).
"""
from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HS = ROOT / "haskell"
MODULE = HS / "src" / "Sound" / "Tidal" / "TidalSort.hs"
SCRIPT = HS / "tidalsort.hs"


def require_toolchain() -> dict:
    """Paths of ghc, ghci and ghc-pkg and the installed Tidal version; skips the calling
    test when one is missing (fails under CI=true)."""
    from conftest import require

    tools = {name: shutil.which(name) for name in ("ghc", "ghci", "ghc-pkg")}
    missing = [name for name, path in tools.items() if not path]
    require(not missing, f"{', '.join(missing)} not found (apt-get install ghc libghc-tidal-dev)")
    res = subprocess.run([tools["ghc-pkg"], "field", "tidal", "version", "--simple-output"],
                         capture_output=True, text=True)
    require(res.returncode == 0 and bool(res.stdout.strip()),
            "the Haskell package tidal is not installed (apt-get install libghc-tidal-dev)")
    tools["tidal_version"] = res.stdout.split()[0]
    return tools


def _osc_str(s: str) -> bytes:
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)


def osc_message(address: str, *args) -> bytes:
    tags, payload = ",", b""
    for a in args:
        if isinstance(a, str):
            tags, payload = tags + "s", payload + _osc_str(a)
        elif isinstance(a, int):
            tags, payload = tags + "i", payload + struct.pack(">i", a)
        else:
            tags, payload = tags + "f", payload + struct.pack(">f", a)
    return _osc_str(address) + _osc_str(tags) + payload


def _read_str(data: bytes, i: int) -> tuple[str, int]:
    j = data.index(b"\0", i)
    return data[i:j].decode("latin-1"), j + 1 + (-(j + 1) % 4)


def parse_osc(data: bytes) -> list[tuple[str, list]]:
    if data.startswith(b"#bundle\0"):
        out, i = [], 16
        while i + 4 <= len(data):
            (size,) = struct.unpack(">i", data[i:i + 4])
            out += parse_osc(data[i + 4:i + 4 + size])
            i += 4 + size
        return out
    address, i = _read_str(data, 0)
    if i >= len(data):
        return [(address, [])]
    tags, i = _read_str(data, i)
    args = []
    for t in tags[1:]:
        if t == "s":
            v, i = _read_str(data, i)
        elif t == "i":
            (v,), i = struct.unpack(">i", data[i:i + 4]), i + 4
        elif t == "f":
            (v,), i = struct.unpack(">f", data[i:i + 4]), i + 4
        elif t == "d":
            (v,), i = struct.unpack(">d", data[i:i + 8]), i + 8
        elif t == "h":
            (v,), i = struct.unpack(">q", data[i:i + 8]), i + 8
        else:
            v = None
        args.append(v)
    return [(address, args)]


class DirtCapture:
    """A UDP socket standing in for SuperDirt; records every /dirt/play as a dict."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.plays: list[tuple[float, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            now = time.monotonic()
            for address, args in parse_osc(data):
                if address == "/dirt/play":
                    self.plays.append((now, dict(zip(args[0::2], args[1::2]))))

    def between(self, t0: float, t1: float) -> list[dict]:
        return [m for t, m in list(self.plays) if t0 <= t < t1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send_ctrl(port: int, key: str, value) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(osc_message("/ctrl", key, value), ("127.0.0.1", port))


def wait_for_line(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    seen, deadline = [], time.monotonic() + timeout
    box: list = []

    def reader():
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                box.append(line)
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(max(0.0, deadline - time.monotonic()))
    assert box, f"no {marker!r} within {timeout}s; output so far: {''.join(seen)[-2000:]!r}"
    return "".join(seen)


def boot_preamble(dirt_port: int, ctrl_port: int, tempo_port: int) -> str:
    return f"""\
:set -XOverloadedStrings
:set prompt ""
:set prompt-cont ""
import Sound.Tidal.Context
import System.IO (hSetEncoding, stderr, utf8)
hSetEncoding stderr utf8
tidal <- startTidal (superdirtTarget {{oLatency = 0.05, oAddress = "127.0.0.1", oPort = {dirt_port}}}) (defaultConfig {{cFrameTimespan = 1/20, cCtrlPort = {ctrl_port}, cTempoPort = {tempo_port}}})
:{{
let only = (hush >>)
    p = streamReplace tidal
    hush = streamHush tidal
    d1 = p 1 . (|< orbit 0)
    d2 = p 2 . (|< orbit 1)
    d3 = p 3 . (|< orbit 2)
    d4 = p 4 . (|< orbit 3)
    setcps = streamOnce tidal . cps
:}}
"""


def run_ghci(toolchain: dict, script: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([toolchain["ghci"], "-v0", "-ignore-dot-ghci"], input=script,
                          capture_output=True, text=True, timeout=timeout, cwd=str(HS))


class GhciSession:
    """A GHCi running Tidal as BootTidal.hs does, with ``tidalsort.hs`` loaded by ``:script``,
    kept open so that lines can be sent while Tidal plays."""

    def __init__(self, toolchain: dict, dirt_port: int, ctrl_port: int, tempo_port: int, timeout: float = 120) -> None:
        self.proc = subprocess.Popen([toolchain["ghci"], "-v0", "-ignore-dot-ghci"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(HS))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.run(boot_preamble(dirt_port, ctrl_port, tempo_port) + f":script {SCRIPT}\n", timeout)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def run(self, code: str, timeout: float = 30) -> None:
        """Send lines of GHCi input and wait until GHCi has run them."""
        marker = f"DONE-{len(self.lines)}-{time.monotonic_ns()}"
        assert self.proc.stdin is not None
        self.proc.stdin.write(code + f'putStrLn "{marker}"\n')
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while marker not in self.lines:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"GHCi did not run the lines (exit {self.proc.returncode}):\n"
                                     + "\n".join(self.lines[-20:]))
            time.sleep(0.05)

    def close(self) -> str:
        """Quit GHCi; returns what it wrote to standard error."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()
