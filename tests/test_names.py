"""Names as evidence: the name reader on real-world names, and names by default in a sort."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from conftest import DEV, manifest, require, run, tone, write

from tidalsort.analysis.analyse import analyse
from tidalsort.analysis.features import FeatureSettings
from tidalsort.demo import RATE, kick
from tidalsort.families.filenames import name_family, read_name
from tidalsort.families.model import FamilyModel
from tidalsort.families.taxonomy import FAMILIES
from tidalsort.pipeline import name_families

#: (path below a library folder, the family a person would give it; None: the name says nothing).
#: Styles of Dirt-Samples (``bd/BT0A0A7.wav``, ``hh/hh3kick1.wav``), tidal-drum-machines
#: (``rolandtr909-sd/sd02.wav``), oramics (``02.HC.808.wav``), drum-machine ROMs (``DR110CHT.WAV``,
#: ``CYMBAL_014.wav``) and sample packs (``Hat Closed-01.wav``, ``Kick - Punchy.wav``).
NAMES: list[tuple[str, str | None]] = [
    # kick (24)
    ("Kick 01.wav", "kick"),
    ("BD 04.wav", "kick"),
    ("Bassdrum.wav", "kick"),
    ("Bassdrum-01.wav", "kick"),
    ("bd/BT0A0A7.wav", "kick"),
    ("808bd/BD5075.WAV", "kick"),
    ("000_808KICK4.wav", "kick"),
    ("KICK_Hard_03.wav", "kick"),
    ("Kick - Punchy.wav", "kick"),
    ("kick (12).wav", "kick"),
    ("Bass Drum 1.wav", "kick"),
    ("BassDrum_Acoustic.aif", "kick"),
    ("kick-short.wav", "kick"),
    ("DR110KIK.WAV", "kick"),
    ("hh/hh3kick1.wav", "kick"),
    ("Kicks/Sub Kick 3.wav", "kick"),
    ("TR909 Kick Long.wav", "kick"),
    ("bossdr55-bd/Bassdrum-02.wav", "kick"),
    ("kick_drum_02.flac", "kick"),
    ("Trap Kick 12.wav", "kick"),
    ("Kick FX 01.wav", "kick"),
    ("bd/bd01.wav", "kick"),
    ("BD01.wav", "kick"),
    ("clubkick/001.wav", "kick"),
    # snare (19)
    ("Snare 01.wav", "snare"),
    ("SnareRoll.wav", "snare"),
    ("SD 1.wav", "snare"),
    ("sn/ST0T0S3.wav", "snare"),
    ("Snaredrum.wav", "snare"),
    ("SNAREDRUM_024.wav", "snare"),
    ("snare (104).wav", "snare"),
    ("03.SD5.808.wav", "snare"),
    ("Snare Drum Brush.wav", "snare"),
    ("007_SN.wav", "snare"),
    ("DR110SNR.WAV", "snare"),
    ("ulsnare-reverb.wav", "snare"),
    ("Snare Stab.wav", "snare"),
    ("rolandtr909-sd/sd02.wav", "snare"),
    ("brushsnareghost.wav", "snare"),
    ("Noise Snare.wav", "snare"),
    ("snares/tight_01.wav", "snare"),
    ("Sd 139.wav", "snare"),
    ("hh27/hh27snare2.wav", "snare"),
    # clap (14)
    ("Clap.wav", "clap"),
    ("CP.WAV", "clap"),
    ("Hand Clap.wav", "clap"),
    ("Handclap 2.wav", "clap"),
    ("HANDCLPA.wav", "clap"),
    ("DR110CLP.WAV", "clap"),
    ("claps/Big Room.wav", "clap"),
    ("rolandtr808-cp/cp0.wav", "clap"),
    ("01.CP.808.wav", "clap"),
    ("Clap Layered 03.wav", "clap"),
    ("DXClap.wav", "clap"),
    ("realclaps/1.wav", "clap"),
    ("cp/FX_059.wav", "clap"),
    ("realclaps2/a.wav", "clap"),
    # rim (13)
    ("Sidestick-03.wav", "rim"),
    ("Rim Gated.wav", "rim"),
    ("Rimshot.wav", "rim"),
    ("Rim Shot.wav", "rim"),
    ("RS.WAV", "rim"),
    ("14.RS.808.wav", "rim"),
    ("Side Stick.wav", "rim"),
    ("Cross Stick 2.wav", "rim"),
    ("VoodooRim.wav", "rim"),
    ("rytm-rs.wav", "rim"),
    ("rim/Rimhot.wav", "rim"),
    ("DXRimshot.wav", "rim"),
    ("Rim.wav", "rim"),
    # tom (19)
    ("Tom L.wav", "tom"),
    ("HT.WAV", "tom"),
    ("Tom H.wav", "tom"),
    ("tom-m.wav", "tom"),
    ("Floor Tom.wav", "tom"),
    ("Hi Tom.wav", "tom"),
    ("lotom.wav", "tom"),
    ("brushhitom.wav", "tom"),
    ("TOMS_049.wav", "tom"),
    ("ht/HT7D7.wav", "tom"),
    ("lt/LT0D3.wav", "tom"),
    ("808mt/MT75.WAV", "tom"),
    ("11.MT.808.wav", "tom"),
    ("Mattel Tom VHigh.wav", "tom"),
    ("DX_Low_Tom.wav", "tom"),
    ("Tom Tom 2.wav", "tom"),
    ("Toms/Rack 1.wav", "tom"),
    ("rolandtr909-lt/lt08.wav", "tom"),
    ("Tom-01.wav", "tom"),
    # hihat_closed (24)
    ("Hat Closed-01.wav", "hihat_closed"),
    ("Pedal Hat.wav", "hihat_closed"),
    ("CH.WAV", "hihat_closed"),
    ("Closed Hat.wav", "hihat_closed"),
    ("closedhh.wav", "hihat_closed"),
    ("hh/000_hh3closedhh.wav", "hihat_closed"),
    ("Hihat1.wav", "hihat_closed"),
    ("HiHat.wav", "hihat_closed"),
    ("Hi Hat 3.wav", "hihat_closed"),
    ("hihat-closed-1.wav", "hihat_closed"),
    ("hihat-close.wav", "hihat_closed"),
    ("01.CH.808.wav", "hihat_closed"),
    ("DR110CHT.WAV", "hihat_closed"),
    ("DX_Cl_Hat.wav", "hihat_closed"),
    ("foothat2.wav", "hihat_closed"),
    ("closedhathard.wav", "hihat_closed"),
    ("hc/HHCD0.wav", "hihat_closed"),
    ("rolandtr909-hh/hh01.wav", "hihat_closed"),
    ("yamaharm50-hh/CYMBAL_014.wav", "hihat_closed"),
    ("HH.wav", "hihat_closed"),
    ("Hats/Tight 04.wav", "hihat_closed"),
    ("DR55 hi hat.wav", "hihat_closed"),
    ("CHH_01.wav", "hihat_closed"),
    ("Trap Hat 07.wav", "hihat_closed"),
    # hihat_open (18)
    ("Hat Open.wav", "hihat_open"),
    ("Open Hat.wav", "hihat_open"),
    ("HiHat Open.wav", "hihat_open"),
    ("open_hihat.wav", "hihat_open"),
    ("78OHH.wav", "hihat_open"),
    ("OH.WAV", "hihat_open"),
    ("808oh/OH25.WAV", "hihat_open"),
    ("openhh.wav", "hihat_open"),
    ("Openhat.wav", "hihat_open"),
    ("hihat-open-2.wav", "hihat_open"),
    ("DR110OHT.WAV", "hihat_open"),
    ("DX_Open_Hat.wav", "hihat_open"),
    ("ho/HHOD4.wav", "hihat_open"),
    ("oh/Hat 1.wav", "hihat_open"),
    ("yamaharm50-oh/CYMBAL_012.wav", "hihat_open"),
    ("OpenHH_02.wav", "hihat_open"),
    ("Open Hi-Hat.wav", "hihat_open"),
    ("Hi Hat Open 2.wav", "hihat_open"),
    # cymbal (17)
    ("Ride.wav", "cymbal"),
    ("Synth Cymbal.wav", "cymbal"),
    ("Crash.wav", "cymbal"),
    ("Crash Cymbal 2.wav", "cymbal"),
    ("Ride Bell.wav", "cymbal"),
    ("ridebell.wav", "cymbal"),
    ("cr/RIDED0.wav", "cymbal"),
    ("808cy/CY5075.WAV", "cymbal"),
    ("CYMBAL_048.wav", "cymbal"),
    ("China 18.wav", "cymbal"),
    ("Splash.wav", "cymbal"),
    ("DR110CYM.WAV", "cymbal"),
    ("cymbalgrab.wav", "cymbal"),
    ("rolandtr909-rd/rd01.wav", "cymbal"),
    ("Med_Crash.wav", "cymbal"),
    ("Reverse Crash.wav", "cymbal"),
    ("Mattel Cymbal.wav", "cymbal"),
    # perc (28)
    ("Conga Hi.wav", "perc"),
    ("Timbale.wav", "perc"),
    ("Tambourine.wav", "perc"),
    ("Cowbell.wav", "perc"),
    ("CB.WAV", "perc"),
    ("808hc/HC00.WAV", "perc"),
    ("808lc/LC10.WAV", "perc"),
    ("02.HC.808.wav", "perc"),
    ("08.MA.808.wav", "perc"),
    ("808/CL.WAV", "perc"),
    ("Cabasa.wav", "perc"),
    ("Shaker 2.wav", "perc"),
    ("shake1.wav", "perc"),
    ("Bongo Lo.wav", "perc"),
    ("Claves.wav", "perc"),
    ("Woodblock.wav", "perc"),
    ("Wood Block.wav", "perc"),
    ("Agogo.wav", "perc"),
    ("Triangle Open.wav", "perc"),
    ("Guiro.wav", "perc"),
    ("perc1.wav", "perc"),
    ("Perc 05.wav", "perc"),
    ("lockett_conga_mute2.wav", "perc"),
    ("Tamb.wav", "perc"),
    ("rolandtr808-sh/Cabasa.wav", "perc"),
    ("yamaharm50-tb/FX_030.wav", "perc"),
    ("Cow Bell.wav", "perc"),
    ("Maracas.wav", "perc"),
    # other (20)
    ("Electric Piano.wav", "other"),
    ("Slap Bass.wav", "other"),
    ("SFX-08.wav", "other"),
    ("FX.wav", "other"),
    ("Vox Chop 3.wav", "other"),
    ("Vocal Hey.wav", "other"),
    ("Riser 8 bars.wav", "other"),
    ("Synth Stab.wav", "other"),
    ("Pad C minor.wav", "other"),
    ("Chord Stab 2.wav", "other"),
    ("Lead 01.wav", "other"),
    ("Arp 120bpm.wav", "other"),
    ("Guitar Pluck.wav", "other"),
    ("Strings Long.wav", "other"),
    ("fx-synth-009.wav", "other"),
    ("Noise Sweep.wav", "other"),
    ("808 Bass C.wav", "other"),
    ("Sub Bass.wav", "other"),
    ("Laser.wav", "other"),
    ("misc/FX_071.wav", "other"),
    # no evidence (12)
    ("BT0A0A7.wav", None),
    ("sample 01.wav", None),
    ("808 misc 3.wav", None),
    ("drum hit.wav", None),
    ("kick snare layer.wav", None),
    ("Tom Clap.wav", None),
    ("hh/hh3hit1.wav", None),
    ("hardcore/hchit1.wav", None),
    ("One Shot 4.wav", None),
    ("Drum Kit 2.wav", None),
    ("909 Hit.wav", None),
    ("audio_0001.wav", None),
]


def test_the_names_cover_every_family_and_no_evidence() -> None:
    assert len(NAMES) >= 150 and {family for _, family in NAMES} == {*FAMILIES, None}


@pytest.mark.parametrize(("name", "family"), NAMES)
def test_a_name_reads_as_a_person_reads_it(name: str, family: str | None) -> None:
    assert name_family(Path("/library") / name) == family


def test_phrases_and_hat_words_in_any_order() -> None:
    for name in ("Hat Open", "Open Hat", "HiHat Open", "open_hihat", "Hi-Hat open", "OpenHH"):
        assert read_name(name).family == "hihat_open", name
    assert read_name("Bass Drum").family == "kick" and read_name("Bass").family == "other"


def test_a_name_of_two_drums_is_no_evidence_even_in_a_folder_of_one_of_them() -> None:
    assert name_family("/x/kicks/kick snare layer.wav") is None
    assert name_family("/x/sequential/000_Tom Clap.wav") is None


def test_the_file_name_wins_over_its_folder_and_the_folder_only_refines_it() -> None:
    assert name_family("/x/bd/Snare 2.wav") == "snare"  # another drum: the file name wins
    assert name_family("/x/oh/Hat 1.wav") == "hihat_open"  # the folder says which hat
    assert name_family("/x/hh/CYMBAL_001.wav") == "hihat_closed"  # a hat is a cymbal
    assert name_family("/x/perc/FX_003.wav") == "perc"  # a non-drum word does not beat a drum folder
    assert name_family("/x/fx/Kick 1.wav") == "kick"


def test_a_kit_folder_named_like_a_family_is_no_evidence() -> None:
    assert [name_family(f"/x/hh/{n}.wav") for n in ("hh3kick1", "hh3hit1", "hh3closedhh", "hh01")] == [
        "kick",
        None,
        "hihat_closed",
        "hihat_closed",
    ]
    assert name_family("/x/ht/HT0D7.wav") == "tom"  # a code, not a word, follows the number


def _labelled(name: str) -> list[tuple[Path, str]]:
    folder = DEV.parent / name
    require((folder / "labels.csv").is_file(), f"the {name} dataset is missing at {folder}")
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        return [(folder / row["relative_path"], row["label"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize(("name", "named", "agree"), [("dev", 0.91, 0.99), ("train", 0.99, 0.99)])
def test_the_reader_names_most_labelled_files_and_agrees_with_their_labels(name: str, named: float, agree: float) -> None:
    # bench/names.py: dev 490/533 named, all agree; train 1,169/1,169 named, 1,168 agree.
    # The labels come from folder names and file-name words, so agreement flatters the reader.
    read = [(name_family(path), label) for path, label in _labelled(name)]
    hits = [(family, label) for family, label in read if family is not None]
    assert len(hits) >= named * len(read)
    assert sum(family == label for family, label in hits) >= agree * len(hits)


def test_the_name_wins_and_name_families_says_where_each_family_came_from(tmp_path: Path) -> None:
    paths = [
        write(tmp_path / "Snare 01.wav", kick(np.random.default_rng(0), 0.5), RATE),
        write(tmp_path / "zap.wav", tone(60, 0.6, decay=0.2)),
    ]
    analysis = analyse(paths, FeatureSettings(), jobs=1)
    model = FamilyModel.load()
    named, heard = name_families(analysis, model), name_families(analysis, model, names=False)
    assert list(named.names) == ["snare", "kick"] and list(named.source) == ["name", "audio"]
    assert list(named.audio_family) == ["kick", "kick"] and named.confidence[0] == 1.0
    assert named.audio_confidence[0] > 0.95  # the name wins however sure the audio is (v2: 0.97)
    assert np.array_equal(named.audio_confidence, heard.confidence) and list(heard.source) == ["audio", "audio"]
    assert list(heard.names) == ["kick", "kick"]


def test_names_are_on_by_default_and_off_on_request(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "Snare 01.wav", tone(60, 0.6, decay=0.2))  # sounds like a kick, named a snare
    write(src / "zap.wav", tone(60, 0.6, decay=0.2))
    for i, (flags, family) in enumerate(
        (((), "snare"), (("--names",), "snare"), (("--names", "on"), "snare"), (("--names", "off"), "kick"))
    ):
        out = tmp_path / f"out{i}"
        assert run("sort", src, "--out", out, "--bank", "b", *flags) == 0
        entry = manifest(out)["banks"]["b"]
        samples = {Path(s["source"]).name: s for s in entry["samples"]}
        assert samples["Snare 01.wav"]["family"] == family and entry["settings"]["names"] == (family == "snare")
        assert samples["zap.wav"]["family"] == "kick"


def test_a_sort_without_names_is_not_fresh_for_a_sort_with_them(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    write(src / "Snare 01.wav", tone(60, 0.6, decay=0.2))
    out = tmp_path / "out"
    assert run("sort", src, "--out", out, "--bank", "b", "--names", "off") == 0
    assert run("sort", src, "--out", out, "--bank", "b") == 0
    assert manifest(out)["banks"]["b"]["samples"][0]["family"] == "snare"


def test_a_wrong_names_value_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        run("sort", tmp_path, "--out", tmp_path / "out", "--names", "maybe")
    assert "--names" in capsys.readouterr().err
