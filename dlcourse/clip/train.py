"""Train one CLIP model (Problem 2): config, model, optimizer, epochs, checkpoints, evaluation.

A run lives in one folder: ``config.json``, ``checkpoint.pt`` (written atomically after every epoch:
trainable weights, optimizer, scheduler, RNG state, epoch, history) and, once finished,
``metrics.json`` (provenance, which data and which weights were used, the loss curve and the test
results). Calling :func:`train` again resumes from the checkpoint, and returns at once when the run
is complete, so the book can re-execute its notebook for free.

Choices, and why:

* AdamW with two learning-rate groups: projection heads (and ``logit_scale``) learn from scratch at
  ``lr_heads``; encoders at ``lr_vision``/``lr_text``, small for pretrained ones so fine-tuning does not
  wreck them, larger for randomly initialised ones. Cosine decay over all steps.
* ``logit_scale`` starts at ``ln(1/0.07)`` and is clamped at ``ln 100`` after every step (in
  :func:`dlcourse.clip.step.train_step`).
* A frozen pretrained text encoder is run once over all captions (cached features), which makes CPU
  training several times cheaper; it is then not saved in checkpoints (it is rebuilt from its source).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from dlcourse.clip import data as clipdata
from dlcourse.clip.encoders import RANDOM_TEXT_ENCODERS, TextEncoder, VisionEncoder
from dlcourse.clip.loss import make_loss
from dlcourse.clip.model import CLIP
from dlcourse.clip.step import train_step
from dlcourse.errors import ConfigError
from dlcourse.io import provenance, save_torch_atomic, write_json_atomic


@dataclass(frozen=True)
class ClipConfig:
    vision: str = "resnet18"  # resnet18 | resnet34 | resnet50
    text: str = "minilm"  # minilm | tiny-bert | a hub name (distilbert-base-uncased, ...) | a local folder
    data: str = "standin"  # standin | flickr8k | a folder in the Flickr8K layout
    image_size: int = 64
    epochs: int = 5
    batch_size: int = 64
    train_images: int | None = None  # None: the whole training split
    test_images: int | None = None
    embed_dim: int = 256
    dropout: float = 0.1
    loss: str = "infonce"  # infonce | soft (the class-repo soft-target ablation)
    lr_heads: float = 1e-3
    lr_vision: float | None = None  # None: 1e-4 for pretrained weights, 1e-3 for a random init
    lr_text: float | None = None  # None: 1e-5 for pretrained weights, 5e-4 for a random init
    weight_decay: float = 0.01
    freeze_text: bool = False
    vision_weights: str = "auto"  # auto | imagenet | none | a path
    random_text_init: bool = False  # allow a random init when a hub text model cannot be loaded
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda

    @classmethod
    def from_profile(cls, vision: str, text: str, profile=None, **overrides) -> ClipConfig:
        """The config of one (vision, text) pair under a run profile (default: the active one)."""
        from dlcourse import profiles

        p = (profile or profiles.current()).clip
        base = dict(vision=vision, text=text, data=p.dataset, image_size=p.image_size, epochs=p.epochs,
                    batch_size=p.batch_size, train_images=p.train_images, test_images=p.test_images,
                    freeze_text=p.freeze_text and text not in RANDOM_TEXT_ENCODERS, vision_weights=p.vision_weights)
        return cls(**{**base, **overrides})


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return torch.device(name)


def build_model(cfg: ClipConfig, *, vision_weights: str | None = None) -> tuple[CLIP, dict[str, str]]:
    """The CLIP model of ``cfg`` and a description of where each encoder's weights came from."""
    vision = VisionEncoder(cfg.vision, weights=vision_weights or cfg.vision_weights)
    text = TextEncoder(cfg.text, allow_random=cfg.random_text_init)
    if cfg.freeze_text and text.weights.startswith("random"):
        raise ConfigError(f"--freeze-text with a randomly initialised text encoder ({text.weights}) would "
                          "never learn anything: drop --freeze-text or use a pretrained text model.")
    for p in text.parameters():
        p.requires_grad_(not cfg.freeze_text)
    model = CLIP(vision, text, vision.out_dim, text.out_dim, cfg.embed_dim, cfg.dropout)
    weights = {"vision": f"{cfg.vision}: {vision.weights}",
               "text": f"{cfg.text}: {text.weights}" + (" (frozen)" if cfg.freeze_text else " (fine-tuned)")}
    return model, weights


def learning_rates(cfg: ClipConfig, weights: dict[str, str]) -> dict[str, float]:
    random_v, random_t = "random init" in weights["vision"], "random init" in weights["text"]
    return {"heads": cfg.lr_heads,
            "vision": cfg.lr_vision if cfg.lr_vision is not None else (1e-3 if random_v else 1e-4),
            "text": cfg.lr_text if cfg.lr_text is not None else (5e-4 if random_t else 1e-5)}


def make_optimizer(model: CLIP, lrs: dict[str, float], weight_decay: float) -> torch.optim.AdamW:
    groups = [
        {"params": [*model.image_head.parameters(), *model.text_head.parameters(), model.logit_scale],
         "lr": lrs["heads"], "name": "heads"},
        {"params": list(model.visual.parameters()), "lr": lrs["vision"], "name": "vision"},
    ]
    text = [p for p in model.text.parameters() if p.requires_grad]
    if text:
        groups.append({"params": text, "lr": lrs["text"], "name": "text"})
    return torch.optim.AdamW(groups, weight_decay=weight_decay)


def trainable_state(model: CLIP, frozen_text: bool) -> dict[str, torch.Tensor]:
    """The state dict without a frozen pretrained text encoder (rebuilt from its source on load)."""
    return {k: v for k, v in model.state_dict().items() if not (frozen_text and k.startswith("text."))}


def load_state(model: CLIP, state: dict[str, torch.Tensor], frozen_text: bool) -> None:
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not (frozen_text and k.startswith("text."))]
    if missing or unexpected:
        raise ConfigError(f"checkpoint does not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")


def _config_of(run: Path) -> ClipConfig | None:
    path = run / "config.json"
    if not path.is_file():
        return None
    return ClipConfig(**json.loads(path.read_text()))


def is_complete(run: Path) -> bool:
    try:
        return json.loads((Path(run) / "metrics.json").read_text()).get("complete", False)
    except (OSError, ValueError):
        return False


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, flush=True)


def train(cfg: ClipConfig, out: str | Path, *, quiet: bool = False) -> dict:
    """Train (or resume, or just return) the run in ``out``; return its ``metrics.json`` content."""
    from tqdm import tqdm

    from dlcourse.clip import evaluate

    out = Path(out)
    previous = _config_of(out)
    if previous is not None and previous != cfg:
        diff = {f.name: (getattr(previous, f.name), getattr(cfg, f.name)) for f in dataclasses.fields(cfg)
                if getattr(previous, f.name) != getattr(cfg, f.name)}
        raise ConfigError(f"{out} holds a run with a different config {diff} (saved, asked): choose another "
                          "--out or delete that folder.")
    if is_complete(out):
        metrics = json.loads((out / "metrics.json").read_text())
        _log(f"{out}: complete, reusing it ({metrics['data']}; {metrics['weights']['vision']}; "
             f"{metrics['weights']['text']})", quiet)
        return metrics

    t0 = time.perf_counter()
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    progress = not quiet and sys.stderr.isatty()

    # data and encoders first: a missing data set or model leaves no run folder behind
    train_split = clipdata.prepare(cfg.data, "train", cfg.image_size, cfg.train_images, progress=progress)
    model, weights = build_model(cfg)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "config.json", asdict(cfg))
    lrs = learning_rates(cfg, weights)
    _log(f"CLIP {cfg.vision} + {cfg.text} on {train_split.data.describe()}", quiet)
    _log(f"  weights: {weights['vision']}; {weights['text']}; device {device}", quiet)
    model.to(device)
    tokens = feats = None
    if cfg.freeze_text:
        feats = clipdata.text_features(model.text, train_split.texts, progress=progress)
    else:
        tokens = model.text.tokenize(train_split.texts)  # every caption tokenised once: (M, L)
    loss_fn = make_loss(cfg.loss)
    optimizer = make_optimizer(model, lrs, cfg.weight_decay)
    steps_per_epoch = len(clipdata.epoch_batches(train_split, cfg.batch_size, cfg.seed, 0))
    total = max(1, steps_per_epoch * cfg.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))

    start, history = 0, []
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        load_state(model, ckpt["model"], cfg.freeze_text)
        if ckpt["optimizer"] is not None:  # None: training finished, only the evaluation was interrupted
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"])
        if ckpt.get("cuda_rng") is not None and device.type == "cuda":
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        start, history = ckpt["epoch"], ckpt["history"]
        weights = ckpt["weights"]  # what the run STARTED from, even if other weights are available now
        _log(f"  resuming after epoch {start}", quiet)

    for epoch in range(start, cfg.epochs):
        model.train()
        if cfg.freeze_text:
            model.text.eval()  # no dropout inside a frozen encoder
        batches = clipdata.epoch_batches(train_split, cfg.batch_size, cfg.seed, epoch)
        losses = []
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for img_idx, cap_idx in bar:
            images = clipdata.normalize(train_split.images[img_idx].to(device))
            text = ({"features": feats[cap_idx].to(device)} if feats is not None
                    else {k: v.to(device) for k, v in clipdata.take_tokens(tokens, cap_idx).items()})
            losses.append(train_step(model, images, text, loss_fn, optimizer))
            scheduler.step()
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        history.append({"epoch": epoch + 1, "loss": sum(losses) / len(losses),
                        "temperature": float(1 / model.logit_scale.detach().exp())})
        _log(f"  epoch {epoch + 1}/{cfg.epochs}: loss {history[-1]['loss']:.4f}, "
             f"temperature {history[-1]['temperature']:.4f}", quiet)
        save_torch_atomic({"model": trainable_state(model, cfg.freeze_text), "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(), "epoch": epoch + 1,
                           "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                           "history": history, "config": asdict(cfg), "weights": weights}, ckpt_path)

    test_split = clipdata.prepare(cfg.data, "test", cfg.image_size, cfg.test_images, progress=progress)
    results = evaluate.evaluate(model, test_split, cfg, device=device, quiet=quiet)
    evaluate.save_grids(model, test_split, cfg, out, device=device)
    metrics = {
        "complete": True,
        "provenance": provenance(cfg.seed, device, duration_s=round(time.perf_counter() - t0, 1)),
        "config": asdict(cfg),
        "data": train_split.data.describe(),
        "test_data": test_split.data.describe(),
        "weights": weights,
        "learning_rates": lrs,
        "parameters": {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
                       "total": sum(p.numel() for p in model.parameters())},
        "history": history,
        "test": results,
    }
    # a finished run needs no optimizer state: drop it (it doubles or triples the checkpoint's size)
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    save_torch_atomic({**ckpt, "optimizer": None, "scheduler": None}, ckpt_path)
    write_json_atomic(out / "metrics.json", metrics)
    return metrics


def load_run(run: str | Path, device: str = "cpu") -> tuple[CLIP, ClipConfig, dict]:
    """The trained model of a run folder (eval mode), its config and its metrics (may be empty)."""
    run = Path(run)
    cfg = _config_of(run)
    ckpt_path = run / "checkpoint.pt"
    if cfg is None or not ckpt_path.is_file():
        raise ConfigError(f"{run} is not a CLIP run folder (needs config.json and checkpoint.pt); "
                          "train one with `dlcourse clip train --out RUN`.")
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model, _ = build_model(cfg, vision_weights="none")  # the checkpoint holds the trained vision weights
    load_state(model, ckpt["model"], cfg.freeze_text)
    model.to(resolve_device(device)).eval()
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
    return model, cfg, metrics
