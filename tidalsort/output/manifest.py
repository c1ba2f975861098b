"""The YAML manifest ``ROOT/tidalsort.yaml``: every bank tidalsort wrote under a root.

The file lives directly in the root, where SuperDirt ignores files. Writing is atomic
(temporary file, then rename) and runs under a lock, so concurrent sorts into one root
each keep the other's banks.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..confined import UnsafePath, open_no_follow, read_bounded
from ..families.taxonomy import FAMILIES
from .atomic import write_text_atomic
from .bank import STATE_DIR, state_dir
from .names import BANK_NAME

MANIFEST_NAME = "tidalsort.yaml"
#: The format written; :data:`READABLE` lists the formats read.
VERSION = 2
#: Version 1 (before families) is read as it is: its entries lack the ``family``,
#: ``confidence`` and ``families`` fields, which readers treat as unknown.
READABLE = (1, 2)
_HEADER = (
    "# tidalsort manifest (format version 2): the banks tidalsort wrote under this folder.\n"
    "# For every bank: its families and clusters with their n ranges [start, stop), each sample's\n"
    "# source, family and confidence, and the files that were skipped. Rewritten by every sort;\n"
    "# edits are lost.\n"
)
#: The largest manifest read: 100,000 samples take about 40 MB.
MAX_BYTES = 256 << 20
#: The largest value of a key tidalsort does not know that is kept (as JSON); larger ones,
#: and ones that are not plain data, are dropped when the manifest is read.
MAX_UNKNOWN_BYTES = 64 << 10
#: A file or folder name with no path in it, not hidden.
PLAIN_NAME = re.compile(r"[^./\x00][^/\x00]*")
_TOP_KEYS = {"version", "banks"}
_ENTRY_KEYS = {"layout", "settings", "sources", "inputs", "boundaries", "families", "clusters", "samples", "skipped", "warnings"}


class NoAliasLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader, refusing aliases (``*name``).

    tidalsort never writes aliases, and a few nested ones in a 70 KB file stand for
    gigabytes once written back (an alias bomb): a repeated node is an alias.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(None, None, "aliases (*name) are not allowed in a tidalsort manifest", node.start_mark)
        return super().construct_object(node, deep)


class ManifestError(Exception):
    """The manifest cannot be read or has a version this tidalsort does not know."""


def manifest_path(root: Path) -> Path:
    """Path of the manifest under ``root``."""
    return root / MANIFEST_NAME


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _mirror_path(root: Path) -> Path:
    return root / STATE_DIR / "manifest.json"


def load(root: Path) -> dict[str, Any]:
    """Read the manifest under ``root``; an absent one is an empty manifest.

    A JSON copy kept beside it in ``ROOT/.tidalsort/`` is read instead while the YAML file
    is the very one it was written with (same size and time): parsing 20,000 samples of
    YAML takes seconds, JSON a fraction of one.

    Raises
    ------
    ManifestError
        If the manifest cannot be read or is not one this tidalsort can use (its message
        names the file and, for a broken bank entry, the bank and what is wrong).
    """
    path = manifest_path(root)
    if not path.exists():
        return {"version": VERSION, "banks": {}}
    try:
        if not os.path.islink(root / STATE_DIR):  # a planted link is not tidalsort's copy
            mirror = json.loads(read_bounded(_mirror_path(root), MAX_BYTES))
            if mirror["yaml"] == _stat(path) and _problem(mirror["manifest"]) is None:
                return _plain({**mirror["manifest"], "version": VERSION})
    except (OSError, ValueError, KeyError, TypeError, UnsafePath):
        pass  # no usable copy: read the YAML
    try:
        data = yaml.load(read_bounded(path, MAX_BYTES).decode("utf-8"), Loader=NoAliasLoader)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # UnicodeDecodeError is a ValueError
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    if isinstance(data, dict) and data.get("version") not in READABLE and isinstance(data.get("banks"), dict):
        raise ManifestError(f"{path}: manifest version {data.get('version')!r}, this tidalsort reads {', '.join(map(str, READABLE))}")
    problem = _problem(data)
    if problem:
        raise ManifestError(f"{path}: {problem}")
    return _plain({**data, "version": VERSION})


def _small_plain(value: Any) -> bool:
    """Whether ``value`` is plain data (what JSON holds) of at most :data:`MAX_UNKNOWN_BYTES`."""
    try:
        return len(json.dumps(value, allow_nan=False)) <= MAX_UNKNOWN_BYTES
    except (TypeError, ValueError, RecursionError):
        return False


def _plain(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` without the keys tidalsort does not know whose values are not small plain
    data, at the top and in every bank entry: they are never written back."""
    kept = {key: value for key, value in manifest.items() if key in _TOP_KEYS or _small_plain(value)}
    kept["banks"] = {name: {key: value for key, value in entry.items() if key in _ENTRY_KEYS or _small_plain(value)} for name, entry in manifest["banks"].items()}
    return kept


def bank_entries(root: str | os.PathLike[str], names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Manifest entries under ``root`` (the banks ``names``, or all), each with its name under ``"name"``."""
    banks = load(Path(root).expanduser().absolute())["banks"]
    if not banks:
        raise KeyError(f"no tidalsort banks in {root}")
    for name in names or []:
        if name not in banks:
            raise KeyError(f"no bank {name!r} in {root} (banks: {', '.join(banks)})")
    return [{"name": name, **entry} for name, entry in banks.items() if not names or name in names]


_SAMPLE = {"folder": str, "n": int, "file": str, "source": str, "cluster": int, "sha1": str}
_CLUSTER = {"id": int, "folder": str, "start": int, "stop": int, "size": int, "representative": int}
_SETTINGS = {"features": str, "frames": int, "method": str}
_PROBLEM = {"source": str, "reason": str}
_RUN = {"family": str, "folder": str, "start": int, "stop": int}


def _wrong(record: Any, fields: dict[str, type], where: str) -> str | None:
    """What is wrong with ``record`` if it is not a mapping with ``fields`` of those types."""
    if not isinstance(record, dict):
        return f"{where} is not a mapping"
    for key, kind in fields.items():
        if not isinstance(record.get(key), kind):
            return f"{where}: {key} is not a {kind.__name__}"
    return None


def entry_problem(entry: Any) -> str | None:
    """What is wrong with a bank entry that the readers of the manifest rely on, or None."""
    wrong = _wrong(entry, {"settings": dict, "clusters": list, "samples": list}, "the entry") or _wrong(entry["settings"], _SETTINGS, "settings")
    if wrong:
        return wrong
    for key, fields in (("clusters", _CLUSTER), ("samples", _SAMPLE), ("families", _RUN), ("skipped", _PROBLEM), ("warnings", _PROBLEM)):
        for i, record in enumerate(entry.get(key) or []):
            wrong = _wrong(record, fields, f"{key}[{i}]")
            if wrong:
                return wrong
    places = {(s["folder"], s["n"]) for s in entry["samples"]}
    for i, s in enumerate(entry["samples"]):
        if not BANK_NAME.fullmatch(s["folder"]) or not PLAIN_NAME.fullmatch(s["file"]):
            return f"samples[{i}]: {s['folder']}/{s['file']} is not a file of a bank folder"  # never a path out of ROOT
        if not 0 <= s["cluster"] < len(entry["clusters"]):
            return f"samples[{i}]: no cluster {s['cluster']}"
        if "family" in s and s["family"] not in FAMILIES:
            return f"samples[{i}]: family {s['family']!r} is not one of {', '.join(FAMILIES)}"
        if "confidence" in s and not (isinstance(s["confidence"], (int, float)) and 0 <= s["confidence"] <= 1):
            return f"samples[{i}]: confidence is not a number from 0 to 1"
        if s.get("duration") is not None and not (isinstance(s["duration"], (int, float)) and 0 <= s["duration"] < math.inf):  # also NaN
            return f"samples[{i}]: duration is not a number of seconds"
    for i, c in enumerate(entry["clusters"]):
        if not isinstance(c.get("label"), (str, type(None))):
            return f"clusters[{i}]: label is not a string"
        if "family" in c and c["family"] not in FAMILIES:
            return f"clusters[{i}]: family {c['family']!r} is not one of {', '.join(FAMILIES)}"
        if (c["folder"], c["representative"]) not in places or any((c["folder"], n) not in places for n in range(c["start"], c["stop"])):
            return f"clusters[{i}]: refers to samples the entry does not have"
    return None


def _problem(data: Any) -> str | None:
    """What is wrong with a whole manifest, or None."""
    if not isinstance(data, dict) or not isinstance(data.get("banks"), dict) or data.get("version") not in READABLE:
        return "not a tidalsort manifest"
    for name, entry in data["banks"].items():
        if not isinstance(name, str) or not BANK_NAME.fullmatch(name):
            return f"{name!r} is not a bank name"
        problem = entry_problem(entry)
        if problem:
            return f"bank {name!r}: {problem}"
    return None


def _block(key: str, value: Any, indent: str) -> str:
    """``key: value`` in YAML at ``indent``, a list of mappings one mapping a line.

    Values are written in JSON, which is YAML's flow style: json writes 20,000 samples
    in a fraction of the time PyYAML takes.
    """
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return f"{indent}{key}:\n" + "".join(f"{indent}- {json.dumps(item, ensure_ascii=False)}\n" for item in value)
    return f"{indent}{key}: {json.dumps(value, ensure_ascii=False)}\n"


def dumps(manifest: dict[str, Any]) -> str:
    """The manifest as YAML text, with a header comment."""
    lines = [_HEADER, f"version: {manifest['version']}\n", "banks:" + (" {}\n" if not manifest["banks"] else "\n")]
    for name, entry in manifest["banks"].items():
        lines.append(f"  {name}:\n")  # bank names are plain ^[a-z0-9][a-z0-9_-]*$
        lines.extend(_block(key, value, "    ") for key, value in entry.items())
    return "".join(lines)


def save_bank(root: Path, bank: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Set one bank's entry, keeping the other banks'. Call under :func:`locked`.

    Returns the whole manifest as written.
    """
    manifest = load(root)
    manifest["banks"][bank] = entry
    manifest["banks"] = dict(sorted(manifest["banks"].items()))
    path = manifest_path(root)
    write_text_atomic(path, dumps(manifest), root / STATE_DIR)
    write_text_atomic(_mirror_path(root), json.dumps({"yaml": _stat(path), "manifest": manifest}, ensure_ascii=False), root / STATE_DIR)
    return manifest


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``root`` for the duration (other tidalsort runs wait)."""
    state = state_dir(root)
    with os.fdopen(open_no_follow(state / "lock", os.O_RDWR | os.O_CREAT), "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
