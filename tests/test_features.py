"""Features: pyAudioAnalysis short-term features per 50 ms frame, standardised columns."""

from pathlib import Path

import numpy as np
import pytest
from conftest import noise, tone, write

from tidalsort.analysis import analyse
from tidalsort.audio import read_head
from tidalsort.features import FEATURES_PER_FRAME, FeatureSettings, extract, short_term, standardize


@pytest.mark.parametrize("frames", [1, 2, 5])
def test_68_features_per_frame(frames: int) -> None:
    vector = extract(np.pad(tone(440, 0.2), (0, 44100)), FeatureSettings("paa", frames))
    assert vector.shape == (FEATURES_PER_FRAME * frames,)
    assert np.isfinite(vector).all()


def test_frames_are_the_first_50_ms_frames_in_order() -> None:
    signal = np.concatenate([tone(200, 0.05, decay=1.0), noise(0.05, decay=1.0)])
    both = short_term(signal, 2)
    # frame 2 is noise: its zero-crossing rate (feature 0) is far higher than the tone's
    assert both[FEATURES_PER_FRAME] > 10 * both[0]


def test_files_shorter_than_the_frames_are_padded_not_dropped(tmp_path: Path) -> None:
    paths = [write(tmp_path / "click.wav", tone(3000, 0.015)), write(tmp_path / "long.wav", tone(100, 1.0))]
    result = analyse(paths, FeatureSettings("paa", 4))
    assert result.sources == paths and not result.skipped
    assert result.features.shape == (2, 4 * FEATURES_PER_FRAME)
    assert np.isfinite(result.features).all()


def test_standardize_gives_unit_columns_and_zero_for_constant_ones() -> None:
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(1000, 300, 50), rng.normal(0, 0.01, 50), np.full(50, 7.0)])
    Z = standardize(X)
    np.testing.assert_allclose(Z[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1)
    assert not Z[:, 2].any()


def test_analysis_is_independent_of_the_source_format(tmp_path: Path) -> None:
    sound = tone(300, 0.3)
    wav = write(tmp_path / "a.wav", sound, subtype="FLOAT")
    flac48 = write(tmp_path / "b.flac", tone(300, 0.3, rate=48000), rate=48000, subtype="PCM_24")
    a = extract(read_head(wav, 0.1)[0], FeatureSettings())
    b = extract(read_head(flac48, 0.1)[0], FeatureSettings())
    other = extract(read_head(write(tmp_path / "c.wav", tone(2000, 0.3)), 0.1)[0], FeatureSettings())
    assert np.linalg.norm(a - b) < 0.1 * np.linalg.norm(a - other)
