#!/usr/bin/env python3
"""Build a labelled pool of drum one-shots (and real non-drum one-shots) from Debian packages.

    python train/datasets/build.py                      # into ~/.cache/tidalsort-drums
    python train/datasets/build.py --cache DIR --datasets ../shared/datasets

Steps, each repeatable (a second run gives the same files, labels and manifest):

1. ``apt-get download`` every package of :data:`PACKAGES` at the version ``apt-cache policy``
   names (recorded in the manifest) into ``CACHE/debs``; ``dpkg-deb -x`` it into
   ``CACHE/extracted/<package>``. Nothing is installed; nothing goes into the repository.
2. Label every file by the tables of :mod:`drum_labels`: Hydrogen kits by the instrument
   names of their ``drumkit.xml`` (velocity layers of one instrument are one *sound*);
   Sonic Pi and LMMS samples by name prefix and folder; GM sound fonts by playing every
   key of every GM/GS percussion preset, and one note (middle C) of every melodic preset
   as ``other``, with fluidsynth (:mod:`soundfont` says why fluidsynth and not the raw
   samples) into ``CACHE/renders``. A file whose name does not say one family is left out.
3. Drop what ``DATASETS/exclude-debian.csv`` lists (whole kits, files by sha1, renders by
   program and key), and exact and near duplicates of decoded audio (:mod:`dedupe`) within
   the new data and against ``DATASETS/dev`` and ``DATASETS/train`` (which always win).
4. Write ``CACHE/manifest.csv`` and ``CACHE/labels.csv`` (paths relative to ``CACHE``, the
   columns of ``../shared/datasets`` plus ``package, version, kit, sound``) and
   ``CACHE/left-out.csv`` (every file not used, and why).

``group`` is the unit of cross-validation folds: a Hydrogen kit, a sample pack's drums or
its other sounds, a font family's drum kits or its melodic presets (FluidR3 GM, FluidR3
Mono, MuseScore General and FluidR3 GS share their samples, so they are one family).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dedupe
import gus
import lmms_presets
import soundfont
from drum_labels import (
    MARCHING_PRESET,
    gm_drum_family,
    gm_melodic_family,
    hydrogen_family,
    lmms_preset_family,
    marching_family,
    sample_family,
)

#: Packages of the pool, in the order their files are kept when they repeat each other.
PACKAGES = (
    "hydrogen-drumkits", "hydrogen-data", "hydrogen-drumkits-effects", "sonic-pi-samples", "lmms-common",
    "fluid-soundfont-gm", "fluid-soundfont-gs", "musescore-general-soundfont", "fluidr3mono-gm-soundfont",
    "timgm6mb-soundfont", "opl3-soundfont", "csound-soundfont", "minuet-data", "denemo-data", "freepats",
)  # fmt: skip
#: Packages that never enter the pool: avldrums.lv2 holds the same recordings as a collection we measure on.
REFUSED = frozenset({"avldrums.lv2"})
#: Sound-font families (the unit of folds) by font file stem: fonts that share samples are one.
FONT_FAMILY = {
    "FluidR3_GM": "fluidr3", "FluidR3_GS": "fluidr3", "FluidR3Mono_GM": "fluidr3", "MuseScore_General_Full": "fluidr3",
    "TimGM6mb": "timgm6mb", "OPL-3_FM_128M": "opl3", "sf_GMbank": "csound", "GeneralUser-v1.47": "generaluser",
    "A320U": "timgm6mb",  # 228 of its 565 labelled renders repeat TimGM6mb's (GeneralUser: 32 of 619)
}  # fmt: skip
#: Keys played on every percussion preset, and the note of every melodic preset.
DRUM_KEYS, MELODIC_KEY = range(27, 88), 60
#: Families with fewest sounds (below 100 with dev + train at velocity 100 alone): their
#: GM keys are also played at these velocities.
LAYERED, LAYER_VELOCITIES = frozenset({"clap", "rim", "hihat_open"}), (50, 127)
#: Notes per fluidsynth run (a run holds its whole render in memory: 200 notes are 210 MB).
BATCH = 200
MANIFEST = ("relative_path", "label", "source_repo", "source_commit", "source_path", "group", "rule", "format", "sample_rate", "channels",
            "bits", "frames", "duration_s", "bytes", "sha1", "package", "version", "kit", "sound")  # fmt: skip
AUDIO = (".wav", ".flac", ".ogg", ".aif", ".aiff")


@dataclass(frozen=True)
class Item:
    """A candidate one-shot: where it is, what it is, and where it comes from."""

    path: Path
    label: str | None
    package: str
    version: str
    source_path: str
    group: str
    kit: str
    sound: str
    rule: str


def run(command: list[str], cwd: Path | None = None) -> str:
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def candidate_version(package: str) -> str:
    """The version ``apt-cache policy`` would install (``apt-get update`` first when apt knows none)."""
    found = re.search(r"Candidate:\s*(\S+)", run(["apt-cache", "policy", package]))
    if not found or found.group(1) == "(none)":
        raise SystemExit(f"{package}: apt knows no version of it (run apt-get update)")
    return found.group(1)


def fetch(package: str, cache: Path) -> tuple[Path, str]:
    """Download and extract ``package`` at its pinned version; its extracted root and version."""
    if package in REFUSED:
        raise SystemExit(f"{package}: refused (the same recordings as a collection we measure on)")
    version = candidate_version(package)
    debs, root = cache / "debs", cache / "extracted" / package
    debs.mkdir(parents=True, exist_ok=True)
    deb = next((d for d in sorted(debs.glob(f"{package}_*.deb")) if run(["dpkg-deb", "-f", str(d), "Version"]).strip() == version), None)
    if deb is None:
        run(["apt-get", "download", f"{package}={version}"], cwd=debs)
        deb = next(d for d in sorted(debs.glob(f"{package}_*.deb")) if run(["dpkg-deb", "-f", str(d), "Version"]).strip() == version)
    stamp = root / ".version"
    if not stamp.exists() or stamp.read_text() != version:
        run(["rm", "-rf", str(root)])
        root.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(deb), str(root)])
        stamp.write_text(version)
    return root, version


# --- candidates per kind of package ---------------------------------------------------------


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def hydrogen_items(root: Path, package: str, version: str) -> list[Item]:
    items = []
    for xml in sorted(root.glob("usr/share/hydrogen/data/drumkits/*/drumkit.xml")):
        kit = xml.parent.name
        for instrument in (e for e in ET.parse(xml).getroot().iter() if _tag(e) == "instrument"):
            name = next((c.text or "" for c in instrument if _tag(c) == "name"), "").strip()
            files = sorted({(f.text or "").strip() for f in instrument.iter() if _tag(f) == "filename"} - {""})
            label = hydrogen_family(name, kit=kit)
            for file in files:
                path = xml.parent / file
                items.append(
                    Item(
                        path,
                        label,
                        package,
                        version,
                        str(path.relative_to(root)),
                        f"hydrogen:{kit}",
                        kit,
                        f"{kit}/{name}",
                        f"hydrogen:{name!r}",
                    )
                )
    return items


def sample_items(root: Path, package: str, version: str) -> list[Item]:
    base = root / {"sonic-pi-samples": "usr/share/sonic-pi/samples", "lmms-common": "usr/share/lmms/samples"}[package]
    items = []
    for path in sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO):
        inside = str(path.relative_to(base))
        label = sample_family(package, inside)
        short = package.split("-")[0]
        if package == "sonic-pi-samples":
            prefix = path.name.split("_", 1)[0]
            kit = f"sonic-pi:{prefix}"
            group = "sonic-pi:tabla" if prefix == "tabla" else "sonic-pi:other" if label == "other" else "sonic-pi:drums"
        else:
            folder = inside.split("/", 1)[0]
            kit, group = f"lmms:{folder}", ("lmms:drums" if folder == "drums" else "lmms:other")
        items.append(Item(path, label, package, version, str(path.relative_to(root)), group, kit, f"{short}:{inside}", f"{short}:{inside}"))
    return items


def _render_once(out: Path, tag: str, write: Callable[[], None]) -> None:
    """Run ``write`` into an emptied ``out`` unless ``out`` holds its renders, made with ``tag``, already."""
    stamp = out / ".rendered"
    if stamp.exists() and stamp.read_text() == tag:
        return
    out.mkdir(parents=True, exist_ok=True)
    for p in out.glob("*.flac"):
        p.unlink()
    write()
    stamp.write_text(tag)


def _render_all(font: Path, notes: list[soundfont.Note], paths: list[Path], out: Path, tag: str) -> None:
    """Render ``notes`` of ``font`` into ``paths`` unless ``out`` holds them, rendered with ``tag``, already.

    The tag names the notes too (a digest of the file names): a new table renders anew.
    """
    tag = f"{tag} notes {hashlib.sha1(' '.join(p.name for p in paths).encode()).hexdigest()[:12]}"

    def write() -> None:
        for start in range(0, len(notes), BATCH):
            print(f"  rendering {out.name}: notes {start + 1}-{min(start + BATCH, len(notes))} of {len(notes)}", flush=True)
            for path, audio in zip(paths[start : start + BATCH], soundfont.render(font, notes[start : start + BATCH])):
                if audio is not None:
                    sf.write(path, audio, soundfont.RATE, subtype="PCM_24")

    _render_once(out, tag, write)


def lmms_preset_items(root: Path, package: str, version: str, cache: Path) -> list[Item]:
    """Renders of the labelled DrumSynth and Kicker presets of lmms-common (:mod:`lmms_presets`; rendered once, then reused)."""
    base = root / "usr/share/lmms"
    files = sorted([*base.glob("samples/drumsynth/*/*.ds"), *base.glob("presets/Kicker/*.xpf")])
    presets = [(p, lmms_preset_family(str(p.relative_to(base)))) for p in files]
    out = cache / "renders" / "lmms-presets"
    lmms = run(["lmms", "--allowroot", "--version"]).split("\n")[0].split()[-1]
    paths = {p: out / f"{p.parent.name}--{p.stem.replace(' ', '_')}.flac" for p, _ in presets}

    def write() -> None:
        shim = lmms_presets.seed_shim(cache / "tools")
        for preset, label in presets:
            audio = lmms_presets.render(preset, shim=shim) if label is not None else None
            if audio is not None:
                sf.write(paths[preset], audio, soundfont.RATE, subtype="PCM_24")

    _render_once(out, f"{version} lmms {lmms}", write)
    items = []
    for preset, label in presets:
        inside = str(preset.relative_to(base))
        kit = f"lmms:{preset.parent.parent.name}/{preset.parent.name}"  # lmms:drumsynth/tr808, lmms:presets/Kicker
        item = Item(paths[preset], label, package, version, str(preset.relative_to(root)), "lmms:synth-presets", kit,
                    f"lmms:{inside}", f"lmms:{inside} lmms {lmms}")  # fmt: skip
        items.append(item if label is None or item.path.exists() else replace(item, label=None, rule="silent render"))
    return items


def freepats_items(root: Path, package: str, version: str, cache: Path) -> list[Item]:
    """The drum patches of freepats (``Drum_000/NNN_*.pat``, NNN the GM key) by the GM drum map, decoded once (:mod:`gus`)."""
    patches = sorted(root.glob("usr/share/midi/freepats/Drum_000/*.pat"))
    out = cache / "renders" / "freepats"

    def write() -> None:
        for patch in patches:
            audio, rate = gus.read_patch(patch.read_bytes(), key=int(patch.name[:3]))
            sf.write(out / f"{patch.stem}.flac", audio, rate, subtype="PCM_16")

    _render_once(out, version, write)
    return [
        Item(out / f"{patch.stem}.flac", gm_drum_family(int(patch.name[:3]), program=0), package, version,
             str(patch.relative_to(root)), "freepats:drums", "freepats:Drum_000", f"freepats:{patch.name}", f"freepats: GM key {int(patch.name[:3])}")
        for patch in patches
    ]  # fmt: skip


def font_items(root: Path, package: str, version: str, cache: Path) -> list[Item]:
    """Renders of every labelled key of the font(s) in ``package`` (rendered once, then reused).

    Every key is played at velocity 100; keys of the scarce families (:data:`LAYERED`) also
    at :data:`LAYER_VELOCITIES`, as velocity layers of one sound (a font may pick another
    sample by velocity; where it only scales one, the layers are near duplicates and dropped).
    """
    fluidsynth = run(["fluidsynth", "--version"]).split("\n")[0].split()[-1]
    tag = f"{version} fluidsynth {fluidsynth}"
    items: list[Item] = []
    for font in sorted(p for p in root.rglob("*") if p.suffix in (".sf2", ".sf3") and not p.is_symlink()):
        family = FONT_FAMILY.get(font.stem, font.stem)
        specs = []  # (note, label, kit, kind, what)
        for preset in soundfont.presets(font):
            if preset.bank == 128:
                marching = MARCHING_PRESET.search(preset.name) is not None
                samples = soundfont.key_samples(font, bank=128, program=preset.program, keys=range(128)) if marching else {}
                for key in sorted(samples) if marching else DRUM_KEYS:
                    label = marching_family(samples[key]) if marching else gm_drum_family(key, program=preset.program, name=preset.name)
                    what = f"drum program {preset.program} ({preset.name}), key {key}"
                    specs.append(
                        (soundfont.Note(preset.program, key, True), label, f"{font.stem} {preset.program} {preset.name}", "drums", what)
                    )
            elif preset.bank == 0:
                label = gm_melodic_family(preset.program)
                what = f"melodic program {preset.program} ({preset.name}), key {MELODIC_KEY}"
                specs.append(
                    (
                        soundfont.Note(preset.program, MELODIC_KEY, False),
                        label,
                        f"{font.stem} melodic {preset.program} {preset.name}",
                        "melodic",
                        what,
                    )
                )
        layers = [
            (replace(n, velocity=v), label, kit, kind, f"{what}, velocity {v}")
            for n, label, kit, kind, what in specs
            if label in LAYERED
            for v in LAYER_VELOCITIES
        ]
        for folder, todo in ((font.stem, specs), (f"{font.stem}-layers", layers)):
            out = cache / "renders" / folder
            wanted = [s for s in todo if s[1] is not None]
            paths = [out / f"b{128 if n.drums else 0:03d}-p{n.program:03d}-k{n.key:03d}-v{n.velocity:03d}.flac" for n, *_ in wanted]
            _render_all(font, [s[0] for s in wanted], paths, out, tag)
            for note, label, kit, kind, what in todo:
                path = out / f"b{128 if note.drums else 0:03d}-p{note.program:03d}-k{note.key:03d}-v{note.velocity:03d}.flac"
                sound = f"{font.stem}:{128 if note.drums else 0}:{note.program}:{note.key}"
                item = Item(
                    path,
                    label,
                    package,
                    version,
                    f"{font.relative_to(root)} {what}",
                    f"sf:{family}:{kind}",
                    kit,
                    sound,
                    f"{what} fluidsynth {fluidsynth}",
                )
                items.append(item if label is None or path.exists() else replace(item, label=None, rule="silent render"))
    return items


# --- exclusions, duplicates, output -----------------------------------------------------------


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def excluded(items: list[Item], exclude_csv: Path) -> dict[int, str]:
    """Rows of ``items`` that ``exclude_csv`` lists, with its reason."""
    with open(exclude_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for i, item in enumerate(items):
        for row in rows:
            if row["package"] != item.package:
                continue
            where = row["path_in_package"]
            render = re.match(r"drum program (\d+) \(.*\), key (\d+)$", where)
            hit = (
                (
                    render is not None
                    and f"drum program {render.group(1)} (" in item.source_path
                    and item.source_path.endswith(f", key {render.group(2)}")
                )
                or (where.endswith("/") and item.source_path.startswith(where))
                or (bool(row["sha1"]) and item.path.exists() and row["sha1"] == sha1(item.path))
                or item.source_path == where
            )
            if hit:
                out[i] = f"exclude-debian.csv: {row['what']}"
                break
    return out


def old_pool(datasets: Path) -> list[Path]:
    paths = []
    for name in ("dev", "train"):
        with open(datasets / name / "manifest.csv", newline="", encoding="utf-8") as f:
            paths += [datasets / name / row["relative_path"] for row in csv.DictReader(f)]
    return sorted(paths)


def file_info(path: Path) -> dict[str, str]:
    info = sf.info(str(path))
    bits = {"PCM_16": "16", "PCM_24": "24", "PCM_32": "32", "FLOAT": "32", "DOUBLE": "64", "PCM_U8": "8", "PCM_S8": "8"}.get(
        info.subtype, ""
    )
    return {
        "format": info.format, "sample_rate": str(info.samplerate), "channels": str(info.channels), "bits": bits,
        "frames": str(info.frames), "duration_s": f"{info.frames / info.samplerate:.4g}", "bytes": str(path.stat().st_size), "sha1": sha1(path),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache" / "tidalsort-drums",
        help="where packages, renders and the manifest go (outside the repository)",
    )
    parser.add_argument(
        "--datasets",
        type=Path,
        default=Path(__file__).resolve().parents[3] / "shared" / "datasets",
        help="folder with dev/, train/ and exclude-debian.csv",
    )
    parser.add_argument("--packages", default=",".join(PACKAGES), help="comma-separated packages (default: all of the pool)")
    args = parser.parse_args(argv)
    cache = args.cache.expanduser().resolve()
    if Path(__file__).resolve().parents[2] in [cache, *cache.parents]:
        raise SystemExit(f"{cache}: inside the repository; audio never goes there")
    items: list[Item] = []
    synthesised: list[Item] = []  # after every package's recorded or font sounds, which win their duplicates
    for package in args.packages.split(","):
        root, version = fetch(package, cache)
        print(f"{package} {version}", flush=True)
        if package.startswith("hydrogen"):
            items += hydrogen_items(root, package, version)
        elif package in ("sonic-pi-samples", "lmms-common"):
            items += sample_items(root, package, version)
            synthesised += lmms_preset_items(root, package, version, cache) if package == "lmms-common" else []
        elif package == "freepats":
            items += freepats_items(root, package, version, cache)
        else:
            items += font_items(root, package, version, cache)
    items += synthesised
    left_out: dict[int, str] = {i: "no single family: " + it.rule for i, it in enumerate(items) if it.label is None}
    for i, reason in excluded(items, args.datasets / "exclude-debian.csv").items():
        left_out.setdefault(i, reason)
    old = old_pool(args.datasets)
    print(f"{len(items) - len(left_out)} labelled candidates; fingerprinting them and {len(old)} files of dev + train", flush=True)
    prints = [dedupe.read_print(p) for p in old]
    labelled = []
    for i in range(len(items)):
        if i in left_out:
            continue
        try:
            prints.append(dedupe.read_print(items[i].path))
            labelled.append(i)
        except (OSError, RuntimeError) as error:  # a drumkit.xml may name a file the package does not ship
            left_out[i] = f"unreadable: {str(error).splitlines()[0]}"
    names = [str(p.relative_to(args.datasets)) for p in old] + [str(items[i].path.relative_to(cache)) for i in labelled]
    for d in dedupe.duplicates(prints, keep=len(old)):
        kind = "exact" if d.exact else f"near (r={d.score:.3f})"
        left_out[labelled[d.row - len(old)]] = f"{kind} duplicate of {'dev+train' if d.of < len(old) else 'new'}:{names[d.of]}"
    kept = [i for i in labelled if i not in left_out]
    with (
        open(cache / "manifest.csv", "w", newline="", encoding="utf-8") as m,
        open(cache / "labels.csv", "w", newline="", encoding="utf-8") as lab,
    ):
        manifest, labels = csv.DictWriter(m, MANIFEST, lineterminator="\n"), csv.writer(lab, lineterminator="\n")
        manifest.writeheader()
        labels.writerow(["relative_path", "label"])
        for i in kept:
            it = items[i]
            rel = str(it.path.relative_to(cache))
            labels.writerow([rel, it.label])
            manifest.writerow({"relative_path": rel, "label": it.label, "source_repo": f"debian:{it.package}", "source_commit": it.version, "source_path": it.source_path,
                               "group": it.group, "rule": it.rule, **file_info(it.path), "package": it.package, "version": it.version, "kit": it.kit, "sound": it.sound})  # fmt: skip
    with open(cache / "left-out.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["package", "source_path", "reason"])
        for i in sorted(left_out):
            writer.writerow([items[i].package, items[i].source_path, left_out[i]])
    reasons = Counter(r.split(":")[0].split(" (")[0] for r in left_out.values())
    families = Counter(items[i].label for i in kept)
    print(
        f"kept {len(kept)} files, {len({items[i].sound for i in kept})} sounds, {len({items[i].kit for i in kept})} kits/presets, {len({items[i].group for i in kept})} fold groups"
    )
    print("per family: " + ", ".join(f"{k} {v}" for k, v in sorted(families.items(), key=lambda kv: -kv[1])))
    print("left out: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    print(f"wrote {cache / 'manifest.csv'}, {cache / 'labels.csv'}, {cache / 'left-out.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
