"""Run real SuperCollider components for the TidalSort tests and the latency bench.

``ScStack`` starts, on free ports and with a unique JACK server name:

1. ``jackd --no-realtime -d dummy -r 44100 -p 1024`` (a real audio server, no sound card);
2. ``scsynth`` connected to that JACK server, UDP on 127.0.0.1;
3. headless ``sclang`` with ``includePaths`` = the TidalSort quark and real SuperDirt 1.7.3
   and Vowel from ``../shared/vendor`` (beside the project, never installed), running
   ``supercollider/test/tidalsort_test.scd``, which connects to the scsynth, starts
   ``SuperDirt`` as users do and calls ``TidalSort.start``.

Every process runs in its own session and is stopped by its process-group id on ``stop()``
(TERM, then KILL). This module is plain Python (no pytest fixtures) so the bench can use it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from pythonosc.osc_message import OscMessage  # noqa: E402
from pythonosc.osc_message_builder import OscMessageBuilder  # noqa: E402

from tidalsort.live import bridge  # noqa: E402

SC_DIR = REPO / "supercollider"
QUARK_DIR = SC_DIR / "TidalSort"
VENDOR = REPO.parent / "shared" / "vendor"
VENDOR_QUARKS = (VENDOR / "SuperDirt", VENDOR / "Vowel")
TEST_SCRIPT = SC_DIR / "test" / "tidalsort_test.scd"
TOOLS = ("jackd", "scsynth", "sclang")
RESERVED_PORTS = {57110, 57120, 6010}
JACK_NAME_POOL = 6  # JACK's registry holds 8 server names; leave room for others


class StackError(RuntimeError):
    """A component could not be started."""


def missing_tools() -> list[str]:
    """Return the names of required executables that are not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def missing_vendor() -> list[str]:
    """Return the vendored quarks (SuperDirt, Vowel) missing from ``../shared/vendor``."""
    return [str(q) for q in VENDOR_QUARKS if not (q / f"{q.name}.quark").is_file()]


def require_sclang() -> None:
    """Skip the calling test without sclang or the vendored SuperDirt; under CI=true, fail."""
    from conftest import require

    require(shutil.which("sclang") is not None, "missing sclang (apt-get install supercollider-language)")
    missing = missing_vendor()
    require(not missing, f"missing SuperDirt/Vowel quarks at {', '.join(missing)} (see ../shared/vendor/README.md)")


def require_tools() -> None:
    """Skip the calling test when a tool or the vendored SuperDirt is missing; under CI=true, fail."""
    from conftest import require

    missing = missing_tools()
    require(not missing, f"missing {', '.join(missing)} (apt-get install supercollider-language supercollider-server jackd2)")
    require_sclang()


def free_udp_port(host: str = "127.0.0.1") -> int:
    """Return a UDP port that is free right now (never 57110, 57120 or 6010)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def osc(address: str, *args: Any) -> bytes:
    """Encode an OSC message; ``(value, "type")`` tuples force a type tag."""
    builder = OscMessageBuilder(address)
    for arg in args:
        if isinstance(arg, tuple):
            builder.add_arg(arg[0], arg[1])
        else:
            builder.add_arg(arg)
    return builder.build().dgram


class OscPeer:
    """A UDP socket on 127.0.0.1 (or ``bind_host``) that sends OSC and collects replies."""

    def __init__(self, bind_host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((bind_host, port))
        self.port: int = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def send(self, port: int, datagram: bytes, host: str = "127.0.0.1") -> None:
        self.sock.sendto(datagram, (host, port))

    def collect(self, timeout: float, until: Any | None = None) -> list[OscMessage]:
        """Receive messages for up to ``timeout`` s, or until ``until(msg)`` is true."""
        out: list[OscMessage] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            self.sock.settimeout(remaining)
            try:
                data, _ = self.sock.recvfrom(65536)
            except TimeoutError:
                return out
            try:
                msg = OscMessage(data)
            except Exception:
                continue
            out.append(msg)
            if until is not None and until(msg):
                return out

    def drain(self) -> None:
        """Drop every datagram already received."""
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self.sock.setblocking(True)

    def request(self, port: int, datagram: bytes, reply: str, timeout: float = 5.0) -> OscMessage:
        """Send and wait for the first message whose address is ``reply``."""
        self.send(port, datagram)
        msgs = self.collect(timeout, until=lambda m: m.address == reply)
        if not msgs or msgs[-1].address != reply:
            raise TimeoutError(f"no {reply} within {timeout} s (got {[m.address for m in msgs]})")
        return msgs[-1]


def write_bank(
    folder: Path,
    names: Sequence[str],
    seed: int = 0,
    base_frames: int = 300,
    step: int = 37,
    channels: Sequence[int] | None = None,
    subtypes: Sequence[str] | None = None,
    samplerate: int = 44100,
) -> list[dict[str, Any]]:
    """Write one audio file per name with distinct frame counts and contents.

    Returns, in the order of ``names``, dicts with name, path, frames, channels and the
    float32 data as libsndfile reads it back (interleaved frames x channels).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i, name in enumerate(names):
        nch = channels[i % len(channels)] if channels else 1
        subtype = subtypes[i % len(subtypes)] if subtypes else "FLOAT"
        frames = base_frames + step * i + seed % 7
        data = (rng.random((frames, nch)) - 0.5).astype(np.float32) * 0.8
        data[0, :] = (i + 1) / 1000.0  # a marker in the first frame
        path = folder / name
        fmt = "AIFF" if name.lower().endswith((".aif", ".aiff")) else "WAV"
        sf.write(str(path), data, samplerate, subtype=subtype, format=fmt)
        back, _ = sf.read(str(path), dtype="float32", always_2d=True)
        out.append({"name": name, "path": path, "frames": frames, "channels": nch, "data": back})
    return out


class TidalControls:
    """Tidal's control state as ``/ctrl`` messages leave it, read the way the Tidal helpers
    read it (haskell/: ``tidalsortLive``): a value ``"@<g> <n>"`` stands for the ``n`` parts
    under ``key.<g % 2>.<i>``, each ``"<g>:<text>"``; a part missing or of another generation
    makes the value ``""``."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def apply(self, messages: Iterable[OscMessage]) -> None:
        for msg in messages:
            if msg.address == "/ctrl":
                self.values[str(msg.params[0])] = str(msg.params[1])

    def live(self, key: str) -> str:
        value = self.values.get(key, "")
        header = re.fullmatch(r"@([0-9]+) ([0-9]+)", value)
        if header is None or not 1 <= int(header[2]) <= 64:
            return value
        gen, count = int(header[1]), int(header[2])
        texts = []
        for i in range(count):
            tag, colon, text = self.values.get(f"{key}.{gen % 2}.{i}", "").partition(":")
            if not colon or not tag.isdigit() or int(tag) != gen:
                return ""
            texts.append(text)
        return "".join(texts)


def synths_in_tree(params: Sequence[Any]) -> list[tuple[int, str, dict[str, Any]]]:
    """The synths of a ``/g_queryTree.reply`` (asked with controls): (node id, SynthDef
    name, control name -> value), depth first."""
    with_controls = bool(params[0])
    synths: list[tuple[int, str, dict[str, Any]]] = []

    def node(i: int) -> int:
        node_id, children = int(params[i]), int(params[i + 1])
        i += 2
        if children >= 0:  # a group
            for _ in range(children):
                i = node(i)
            return i
        name, controls = str(params[i]), {}
        i += 1
        if with_controls:
            count = int(params[i])
            i += 1
            for _ in range(count):
                controls[str(params[i])] = params[i + 1]
                i += 2
        synths.append((node_id, name, controls))
        return i

    node(1)
    return synths


def byte_order(names: Iterable[str]) -> list[str]:
    """Sort names by their UTF-8 bytes (tidalsort's manifest order)."""
    return sorted(names, key=lambda n: n.encode("utf-8"))


class ScStack:
    """jackd (dummy) + scsynth + headless sclang running TidalSort inside real SuperDirt.

    Parameters
    ----------
    workdir : Path
        Folder for logs and the sclang config.
    root : Path
        The one sample root given to ``TidalSort.start``.
    seed_folder : Path, optional
        A folder loaded at startup as bank ``seeded`` the way SuperDirt loads banks.
    grace : float
        ``graceDelay`` for freeing replaced buffers.
    allow : str, optional
        Comma-separated allow-list for TidalSort (``None``: its default, loopback).
    num_buffers : int
        scsynth's ``-b`` (with two logins, sclang allocates from half of them).
    tidal_port : int, optional
        Where TidalSort sends ``/ctrl`` (a real Tidal's control port); by default to
        :attr:`ctrl`, a socket of this object that records the messages.
    """

    def __init__(
        self,
        workdir: Path,
        root: Path,
        seed_folder: Path | None = None,
        grace: float = 0.3,
        allow: str | None = "127.0.0.1",
        num_buffers: int = 4096,
        start_timeout: float = 60.0,
        tidal_port: int | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.root = Path(root)
        self.seed_folder = seed_folder
        self.grace = grace
        self.allow = allow
        self.num_buffers = num_buffers
        self.start_timeout = start_timeout
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.logs: dict[str, Path] = {}
        self.jack_name = ""
        self.server_port = free_udp_port()
        self.lang_port = free_udp_port()
        self.listen_port = free_udp_port()
        self.ctrl = OscPeer()  # plays Tidal's control port
        self.tidal_port = tidal_port or self.ctrl.port
        self.peer = OscPeer()  # talks to scsynth and to the /test/* handlers
        self.nodes: OscPeer | None = None  # registered with scsynth for /n_go (see play)

    # ---- lifecycle -------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["JACK_DEFAULT_SERVER"] = self.jack_name
        env["JACK_NO_START_SERVER"] = "1"
        env.pop("SC_JACK_DEFAULT_INPUTS", None)
        env.pop("SC_JACK_DEFAULT_OUTPUTS", None)
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        fh = open(log, "wb")
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.workdir),
                start_new_session=True,
            )
        finally:
            fh.close()
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs.get(name)
        if path is None or not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _fail(self, what: str) -> None:
        details = "\n".join(f"--- {n}.log ---\n{self.log_tail(n)}" for n in self.logs)
        self.stop()
        raise StackError(f"{what}\n{details}")

    def start(self) -> ScStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = self._env()
        self._start_jack(env)
        env = self._env()
        scsynth = self._spawn(
            "scsynth",
            [
                "scsynth",
                "-u",
                str(self.server_port),
                "-B",
                "127.0.0.1",
                "-b",
                str(self.num_buffers),
                "-l",
                "2",
                "-i",
                "0",
                "-o",
                "2",
                "-R",
                "0",
            ],
            env,
        )
        self._wait_scsynth(scsynth)
        conf = write_sclang_conf(self.workdir / "sclang_conf.yaml")
        senv = dict(env)
        senv.update(
            QT_QPA_PLATFORM="offscreen",
            QTWEBENGINE_DISABLE_SANDBOX="1",
            TIDALSORT_TEST_SERVER_PORT=str(self.server_port),
            TIDALSORT_TEST_LISTEN_PORT=str(self.listen_port),
            TIDALSORT_TEST_CTRL_PORT=str(self.tidal_port),
            TIDALSORT_TEST_ROOT=str(self.root),
            TIDALSORT_TEST_GRACE=str(self.grace),
            TIDALSORT_TEST_NUM_BUFFERS=str(self.num_buffers),
            TIDALSORT_TEST_MAX_SECONDS="1200",
        )
        senv.setdefault("XDG_RUNTIME_DIR", str(self.workdir))
        if self.seed_folder is not None:
            senv["TIDALSORT_TEST_SEED"] = str(self.seed_folder)
        if self.allow is not None:
            senv["TIDALSORT_TEST_ALLOW"] = self.allow
        sclang = self._spawn("sclang", ["sclang", "-D", "-u", str(self.lang_port), "-l", str(conf), str(TEST_SCRIPT)], senv)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if sclang.poll() is not None:
                self._fail(f"sclang exited with {sclang.returncode}")
            try:
                if bridge.ping("127.0.0.1", self.listen_port, timeout=0.5) == bridge.PROTOCOL_VERSION:
                    return self
            except bridge.BridgeError:
                pass
        self._fail(f"TidalSort did not answer /tidalsort/ping within {self.start_timeout} s")
        return self

    def _start_jack(self, env: dict[str, str]) -> subprocess.Popen:
        """Start jackd under the first free name of a small pool.

        JACK keeps at most 8 server names in its shared registry and only reclaims the
        entry of a dead server when a server with the same name starts again, so a fresh
        random name per run would fill the registry whenever a jackd dies uncleanly.
        A pool of names, each checked with jack_wait, keeps runs apart and reusable.
        """
        for k in range(JACK_NAME_POOL):
            name = f"tidalsort-test-{k}"
            if self._jack_running(name, env):
                continue
            self.jack_name = name
            env = self._env()
            jack = self._spawn(
                "jackd",
                ["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", "44100", "-p", "1024"],
                env,
            )
            if self._wait_jack(jack, env):
                return jack
            self.procs.remove(("jackd", jack))
        self._fail(f"could not start jackd under any of the names tidalsort-test-0..{JACK_NAME_POOL - 1}")
        raise AssertionError("unreachable")

    @staticmethod
    def _jack_running(name: str, env: dict[str, str]) -> bool:
        jack_wait = shutil.which("jack_wait")
        if not jack_wait:
            return False
        env = dict(env, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
        try:
            r = subprocess.run([jack_wait, "-c", "-s", name], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        except subprocess.TimeoutExpired:
            return True
        return r.stdout.strip().startswith(b"running")

    def _wait_jack(self, jack: subprocess.Popen, env: dict[str, str]) -> bool:
        """True once jackd runs; False if it exited (e.g. the name was taken meanwhile)."""
        deadline = time.monotonic() + 20
        jack_wait = shutil.which("jack_wait")
        while time.monotonic() < deadline:
            if jack.poll() is not None:
                return False
            if jack_wait:
                if self._jack_running(self.jack_name, env):
                    return True
            elif time.monotonic() > deadline - 18:
                return True
            time.sleep(0.2)
        self._fail("jackd did not start within 20 s")
        return False

    def _wait_scsynth(self, scsynth: subprocess.Popen) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if scsynth.poll() is not None:
                self._fail(f"scsynth exited with {scsynth.returncode}")
            try:
                self.peer.request(self.server_port, osc("/status"), "/status.reply", timeout=0.3)
                return
            except TimeoutError:
                pass
        self._fail("scsynth did not answer /status within 30 s")

    def stop(self) -> None:
        """Stop sclang, scsynth, jackd (in that order): politely first (/test/quit,
        scsynth's /quit, SIGTERM), then by SIGKILL to their process groups."""
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                polite = {"sclang": (self.listen_port, "/test/quit"), "scsynth": (self.server_port, "/quit")}
                if name in polite:
                    try:
                        self.peer.send(polite[name][0], osc(polite[name][1]))
                        proc.wait(timeout=5)
                    except Exception:
                        pass
            # jackd waits up to 5 s for clients that vanished before it exits cleanly
            stop_process(proc, timeout=15 if name == "jackd" else 5)
            if name == "scsynth":
                # scsynth removes its shared memory on a clean exit only
                shm = Path(f"/dev/shm/SuperColliderServer_{self.server_port}")
                if shm.exists():
                    try:
                        shm.unlink()
                    except OSError:
                        pass
        self.procs = []
        for p in (self.ctrl, self.peer, self.nodes):
            try:
                if p is not None:
                    p.close()
            except Exception:
                pass

    def __enter__(self) -> ScStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- sclang-side inspection (/test/* handlers) ------------------------------------
    def state(self, bank: str) -> list[tuple[int, int, int, int, int, int]] | None:
        """Buffers of a bank in the sound library: (bufnum, frames, channels, event bufnum,
        event frames, event channels) per entry, or None if the bank does not exist."""
        msg = self.peer.request(self.listen_port, osc("/test/state", bank), "/test/state")
        p = msg.params
        n = p[1]
        if n < 0:
            return None
        vals = p[2:]
        return [tuple(vals[i * 6 : (i + 1) * 6]) for i in range(n)]  # type: ignore[misc]

    def banks(self) -> list[str]:
        return list(self.peer.request(self.listen_port, osc("/test/banks"), "/test/banks").params)

    def states(self) -> dict[str, list[tuple[int, int, int, int, int, int]] | None]:
        """:meth:`state` of every loaded bank."""
        return {bank: self.state(bank) for bank in self.banks()}

    def monitor(self) -> tuple[int, int]:
        p = self.peer.request(self.listen_port, osc("/test/monitor"), "/test/monitor").params
        return int(p[0]), int(p[1])

    def loader(self) -> tuple[int, int, int]:
        p = self.peer.request(self.listen_port, osc("/test/loader"), "/test/loader").params
        return int(p[0]), int(p[1]), int(p[2])

    def default_allows(self, ip: str) -> bool:
        return bool(self.peer.request(self.listen_port, osc("/test/allow", ip), "/test/allow").params[1])

    def wait_idle(self, timeout: float = 20.0) -> None:
        """Wait until no load is queued and every replaced buffer has been freed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending, queued, busy = self.loader()
            if pending == 0 and queued == 0 and busy == 0:
                self.sync_server()
                return
            time.sleep(0.05)
        raise TimeoutError("TidalSort loader did not become idle")

    def play(self, bank: str, n: int, timeout: float = 3.0) -> tuple[str, int] | None:
        """Play ``(type: \\dirt, s: bank, n: n)`` in sclang, as Tidal's ``s "bank" # n n``
        does, and watch the server: returns the SynthDef name and the ``bufnum`` control of
        the ``dirt_sample_*`` synth SuperDirt started, or None if it started none (an
        unknown sound gets a group whose gate ends at once).

        The answer comes from scsynth itself: its ``/n_go`` notification of the group
        SuperDirt makes for the event, then ``/g_queryTree`` of that group with controls
        (SuperDirt's synths get server-chosen ids, which send no notifications). Sample
        files must last some tenths of a second, so the synth still plays when asked.
        """
        if self.nodes is None:
            self.nodes = OscPeer()
            self.nodes.request(self.server_port, osc("/notify", 1), "/done")
        self.nodes.drain()
        self.peer.request(self.listen_port, osc("/test/play", bank, (n, "i")), "/test/play")
        started = self.nodes.collect(timeout, until=lambda m: m.address == "/n_go" and m.params[4] == 1)
        if not started or started[-1].address != "/n_go":
            return None
        self.peer.send(self.server_port, osc("/g_queryTree", started[-1].params[0], 1))
        tree = self.peer.collect(5.0, until=lambda m: m.address in ("/g_queryTree.reply", "/fail"))
        if not tree or tree[-1].address != "/g_queryTree.reply":
            return None  # the group has already ended: no sample synth still playing in it
        for _, name, controls in synths_in_tree(tree[-1].params):
            if name.startswith("dirt_sample_"):
                return name, int(controls["bufnum"])
        return None

    # ---- scsynth-side inspection -------------------------------------------------------
    def sync_server(self) -> None:
        self.peer.request(self.server_port, osc("/sync", 4711), "/synced")

    def buffer_info(self, bufnums: Sequence[int]) -> dict[int, tuple[int, int, float]]:
        """``/b_query`` straight to scsynth: bufnum -> (frames, channels, sample rate)."""
        out: dict[int, tuple[int, int, float]] = {}
        bufnums = list(bufnums)
        for i in range(0, len(bufnums), 256):
            chunk = bufnums[i : i + 256]
            msg = self.peer.request(self.server_port, osc("/b_query", *chunk), "/b_info")
            p = msg.params
            for j in range(0, len(p), 4):
                out[int(p[j])] = (int(p[j + 1]), int(p[j + 2]), float(p[j + 3]))
        return out

    def allocated_buffer_count(self) -> int:
        """Number of buffers on the server that hold data (frames > 0)."""
        info = self.buffer_info(range(self.num_buffers))
        return sum(1 for frames, _, _ in info.values() if frames > 0)

    def buffer_samples(self, bufnum: int, start: int, count: int) -> np.ndarray:
        """``/b_getn`` straight to scsynth (interleaved samples)."""
        values: list[float] = []
        while count > 0:
            n = min(count, 512)
            msg = self.peer.request(self.server_port, osc("/b_getn", bufnum, start, n), "/b_setn")
            values.extend(msg.params[3:])
            start += n
            count -= n
        return np.asarray(values, dtype=np.float32)


UNIT_SCRIPT = SC_DIR / "test" / "tidalsort_unit.scd"


def write_sclang_conf(path: Path) -> Path:
    """An sclang config whose includePaths are the quark and the vendored SuperDirt and Vowel."""
    paths = "".join(f"  - {p}\n" for p in (QUARK_DIR, *VENDOR_QUARKS))
    path.write_text(f"includePaths:\n{paths}excludePaths: []\npostInlineWarnings: false\nexcludeDefaultPaths: false\n")
    return path


def sclang_env(workdir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    env.setdefault("XDG_RUNTIME_DIR", str(workdir))
    env.update(extra)
    return env


def start_sclang(script: Path, workdir: Path, lang_port: int, **env_extra: str) -> tuple[subprocess.Popen, Path]:
    """Start headless sclang (own session, stdout to workdir/sclang.log) on ``lang_port``."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = write_sclang_conf(workdir / "sclang_conf.yaml")
    log = workdir / "sclang.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            ["sclang", "-D", "-u", str(lang_port), "-l", str(conf), str(script)],
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=sclang_env(workdir, **env_extra),
            cwd=str(workdir),
            start_new_session=True,
        )
    return proc, log


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL, to the process group of a process started by this module."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass


def wait_for_line(log: Path, proc: subprocess.Popen, marker: str, timeout: float = 60.0) -> str:
    """Wait until ``marker`` appears in the log; return the log text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if marker in text:
            return text
        if proc.poll() is not None:
            raise StackError(f"sclang exited with {proc.returncode} before {marker!r}:\n{text[-3000:]}")
        time.sleep(0.1)
    raise StackError(f"{marker!r} did not appear within {timeout} s")


def make_tmpdir(prefix: str = "tidalsort-sc-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def run_bench(body: Callable[[Path], int]) -> int:
    """Run a benchmark needing the SuperCollider stack: ``body(tmp)`` in a temporary folder
    deleted after. Returns its exit status, or 2 (naming what is missing) without the tools."""
    missing = missing_tools() + missing_vendor()
    if missing:
        print(f"missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    tmp = make_tmpdir("tidalsort-bench-")
    try:
        return body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def running_stack(run: Path, root: Path, **options: Any) -> Iterator[ScStack]:
    """A started :class:`ScStack` (its tools required first), stopped when the block ends:
    what every test module that boots SuperCollider does."""
    require_tools()
    stack = ScStack(run, root, **options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
