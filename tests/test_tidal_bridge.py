"""The whole live path with real components: tidalsort.live.bridge -> the TidalSort quark in real
SuperDirt (jackd, scsynth, sclang; tests/sc_support.py) -> /ctrl -> a real Tidal 1.7 in GHCi
with tidalsort.hs loaded by :script (tests/hs_support.py) -> /dirt/play, recorded here.

Tidal 1.7 reads at most 8,192 bytes of an OSC message on its control port; a larger one
stops its control input until it restarts. A bank of 1,000 clusters has labels of about
16 kB: the receiver sends them in parts, the helpers join them, and Tidal's control input
keeps working afterwards. A last phase sends one oversize /ctrl by hand, as tidalsort did
before, to show that the test notices a dead control input.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

try:
    import hs_support as hs
    import sc_support as sc
except ImportError:  # tests/ imported as a package
    from tests import hs_support as hs  # type: ignore[no-redef]
    from tests import sc_support as sc  # type: ignore[no-redef]

from tidalsort.live import bridge

SETTLE, WINDOW = 0.6, 1.6

# 1,100 files in 1,000 clusters: 100 clusters of 2, then 900 of 1
HUGE_BOUNDS = [0] + [2 * (i + 1) for i in range(100)] + [200 + i + 1 for i in range(900)]
HUGE_LABELS = [f"hihat_closed-{i + 2}" for i in range(1000)]

PATTERNS = """\
setcps 1
d1 $ s "small*4" # n (tsIn "small" 1 "0 1 2 3")
d2 $ s "hugelast*2" # n (tsIn "huge" 999 "0 1")
d3 $ s "hugelabel*2" # n (tsLabel "huge" "hihat_closed-52" "0 1")
d4 $ s "hugefirst*2" # n (tsIn "huge" 0 "0 1")
"""


def load(stack: sc.ScStack, bank: str, count: int, bounds: list[int], labels: list[str]) -> None:
    assert (
        bridge.send_bank("127.0.0.1", stack.listen_port, bank, stack.root / bank, count=count, boundaries=bounds, labels=labels, timeout=30)
        == count
    )


@pytest.fixture(scope="module")
def phases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sc.require_tools()
    tools = hs.require_toolchain()
    base = tmp_path_factory.mktemp("bridge")
    root = base / "root"
    sc.write_bank(root / "small", [f"{i:03d}_s.wav" for i in range(3)], seed=1)
    sc.write_bank(root / "huge", [f"{i:04d}_h.wav" for i in range(1100)], seed=2, base_frames=32, step=1)
    dirt = hs.DirtCapture()
    ctrl_port = hs.free_udp_port()
    ghci = hs.GhciSession(tools, dirt.port, ctrl_port, hs.free_udp_port())
    stack = sc.ScStack(base / "run", root, grace=0.3, tidal_port=ctrl_port, num_buffers=16384)
    out: dict[str, Any] = {}

    def record(name: str) -> None:
        t = time.monotonic() + SETTLE
        time.sleep(SETTLE + WINDOW)
        out[name] = dirt.between(t, t + WINDOW)

    try:
        stack.start()
        ghci.run(PATTERNS)
        load(stack, "small", 3, [0, 1, 3], ["a", "b"])
        record("small")
        load(stack, "huge", 1100, HUGE_BOUNDS, HUGE_LABELS)
        record("huge")
        load(stack, "small", 3, [0, 2, 3], ["a", "b"])
        record("small again")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # what tidalsort sent before
            s.sendto(hs.osc_message("/ctrl", "tidalsort_other_labels", "x" * 9000), ("127.0.0.1", ctrl_port))
        load(stack, "small", 3, [0, 1, 3], ["a", "b"])
        record("after an oversize message")
    finally:
        stack.stop()
        out["stderr"] = ghci.close()
        dirt.close()
    return out


def n_values(plays: list[dict], sound: str) -> list[int]:
    return [int(m["n"]) for m in sorted((m for m in plays if m.get("s") == sound), key=lambda m: m["cycle"])]


def by_slot(plays: list[dict], sound: str, per_cycle: int) -> set[tuple[int, int]]:
    return {(int(round((m["cycle"] % 1) * per_cycle)) % per_cycle, int(m["n"])) for m in plays if m.get("s") == sound}


def test_helpers_follow_a_small_bank(phases: dict[str, Any]) -> None:
    assert by_slot(phases["small"], "small", 4) == {(0, 1), (1, 2), (2, 1), (3, 2)}
    assert set(n_values(phases["small"], "hugelast")) == {0}  # no boundaries for huge yet


def test_helpers_use_the_joined_parts_of_a_thousand_clusters(phases: dict[str, Any]) -> None:
    plays = phases["huge"]
    assert set(n_values(plays, "hugelast")) == {HUGE_BOUNDS[999]} == {1099}
    assert by_slot(plays, "hugelabel", 2) == {(0, 100), (1, 101)}  # hihat_closed-52 is cluster 50: n 100-101
    assert by_slot(plays, "hugefirst", 2) == {(0, 0), (1, 1)}


def test_control_input_still_works_after_the_huge_bank(phases: dict[str, Any]) -> None:
    assert len(n_values(phases["small again"], "small")) >= 4
    assert set(n_values(phases["small again"], "small")) == {2}


def test_an_oversize_message_would_have_stopped_it(phases: dict[str, Any]) -> None:
    """The check above can fail: after one /ctrl of 9 kB, Tidal ignores the next reload."""
    assert len(n_values(phases["after an oversize message"], "small")) >= 4
    assert set(n_values(phases["after an oversize message"], "small")) == {2}
