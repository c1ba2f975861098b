"""Run real GHC, GHCi and Tidal for the tests of the Tidal helpers (tests/test_haskell.py,
tests/test_tidal_bridge.py): the toolchain check, OSC encoding and decoding, a UDP socket
standing in for SuperDirt that records Tidal's /dirt/play messages, and GHCi sessions
started as BootTidal.hs starts Tidal.

Plain Python apart from :func:`require_toolchain` (which skips or, under CI=true, fails).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HS = ROOT / "haskell"
MODULE = HS / "src" / "Sound" / "Tidal" / "TidalSort.hs"
SCRIPT = HS / "tidalsort.hs"
VENDOR = ROOT.parent / "shared" / "vendor"

#: The Tidal versions the helpers are tested against: Debian's package (1.7.10, the real
#: thing, streams included) and the pure modules of Tidal 1.9.5 and 1.10.0 (tidal-core) from
#: the sources in ../shared/vendor (see its README).
TIDALS = ("debian", "1.9.5", "1.10.0")
VENDORED_TIDAL = {
    "1.9.5": (VENDOR / "Tidal-1.9.5" / "src", VENDOR / "Tidal-1.9.5" / "src"),
    "1.10.0": (VENDOR / "Tidal-1.10.0" / "tidal-core" / "src", VENDOR / "Tidal-1.10.0" / "src"),
}
#: Modules that Tidal's Sound.Tidal.Context re-exports and the stand-in leaves out: the
#: stream, which needs Ableton Link (tidal-link, C++) and hosc; the helpers use only its
#: type Stream and streamSetS, which the stand-in gives with Tidal's signatures.
STREAM_MODULES = {"Sound.Tidal.Config", "Sound.Tidal.Stream", "Sound.Tidal.Transition", "Sound.Tidal.Version"}
STAND_IN = """\
-- Stand-in for Tidal {version}'s Sound.Tidal.Context, written by tests/hs_support.py: the
-- pure modules Tidal's own Context re-exports, and Stream/streamSetS with Tidal's types
-- (streamSetS stores the pattern as Tidal's streamSet does) instead of the real stream.
module Sound.Tidal.Context (module C, Stream, streamSetS) where
import Prelude hiding ((<*), (*>))
import Data.IORef (IORef, modifyIORef)
import qualified Data.Map.Strict as Map
{imports}
newtype Stream = Stream (IORef ValueMap)

streamSetS :: Stream -> String -> Pattern String -> IO ()
streamSetS (Stream ref) k pat = modifyIORef ref (Map.insert k (VPattern (toValue <$> pat)))
"""


def require_toolchain() -> dict:
    """Paths of ghc, ghci and ghc-pkg and the installed Tidal version; skips the calling
    test when one is missing (fails under CI=true)."""
    from conftest import require

    tools = {name: shutil.which(name) for name in ("ghc", "ghci", "ghc-pkg")}
    missing = [name for name, path in tools.items() if not path]
    require(not missing, f"{', '.join(missing)} not found (apt-get install ghc libghc-tidal-dev)")
    res = subprocess.run([tools["ghc-pkg"], "field", "tidal", "version", "--simple-output"], capture_output=True, text=True)
    require(
        res.returncode == 0 and bool(res.stdout.strip()), "the Haskell package tidal is not installed (apt-get install libghc-tidal-dev)"
    )
    tools["tidal_version"] = res.stdout.split()[0]
    return tools


def stand_in_context(version: str) -> str:
    """The stand-in Sound.Tidal.Context for a vendored Tidal: every module its real Context
    re-exports, but the stream's."""
    real = (VENDORED_TIDAL[version][1] / "Sound" / "Tidal" / "Context.hs").read_text(encoding="utf-8")
    modules = [m for m in re.findall(r"^import\s+([\w.]+)\s+as\s+C\s*$", real, re.MULTILINE) if m not in STREAM_MODULES]
    assert "Sound.Tidal.Pattern" in modules, f"no re-exports found in Tidal {version}'s Context.hs"
    return STAND_IN.format(version=version, imports="\n".join(f"import {m} as C" for m in modules))


@functools.cache
def vendored_tidal(version: str) -> Path:
    """A folder holding the stand-in Context (``shim/``) and Tidal ``version``'s pure modules
    compiled with it for GHC (``objs/``) and for GHCi (``ghci-objs/``), built once and kept in
    the temporary folder under a key of the sources, the stand-in, the flags and GHC's version
    (30 to 40 s per version on 2 busy cores; later sessions reuse it)."""
    from conftest import require

    source = VENDORED_TIDAL[version][0]
    require(source.is_dir(), f"Tidal {version}'s sources are missing at {source} (see ../shared/vendor/README.md)")
    ghc = shutil.which("ghc")
    require(ghc is not None, "ghc not found (apt-get install ghc)")
    stand_in = stand_in_context(version)
    digest = hashlib.sha256(subprocess.run([ghc, "--numeric-version"], capture_output=True, text=True).stdout.encode())
    digest.update("\0".join([*_BUILD_FLAGS, *_GHCI_FLAGS, *_objects_in(Path("objs")), stand_in]).encode())
    for path in sorted(source.rglob("*.hs")):
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    final = Path(tempfile.gettempdir()) / f"tidalsort-tidal-{version}-{digest.hexdigest()[:16]}"
    if (final / "objs").is_dir():
        return final
    work = Path(tempfile.mkdtemp(prefix=f"tidalsort-tidal-{version}-", dir=tempfile.gettempdir()))
    context = work / "shim" / "Sound" / "Tidal" / "Context.hs"
    context.parent.mkdir(parents=True)
    context.write_text(stand_in, encoding="utf-8")
    try:
        res = subprocess.run(
            [ghc, "--make", "-no-link", *_BUILD_FLAGS, *_vendored_paths(version, work), *_objects_in(work / "objs"), str(context)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert res.returncode == 0, f"ghc failed on Tidal {version}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        # GHCi (dynamically linked) cannot use those objects: it gets its own, so that a session
        # starts in about a second instead of interpreting Tidal for 15 s
        res = subprocess.run(
            [
                shutil.which("ghci") or "ghci",
                "-v0",
                "-ignore-dot-ghci",
                *_GHCI_FLAGS,
                *_vendored_paths(version, work),
                *_objects_in(work / "ghci-objs"),
            ],
            input=":load Sound.Tidal.Context\n",
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert res.returncode == 0 and "rror" not in res.stderr, f"ghci failed on Tidal {version}:\n{res.stderr[-3000:]}"
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        work.rename(final)  # another session may have built it meanwhile: keep theirs
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
    return final


#: Compiler flags of every build; a build that reuses the objects of the vendored modules must
#: pass exactly the flags they were compiled with, search path included (GHC 9.0 compiles a
#: module again when they differ: "[flags changed]").
_BUILD_FLAGS = ("-O0", "-threaded", "-Wall", f"-i{HS / 'src'}")
#: GHCi's flags: object code (not interpreted), and no -Wall, whose warnings would reach
#: the statements a test types.
_GHCI_FLAGS = ("-fobject-code", "-O0", f"-i{HS / 'src'}")


def _objects_in(folder: Path) -> list[str]:
    # -odir and -hidir, not -outputdir: that also sets the stub folder, which GHC 9.0 counts
    # among the flags, so objects built elsewhere would be compiled again
    return ["-odir", str(folder), "-hidir", str(folder)]


def _vendored_paths(version: str, built: Path) -> list[str]:
    return ["-hide-package", "tidal", f"-i{built / 'shim'}", f"-i{VENDORED_TIDAL[version][0]}"]


def tidal_flags(version: str, outdir: Path, *, ghci: bool = False) -> list[str]:
    """GHC (or, with ``ghci``, GHCi) flags that build against Tidal ``version`` with objects
    in ``outdir``: none for Debian's; for a vendored one, its sources and stand-in, with its
    compiled modules copied into ``outdir`` so nothing of Tidal is compiled again."""
    if version == "debian":
        return _objects_in(outdir)
    built = vendored_tidal(version)
    shutil.copytree(built / ("ghci-objs" if ghci else "objs"), outdir, dirs_exist_ok=True)  # copy2 keeps the times GHC compares
    return [*(_GHCI_FLAGS if ghci else ()), *_vendored_paths(version, built), *_objects_in(outdir)]


def build(toolchain: dict, version: str, main: Path, outdir: Path, *, exe: str) -> Path:
    """Compile the program ``main`` (with the helpers' module) against Tidal ``version``."""
    target = outdir / exe
    res = subprocess.run(
        [toolchain["ghc"], "--make", *_BUILD_FLAGS, *tidal_flags(version, outdir / f"build-{exe}"), "-o", str(target), str(main)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, f"ghc failed on {main.name} with Tidal {version}:\n{res.stdout}\n{res.stderr}"
    assert f"{MODULE}:" not in res.stderr, f"the helpers' module has warnings with Tidal {version}:\n{res.stderr}"
    return target


@functools.cache
def probe_events(toolchain_ghc: str, version: str) -> dict:
    """What haskell/test/Probe.hs prints, built against Tidal ``version`` (once per session):
    case name -> the JSON of its events."""
    outdir = Path(tempfile.mkdtemp(prefix=f"tidalsort-probe-{version}-"))
    try:
        exe = build({"ghc": toolchain_ghc}, version, HS / "test" / "Probe.hs", outdir, exe="probe")
        res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    assert res.returncode == 0, res.stderr
    out = {}
    for line in res.stdout.splitlines():
        name, _, payload = line.partition("\t")
        out[name] = json.loads(payload)
    return out


def ghci_preamble(version: str) -> str:
    """GHCi lines that bring Sound.Tidal.Context into scope: Debian's package is imported;
    the stand-in of a vendored Tidal is a home module, loaded (from its objects) first. Put
    them before any ``:set -X...``: a language flag set earlier counts as changed flags and
    GHCi would compile Tidal again (15 s)."""
    load = "" if version == "debian" else ":load Sound.Tidal.Context\n"
    return load + "import Sound.Tidal.Context\n"


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
            (size,) = struct.unpack(">i", data[i : i + 4])
            out += parse_osc(data[i + 4 : i + 4 + size])
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
            (v,), i = struct.unpack(">i", data[i : i + 4]), i + 4
        elif t == "f":
            (v,), i = struct.unpack(">f", data[i : i + 4]), i + 4
        elif t == "d":
            (v,), i = struct.unpack(">d", data[i : i + 8]), i + 8
        elif t == "h":
            (v,), i = struct.unpack(">q", data[i : i + 8]), i + 8
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


def run_ghci(toolchain: dict, script: str, timeout: float = 120, flags: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh GHCi (``flags``: :func:`tidal_flags` for another Tidal)."""
    return subprocess.run(
        [toolchain["ghci"], "-v0", "-ignore-dot-ghci", *(flags or [])],
        input=script,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(HS),
    )


class GhciSession:
    """A GHCi running Tidal as BootTidal.hs does, with ``tidalsort.hs`` loaded by ``:script``,
    kept open so that lines can be sent while Tidal plays."""

    def __init__(self, toolchain: dict, dirt_port: int, ctrl_port: int, tempo_port: int, timeout: float = 120) -> None:
        self.proc = subprocess.Popen(
            [toolchain["ghci"], "-v0", "-ignore-dot-ghci"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(HS),
        )
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
                raise AssertionError(f"GHCi did not run the lines (exit {self.proc.returncode}):\n" + "\n".join(self.lines[-20:]))
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
