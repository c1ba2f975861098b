"""Reading: only the frames needed, any bit depth, rate and channel count, clear reasons."""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import tone, write

from tidalsort.analysis.analyse import analyse_file
from tidalsort.analysis.audio import ANALYSIS_RATE, UnreadableAudio, read_head
from tidalsort.analysis.features import FeatureSettings

SECONDS = 0.1


def dominant_frequency(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / ANALYSIS_RATE)[np.argmax(spectrum)])


@pytest.mark.parametrize(
    "subtype,fmt,ext",
    [
        ("PCM_U8", "WAV", "wav"),
        ("PCM_16", "WAV", "wav"),
        ("PCM_24", "WAV", "wav"),
        ("PCM_32", "WAV", "wav"),
        ("FLOAT", "WAV", "wav"),
        ("DOUBLE", "WAV", "wav"),
        ("PCM_S8", "AIFF", "aif"),
        ("PCM_24", "AIFF", "aiff"),
        ("PCM_16", "FLAC", "flac"),
        ("VORBIS", "OGG", "ogg"),
    ],
)
def test_any_bit_depth_and_format(tmp_path: Path, subtype: str, fmt: str, ext: str) -> None:
    path = write(tmp_path / f"x.{ext}", tone(1000, 0.5, decay=1.0), subtype=subtype, fmt=fmt)
    signal, info = read_head(path, SECONDS)
    assert signal.shape == (round(SECONDS * ANALYSIS_RATE),)
    assert info.frames == 22050 and info.format == fmt
    assert abs(dominant_frequency(signal) - 1000) < 15
    assert 0.6 < np.abs(signal).max() < 0.85


@pytest.mark.parametrize("rate", [8000, 22050, 44101, 48000, 96000])
def test_any_sample_rate_is_brought_to_the_analysis_rate(tmp_path: Path, rate: int) -> None:
    path = write(tmp_path / "x.wav", tone(1000, 0.5, rate=rate, decay=1.0), rate=rate)
    signal, info = read_head(path, SECONDS)
    assert info.samplerate == rate
    assert len(signal) == round(SECONDS * ANALYSIS_RATE)
    assert abs(dominant_frequency(signal) - 1000) < 15


def test_channels_are_mixed_down_to_mono(tmp_path: Path) -> None:
    left = tone(1000, 0.5, decay=1.0)
    stereo = np.stack([left, -left, left, left, np.zeros_like(left), np.zeros_like(left)], axis=1)
    path = write(tmp_path / "six.wav", stereo, subtype="FLOAT")
    signal, info = read_head(path, SECONDS)
    assert info.channels == 6
    np.testing.assert_allclose(signal, left[: len(signal)] * 2 / 6, atol=1e-6)


def test_only_the_needed_frames_are_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "long.wav", tone(200, 30.0, decay=10.0))
    requested: list[int] = []
    original = sf.SoundFile.read

    def counting_read(self, frames=-1, *args, **kwargs):
        requested.append(frames)
        return original(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", counting_read)
    read_head(path, SECONDS)
    assert -1 not in requested
    assert sum(requested) < 0.2 * 44100  # the head and a 16-frame look at the end, not 30 s


def test_short_files_are_zero_padded(tmp_path: Path) -> None:
    path = write(tmp_path / "click.wav", tone(3000, 0.015))
    signal, info = read_head(path, SECONDS)
    assert info.duration == pytest.approx(0.015, abs=1e-4)
    assert np.abs(signal[:600]).max() > 0.5 and not signal[700:].any()


def test_leading_silence_is_skipped(tmp_path: Path) -> None:
    sound = tone(1000, 0.5, decay=1.0)
    path = write(tmp_path / "late.wav", np.concatenate([np.zeros(44100), sound]), subtype="FLOAT")
    signal, _ = read_head(path, SECONDS)
    # sound[0] is 0 (a sine starts at 0): the head starts at sound[1]
    np.testing.assert_allclose(signal, sound[1 : len(signal) + 1], atol=1e-6)


@pytest.mark.parametrize(
    "content,reason",
    [(b"", "empty file"), (b"just some notes\n" * 40, "not an audio file"), (b"RIFF\x10\x00\x00\x00WAVEfmt junkjunkjunk" * 3, "")],
)
def test_unreadable_files_have_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(UnreadableAudio) as excinfo:
        read_head(path, SECONDS)
    assert reason in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_silent_file_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path / "silence.wav", np.zeros(200000))
    with pytest.raises(UnreadableAudio, match="silent"):
        read_head(path, SECONDS)


def test_header_only_file_has_no_frames(tmp_path: Path) -> None:
    full = write(tmp_path / "full.wav", tone(100, 1.0))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:44])
    with pytest.raises(UnreadableAudio, match="no audio frames"):
        read_head(cut, SECONDS)


@pytest.mark.parametrize("fmt,ext", [("WAV", "wav"), ("AIFF", "aiff"), ("FLAC", "flac")])
def test_file_cut_off_after_its_head_is_read_with_a_warning(tmp_path: Path, fmt: str, ext: str) -> None:
    full = write(tmp_path / f"full.{ext}", tone(100, 2.0, decay=5.0), fmt=fmt)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    signal, info = read_head(cut, SECONDS)
    assert info.warning and "truncated" in info.warning
    assert read_head(full, SECONDS)[1].warning is None
    np.testing.assert_allclose(signal, read_head(full, SECONDS)[0], atol=1e-4)


def test_a_valid_gsm_wav_has_no_truncation_warning_and_a_cut_one_has(tmp_path: Path) -> None:
    full = write(tmp_path / "gsm.wav", tone(400, 2.0, rate=8000, decay=0.5), rate=8000, subtype="GSM610")
    signal, info = read_head(full, SECONDS)
    assert info.subtype == "GSM610" and info.warning is None
    assert abs(dominant_frequency(signal) - 400) < 15
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert "truncated" in read_head(cut, SECONDS)[1].warning


@pytest.mark.parametrize(
    "bad,fmt,subtype", [(np.nan, "WAV", "FLOAT"), (np.inf, "WAV", "DOUBLE"), (-np.inf, "AIFF", "FLOAT"), (1e300, "WAV", "DOUBLE")]
)
def test_float_files_holding_nan_or_infinity_anywhere_are_unreadable(tmp_path: Path, bad: float, fmt: str, subtype: str) -> None:
    sound = tone(1000, 3.0, decay=1.0)
    sound[2 * 44100] = bad  # far after the analysed head (1e300 is infinite as float32, as scsynth plays it)
    path = write(tmp_path / "x.snd", sound, subtype=subtype, fmt=fmt)
    with pytest.raises(UnreadableAudio, match=r"non-finite samples \(NaN or infinity; the first at 2\.000 s\)"):
        read_head(path, SECONDS)


def test_sample_values_far_beyond_full_scale_give_no_features(tmp_path: Path) -> None:
    path = write(tmp_path / "loud.wav", tone(1000, 0.5, decay=1.0) * 1e30, subtype="FLOAT")
    with pytest.raises(UnreadableAudio, match="far beyond full scale"):
        analyse_file(path, FeatureSettings())


def test_a_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    path = write(Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"k\xe9ck.wav"))), tone(1000, 0.5, decay=1.0))
    assert read_head(path, SECONDS)[1].frames == 22050
