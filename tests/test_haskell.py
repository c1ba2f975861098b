"""Tests for the Tidal helpers in haskell/ (module Sound.Tidal.TidalSort and tidalsort.hs).

They need Debian's GHC and Tidal (apt: ghc libghc-tidal-dev). Without them the tests skip,
except when CI=true, where they fail. cabal-install is optional (the cabal build test skips
without it). Everything is compiled once per session into a temporary directory.

- pure: haskell/test/Probe.hs queries the patterns with queryArc and prints the events;
  the expected values live here. Every pure test runs under Debian's Tidal 1.7.10 and the
  pure modules of Tidal 1.9.5 and 1.10.0 from ../shared/vendor (tests/hs_support.py; the
  ids end in [debian], [1.9.5], [1.10.0]);
- integration (Debian's Tidal only: the vendored ones have no stream, which needs Ableton
  Link): haskell/test/Live.hs runs a real Tidal stream (startTidal) that sends
  /dirt/play to a UDP port this test listens on; the test sends /ctrl to Tidal's real
  control port and checks the n values it captures;
- GHCi: tidalsort.hs and a generated tidalsort-banks.hs load with :script after a
  BootTidal-like preamble, and a pattern played from that session sounds right.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import require

try:
    import hs_support as hs
except ImportError:  # tests/ imported as a package
    from tests import hs_support as hs  # type: ignore[no-redef]

from tidalsort.output.haskell_banks import HASKELL_BANKS_NAME, render

ROOT, HS, MODULE, SCRIPT = hs.ROOT, hs.HS, hs.MODULE, hs.SCRIPT
DirtCapture, free_udp_port, send_ctrl, boot_preamble, run_ghci = (
    hs.DirtCapture,
    hs.free_udp_port,
    hs.send_ctrl,
    hs.boot_preamble,
    hs.run_ghci,
)

PUBLIC = [
    "tsIn",
    "tsRand",
    "tsPat",
    "tsLabel",
    "tsNum",
    "tsDrift",
    "tsDriftIn",
    "tsSpread",
    "tsFam",
    "tsFamRand",
    "tsFamDrift",
    "tsFamPat",
    "tsFamily",
    "tsFamRanges",
    "tsStatic",
    "tsBounds",
    "tsLabels",
    "tsKey",
    "tsLabelsKey",
    "tsStaticKey",
    "tsStaticLabelsKey",
    "tsParseBounds",
    "tsFallback",
]


def _unavailable(reason: str) -> None:
    require(False, reason)


# --------------------------------------------------------------------------- toolchain


@pytest.fixture(scope="module")
def toolchain() -> dict:
    return hs.require_toolchain()


@pytest.fixture(scope="module")
def binaries(toolchain, tmp_path_factory) -> dict:
    """The live probe, against Debian's Tidal (the one with a real stream)."""
    outdir = tmp_path_factory.mktemp("tidalsort-hs")
    return {"live": hs.build(toolchain, "debian", HS / "test" / "Live.hs", outdir, exe="live")}


@pytest.fixture(scope="module", params=hs.TIDALS)
def probe(request, toolchain) -> dict:
    """The pure probe's events, once per Tidal version: every pure test runs under Debian's
    Tidal 1.7.10 and the vendored 1.9.5 and 1.10.0 (tests/test_tidal_versions.py checks that
    the three agree)."""
    return hs.probe_events(toolchain["ghc"], request.param)


def events(probe: dict, name: str) -> list[tuple[Fraction, int]]:
    return [(Fraction(a, b), v) for a, b, v in probe[name]]


def values(probe: dict, name: str) -> list:
    return [v for _, _, v in probe[name]]


def per_cycle(probe: dict, name: str) -> dict[int, list]:
    out: dict[int, list] = {}
    for onset, v in events(probe, name):
        out.setdefault(int(onset // 1), []).append(v)
    return out


# Banks used by Probe.hs: live kb6 = "0 4 8 12 20" (kick snare hat tom),
# static kb6 = "0 2 4 6" (lo mid hat).
LIVE = [(0, 4), (4, 8), (8, 12), (12, 20)]
STATIC = [(0, 2), (2, 4), (4, 6)]


# --------------------------------------------------------------------------- pure: tsIn


def test_in_indexes_within_cluster_and_wraps(probe):
    assert values(probe, "in_live") == [4, 5, 6, 7, 4, 5]
    assert [o for o, _ in events(probe, "in_live")] == [Fraction(k, 6) for k in range(6)]


def test_in_negative_and_large_indices_wrap_inside_cluster(probe):
    # cluster 3 = [12, 20): -1 -> 19, -8 -> 12, -9 -> 19, 8 -> 12
    assert values(probe, "in_wrap_negative") == [19, 12, 19, 12]


def test_in_cluster_number_wraps_over_clusters(probe):
    # "<4 -1 5>": 4 -> cluster 0, -1 -> cluster 3, 5 -> cluster 1
    assert per_cycle(probe, "in_cluster_wraps") == {0: [0, 1], 1: [12, 13], 2: [4, 5]}


def test_in_patterned_cluster(probe):
    assert per_cycle(probe, "in_cluster_pattern") == {0: [0, 1], 1: [4, 5], 2: [8, 9], 3: [12, 13]}


def test_in_structure_comes_from_indices(probe):
    # cluster "0 2" is sampled at each onset of "0 [1 2]"
    assert events(probe, "in_structure") == [(Fraction(0), 0), (Fraction(1, 2), 9), (Fraction(3, 4), 10)]


def test_in_events_longer_than_a_cycle(probe):
    assert events(probe, "in_slow_across_cycles") == [(Fraction(0), 4), (Fraction(1), 5), (Fraction(2), 4), (Fraction(3), 5)]


def test_in_single_sample_clusters(probe):
    assert per_cycle(probe, "in_single_clusters") == {0: [0] * 4, 1: [1] * 4, 2: [2] * 4}
    assert values(probe, "in_single_bank") == [5] * 6


def test_in_empty_cluster_plays_nearest_sample(probe):
    # "0 4 4 8 8": cluster 1 = [4,4) -> 4, cluster 3 = [8,8) -> 7 (last sample of the bank)
    assert per_cycle(probe, "in_empty_cluster") == {0: [4, 4], 1: [7, 7]}


# --------------------------------------------------------------------------- sources & fallback


def test_static_boundaries_are_used_without_live_value(probe):
    assert values(probe, "in_static") == [2, 3, 2]


def test_live_overrides_static(probe):
    assert values(probe, "in_live_over_static") == [4, 5, 6]


def test_garbage_live_value_falls_back_to_static(probe):
    assert values(probe, "in_garbage_live_uses_static") == [2, 3, 2]
    assert values(probe, "in_wrong_type_static") == [2, 3, 2]


@pytest.mark.parametrize(
    "case",
    [
        "in_missing",
        "in_empty_string",
        "in_garbage",
        "in_decreasing",
        "in_negative_start",
        "in_one_number",
        "in_floats",
        "in_wrong_type",
        "in_no_state_queryArc",
    ],
)
def test_missing_or_malformed_boundaries_play_sample_zero(probe, case):
    assert events(probe, case) == [(Fraction(0), 0), (Fraction(1, 3), 0), (Fraction(2, 3), 0)]


def test_parse_bounds(probe):
    assert probe["parse"] == [
        [0, 12, 30, 55],
        [0, 4, 8],
        [0, 4, 4, 8],
        [3, 9],
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        [0, 2147483647],
    ]
    assert probe["fallback"] == [0, 1]


def test_what_the_helpers_see(probe):
    assert probe["bounds_live"] == [0, 4, 8, 12, 20]
    assert probe["bounds_static"] == [0, 2, 4, 6]
    assert probe["bounds_missing"] == [0, 1]
    assert probe["labels_live"] == ["kick", "snare", "hat", "tom"]
    assert probe["labels_static"] == ["lo", "mid", "hat"]  # garbage live -> static labels
    assert probe["labels_missing"] == []
    assert probe["keys"] == ["tidalsort_kb6", "tidalsort_kb6_labels", "tidalsort:static:kb6", "tidalsort:static:kb6:labels"]


# --------------------------------------------------------------------------- families

# Probe.hs, bank "x" sorted with --group sound (famC): the kick family is spread over three
# clusters, hats come first.
KICKS_C = [4, 5, 9, 10, 12, 13, 14]
HATS_C = [0, 1, 2, 3, 11]
SNARES_C = [6, 7, 8]


def test_family_index_across_re_sorts(probe):
    """tsFam "x" "kick" keeps playing kicks: before and after a re-sort that cut the clusters
    differently (famA -> famB) and when the kicks are spread over clusters (famC), where
    cluster 0 now holds hats (what tsIn "x" 0 plays)."""
    assert values(probe, "fam_a") == [0, 1, 2, 3, 4, 5, 0, 5]
    assert values(probe, "fam_b") == [0, 1, 2, 3, 4, 5, 6, 0, 6]
    assert values(probe, "fam_c") == KICKS_C + [KICKS_C[0], KICKS_C[-1]]
    assert values(probe, "fam_c_cluster_0") == [0, 1]  # a cluster number follows the layout, not the family
    assert [o for o, _ in events(probe, "fam_c")] == [Fraction(k, 9) for k in range(9)]


def test_family_static_and_live(probe):
    assert values(probe, "fam_static") == KICKS_C[:3]
    assert values(probe, "fam_live_over_static") == [0, 1, 2]


def test_family_aliases_and_absent_families(probe):
    # "<BD hh SD cy>": kick, hihat_closed, snare, cymbal (absent: no events in cycle 3)
    assert per_cycle(probe, "fam_aliases") == {0: KICKS_C[:2], 1: HATS_C[:2], 2: SNARES_C[:2]}
    assert probe["fam_absent"] == [] and probe["fam_no_labels"] == []
    assert probe["fam_rand_absent"] == [] and probe["fam_drift_absent"] == []
    # older banks: a label is its own family ("hat"); the abbreviation hh means hihat_closed
    assert per_cycle(probe, "fam_old_labels") == {0: [4, 5]}
    assert probe["family_names"] == [
        "kick",
        "snare",
        "clap",
        "rim",
        "rim",
        "tom",
        "tom",
        "tom",
        "tom",
        "hihat_closed",
        "hihat_closed",
        "hihat_open",
        "cymbal",
        "cymbal",
        "cymbal",
        "perc",
        "perc",
        "perc",
        "perc",
        "other",
        "other",
        "kick",
        "hihat_open",
        "hat",
    ]


def test_family_random_member(probe):
    got = values(probe, "fam_rand")
    want = [KICKS_C[int(r * len(KICKS_C))] for _, _, r in probe["fam_rand_oracle"]]
    assert got == want and len(got) == 32 and len(set(got)) > 3


def test_family_drift_walks_the_family_in_bank_order(probe):
    vals = values(probe, "fam_drift")
    assert len(vals) == 400 and set(vals) == set(KICKS_C)
    steps = {KICKS_C.index(b) - KICKS_C.index(a) for a, b in zip(vals, vals[1:])}
    assert steps == {-1, 1}


def test_family_pattern_words(probe):
    # kick:0 [hihat_closed:1 hh:2] snare:0 oh:1 (absent: no event) bd:-1 sd
    ev = events(probe, "fam_pat")
    assert [v for _, v in ev] == [4, 1, 2, 6, 14, 6]
    assert [o for o, _ in ev] == [Fraction(0), Fraction(1, 6), Fraction(1, 4), Fraction(1, 3), Fraction(2, 3), Fraction(5, 6)]


def test_family_helpers_inside_n_and_ranges(probe):
    assert values(probe, "fam_inside_n") == KICKS_C[:4]
    assert probe["fam_ranges"] == [[4, 6], [9, 11], [12, 15]]
    assert probe["fam_ranges_absent"] == []


# --------------------------------------------------------------------------- live values in parts


def test_live_values_sent_in_parts_are_joined(probe):
    # "0 4 8 1" + "2 20 3" + "0" and "kick sn" + "are hat tom x"
    assert probe["parts_bounds"] == [0, 4, 8, 12, 20, 30]
    assert probe["parts_labels"] == ["kick", "snare", "hat", "tom", "x"]
    assert values(probe, "parts_in") == [20, 21, 22, 23]
    assert values(probe, "parts_label") == [20, 21]


@pytest.mark.parametrize("case", ["parts_other_generation", "parts_missing", "parts_too_many", "parts_bad_header"])
def test_parts_that_do_not_match_fall_back_to_static(probe, case):
    assert probe[case] == [0, 2, 4, 6]


# --------------------------------------------------------------------------- labels & tsPat


def test_label_picks_cluster(probe):
    assert values(probe, "label_live") == [8, 9, 10, 11, 8]
    assert values(probe, "label_live_over_static") == [8, 9, 10]


def test_label_case_numbers_and_unknown(probe):
    # HAT -> 2, c3 -> 3, "2" -> 2, unknown zz -> cluster 0
    assert per_cycle(probe, "label_case_numbers") == {0: [8, 9], 1: [12, 13], 2: [8, 9], 3: [0, 1]}


def test_label_with_static_labels(probe):
    assert per_cycle(probe, "label_static") == {0: [4, 5, 4], 1: [2, 3, 2]}
    assert values(probe, "label_missing") == [0, 0, 0]


def test_num_gives_cluster_numbers(probe):
    assert values(probe, "num_live") == [2, 0, 0, 3, 3]


def test_pat_clusters_and_indices_together(probe):
    # 0:1 hat:2 tom:-1 c1 9:1 zz snare:x
    assert values(probe, "pat_live") == [1, 10, 19, 4, 5, 0, 4]
    assert values(probe, "pat_static") == [5, 2, 1]  # hat:1, mid, 0:-1
    assert values(probe, "pat_missing") == [0, 0]


def test_helpers_work_inside_n(probe):
    assert events(probe, "in_inside_n") == [(Fraction(k, 5), 8 + k % 4) for k in range(5)]
    assert values(probe, "pat_inside_n") == [13, 2]


# --------------------------------------------------------------------------- tsRand


def _expected_rand(oracle, clusters_by_cycle, bounds):
    out = []
    for a, b, r in oracle:
        lo, hi = bounds[clusters_by_cycle(int(Fraction(a, b) // 1))]
        out.append(lo + int(r * (hi - lo)))
    return out


def test_rand_member_of_cluster_per_event(probe):
    got = values(probe, "rand_live")  # segment 8 $ tsRand "kb6" "<3 0>"
    want = _expected_rand(probe["rand_oracle"], lambda c: [3, 0][c % 2], LIVE)
    assert got == want
    assert all(12 <= v < 20 for v in got[:8]) and all(0 <= v < 4 for v in got[8:])
    assert len(set(got[:8])) > 1  # really random per event


def test_rand_fresh_for_every_event_under_hash(probe):
    # s "kb6*8" # n (tsRand "kb6" 3)
    got = values(probe, "rand_in_n")
    assert got == _expected_rand(probe["rand_in_n_oracle"], lambda c: 3, LIVE)
    assert len(set(got)) > 3


def test_rand_single_sample_and_missing(probe):
    assert values(probe, "rand_single") == [1, 1, 1, 1]
    assert values(probe, "rand_missing") == [0, 0, 0, 0]


# --------------------------------------------------------------------------- tsDrift


def _assert_walk(vals, lo, hi):
    assert all(lo <= v < hi for v in vals), vals
    steps = [b - a for a, b in zip(vals, vals[1:])]
    assert set(steps) <= {-1, 1}, steps


def test_drift_is_a_bounded_walk_of_neighbours(probe):
    ev = events(probe, "drift_live")
    assert [o for o, _ in ev] == [Fraction(k, 8) for k in range(32)]
    vals = [v for _, v in ev]
    assert vals[0] == 0  # the walk starts at the bank's first sample at cycle 0
    _assert_walk(vals, 0, 20)
    # regression values (the walk is a fixed function of the step number)
    assert vals[:16] == [0, 1, 0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 3]


def test_drift_covers_the_bank_and_bounces(probe):
    vals = values(probe, "drift_live_long")
    assert len(vals) == 4800
    _assert_walk(vals, 0, 20)
    assert min(vals) == 0 and max(vals) == 19
    assert vals[:32] == values(probe, "drift_live")


def test_drift_far_and_negative_cycles(probe):
    _assert_walk(values(probe, "drift_far"), 0, 20)
    assert len(values(probe, "drift_far")) == 32
    ev = events(probe, "drift_negative_cycles")
    assert [o for o, _ in ev] == [Fraction(k, 4) for k in range(-8, 8)]
    _assert_walk([v for _, v in ev], 0, 20)
    assert dict(ev)[Fraction(0)] == 0


def test_drift_patterned_rate_and_degenerate_banks(probe):
    assert [o for o, _ in events(probe, "drift_rate_pattern")] == (
        [Fraction(k, 4) for k in range(4)] + [1 + Fraction(k, 8) for k in range(8)]
    )
    assert values(probe, "drift_single") == [5] * 8
    assert values(probe, "drift_missing") == [0] * 8
    assert events(probe, "drift_zero_rate") == [(Fraction(0), 0), (Fraction(1), 1)]  # rate <= 0 -> 1


def test_drift_in_stays_inside_cluster(probe):
    vals = values(probe, "driftin_live")
    assert len(vals) == 400
    _assert_walk(vals, 4, 8)
    assert min(vals) == 4 and max(vals) == 7
    assert values(probe, "driftin_single") == [2, 2, 2, 2]


# --------------------------------------------------------------------------- tsSpread


def test_spread_covers_every_cluster_evenly(probe):
    ev = events(probe, "spread_live")  # 4 steps per cycle, 4 clusters, 10 cycles
    assert [o for o, _ in ev] == [Fraction(k, 4) for k in range(40)]
    vals = [v for _, v in ev]

    def cluster_of(v: int) -> int:
        return next(i for i, (lo, hi) in enumerate(LIVE) if lo <= v < hi)

    for rnd in range(10):
        chunk = vals[4 * rnd : 4 * rnd + 4]
        clusters = [cluster_of(v) for v in chunk]
        assert sorted(clusters) == [0, 1, 2, 3], (rnd, chunk)
        for v, c in zip(chunk, clusters):
            lo, hi = LIVE[c]
            assert v == lo + rnd % (hi - lo), (rnd, v, c)
    orders = {tuple(cluster_of(v) for v in vals[i : i + 4]) for i in range(0, 40, 4)}
    assert len(orders) > 1  # the order is shuffled from round to round


def test_spread_single_sample_clusters_and_missing(probe):
    vals = values(probe, "spread_single")
    assert len(vals) == 12
    for rnd in range(4):
        assert sorted(vals[3 * rnd : 3 * rnd + 3]) == [0, 1, 2]
    assert values(probe, "spread_missing") == [0, 0, 0, 0]


# --------------------------------------------------------------------------- OSC helpers

# --------------------------------------------------------------------------- integration

WARMUP, SETTLE, WINDOW = 0.3, 0.6, 1.6


@pytest.fixture(scope="module")
def live_run(binaries) -> dict:
    """One real Tidal stream, three phases: static only, live /ctrl, garbage live /ctrl."""
    dirt = DirtCapture()
    ctrl_port, tempo_port = free_udp_port(), free_udp_port()
    proc = subprocess.Popen(
        [str(binaries["live"]), str(dirt.port), str(ctrl_port), str(tempo_port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    phases = {}
    try:
        banner = hs.wait_for_line(proc, "READY", 30)
        assert f"127.0.0.1:{ctrl_port}" in banner, banner
        t = time.monotonic() + WARMUP
        time.sleep(WARMUP + WINDOW)
        phases["static"] = dirt.between(t, t + WINDOW)

        send_ctrl(ctrl_port, "tidalsort_kb6", "0 4 8 12 20")
        send_ctrl(ctrl_port, "tidalsort_kb6_labels", "kick snare hat tom")
        # bank fam re-sorted: more clusters, hats first, the kicks spread (Probe.hs's famC)
        send_ctrl(ctrl_port, "tidalsort_fam", "0 4 6 9 11 12 15 15")
        send_ctrl(ctrl_port, "tidalsort_fam_labels", "hihat_closed kick snare kick-2 HIHAT_CLOSED-2 kick-3 kick-4")
        t = time.monotonic() + SETTLE
        time.sleep(SETTLE + WINDOW)
        phases["live"] = dirt.between(t, t + WINDOW)

        send_ctrl(ctrl_port, "tidalsort_kb6", "zz top")
        send_ctrl(ctrl_port, "tidalsort_fam", "zz top")
        t = time.monotonic() + SETTLE
        time.sleep(SETTLE + WINDOW)
        phases["garbage"] = dirt.between(t, t + WINDOW)
    finally:
        try:
            proc.stdin.close()
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        dirt.close()
    phases["stderr"] = proc.stderr.read()
    phases["returncode"] = proc.returncode
    return phases


def _by_sound(msgs: list[dict], sound: str) -> list[dict]:
    return sorted((m for m in msgs if m.get("s") == sound), key=lambda m: m["cycle"])


def _slot(m: dict, per_cycle: int) -> int:
    return int(round((m["cycle"] % 1) * per_cycle)) % per_cycle


def test_live_stream_ran_cleanly(live_run):
    assert live_run["returncode"] == 0, live_run["stderr"]
    for phase in ("static", "live", "garbage"):
        sounds = {m["s"] for m in live_run[phase]}
        assert sounds == {"tin", "tlabel", "trand", "tdrift", "tpat", "tnone", "tspread", "tfam", "tfampat", "tfamrand", "tfamdrift"}, (
            phase,
            sounds,
        )  # tfamnone: absent family
        assert all(float(m["n"]).is_integer() for m in live_run[phase])


@pytest.mark.parametrize("phase,cluster", [("static", (2, 4)), ("live", (4, 8)), ("garbage", (2, 4))])
def test_live_tsin_exact_n(live_run, phase, cluster):
    msgs = _by_sound(live_run[phase], "tin")  # s "tin*4" # n (tsIn "kb6" 1 "0 1 2 3")
    assert len(msgs) >= 4
    lo, hi = cluster
    for m in msgs:
        assert m["n"] == lo + _slot(m, 4) % (hi - lo), (phase, m)


@pytest.mark.parametrize("phase,cluster", [("static", (4, 6)), ("live", (8, 12)), ("garbage", (4, 6))])
def test_live_tslabel_and_tsrand_in_cluster(live_run, phase, cluster):
    lo, hi = cluster  # "hat" is cluster 2 in both label sets
    lab = _by_sound(live_run[phase], "tlabel")
    assert len(lab) >= 4
    for m in lab:
        assert m["n"] == lo + _slot(m, 4) % (hi - lo), (phase, m)
    rnd = _by_sound(live_run[phase], "trand")  # tsRand "kb6" 2
    assert len(rnd) >= 8
    assert all(lo <= m["n"] < hi for m in rnd), (phase, [m["n"] for m in rnd])


@pytest.mark.parametrize("phase,expected", [("static", [5, 1]), ("live", [9, 3]), ("garbage", [5, 1])])
def test_live_tspat(live_run, phase, expected):
    msgs = _by_sound(live_run[phase], "tpat")  # tsPat "kb6" "hat:1 0:-1"
    assert len(msgs) >= 2
    for m in msgs:
        assert m["n"] == expected[_slot(m, 2)], (phase, m)


@pytest.mark.parametrize("phase,bank", [("static", (0, 6)), ("live", (0, 20)), ("garbage", (0, 6))])
def test_live_tsdrift_neighbours(live_run, phase, bank):
    msgs = _by_sound(live_run[phase], "tdrift")
    assert len(msgs) >= 8
    lo, hi = bank
    assert all(lo <= m["n"] < hi for m in msgs)
    for a, b in zip(msgs, msgs[1:]):
        if abs((b["cycle"] - a["cycle"]) - 1 / 8) < 1e-4:  # successive steps
            assert abs(b["n"] - a["n"]) == 1, (phase, a, b)


@pytest.mark.parametrize("phase,clusters", [("static", STATIC), ("live", LIVE), ("garbage", STATIC)])
def test_live_tsspread_rounds(live_run, phase, clusters):
    msgs = _by_sound(live_run[phase], "tspread")  # tsSpread "kb6" 4
    assert len(msgs) >= 4
    count = len(clusters)
    rounds: dict[int, list] = {}
    for m in msgs:
        step = int(round(m["cycle"] * 4))
        c = next(i for i, (lo, hi) in enumerate(clusters) if lo <= m["n"] < hi)
        lo, hi = clusters[c]
        assert m["n"] == lo + (step // count) % (hi - lo), (phase, m)
        rounds.setdefault(step // count, []).append(c)
    for cs in rounds.values():
        assert len(cs) == len(set(cs))  # never the same cluster twice in a round


def test_live_unknown_bank_plays_zero(live_run):
    for phase in ("static", "live", "garbage"):
        msgs = _by_sound(live_run[phase], "tnone")
        assert msgs and all(m["n"] == 0 for m in msgs)


# bank fam: static "0 3 6 10" (kick kick-2 snare); live famC of Probe.hs; garbage -> static
FAM = {
    "static": {"kick": [0, 1, 2, 3, 4, 5], "snare": [6, 7, 8, 9], "hihat_closed": []},
    "live": {"kick": KICKS_C, "snare": SNARES_C, "hihat_closed": HATS_C},
}
FAM["garbage"] = FAM["static"]


@pytest.mark.parametrize("phase", ["static", "live", "garbage"])
def test_live_family_helpers_keep_their_family(live_run, phase):
    fam = FAM[phase]
    msgs = _by_sound(live_run[phase], "tfam")  # tsFam "fam" "kick" "0 1 2 3"
    assert len(msgs) >= 4
    for m in msgs:
        assert m["n"] == fam["kick"][_slot(m, 4)], (phase, m)
    pat = _by_sound(live_run[phase], "tfampat")  # "bd sd hh:1 oh": oh never, hh:1 only with hats
    assert len(pat) >= 2
    want = {0: fam["kick"][0], 1: fam["snare"][0], 2: fam["hihat_closed"][1] if fam["hihat_closed"] else None}
    for m in pat:
        assert m["n"] == want[_slot(m, 4)], (phase, m)
    assert {_slot(m, 4) for m in pat} == ({0, 1, 2} if fam["hihat_closed"] else {0, 1})
    rnd = _by_sound(live_run[phase], "tfamrand")
    assert len(rnd) >= 8 and all(m["n"] in fam["snare"] for m in rnd)
    drift = _by_sound(live_run[phase], "tfamdrift")
    assert len(drift) >= 8 and all(m["n"] in fam["kick"] for m in drift)
    for a, b in zip(drift, drift[1:]):
        if abs((b["cycle"] - a["cycle"]) - 1 / 8) < 1e-4:
            assert abs(fam["kick"].index(b["n"]) - fam["kick"].index(a["n"])) == 1, (phase, a, b)
    assert _by_sound(live_run[phase], "tfamnone") == []  # a family the bank lacks plays nothing


# --------------------------------------------------------------------------- GHCi :script


def banks_file(root: Path, banks: list[tuple[str, str, str]]) -> Path:
    """The file `tidalsort sort --out ROOT` writes, made by tidalsort's own generator."""
    path = root / HASKELL_BANKS_NAME
    path.write_text(render(banks, root), encoding="utf-8")
    return path


def _clean(res: subprocess.CompletedProcess) -> None:
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "", res.stderr
    assert "error" not in res.stdout.lower(), res.stdout


def test_script_and_banks_load_after_boottidal_and_play(toolchain, tmp_path):
    root = tmp_path / "sorted"
    root.mkdir()
    banks = banks_file(root, [("kb6", "0 12 30 55", "kick snare c2"), ("demo", "0 8 16", "kick hat")])
    dirt = DirtCapture()
    try:
        script = (
            boot_preamble(dirt.port, free_udp_port(), free_udp_port())
            + f"""\
:script {SCRIPT}
:script {banks}
tsStatic tidal tidalsortBanks
setcps 1
d1 $ s "g1*4" # n (tsIn "kb6" 1 "0 1 2 3")
d2 $ s "g2*4" # n (tsLabel "demo" "hat" "0 1 2 3")
import Control.Concurrent (threadDelay)
threadDelay 1500000
hush
putStrLn ("LOADED " ++ show (length tidalsortBanks))
"""
        )
        res = run_ghci(toolchain, script)
    finally:
        dirt.close()
    _clean(res)
    assert "LOADED 2" in res.stdout
    g1 = [m for _, m in dirt.plays if m.get("s") == "g1"]
    g2 = [m for _, m in dirt.plays if m.get("s") == "g2"]
    assert len(g1) >= 4 and len(g2) >= 4, (len(g1), len(g2))
    for m in g1:  # cluster 1 of kb6 = [12, 30)
        assert m["n"] == 12 + _slot(m, 4), m
    for m in g2:  # "hat" = cluster 1 of demo = [8, 16)
        assert m["n"] == 8 + _slot(m, 4), m


def test_banks_file_loads_first_alone_and_empty(toolchain, tmp_path):
    full = tmp_path / "full"
    empty = tmp_path / "empty"
    full.mkdir()
    empty.mkdir()
    banks = banks_file(full, [("kb6", "0 12 30 55", "kick snare c2")])
    none = banks_file(empty, [])
    # banks file before tidalsort.hs, then the helpers
    script = (
        boot_preamble(free_udp_port(), free_udp_port(), free_udp_port())
        + f"""\
:script {banks}
:script {SCRIPT}
tsStatic tidal tidalsortBanks
print tidalsortBanks
:script {none}
print (length tidalsortBanks)
tsStatic tidal tidalsortBanks
print (map value (queryArc (tsIn "kb6" 1 "0 1 2" :: Pattern Int) (Arc 0 1)))
"""
    )
    res = run_ghci(toolchain, script)
    _clean(res)
    lines = [line for line in res.stdout.splitlines() if not line.startswith(("[TidalCycles", "Installed", "Listening", "Waiting for"))]
    assert lines == ['[("kb6","0 12 30 55","kick snare c2")]', "0", "[0,0,0]"], res.stdout
    # the banks file alone, in a plain GHCi without Tidal: it is pure data
    res = run_ghci(toolchain, f':set prompt ""\n:script {banks}\nprint tidalsortBanks\n')
    _clean(res)
    assert res.stdout.strip() == '[("kb6","0 12 30 55","kick snare c2")]'


def test_script_types_match_module(toolchain):
    query = "".join(f":t {name}\n" for name in PUBLIC)
    pre = ':set -XOverloadedStrings\n:set prompt ""\nimport Sound.Tidal.Context\n'
    from_script = run_ghci(toolchain, pre + f":script {SCRIPT}\n" + query)
    from_module = run_ghci(toolchain, pre + f":load {MODULE}\nimport Sound.Tidal.Context\n" + query)
    _clean(from_script)
    _clean(from_module)
    got, want = _types(from_script.stdout), _types(from_module.stdout)
    assert got == want
    assert list(got) == PUBLIC
    assert got["tsIn"] == "Num a => String -> Pattern Int -> Pattern Int -> Pattern a"
    assert got["tsStatic"] == "Stream -> [(String, String, String)] -> IO ()"


def _types(out: str) -> dict[str, str]:
    """`:t` output (long types wrap onto indented lines) as {name: type}."""
    joined = re.sub(r"\n\s+", " ", out.strip())
    return dict(tuple(part.strip() for part in line.split(" :: ", 1)) for line in joined.splitlines())


# --------------------------------------------------------------------------- sync, package, docs


def _gen_script():
    spec = importlib.util.spec_from_file_location("tidalsort_gen_script", HS / "gen_script.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_script_is_generated_from_module():
    gen = _gen_script()
    want = gen.render(MODULE.read_text(encoding="utf-8"))
    assert SCRIPT.read_text(encoding="utf-8") == want, "run: python3 haskell/gen_script.py"


def test_exports_are_the_public_definitions():
    text = MODULE.read_text(encoding="utf-8")
    exports = re.search(r"module Sound\.Tidal\.TidalSort\s*\((.*?)\)\s*where", text, re.DOTALL).group(1)
    exported = re.findall(r"\w+", re.sub(r"--[^\n]*", "", exports))
    _, defs = _gen_script().blocks(text)
    defined = [m.group(1) for line in defs if (m := re.match(r"^(ts[A-Z]\w*) ::", line))]
    assert exported == PUBLIC
    assert sorted(defined) == sorted(PUBLIC)
    internal = {m.group(1) for line in defs if (m := re.match(r"^([a-z]\w*) ::", line))} - set(PUBLIC)
    assert all(name.startswith("tidalsort") for name in internal), internal
    # every helper has a Haddock comment with a Tidal example
    for name in PUBLIC:
        i = next(k for k, line in enumerate(defs) if line.startswith(f"{name} ::"))
        j = i
        while j > 0 and defs[j - 1].startswith("--"):
            j -= 1
        run = defs[j:i]
        starts = [k for k, line in enumerate(run) if line.startswith("-- |")]
        assert starts, f"{name} has no Haddock comment"
        doc = run[starts[-1] :]
        if name not in ("tsStaticKey", "tsStaticLabelsKey", "tsFallback"):
            assert any(line.startswith("-- > ") for line in doc), name


def test_module_has_no_pattern_constructor_or_bare_left_apply():
    _, defs = _gen_script().blocks(MODULE.read_text(encoding="utf-8"))
    code = "\n".join(line.split("--")[0] for line in defs)
    assert not re.search(r"\bPattern\s*(\$|\{|\\)", code)
    assert " <* " not in code and " *> " not in code


def test_module_builds_warning_free_and_haddock_covers_all(toolchain, tmp_path):
    res = subprocess.run(
        [toolchain["ghc"], "-Wall", "-Werror", "-O0", f"-i{HS / 'src'}", "-outputdir", str(tmp_path / "o"), "-c", str(MODULE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    haddock = shutil.which("haddock")
    if not haddock:
        _unavailable("haddock not found (it comes with Debian's ghc)")
    res = subprocess.run([haddock, "--html", "-o", str(tmp_path / "doc"), str(MODULE)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"100% \(\s*(\d+) /\s*\1\) in 'Sound\.Tidal\.TidalSort'", res.stdout), res.stdout


def test_cabal_package_builds_offline(toolchain, tmp_path):
    cabal = shutil.which("cabal")
    if not cabal:
        _unavailable("cabal-install not installed (apt-get install cabal-install)")
    work = tmp_path / "pkg"
    shutil.copytree(HS, work, ignore=shutil.ignore_patterns("dist*", "__pycache__"))
    config = tmp_path / "cabal.config"
    config.write_text("")  # no remote repositories: only GHC's global (Debian) package db
    env = dict(os.environ, HOME=str(tmp_path / "home"), CABAL_DIR=str(tmp_path / "cabal-dir"))
    res = subprocess.run(
        [cabal, f"--config-file={config}", "build", "--offline", "--builddir", str(tmp_path / "dist")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Sound.Tidal.TidalSort" in res.stdout or "Up to date" in res.stdout


def readme_section() -> str:
    """The Tidal helpers' page, docs/tidal.md (README's section "Playing by similarity" before)."""
    return (ROOT / "docs" / "tidal.md").read_text(encoding="utf-8")


def readme_statements() -> list[str]:
    """The pasteable statements of the README section's Haskell examples (setup blocks
    with :script paths left out); a statement continues on indented lines."""
    text = readme_section()
    statements: list[str] = []
    for block in re.findall(r"```haskell\n(.*?)```", text, re.DOTALL):
        if ":script" in block:
            continue
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("--"):
                continue
            if line[0].isspace() and statements:
                statements[-1] += "\n" + line
            else:
                statements.append(line)
    return statements


def test_readme_section_examples():
    text = readme_section()
    plays = [st for st in readme_statements() if st.startswith("d1 $")]
    assert len(plays) >= 5
    for name in (
        "tsIn",
        "tsRand",
        "tsPat",
        "tsLabel",
        "tsNum",
        "tsDrift",
        "tsDriftIn",
        "tsSpread",
        "tsFam",
        "tsFamRand",
        "tsFamDrift",
        "tsFamPat",
        "tsFamily",
        "tsFamRanges",
        "tsStatic",
        "tsBounds",
    ):
        assert f"`{name} " in text


def test_readme_examples_run_in_ghci(toolchain, tmp_path):
    root = tmp_path / "sorted"
    root.mkdir()
    banks = banks_file(root, [("kb6", "0 12 30 55", "kick kick-2 hihat_closed")])
    body = "".join(f":{{\n{st}\n:}}\n" if "\n" in st else st + "\n" for st in readme_statements())
    script = (
        boot_preamble(free_udp_port(), free_udp_port(), free_udp_port())
        + f"""\
:script {SCRIPT}
:script {banks}
tsStatic tidal tidalsortBanks
{body}hush
putStrLn "EXAMPLES-OK"
"""
    )
    res = run_ghci(toolchain, script)
    _clean(res)
    assert "EXAMPLES-OK" in res.stdout
