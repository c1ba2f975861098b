"""Reading: only the frames needed, any bit depth, rate and channel count, clear reasons."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import tone, write

from tidalsort.audio import ANALYSIS_RATE, UnreadableAudio, read_head

SECONDS = 0.1


def dominant_frequency(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / ANALYSIS_RATE)[np.argmax(spectrum)])


@pytest.mark.parametrize(
    "subtype,fmt,ext",
    [("PCM_U8", "WAV", "wav"), ("PCM_16", "WAV", "wav"), ("PCM_24", "WAV", "wav"), ("PCM_32", "WAV", "wav"),
     ("FLOAT", "WAV", "wav"), ("DOUBLE", "WAV", "wav"), ("PCM_S8", "AIFF", "aif"), ("PCM_24", "AIFF", "aiff"),
     ("PCM_16", "FLAC", "flac"), ("VORBIS", "OGG", "ogg")],
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
