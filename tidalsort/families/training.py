"""Train and cross-validate the family model on labelled drum one-shots.

Used by ``train/train_families.py`` (which writes the shipped model) and
``bench/quality.py`` (which measures it). Deterministic: the same files, labels and
:class:`TrainingConfig` give the same weights, bit for bit (fixed seeds, one BLAS thread).

The labelled pool is ``datasets/dev`` and ``datasets/train`` (each with a ``manifest.csv``
of ``relative_path,label,group,...``), and optionally extra pools written by
``train/datasets/build.py`` (:func:`extra_examples`). Folds keep every kit or drum machine
together (:func:`machine`): near-identical variants of one sound must never sit on both
sides of a fold, and unseen machines are what users bring. Velocity layers of one
instrument are one *sound*: together they weigh what one file weighs (:func:`training_rows`).
"""

from __future__ import annotations

import csv
import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import fftconvolve
from threadpoolctl import threadpool_limits

from ..analysis.analyse import family_input, family_input_width
from ..analysis.audio import ANALYSIS_RATE, read_head
from ..analysis.descriptors import SECONDS as WHOLE_SECONDS
from .model import VERSION, FamilyModel
from .taxonomy import FAMILIES

#: Seconds of every file read for training (the descriptors' span and a margin for the onset).
READ_SECONDS = WHOLE_SECONDS + 0.5
#: Kit folders of ``dev`` and machines of ``train`` that are the same drum machine.
SAME_MACHINE = {
    "808": "tr808", "TR-808": "tr808", "RolandTR808": "tr808",
    "TR-909": "tr909", "RolandTR909": "tr909",
    "dr55": "dr55", "BossDR55": "dr55",
    "drumtraks": "drumtraks", "SequentialCircuitsDrumtracks": "drumtraks",
    "sequential": "sctom", "SequentialCircuitsTom": "sctom",
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    """One labelled file: its path, family label, the kit or machine it comes from, and its sound.

    ``sound`` names the instrument whose velocity layers the file is one of (empty: the
    file is a sound of its own).
    """

    path: Path
    label: str
    group: str
    sound: str = ""


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides the trained weights besides the data.

    Attributes
    ----------
    hidden
        Sizes of the hidden layers of every network.
    alpha
        L2 penalty of the networks.
    networks
        Networks in the ensemble (each with its own seed).
    epochs
        Training passes over the data.
    copies
        Augmented copies of every training sound (gain, pitch shift by resampling, EQ
        tilt, short reverb, truncation, noise floor).
    synthetic
        Made-up sounds that are not drum one-shots (tones, chords, pads, noise sweeps,
        drum loops, speech-like sounds), labelled ``other``.
    synthetic_share
        Share of the ``other`` family's training weight that goes to the made-up sounds
        (the rest to real effects and hits, however few they are).
    novelty_axes, novelty_quantile
        Principal axes of the novelty check, and the share of training inputs inside its limit.
    seed
        Seed of augmentation, synthetic sounds and networks.
    """

    hidden: tuple[int, ...] = (256, 128)
    alpha: float = 1e-2
    networks: int = 5
    epochs: int = 100
    copies: int = 3
    synthetic: int = 300
    synthetic_share: float = 0.5
    novelty_axes: int = 24
    novelty_quantile: float = 0.999
    seed: int = 0


def machine(set_name: str, relative_path: str, group: str) -> str:
    """The kit or drum machine a labelled file comes from: the unit of cross-validation folds.

    ``dev`` files carry their Dirt-Samples kit folder in ``group``; ``train`` files are
    named by their first path components (``tidal-drum-machines/machines/RolandTR909``,
    ``oramics-sampled/DM/TR-808``, ``drum-samples-classification``). Folders that hold
    the same machine (dev's ``808bd`` and train's ``RolandTR808``) share one name.
    """
    if set_name == "dev":
        name = "808" if group.startswith("808") else group
        return SAME_MACHINE.get(name, f"dev:{name}")
    parts = relative_path.split("/")
    if parts[0] == "drum-samples-classification":
        return parts[0]
    return SAME_MACHINE.get(parts[2], f"{parts[0]}:{parts[2]}")


def labelled_examples(datasets: Path, sets: Sequence[str] = ("dev", "train")) -> list[Example]:
    """The labelled files of ``datasets/<set>/manifest.csv``, sorted by path."""
    examples = []
    for name in sets:
        with open(datasets / name / "manifest.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["label"] not in FAMILIES:
                    raise ValueError(f"{datasets / name}: unknown label {row['label']!r}")
                examples.append(
                    Example(datasets / name / row["relative_path"], row["label"], machine(name, row["relative_path"], row["group"]))
                )
    return sorted(examples, key=lambda e: str(e.path))


def extra_examples(pool: Path) -> list[Example]:
    """The labelled files of a pool built by ``train/datasets/build.py`` (``pool/manifest.csv``), sorted by path.

    Its ``group`` column is the unit of folds (prefixed ``extra:``, apart from every
    group of dev and train) and its ``sound`` column groups velocity layers.
    """
    examples = []
    with open(pool / "manifest.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["label"] not in FAMILIES:
                raise ValueError(f"{pool}: unknown label {row['label']!r}")
            examples.append(Example(pool / row["relative_path"], row["label"], f"extra:{row['group']}", f"extra:{row['sound']}"))
    return sorted(examples, key=lambda e: str(e.path))


def fingerprint(examples: Sequence[Example]) -> str:
    """SHA-1 of the examples' file contents and labels, in order: which data a model saw."""
    digest = hashlib.sha1()
    for e in examples:
        digest.update(hashlib.sha1(e.path.read_bytes()).digest() + e.label.encode())
    return digest.hexdigest()


def group_folds(groups: Sequence[str], folds: int) -> list[np.ndarray]:
    """Test rows of ``folds`` folds that keep every group whole, balanced by size.

    Groups go, largest first (ties by name), to the fold holding the fewest rows so far.
    """
    names, counts = np.unique(np.asarray(groups), return_counts=True)
    fold_of: dict[str, int] = {}
    load = np.zeros(folds, dtype=int)
    for i in sorted(range(len(names)), key=lambda i: (-counts[i], names[i])):
        f = int(np.argmin(load))
        fold_of[str(names[i])] = f
        load[f] += counts[i]
    which = np.array([fold_of[str(g)] for g in groups])
    return [np.flatnonzero(which == f) for f in range(folds)]


# --- sounds ------------------------------------------------------------------------------


def read(examples: Sequence[Example]) -> tuple[list[np.ndarray], np.ndarray]:
    """Heads (:data:`READ_SECONDS`, mono, analysis rate) and file durations of ``examples``."""
    signals, durations = [], []
    for e in examples:
        signal, info = read_head(e.path, READ_SECONDS)
        signals.append(signal.astype(np.float32))
        durations.append(info.duration)
    return signals, np.array(durations)


def augment(signal: np.ndarray, duration: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A variant of a sound as another machine, room or recording might give it.

    Pitch shift by resampling (up to 3 semitones), EQ tilt (up to 6 dB a decade), a short
    reverb, a cut-off tail, another gain and a noise floor, each with some probability.
    """
    x = signal.astype(np.float64)
    rate = 2.0 ** (rng.uniform(-3.0, 3.0) / 12.0)
    positions = np.arange(0.0, len(x) - 1, rate)
    x = np.interp(positions, np.arange(len(x)), x)
    duration = duration / rate
    if rng.random() < 0.7:
        spectrum = np.fft.rfft(x)
        freqs = np.maximum(np.fft.rfftfreq(len(x), 1.0 / ANALYSIS_RATE), 20.0)
        spectrum *= 10.0 ** (rng.uniform(-6.0, 6.0) * np.log10(freqs / 1000.0) / 20.0)
        x = np.fft.irfft(spectrum, len(x))
    if rng.random() < 0.4:
        decay = rng.uniform(0.03, 0.3)
        t = np.arange(round(4 * decay * ANALYSIS_RATE)) / ANALYSIS_RATE
        response = rng.standard_normal(len(t)) * np.exp(-t / decay)
        wet = fftconvolve(x, response)[: len(x)]
        mix = rng.uniform(0.05, 0.4)
        x = (1.0 - mix) * x + mix * wet * np.abs(x).max() / (np.abs(wet).max() + 1e-12)
    if rng.random() < 0.3:
        cut = round(rng.uniform(0.08, 1.0) * ANALYSIS_RATE)
        if cut < len(x):
            fade = min(round(0.01 * ANALYSIS_RATE), cut)
            x = x[:cut].copy()
            x[-fade:] *= np.linspace(1.0, 0.0, fade)
            duration = min(duration, cut / ANALYSIS_RATE)
    x *= 10.0 ** (rng.uniform(-20.0, 0.0) / 20.0)
    if rng.random() < 0.3:
        x += rng.standard_normal(len(x)) * np.abs(x).max() * 10.0 ** (rng.uniform(-70.0, -45.0) / 20.0)
    return x, duration


def _oscillator(rng: np.random.Generator, freq: np.ndarray | float, n: int) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(freq, (n,))) / ANALYSIS_RATE + rng.uniform(0, 2 * np.pi)
    shape = rng.integers(4)
    if shape == 0:
        return np.sin(phase)
    saw = (phase / np.pi) % 2.0 - 1.0
    return [saw, np.sign(np.sin(phase)), 2 * np.abs(saw) - 1][shape - 1]


def _envelope(n: int, attack: float, release: float) -> np.ndarray:
    t = np.arange(n) / ANALYSIS_RATE
    return np.minimum(t / attack, 1.0) * np.minimum((n / ANALYSIS_RATE - t) / release, 1.0)


def _tone(rng: np.random.Generator, hits: Sequence[np.ndarray]) -> np.ndarray:
    n = round(rng.uniform(0.8, 4.0) * ANALYSIS_RATE)
    freq = 55.0 * 2 ** rng.uniform(0, 5) * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(3, 7) * np.arange(n) / ANALYSIS_RATE))
    return _oscillator(rng, freq, n) * _envelope(n, rng.uniform(0.005, 0.2), 0.05)


def _chord(rng: np.random.Generator, hits: Sequence[np.ndarray]) -> np.ndarray:
    n = round(rng.uniform(1.0, 4.0) * ANALYSIS_RATE)
    root = 110.0 * 2 ** rng.uniform(0, 3)
    steps = [0, rng.choice([3, 4]), 7] + ([rng.choice([10, 11, 14])] if rng.random() < 0.5 else [])
    chord = sum(_oscillator(rng, root * 2 ** (s / 12), n) for s in steps)
    return chord * _envelope(n, rng.uniform(0.01, 0.8), rng.uniform(0.05, 0.5))


def _sweep(rng: np.random.Generator, hits: Sequence[np.ndarray]) -> np.ndarray:
    n = round(rng.uniform(0.8, 3.0) * ANALYSIS_RATE)
    frames = 1 + n // 512
    low, high = rng.uniform(200, 12000, 2)
    centres = np.geomspace(low, high, frames)
    spectrum = np.fft.rfft(rng.standard_normal(frames * 512).reshape(frames, 512), axis=1)
    freqs = np.fft.rfftfreq(512, 1.0 / ANALYSIS_RATE)
    spectrum *= np.exp(-0.5 * (np.log2((freqs + 1) / centres[:, None]) / rng.uniform(0.2, 1.0)) ** 2)
    return np.fft.irfft(spectrum, 512, axis=1).reshape(-1)[:n] * _envelope(n, rng.uniform(0.05, 0.8), 0.1)


def _loop(rng: np.random.Generator, hits: Sequence[np.ndarray]) -> np.ndarray:
    step = 60.0 / rng.uniform(80, 180) / rng.choice([2, 4])
    n = round(rng.uniform(1.5, 3.5) * ANALYSIS_RATE)
    out = np.zeros(n)
    for start in np.arange(0.0, n / ANALYSIS_RATE, step):
        if rng.random() < 0.75:
            hit = hits[int(rng.integers(len(hits)))]
            i = round(start * ANALYSIS_RATE)
            part = hit[: n - i] * rng.uniform(0.4, 1.0)
            out[i : i + len(part)] += part
    return out


def _speech(rng: np.random.Generator, hits: Sequence[np.ndarray]) -> np.ndarray:
    n = round(rng.uniform(0.8, 2.5) * ANALYSIS_RATE)
    pitch = rng.uniform(90, 240) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * np.arange(n) / ANALYSIS_RATE))
    pulses = (np.diff(np.floor(np.cumsum(pitch) / ANALYSIS_RATE), prepend=0) > 0).astype(float)
    out = np.zeros(n)
    syllables = rng.integers(3, 8)
    edges = np.linspace(0, n, syllables + 1).astype(int)
    for a, b in zip(edges, edges[1:]):
        source = pulses[a:b] + 0.05 * rng.standard_normal(b - a)
        spectrum = np.fft.rfft(source)
        freqs = np.fft.rfftfreq(b - a, 1.0 / ANALYSIS_RATE)
        gain = sum(
            np.exp(-0.5 * ((freqs - f) / (0.1 * f)) ** 2) for f in (rng.uniform(300, 900), rng.uniform(900, 2500), rng.uniform(2400, 3500))
        )
        out[a:b] = np.fft.irfft(spectrum * gain, b - a) * np.hanning(b - a)
    return out


#: Makers of sounds that are not drum one-shots, for the ``other`` family.
NOT_ONE_SHOTS: tuple[Callable[[np.random.Generator, Sequence[np.ndarray]], np.ndarray], ...] = (_tone, _chord, _sweep, _loop, _speech)


def not_one_shots(count: int, hits: Sequence[np.ndarray], rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """``count`` made-up sounds that are not drum one-shots, in turn of :data:`NOT_ONE_SHOTS`.

    ``hits`` are drum sounds the loops are built from. Returns the signals and their durations.
    """
    signals = []
    for i in range(count):
        x = NOT_ONE_SHOTS[i % len(NOT_ONE_SHOTS)](rng, hits)
        signals.append(0.8 * x / (np.abs(x).max() + 1e-12))
    return signals, np.array([len(x) / ANALYSIS_RATE for x in signals])


def inputs(signals: Sequence[np.ndarray], durations: Sequence[float] | np.ndarray) -> np.ndarray:
    """The family model's input (:func:`tidalsort.analysis.analyse.family_input`) of every sound."""
    rows = []
    for x, d in zip(signals, durations):
        x = np.asarray(x, dtype=np.float64)
        rows.append(family_input(np.pad(x, (0, max(0, round(READ_SECONDS * ANALYSIS_RATE) - len(x)))), float(d)))
    return np.array(rows).reshape(len(rows), family_input_width())


@dataclass(frozen=True)
class Prepared:
    """Model inputs of labelled sounds and of their augmented copies, computed once for many trainings.

    Attributes
    ----------
    X
        Input of every labelled sound.
    y
        Family index of every labelled sound.
    copies
        Inputs of the augmented copies.
    source
        Row of ``X`` that every augmented copy was made from.
    sound
        Sound (velocity-layer group) of every labelled sound, as an index.
    """

    X: np.ndarray
    y: np.ndarray
    copies: np.ndarray
    source: np.ndarray
    sound: np.ndarray

    def copies_of(self, rows: np.ndarray, copies: int) -> np.ndarray:
        """Which augmented copies are the first ``copies`` of each sound of ``rows`` (a mask
        of :attr:`copies`): one preparation serves settings with fewer copies."""
        made = len(self.source) // max(len(self.X), 1)
        if copies > made:
            raise ValueError(f"{copies} copies asked of sounds prepared with {made}")
        return np.isin(self.source, rows) & (np.arange(len(self.source)) % max(made, 1) < copies)


def prepare(
    signals: Sequence[np.ndarray],
    durations: np.ndarray,
    labels: Sequence[str],
    *,
    config: TrainingConfig,
    sounds: Sequence[str] | None = None,
) -> Prepared:
    """Inputs of the sounds and of ``config.copies`` augmented copies of each (seeded per sound).

    ``sounds`` names the sound every file is a velocity layer of (default: each its own).
    """
    copies, source = [], []
    for i, (x, d) in enumerate(zip(signals, durations)):
        rng = np.random.default_rng([config.seed, i])
        for _ in range(config.copies):
            copies.append(augment(x, d, rng))
            source.append(i)
    X = inputs(signals, durations)
    copy_inputs = inputs([c for c, _ in copies], [d for _, d in copies]) if copies else np.zeros((0, X.shape[1]))
    names = [s or f"#{i}" for i, s in enumerate(sounds)] if sounds is not None else [f"#{i}" for i in range(len(labels))]
    sound = np.unique(np.array(names), return_inverse=True)[1].reshape(-1)
    return Prepared(X, np.array([FAMILIES.index(label) for label in labels]), copy_inputs, np.array(source, dtype=int), sound)


def training_rows(
    prepared: Prepared, rows: np.ndarray, signals: Sequence[np.ndarray], config: TrainingConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, families and weights to train on from the labelled ``rows``: them, their copies and made-up others.

    Every family weighs the same in all; inside a family, every sound (velocity layers of
    one instrument, :attr:`Prepared.sound`) weighs the same, its files and their copies
    sharing its weight; inside ``other``, the made-up sounds weigh
    ``config.synthetic_share`` of it. The others' drum loops are built from the drum
    sounds among ``rows`` only. Of ``prepared``'s copies, the first ``config.copies`` of
    each sound are used (:meth:`Prepared.copies_of`).
    """
    keep = prepared.copies_of(rows, config.copies)
    hits = [signals[i][: round(0.5 * ANALYSIS_RATE)] for i in rows if prepared.y[i] != FAMILIES.index("other")]
    others, durations = not_one_shots(config.synthetic, hits, np.random.default_rng([config.seed, len(rows)]))
    X = np.concatenate([prepared.X[rows], prepared.copies[keep], inputs(others, durations)])
    y = np.concatenate([prepared.y[rows], prepared.y[prepared.source[keep]], np.full(len(others), FAMILIES.index("other"))])
    made_up = np.arange(len(y)) >= len(y) - len(others)
    layers = np.bincount(prepared.sound[rows], minlength=len(prepared.X))[prepared.sound]  # files of each row's sound among rows
    share = np.concatenate([1.0 / layers[rows], 1.0 / layers[prepared.source[keep]], np.ones(len(others))])
    totals = np.bincount(y, weights=share, minlength=len(FAMILIES))
    weights = share * (len(y) / (len(FAMILIES) * np.maximum(totals, 1e-12)))[y]
    other = y == FAMILIES.index("other")
    if made_up.any() and (other & ~made_up).any():
        total = weights[other].sum()
        weights[other & made_up] = config.synthetic_share * total / made_up.sum()
        weights[other & ~made_up] = (1.0 - config.synthetic_share) * total / (other & ~made_up).sum()
    return X, y, weights


#: Logit of a family that had no training examples.
_ABSENT = -30.0


def _layers(net: Any) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """A fitted MLPClassifier's layers, its output widened to one logit per family.

    Families missing from the training data get a constant, very low logit; with two
    classes scikit-learn learns one logistic output, which is the logit of the second
    class against a zero logit of the first.
    """
    layers = list(zip(net.coefs_, net.intercepts_))
    weights, bias = layers[-1]
    full_w = np.zeros((weights.shape[0], len(FAMILIES)))
    full_b = np.full(len(FAMILIES), _ABSENT)
    classes = [int(c) for c in net.classes_]
    if len(classes) == 2:
        full_b[classes[0]] = 0.0
        full_w[:, classes[1]], full_b[classes[1]] = weights[:, 0], bias[0]
    else:
        full_w[:, classes], full_b[classes] = weights, bias
    return tuple(layers[:-1]) + ((full_w, full_b),)


def fit(
    X: np.ndarray, y: np.ndarray, weights: np.ndarray, config: TrainingConfig, *, temperature: float = 1.0, meta: dict | None = None
) -> FamilyModel:
    """Train the ensemble on inputs ``X``, family indices ``y`` and row ``weights`` (:func:`training_rows`)."""
    from sklearn.neural_network import (
        MLPClassifier,  # training only: keep it out of sorting
    )

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    Z = (X - mean) / scale
    networks = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: a fixed number of epochs is the design
        for i in range(config.networks):
            net = MLPClassifier(hidden_layer_sizes=config.hidden, alpha=config.alpha, max_iter=config.epochs, random_state=config.seed + i)
            net.fit(Z, y, sample_weight=weights)
            networks.append(_layers(net))
        _, _, axes = np.linalg.svd(Z - Z.mean(axis=0), full_matrices=False)
    top = axes[: config.novelty_axes].T
    projected = Z @ top
    basis = top / projected.std(axis=0)
    distances = np.sqrt(((Z @ basis) ** 2).sum(axis=1))
    limit = float(np.quantile(distances, config.novelty_quantile))
    return FamilyModel(
        mean, scale, tuple(networks), temperature, basis, limit, {"version": VERSION, "config": asdict(config), **(meta or {})}
    )


def temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that makes held-out ``logits`` most likely (least log loss)."""
    candidates = np.geomspace(0.25, 8.0, 64)
    losses = []
    for t in candidates:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        losses.append(float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y])))
    return float(candidates[int(np.argmin(losses))])


@dataclass
class CrossValidation:
    """Out-of-fold results of :func:`cross_validate`, one row per labelled sound."""

    logits: np.ndarray
    novel: np.ndarray
    fold: np.ndarray
    models: list[FamilyModel]
    prepared: Prepared


def cross_validate(
    signals: Sequence[np.ndarray],
    durations: np.ndarray,
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    config: TrainingConfig,
    folds: int = 10,
    progress: Callable[[int], None] = lambda fold: None,
    sounds: Sequence[str] | None = None,
    prepared: Prepared | None = None,
) -> CrossValidation:
    """Train on all folds but one and predict the one left out, for every fold (:func:`group_folds`).

    ``prepared`` (:func:`prepare` of these sounds, with at least ``config.copies`` copies)
    saves preparing them again when several settings are compared.
    """
    prepared = prepared or prepare(signals, durations, labels, config=config, sounds=sounds)
    y = prepared.y
    logits = np.zeros((len(y), len(FAMILIES)))
    novel = np.zeros(len(y), dtype=bool)
    fold = np.zeros(len(y), dtype=int)
    models = []
    test_rows = group_folds(groups, folds)
    for f, test in enumerate(test_rows):
        train = np.setdiff1d(np.arange(len(y)), test)
        model = fit(*training_rows(prepared, train, signals, config), config)
        X_test = prepared.X[test]
        logits[test] = model.logits(X_test)
        novel[test] = model.novelty(X_test) > model.novelty_limit
        fold[test] = f
        models.append(model)
        progress(f)
    return CrossValidation(logits, novel, fold, models, prepared)
