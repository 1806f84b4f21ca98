"""The offline stand-in: Flickr8K layout, exactly 5 captions, labels, determinism, atomic idempotent ensure()."""

from __future__ import annotations

import csv
import hashlib

import numpy as np
import pytest

from dlcourse.data import flickr8k, standin

N = 60


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("standin")
    return root, standin.ensure(root, n_images=N, seed=3)


def _digest(folder) -> str:
    h = hashlib.md5()
    for p in sorted((folder / "Images").iterdir())[:10]:
        h.update(p.read_bytes())
    h.update((folder / "captions.txt").read_bytes())
    return h.hexdigest()


def test_layout_captions_and_labels(generated):
    root, folder = generated
    assert folder == root / standin.FOLDER_NAME
    layout = flickr8k.find_layout(folder)
    assert layout.kind == "kaggle" and len(list((folder / "Images").glob("*.jpg"))) == N
    with open(folder / "captions.txt", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["image", "caption"] and len(rows) == 1 + 5 * N
    labels = standin.read_labels(folder / "labels.csv")
    assert len(labels) == N and set(labels.values()) <= set(range(10))
    # the whole split machinery of Flickr8K runs on it, every image has exactly 5 distinct captions
    total = 0
    for split in flickr8k.SPLITS:
        data = standin.load(split, root=root, n_images=N, seed=3)
        total += len(data)
        assert data.name == standin.NAME and "NOT Flickr8K" in data.name
        for name, caps, label in zip(data.images, data.captions, data.labels):
            assert len(caps) == 5 and len(set(caps)) == 5
            names = standin.SYNONYMS.get(standin.CLASS_NAMES[label], (standin.CLASS_NAMES[label],))
            assert any(n in c for c in caps for n in names), (name, caps)  # the main item is named
    assert total == N


def test_generation_is_deterministic_and_seed_dependent(generated, tmp_path):
    _, folder = generated
    again = standin.ensure(tmp_path / "a", n_images=N, seed=3)
    other = standin.ensure(tmp_path / "b", n_images=N, seed=4)
    assert _digest(again) == _digest(folder) and _digest(other) != _digest(folder)


def test_ensure_is_idempotent_and_regenerates_when_settings_change(generated, tmp_path):
    root, folder = generated
    stamp = (folder / "captions.txt").stat().st_mtime_ns
    assert standin.ensure(root, n_images=N, seed=3) == folder
    assert (folder / "captions.txt").stat().st_mtime_ns == stamp
    assert standin.is_ready(root, N, 3) and not standin.is_ready(root, N + 1, 3)


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(standin, "render", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        standin.ensure(tmp_path, n_images=20)
    assert list(tmp_path.iterdir()) == []


def test_render_puts_items_where_the_captions_say():
    rng = np.random.default_rng(0)
    scenes = standin._scenes(4, rng)
    scenes["count"][:] = 1
    scenes["size"][:] = 1  # large
    scenes["colour"][:] = list(standin.COLOURS).index("white")
    positions = list(standin.POSITIONS)
    for i, where in enumerate(("left", "right", "top", "bottom")):
        scenes["pos"][i, 0] = positions.index(where)
    items = np.full((4, 3, 28, 28), 255, dtype=np.uint8)
    img = standin.render(scenes, items).astype(float).mean(-1)  # (4, 64, 64)
    half = standin.CANVAS // 2
    assert img[0, :, :half].mean() > 2 * img[0, :, half:].mean()  # left
    assert img[1, :, half:].mean() > 2 * img[1, :, :half].mean()  # right
    assert img[2, :half].mean() > 2 * img[2, half:].mean()  # top
    assert img[3, half:].mean() > 2 * img[3, :half].mean()  # bottom
    assert "on the left" in standin.TEMPLATES[0](scenes, 0) and "white" in standin.TEMPLATES[0](scenes, 0)


def test_items_have_the_requested_class():
    rng = np.random.default_rng(0)
    pool_labels = rng.integers(0, 10, size=500)
    want = rng.integers(0, 10, size=(40, 3))
    assert (pool_labels[standin._pick_items(want, pool_labels, rng)] == want).all()


def test_status_lines_name_it_not_flickr8k():
    assert all("NOT Flickr8K" in line for line in standin.status_lines())
