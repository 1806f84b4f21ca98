"""Problem 2: the CLIP input pipeline, decode-once cache vs a naive per-item PIL + DataLoader pipeline.

Both paths deliver the same batches (64 normalised images at the training resolution plus the token
ids of one caption per image) for one epoch; no model runs, so the numbers are the data path alone.

* **dlcourse** (``dlcourse.clip.data``): images decoded, centre-cropped and resized once into a
  ``(N, 3, S, S)`` uint8 tensor (threaded decoding; on disk afterwards), captions tokenised once;
  a batch is an index into both plus a float conversion.
* **naive**: a ``Dataset`` whose ``__getitem__`` opens the JPEG with PIL, applies torchvision's
  ``Resize`` + ``CenterCrop`` + ``ToTensor`` + ``Normalize`` and tokenises the caption; a
  ``DataLoader`` collates (``num_workers`` as given).

The images are Flickr8K-sized JPEGs (500x375, quality 90) written to a temp folder from the
stand-in's scenes, since Flickr8K itself may be absent; ``--images`` and ``--size`` set the scale.

    python benchmarks/clip_pipeline.py --images 512 --size 224 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch


def make_images(n: int, folder: Path, *, workers: int = 1) -> tuple[list[Path], list[str]]:
    """``n`` 500x375 JPEGs made from stand-in scenes (upscaled), and one caption each.

    ``workers`` threads write them (PIL releases the GIL while resizing and encoding).
    """
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from dlcourse.data import standin

    data = standin.load("train", limit=n)

    def write(name: str, path: Path) -> Path:
        out = folder / name
        Image.open(path).convert("RGB").resize((500, 375), Image.Resampling.BICUBIC).save(out, quality=90)
        return out

    with ThreadPoolExecutor(max(1, workers)) as pool:
        paths = list(pool.map(write, data.images, data.paths))
    return paths, [c[0] for c in data.captions]


def naive_epoch(paths, captions, tokenizer, size: int, batch: int, workers: int) -> float:
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms

    from dlcourse.clip.data import IMAGENET_MEAN, IMAGENET_STD

    tf = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor(),
                             transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    class Pairs(Dataset):
        def __len__(self):
            return len(paths)

        def __getitem__(self, i):
            with Image.open(paths[i]) as img:
                return tf(img.convert("RGB")), captions[i]

    def collate(items):
        images = torch.stack([x for x, _ in items])
        tok = tokenizer([c for _, c in items], padding=True, truncation=True, max_length=40, return_tensors="pt")
        return images, tok["input_ids"], tok["attention_mask"]

    loader = DataLoader(Pairs(), batch_size=batch, shuffle=True, num_workers=workers, collate_fn=collate,
                        generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    for images, ids, _ in loader:
        assert images.shape[1:] == (3, size, size) and len(ids) == len(images)
    return time.perf_counter() - t0


def cached_epoch(images_u8, tokens, batch: int) -> float:
    from dlcourse.clip.data import normalize, take_tokens

    t0 = time.perf_counter()
    order = torch.randperm(len(images_u8), generator=torch.Generator().manual_seed(0))
    for idx in order.split(batch):
        x = normalize(images_u8[idx])
        tok = take_tokens(tokens, idx)
        assert x.shape[0] == tok["input_ids"].shape[0]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers of the naive path")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from dlcourse.clip.data import decode_images
    from dlcourse.clip.encoders import TextEncoder
    from dlcourse.io import device_name

    text = TextEncoder("minilm")
    with tempfile.TemporaryDirectory() as tmp:
        paths, captions = make_images(args.images, Path(tmp))
        t0 = time.perf_counter()
        images_u8 = decode_images(paths, args.size, workers=args.threads)
        tokens = text.tokenize(captions)
        build = time.perf_counter() - t0
        naive, cached = [], []
        for _ in range(args.repeats):  # alternate, so that drifting background load hits both alike
            naive.append(naive_epoch(paths, captions, text.tokenizer, args.size, args.batch, args.workers))
            cached.append(cached_epoch(images_u8, tokens, args.batch))
    n, med_naive, med_cached = args.images, statistics.median(naive), statistics.median(cached)
    print(f"Device: {device_name()}")
    print(f"{n} images of 500x375 -> {args.size}px, batch {args.batch}, naive workers {args.workers}, "
          f"{args.repeats} alternating repeats (median)")
    print("| path | s / epoch | images / s | speedup |\n| --- | ---: | ---: | ---: |")
    print(f"| naive PIL + DataLoader | {med_naive:.3f} | {n / med_naive:.0f} | 1.00x |")
    print(f"| dlcourse cached tensors | {med_cached:.3f} | {n / med_cached:.0f} | {med_naive / med_cached:.1f}x |")
    print(f"one-time cache build (threaded decode + tokenise): {build:.2f} s "
          f"= {build / med_naive:.2f} naive epochs")


if __name__ == "__main__":
    main()
