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
    """Per-step D and G losses (light) with a moving average (bold), x axis in epochs.

    Draws on ``ax`` when given (a notebook); otherwise on a standalone matplotlib ``Figure`` saved to
    ``png_path`` (atomic). It never touches pyplot's global state or backend, so a trainer running
    inside a notebook does not switch the notebook's inline backend off.
    """
    import numpy as np

    data = read_losses(csv_path)
    epochs = np.asarray(data["epoch"])
    steps_per_epoch = np.bincount(epochs.astype(int))[1:].max()
    x = (epochs - 1) + np.asarray(data["step"]) / steps_per_epoch
    fig = None
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 3.5))
        ax = fig.subplots()
    for key, color, label in (("d_loss", "C0", "discriminator"), ("g_loss", "C1", "generator")):
        y = np.asarray(data[key])
        ax.plot(x, y, color=color, alpha=0.2, lw=0.5)
        k = max(1, min(smooth, len(y) // 5))
        ax.plot(x[k - 1:], np.convolve(y, np.ones(k) / k, mode="valid"), color=color, lw=1.5, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("BCE loss")
    ax.legend()
    ax.grid(alpha=0.3)
    if fig is not None and png_path is not None:
        fig.tight_layout()
        with atomic_path(png_path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    return ax


def progress_gif(frames: list[Path], gif_path: Path, seconds_per_frame: float = 0.4) -> None:
    """Assemble the per-epoch grids into an animated GIF (atomic)."""
    import imageio.v3 as iio

    if not frames:
        return
    images = [iio.imread(p) for p in frames]
    with atomic_path(gif_path, suffix=".gif") as tmp:
        iio.imwrite(tmp, images, extension=".gif", duration=int(seconds_per_frame * 1000), loop=0)


def show_images(images, ax, title: str | None = None, nrow: int = 8) -> None:
    """Draw ``(N, 1, 28, 28)`` images in ``[-1, 1]`` as one grid on ``ax`` (black = -1)."""
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().cpu().float(), nrow=nrow, padding=2, normalize=True, value_range=(-1, 1),
                     pad_value=1.0)
    ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)


def show_png(path: Path, ax, title: str | None = None) -> None:
    """Draw a saved grid (``samples/epoch_XXX.png``) on ``ax``."""
    import matplotlib.image as mpimg

    ax.imshow(mpimg.imread(path), cmap="gray")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)


def curve(curve: dict, ax) -> None:
    """Draw an exported coarse loss curve (``manifest["loss_curve"]``) on ``ax``."""
    for key, color, label in (("d_loss", "C0", "discriminator"), ("g_loss", "C1", "generator")):
        ax.plot(curve["x_epoch"], curve[key], color=color, lw=1, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"BCE loss (mean of {curve['block_steps']} steps)")
    ax.legend()
    ax.grid(alpha=0.3)


def class_bars(fractions: dict[str, list[float]], ax, classes=None) -> None:
    """Grouped bars: the share of each predicted class, one group per label (e.g. per epoch)."""
    import numpy as np

    from dlcourse.data.fashion_mnist import CLASSES

    classes = classes or CLASSES
    width = 0.8 / max(1, len(fractions))
    x = np.arange(len(classes))
    for i, (label, frac) in enumerate(fractions.items()):
        ax.bar(x + i * width, frac, width, label=label)
    ax.axhline(0.1, color="k", lw=0.8, ls="--", label="test set (uniform)")
    ax.set_xticks(x + 0.4 - width / 2, classes, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("share of samples")
    ax.legend(fontsize=8)


def trend(a: float, b: float, lower_is_better: bool = True) -> str:
    """Which way a metric moved from ``a`` to ``b``, in words (changes within 2% count as no change)."""
    if abs(b - a) <= 0.02 * max(abs(a), abs(b), 1e-12):
        return "stayed about the same"
    better = (b < a) == lower_is_better
    return f"{'fell' if b < a else 'rose'} ({'better' if better else 'worse'})"
