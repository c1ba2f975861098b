"""The family model: which instrument family a sound belongs to, and how sure that is.

An ensemble of small neural networks (multi-layer perceptrons) trained on labelled drum
one-shots (``train/train_families.py``) reads a sound's descriptors
(:func:`tidalsort.analysis.analyse.family_input`) and gives a probability for every family of
:data:`~tidalsort.families.taxonomy.FAMILIES`. Inference is plain numpy: the weights ship inside
the package as ``tidalsort/families/data/families-v<N>.npz``; nothing is downloaded.

A sound the model has not learnt to recognise as a drum one-shot goes to ``other``: the
training set holds long tones, chords, pads, noise sweeps, drum loops and speech-like
sounds labelled ``other``, and a sound whose descriptors lie far outside everything the
model was trained on (:attr:`FamilyModel.novelty_limit`) is ``other`` whatever the
networks say.

Examples
--------
>>> import numpy as np
>>> from tidalsort.analysis.analyse import family_input_width
>>> families, confidence = FamilyModel.load().predict(np.zeros((2, family_input_width())))
>>> families.shape, bool(((0 <= confidence) & (confidence <= 1)).all())
((2,), True)
"""

from __future__ import annotations

import functools
import json
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from .taxonomy import FAMILIES

#: Version of the shipped model (its file is ``data/families-v<VERSION>.npz``).
VERSION = 3


def model_path(version: int = VERSION) -> Path:
    """Path of the shipped weights of model ``version``."""
    return Path(str(resources.files("tidalsort.families") / "data" / f"families-v{version}.npz"))


@dataclass(frozen=True)
class FamilyModel:
    """Weights of the family model and what it was trained on.

    Attributes
    ----------
    mean, scale
        Standardisation of the input columns.
    networks
        Each network's layers as ``(weights, bias)``; ReLU between layers, softmax at the end.
    temperature
        Divides the averaged logits before the softmax, so confidences are calibrated.
    basis, novelty_limit
        A sound whose standardised input, projected on ``basis`` (whitened principal
        axes of the training inputs), is farther than ``novelty_limit`` from the origin
        is unlike every training sound: it goes to ``other``.
    meta
        How the model was trained (data, seeds, settings), as the training script wrote it.
    """

    mean: np.ndarray
    scale: np.ndarray
    networks: tuple[tuple[tuple[np.ndarray, np.ndarray], ...], ...]
    temperature: float
    basis: np.ndarray
    novelty_limit: float
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path | None = None) -> FamilyModel:
        """Read a model file (default: the shipped model, read once per process).

        Raises
        ------
        tidalsort.errors.UsageError
            If ``path`` is not a family model file, naming it.
        """
        try:
            return _load(str(path or model_path()))
        except (ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            raise UsageError(f"{path}: not a tidalsort family model ({exc})") from None

    def save(self, path: Path) -> None:
        """Write the model as an ``.npz`` file (what :meth:`load` reads)."""
        arrays: dict[str, np.ndarray] = {"mean": self.mean, "scale": self.scale, "basis": self.basis}
        for i, layers in enumerate(self.networks):
            for j, (weights, bias) in enumerate(layers):
                arrays[f"net{i}_w{j}"], arrays[f"net{i}_b{j}"] = weights, bias
        header = {
            **self.meta,
            "temperature": self.temperature,
            "novelty_limit": self.novelty_limit,
            "networks": [len(n) for n in self.networks],
        }
        with open(path, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(header, sort_keys=True)), **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle

    def logits(self, inputs: np.ndarray) -> np.ndarray:
        """Averaged logits of the networks, one row per input row."""
        z = (np.asarray(inputs, dtype=np.float64) - self.mean) / self.scale
        total = np.zeros((len(z), len(FAMILIES)))
        for layers in self.networks:
            h = z
            for j, (weights, bias) in enumerate(layers):
                h = h @ weights + bias
                if j < len(layers) - 1:
                    h = np.maximum(h, 0.0)
            total += h
        return total / len(self.networks)

    def novelty(self, inputs: np.ndarray) -> np.ndarray:
        """Distance of every input from the training inputs' centre, in whitened principal axes."""
        z = (np.asarray(inputs, dtype=np.float64) - self.mean) / self.scale
        return np.sqrt(((z @ self.basis) ** 2).sum(axis=1))

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        """Probability of every family (columns in :data:`FAMILIES` order) for every input row."""
        logits = self.logits(inputs) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Family name and confidence (the family's probability) of every input row.

        Rows too far from anything the model was trained on (:meth:`novelty`) are
        ``other``, with the probability the networks gave ``other`` as confidence.
        """
        p = self.predict_proba(inputs)
        best = p.argmax(axis=1)
        best[self.novelty(inputs) > self.novelty_limit] = FAMILIES.index("other")
        return np.array(FAMILIES, dtype=object)[best], p[np.arange(len(p)), best]


@functools.lru_cache(maxsize=4)
def _load(path: str) -> FamilyModel:
    with np.load(path) as data:
        header = json.loads(str(data["meta"]))
        networks = tuple(
            tuple((data[f"net{i}_w{j}"], data[f"net{i}_b{j}"]) for j in range(count)) for i, count in enumerate(header.pop("networks"))
        )
        return FamilyModel(
            mean=data["mean"],
            scale=data["scale"],
            networks=networks,
            temperature=float(header.pop("temperature")),
            basis=data["basis"],
            novelty_limit=float(header.pop("novelty_limit")),
            meta=header,
        )
