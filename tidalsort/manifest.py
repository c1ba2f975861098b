"""The YAML manifest ``ROOT/tidalsort.yaml``: every bank tidalsort wrote under a root.

The file lives directly in the root, where SuperDirt ignores files. Writing is atomic
(temporary file, then rename) and runs under a lock, so concurrent sorts into one root
each keep the other's banks.
"""

from __future__ import annotations

import fcntl
import json
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
    """
    path = manifest_path(root)
    if not path.exists():
        return {"version": VERSION, "banks": {}}
    try:
        mirror = json.loads(_mirror_path(root).read_text(encoding="utf-8"))
        if mirror["yaml"] == _stat(path):
            return mirror["manifest"]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no usable copy: read the YAML
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("banks"), dict):
        raise ManifestError(f"{path}: not a tidalsort manifest")
    if data.get("version") != VERSION:
        raise ManifestError(f"{path}: manifest version {data.get('version')!r}, this tidalsort reads {VERSION}")
    return data


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


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_bank(root: Path, bank: str, entry: dict[str, Any], manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Set one bank's entry, keeping the other banks'. Call under :func:`locked`.

    ``manifest`` is the manifest as read under the same lock (read again if not given).
    Returns the whole manifest as written.
    """
    manifest = manifest if manifest is not None else load(root)
    manifest["banks"][bank] = entry
    manifest["banks"] = dict(sorted(manifest["banks"].items()))
    path = manifest_path(root)
    write_text_atomic(path, dumps(manifest))
    write_text_atomic(_mirror_path(root), json.dumps({"yaml": _stat(path), "manifest": manifest}, ensure_ascii=False))
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
