"""Committed artifacts of the real 50-epoch run: export them from a run, find them, regenerate grids.

A full-profile run takes hours on a CPU, so its results are committed in a small folder that the
book reads at build time (``docs/artifacts/gan-full-bs64/``)::

    manifest.json                       provenance (command, seed, commit, device, duration),
                                        config, per-epoch losses, a coarse loss curve, metrics
    generator_epoch_010.safetensors     generator weights at each snapshot epoch, float16
                                        (4.6 MB each; the book upcasts them to float32)

Grids are *not* committed as pictures: the book regenerates them from these weights with the run's
fixed noise (:func:`dlcourse.gan.train.fixed_noise`), so what it shows is computed, not pasted.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import torch

from dlcourse.errors import DlcourseError
from dlcourse.io import atomic_path, file_hash, provenance, write_json_atomic

DEFAULT_NAME = "gan-full-bs64"
WEIGHTS_PATTERN = "generator_epoch_{epoch:03d}.safetensors"
MAX_TOTAL_BYTES = 15 * 1024 * 1024
CURVE_POINTS = 1000  # the exported loss curve is averaged down to about this many points


def repo_root() -> Path:
    """The source checkout the package is imported from (``dlcourse/gan/artifacts.py`` -> repo)."""
    return Path(__file__).resolve().parents[2]


def artifact_dir(name: str = DEFAULT_NAME) -> Path:
    """``<repo>/docs/artifacts/<name>`` (it may not exist)."""
    return repo_root() / "docs" / "artifacts" / name


def find(name: str = DEFAULT_NAME) -> Path | None:
    """The artifact folder when it holds a manifest, else ``None`` (an installed wheel has none)."""
    d = artifact_dir(name)
    return d if (d / "manifest.json").is_file() else None


def read_manifest(folder: str | Path) -> dict:
    """The manifest of an artifact folder, with a clear error when it is missing or broken."""
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DlcourseError(f"{path} does not exist: export a run first with "
                            f"`dlcourse gan export RUN --out {Path(folder)}`") from None
    except json.JSONDecodeError as e:
        raise DlcourseError(f"{path} is not valid JSON ({e}); re-export the run") from e


def _sha256(path: Path) -> str:
    return file_hash(path, "sha256")


def _coarse_curve(losses_csv: Path, points: int = CURVE_POINTS) -> dict:
    """Per-step losses averaged in blocks: ``{"x_epoch": [...], "d_loss": [...], "g_loss": [...]}``."""
    with open(losses_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    steps = {}
    for r in rows:
        steps[int(r["epoch"])] = max(steps.get(int(r["epoch"]), 0), int(r["step"]) + 1)
    per_epoch = max(steps.values())
    block = max(1, math.ceil(len(rows) / points))
    out = {"block_steps": block, "x_epoch": [], "d_loss": [], "g_loss": []}
    for i in range(0, len(rows), block):
        chunk = rows[i:i + block]
        mid = chunk[len(chunk) // 2]
        out["x_epoch"].append(round(int(mid["epoch"]) - 1 + int(mid["step"]) / per_epoch, 4))
        out["d_loss"].append(round(sum(float(r["d_loss"]) for r in chunk) / len(chunk), 5))
        out["g_loss"].append(round(sum(float(r["g_loss"]) for r in chunk) / len(chunk), 5))
    return out


def export_run(run: str | Path, out: str | Path, epochs: list[int] | None = None) -> dict:
    """Write the snapshot generators of ``run`` as float16 safetensors plus ``manifest.json`` into ``out``.

    Only completed snapshot epochs are exported (a running run can be exported again later: files
    are replaced atomically). Returns the manifest.
    """
    from safetensors.torch import save_file

    from dlcourse.gan.metrics import snapshot_generators
    from dlcourse.gan.train import load_generator

    run, out = Path(run), Path(out)
    if not (run / "config.json").is_file():
        raise DlcourseError(f"{run} is not a DCGAN run directory (no config.json): pass the --out of "
                            "`dlcourse gan train`")
    snaps = snapshot_generators(run)
    if epochs:
        missing = sorted(set(epochs) - set(snaps))
        if missing:
            raise DlcourseError(f"{run} has no generator snapshot for epoch(s) {missing} yet; it has {sorted(snaps)}")
        snaps = {e: snaps[e] for e in epochs}
    if not snaps:
        raise DlcourseError(f"{run} has no generator_epoch_XXX.pt snapshot yet (the first comes at the first "
                            "snapshot epoch); nothing to export")
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
    out.mkdir(parents=True, exist_ok=True)
    files, total = {}, 0
    for epoch, path in sorted(snaps.items()):
        gen = load_generator(path)
        tensors = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in gen.state_dict().items()}
        target = out / WEIGHTS_PATTERN.format(epoch=epoch)
        with atomic_path(target, suffix=".safetensors") as tmp:
            save_file(tensors, str(tmp), metadata={"epoch": str(epoch), "dtype": "float16",
                                                   "source": path.name})
        total += target.stat().st_size
        files[str(epoch)] = {"file": target.name, "sha256": _sha256(target), "source_sha1": metrics_sha1(path)}
    if total > MAX_TOTAL_BYTES:
        raise DlcourseError(f"exported weights take {total / 2**20:.1f} MB, over the {MAX_TOTAL_BYTES / 2**20:.0f} MB "
                            "budget for committed artifacts: export fewer --epochs")
    history = metrics.get("history", [])
    evaluation = metrics.get("evaluation", {})
    manifest = {
        "what": "DCGAN generator snapshots of a dlcourse training run (Problem 3), float16 safetensors",
        "run": run.name,
        "config": config,
        "provenance": metrics.get("provenance", {}),
        "last_command": metrics.get("last_command"),
        "epochs_done": metrics.get("epochs_done", max(snaps)),
        "epochs": metrics.get("epochs", config.get("epochs")),
        "train_seconds": metrics.get("train_seconds"),
        "history": history,
        "loss_curve": _coarse_curve(run / "losses.csv") if (run / "losses.csv").is_file() else {},
        "snapshots": files,
        "evaluation": evaluation,
        "export": {**provenance(config.get("seed")), "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }
    write_json_atomic(out / "manifest.json", manifest)
    return manifest


def metrics_sha1(path: Path) -> str:
    """sha1 of a snapshot file, the key :func:`dlcourse.gan.metrics.evaluate_run` stores with its results."""
    from dlcourse.gan.metrics import _sha1

    return _sha1(path)


def load_generator(folder: str | Path, epoch: int, device: str | torch.device = "cpu"):
    """The float32 :class:`~dlcourse.gan.model.Generator` of ``epoch`` from an artifact folder (eval mode)."""
    from dlcourse.gan.train import load_generator as load

    manifest = read_manifest(folder)
    entry = manifest.get("snapshots", {}).get(str(epoch))
    if entry is None:
        raise DlcourseError(f"{folder} has no snapshot for epoch {epoch}; it has "
                            f"{sorted(int(e) for e in manifest.get('snapshots', {}))}")
    path = Path(folder) / entry["file"]
    if path.is_file() and _sha256(path) != entry["sha256"]:
        raise DlcourseError(f"{path} does not match the sha256 in its manifest (modified or truncated): "
                            "re-export or restore it from git")
    return load(path, device)


@torch.no_grad()
def regenerate_grid(folder: str | Path, epoch: int) -> torch.Tensor:
    """The fixed-noise samples of ``epoch`` regenerated from committed weights: ``(n_fixed, 1, 28, 28)``."""
    from dataclasses import fields

    from dlcourse.gan.train import GanConfig, fixed_noise

    manifest = read_manifest(folder)
    known = {f.name for f in fields(GanConfig)}  # config.json also records the parts' fingerprint
    cfg = GanConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in manifest["config"].items()
                       if k in known})
    return load_generator(folder, epoch)(fixed_noise(cfg)).float()


def available_epochs(folder: str | Path) -> list[int]:
    """Snapshot epochs listed in an artifact folder's manifest."""
    return sorted(int(e) for e in read_manifest(folder).get("snapshots", {}))
