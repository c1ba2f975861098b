"""The YAML manifest ``ROOT/tidalsort.yaml``: every bank tidalsort wrote under a root.

The file lives directly in the root, where SuperDirt ignores files. Writing is atomic
(temporary file, then rename) and runs under a lock, so concurrent sorts into one root
each keep the other's banks.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml

from .atomic import write_atomic
from .bank import STATE_DIR

MANIFEST_NAME = "tidalsort.yaml"
VERSION = 1
_HEADER = (
    "# tidalsort manifest (format version 1): the banks tidalsort wrote under this folder.\n"
    "# For every bank: its clusters with their n ranges [start, stop), each sample's source,\n"
    "# and the files that were skipped. Rewritten by every sort; edits are lost.\n"
)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ManifestError(Exception):
    """The manifest cannot be read or has a version this tidalsort does not know."""


def manifest_path(root: Path) -> Path:
    """Path of the manifest under ``root``."""
    return root / MANIFEST_NAME


def load(root: Path) -> dict[str, Any]:
    """Read the manifest under ``root``; an absent one is an empty manifest."""
    path = manifest_path(root)
    if not path.exists():
        return {"version": VERSION, "banks": {}}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("banks"), dict):
        raise ManifestError(f"{path}: not a tidalsort manifest")
    if data.get("version") != VERSION:
        raise ManifestError(f"{path}: manifest version {data.get('version')!r}, this tidalsort reads {VERSION}")
    return data


def dumps(manifest: dict[str, Any]) -> str:
    """The manifest as YAML text, with a header comment."""
    body = yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)
    return _HEADER + body


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_bank(root: Path, bank: str, entry: dict[str, Any] | None) -> dict[str, Any]:
    """Set (or, with ``entry=None``, remove) one bank's entry, keeping the other banks'.

    Call under :func:`locked`. Returns the whole manifest as written.
    """
    manifest = load(root)
    if entry is None:
        manifest["banks"].pop(bank, None)
    else:
        manifest["banks"][bank] = entry
    manifest["banks"] = dict(sorted(manifest["banks"].items()))
    write_text_atomic(manifest_path(root), dumps(manifest))
    return manifest


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``root`` for the duration (other tidalsort runs wait)."""
    state = root / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
