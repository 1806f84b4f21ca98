"""Figures of a DCGAN run: loss curves and the fixed-noise progress animation."""

from __future__ import annotations

import csv
from pathlib import Path

from dlcourse.io import atomic_path


def read_losses(path: Path) -> dict[str, list[float]]:
    """losses.csv -> ``{"epoch": [...], "step": [...], "d_loss": [...], "g_loss": [...]}``."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in ("epoch", "step", "d_loss", "g_loss")}


def loss_curves(csv_path: Path, png_path: Path | None = None, ax=None, smooth: int = 50):
    """Per-step D and G losses (light) with a moving average (bold), x axis in epochs."""
    import matplotlib

    if ax is None:
        matplotlib.use("Agg") if png_path is not None else None
    import matplotlib.pyplot as plt
    import numpy as np

    data = read_losses(csv_path)
    epochs = np.asarray(data["epoch"])
    steps_per_epoch = np.bincount(epochs.astype(int))[1:].max()
    x = (epochs - 1) + np.asarray(data["step"]) / steps_per_epoch
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7, 3.5))
    for key, color, label in (("d_loss", "C0", "discriminator"), ("g_loss", "C1", "generator")):
        y = np.asarray(data[key])
        ax.plot(x, y, color=color, alpha=0.2, lw=0.5)
        k = max(1, min(smooth, len(y) // 5))
        ax.plot(x[k - 1:], np.convolve(y, np.ones(k) / k, mode="valid"), color=color, lw=1.5, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("BCE loss")
    ax.legend()
    ax.grid(alpha=0.3)
    if own and png_path is not None:
        fig.tight_layout()
        with atomic_path(png_path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        plt.close(fig)
    return ax


def progress_gif(frames: list[Path], gif_path: Path, seconds_per_frame: float = 0.4) -> None:
    """Assemble the per-epoch grids into an animated GIF (atomic)."""
    import imageio.v3 as iio

    if not frames:
        return
    images = [iio.imread(p) for p in frames]
    with atomic_path(gif_path, suffix=".gif") as tmp:
        iio.imwrite(tmp, images, extension=".gif", duration=int(seconds_per_frame * 1000), loop=0)
