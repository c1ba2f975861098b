"""Scanning: files and folders, recursion, hidden files, each file once, stable order."""

import os
import socket
from pathlib import Path

from conftest import tone, write

from tidalsort.analysis.scan import BANK_MARKER, path_text, scan


def test_mix_of_files_and_folders_recursive_hidden_skipped(tmp_path: Path) -> None:
    a = write(tmp_path / "lib" / "a.wav", tone(100, 0.1))
    b = write(tmp_path / "lib" / "deep" / "er" / "b.aiff", tone(100, 0.1), fmt="AIFF")
    write(tmp_path / "lib" / ".hidden.wav", tone(100, 0.1))
    write(tmp_path / "lib" / ".git" / "c.wav", tone(100, 0.1))
    single = write(tmp_path / "elsewhere" / "d.flac", tone(100, 0.1))
    files, missing = scan([tmp_path / "lib", single, tmp_path / "nope"])
    assert files == sorted([a, b, single], key=str)
    assert missing == [(tmp_path / "nope", "no such file or folder")]


def test_file_reached_twice_counts_once(tmp_path: Path) -> None:
    a = write(tmp_path / "lib" / "sub" / "a.wav", tone(100, 0.1))
    os.symlink(tmp_path / "lib" / "sub", tmp_path / "lib" / "link-to-sub")
    os.symlink(a, tmp_path / "lib" / "alias.wav")
    os.link(a, tmp_path / "hard.wav")
    files, _ = scan([tmp_path / "lib", tmp_path / "lib" / "sub", a, tmp_path / "hard.wav"])
    assert len(files) == 1


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    write(tmp_path / "lib" / "a.wav", tone(100, 0.1))
    os.symlink(tmp_path / "lib", tmp_path / "lib" / "loop")
    files, _ = scan([tmp_path / "lib"])
    assert len(files) == 1


def test_order_of_sources_does_not_matter(kit: Path) -> None:
    sources = sorted(kit.iterdir())
    assert scan(sources)[0] == scan(list(reversed(sources)))[0] == scan([kit])[0]


def test_banks_written_by_tidalsort_are_not_rescanned(tmp_path: Path) -> None:
    write(tmp_path / "lib" / "a.wav", tone(100, 0.1))
    write(tmp_path / "lib" / "sorted" / "000_a.wav", tone(100, 0.1))
    (tmp_path / "lib" / "sorted" / BANK_MARKER).write_text("bank: sorted\n")
    files, _ = scan([tmp_path / "lib"])
    assert [f.name for f in files] == ["a.wav"]


def test_looping_symlinks_get_a_line_and_the_scan_goes_on(tmp_path: Path) -> None:
    good = write(tmp_path / "s" / "good.wav", tone(100, 0.1))
    os.symlink("self.wav", tmp_path / "s" / "self.wav")  # ln -s self.wav s/self.wav
    os.symlink("b.wav", tmp_path / "s" / "a.wav")
    os.symlink("a.wav", tmp_path / "s" / "b.wav")
    files, problems = scan([tmp_path / "s", tmp_path / "s" / "self.wav"])
    assert files == [good]
    reasons = {path.name: reason for path, reason in problems}
    assert set(reasons) == {"self.wav", "a.wav", "b.wav"} and len(problems) == 4
    assert all(reason.startswith("symbolic link loop") for reason in reasons.values())


def test_broken_links_pipes_and_sockets_get_a_line_saying_what_they_are(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    good = write(folder / "good.wav", tone(100, 0.1))
    os.symlink(tmp_path / "gone.wav", folder / "broken.wav")
    os.mkfifo(folder / "pipe.wav")
    os.mkfifo(tmp_path / "given.wav")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "sock.wav"))
        files, problems = scan([folder, tmp_path / "given.wav", tmp_path / "nope"])
    assert files == [good]
    reasons = {path.name: reason for path, reason in problems}
    assert reasons == {
        "broken.wav": f"broken symbolic link (to {tmp_path / 'gone.wav'}, which does not exist)",
        "pipe.wav": "a named pipe (FIFO), not a file",
        "given.wav": "a named pipe (FIFO), not a file",
        "sock.wav": "a socket, not a file",
        "nope": "no such file or folder",
    }


def test_names_that_are_not_utf8_are_found_and_written_as_text_with_escapes(tmp_path: Path) -> None:
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"lat\xe9in.wav")))
    write(path, tone(100, 0.1))
    files, _ = scan([tmp_path])
    assert files == [path] and os.path.exists(os.fsencode(files[0]))
    assert path_text(files[0]) == f"{tmp_path}/lat\\xe9in.wav"
    assert path_text(tmp_path / "ünïcode ✓.wav") == f"{tmp_path}/ünïcode ✓.wav"


def test_files_given_as_skip_are_left_out(tmp_path: Path) -> None:
    keep = write(tmp_path / "a.wav", tone(100, 0.1))
    own = write(tmp_path / "b.wav", tone(100, 0.1))
    st = own.stat()
    assert scan([tmp_path], {(st.st_dev, st.st_ino)}) == ([keep], [])
