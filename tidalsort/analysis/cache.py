"""Feature cache: an SQLite database at ``ROOT/.tidalsort/cache.sqlite``.

Keyed by file identity (real path, size, modification time) and the feature settings, it
holds each file's analysis (features, centroid, header information, or why it was
skipped) and its SHA-1, so a re-run decodes and hashes only new or changed files. It also
knows which files of the banks tidalsort wrote itself, and from which source bytes, so a
re-sort can reuse them. Concurrent runs share it safely (SQLite's write-ahead log,
waiting on locks); a corrupt or foreign file in its place is replaced with a warning, and
any database error later only turns the cache off for the run. Paths are keyed in the
form :func:`tidalsort.analysis.scan.path_text` gives.
"""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .audio import AudioInfo
from .scan import Stamp, path_text

CACHE_NAME = "cache.sqlite"
#: The database and the files SQLite keeps beside it.
_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")
#: Bump when the cache's layout changes: older caches are rebuilt.
SCHEMA = 1
_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS analysis (
    path TEXT NOT NULL, settings TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    vector BLOB, centroid REAL, info TEXT, reason TEXT,
    PRIMARY KEY (path, settings));
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha1 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS written (
    path TEXT PRIMARY KEY, inode INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    source_sha1 TEXT NOT NULL)
"""

#: What the cache knows of one file: features, centroid and header, or the skip reason.
Entry = tuple[np.ndarray, float, AudioInfo] | str


class CacheWarning(UserWarning):
    """The cache could not be used as it was; the run goes on."""


_WRITTEN = "SELECT inode, size, mtime_ns, source_sha1 FROM written WHERE path = ?"


class FeatureCache:
    """Open (creating or rebuilding as needed) the cache under ``state_dir``."""

    #: Seconds to wait while another run writes to the cache.
    busy_timeout = 60.0

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / CACHE_NAME
        self.db: sqlite3.Connection | None = None
        # SQLite writes through links: one planted here would change a database outside ROOT
        links = [name for name in (f"{CACHE_NAME}{suffix}" for suffix in _FILE_SUFFIXES) if os.path.islink(state_dir / name)]
        if links:
            self._failed(ValueError(f"{links[0]} is a link, and tidalsort never writes through links under its output folder"))
            return
        try:
            self.db = self._connect()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):  # in use, not broken
                self._failed(exc)
                return
            warnings.warn(f"{self.path}: not a usable tidalsort cache ({exc}); rebuilding it", CacheWarning, stacklevel=2)
            for suffix in _FILE_SUFFIXES:
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")  # one run creates the tables, the others wait and see them
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() if "meta" in tables else None
                if row is None:
                    raise sqlite3.DatabaseError("a database, but not a tidalsort cache")
                if row[0] != str(SCHEMA):
                    raise sqlite3.DatabaseError(f"schema {row[0]}, expected {SCHEMA}")
            for statement in _SCHEMA_SQL.split(";"):
                db.execute(statement)
            if not tables:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
            db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def _failed(self, exc: Exception) -> None:
        warnings.warn(f"{self.path}: {exc}; going on without the cache", CacheWarning, stacklevel=3)
        if self.db is not None:
            self.db.close()
        self.db = None

    def get(self, settings: str, files: Iterable[tuple[Path, tuple[int, int]]]) -> dict[Path, Entry]:
        """Cached analyses of ``files`` (path, identity) under ``settings``; misses are absent."""
        found: dict[Path, Entry] = {}
        if self.db is None:
            return found
        query = "SELECT size, mtime_ns, vector, centroid, info, reason FROM analysis WHERE path = ? AND settings = ?"
        try:
            for path, ident in files:
                row = self.db.execute(query, (path_text(path), settings)).fetchone()
                if row is None or (row[0], row[1]) != ident:
                    continue
                size, mtime, vector, centroid, info, reason = row
                found[path] = (
                    reason
                    if reason is not None
                    else (np.frombuffer(vector, dtype=np.float64).copy(), centroid, AudioInfo(**json.loads(info)))
                )
        except sqlite3.Error as exc:
            self._failed(exc)
            return {}
        return found

    def put(self, settings: str, entries: Iterable[tuple[Path, tuple[int, int], Entry]]) -> None:
        """Store analyses (or skip reasons) of files with their identity, in one transaction."""
        rows: list[tuple[object, ...]] = []
        for path, (size, mtime), entry in entries:
            if isinstance(entry, str):
                rows.append((path_text(path), settings, size, mtime, None, None, None, entry))
            else:
                vector, centroid, info = entry
                rows.append(
                    (
                        path_text(path),
                        settings,
                        size,
                        mtime,
                        np.asarray(vector, np.float64).tobytes(),
                        centroid,
                        json.dumps(asdict(info)),
                        None,
                    )
                )
        self._write("INSERT OR REPLACE INTO analysis VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _unchanged(self, query: str, files: Iterable[tuple[Path, tuple[int, ...]]]) -> list[tuple[Path, tuple]]:
        """``(path, rest of its row)`` for each of ``files`` (path, identity) whose row, found
        by ``query`` on the path, starts with the same identity."""
        found: list[tuple[Path, tuple]] = []
        if self.db is None:
            return found
        try:
            for path, ident in files:
                row = self.db.execute(query, (path_text(path),)).fetchone()
                if row is not None and tuple(row[: len(ident)]) == ident:
                    found.append((path, row[len(ident) :]))
        except sqlite3.Error as exc:
            self._failed(exc)
            return []
        return found

    def hashes(self, files: Iterable[tuple[Path, tuple[int, int]]]) -> dict[Path, str]:
        """Cached SHA-1 of the files whose identity has not changed."""
        return {path: sha1 for path, (sha1,) in self._unchanged("SELECT size, mtime_ns, sha1 FROM hashes WHERE path = ?", files)}

    def put_hashes(self, entries: Iterable[tuple[Path, tuple[int, int], str]]) -> None:
        """Store SHA-1 of files with their identity."""
        self._write("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)", [(path_text(p), s, m, h) for p, (s, m), h in entries])

    def written(self, files: Iterable[tuple[Path, Stamp]]) -> dict[str, Path]:
        """Source SHA-1 -> one of ``files`` (path, stamp) that tidalsort wrote from a source
        with those bytes, unchanged since (the stamp it had when written)."""
        found: dict[str, Path] = {}
        for path, (sha1,) in self._unchanged(_WRITTEN, files):
            found.setdefault(sha1, path)
        return found

    def intact(self, files: Iterable[tuple[Path, Stamp]]) -> set[Path]:
        """Those of ``files`` (path, stamp) that tidalsort wrote and that are unchanged since."""
        return {path for path, _ in self._unchanged(_WRITTEN, files)}

    def put_written(self, entries: Iterable[tuple[Path, Stamp, str]]) -> None:
        """Store that tidalsort wrote each file (path, stamp when written) from a source with that SHA-1."""
        self._write("INSERT OR REPLACE INTO written VALUES (?, ?, ?, ?, ?)", [(path_text(p), *st, h) for p, st, h in entries])

    def _write(self, sql: str, rows: list[tuple]) -> None:
        if self.db is None or not rows:
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(sql, rows)
            except KeyboardInterrupt:  # leave no transaction open: what is kept on Ctrl-C goes in next
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._failed(exc)

    def close(self) -> None:
        """Close the database."""
        if self.db is not None:
            self.db.close()
            self.db = None
