"""The Tidal helpers under every Tidal the tests know: Debian's 1.7.10 and the pure modules of
Tidal 1.9.5 and 1.10.0 (tidal-core) compiled from ../shared/vendor beside a stand-in for
Tidal's stream (tests/hs_support.py). tests/test_haskell.py runs its pure tests under all
three; here: they agree, the module and its ``:script`` twin type-check alike under each,
and Tidal 1.10's ``bank`` control.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:
    import hs_support as hs
except ImportError:  # tests/ imported as a package
    from tests import hs_support as hs  # type: ignore[no-redef]

from test_haskell import PUBLIC, _types

VENDORED = [v for v in hs.TIDALS if v != "debian"]
#: Cases of haskell/test/Probe.hs drawn from Tidal's ``rand``, which 1.10 samples at an
#: event's start where 1.7 and 1.9 sample its middle (UI.hs, ``rand``): the same helpers give
#: other members there. tests/test_haskell.py checks each version against its own ``rand``.
RAND_CASES = {"fam_rand", "fam_rand_oracle", "rand_live", "rand_oracle", "rand_in_n", "rand_in_n_oracle"}


@pytest.fixture(scope="module")
def toolchain() -> dict:
    return hs.require_toolchain()


@pytest.mark.parametrize("version", VENDORED)
def test_probe_events_agree_with_debians_tidal(toolchain, version):
    debian = hs.probe_events(toolchain["ghc"], "debian")
    other = hs.probe_events(toolchain["ghc"], version)
    assert list(other) == list(debian)
    differ = {name for name in debian if other[name] != debian[name]}
    assert differ <= RAND_CASES, sorted(differ - RAND_CASES)
    if version == "1.9.5":
        assert differ == set()  # 1.9's rand is 1.7's
    else:
        assert differ == RAND_CASES  # 1.10's rand changed; the oracle shows it is rand, not the helpers


def _types_of(toolchain: dict, version: str, tmp_path: Path, source: str) -> dict[str, str]:
    """:t of every public helper, after ``source`` (``:script`` of the twin or ``:load`` of the module)."""
    query = "".join(f":t {name}\n" for name in PUBLIC)
    flags = None if version == "debian" else hs.tidal_flags(version, tmp_path / f"objs-{version}", ghci=True)
    script = hs.ghci_preamble(version) + source + ':set -XOverloadedStrings\n:set prompt ""\nimport Sound.Tidal.Context\n' + query
    res = hs.run_ghci(toolchain, script, timeout=300, flags=flags)
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr
    return _types(res.stdout)


@pytest.mark.parametrize("version", VENDORED)
def test_script_and_module_type_check_alike_under_each_tidal(toolchain, version, tmp_path):
    """tidalsort.hs (the :script twin) and the module give every helper the type they have
    with Debian's Tidal, under Tidal ``version`` too (Stream being the stand-in's)."""
    want = _types_of(toolchain, "debian", tmp_path, f":script {hs.SCRIPT}\n")
    assert list(want) == PUBLIC
    from_script = _types_of(toolchain, version, tmp_path, f":script {hs.SCRIPT}\n")
    from_module = _types_of(toolchain, version, tmp_path, f":load {hs.MODULE}\n")
    assert from_script == want
    assert from_module == want


def _bank_events(toolchain: dict, version: str, tmp_path: Path, pattern: str) -> tuple[int, str, str]:
    script = (
        hs.ghci_preamble(version) + ':set -XOverloadedStrings\n:set prompt ""\nimport qualified Data.Map as Map\n'
        f'print [(Map.lookup "s" (value e), Map.lookup "bank" (value e)) | e <- queryArc ({pattern}) (Arc 0 1)]\n'
    )
    flags = None if version == "debian" else hs.tidal_flags(version, tmp_path / "objs", ghci=True)
    res = hs.run_ghci(toolchain, script, timeout=300, flags=flags)
    return res.returncode, res.stdout, res.stderr


def test_tidal_1_10_has_a_bank_control(toolchain, tmp_path):
    """``s "bd*4 sd" # bank "kb6"`` (README, report of --layout families) gives every event
    an s and a bank in Tidal 1.10; SuperDirt after 1.7.4 plays the sound kb6_bd from them."""
    code, out, err = _bank_events(toolchain, "1.10.0", tmp_path, 's "bd*4 sd" # bank "kb6"')
    assert code == 0 and err.strip() == "", err
    assert out.strip() == "[" + ",".join(['(Just "bd",Just "kb6")'] * 4 + ['(Just "sd",Just "kb6")']) + "]"


@pytest.mark.parametrize("version", ["debian", "1.9.5"])
def test_older_tidal_has_no_bank(toolchain, tmp_path, version):
    """Before 1.10 there is no ``bank``: the reason the report's Tidal line for --layout
    families names the folder (``s "kb6_bd"``), which plays everywhere."""
    code, out, err = _bank_events(toolchain, version, tmp_path, 's "bd*4 sd" # bank "kb6"')
    assert re.search(r"Variable not in scope: bank", err), (code, out, err)
