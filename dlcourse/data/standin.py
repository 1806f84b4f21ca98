"""An offline stand-in for Flickr8K (Problem 2): captioned scenes made of real FashionMNIST images.

It is **not Flickr8K** and every run that uses it says so. It exists because Flickr8K and pretrained
weights cannot be downloaded everywhere (CI, the book build), while the whole CLIP pipeline should
still run on captioned images where words carry real visual content.

Each scene is a 64x64 RGB canvas with 1-3 FashionMNIST items (real photos of clothing, from the
train set for training scenes and the test set for dev/test scenes) at distinct positions
(left/right/top/bottom/center), each small or large and tinted with a named colour. Every image gets
exactly 5 captions drawn from 7 templates that mention the items with their colour, size, position and
synonyms ("a small red sneaker on the left", "two items: a blue bag and a white coat."). The class of
the first (main) item is the label used for zero-shot classification.

It is written in the Kaggle Flickr8K layout (``Images/*.jpg`` + ``captions.txt``) plus ``labels.csv``
(image, label, class name), so :func:`dlcourse.data.flickr8k.load` and the training code read it
exactly like Flickr8K; its image names are not Flickr8K's, so it gets the hash split
(:func:`dlcourse.data.flickr8k.split_of`), not the standard lists.
Generation is vectorised (a few seconds for 8000 images) and atomic (temp folder, then rename).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dlcourse.data import flickr8k
from dlcourse.data.paths import data_root
from dlcourse.io import write_json_atomic

NAME = "offline stand-in (FashionMNIST scenes, NOT Flickr8K)"
FOLDER_NAME = "clip-standin"
VERSION = 1
N_IMAGES = 8000
CANVAS = 64
SEED = 0

#: Class names as captions say them (zero-shot classifies into these), and synonyms captions also use.
CLASS_NAMES = ("t-shirt", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
SYNONYMS = {"t-shirt": ("t-shirt", "top", "tee"), "trousers": ("trousers", "pants"),
            "pullover": ("pullover", "sweater"), "sneaker": ("sneaker", "trainer"), "bag": ("bag", "handbag"),
            "ankle boot": ("ankle boot", "boot")}
PLURALS = {"trousers", "pants"}
COLOURS = {"red": (225, 40, 40), "green": (40, 190, 70), "blue": (60, 100, 240), "yellow": (235, 215, 40),
           "orange": (245, 140, 30), "purple": (160, 70, 215), "pink": (245, 125, 190), "white": (240, 240, 240)}
POSITIONS = {"left": (0.27, 0.5), "right": (0.73, 0.5), "top": (0.5, 0.27), "bottom": (0.5, 0.73),
             "center": (0.5, 0.5)}  # item centres as fractions of the canvas (x, y)
POSITION_PHRASES = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom",
                    "center": "in the center"}
SIZES = {"small": 0.36, "large": 0.56}  # item side as a fraction of the canvas
COUNT_WORDS = ("one", "two", "three")


def folder(root: Path | None = None) -> Path:
    """``<data root>/clip-standin``."""
    return (root or data_root()) / FOLDER_NAME


def _manifest(n_images: int, seed: int) -> dict:
    return {"name": NAME, "version": VERSION, "n_images": n_images, "seed": seed, "canvas": CANVAS,
            "source": "FashionMNIST (train items for train scenes, test items for dev/test scenes)"}


def is_ready(root: Path | None = None, n_images: int = N_IMAGES, seed: int = SEED) -> bool:
    """True when the stand-in exists with this version, size and seed."""
    try:
        found = json.loads((folder(root) / "standin.json").read_text())
    except (OSError, ValueError):
        return False
    return found == _manifest(n_images, seed)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


# ----------------------------------------------------------------------------- scenes


def _scenes(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random scene layouts: ``(n, 3)`` classes, positions, sizes, colours, and ``(n,)`` item counts."""
    count = rng.choice([1, 2, 3], size=n, p=[0.4, 0.35, 0.25])
    positions = np.argsort(rng.random((n, len(POSITIONS))), axis=1)[:, :3]  # 3 distinct positions per scene
    return {
        "count": count,
        "cls": rng.integers(0, len(CLASS_NAMES), size=(n, 3)),
        "pos": positions,
        "size": rng.integers(0, len(SIZES), size=(n, 3)),
        "colour": rng.integers(0, len(COLOURS), size=(n, 3)),
        "synonym": rng.integers(0, 6, size=(n, 3)),
        "templates": np.argsort(rng.random((n, len(TEMPLATES))), axis=1)[:, :flickr8k.CAPTIONS_PER_IMAGE],
    }


def _pick_items(cls: np.ndarray, pool_labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each requested class in ``cls`` (any shape), the index of a random pool image of that class."""
    order = np.argsort(pool_labels, kind="stable")
    starts = np.searchsorted(pool_labels[order], np.arange(len(CLASS_NAMES)))
    counts = np.bincount(pool_labels, minlength=len(CLASS_NAMES))
    offset = (rng.random(cls.shape) * counts[cls]).astype(np.int64)
    return order[starts[cls] + offset]


def render(scenes: dict[str, np.ndarray], items: np.ndarray, seed: int = 0, chunk: int = 1024) -> np.ndarray:
    """Compose the canvases: ``items`` ``(n, 3, 28, 28)`` uint8 -> images ``(n, 64, 64, 3)`` uint8.

    Vectorised over scenes (in chunks, to bound memory): one batched resize per size and one
    paste per (item slot, position, size) group; items are tinted and composited with ``max`` over a
    dark, slightly noisy background.
    """
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    colours = torch.tensor(list(COLOURS.values()), dtype=torch.float32)  # (8, 3)
    out = np.empty((len(items), CANVAS, CANVAS, 3), dtype=np.uint8)
    for start in range(0, len(items), chunk):
        sl = slice(start, start + chunk)
        sc = {k: v[sl] for k, v in scenes.items()}
        n = len(sc["count"])
        canvas = torch.randint(0, 40, (n, 1, 1, 1), generator=g) + 4 * torch.randn(n, 3, CANVAS, CANVAS, generator=g)
        flat = torch.from_numpy(items[sl]).float().reshape(n * 3, 1, 28, 28) / 255.0
        resized = {s: F.interpolate(flat, size=(round(frac * CANVAS),) * 2, mode="bilinear", antialias=True,
                                    align_corners=False).reshape(n, 3, round(frac * CANVAS), -1)
                   for s, frac in enumerate(SIZES.values())}
        for slot in range(3):
            layer = torch.zeros(n, CANVAS, CANVAS)  # this slot's item intensity, placed on the canvas
            for (s, side), (p, (cx, cy)) in itertools.product(((s, r.shape[-1]) for s, r in resized.items()),
                                                              enumerate(POSITIONS.values())):
                idx = torch.from_numpy(np.flatnonzero((sc["count"] > slot) & (sc["pos"][:, slot] == p)
                                                      & (sc["size"][:, slot] == s)))
                # centred on the position, shifted inside the canvas where a large item would stick out
                x0 = min(max(round(cx * CANVAS - side / 2), 0), CANVAS - side)
                y0 = min(max(round(cy * CANVAS - side / 2), 0), CANVAS - side)
                layer[idx, y0:y0 + side, x0:x0 + side] = resized[s][idx, slot]
            tint = colours[torch.from_numpy(sc["colour"][:, slot])][:, :, None, None]  # (n, 3, 1, 1)
            canvas = torch.maximum(canvas, layer[:, None] * tint)
        out[sl] = canvas.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


# ----------------------------------------------------------------------------- captions


def _item(scenes: dict, i: int, k: int, *, size: bool = True, colour: bool = True) -> str:
    """Noun phrase for item ``k`` of scene ``i``: ``"a small red sneaker"``."""
    base = CLASS_NAMES[scenes["cls"][i, k]]
    syn = SYNONYMS.get(base, (base,))
    words = []
    if size:
        words.append(list(SIZES)[scenes["size"][i, k]])
    if colour:
        words.append(list(COLOURS)[scenes["colour"][i, k]])
    noun = syn[scenes["synonym"][i, k] % len(syn)]
    phrase = " ".join([*words, noun])
    if noun in PLURALS:  # "a pair of small red trousers", not "a small red trousers"
        return f"a pair of {phrase}"
    return f"{_article(phrase)} {phrase}"


def _where(scenes: dict, i: int, k: int) -> str:
    return POSITION_PHRASES[list(POSITIONS)[scenes["pos"][i, k]]]


def _others(scenes: dict, i: int, **kw) -> list[str]:
    return [_item(scenes, i, k, **kw) for k in range(1, scenes["count"][i])]


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


TEMPLATES = (
    lambda s, i: f"{_item(s, i, 0)} {_where(s, i, 0)}.",
    lambda s, i: "a picture of " + _join([_item(s, i, 0, size=False)] + _others(s, i, size=False)) + ".",
    lambda s, i: f"{COUNT_WORDS[s['count'][i] - 1]} item{'s' if s['count'][i] > 1 else ''}: "
                 + _join([_item(s, i, k, size=False) for k in range(s["count"][i])]) + ".",
    lambda s, i: f"there is {_item(s, i, 0, colour=False)} {_where(s, i, 0)} of the image.",
    lambda s, i: (f"{_item(s, i, 0)} next to {_item(s, i, 1)}." if s["count"][i] > 1
                  else f"{_item(s, i, 0)} alone on a dark background."),
    lambda s, i: " and ".join(f"{_item(s, i, k, size=False)} {_where(s, i, k)}" for k in range(s["count"][i])) + ".",
    lambda s, i: f"a photo of {_item(s, i, 0, size=False, colour=False)} in {list(COLOURS)[s['colour'][i, 0]]}.",
)


def captions_for(scenes: dict, i: int) -> list[str]:
    """The 5 captions of scene ``i`` (5 distinct templates chosen per scene)."""
    return [TEMPLATES[t](scenes, i) for t in scenes["templates"][i]]


# ----------------------------------------------------------------------------- generation


def generate(out: Path, n_images: int = N_IMAGES, seed: int = SEED) -> None:
    """Write the stand-in into the (new, empty) folder ``out``; see the module docstring."""
    from PIL import Image
    from torchvision.datasets import FashionMNIST

    from dlcourse.data import fashion_mnist

    rng = np.random.default_rng(seed)
    ids = [f"standin_{i:05d}" for i in range(n_images)]
    scenes = _scenes(n_images, rng)
    is_train = np.array([flickr8k.split_of(i) == "train" for i in ids])
    items = np.empty((n_images, 3, 28, 28), dtype=np.uint8)
    fm_root = fashion_mnist.ensure()
    for train, mask in ((True, is_train), (False, ~is_train)):  # no item is shared by train and test scenes
        ds = FashionMNIST(str(fm_root), train=train, download=False)
        pool, labels = ds.data.numpy(), ds.targets.numpy()
        items[mask] = pool[_pick_items(scenes["cls"][mask], labels, rng)]
    images = render(scenes, items, seed)
    (out / "Images").mkdir(parents=True)
    rows = []
    for i, name in enumerate(ids):
        buf = io.BytesIO()
        Image.fromarray(images[i]).save(buf, format="JPEG", quality=92)
        (out / "Images" / f"{name}.jpg").write_bytes(buf.getvalue())
        rows += [(f"{name}.jpg", c) for c in captions_for(scenes, i)]
    with open(out / flickr8k.KAGGLE_CAPTIONS, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "caption"])
        w.writerows(rows)
    with open(out / "labels.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "label", "class_name"])
        w.writerows((f"{name}.jpg", int(c), CLASS_NAMES[c]) for name, c in zip(ids, scenes["cls"][:, 0]))
    (out / "README.txt").write_text(
        f"{NAME}\nGenerated by dlcourse.data.standin from FashionMNIST; see that module's docstring.\n")
    write_json_atomic(out / "standin.json", _manifest(n_images, seed))


def ensure(root: Path | None = None, *, n_images: int = N_IMAGES, seed: int = SEED, verbose: bool = False) -> Path:
    """Generate the stand-in unless it is already there (idempotent); return its folder.

    Written into a temporary folder beside the target and renamed into place, so an interrupted
    generation never leaves a half-written data set.
    """
    target = folder(root)
    if is_ready(root, n_images, seed):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if verbose:
        print(f"Generating the {NAME}: {n_images} images ...", flush=True)
    work = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-", dir=target.parent))
    try:
        generate(work / "new", n_images, seed)
        if target.exists():
            os.replace(target, work / "previous")
        os.replace(work / "new", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if verbose:
        print(f"Stand-in ready in {target}", flush=True)
    return target


def read_labels(path: Path) -> dict[str, int]:
    """``labels.csv`` -> ``{image file name: class index}``."""
    with open(path, encoding="utf-8", newline="") as f:
        return {row["image"]: int(row["label"]) for row in csv.DictReader(f)}


def load(split: str = "train", limit: int | None = None, root: Path | None = None, *, n_images: int = N_IMAGES,
         seed: int = SEED) -> flickr8k.CaptionedImages:
    """One split of the stand-in (generated first if needed), with labels and class names."""
    path = ensure(root, n_images=n_images, seed=seed)
    data = flickr8k.load(split, folder=path, limit=limit, name=NAME)
    labels = read_labels(path / "labels.csv")
    data.labels = [labels[n] for n in data.images]
    data.class_names = CLASS_NAMES
    return data


def status_lines() -> list[str]:
    """Lines for ``dlcourse data status``."""
    path = folder()
    if is_ready():
        return [f"Offline stand-in (NOT Flickr8K) {path}: ok ({N_IMAGES} images)"]
    state = "outdated (regenerate)" if path.exists() else "missing"
    return [f"Offline stand-in (NOT Flickr8K) {path}: {state} (`dlcourse data fetch standin`, takes seconds)"]


__all__ = ["CLASS_NAMES", "NAME", "captions_for", "ensure", "folder", "generate", "is_ready", "load", "render",
           "status_lines"]
