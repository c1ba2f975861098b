"""The YAML manifest ``ROOT/tidalsort.yaml``: every bank tidalsort wrote under a root.

The file lives directly in the root, where SuperDirt ignores files. Writing is atomic
(temporary file, then rename) and runs under a lock, so concurrent sorts into one root
each keep the other's banks.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..confined import UnsafePath, open_no_follow, read_bounded
from ..errors import ManifestError, NotFound
from .atomic import write_text_atomic
from .bank import STATE_DIR, state_dir
from .entry import MAX_UNKNOWN_BYTES, Bank, small_plain  # noqa: F401 (MAX_UNKNOWN_BYTES: for readers of this module)
from .names import BANK_NAME

MANIFEST_NAME = "tidalsort.yaml"
#: The format written; :data:`READABLE` lists the formats read.
VERSION = 3
#: Older formats are read as they are: version 1 (before families) lacks the ``family``,
#: ``confidence`` and ``families`` fields, version 2 says not where a family came from
#: (``family_from``, ``audio_family``, ``audio_confidence``); readers treat them as unknown.
READABLE = (1, 2, 3)
_HEADER = (
    "# tidalsort manifest (format version 3): the banks tidalsort wrote under this folder.\n"
    "# For every bank: its families and clusters with their n ranges [start, stop), each sample's\n"
    "# source, family, confidence and who decided it (you, its name or the audio), and the files\n"
    "# that were skipped. Rewritten by every sort; edits are lost (set families with tidalsort set).\n"
)
#: The largest manifest read: 100,000 samples take about 40 MB.
MAX_BYTES = 256 << 20
_TOP_KEYS = {"version", "banks"}


class NoAliasLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader, refusing aliases (``*name``).

    tidalsort never writes aliases, and a few nested ones in a 70 KB file stand for
    gigabytes once written back (an alias bomb): a repeated node is an alias.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(None, None, "aliases (*name) are not allowed in a tidalsort manifest", node.start_mark)
        return super().construct_object(node, deep)


@dataclass(frozen=True)
class Manifest:
    """Every bank under a root, by name, in name order, and the manifest's keys tidalsort does
    not know that hold small plain data (:func:`~tidalsort.output.entry.small_plain`)."""

    banks: dict[str, Bank]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """The manifest of the YAML (or JSON) ``data``, every entry checked (:meth:`Bank.from_dict`).

        Raises
        ------
        tidalsort.errors.ManifestError
            Saying what is wrong, and for a broken entry, in which bank.
        """
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("banks"), dict)
            or type(data.get("version")) is not int
            or data["version"] not in READABLE
        ):
            raise ManifestError("not a tidalsort manifest")
        for name in data["banks"]:
            if not isinstance(name, str) or not BANK_NAME.fullmatch(name):
                raise ManifestError(f"{name!r} is not a bank name")
        extra = {key: value for key, value in data.items() if key not in _TOP_KEYS and small_plain(value)}
        return cls({name: Bank.from_dict(name, entry) for name, entry in data["banks"].items()}, extra)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as :func:`dumps` writes it (format :data:`VERSION`)."""
        return {"version": VERSION, "banks": {name: bank.to_dict() for name, bank in self.banks.items()}, **self.extra}

    def with_bank(self, bank: Bank) -> Manifest:
        """This manifest with ``bank`` added or replacing the bank of its name."""
        return Manifest(dict(sorted({**self.banks, bank.name: bank}.items())), self.extra)


def manifest_path(root: Path) -> Path:
    """Path of the manifest under ``root``."""
    return root / MANIFEST_NAME


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _mirror_path(root: Path) -> Path:
    return root / STATE_DIR / "manifest.json"


def load(root: Path) -> Manifest:
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
        return Manifest({})
    try:
        if not os.path.islink(root / STATE_DIR):  # a planted link is not tidalsort's copy
            mirror = json.loads(read_bounded(_mirror_path(root), MAX_BYTES))
            if mirror["yaml"] == _stat(path):
                return Manifest.from_dict(mirror["manifest"])
    except (OSError, ValueError, KeyError, TypeError, UnsafePath, ManifestError):
        pass  # no usable copy: read the YAML
    try:
        data = yaml.load(read_bounded(path, MAX_BYTES).decode("utf-8"), Loader=NoAliasLoader)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # UnicodeDecodeError is a ValueError
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    if isinstance(data, dict) and data.get("version") not in READABLE and isinstance(data.get("banks"), dict):
        raise ManifestError(f"{path}: manifest version {data.get('version')!r}, this tidalsort reads {', '.join(map(str, READABLE))}")
    try:
        return Manifest.from_dict(data)
    except ManifestError as exc:
        raise ManifestError(f"{path}: {exc}") from None


def bank_entries(root: str | os.PathLike[str], names: Sequence[str] | None = None) -> list[Bank]:
    """The banks under ``root`` (the banks ``names``, or all).

    Raises
    ------
    tidalsort.errors.NotFound
        If ``root`` has no banks, or not one of ``names``.
    """
    banks = load(Path(root).expanduser().absolute()).banks
    if not banks:
        raise NotFound(f"no tidalsort banks in {root}")
    for name in names or []:
        if name not in banks:
            raise NotFound(f"no bank {name!r} in {root} (banks: {', '.join(banks)})")
    return [bank for bank in banks.values() if not names or bank.name in names]


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
    # keys tidalsort does not know (kept only when small plain data, see Manifest.from_dict)
    lines.extend(
        f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}\n"
        for key, value in manifest.items()
        if key not in ("version", "banks")
    )
    return "".join(lines)


def save_bank(root: Path, bank: Bank) -> Manifest:
    """Set one bank's entry, keeping the other banks'. Call under :func:`locked`.

    Returns the whole manifest as written.
    """
    manifest = load(root).with_bank(bank)
    data = manifest.to_dict()
    path = manifest_path(root)
    write_text_atomic(path, dumps(data), root / STATE_DIR)
    write_text_atomic(_mirror_path(root), json.dumps({"yaml": _stat(path), "manifest": data}, ensure_ascii=False), root / STATE_DIR)
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
