"""Features: pyAudioAnalysis short-term features per 50 ms frame, standardised columns."""

from pathlib import Path

import numpy as np
import pytest
from conftest import noise, tone, write

from tidalsort.analysis.analyse import analyse
from tidalsort.analysis.audio import read_head
from tidalsort.analysis.features import (
    FEATURES_PER_FRAME,
    MEL_CEPSTRA,
    MEL_SPANS,
    FeatureSettings,
    centroid,
    describe,
    mel_spans,
    short_term,
    spectrogram,
)
from tidalsort.organise.scaling import Scaler


@pytest.mark.parametrize("frames", [1, 2, 5])
def test_68_features_per_frame(frames: int) -> None:
    vector = describe(np.pad(tone(440, 0.2), (0, 44100)), FeatureSettings("paa", frames))[0]
    assert vector.shape == (FEATURES_PER_FRAME * frames,)
    assert np.isfinite(vector).all()


def test_centroid_tells_low_from_bright() -> None:
    low = centroid(spectrogram(np.pad(tone(100, 0.3), (0, 44100))))
    bright = centroid(spectrogram(np.pad(noise(0.3), (0, 44100))))
    assert 80 < low < 300 and bright > 8000
    assert describe(np.pad(tone(100, 0.3), (0, 50000)), FeatureSettings())[1] == pytest.approx(low)


def test_feature_sets_concatenate_their_groups() -> None:
    signal = np.pad(tone(440, 0.2), (0, 50000))
    both = describe(signal, FeatureSettings("paa+mel", 2))[0]
    assert [g for g, _ in FeatureSettings("paa+mel", 2).group_sizes()] == ["paa", "mel"]
    np.testing.assert_allclose(
        both, np.concatenate([describe(signal, FeatureSettings("paa", 2))[0], describe(signal, FeatureSettings("mel"))[0]])
    )
    with pytest.raises(ValueError, match="unknown feature set"):
        FeatureSettings("mfcc")


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


def test_standard_scaling_gives_unit_columns_and_zero_for_constant_ones() -> None:
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(1000, 300, 50), rng.normal(0, 0.01, 50), np.full(50, 7.0)])
    Z = Scaler("standard").fit_transform(X)
    np.testing.assert_allclose(Z[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1)
    assert not Z[:, 2].any()
    np.testing.assert_array_equal(Scaler("none").fit_transform(X), X)


def test_groups_weigh_the_same_whatever_their_width() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 40))
    Z = Scaler("standard", [("wide", 36), ("narrow", 4)]).fit_transform(X)
    wide, narrow = (Z[:, :36] ** 2).sum(axis=1).mean(), (Z[:, 36:] ** 2).sum(axis=1).mean()
    assert wide == pytest.approx(narrow) == pytest.approx(1.0)


def test_scaler_transforms_new_rows_like_the_fitted_ones() -> None:
    X = np.random.default_rng(3).normal(5, 2, size=(30, 3))
    scaler = Scaler("standard").fit(X)
    np.testing.assert_allclose(scaler.transform(X[4]), scaler.transform(X)[4])


def test_mel_spans_ignore_level_and_leading_quiet_but_hear_decay() -> None:
    sound = noise(0.5, decay=0.05) + tone(200, 0.5, decay=0.2)
    spans = lambda signal: mel_spans(spectrogram(signal))  # noqa: E731
    base = spans(np.pad(sound, (0, 44100)))
    assert base.shape == (len(MEL_SPANS) * MEL_CEPSTRA,)
    np.testing.assert_allclose(spans(np.pad(0.1 * sound, (0, 44100))), base, atol=1e-3)
    delayed = np.concatenate([np.full(4410, 1e-6), sound, np.zeros(44100)])
    np.testing.assert_allclose(spans(delayed), base, atol=0.5)
    longer = spans(np.pad(noise(0.5, decay=0.05) + tone(200, 0.5, decay=0.6), (0, 44100)))
    assert np.linalg.norm(longer - base) > 10


def test_analysis_is_independent_of_the_source_format(tmp_path: Path) -> None:
    sound = tone(300, 0.3)
    wav = write(tmp_path / "a.wav", sound, subtype="FLOAT")
    flac48 = write(tmp_path / "b.flac", tone(300, 0.3, rate=48000), rate=48000, subtype="PCM_24")
    settings = FeatureSettings()
    a = describe(read_head(wav, settings.seconds)[0], settings)[0]
    b = describe(read_head(flac48, settings.seconds)[0], settings)[0]
    other = describe(read_head(write(tmp_path / "c.wav", tone(2000, 0.3)), settings.seconds)[0], settings)[0]
    assert np.linalg.norm(a - b) < 0.1 * np.linalg.norm(a - other)


def test_cached_filterbanks_give_pyaudioanalysis_own_values() -> None:
    from pyAudioAnalysis import ShortTermFeatures as stf

    signal = np.pad(noise(0.2) + tone(300, 0.2), (0, 4410))
    cached = short_term(signal, 2)
    for name in ("mfcc_filter_banks", "chroma_features_init"):
        assert getattr(stf, name).cache_info().hits > 0
    originals = {name: getattr(stf, name) for name in ("mfcc_filter_banks", "chroma_features_init")}
    try:
        for name, fn in originals.items():
            setattr(stf, name, fn.__wrapped__)
        np.testing.assert_array_equal(short_term(signal, 2), cached)
    finally:
        for name, fn in originals.items():
            setattr(stf, name, fn)
