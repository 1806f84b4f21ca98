"""CLIP input pipeline (Problem 2): decode once, tokenise once, sample one caption per image.

* Images are decoded, centre-cropped and resized to the training resolution **once** and kept as one
  ``(N, 3, S, S)`` uint8 tensor, cached on disk (``<data root>/cache/clip``, written atomically);
  an epoch then costs no JPEG decoding at all (see ``benchmarks/clip_pipeline.py``).
* Captions are tokenised once into ``(M, L)`` id/mask tensors; with a frozen text encoder their
  features are computed once and cached instead.
* **Batches never contain the same image twice**: every epoch visits each image once, paired with
  one of its captions drawn at random. So the only "negatives" in a batch are other images' captions
  (two different images can still have near-identical captions; the soft-target loss is the
  ablation that tolerates that).
* Flickr8K has no class labels; for zero-shot evaluation :func:`keyword_labels` derives them from the
  captions (see :data:`FLICKR_CLASSES`).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

from dlcourse.data import flickr8k, standin
from dlcourse.data.paths import data_root
from dlcourse.errors import ConfigError
from dlcourse.io import save_torch_atomic

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DATASETS = ("standin", "flickr8k")

#: Zero-shot classes for Flickr8K, derived from captions: an image has class c when at least 3 of its
#: captions contain one of c's keywords and no other class reaches 3. Images without such a clear
#: majority are left out of the zero-shot evaluation.
FLICKR_CLASSES = {
    "dog": ("dog", "dogs", "puppy", "puppies"),
    "bicycle": ("bike", "bikes", "bicycle", "bicycles", "bicyclist", "cyclist", "biker"),
    "horse": ("horse", "horses", "pony"),
    "boat": ("boat", "boats", "kayak", "canoe", "raft", "sailboat"),
    "snow": ("snow", "snowy", "ski", "skier", "skiing", "snowboarder", "snowboard"),
    "beach": ("beach", "ocean", "sand", "sandy", "waves", "surf", "surfer"),
    "ball": ("ball", "soccer", "football", "basketball", "baseball"),
}


def cache_dir() -> Path:
    return data_root() / "cache" / "clip"


def kind_of(dataset: str) -> str:
    """``"standin"`` or ``"flickr8k"``: what a ``--data`` value holds (a folder counts by its content)."""
    if dataset in DATASETS:
        return dataset
    return "standin" if (Path(dataset) / "standin.json").is_file() else "flickr8k"


def load_split(dataset: str, split: str, limit: int | None = None) -> flickr8k.CaptionedImages:
    """A split of ``"standin"``, ``"flickr8k"``, or a folder in the Flickr8K layout, with labels.

    Labels: the stand-in's (``labels.csv``, also read from a folder that has one), else derived from
    the captions by :func:`keyword_labels` (``-1`` = no clear class).
    """
    if dataset == "standin":
        return standin.load(split, limit=limit)
    if dataset == "flickr8k":
        data = flickr8k.load(split, limit=limit)
    else:
        folder = Path(dataset).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"--data {dataset!r} is neither one of {DATASETS} nor a folder in the Flickr8K layout")
        name = standin.NAME if kind_of(dataset) == "standin" else f"captioned images in {folder} (Flickr8K layout)"
        data = flickr8k.load(split, folder=folder, limit=limit, name=name)
        if (folder / "labels.csv").is_file():
            labels = standin.read_labels(folder / "labels.csv")
            data.labels, data.class_names = [labels[n] for n in data.images], standin.CLASS_NAMES
            return data
    data.labels = keyword_labels(data.captions)
    data.class_names = tuple(FLICKR_CLASSES)
    return data


def keyword_labels(captions: list[list[str]], min_votes: int = 3) -> list[int]:
    """Class index per image from its captions (see :data:`FLICKR_CLASSES`), ``-1`` when unclear."""
    labels = []
    for caps in captions:
        votes = []
        for keywords in FLICKR_CLASSES.values():
            kw = set(keywords)
            votes.append(sum(1 for c in caps if kw & set(c.lower().replace(".", " ").replace(",", " ").split())))
        winners = [c for c, v in enumerate(votes) if v >= min_votes]
        labels.append(winners[0] if len(winners) == 1 else -1)
    return labels


# ----------------------------------------------------------------------------- images


def _decode(path: Path, size: int):
    """Open a JPEG, centre-crop to a square, resize to ``size``: -> ``(size, size, 3)`` uint8 array."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as img:
        img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when much larger than needed
        img = img.convert("RGB")
        w, h = img.size
        s = min(w, h)
        img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        img = img.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=3.0)
        return np.asarray(img, dtype=np.uint8)


def decode_images(paths: list[Path], size: int, *, workers: int | None = None, progress: bool = False) -> torch.Tensor:
    """Decode ``paths`` into one ``(N, 3, size, size)`` uint8 tensor (threads: PIL releases the GIL)."""
    import numpy as np
    from tqdm import tqdm

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        arrays = list(tqdm(pool.map(lambda p: _decode(p, size), paths), total=len(paths), disable=not progress,
                           desc=f"decoding images at {size}px", leave=False))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _key(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def image_tensor(data: flickr8k.CaptionedImages, size: int, *, progress: bool = False) -> torch.Tensor:
    """The split's images as ``(N, 3, size, size)`` uint8, decoded once and cached on disk."""
    stamp = [(n, (data.image_dir / n).stat().st_mtime_ns) for n in data.images]
    path = cache_dir() / f"images-{data.split}-{size}px-{_key(str(data.image_dir), size, stamp)}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    images = decode_images(data.paths, size, progress=progress)
    save_torch_atomic(images, path)
    return images


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` -> float ``(B, 3, H, W)`` standardised with the ImageNet mean and std."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std


# ----------------------------------------------------------------------------- text


def take_tokens(tokens: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rows ``idx`` of the token tensors, trimmed to the longest caption among them."""
    mask = tokens["attention_mask"][idx]
    length = int(mask.sum(1).max())
    return {"input_ids": tokens["input_ids"][idx, :length], "attention_mask": mask[:, :length]}


@torch.no_grad()
def text_features(text_encoder, texts: list[str], *, batch_size: int = 256, progress: bool = False) -> torch.Tensor:
    """Features of a frozen text encoder for every text: ``(M, D)`` float32, cached on disk.

    Each distinct string is encoded once (the stand-in's captions repeat a lot), longest first so
    that batches need little padding.
    """
    from tqdm import tqdm

    path = cache_dir() / f"textfeat-{_key(text_encoder.name, text_encoder.weights, text_encoder.max_length, texts)}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    text_encoder.eval()
    device = next(text_encoder.parameters()).device
    unique = sorted(set(texts), key=lambda t: (-len(t), t))
    out = []
    for start in tqdm(range(0, len(unique), batch_size), disable=not progress, desc="text features", leave=False):
        tok = text_encoder.tokenize(unique[start:start + batch_size])
        out.append(text_encoder(**{k: v.to(device) for k, v in tok.items()}).float().cpu())
    row = {t: i for i, t in enumerate(unique)}
    feats = torch.cat(out)[torch.tensor([row[t] for t in texts])]
    save_torch_atomic(feats, path)
    return feats


# ----------------------------------------------------------------------------- batches


@dataclass
class Split:
    """A split ready for training or evaluation."""

    data: flickr8k.CaptionedImages
    images: torch.Tensor  # (N, 3, S, S) uint8
    texts: list[str]  # (M,) every caption
    owner: torch.Tensor  # (M,) int64, the image index of each caption

    def caption_ranges(self) -> tuple[torch.Tensor, torch.Tensor]:
        """First caption index and caption count of each image: ``(N,)``, ``(N,)``."""
        counts = torch.bincount(self.owner, minlength=len(self.images))
        return torch.cumsum(counts, 0) - counts, counts


def prepare(dataset: str, split: str, size: int, limit: int | None = None, *, progress: bool = False) -> Split:
    data = load_split(dataset, split, limit)
    texts, owner = data.flat_captions()
    return Split(data, image_tensor(data, size, progress=progress), texts, torch.tensor(owner))


def epoch_batches(split: Split, batch_size: int, seed: int, epoch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(image indices (b,), caption indices (b,))`` per batch: every image once, one random caption each.

    Deterministic in ``(seed, epoch)``, so a resumed run sees the same batches. A last batch of a
    single pair is dropped (a contrastive batch needs negatives).
    """
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    first, counts = split.caption_ranges()
    order = torch.randperm(len(split.images), generator=g)
    caption = first + (torch.rand(len(split.images), generator=g) * counts).long()
    return [(idx, caption[idx]) for idx in order.split(batch_size) if len(idx) > 1]
