"""The DCGAN trainer (Problem 3): the homework's 50 epochs, with checkpoints, resume, grids and logs.

It trains whichever parts it is given (:mod:`dlcourse.parts`: the student's networks, losses,
optimisers and step, or the reference's) and owns everything else: the data (the whole training set
resident on the device as one tensor; no DataLoader, since FashionMNIST is 47 MB as float32), the
device, CUDA graphs, host syncs (the losses are read once per epoch), the run folder and the logs.
What one run leaves behind (:class:`dlcourse.runfolder.RunFolder`)::

    run/
      config.json          the GanConfig and the fingerprint of the parts' code
      checkpoint.pt        latest epoch: G, D, both optimisers, RNG states, epoch, config (atomic)
      generator_epoch_010.pt  generator weights at each snapshot epoch (for metrics and the book)
      samples/epoch_010.png   fixed-noise grid at each snapshot epoch
      progress/epoch_001.png  fixed-noise grid after every epoch (for progress.gif)
      losses.csv           per-step losses: epoch, step, d_loss, g_loss
      losses.png, progress.gif
      metrics.json         provenance (command, seed, commit, device, parts, duration), per-epoch losses

Resume: a killed run restarts from the last completed epoch with every RNG state restored, so it
ends with weights identical to an uninterrupted run (on CPU; ``tests/test_gan_resume.py``).
"""

from __future__ import annotations

import csv
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from dlcourse import parts as partslib
from dlcourse import reproducibility
from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.gan.graphed import GraphedStep, set_capturable
from dlcourse.gan.spec import BATCH_SIZES, EPOCHS, NOISE_DIM, SNAPSHOT_EPOCHS
from dlcourse.io import provenance, save_torch_atomic
from dlcourse.runfolder import RunFolder, rng_state, set_rng_state

HOW_NOT_WHAT = ("device", "data_root", "cuda_graph")  # config keys that do not change what a run computes


@dataclass
class GanConfig:
    """Everything that defines a run (saved as config.json and inside every checkpoint)."""

    epochs: int = EPOCHS
    batch_size: int = 64  # the homework allows 16, 32 or 64
    seed: int = 0
    train_subset: int | None = None  # first N training images; None = all 60,000
    snapshot_epochs: tuple[int, ...] = SNAPSHOT_EPOCHS
    n_fixed: int = 64  # fixed-noise samples for progress grids (8 x 8)
    device: str = "auto"  # "auto" = CUDA when present
    data_root: str | None = None
    cuda_graph: bool = True  # on CUDA, replay full-batch steps as one CUDA graph (dlcourse.gan.graphed)

    def validate(self) -> None:
        if self.batch_size not in BATCH_SIZES:
            raise ConfigError(f"batch size {self.batch_size} is not one the homework allows: use one of {BATCH_SIZES}")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.train_subset is not None and self.train_subset < self.batch_size:
            raise ConfigError(f"train_subset={self.train_subset} is smaller than one batch ({self.batch_size})")


@dataclass
class RunResult:
    """What :func:`train` returns: the run directory and the trained networks."""

    out: Path
    generator: nn.Module
    discriminator: nn.Module
    epochs_done: int
    metrics: dict = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise ConfigError(f"unknown device {name!r}: use auto, cpu or cuda") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no CUDA GPU is visible; use --device auto or cpu")
    return dev


def fixed_noise(cfg: GanConfig) -> torch.Tensor:
    """The run's fixed noise ``(n_fixed, 100)``: the same for every epoch and every run with this seed."""
    return torch.randn(cfg.n_fixed, NOISE_DIM, generator=torch.Generator().manual_seed(cfg.seed + 10_000))


@torch.no_grad()
def sample_grid(generator: nn.Module, noise: torch.Tensor, path: Path, title: str | None = None) -> None:
    """Generate from ``noise`` in eval mode and save a square grid PNG (atomic)."""
    from torchvision.utils import save_image

    from dlcourse.io import atomic_path

    was = generator.training
    generator.eval()
    images = generator(noise.to(next(generator.parameters()).device)).cpu()
    generator.train(was)
    nrow = int(math.isqrt(len(images)))
    with atomic_path(path, suffix=".png") as tmp:
        save_image(images, tmp, nrow=nrow, normalize=True, value_range=(-1, 1), padding=2, format="png")


def _append_losses(path: Path, epoch: int, d: torch.Tensor, g: torch.Tensor) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["epoch", "step", "d_loss", "g_loss"])
        for i, (dl, gl) in enumerate(zip(d.tolist(), g.tolist())):
            w.writerow([epoch, i, f"{dl:.6f}", f"{gl:.6f}"])


def _truncate_losses(path: Path, last_epoch: int) -> None:
    """Keep only the rows of epochs ``<= last_epoch`` (a killed run may have logged a partial epoch)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = [rows[0]] + [r for r in rows[1:] if int(r[0]) <= last_epoch]
    if len(keep) == len(rows):
        return  # nothing to drop: leave the file (and its mtime) alone
    from dlcourse.io import atomic_path

    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(keep)


def step_losses(returned, parts: partslib.Parts) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(d_loss, g_loss)`` a training step returned, checked once with a message for its author."""
    if isinstance(returned, (tuple, list)) and len(returned) == 2:
        d, g = returned
        if all(isinstance(v, (torch.Tensor, float, int)) and (not torch.is_tensor(v) or v.numel() == 1)
               for v in (d, g)):
            return d, g
    raise DlcourseError(f"train_step of {parts.describe()} returned {type(returned).__name__} "
                        f"{returned!r:.80}; it must return (d_loss, g_loss), two detached 0-d tensors "
                        "(see the docstring of gan/step.py)")


def build(parts: partslib.Parts, device: torch.device) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer,
                                                                torch.optim.Optimizer]:
    """The networks and optimisers of ``parts`` on ``device``: ``(generator, discriminator, opt_g, opt_d)``."""
    generator, discriminator = parts.model.Generator().to(device), parts.model.Discriminator().to(device)
    opt_g, opt_d = parts.losses.make_optimizers(generator, discriminator)
    return generator, discriminator, opt_g, opt_d


def train(cfg: GanConfig, out: str | Path, *, parts: partslib.Parts | None = None, resume: bool = True,
          quiet: bool = False, stop_after_epoch: int | None = None) -> RunResult:
    """Train the DCGAN of ``parts`` (default: the reference) and write the run directory ``out``.

    With ``resume`` (default) an existing run with the same config and parts continues from its last
    checkpoint, and a finished one returns at once. ``stop_after_epoch`` ends early (tests).
    """
    cfg.validate()
    parts = partslib.resolve(parts, "gan")
    device = resolve_device(cfg.device)
    folder = RunFolder(out, {**asdict(cfg), "parts": parts.fingerprint}, how=HOW_NOT_WHAT)
    out = folder.path
    ckpt = folder.start(resume=resume)
    # before anything is computed: fixed threads, recorded for resumes (same seed, same bits on this CPU)
    reproducibility.configure(out, run=folder.what)

    torch.manual_seed(cfg.seed)  # weight init and dropout
    data_gen = torch.Generator().manual_seed(cfg.seed)  # data order and noise
    generator, discriminator, opt_g, opt_d = build(parts, device)
    train_step = parts.step.train_step

    start_epoch, elapsed, history = 0, 0.0, []
    if ckpt is not None:
        generator.load_state_dict(ckpt["generator"])
        discriminator.load_state_dict(ckpt["discriminator"])
        opt_g.load_state_dict(ckpt["opt_g"])
        opt_d.load_state_dict(ckpt["opt_d"])
        set_rng_state(ckpt["rng"], device, {"data": data_gen})
        start_epoch, elapsed, history = ckpt["epoch"], ckpt["elapsed_s"], ckpt["history"]
        for opt in (opt_g, opt_d):  # a checkpoint of either Adam mode resumes in this run's mode
            set_capturable(opt, False)
    _truncate_losses(out / "losses.csv", start_epoch)

    from dlcourse.data import fashion_mnist

    images, _ = fashion_mnist.tensors(train=True, root=Path(cfg.data_root) if cfg.data_root else None,
                                      limit=cfg.train_subset)
    images = images.to(device)  # (N, 1, 28, 28) in [-1, 1], resident for the whole run
    n = len(images)
    steps = math.ceil(n / cfg.batch_size)
    noise_fixed = fixed_noise(cfg)
    show_bar = not quiet and sys.stderr.isatty()
    graphed = (GraphedStep(generator, discriminator, opt_g, opt_d, cfg.batch_size, device, step=train_step,
                           quiet=quiet) if device.type == "cuda" and cfg.cuda_graph else None)
    meta = provenance(cfg.seed, device, config=asdict(cfg), train_images=n, parts=parts.describe(),
                      step="CUDA graph replay (dlcourse.gan.graphed)" if graphed else "eager")

    def draw() -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch's randomness from the data stream, on the CPU: order ``(n,)``, noise ``(steps, B, 100)``."""
        return (torch.randperm(n, generator=data_gen),
                torch.randn(steps, cfg.batch_size, NOISE_DIM, generator=data_gen))

    last = min(cfg.epochs, stop_after_epoch or cfg.epochs)
    upcoming = draw() if start_epoch < last else None
    for epoch in range(start_epoch + 1, last + 1):
        t0 = time.perf_counter()
        perm, noise = (t.to(device) for t in upcoming)
        d_hist = torch.zeros(steps, device=device)
        g_hist = torch.zeros(steps, device=device)
        generator.train()
        discriminator.train()
        for i in tqdm(range(steps), desc=f"epoch {epoch}/{cfg.epochs}", disable=not show_bar, leave=False):
            idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            if graphed is not None and graphed.active and len(idx) == cfg.batch_size:
                d_hist[i], g_hist[i] = graphed(images, idx, noise[i])
            else:  # the CPU, the last partial batch of an epoch, or a step that cannot be graphed
                d_hist[i], g_hist[i] = step_losses(train_step(generator, discriminator, opt_g, opt_d, images[idx],
                                                              noise[i, :len(idx)]), parts)
        # The next epoch's randomness is drawn now, before the sync: on a GPU the host would otherwise
        # idle here while the queued steps run, and the GPU would then wait for the draw. The draws
        # come in the same order as without prefetching, and the checkpoint keeps the stream's state
        # from before them, so CPU runs and resumes are unchanged bit for bit.
        state = rng_state(device, {"data": data_gen})
        upcoming = draw() if epoch < last else None
        d_cpu, g_cpu = d_hist.cpu(), g_hist.cpu()  # one host sync per epoch
        seconds = time.perf_counter() - t0
        elapsed += seconds
        history.append({"epoch": epoch, "d_loss": d_cpu.mean().item(), "g_loss": g_cpu.mean().item(),
                        "seconds": round(seconds, 3)})
        _append_losses(out / "losses.csv", epoch, d_cpu, g_cpu)
        sample_grid(generator, noise_fixed, out / "progress" / f"epoch_{epoch:03d}.png")
        if epoch in cfg.snapshot_epochs or epoch == cfg.epochs:
            sample_grid(generator, noise_fixed, out / "samples" / f"epoch_{epoch:03d}.png")
            save_torch_atomic(generator.state_dict(), out / f"generator_epoch_{epoch:03d}.pt")
        folder.save_checkpoint({
            "generator": generator.state_dict(), "discriminator": discriminator.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "rng": state, "epoch": epoch, "elapsed_s": elapsed, "history": history,
        })
        if not quiet:
            print(f"epoch {epoch:3d}/{cfg.epochs}  d_loss {history[-1]['d_loss']:.4f}  "
                  f"g_loss {history[-1]['g_loss']:.4f}  {seconds:6.1f} s", flush=True)
        _write_metrics(folder, meta, history, elapsed, cfg)

    done = history[-1]["epoch"] if history else 0
    if done == cfg.epochs and not folder.complete:
        finish(out)
        folder.update_metrics(complete=True)
    return RunResult(out, generator, discriminator, done, folder.metrics())


def _write_metrics(folder: RunFolder, meta: dict, history: list[dict], elapsed: float, cfg: GanConfig) -> None:
    folder.update_metrics(provenance=folder.metrics().get("provenance", meta), last_command=meta["command"],
                          epochs_done=history[-1]["epoch"], epochs=cfg.epochs, train_seconds=round(elapsed, 1),
                          history=history)


def finish(out: Path) -> None:
    """Draw the loss curves (losses.png) and the fixed-noise animation (progress.gif) of a run."""
    from dlcourse.gan.plots import loss_curves, progress_gif

    loss_curves(out / "losses.csv", out / "losses.png")
    progress_gif(sorted((out / "progress").glob("epoch_*.png")), out / "progress.gif")


def load_generator(path: str | Path, device: str | torch.device = "cpu", *,
                   parts: partslib.Parts | None = None) -> nn.Module:
    """The ``Generator`` of ``parts`` (default: the reference; eval mode, float32) with the weights of
    ``generator_epoch_XXX.pt`` (state dict), a full ``checkpoint.pt``, or an exported
    ``generator_epoch_XXX.safetensors`` (float16 is upcast)."""
    path = Path(path)
    if not path.is_file():
        raise DlcourseError(f"{path} does not exist: pass a generator_epoch_XXX.pt or checkpoint.pt of a run "
                            "(or an exported .safetensors)")
    hint = "pass a generator_epoch_XXX.pt / checkpoint.pt written by `dlcourse gan train`"
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle, zip and safetensors errors all mean "not our file"
        raise DlcourseError(f"{path} could not be read as a generator file ({type(e).__name__}: {e}); {hint}") from e
    if isinstance(state, dict) and "generator" in state:
        state = state["generator"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DlcourseError(f"{path} holds {type(state).__name__}, not a generator state dict; {hint}")
    parts = partslib.resolve(parts, "gan")
    gen = parts.model.Generator()
    try:
        gen.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise DlcourseError(f"{path} does not hold weights of the Generator of {parts.describe()} ({first}); "
                            f"{hint} with the same code") from e
    return gen.to(device).eval()
