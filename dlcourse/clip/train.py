"""Train one CLIP model (Problem 2): config, model, optimizer, epochs, checkpoints, evaluation.

It trains whichever parts it is given (:mod:`dlcourse.parts`: the student's projection head, loss,
step, retrieval and zero-shot functions, or the reference's) and owns the rest: encoders, data,
devices, precision, host syncs (losses are read once per epoch), the run folder and the logs.
A run lives in one folder (:class:`dlcourse.runfolder.RunFolder`): ``config.json``, ``checkpoint.pt``
(written atomically after every epoch: trainable weights, optimizer, scheduler, RNG state, epoch,
history) and, once finished, ``metrics.json`` (provenance, which parts, data and weights were used,
the loss curve and the test results). Calling :func:`train` again resumes from the checkpoint, and
returns at once when the run is complete, so the book can re-execute its notebook for free.

Choices, and why:

* AdamW with two learning-rate groups: projection heads (and ``logit_scale``) learn from scratch at
  ``lr_heads``; encoders at ``lr_vision``/``lr_text``, small for pretrained ones so fine-tuning does not
  wreck them, larger for randomly initialised ones. Cosine decay over all steps.
* ``logit_scale`` starts at ``ln(1/0.07)`` and is clamped at ``ln 100`` after every step (in
  :func:`dlcourse.clip.step.train_step`).
* A frozen pretrained text encoder is run once over all captions (cached features), which makes CPU
  training several times cheaper; it is then not saved in checkpoints (it is rebuilt from its source).
* On a GPU (``precision="auto"``) the forward pass runs under bf16 autocast with the vision encoder
  and the images in ``channels_last`` (the layout tensor cores want), the loss and the update in
  float32; the uint8 image store and the caption tokens are moved to the GPU once, so a step is an
  index into resident tensors plus a normalisation there. On a CPU nothing changes (float32, data
  on the host): CPU runs give the same numbers as before these options existed.
  ``benchmarks/clip_epoch.py`` times this epoch against a naive PIL + DataLoader loop.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from dlcourse import parts as partslib
from dlcourse import reproducibility
from dlcourse.clip import data as clipdata
from dlcourse.clip.encoders import RANDOM_TEXT_ENCODERS, TextEncoder, VisionEncoder
from dlcourse.errors import ConfigError
from dlcourse.io import provenance
from dlcourse.runfolder import RunFolder, rng_state, set_rng_state

#: ``ClipConfig.precision`` values: auto = bf16 autocast + channels_last on CUDA, float32 on a CPU.
PRECISIONS = ("auto", "fp32", "bf16")
#: Config keys that say where a run computes, not what: a run may resume elsewhere.
HOW_NOT_WHAT = ("device",)
#: ``ClipConfig.loss`` values and the class of the loss module that implements each.
LOSSES = {"infonce": "ClipLoss", "soft": "SoftTargetClipLoss"}


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
    precision: str = "auto"  # auto (bf16 autocast + channels_last on CUDA, fp32 on CPU) | fp32 | bf16

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)} (--precision): "
                              "auto = bf16 autocast + channels_last on CUDA and float32 on a CPU, fp32 = float32 "
                              "everywhere, bf16 = bf16 autocast on any device.")

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


@dataclass(frozen=True)
class Precision:
    """How training runs on one device: the forward under bf16 autocast or not, channels_last or not."""

    autocast: bool  # forward pass under torch.autocast(dtype=bfloat16); loss and update stay float32
    channels_last: bool  # vision encoder weights and image batches in NHWC memory layout (CUDA only)

    def describe(self) -> str:
        """``"bf16 autocast + channels_last"``, ``"bf16 autocast"`` or ``"fp32"`` (for metrics.json)."""
        if not self.autocast:
            return "fp32"
        return "bf16 autocast" + (" + channels_last" if self.channels_last else "")


def resolve_precision(precision: str, device: torch.device | str) -> Precision:
    """What ``precision`` (one of :data:`PRECISIONS`) means on ``device``; bf16 on a CPU only when asked."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    cuda = torch.device(device).type == "cuda"
    bf16 = precision == "bf16" or (precision == "auto" and cuda)
    return Precision(autocast=bf16, channels_last=bf16 and cuda)


class AutocastForward(nn.Module):
    """``model`` seen through bf16 autocast: what the training step gets in place of the model.

    Its forward runs ``model(images, text)`` under ``torch.autocast(device_type, torch.bfloat16)`` and
    returns the image embeddings ``(B, E)``, text embeddings ``(B, E)`` and scale ``()`` as float32, so
    the loss and the backward call (both in the step, after this returns) run outside autocast.
    It is a module holding the model, so ``parameters()``, ``train()`` and ``logit_scale`` (the model's
    own parameter: the step's in-place clamp works unchanged) behave as on the model itself.
    """

    def __init__(self, model: nn.Module, device_type: str):
        super().__init__()
        self.model, self.device_type = model, device_type

    @property
    def logit_scale(self) -> torch.nn.Parameter:
        return self.model.logit_scale

    def forward(self, images: torch.Tensor, text: dict[str, torch.Tensor]):
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            image_emb, text_emb, scale = self.model(images, text)
        return image_emb.float(), text_emb.float(), scale.float()


def make_loss(name: str, parts: partslib.Parts | None = None) -> nn.Module:
    """The loss module ``name`` (:data:`LOSSES`: ``"infonce"``, CLIP's, or ``"soft"``, the class-repo
    soft-target ablation) from the ``loss`` module of ``parts`` (default: the reference)."""
    if name not in LOSSES:
        raise ConfigError(f"loss {name!r} is not one of {sorted(LOSSES)} (--loss)")
    parts = partslib.resolve(parts, "clip")
    cls = getattr(parts.loss, LOSSES[name], None)
    if cls is None:
        raise ConfigError(f"{parts.describe()} has no class {LOSSES[name]} in clip/loss.py (needed for --loss "
                          f"{name}); restore it from the exercise stub")
    return cls()


def build_model(cfg: ClipConfig, *, vision_weights: str | None = None,
                parts: partslib.Parts | None = None) -> tuple[nn.Module, dict[str, str]]:
    """The CLIP model of ``cfg`` built from the ``model`` module of ``parts`` (default: the reference),
    and a description of where each encoder's weights came from."""
    parts = partslib.resolve(parts, "clip")
    vision = VisionEncoder(cfg.vision, weights=vision_weights or cfg.vision_weights)
    text = TextEncoder(cfg.text, allow_random=cfg.random_text_init)
    if cfg.freeze_text and text.weights.startswith("random"):
        raise ConfigError(f"--freeze-text with a randomly initialised text encoder ({text.weights}) would "
                          "never learn anything: drop --freeze-text or use a pretrained text model.")
    for p in text.parameters():
        p.requires_grad_(not cfg.freeze_text)
    model = parts.model.CLIP(vision, text, vision.out_dim, text.out_dim, cfg.embed_dim, cfg.dropout)
    weights = {"vision": f"{cfg.vision}: {vision.weights}",
               "text": f"{cfg.text}: {text.weights}" + (" (frozen)" if cfg.freeze_text else " (fine-tuned)")}
    return model, weights


def learning_rates(cfg: ClipConfig, weights: dict[str, str]) -> dict[str, float]:
    random_v, random_t = "random init" in weights["vision"], "random init" in weights["text"]
    return {"heads": cfg.lr_heads,
            "vision": cfg.lr_vision if cfg.lr_vision is not None else (1e-3 if random_v else 1e-4),
            "text": cfg.lr_text if cfg.lr_text is not None else (5e-4 if random_t else 1e-5)}


def make_optimizer(model: nn.Module, lrs: dict[str, float], weight_decay: float) -> torch.optim.AdamW:
    groups = [
        {"params": [*model.image_head.parameters(), *model.text_head.parameters(), model.logit_scale],
         "lr": lrs["heads"], "name": "heads"},
        {"params": list(model.visual.parameters()), "lr": lrs["vision"], "name": "vision"},
    ]
    text = [p for p in model.text.parameters() if p.requires_grad]
    if text:
        groups.append({"params": text, "lr": lrs["text"], "name": "text"})
    return torch.optim.AdamW(groups, weight_decay=weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay of every group's learning rate from its base value to 0 over ``total_steps`` steps."""
    total = max(1, total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))


def place_on_device(model: nn.Module, images_u8: torch.Tensor, text_source: dict[str, torch.Tensor], *,
                    device: torch.device, precision: str = "auto") -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Move ``model`` to ``device`` and lay it out for ``precision``; return the data :func:`train_epoch` reads.

    On CUDA the uint8 store ``(N, 3, S, S)`` and the text tensors (``(M, L)`` tokens or ``(M, D)``
    features) are copied to the GPU once (Flickr8K at 224 px: 0.9 GB) and cuDNN autotuning is switched
    on (the image shape is fixed); on a CPU they stay where they are. Call it before the optimizer
    has state: ``channels_last`` changes the vision weights' strides.
    """
    model.to(device)
    if resolve_precision(precision, device).channels_last:
        model.visual.to(memory_format=torch.channels_last)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        images_u8 = images_u8.to(device)
        text_source = {k: v.to(device) for k, v in text_source.items()}
    return images_u8, text_source


def train_epoch(model: nn.Module, images_u8: torch.Tensor, text_source: dict[str, torch.Tensor],
                batches: list[tuple[torch.Tensor, torch.Tensor]], loss_fn, optimizer: torch.optim.Optimizer,
                scheduler, *, train_step, device: torch.device, precision: str = "auto", progress: bool = False,
                desc: str = "epoch") -> torch.Tensor:
    """One pass of ``train_step`` (a part: ``parts.step.train_step``) over ``batches``; return the loss
    of every step as a CPU tensor ``(len(batches),)``, read from the device once at the end.

    * ``images_u8``: ``(N, 3, S, S)`` uint8, on the CPU or resident on ``device``;
    * ``text_source``: caption tokens ``{"input_ids", "attention_mask": (M, L)}``, or the features of a
      frozen text encoder ``{"features": (M, D)}``, on the CPU or on ``device``;
    * ``batches``: ``[(image indices (b,), caption indices (b,)), ...]``, see :func:`clipdata.epoch_batches`.

    A step takes rows of both (copied to ``device`` unless already there), normalises the images
    (``(b, 3, S, S)`` float), and calls ``train_step`` on the model, or on an :class:`AutocastForward`
    view of it for bf16; the scheduler steps after every batch. The caller sets train/eval modes.
    With ``progress``, the bar shows the loss every :data:`SHOW_EVERY` steps (each look is a host sync).
    """
    from tqdm import tqdm

    prec = resolve_precision(precision, device)
    forward = AutocastForward(model, device.type) if prec.autocast else model
    losses = torch.zeros(len(batches), device=device)
    bar = tqdm(batches, desc=desc, disable=not progress, leave=False)
    for i, (img_idx, cap_idx) in enumerate(bar):
        images = clipdata.normalize(images_u8[img_idx.to(images_u8.device)].to(device))  # (b, 3, S, S)
        if prec.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if "features" in text_source:
            feats = text_source["features"]
            text = {"features": feats[cap_idx.to(feats.device)].to(device)}
        else:
            idx = cap_idx.to(text_source["input_ids"].device)
            text = {k: v.to(device) for k, v in clipdata.take_tokens(text_source, idx).items()}
        losses[i] = step_loss(train_step(forward, images, text, loss_fn, optimizer))
        scheduler.step()
        if progress and i % SHOW_EVERY == 0:
            bar.set_postfix(loss=f"{losses[i].item():.3f}")
    return losses.cpu()


#: With a progress bar, show the loss every this many steps (each look waits for the GPU).
SHOW_EVERY = 20


def step_loss(returned) -> torch.Tensor | float:
    """The loss a training step returned, checked: a 0-d tensor (or a number), with a clear error otherwise."""
    if isinstance(returned, (float, int)) or (torch.is_tensor(returned) and returned.numel() == 1):
        return returned.detach().reshape(()) if torch.is_tensor(returned) else returned
    raise ConfigError(f"train_step returned {type(returned).__name__} {returned!r:.80}; it must return the loss as a "
                      "detached 0-d tensor (see the docstring of clip/step.py)")


def trainable_state(model: nn.Module, frozen_text: bool) -> dict[str, torch.Tensor]:
    """The state dict without a frozen pretrained text encoder (rebuilt from its source on load)."""
    return {k: v for k, v in model.state_dict().items() if not (frozen_text and k.startswith("text."))}


def load_state(model: nn.Module, state: dict[str, torch.Tensor], frozen_text: bool) -> None:
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not (frozen_text and k.startswith("text."))]
    if missing or unexpected:
        raise ConfigError(f"checkpoint does not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")


def _config_of(run: Path) -> ClipConfig | None:
    path = run / "config.json"
    if not path.is_file():
        return None
    known = {f.name for f in fields(ClipConfig)}  # config.json also records the parts' fingerprint
    return ClipConfig(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})


def is_complete(run: Path) -> bool:
    return RunFolder(run, {}).complete


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, flush=True)


def train(cfg: ClipConfig, out: str | Path, *, parts: partslib.Parts | None = None, quiet: bool = False) -> dict:
    """Train (or resume, or just return) the run in ``out`` with the CLIP ``parts`` (default: the
    reference); return its ``metrics.json`` content."""
    from dlcourse.clip import evaluate

    parts = partslib.resolve(parts, "clip")
    folder = RunFolder(out, {**asdict(cfg), "parts": parts.fingerprint}, how=HOW_NOT_WHAT)
    out = folder.path
    saved = folder.saved_config()
    if folder.complete and not folder.differences(saved or {}):
        metrics = folder.metrics()
        _log(f"{out}: complete, reusing it ({metrics['data']}; {metrics['weights']['vision']}; "
             f"{metrics['weights']['text']})", quiet)
        return metrics

    t0 = time.perf_counter()
    device = resolve_device(cfg.device)
    # before anything is computed (the encoders' initialisation below): fixed threads, a resumed run's
    # recorded count (same seed, same bits on this CPU); the record is written once the folder is ours
    threads = reproducibility.configure(out, run=folder.what, write=False).threads
    torch.manual_seed(cfg.seed)
    progress = not quiet and sys.stderr.isatty()

    # data and encoders first: a missing data set or model leaves no run folder behind
    train_split = clipdata.prepare(cfg.data, "train", cfg.image_size, cfg.train_images, progress=progress)
    model, weights = build_model(cfg, parts=parts)
    loss_fn = make_loss(cfg.loss, parts)
    ckpt = folder.start()
    reproducibility.configure(out, threads=threads, run=folder.what)  # record the count for resumes
    lrs = learning_rates(cfg, weights)
    _log(f"CLIP {cfg.vision} + {cfg.text} on {train_split.data.describe()}", quiet)
    precision = resolve_precision(cfg.precision, device)
    _log(f"  parts: {parts.describe()}", quiet)
    _log(f"  weights: {weights['vision']}; {weights['text']}; device {device}, {precision.describe()}", quiet)
    model.to(device)
    if cfg.freeze_text:
        text_source = {"features": clipdata.text_features(model.text, train_split.texts, progress=progress)}
    else:
        text_source = model.text.tokenize(train_split.texts)  # every caption tokenised once: (M, L)
    images_u8, text_source = place_on_device(model, train_split.images, text_source, device=device,
                                             precision=cfg.precision)
    optimizer = make_optimizer(model, lrs, cfg.weight_decay)
    steps_per_epoch = len(clipdata.epoch_batches(train_split, cfg.batch_size, cfg.seed, 0))
    scheduler = make_scheduler(optimizer, steps_per_epoch * cfg.epochs)

    start, history = 0, []
    if ckpt is not None:
        load_state(model, ckpt["model"], cfg.freeze_text)
        if ckpt["optimizer"] is not None:  # None: training finished, only the evaluation was interrupted
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"], device)
        start, history = ckpt["epoch"], ckpt["history"]
        weights = ckpt["weights"]  # what the run STARTED from, even if other weights are available now
        _log(f"  resuming after epoch {start}", quiet)

    for epoch in range(start, cfg.epochs):
        model.train()
        if cfg.freeze_text:
            model.text.eval()  # no dropout inside a frozen encoder
        batches = clipdata.epoch_batches(train_split, cfg.batch_size, cfg.seed, epoch)
        losses = train_epoch(model, images_u8, text_source, batches, loss_fn, optimizer, scheduler,
                             train_step=parts.step.train_step, device=device, precision=cfg.precision,
                             progress=progress, desc=f"epoch {epoch + 1}/{cfg.epochs}")
        history.append({"epoch": epoch + 1, "loss": losses.mean().item(),
                        "temperature": float(1 / model.logit_scale.detach().exp())})
        _log(f"  epoch {epoch + 1}/{cfg.epochs}: loss {history[-1]['loss']:.4f}, "
             f"temperature {history[-1]['temperature']:.4f}", quiet)
        folder.save_checkpoint({"model": trainable_state(model, cfg.freeze_text), "optimizer": optimizer.state_dict(),
                                "scheduler": scheduler.state_dict(), "rng": rng_state(device), "epoch": epoch + 1,
                                "history": history, "weights": weights})

    test_split = clipdata.prepare(cfg.data, "test", cfg.image_size, cfg.test_images, progress=progress)
    _log(f"  evaluating on {test_split.data.describe()}", quiet)
    results = evaluate.evaluate(model, test_split, cfg, device=device, quiet=quiet, parts=parts)
    evaluate.save_grids(model, test_split, cfg, out, device=device, parts=parts)
    metrics = {
        "complete": True,
        "provenance": provenance(cfg.seed, device, duration_s=round(time.perf_counter() - t0, 1),
                                 parts=parts.describe()),
        "config": asdict(cfg),
        "parts": parts.record(),
        "data": train_split.data.describe(),
        "test_data": test_split.data.describe(),
        "split": test_split.data.split_source,  # standard Flickr8K split, or the hash split (not comparable)
        "weights": weights,
        "learning_rates": lrs,
        "precision": precision.describe(),
        "parameters": {"trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
                       "total": sum(p.numel() for p in model.parameters())},
        "history": history,
        "test": results,
    }
    # a finished run needs no optimizer state: drop it (it doubles or triples the checkpoint's size)
    folder.save_checkpoint({**folder.load_checkpoint(), "optimizer": None, "scheduler": None})
    return folder.update_metrics(**metrics)


def load_run(run: str | Path, device: str = "cpu", *,
             parts: partslib.Parts | None = None) -> tuple[nn.Module, ClipConfig, dict]:
    """The trained model of a run folder (eval mode) built from ``parts`` (default: the reference; it
    must be the code the run was trained with), its config and its metrics (may be empty)."""
    run = Path(run)
    cfg = _config_of(run)
    ckpt_path = run / "checkpoint.pt"
    if cfg is None or not ckpt_path.is_file():
        raise ConfigError(f"{run} is not a CLIP run folder (needs config.json and checkpoint.pt); "
                          "train one with `dlcourse clip train --out RUN`.")
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model, _ = build_model(cfg, vision_weights="none", parts=parts)  # the checkpoint holds the trained vision weights
    load_state(model, ckpt["model"], cfg.freeze_text)
    model.to(resolve_device(device)).eval()
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
    return model, cfg, metrics
