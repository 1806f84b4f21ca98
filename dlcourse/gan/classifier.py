"""A small FashionMNIST classifier: the cheap judge of generated samples (Problem 3).

Inception features are the standard for FID, but InceptionV3 at 299x299 costs a fraction of a
second per image on a CPU. A small CNN trained on FashionMNIST itself answers two questions for a
few milliseconds per thousand images:

* **mode coverage**: which classes does the generator produce? (histogram of predicted classes);
* **classifier Frechet distance**: the Frechet distance between the 128-d penultimate features of
  generated and real test images (the FID recipe with a domain-specific feature extractor).

The network is trained once (three epochs over the 60,000 training images; about 91 % test accuracy)
and cached atomically in the data root as ``<data root>/gan/fashion_cnn_seed{seed}.pt`` together
with its test accuracy and training time.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.errors import DlcourseError
from dlcourse.io import save_torch_atomic

FEATURE_DIM = 128


@dataclass
class ClassifierConfig:
    """How the judge is trained (saved inside its cache file)."""

    epochs: int = 3
    batch_size: int = 256
    lr: float = 3e-3  # peak of a one-cycle schedule
    seed: int = 0
    version: int = 2  # bump when the architecture or recipe changes: old caches are retrained


class FashionCNN(nn.Module):
    """``(B, 1, 28, 28)`` images in ``[-1, 1]`` -> ``(B, 10)`` class logits.

    Two 3x3 convolutions with stride 2 (32 and 64 channels, BatchNorm, ReLU): ``28 -> 14 -> 7``, then
    a 128-d dense layer whose activations are the features of the Frechet distance. Strided
    convolutions instead of max-pooling keep it cheap on a CPU (about 1.2 M multiply-adds per image).
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),   # -> (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),  # -> (B, 64, 7, 7)
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU(),                              # -> (B, 128)
        )
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, 28, 28)`` -> ``(B, 128)`` penultimate activations."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def cache_path(root: Path | None = None, seed: int = 0) -> Path:
    """Where the trained judge is cached: ``<data root>/gan/fashion_cnn_seed{seed}.pt``."""
    from dlcourse.data.paths import data_root

    return (root or data_root()) / "gan" / f"fashion_cnn_seed{seed}.pt"


@torch.no_grad()
def accuracy(model: FashionCNN, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    """Top-1 accuracy of ``model`` on ``images`` ``(N, 1, 28, 28)`` with ``labels`` ``(N,)``."""
    model.eval()
    correct = sum((model(images[i:i + batch]).argmax(1) == labels[i:i + batch]).sum().item()
                  for i in range(0, len(images), batch))
    return correct / len(images)


def train_classifier(cfg: ClassifierConfig | None = None, root: Path | None = None,
                     quiet: bool = False) -> tuple[FashionCNN, dict]:
    """Train the judge on the 60,000 training images; returns ``(model, info)`` (info: accuracy, seconds).

    Data stay resident as one tensor (no DataLoader); the order is drawn from a seeded generator, so
    the same seed gives the same network on the same machine and thread count.
    """
    from tqdm import tqdm

    from dlcourse.data import fashion_mnist

    cfg = cfg or ClassifierConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    x, y = fashion_mnist.tensors(train=True, root=root)
    model = FashionCNN()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = math.ceil(len(x) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps)
    t0 = time.perf_counter()
    show_bar = not quiet and sys.stderr.isatty()
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in tqdm(range(steps), desc=f"classifier epoch {epoch + 1}/{cfg.epochs}", disable=not show_bar,
                      leave=False):
            idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if not quiet:
            print(f"classifier epoch {epoch + 1}/{cfg.epochs}: last batch loss {loss.item():.3f}", flush=True)
    seconds = time.perf_counter() - t0
    xt, yt = fashion_mnist.tensors(train=False, root=root)
    info = {"test_accuracy": accuracy(model, xt, yt), "train_seconds": round(seconds, 1),
            "threads": torch.get_num_threads(), "config": asdict(cfg)}
    return model.eval(), info


def load_classifier(root: Path | None = None, seed: int = 0, *, train_if_missing: bool = True,
                    quiet: bool = False) -> tuple[FashionCNN, dict]:
    """The cached judge ``(model, info)``; trains and caches it (atomically) when absent or outdated."""
    path = cache_path(root, seed)
    cfg = ClassifierConfig(seed=seed)
    if path.is_file():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            if blob.get("info", {}).get("config") == asdict(cfg):
                model = FashionCNN()
                model.load_state_dict(blob["model"])
                return model.eval(), blob["info"]
        except (RuntimeError, KeyError, AttributeError, OSError) as e:
            if not train_if_missing:
                raise DlcourseError(f"{path} is not a valid classifier cache ({e}); delete it to retrain") from e
    if not train_if_missing:
        raise DlcourseError(f"no trained FashionMNIST classifier at {path}: run `dlcourse gan classifier` first")
    if not quiet:
        print(f"training the FashionMNIST judge classifier (cached in {path}) ...", flush=True)
    model, info = train_classifier(cfg, root, quiet=quiet)
    save_torch_atomic({"model": model.state_dict(), "info": info}, path)
    if not quiet:
        print(f"classifier test accuracy {info['test_accuracy']:.4f} ({info['train_seconds']:.0f} s)", flush=True)
    return model, info


@torch.no_grad()
def predict(model: FashionCNN, images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, 1, 28, 28)`` -> ``(features (N, 128) float64, predicted class (N,))``."""
    model.eval()
    feats, preds = [], []
    for i in range(0, len(images), batch):
        f = model.features(images[i:i + batch].float())
        feats.append(f.double())
        preds.append(model.head(f).argmax(1))
    return torch.cat(feats), torch.cat(preds)
