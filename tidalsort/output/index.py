"""Per-bank feature index under ``ROOT/.tidalsort/``, for "which samples sound like this one?".

Holds every sample's raw features in bank order and the fitted scaler, so a query sound
can be put into the same space as the bank it is compared with.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..confined import no_follow
from ..errors import DamagedIndex
from ..organise.scaling import Scaler
from .atomic import write_atomic
from .bank import STATE_DIR


@dataclass(frozen=True)
class BankIndex:
    """One bank's features (rows in bank order) and the scaler fitted on them."""

    features: np.ndarray
    scaler: Scaler

    @property
    def scaled(self) -> np.ndarray:
        """The features in the bank's scaled space."""
        return self.scaler.transform(self.features)


def index_path(root: Path, bank: str) -> Path:
    """Where the index of ``bank`` is kept."""
    return root / STATE_DIR / f"features-{bank}.npz"


def write_index(path: Path, features: np.ndarray, scaler: Scaler) -> None:
    """Write an index (features in bank order and their scaler) to ``path``, a new file."""
    meta = json.dumps({"kind": scaler.kind, "groups": scaler.groups})
    assert scaler.mean_ is not None and scaler.scale_ is not None, "fit the scaler first"
    with open(path, "wb") as f:
        np.savez(f, features=features, mean=scaler.mean_, scale=scaler.scale_, meta=np.array(meta))


def save_index(root: Path, bank: str, features: np.ndarray, scaler: Scaler) -> None:
    """Write the index of ``bank`` (features in bank order), replacing any earlier one."""
    write_atomic(index_path(root, bank), lambda tmp: write_index(tmp, features, scaler), root / STATE_DIR)


#: The most an ``.npz`` file tidalsort reads back may unpack to: 100,000 samples of 160
#: features take 128 MB.
MAX_NPZ_BYTES = 1 << 30


@contextmanager
def open_npz(path: Path) -> Iterator[np.lib.npyio.NpzFile]:
    """``np.load`` of an ``.npz`` file tidalsort wrote under ``ROOT/.tidalsort``, not through a
    link and refusing one that would unpack to more than :data:`MAX_NPZ_BYTES` (a planted
    file must not exhaust memory).

    Raises
    ------
    OSError
        If it cannot be opened (ELOOP for a link).
    ValueError
        If it would unpack to too much, or is not an ``.npz`` file.
    """
    with open(path, "rb", opener=no_follow) as f:
        try:
            unpacked = sum(member.file_size for member in zipfile.ZipFile(f).infolist())
        except zipfile.BadZipFile as exc:
            raise ValueError(str(exc)) from None
        if unpacked > MAX_NPZ_BYTES:
            raise ValueError(f"would unpack to {unpacked >> 20} MiB")
        f.seek(0)
        with np.load(f, allow_pickle=False) as data:
            yield data


def load_index(root: Path, bank: str) -> BankIndex:
    """Read the index of ``bank``.

    Raises
    ------
    FileNotFoundError
        If it was never written.
    tidalsort.errors.DamagedIndex
        If the file is not an index tidalsort wrote (damaged, or replaced), naming it.
    """
    path = index_path(root, bank)
    try:
        with open_npz(path) as data:
            meta = json.loads(str(data["meta"]))
            scaler = Scaler(meta["kind"], [tuple(g) for g in meta["groups"]])
            features, scaler.mean_, scaler.scale_ = data["features"], data["mean"], data["scale"]
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise DamagedIndex(f"{path}: not a readable feature index ({exc})") from None
    width = features.shape[-1] if features.ndim == 2 else -1
    if features.dtype.kind != "f" or np.shape(scaler.mean_) != (width,) or np.shape(scaler.scale_) != (width,):
        raise DamagedIndex(f"{path}: not a readable feature index (arrays of the wrong shape)")
    return BankIndex(features, scaler)
