"""One error family: a user's mistake or a failure outside tidalsort is one line, a bug a traceback
and where to report it, in every command and in watch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tidalsort.analysis.audio import UnreadableAudio
from tidalsort.cli import main
from tidalsort.errors import (
    REPORT,
    BadOption,
    DamagedIndex,
    ManifestError,
    NotFound,
    TidalsortError,
    UsageError,
)
from tidalsort.live.bridge import BankRejected, BridgeError, BridgeTimeout
from tidalsort.output import manifest as manifest_module
from tidalsort.output import report as report_module
from tidalsort.output.bank import BankClash
from tidalsort.pipeline import NothingToSort, StrictSkip


def test_every_error_told_in_one_line_is_a_tidalsort_error() -> None:
    for kind in (
        UsageError,
        BadOption,
        NotFound,
        ManifestError,
        DamagedIndex,
        BankClash,
        BridgeError,
        BridgeTimeout,
        BankRejected,
        UnreadableAudio,
        NothingToSort,
        StrictSkip,
    ):
        assert issubclass(kind, TidalsortError), kind
    assert issubclass(UsageError, ValueError) and issubclass(DamagedIndex, ValueError)  # callers that caught ValueError still do
    assert manifest_module.ManifestError is ManifestError


@pytest.fixture
def sorted_root(kit: Path, tmp_path: Path) -> Path:
    root = tmp_path / "root"
    assert main(["sort", str(kit / "bells"), "--out", str(root), "--bank", "bells", "--no-dendrogram"]) == 0
    return root


@pytest.mark.parametrize("bug", [ZeroDivisionError("division by zero"), KeyError("clusters"), ValueError("bad shape")])
def test_a_bug_prints_its_traceback_and_where_to_report_it(
    sorted_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, bug: Exception
) -> None:
    """Before, a KeyError or ValueError from a bug was printed as if it were the user's mistake."""

    def broken(*args: object, **kwargs: object) -> None:
        raise bug

    monkeypatch.setattr(report_module, "print_report", broken)
    capsys.readouterr()
    assert main(["report", str(sorted_root)]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and f"{type(bug).__name__}: " in err and "in broken" in err
    assert err.rstrip().splitlines()[-1] == REPORT and "tidalsort: error:" not in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (lambda root: ["report", str(root / "nothing")], "no tidalsort banks in"),
        (lambda root: ["report", str(root), "--bank", "nope"], "no bank 'nope' in"),
        (lambda root: ["similar", "bells:99", "--out", str(root)], "no sample 'bells:99' in the sorted banks"),
        (lambda root: ["map", str(root), "--bank", "nope"], "no bank 'nope' in"),
        (lambda root: ["eval", str(root), "--bank", "nope", "--labels", str(root / "l.csv")], "no bank 'nope' in"),
    ],
)
def test_a_users_mistake_is_one_line(
    sorted_root: Path, capsys: pytest.CaptureFixture, argv: Callable[[Path], list[str]], message: str
) -> None:
    (sorted_root / "nothing").mkdir()
    capsys.readouterr()
    assert main(argv(sorted_root)) == 1
    err = capsys.readouterr().err
    assert err.strip().startswith("tidalsort: error: ") and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_labels_file_without_its_columns_is_one_line(sorted_root: Path, capsys: pytest.CaptureFixture) -> None:
    """A KeyError here was printed as the bare column name before; with the family it would be a bug's traceback."""
    labels = sorted_root / "labels.csv"
    labels.write_text("path,kind\nbells/x.wav,bell\n")
    capsys.readouterr()
    assert main(["eval", str(sorted_root), "--bank", "bells", "--labels", str(labels)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"tidalsort: error: {labels}: not a UTF-8 CSV with the columns relative_path,label (KeyError: 'relative_path')"


def test_a_root_with_several_banks_asks_for_one_in_one_line(sorted_root: Path, kit: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sort", str(kit / "Low Toms"), "--out", str(sorted_root), "--bank", "toms", "--no-dendrogram"]) == 0
    capsys.readouterr()
    assert main(["map", str(sorted_root)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"tidalsort: error: {sorted_root} holds several banks (bells, toms): choose one with --bank"


def test_an_os_error_names_the_file(kit: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "no-such-model.npz"
    assert main(["sort", str(kit), "--out", str(tmp_path / "root"), "--model", str(missing)]) == 1
    assert capsys.readouterr().err.strip() == f"tidalsort: error: {missing}: No such file or directory"


def test_a_damaged_feature_index_is_one_line(sorted_root: Path, capsys: pytest.CaptureFixture) -> None:
    index = sorted_root / ".tidalsort" / "features-bells.npz"
    index.write_bytes(b"not an index")
    capsys.readouterr()
    assert main(["map", str(sorted_root)]) == 1
    err = capsys.readouterr().err
    assert err.strip().startswith(f"tidalsort: error: {index}: not a readable feature index") and len(err.strip().splitlines()) == 1


def fake_watch(sources: object, on_change: Callable[[], None], *args: object, **kwargs: object) -> None:
    """Watching that sorts once and stops."""
    on_change()


def test_watch_tells_a_users_mistake_in_one_line_and_watches_on(
    kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import tidalsort.live.watch
    import tidalsort.pipeline

    def nothing(*args: object, **kwargs: object) -> None:
        raise NothingToSort("nothing to sort: no readable audio among 0 files found")

    monkeypatch.setattr(tidalsort.live.watch, "watch", fake_watch)
    monkeypatch.setattr(tidalsort.pipeline, "sort_library", nothing)
    assert main(["watch", str(kit), "--out", str(tmp_path / "root"), "--no-notify"]) == 0
    assert capsys.readouterr().err.strip() == "tidalsort: nothing to sort: no readable audio among 0 files found; watching on"


def test_watch_stops_on_a_bug_with_its_traceback(
    kit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Before, watch kept its own list of errors: a ValueError from a bug was printed as a user's mistake."""
    import tidalsort.live.watch
    import tidalsort.pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(tidalsort.live.watch, "watch", fake_watch)
    monkeypatch.setattr(tidalsort.pipeline, "sort_library", broken)
    assert main(["watch", str(kit), "--out", str(tmp_path / "root"), "--no-notify"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ValueError: operands could not be broadcast together" in err
    assert err.rstrip().splitlines()[-1] == REPORT and "watching on" not in err


def test_a_bug_in_a_fresh_process_exits_1_with_the_report_line(tmp_path: Path) -> None:
    script = (
        "import sys, tidalsort.cli as c, tidalsort.output.manifest as m\n"
        "m.bank_entries = lambda *a: 1 / 0\n"
        "sys.exit(c.main(['report', sys.argv[1]]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "ZeroDivisionError" in result.stderr and result.stderr.rstrip().endswith(REPORT)
