"""Problem 2: one CLIP training epoch, dlcourse's trainer vs a naive per-item PIL + DataLoader loop.

Both paths train a fresh CLIP model built with the same seed (default ResNet-50 + DistilBERT, both
randomly initialised: no weights need to travel) with the same :func:`dlcourse.clip.step.train_step`
(the naive loop reads its loss with ``.item()`` every step, the trainer once per epoch), the same
optimizer, schedule and batch size, over
the same N JPEGs with 5 captions each. An epoch visits every image once with one of its captions
(the trainer's definition: ``ceil(N / batch)`` steps).

* **dlcourse**: :func:`dlcourse.clip.train.train_epoch`, the trainer's own loop: images decoded once
  into a ``(N, 3, S, S)`` uint8 store (:func:`dlcourse.clip.data.decode_images`), captions tokenised
  once, both resident on the GPU (:func:`dlcourse.clip.train.place_on_device`), normalised on the
  device, bf16 autocast + ``channels_last`` + cuDNN autotuning on CUDA (``--precision``, default auto);
* **naive**: a ``Dataset`` that opens each JPEG with PIL and applies torchvision ``Resize`` +
  ``CenterCrop`` + ``ToTensor`` + ``Normalize``, one random caption per image tokenised in the
  ``collate_fn``, a shuffling ``DataLoader`` (``--workers``), ``.to(device)`` every step, float32,
  PyTorch's default cuDNN settings.

Each path first runs ``--warmup`` steps (allocations, optimizer state, cuDNN autotuning of the full
batch's shape; not timed). Then the naive path times one epoch; the dlcourse path times two and
reports the second, the steady state of a run (its first epoch also pays cuDNN's algorithm search
for the last, smaller batch, and is listed separately). ``--steps`` / ``--naive-steps`` time only the
first K steps of an epoch and extrapolate to the whole epoch, saying so. The one-time cache build (threaded decode +
tokenise) is reported separately: it is paid once per data set and resolution.

The images are Flickr8K-sized JPEGs (500x375, quality 90) written to a temporary folder: the
stand-in's scenes upscaled (needs FashionMNIST; its train split has 5,955 scenes, repeated to reach
N), or with ``--synthetic`` seeded random images with texture at several scales (~90 KB each; real
Flickr8K JPEGs average ~130 KB) and captions from templates, which needs no data set at all.

    python benchmarks/clip_epoch.py --device cpu --images 64 --size 64 --vision resnet18 --steps 2 --workers 0
    python benchmarks/clip_epoch.py --device cuda --synthetic --vocab PATH/vocab.txt --json OUT.json   # the goal
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch.utils.data import Dataset

from dlcourse.clip import data as clipdata
from dlcourse.clip import train as cliptrain
from dlcourse.clip.encoders import TEXT_ALIASES, TextEncoder, VisionEncoder, random_text
from dlcourse.clip.model import CLIP
from dlcourse.clip.step import train_step
from dlcourse.io import device_name

FLICKR_SIZE = (500, 375)  # width, height of a typical Flickr8K image
CAPTIONS_PER_IMAGE = 5


# ----------------------------------------------------------------------------- images and captions


def synthetic_images(n: int, folder: Path, *, seed: int = 0, workers: int = 1) -> tuple[list[Path], list[list[str]]]:
    """``n`` seeded 500x375 JPEGs (colour fields + texture at 1/16, 1/2 scale) and 5 template captions each."""
    import numpy as np
    from PIL import Image

    w, h = FLICKR_SIZE

    def field(rng, rows: int, cols: int) -> Image.Image:
        small = Image.fromarray(rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8))
        return small.resize((w, h), Image.Resampling.BICUBIC)

    def write(i: int) -> Path:
        rng = np.random.default_rng([seed, i])
        img = Image.blend(Image.blend(field(rng, 3, 4), field(rng, 24, 32), 0.35), field(rng, 188, 250), 0.45)
        out = folder / f"synthetic_{i:05d}.jpg"
        img.save(out, quality=90)
        return out

    with ThreadPoolExecutor(max(1, workers)) as pool:
        paths = list(pool.map(write, range(n)))
    return paths, [synthetic_captions(seed, i) for i in range(n)]


def synthetic_captions(seed: int, i: int) -> list[str]:
    """Five Flickr8K-like captions (10-14 words) of image ``i``, from templates and word lists."""
    import random

    rng = random.Random(seed * 1_000_003 + i)
    who = ["a dog", "a black dog", "two dogs", "a man", "a young girl", "a boy", "two children", "a woman",
           "a group of people", "a brown horse", "a biker", "a skier"]
    does = ["runs", "jumps", "is playing", "is walking", "stands", "sits", "climbs", "rides"]
    where = ["on the beach", "through the snow", "in the grass", "near the water", "on a busy street",
             "in front of a building", "across a field", "down a hill", "in a park"]
    extra = ["with a ball", "wearing a red shirt", "while people watch", "at sunset", "with a stick in its mouth",
             "next to a fence"]
    forms = ["{w} {d} {p} {x} .", "{w} {d} {p} .", "{w} {x} {d} {p} .", "there is {w} who {d} {p} {x} .",
             "{w} {d} {x} {p} ."]
    return [rng.choice(forms).format(w=rng.choice(who), d=rng.choice(does), p=rng.choice(where), x=rng.choice(extra))
            for _ in range(CAPTIONS_PER_IMAGE)]


def standin_images(n: int, folder: Path, *, workers: int = 1) -> tuple[list[Path], list[list[str]]]:
    """``n`` 500x375 JPEGs of stand-in scenes (``clip_pipeline.make_images``) with their 5 captions each.

    The stand-in's train split is built from FashionMNIST on first use (seconds) and has 5,955 scenes;
    beyond that the files are repeated under new names.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from clip_pipeline import make_images

    from dlcourse.data import standin

    have = len(standin.load("train").images)
    paths, _ = make_images(min(n, have), folder, workers=workers)
    captions = standin.load("train", limit=len(paths)).captions
    for i in range(len(paths), n):
        paths.append(Path(shutil.copyfile(paths[i % have], folder / f"repeat_{i:05d}.jpg")))
        captions.append(captions[i % have])
    return paths, captions


# ----------------------------------------------------------------------------- models


def fresh_model(args, device: torch.device) -> tuple[CLIP, cliptrain.ClipConfig, dict[str, float]]:
    """The benchmark's CLIP (random init, seeded), its config and the trainer's learning rates."""
    cfg = cliptrain.ClipConfig(vision=args.vision, text=args.text, image_size=args.size, batch_size=args.batch,
                               vision_weights="none", random_text_init=True, seed=args.seed, precision=args.precision)
    torch.manual_seed(args.seed)
    vision = VisionEncoder(cfg.vision, weights="none")
    text = TextEncoder.from_loaded(cfg.text, random_text(cfg.text, vocab=args.vocab))
    model = CLIP(vision, text, vision.out_dim, text.out_dim, cfg.embed_dim, cfg.dropout)
    weights = {"vision": f"{cfg.vision}: {vision.weights}", "text": f"{cfg.text}: {text.weights}"}
    return model, cfg, cliptrain.learning_rates(cfg, weights)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def timed(elapsed: float, timed_steps: int, full_steps: int, images: int, losses: list[float], device,
          startup: float = 0.0) -> dict:
    """Timings of ``timed_steps`` steps, extrapolated to ``full_steps`` (``startup``: a fixed cost per epoch)."""
    epoch = startup + (elapsed - startup) / timed_steps * full_steps
    return {"timed_steps": timed_steps, "timed_s": elapsed, "epoch_s": epoch, "extrapolated": timed_steps < full_steps,
            "steps_per_s": timed_steps / elapsed, "images_per_s": images / epoch,
            "mean_loss": float(sum(losses) / len(losses)), "peak_gpu_gib": peak_gib(device)}


# ----------------------------------------------------------------------------- the two paths


def run_dlcourse(args, paths: list[Path], captions: list[list[str]], device: torch.device, precision: str) -> dict:
    """Cache build, then warm-up and one timed epoch of the trainer's :func:`train_epoch`."""
    model, cfg, lrs = fresh_model(args, device)
    t0 = time.perf_counter()
    images_u8 = clipdata.decode_images(paths, args.size)  # (N, 3, S, S) uint8, threaded
    decode_s = time.perf_counter() - t0
    texts = [c for caps in captions for c in caps]
    owner = torch.tensor([i for i, caps in enumerate(captions) for _ in caps])
    t0 = time.perf_counter()
    tokens = model.text.tokenize(texts)  # (M, L) ids and mask
    tokenise_s = time.perf_counter() - t0
    split = clipdata.Split(data=None, images=images_u8, texts=texts, owner=owner)

    reset_peak(device)
    t0 = time.perf_counter()
    images_dev, text_dev = cliptrain.place_on_device(model, images_u8, tokens, device=device, precision=precision)
    sync(device)
    upload_s = time.perf_counter() - t0
    optimizer = cliptrain.make_optimizer(model, lrs, cfg.weight_decay)
    epochs = [clipdata.epoch_batches(split, args.batch, args.seed, e) for e in (1, 2)]
    scheduler = cliptrain.make_scheduler(optimizer, args.warmup + sum(len(b) for b in epochs))
    loss_fn = cliptrain.make_loss(cfg.loss)
    model.train()
    run = dict(device=device, precision=precision, train_step=train_step)
    cliptrain.train_epoch(model, images_dev, text_dev, clipdata.epoch_batches(split, args.batch, args.seed, 0)[:args.warmup],
                          loss_fn, optimizer, scheduler, **run)
    # Two epochs timed: the first meets the last, partial batch's shape for the first time, and with
    # cuDNN autotuning on (the trainer's setting on CUDA) pays its algorithm search there; the second
    # is the steady state every later epoch of a run sees. The second is the headline figure.
    res = {}
    for name, full in zip(("first", "steady"), epochs):
        batches = full[:args.steps] if args.steps else full
        sync(device)
        t0 = time.perf_counter()
        losses = cliptrain.train_epoch(model, images_dev, text_dev, batches, loss_fn, optimizer, scheduler, **run)
        sync(device)
        res[name] = timed(time.perf_counter() - t0, len(batches), len(full), len(paths), losses, device)
    res = {**res["steady"], "first_epoch": res["first"]}
    res.update(precision=cliptrain.resolve_precision(precision, device).describe(), decode_s=decode_s,
               tokenise_s=tokenise_s, cache_build_s=decode_s + tokenise_s, upload_s=upload_s,
               store_gib=images_u8.numel() / 2**30, steps_per_epoch=len(epochs[0]))
    return res


class NaivePairs(Dataset):
    """Item ``i``: the JPEG opened and transformed with PIL/torchvision, and one of its captions at random."""

    def __init__(self, paths: list[Path], captions: list[list[str]], size: int):
        from torchvision import transforms

        self.paths, self.captions = paths, captions
        self.tf = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor(),
                                      transforms.Normalize(clipdata.IMAGENET_MEAN, clipdata.IMAGENET_STD)])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        from PIL import Image

        with Image.open(self.paths[i]) as img:
            image = self.tf(img.convert("RGB"))  # (3, S, S) float
        caps = self.captions[i]
        return image, caps[int(torch.randint(len(caps), ()))]


class NaiveCollate:
    """Stack the images ``(B, 3, S, S)`` and tokenise the captions ``(B, L)`` batch by batch."""

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, items):
        tok = self.tokenizer([c for _, c in items], padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        return torch.stack([x for x, _ in items]), tok["input_ids"], tok["attention_mask"]


def run_naive(args, paths: list[Path], captions: list[list[str]], device: torch.device) -> dict:
    """Warm-up and one timed epoch of the textbook loop (PIL + DataLoader, fp32, copies every step)."""
    from torch.utils.data import DataLoader

    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the loader forks after the tokenizer used its threads
    torch.backends.cudnn.benchmark = False  # PyTorch's default; the trainer path switched it on
    model, cfg, lrs = fresh_model(args, device)
    reset_peak(device)
    model.to(device).train()
    optimizer = cliptrain.make_optimizer(model, lrs, cfg.weight_decay)
    full_steps = math.ceil(len(paths) / args.batch)
    scheduler = cliptrain.make_scheduler(optimizer, args.warmup + full_steps)
    loss_fn = cliptrain.make_loss(cfg.loss)
    extra = {"multiprocessing_context": "fork"} if args.workers > 0 and sys.platform == "linux" else {}
    loader = DataLoader(NaivePairs(paths, captions, args.size), batch_size=args.batch, shuffle=True,
                        num_workers=args.workers, collate_fn=NaiveCollate(model.text.tokenizer, model.text.max_length),
                        generator=torch.Generator().manual_seed(args.seed), **extra)

    def steps(limit: int) -> list[float]:
        losses = []
        for k, (images, ids, mask) in enumerate(loader):
            if k == 0:
                first_batch[0] = time.perf_counter()
            if k == limit:
                break
            text = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
            losses.append(train_step(model, images.to(device), text, loss_fn, optimizer).item())
            scheduler.step()
        return losses

    first_batch = [0.0]
    steps(args.warmup)  # its own loader iteration: workers start, run a few batches, stop
    cap = min(x for x in (args.naive_steps, args.steps, full_steps) if x)
    sync(device)
    t0 = time.perf_counter()
    losses = steps(cap)  # a fresh iteration: worker start-up is part of every naive epoch
    sync(device)
    # worker start-up until the first batch is paid once per epoch: not scaled up when extrapolating
    startup = first_batch[0] - t0
    res = timed(time.perf_counter() - t0, len(losses), full_steps, len(paths), losses, device, startup)
    res.update(precision="fp32", workers=args.workers, steps_per_epoch=full_steps, first_batch_s=startup)
    return res


# ----------------------------------------------------------------------------- report


def report(res: dict) -> str:
    n, naive, ours = res["images"], res["naive"], res["dlcourse"]
    gpu = res["device_type"] == "cuda"
    where = "data resident on the GPU" if gpu else "cached tensors"
    lines = [f"Device: {res['device']} (torch {res['torch']})",
             f"{n} {res['source']} JPEGs of 500x375 (mean {res['jpeg_kb']:.0f} KB) x {CAPTIONS_PER_IMAGE} captions "
             f"-> {res['size']}px, {res['vision']} + {res['text']} (random init), batch {res['batch']}, "
             f"{ours['steps_per_epoch']} steps per epoch (every image once, one random caption)",
             f"each path: {res['warmup']} warm-up step(s) (not timed), then one epoch timed (dlcourse: the "
             "second of two, the steady state; the first one is listed below)",
             "| path | s / epoch | steps / s | images / s | speedup |" + (" peak GPU GiB |" if gpu else ""),
             "| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if gpu else "")]
    rows = [(f"naive PIL + DataLoader ({naive['workers']} workers, fp32)", naive),
            (f"dlcourse trainer ({ours['precision']}, {where})", ours)]
    if "dlcourse_fp32" in res:
        rows.append((f"dlcourse trainer (fp32, {where})", res["dlcourse_fp32"]))
    for name, r in rows:
        star = " *" if r["extrapolated"] else ""
        lines.append(f"| {name} | {r['epoch_s']:.2f}{star} | {r['steps_per_s']:.2f} | {r['images_per_s']:.0f} | "
                     f"{naive['epoch_s'] / r['epoch_s']:.2f}x |" + (f" {r['peak_gpu_gib']:.2f} |" if gpu else ""))
    if any(r["extrapolated"] for _, r in rows):
        lines.append("* extrapolated to the full epoch from the first "
                     + ", ".join(f"{r['timed_steps']}" for _, r in rows if r["extrapolated"]) + " timed steps "
                     f"(the naive loader's {naive['first_batch_s']:.2f} s to its first batch counted once)")
    for name, r in rows[1:]:
        first = r["first_epoch"]
        lines.append(f"first epoch of the {name}: {first['epoch_s']:.2f} s"
                     + (" (extrapolated)" if first["extrapolated"] else "")
                     + (" - it includes cuDNN's algorithm search for the last, smaller batch" if gpu else ""))
    lines.append(f"one-time cache build: decode {ours['decode_s']:.2f} s + tokenise {ours['tokenise_s']:.2f} s "
                 f"= {ours['cache_build_s']:.2f} s ({ours['store_gib']:.2f} GiB uint8 store); "
                 f"copy to the device {ours['upload_s']:.2f} s")
    per_step = ours["epoch_s"] / ours["steps_per_epoch"]
    pairs = n * CAPTIONS_PER_IMAGE
    lines.append(f"an epoch over every caption ({pairs} pairs, {math.ceil(pairs / res['batch'])} steps, the class "
                 f"notebook's definition) would take about {per_step * math.ceil(pairs / res['batch']):.1f} s at the "
                 "dlcourse rate")
    lines.append(f"mean loss over the timed steps: naive {naive['mean_loss']:.3f}, dlcourse {ours['mean_loss']:.3f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=6000)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32, help="the full profile's batch size")
    ap.add_argument("--vision", default="resnet50", choices=["resnet18", "resnet34", "resnet50"])
    ap.add_argument("--text", default="distilbert", choices=["distilbert", "bert", "roberta", "tiny-bert"],
                    help="architecture, randomly initialised, with the BERT-uncased WordPiece vocabulary")
    ap.add_argument("--vocab", help="a BERT-uncased vocab.txt (default: the one shipped in dlcourse/clip/vocab/)")
    ap.add_argument("--device", default="auto", help="auto, cuda or cpu")
    ap.add_argument("--precision", default="auto", choices=list(cliptrain.PRECISIONS), help="of the dlcourse path")
    ap.add_argument("--also-fp32", action="store_true", help="also time the dlcourse path in fp32 (ablation)")
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="DataLoader workers (naive)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps per path (default 5 on CUDA, 1 on CPU)")
    ap.add_argument("--steps", type=int, default=None, help="time only the first K steps of each epoch")
    ap.add_argument("--naive-steps", type=int, default=None, help="time only the first K naive steps")
    ap.add_argument("--synthetic", action="store_true", help="seeded synthetic images (no FashionMNIST needed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = cliptrain.resolve_device(args.device)
    if args.warmup is None:
        args.warmup = 5 if device.type == "cuda" else 1
    args.text = TEXT_ALIASES.get(args.text, args.text)

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="clip_epoch-") as tmp:
        t0 = time.perf_counter()
        make = synthetic_images if args.synthetic else standin_images
        kw = {"seed": args.seed} if args.synthetic else {}
        paths, captions = make(args.images, Path(tmp), workers=os.cpu_count() or 1, **kw)
        write_s = time.perf_counter() - t0
        res = {"device": device_name(device), "device_type": device.type, "torch": torch.__version__,
               "images": len(paths), "captions": sum(len(c) for c in captions), "size": args.size,
               "batch": args.batch, "vision": args.vision, "text": args.text, "warmup": args.warmup,
               "source": "synthetic" if args.synthetic else "stand-in scene",
               "jpeg_kb": sum(p.stat().st_size for p in paths) / len(paths) / 1e3, "write_jpegs_s": write_s,
               "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "args": vars(args),
               "versions": {m: __import__(m).__version__ for m in ("torchvision", "transformers", "PIL")}}
        res["dlcourse"] = run_dlcourse(args, paths, captions, device, args.precision)
        if args.also_fp32:
            res["dlcourse_fp32"] = run_dlcourse(args, paths, captions, device, "fp32")
        res["naive"] = run_naive(args, paths, captions, device)
    res["speedup"] = res["naive"]["epoch_s"] / res["dlcourse"]["epoch_s"]
    res["total_s"] = time.perf_counter() - t_start
    print(report(res))
    print(f"(JPEG writing {write_s:.1f} s; whole benchmark {res['total_s']:.1f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
