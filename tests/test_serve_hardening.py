"""No surprises from the read side: bad ports, absurd ranges, clients that go away or go quiet,
many clients at once, a NaN in the manifest and a read-only root with an interrupted sort."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require, tone, tree_hashes, write
from test_serve import request, serving

from tidalsort.cli import main
from tidalsort.live.serve import SampleServer
from tidalsort.output import journal
from tidalsort.output.bank import STATE_DIR
from tidalsort.output.manifest import load
from tidalsort.pipeline import SortOptions, sort_library

PROJECT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(PROJECT)}


@pytest.fixture
def root(kit: Path, tmp_path: Path) -> Path:
    """Bank kb6 of the kit's 18 one-shots and bank long of one 20-second sound (3.5 MB)."""
    out = tmp_path / "root"
    write(tmp_path / "long" / "drone.wav", tone(220, 20.0, decay=30.0), subtype="FLOAT")
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kb6", "--clusters", "3", "--no-dendrogram"]) == 0
    assert main(["sort", str(tmp_path / "long"), "--out", str(out), "--bank", "long", "--no-dendrogram"]) == 0
    return out


@pytest.fixture
def server(root: Path) -> Iterator[SampleServer]:
    yield from serving(root)


def sample(root: Path, bank: str) -> str:
    """Request target of the first sample of ``bank``."""
    s = load(root).to_dict()["banks"][bank]["samples"][0]
    return f"/{s['folder']}/{s['file']}"


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tidalsort", *args], capture_output=True, text=True, env=ENV, timeout=timeout)


@pytest.mark.parametrize("port", ["70000", "-1", "65536", "http"])
def test_a_port_out_of_range_is_refused_in_one_line(tmp_path: Path, port: str) -> None:
    done = run("serve", str(tmp_path), "--port", port)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("tidalsort serve: error: argument --port: ")


def test_a_range_of_5000_digits_is_answered_not_dropped(root: Path, server: SampleServer, capfd: pytest.CaptureFixture) -> None:
    """Python's int() refuses more than 4,300 digits; RFC 9110 14.2: unsatisfiable -> 416, else serve."""
    target = sample(root, "kb6")
    data = (root / target[1:]).read_bytes()
    huge = "9" * 5000
    status, headers, _ = request(server, "GET", target, {"Range": f"bytes={huge}-"})
    assert (status, headers["content-range"]) == (416, f"bytes */{len(data)}")
    assert request(server, "GET", target, {"Range": f"bytes={huge}-{huge}"})[0] == 416
    for header in (f"bytes=0-{huge}", f"bytes=-{huge}"):  # up to (the last) more bytes than there are: all of them
        status, headers, body = request(server, "GET", target, {"Range": header})
        assert (status, body, headers["content-range"]) == (206, data, f"bytes 0-{len(data) - 1}/{len(data)}")
    assert request(server, "GET", target, {"Range": f"bytes={'0' * 5000}5-9"})[::2] == (206, data[5:10])
    assert "Traceback" not in capfd.readouterr().err


def wait_for_handlers(baseline: int, timeout: float = 10.0) -> None:
    """Wait (at most ``timeout`` s) until only ``baseline`` threads are left: the handlers are done."""
    deadline = time.monotonic() + timeout
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= baseline


def test_a_client_that_aborts_a_download_is_not_reported(root: Path, server: SampleServer, capfd: pytest.CaptureFixture) -> None:
    target = sample(root, "long")
    size = (root / target[1:]).stat().st_size
    assert size > 3_000_000  # far more than the socket buffers hold: the server is still writing
    baseline = threading.active_count()
    for _ in range(10):
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(server.server_address[:2])
        client.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert client.recv(100).startswith(b"HTTP/1.1 200")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset, as a cancelled fetch
        client.close()
    wait_for_handlers(baseline)
    status, _, body = request(server, "GET", target)
    assert (status, len(body)) == (200, size)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err, err


def test_200_clients_at_once_are_all_answered(root: Path, server: SampleServer) -> None:
    """As a Strudel page loading a bank: with a listen queue of 5, 200 clients x 10 requests
    (bench/serve_load.py) left 42 to 146 requests without an answer in 30 s."""
    targets = ["/strudel.json", *(f"/{s['folder']}/{s['file']}" for s in load(root).to_dict()["banks"]["kb6"]["samples"])]
    host, port = server.server_address[:2]
    clients, each = 200, 3
    go = threading.Barrier(clients)
    took: list[float] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        go.wait()
        for r in range(each):
            start = time.monotonic()
            connection = http.client.HTTPConnection(host, port, timeout=10)
            try:
                connection.request("GET", targets[(c + r) % len(targets)])
                answer = connection.getresponse()
                answer.read()
                seconds = time.monotonic() - start if answer.status == 200 else float("inf")
            except OSError:
                seconds = float("inf")
            finally:
                connection.close()
            with lock:
                took.append(seconds)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(took) == clients * each
    # A connection the listen queue has no room for waits for the SYN to be sent again: 1 s, then 3 s, 7 s...
    assert max(took) < 3.0, f"{sum(t == float('inf') for t in took)} unanswered, slowest {sorted(took)[-5:]}"


def test_a_connection_that_goes_quiet_is_closed_after_the_idle_timeout(root: Path, capfd: pytest.CaptureFixture) -> None:
    srv = SampleServer(root, "127.0.0.1", 0, idle_timeout=0.5)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        baseline = threading.active_count()
        for sent in (b"", b"GET /strudel.json HTTP/1.1\r\nHost: 127.0.0.1", b"GET /strudel.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"):
            with socket.create_connection(srv.server_address[:2], timeout=10) as client:
                client.sendall(sent)
                start = time.monotonic()
                received = b""
                while chunk := client.recv(65536):  # until the server closes the connection
                    received += chunk
                assert 0.4 < time.monotonic() - start < 5.0
                assert received.startswith(b"HTTP/1.1 200") == sent.endswith(b"\r\n\r\n")  # the last: answered, then kept until idle
        wait_for_handlers(baseline)
    finally:
        srv.shutdown()
        srv.server_close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "timed out" not in err, err


def test_a_nan_in_the_manifest_is_named_with_its_file_and_field(root: Path, capsys: pytest.CaptureFixture) -> None:
    manifest = root / "tidalsort.yaml"
    text = manifest.read_text()
    at = text.index('"duration": ') + len('"duration": ')
    manifest.write_text(text[:at] + "NaN" + text[text.index(",", at) :])
    (root / STATE_DIR / "manifest.json").unlink()  # the fast copy is of the manifest as written
    capsys.readouterr()
    for command in (["map", str(root), "--bank", "kb6"], ["report", str(root)]):
        assert main(command) == 1
        said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tidalsort:")]  # map may say it lays out first
        assert len(said) == 1 and said[0].startswith(f"tidalsort: error: {manifest}: bank 'kb6': samples[0]: duration is not a number"), (
            said
        )


class Killed(BaseException):
    """A sort killed after writing its journal, before carrying it out."""


@pytest.fixture
def read_only(root: Path, kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``root`` with an interrupted sort of kb6 pending and a WAV copy no sample needs, mounted read-only."""
    with monkeypatch.context() as patch:
        patch.setattr(journal, "_carry_out", lambda *args: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            sort_library([kit / "bells"], root, SortOptions(bank="kb6", clusters=2, dendrogram=False))
    assert list((root / STATE_DIR).glob("journal-*.json"))
    (root / STATE_DIR / "serve-wav").mkdir()
    (root / STATE_DIR / "serve-wav" / "unused.wav").write_bytes(b"RIFF")  # serve deletes those where it can
    mount = tmp_path / "ro"
    mount.mkdir()
    bound = subprocess.run(["mount", "--bind", str(root), str(mount)], capture_output=True, text=True)
    require(bound.returncode == 0, f"cannot bind-mount (needs root and mount permission): {bound.stderr.strip()}")
    try:
        remounted = subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], capture_output=True, text=True)
        require(remounted.returncode == 0, f"cannot remount read-only: {remounted.stderr.strip()}")
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_read_only_root_with_an_interrupted_sort_is_read_as_it_is(root: Path, read_only: Path, capsys: pytest.CaptureFixture) -> None:
    before = tree_hashes(root)
    pending = "tidalsort: warning: a sort into "
    capsys.readouterr()
    assert main(["report", str(read_only), "--json"]) == 0
    out, err = capsys.readouterr()
    assert {e["name"] for e in json.loads(out)} == {"kb6", "long"}  # as before the interrupted sort: all 18 of the kit
    assert len(json.loads(out)[0]["samples"]) == 18
    assert len(err.splitlines()) == 1 and err.startswith(pending)
    assert "cannot be written here" in err and "the next tidalsort command that can write it finishes the sort" in err
    assert main(["similar", "kb6:1", "--out", str(read_only), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 8
    assert (
        main(["notify", str(read_only), "--sc-port", str(closed_udp_port()), "--sc-timeout", "0.3"]) == 1
    )  # it reads, then finds no sclang
    assert "sclang is not listening" in capsys.readouterr().err
    assert main(["map", str(read_only), "--bank", "kb6"]) == 1  # a command that writes the root
    assert capsys.readouterr().err.splitlines() == [
        f"tidalsort: error: {read_only} cannot be written (read-only): map writes its page and pictures there"
    ]

    proc = subprocess.Popen(
        [sys.executable, "-m", "tidalsort", "serve", str(read_only), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        host, port = line.split("/")[2].split(":")
        for target in ("/strudel.json", sample(root, "kb6"), sample(root, "long")):
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("GET", target)
            assert connection.getresponse().status == 200, target
            connection.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err and err.startswith(pending), err
    assert tree_hashes(root) == before

    assert main(["report", str(root), "--json"]) == 0  # where it can be written: the sort is finished
    assert len(json.loads(capsys.readouterr().out)[0]["samples"]) == 6 and not list((root / STATE_DIR).glob("journal-*.json"))


def closed_udp_port() -> int:
    """A UDP port on 127.0.0.1 nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
