"""tidalsort.live.watch: file-system events (inotify here), the polling fallback, the debounce.

The end-to-end test (watch sorting and reloading a real SuperDirt) is in tests/test_live.py.
"""

from __future__ import annotations

import errno
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import tone, write

from tidalsort.live import watch as watch_module
from tidalsort.live.watch import watch


class Watcher:
    """``watch`` running in a thread; ``calls`` counts ``on_change``."""

    def __init__(self, sources: list[Path], **options: object) -> None:
        self.calls = 0
        self.how: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=watch,
            args=(sources, self.changed),
            kwargs={"keep_going": lambda: not self.stop.is_set(), "say": self.how.append, **options},
            daemon=True,
        )
        self.thread.start()

    def changed(self) -> None:
        self.calls += 1

    def wait_for(self, calls: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.calls < calls and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.calls == calls, f"{self.calls} calls, expected {calls}"

    def stays(self, calls: int, seconds: float) -> None:
        time.sleep(seconds)
        assert self.calls == calls


@pytest.fixture
def running() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for w in started:
        w.stop.set()
        w.thread.join(5)
        assert not w.thread.is_alive()


def drop(folder: Path, name: str) -> Path:
    return write(folder / name, tone(300, 0.1))


def test_events_a_folder_copied_in_slowly_triggers_one_sort(tmp_path: Path, running: list[Watcher]) -> None:
    source, kit = tmp_path / "source", tmp_path / "kit"
    drop(source, "first.wav")
    for i in range(30):
        drop(kit / "sub", f"hit{i}.wav")
    w = Watcher([source], settle=0.3)
    running.append(w)
    w.wait_for(1)
    assert w.how == ["by file-system events (inotify)"]

    def slow_copy(src: str, dst: str) -> None:
        time.sleep(0.03)  # 30 files over about a second, never 0.3 s apart
        shutil.copy2(src, dst)

    started = time.monotonic()
    shutil.copytree(kit, source / "kit", copy_function=slow_copy)
    assert time.monotonic() - started > 0.6
    w.wait_for(2)
    w.stays(2, 1.0)
    drop(source / "kit" / "sub", "deeper.wav")  # folders that came in are watched too
    w.wait_for(3)


def test_events_that_change_no_source_file_trigger_nothing(tmp_path: Path, running: list[Watcher]) -> None:
    source = tmp_path / "source"
    first = drop(source, "first.wav")
    w = Watcher([source], settle=0.2)
    running.append(w)
    w.wait_for(1)
    first.read_bytes()  # reading, as the sort does
    (source / ".DS_Store").write_bytes(b"x")  # hidden files are no samples
    (source / "empty folder").mkdir()
    w.stays(1, 1.0)
    (source / "first.wav").unlink()
    w.wait_for(2)


def test_a_source_that_does_not_exist_yet_is_watched_once_it_does(tmp_path: Path, running: list[Watcher]) -> None:
    later = tmp_path / "later"
    w = Watcher([later], settle=0.2)
    running.append(w)
    w.wait_for(1)
    drop(later, "a.wav")  # creates the folder, then the file
    w.wait_for(2)
    drop(later, "b.wav")  # inside the new folder: now watched
    w.wait_for(3)
    shutil.rmtree(later)
    w.wait_for(4)
    drop(later / "again", "c.wav")
    w.wait_for(5)
    drop(later / "again", "d.wav")
    w.wait_for(6)


def test_polling_when_asked(tmp_path: Path, running: list[Watcher]) -> None:
    source = tmp_path / "source"
    drop(source, "first.wav")
    w = Watcher([source], settle=0.1, interval=0.2, poll=True)
    running.append(w)
    w.wait_for(1)
    assert w.how == ["by polling every 0.2 s (as asked)"]
    drop(source, "second.wav")
    w.wait_for(2)
    w.stays(2, 1.0)


def test_polling_where_events_are_not_available(tmp_path: Path, running: list[Watcher], monkeypatch: pytest.MonkeyPatch) -> None:
    """inotify refusing another watch (its per-user limit reached) falls back to polling."""

    class Exhausted(watch_module.Observer):  # type: ignore[misc, valid-type]
        def start(self) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watch_module, "Observer", Exhausted)
    source = tmp_path / "source"
    drop(source, "first.wav")
    w = Watcher([source], settle=0.1, interval=0.2)
    running.append(w)
    w.wait_for(1)
    assert w.how == ["by polling every 0.2 s (file-system events unavailable: inotify watch limit reached)"]
    drop(source, "second.wav")
    w.wait_for(2)


def test_a_single_file_source_is_watched(tmp_path: Path, running: list[Watcher]) -> None:
    one = drop(tmp_path / "folder", "one.wav")
    w = Watcher([one], settle=0.2)
    running.append(w)
    w.wait_for(1)
    drop(tmp_path / "folder", "other.wav")  # not a source
    w.stays(1, 0.8)
    write(one, tone(500, 0.3))
    w.wait_for(2)
