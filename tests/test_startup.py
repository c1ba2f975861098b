"""Start-up: the command line, and the commands that only read a root, load none of the
heavy libraries (scipy, scikit-learn, matplotlib, pyAudioAnalysis, openTSNE, umap, watchdog)
that only sorting, analysing and mapping use.

Each probe runs in a fresh interpreter (this one has imported everything already) and
reads ``sys.modules`` afterwards. How fast the commands start is measured by
bench/startup.py, not here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from conftest import tone, write

from tidalsort.cli import main

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "sklearn", "matplotlib", "pyAudioAnalysis", "openTSNE", "umap", "watchdog")


def heavy_after(*lines: str) -> set[str]:
    """The heavy packages loaded once ``lines`` have run in a fresh Python."""
    probe = "\n".join([*lines, "import json, sys", f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def command(*args: str | Path, status: int = 0) -> str:
    """Probe lines running ``tidalsort ARGS`` and checking its exit status."""
    return f"from tidalsort.cli import main\nassert main({[str(a) for a in args]!r}) == {status}"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_command_line_and_its_help_load_no_heavy_library() -> None:
    assert heavy_after("import tidalsort.cli") == set()
    for args in (["--help"], ["sort", "--help"], ["similar", "--help"]):
        assert (
            heavy_after(
                "from tidalsort.cli import main", "try:", f"    main({args!r})", "except SystemExit as exc:", "    assert exc.code == 0"
            )
            == set()
        )


def test_reading_commands_load_no_heavy_library_and_a_file_query_does(kit: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["sort", str(kit), "--out", str(out), "--bank", "kit", "--no-dendrogram"]) == 0
    assert heavy_after(command("report", out)) == set()
    assert heavy_after(command("report", out, "--json")) == set()
    assert heavy_after(command("similar", "kit:3", "--out", out)) == set()
    assert heavy_after(command("similar", "kit:3", "--out", out, "--json")) == set()
    nothing_listening = free_udp_port()
    assert heavy_after(command("notify", out, "--sc-port", nothing_listening, "--sc-timeout", "0.05", status=1)) == set()
    assert heavy_after("import tidalsort.live.serve") == set()
    # the probe sees what a command loads: a query by audio file analyses it with scipy and pyAudioAnalysis
    query = write(tmp_path / "query.wav", tone(70, 0.4))
    assert {"scipy", "pyAudioAnalysis"} <= heavy_after(command("similar", query, "--out", out, "--json"))
