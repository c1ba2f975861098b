"""tidalsort serve: real HTTP requests on free ports against a served root."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import tone, tree_hashes, write

from tidalsort.cli import main
from tidalsort.manifest import load
from tidalsort.serve import SampleServer, byte_range, request_parts
from tidalsort.strudel import DEFAULT_BASE, STRUDEL_MAP_NAME

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


@pytest.fixture
def server(root: Path):
    srv = SampleServer(root, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


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
    return [(s["folder"], s["file"]) for entry in load(root)["banks"].values() for s in entry["samples"]]


def test_the_map_is_served_with_its_own_address_as_base(root: Path, server: SampleServer) -> None:
    on_disk = json.loads((root / STRUDEL_MAP_NAME).read_text())
    assert on_disk["_base"] == DEFAULT_BASE != server.url  # the file says port 5432, the server runs elsewhere
    port = server.server_address[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, headers, body = request(server, "GET", "/strudel.json", {"Host": host})
        assert status == 200 and headers["content-type"] == "application/json"
        assert headers["access-control-allow-origin"] == "*"
        assert json.loads(body) == {**on_disk, "_base": f"http://{host}/"}


def test_every_sample_is_served_whole_with_its_content_type(root: Path, server: SampleServer) -> None:
    kinds = {".wav": "audio/wav", ".aiff": "audio/aiff"}
    listed = samples(root)
    assert {Path(f).suffix for _, f in listed} == set(kinds) and any(os.path.islink(root / d / f) for d, f in listed)
    for folder, name in listed:
        data = (root / folder / name).read_bytes()  # through the link for --link symlink
        status, headers, body = request(server, "GET", f"/{folder}/{name}")
        assert (status, body, headers["content-type"]) == (200, data, kinds[Path(name).suffix])
        assert headers["accept-ranges"] == "bytes" and headers["access-control-allow-origin"] == "*"
        status, head, body = request(server, "HEAD", f"/{folder}/{name}")
        assert (status, body, head["content-length"], head["content-type"]) == (200, b"", str(len(data)), kinds[Path(name).suffix])


def test_range_requests(root: Path, server: SampleServer) -> None:
    folder, name = samples(root)[0]
    data = (root / folder / name).read_bytes()
    size = len(data)
    target = f"/{folder}/{name}"
    for header, first, last in (("bytes=0-99", 0, 99), ("bytes=100-", 100, size - 1), ("bytes=-10", size - 10, size - 1), (f"bytes=10-{size + 50}", 10, size - 1)):
        status, headers, body = request(server, "GET", target, {"Range": header})
        assert (status, body) == (206, data[first : last + 1]), header
        assert headers["content-range"] == f"bytes {first}-{last}/{size}"
    for header in (f"bytes={size}-", f"bytes={size + 10}-20", "bytes=-0"):
        status, headers, body = request(server, "GET", target, {"Range": header})
        assert (status, headers["content-range"], body) == (416, f"bytes */{size}", b""), header
    for ignored in ("bytes=0-1,4-5", "bytes=9-2", "items=0-5", "bytes=x-y"):  # HTTP: serve the whole file
        assert request(server, "GET", target, {"Range": ignored})[::2] == (200, data), ignored


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
    assert "content-range" in request(server, "GET", f"/{folder}/{name}", {"Origin": "https://strudel.cc"})[1]["access-control-expose-headers"].lower()


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
    proc = subprocess.Popen([sys.executable, "-m", "tidalsort", "serve", str(root), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
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
