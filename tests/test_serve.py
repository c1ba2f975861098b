"""tidalsort serve: real HTTP requests on free ports against a served root."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import noise, tone, tree_hashes, write

from tidalsort.cli import main
from tidalsort.live.serve import SampleServer, byte_range, request_parts
from tidalsort.output.manifest import load
from tidalsort.output.strudel import DEFAULT_BASE, STRUDEL_MAP_NAME

SECRET = b"the contents of a file outside the root"


@pytest.fixture
def root(kit: Path, tmp_path: Path) -> Path:
    """Banks kb6 (copies), linked (--link symlink) and aif (AIFF files), and a secret file beside the root."""
    out = tmp_path / "root"
    for i in range(3):
        write(tmp_path / "aif" / f"a{i}.aiff", tone(200 * (i + 1), 0.2), fmt="AIFF")
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kb6", "--clusters", "3"]) == 0
    assert main(["sort", str(kit / "bells"), "--out", str(out), "--bank", "linked", "--link", "symlink"]) == 0
    assert main(["sort", str(tmp_path / "aif"), "--out", str(out), "--bank", "aif"]) == 0
    (tmp_path / "secret.wav").write_bytes(SECRET)
    return out


def serving(root: Path) -> Iterator[SampleServer]:
    """A server of ``root`` on a free loopback port, running in a thread until the test ends."""
    srv = SampleServer(root, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def server(root: Path) -> Iterator[SampleServer]:
    yield from serving(root)


def request(srv: SampleServer, method: str, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One real HTTP request with ``target`` sent as it is (no normalisation)."""
    connection = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
    try:
        connection.request(method, target, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def samples(root: Path) -> list[tuple[str, str]]:
    return [(s.folder, s.file) for entry in load(root).banks.values() for s in entry.samples]


def test_the_map_is_served_with_its_own_address_as_base(root: Path, server: SampleServer) -> None:
    on_disk = json.loads((root / STRUDEL_MAP_NAME).read_text())
    assert on_disk["_base"] == DEFAULT_BASE != server.url  # the file says port 5432, the server runs elsewhere
    port = server.server_address[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, headers, body = request(server, "GET", "/strudel.json", {"Host": host})
        assert status == 200 and headers["content-type"] == "application/json"
        assert headers["access-control-allow-origin"] == "*"
        assert json.loads(body) == {**on_disk, "_base": f"http://{host}/"}


def as_wav(data: bytes, dtype: str = "float32") -> tuple[np.ndarray, int, str]:
    """Samples, rate and container of sound file bytes."""
    with sf.SoundFile(io.BytesIO(data)) as f:
        return f.read(dtype=dtype, always_2d=True), f.samplerate, f.format


def test_every_sample_is_served_whole_wav_as_it_is_aiff_as_wav(root: Path, server: SampleServer) -> None:
    listed = samples(root)
    assert {Path(f).suffix for _, f in listed} == {".wav", ".aiff"} and any(os.path.islink(root / d / f) for d, f in listed)
    for folder, name in listed:
        data = (root / folder / name).read_bytes()  # through the link for --link symlink
        status, headers, body = request(server, "GET", f"/{folder}/{name}")
        assert (status, headers["content-type"]) == (200, "audio/wav")
        assert headers["accept-ranges"] == "bytes" and headers["access-control-allow-origin"] == "*"
        if name.endswith(".wav"):
            assert body == data
        else:  # the same samples in a WAV file, under the AIFF's name
            samples_, rate, container = as_wav(body, "int32")
            own, own_rate, _ = as_wav(data, "int32")
            assert container == "WAV" and rate == own_rate and np.array_equal(samples_, own) and body != data
        status, head, empty = request(server, "HEAD", f"/{folder}/{name}")
        assert (status, empty, head["content-length"], head["content-type"]) == (200, b"", str(len(body)), "audio/wav")
    assert len(list((root / ".tidalsort" / "serve-wav").iterdir())) == 3  # one WAV copy per AIFF sample


def test_range_requests(root: Path, server: SampleServer) -> None:
    for folder, name in (next(s for s in samples(root) if s[1].endswith(kind)) for kind in (".wav", ".aiff")):
        target = f"/{folder}/{name}"
        data = request(server, "GET", target)[2]  # an AIFF's WAV copy: ranges of the copy
        size = len(data)
        for header, first, last in (
            ("bytes=0-99", 0, 99),
            ("bytes=100-", 100, size - 1),
            ("bytes=-10", size - 10, size - 1),
            (f"bytes=10-{size + 50}", 10, size - 1),
        ):
            status, headers, body = request(server, "GET", target, {"Range": header})
            assert (status, body) == (206, data[first : last + 1]), header
            assert headers["content-range"] == f"bytes {first}-{last}/{size}"
        for header in (f"bytes={size}-", f"bytes={size + 10}-20", "bytes=-0"):
            status, headers, body = request(server, "GET", target, {"Range": header})
            assert (status, headers["content-range"], body) == (416, f"bytes */{size}", b""), header
        for ignored in ("bytes=0-1,4-5", "bytes=9-2", "items=0-5", "bytes=x-y"):  # HTTP: serve the whole file
            assert request(server, "GET", target, {"Range": ignored})[::2] == (200, data), ignored


#: AIFF sample formats libsndfile writes, and the WAV format each is served in.
AIFF_FORMATS = {"PCM_S8": "PCM_U8", "PCM_16": "PCM_16", "PCM_24": "PCM_24", "PCM_32": "PCM_32", "FLOAT": "FLOAT",
                "DOUBLE": "FLOAT", "ULAW": "PCM_16", "ALAW": "PCM_16", "IMA_ADPCM": "FLOAT", "PCM_U8": "PCM_U8"}  # fmt: skip


@pytest.fixture
def aiff_root(tmp_path: Path) -> Path:
    """Bank ``aiffs``: one stereo AIFF in every format of :data:`AIFF_FORMATS`, 48 kHz."""
    source = tmp_path / "aiffs"
    for i, subtype in enumerate(AIFF_FORMATS):
        signal = np.column_stack([tone(300 + 100 * i, 0.3, 48000), noise(0.3, 48000, seed=i)])
        write(source / f"{subtype.lower()}.aiff", signal, 48000, subtype, "AIFF")
    assert main(["sort", str(source), "--out", str(tmp_path / "root"), "--bank", "aiffs"]) == 0
    return tmp_path / "root"


@pytest.fixture
def aiff_server(aiff_root: Path) -> Iterator[SampleServer]:
    yield from serving(aiff_root)


def test_aiff_of_every_sample_format_is_served_as_wav_with_the_same_samples(aiff_root: Path, aiff_server: SampleServer) -> None:
    listed = samples(aiff_root)
    assert len(listed) == len(AIFF_FORMATS)
    for folder, name in listed:
        aiff = aiff_root / folder / name
        status, headers, body = request(aiff_server, "GET", f"/{folder}/{name}")
        assert (status, headers["content-type"]) == (200, "audio/wav")
        with sf.SoundFile(io.BytesIO(body)) as served:
            assert (served.format, served.subtype) == ("WAV", AIFF_FORMATS[sf.info(aiff).subtype])
            assert (served.samplerate, served.channels, served.frames) == (48000, 2, sf.info(aiff).frames)
        assert np.array_equal(as_wav(body)[0], sf.read(aiff, dtype="float32", always_2d=True)[0]), name


DECODE = """
const [url, base64, rate, done] = arguments;
const bytes = url ? fetch(url).then((r) => r.arrayBuffer()) : Promise.resolve(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer);
bytes.then((b) => new OfflineAudioContext(2, 1, rate).decodeAudioData(b))
  .then((a) => done({channels: [...Array(a.numberOfChannels).keys()].map((c) => Array.from(a.getChannelData(c)))}), (e) => done({error: String(e)}));
"""


def test_chromium_decodes_every_served_aiff(aiff_root: Path, aiff_server: SampleServer) -> None:
    """Web Audio in Chromium (what Strudel plays through) decodes the served bytes of every AIFF
    to its samples, and cannot decode the AIFF files themselves."""
    from browser_support import chromium

    with chromium() as browser:
        browser.set_script_timeout(20)
        browser.get(aiff_server.url + "strudel.json")  # a page of the server's own origin
        for folder, name in samples(aiff_root):
            aiff = aiff_root / folder / name
            decoded = browser.execute_async_script(DECODE, f"/{folder}/{name}", None, 48000)
            assert "error" not in decoded, (name, decoded)
            own = sf.read(aiff, dtype="float32", always_2d=True)[0].T
            # the same samples (Chromium divides positive integer samples by 2^(b-1) - 1, not 2^(b-1))
            step = 2.0**-7 if sf.info(aiff).subtype in ("PCM_S8", "PCM_U8") else 2.0**-15
            assert np.abs(np.array(decoded["channels"]) - own).max() <= step + 1e-7, name
            raw = browser.execute_async_script(DECODE, None, base64.b64encode(aiff.read_bytes()).decode(), 48000)
            assert "EncodingError" in raw.get("error", ""), name  # the AIFF as it is: silence in Strudel


def test_wav_copies_are_kept_made_again_when_a_file_changes_and_dropped_when_unused(
    aiff_root: Path, aiff_server: SampleServer, tmp_path: Path
) -> None:
    folder, name = samples(aiff_root)[0]
    copies = aiff_root / ".tidalsort" / "serve-wav"
    first = request(aiff_server, "GET", f"/{folder}/{name}")[2]
    [copy] = copies.iterdir()
    made = copy.stat().st_mtime_ns
    assert request(aiff_server, "GET", f"/{folder}/{name}")[2] == first and copy.stat().st_mtime_ns == made  # kept
    write(aiff_root / folder / name, tone(99, 0.2, 48000), 48000, "PCM_16", "AIFF")  # changed on disk
    changed = request(aiff_server, "GET", f"/{folder}/{name}")[2]
    assert np.array_equal(as_wav(changed, "int16")[0][:, 0], sf.read(aiff_root / folder / name, dtype="int16")[0])
    assert len(list(copies.iterdir())) == 2
    # a re-sort without that sample: its copies are deleted when the manifest is read again
    (tmp_path / "aiffs" / name.split("_", 1)[1]).unlink()
    assert main(["sort", str(tmp_path / "aiffs"), "--out", str(aiff_root), "--bank", "aiffs"]) == 0
    assert request(aiff_server, "GET", "/strudel.json")[0] == 200
    assert list(copies.iterdir()) == []


def test_without_a_writable_root_wav_copies_are_made_in_memory(aiff_root: Path, aiff_server: SampleServer) -> None:
    folder, name = samples(aiff_root)[0]
    (aiff_root / ".tidalsort" / "serve-wav").write_text("not a folder")  # nowhere to keep copies
    status, headers, body = request(aiff_server, "GET", f"/{folder}/{name}", {"Range": "bytes=0-3"})
    assert (status, body, headers["content-type"]) == (206, b"RIFF", "audio/wav")
    assert as_wav(request(aiff_server, "GET", f"/{folder}/{name}")[2])[2] == "WAV"


def test_a_damaged_aiff_is_served_as_it_is_with_a_warning(aiff_root: Path, aiff_server: SampleServer, capfd: pytest.CaptureFixture) -> None:
    folder, name = samples(aiff_root)[0]
    (aiff_root / folder / name).write_bytes(b"FORM\0\0\0\4AIFF damaged")
    status, headers, body = request(aiff_server, "GET", f"/{folder}/{name}")
    assert (status, headers["content-type"], body) == (200, "audio/aiff", b"FORM\0\0\0\4AIFF damaged")
    warning = [line for line in capfd.readouterr().err.splitlines() if "tidalsort: warning" in line]
    assert len(warning) == 1 and f"{name}: not readable as sound, served as it is" in warning[0]


@pytest.mark.parametrize("target", [
    "/../secret.wav", "/kb6/../../secret.wav", "/%2e%2e/secret.wav", "/kb6/%2e%2e/%2e%2e/secret.wav",
    "/%2E%2E%2Fsecret.wav", "/kb6/..%2f..%2fsecret.wav", "/%252e%252e/secret.wav", "//secret.wav", "/kb6//000_x.wav",
    "ABSOLUTE", "/etc/passwd", "http://127.0.0.1/../secret.wav",
    "/.tidalsort/manifest.json", "/.tidalsort/lock", "/.tidalsort/cache.sqlite", "/%2etidalsort/lock", "/kb6/.tidalsort-bank",
    "/tidalsort.yaml", "/tidalsort-banks.hs", "/kb6-dendrogram.png", "/", "/kb6", "/kb6/", "/kb6/%ff.wav",
])  # fmt: skip
def test_nothing_outside_the_banks_is_served(root: Path, server: SampleServer, target: str) -> None:
    if target == "ABSOLUTE":
        target = str(root.parent / "secret.wav")
    status, _, body = request(server, "GET", target)
    assert status == 404 and SECRET not in body


def test_symbolic_links_leading_out_are_not_served(root: Path, server: SampleServer) -> None:
    secret = root.parent / "secret.wav"
    (root / "kb6" / "999_planted.wav").symlink_to(secret)
    assert request(server, "GET", "/kb6/999_planted.wav")[0] == 404  # not a sample of the manifest
    folder, name = next(s for s in samples(root) if s[0] == "kb6")
    (root / folder / name).unlink()
    (root / folder / name).symlink_to(secret)  # a listed name, now a link out of the root
    assert request(server, "GET", f"/{folder}/{name}")[0] == 404
    linked = [f for d, f in samples(root) if d == "linked"]
    assert request(server, "GET", f"/linked/{linked[0]}")[0] == 200  # --link symlink: the link tidalsort made
    (root / "linked" / linked[0]).unlink()
    (root / "linked" / linked[0]).symlink_to(secret)  # re-pointed elsewhere
    assert request(server, "GET", f"/linked/{linked[0]}")[0] == 404
    outside = root.parent / "outside-aif"
    os.rename(root / "aif", outside)
    (root / "aif").symlink_to(outside)  # a bank folder that is a link out of the root
    aif = [f for d, f in samples(root) if d == "aif"]
    assert request(server, "GET", f"/aif/{aif[0]}")[0] == 404


def test_only_loopback_host_names_are_answered(server: SampleServer) -> None:
    """A page whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own name as Host."""
    port = server.server_address[1]
    assert request(server, "GET", "/strudel.json", {"Host": f"evil.example:{port}"})[0] == 421
    assert request(server, "GET", "/strudel.json", {"Host": f"127.0.0.1.evil.example:{port}"})[0] == 421
    assert request(server, "GET", "/strudel.json", {"Host": f"localhost:{port}"})[0] == 200


def test_cors_preflight_of_a_page_on_https_asking_for_the_private_network(root: Path, server: SampleServer) -> None:
    folder, name = samples(root)[0]
    asked = {"Origin": "https://strudel.cc", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range"}
    status, headers, body = request(server, "OPTIONS", f"/{folder}/{name}", {**asked, "Access-Control-Request-Private-Network": "true"})
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == "*" and "GET" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"].lower() == "range"
    assert headers["access-control-allow-private-network"] == "true"
    assert "access-control-allow-private-network" not in request(server, "OPTIONS", f"/{folder}/{name}", asked)[1]
    assert (
        "content-range"
        in request(server, "GET", f"/{folder}/{name}", {"Origin": "https://strudel.cc"})[1]["access-control-expose-headers"].lower()
    )


def test_nothing_can_be_written(root: Path, server: SampleServer) -> None:
    before = tree_hashes(root.parent)
    folder, name = samples(root)[0]
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        for target in (f"/{folder}/{name}", "/strudel.json", f"/{folder}/new.wav"):
            assert request(server, method, target, {"Content-Length": "0"})[0] >= 400
    assert tree_hashes(root.parent) == before


def test_a_resort_is_served_at_once(kit: Path, root: Path, server: SampleServer) -> None:
    assert main(["sort", str(kit), "--out", str(root), "--bank", "kb6", "--layout", "split", "--clusters", "2"]) == 0
    served = json.loads(request(server, "GET", "/strudel.json")[2])
    assert {"kb6-0", "kb6-1"} <= set(served) and "kb6" not in served
    old = request(server, "GET", f"/kb6/{next(iter(os.listdir(root / 'kb6-0')))}")
    assert old[0] == 404
    folder, name = next(s for s in samples(root) if s[0] == "kb6-1")
    assert request(server, "GET", f"/{folder}/{name}")[::2] == (200, (root / folder / name).read_bytes())


def test_pure_helpers() -> None:
    assert request_parts("/kb6/003_x.wav?cache=1") == ["kb6", "003_x.wav"]
    assert request_parts("/a%20b/c") == ["a b", "c"]
    assert request_parts("/kb6/%2e%2e/x") is None and request_parts("kb6/x") is None
    assert byte_range(None, 10) is None and byte_range("bytes=2-4", 10) == (2, 4) and byte_range("bytes=-3", 2) == (0, 1)


def test_the_command_prints_the_line_to_paste_and_listens_on_loopback(root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidalsort", "serve", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        assert line.startswith("samples('http://127.0.0.1:") and line.endswith("/strudel.json')"), line
        url = line[len("samples('") : -len("')")]
        host, port = url.split("/")[2].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/strudel.json")
        answer = connection.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["_base"] == url.removesuffix("strudel.json")
        connection.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "(read-only; Ctrl-C to stop)" in err and 's("aif").n(3)' in err and "Traceback" not in err
