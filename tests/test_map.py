"""tidalsort map: the layout and its cache, the page's data, previews, pictures, the command."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf
from conftest import tone, tree_hashes, write
from sklearn.manifold import trustworthiness

from tidalsort.analysis.features import FeatureSettings
from tidalsort.cli import main
from tidalsort.demo import make_kit
from tidalsort.organise.scaling import Scaler
from tidalsort.output.colours import (
    CLUSTER_COLOURS,
    FAMILIES,
    FAMILY_COLOURS,
    sample_groups,
)
from tidalsort.output.entry import Bank
from tidalsort.output.index import BankIndex
from tidalsort.output.manifest import load
from tidalsort.soundmap.layout import (
    cached_layout,
    embed,
    lay_out,
    layout_path,
    unit_square,
)
from tidalsort.soundmap.page import page_data
from tidalsort.soundmap.pictures import draw_heatmap, draw_map
from tidalsort.soundmap.previews import PREVIEW_SECONDS, preview_folder

MAP_FILES = ("demo-map.html", "demo-map.js", "demo-map.png", "demo-heatmap.png")


def blobs(per_blob: int = 30, seed: int = 0, groups: int = 3, spread: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """``groups`` groups of points in 12 dimensions (centres drawn with standard deviation
    ``spread``, points with 1 around them), and each point's group."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (groups, 12))
    labels = np.repeat(np.arange(groups), per_blob)
    return centres[labels] + rng.normal(0, 1, (len(labels), 12)), labels


def read_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    prefix = "window.TIDALSORT_MAP = "
    assert text.startswith(prefix) and text.rstrip().endswith(";")
    return json.loads(text[len(prefix) :].rstrip().rstrip(";"))


def nearest_on_map(xy: np.ndarray) -> np.ndarray:
    """Every point's nearest other point on the map."""
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1) + np.eye(len(xy)) * 9
    return d.argmin(axis=1)


def test_layout_keeps_groups_together_inside_the_unit_square() -> None:
    X, labels = blobs()
    xy = embed(X)
    assert xy.shape == (90, 2) and xy.min() >= 0 and xy.max() <= 1
    assert np.array_equal(xy, embed(X))  # fixed seed
    assert (labels[nearest_on_map(xy)] == labels).all()  # every point's nearest neighbour on the map is of its group


def test_samples_placed_among_landmarks_keep_their_neighbours_near() -> None:
    """A bank larger than the t-SNE's landmarks: 40 of 600 samples laid out, the rest placed."""
    X, labels = blobs(100, groups=6, spread=3.0)
    layout = lay_out(X, landmarks=40)
    assert layout.landmark.sum() == 40 and np.isfinite(layout.xy).all()
    xy = embed(X, landmarks=40)
    assert np.array_equal(xy, embed(X, landmarks=40))  # fixed seed
    assert (labels[nearest_on_map(xy)] == labels).all()
    # the map's nearest neighbours are near in the features too (a random map scores 0.51,
    # every placed sample put on one spot 0.69; all 600 samples laid out by t-SNE 0.98)
    assert trustworthiness(X, xy, n_neighbors=5) > 0.9


@pytest.mark.parametrize("n", [1, 2, 5])
def test_tiny_banks_get_a_map(n: int) -> None:
    xy = embed(np.arange(n * 3, dtype=float).reshape(n, 3))
    assert xy.shape == (n, 2) and np.isfinite(xy).all() and xy.min() >= 0 and xy.max() <= 1


def bank_index(features: np.ndarray) -> BankIndex:
    return BankIndex(features, Scaler("standard", [("all", features.shape[1])]).fit(features))


def test_layout_is_cached_by_content_whatever_the_order(tmp_path: Path) -> None:
    X, _ = blobs(10)
    (tmp_path / ".tidalsort").mkdir()
    first, cached = cached_layout(tmp_path, "b", bank_index(X))
    assert not cached and layout_path(tmp_path, "b").is_file()
    again, cached = cached_layout(tmp_path, "b", bank_index(X))
    assert cached and np.array_equal(again, first)
    order = np.random.default_rng(1).permutation(len(X))  # the same sounds sorted into another order
    permuted, cached = cached_layout(tmp_path, "b", bank_index(X[order]))
    assert cached and np.array_equal(permuted, first[order])
    fewer, cached = cached_layout(tmp_path, "b", bank_index(X[:-3]))  # samples removed: the others stay
    assert cached and np.allclose(fewer, unit_square(first[:-3]))
    layout_path(tmp_path, "b").write_bytes(b"garbage")
    redone, cached = cached_layout(tmp_path, "b", bank_index(X[order]))
    assert not cached and np.allclose(redone, first[order], atol=1e-6)  # laid out in a canonical order (the scaler's sums in another)


def test_added_samples_are_placed_among_the_others_until_they_are_a_tenth(tmp_path: Path) -> None:
    X, labels = blobs(40, groups=6, spread=3.0)
    order = np.random.default_rng(2).permutation(len(X))
    X, labels = X[order], labels[order]
    (tmp_path / ".tidalsort").mkdir()
    computed = []
    first, _ = cached_layout(tmp_path, "b", bank_index(X[:170]))
    for size in (173, 180):  # 3 added, then 7 more: 10 of 180, at most a tenth
        grown, cached = cached_layout(tmp_path, "b", bank_index(X[:size]), lambda size=size: computed.append(size))
        assert not cached and computed[-1] == size
        # the samples there before keep their places (the map is only scaled again to fit)
        assert np.allclose(unit_square(grown[:170]), first)
        near = nearest_on_map(grown)
        assert (labels[near[170:size]] == labels[170:size]).all()  # the new ones among their own group
        assert cached_layout(tmp_path, "b", bank_index(X[:size]))[1]
    # 20 more: 30 of 200 placed since the whole layout, more than a tenth: laid out anew, whole
    whole, cached = cached_layout(tmp_path, "b", bank_index(X[:200]))
    (tmp_path / "fresh" / ".tidalsort").mkdir(parents=True)
    assert not cached and np.array_equal(whole, cached_layout(tmp_path / "fresh", "b", bank_index(X[:200]))[0])
    assert not np.allclose(unit_square(whole[:170]), first)


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    """The demo kit (WAV, AIFF and FLAC sources) sorted into ``root``, bank ``demo``, no map yet."""
    make_kit(tmp_path / "kit")
    assert main(["sort", str(tmp_path / "kit"), "--out", str(tmp_path / "root"), "--bank", "demo", "--json"]) == 0
    return tmp_path / "root"


def test_map_writes_page_data_and_pictures_beside_the_banks(demo_root: Path, capsys: pytest.CaptureFixture) -> None:
    before = tree_hashes(demo_root / "demo")
    manifest_bytes = (demo_root / "tidalsort.yaml").read_bytes()
    assert not any((demo_root / name).exists() for name in MAP_FILES)
    assert main(["map", str(demo_root)]) == 0  # the root's only bank
    assert "demo-map.html" in capsys.readouterr().err
    assert all((demo_root / name).is_file() for name in MAP_FILES)
    assert tree_hashes(demo_root / "demo") == before and (demo_root / "tidalsort.yaml").read_bytes() == manifest_bytes
    entry = load(demo_root).banks["demo"].to_dict()
    data = read_data(demo_root / "demo-map.js")
    assert data["size"] == len(entry["samples"]) == 36
    assert data["n"] == list(range(36)) and data["file"] == [s["file"] for s in entry["samples"]]
    assert len(data["clusterNames"]) == len(entry["clusters"])
    assert [data["families"][g] for g in data["family"]] == [s["family"] for s in entry["samples"]]
    assert data["confidence"] == [s["confidence"] for s in entry["samples"]]
    page = (demo_root / "demo-map.html").read_text()
    assert '<script src="demo-map.js"></script>' in page and "http" not in page.replace("http(s)", "").replace("https?", "")
    for url, s in zip(data["audio"], entry["samples"]):
        assert not url.startswith("/") and (demo_root / url).is_file()
        if s["file"].endswith(".wav"):
            assert url == f"demo/{s['file']}"  # the bank's own file, by relative path
        else:  # AIFF, which browsers cannot play: a WAV preview of the same sound
            assert url.endswith(".wav") and (demo_root / url).parent == preview_folder(demo_root, "demo")
            own, _ = sf.read(demo_root / "demo" / s["file"], always_2d=True)
            preview, _ = sf.read(demo_root / url, always_2d=True)
            assert len(preview) == min(len(own), int(PREVIEW_SECONDS * sf.info(demo_root / url).samplerate))
            assert np.abs(preview - own[: len(preview)]).max() < 1e-3
    assert any(not s["file"].endswith(".wav") for s in entry["samples"])


def test_map_is_redone_from_the_cache_and_drops_unused_previews(demo_root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["map", str(demo_root), "--bank", "demo"]) == 0
    assert "laying out" in capsys.readouterr().err
    stale = preview_folder(demo_root, "demo") / ("0" * 40 + ".wav")
    stale.write_bytes(b"old")
    xy = read_data(demo_root / "demo-map.js")["x"]
    assert main(["map", str(demo_root), "--bank", "demo"]) == 0
    assert "laying out" not in capsys.readouterr().err
    assert read_data(demo_root / "demo-map.js")["x"] == xy and not stale.exists()


def test_a_sample_added_to_the_library_joins_the_map_without_moving_the_others(demo_root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["map", str(demo_root), "--bank", "demo"]) == 0
    before = read_data(demo_root / "demo-map.js")
    write(demo_root.parent / "kit" / "new" / "ping.wav", tone(1500, 0.3))
    assert main(["sort", str(demo_root.parent / "kit"), "--out", str(demo_root), "--bank", "demo", "--json"]) == 0
    capsys.readouterr()
    assert main(["map", str(demo_root), "--bank", "demo"]) == 0
    assert "laying out" in capsys.readouterr().err
    after = read_data(demo_root / "demo-map.js")
    assert after["size"] == before["size"] + 1
    where = {source: (x, y) for source, x, y in zip(after["source"], after["x"], after["y"])}
    old = np.array([where[source] for source in before["source"]])
    # the samples mapped before keep their places: the map is only scaled again to fit the new one
    assert np.allclose(unit_square(old), np.column_stack([before["x"], before["y"]]), atol=1e-4)


def test_sort_writes_the_map_only_when_asked_and_never_sorts_it_again(tmp_path: Path) -> None:
    make_kit(tmp_path / "kit")
    root = tmp_path / "kit" / "out"  # the output inside the source: its own files are not sources
    assert main(["sort", str(tmp_path / "kit"), "--out", str(root), "--bank", "demo", "--json"]) == 0
    assert not any((root / name).exists() for name in MAP_FILES)
    for _ in range(2):
        assert main(["sort", str(tmp_path / "kit"), "--out", str(root), "--bank", "demo", "--map", "--json"]) == 0
        assert all((root / name).is_file() for name in MAP_FILES)
        entry = load(root).banks["demo"]
        assert len(entry.samples) == 36 and not entry.skipped


def test_open_hands_the_page_to_the_browser(demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = tmp_path / "opened.txt"
    script = write_script(tmp_path / "browser.sh", f'#!/bin/sh\necho "$1" > {opened}\n')
    monkeypatch.setenv("BROWSER", str(script))
    monkeypatch.setattr("webbrowser._tryorder", None)  # read $BROWSER again
    assert main(["map", str(demo_root), "--bank", "demo", "--open"]) == 0
    assert opened.read_text().strip() == (demo_root / "demo-map.html").as_uri()


def write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_map_errors_are_one_line(demo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["map", str(demo_root), "--bank", "nosuch"]) == 1
    assert "no bank 'nosuch'" in capsys.readouterr().err
    write(tmp_path / "other" / "a.wav", np.zeros(100) + 0.1)
    write(tmp_path / "other" / "b.wav", np.linspace(-0.5, 0.5, 4410))
    assert main(["sort", str(tmp_path / "other"), "--out", str(demo_root), "--bank", "other", "--json"]) == 0
    capsys.readouterr()
    assert main(["map", str(demo_root)]) == 1
    assert "several banks (demo, other): choose one with --bank" in capsys.readouterr().err
    (demo_root / ".tidalsort" / "features-other.npz").unlink()
    assert main(["map", str(demo_root), "--bank", "other"]) == 1
    err = capsys.readouterr().err
    assert "has no feature index" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def fake_entry(n: int, families: bool, clusters: int = 12) -> Bank:
    """A manifest entry of ``n`` samples in contiguous clusters, with version-2 families or without."""
    sizes = np.full(clusters, n // clusters)
    sizes[: n % clusters] += 1
    starts = np.concatenate([[0], np.cumsum(sizes)])
    entry = {
        "settings": {"features": "paa+mel", "frames": 2, "method": "ward"},
        "clusters": [
            {
                "id": c,
                "label": f"c{c}",
                "folder": "big",
                "start": int(starts[c]),
                "stop": int(starts[c + 1]),
                "size": int(sizes[c]),
                "representative": int(starts[c]),
            }
            for c in range(clusters)
        ],
        "samples": [
            {
                "folder": "big",
                "n": p,
                "file": f"{p:05d}_s.wav",
                "source": f"/lib/s{p}.wav",
                "cluster": int(np.searchsorted(starts, p, "right") - 1),
                "duration": 0.5,
                "sha1": "0",
            }
            for p in range(n)
        ],
    }
    if families:
        for s in entry["samples"]:
            s["family"], s["confidence"] = FAMILIES[s["cluster"] % len(FAMILIES)], 0.75
        for c in entry["clusters"]:
            c["family"] = FAMILIES[c["id"] % len(FAMILIES)]
    return Bank.from_dict("big", entry)


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255


def has_colour(image: np.ndarray, colour: str) -> bool:
    return bool((np.abs(image[..., :3] - hex_rgb(colour)).max(axis=-1) < 0.02).any())


@pytest.mark.parametrize("n", [500, 5000])
@pytest.mark.parametrize("families", [True, False])
def test_pictures_stay_the_same_size_and_show_families_or_clusters(n: int, families: bool, tmp_path: Path) -> None:
    settings = FeatureSettings()
    width = sum(w for _, w in settings.group_sizes())
    entry = fake_entry(n, families)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(n, width)) + np.array([s.cluster for s in entry.samples])[:, None]
    xy = rng.uniform(size=(n, 2))
    draw_map(entry, xy, "big", tmp_path / "map.png")
    draw_heatmap(entry, features, settings, title="big", path=tmp_path / "heatmap.png")
    for name, most in (("map.png", (1000, 1200)), ("heatmap.png", (1000, 1500))):
        image = matplotlib.image.imread(str(tmp_path / name))
        assert image.shape[0] <= most[0] and image.shape[1] <= most[1]  # the same size at 500 and 5,000 samples
        colours = [FAMILY_COLOURS[f] for f in FAMILIES] if families else CLUSTER_COLOURS[:12]
        assert all(has_colour(image, c) for c in colours)


def test_samples_are_coloured_by_family_where_there_are_families_else_by_cluster() -> None:
    old, new = sample_groups(fake_entry(24, families=False)), sample_groups(fake_entry(24, families=True))
    assert old.kind == "cluster" and old.names[11] == "11 c11" and old.colours[old.of_sample[0]] == CLUSTER_COLOURS[0]
    assert new.kind == "family" and new.names == list(FAMILIES)
    assert new.colours[new.of_sample[0]] == FAMILY_COLOURS["kick"] and new.of_sample[-1] == new.names.index("snare")  # cluster 11


def test_page_data_reads_families_and_confidence_when_the_manifest_has_them() -> None:
    xy = np.full((24, 2), 0.5)
    old = page_data("big", fake_entry(24, families=False), xy, ["a.wav"] * 24)
    assert old["family"] is None and old["confidence"] is None and old["cluster"][-1] == 11
    new = page_data("big", fake_entry(24, families=True), xy, ["a.wav"] * 24)
    assert new["families"] == list(FAMILIES) and [new["families"][f] for f in new["family"][:3]] == ["kick", "kick", "snare"]
    assert new["confidence"] == [0.75] * 24 and new["familyColours"][0] == FAMILY_COLOURS["kick"]


def test_page_script_is_packaged_and_cannot_end_the_script_tag() -> None:
    from importlib.resources import files

    script = (files("tidalsort.soundmap") / "map_page" / "map.js").read_text()
    assert "</script" not in script.lower() and "TIDALSORT_MAP" in script
