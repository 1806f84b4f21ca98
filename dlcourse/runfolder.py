"""One training run on disk, shared by both trainers: settings, checkpoint with RNG state, metrics, completeness.

::

    run/
      config.json     what the run computes: its settings and the fingerprint of the parts' code
      checkpoint.pt   the latest state (whatever the trainer saves) plus RNG states, epoch and config
      metrics.json    provenance and results; ``"complete": true`` once the run is finished

A folder belongs to one run. Settings that change *what* is computed must match to resume; those
that only change *how* or *where* (the device, say) may differ, so a run started on a GPU can be
finished on a CPU. Every file is written atomically (temporary file, then ``os.replace``), so a
killed trainer leaves the last complete state behind, and its stray temporary files are removed on
the next start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.io import save_torch_atomic, write_json_atomic


def _plain(value: Any) -> Any:
    """JSON's view of a value (tuples are lists there), so saved and current settings compare equal."""
    return json.loads(json.dumps(value, default=str))


class RunFolder:
    """The folder of one run with settings ``config``; keys in ``how`` may differ on resume."""

    def __init__(self, path: str | os.PathLike, config: dict[str, Any], *, how: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self.config = _plain(config)
        self.how = frozenset(how)

    config_path = property(lambda self: self.path / "config.json")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")
    metrics_path = property(lambda self: self.path / "metrics.json")

    # ------------------------------------------------------------------ settings

    @property
    def what(self) -> dict[str, Any]:
        """The settings that define what the run computes (``config`` without the ``how`` keys)."""
        return {k: v for k, v in self.config.items() if k not in self.how}

    def differences(self, saved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """``{key: (saved, now)}`` for every setting that changes what the run computes."""
        saved = _plain(saved)
        keys = (set(saved) | set(self.config)) - self.how
        return {k: (saved.get(k), self.config.get(k)) for k in sorted(keys) if saved.get(k) != self.config.get(k)}

    def saved_config(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.config_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as e:
            raise DlcourseError(f"{self.config_path} is not valid JSON ({e}): it was edited by hand or damaged; "
                                "delete the run folder or choose another --out") from e

    def start(self, *, resume: bool = True) -> dict[str, Any] | None:
        """Open the folder for this run: refuse another run's folder, clean up after a killed writer,
        record the settings; return the checkpoint to resume from, or ``None`` for a fresh start.

        With ``resume=False`` a folder that already holds a checkpoint is refused rather than overwritten.
        """
        has_state = self.checkpoint_path.is_file() or self.complete
        saved = self.saved_config()
        if saved is not None and has_state:
            diff = self.differences(saved)
            if diff:
                listed = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
                raise ConfigError(f"{self.path} holds a run with other settings ({listed}; saved -> now): resume it "
                                  "with its own settings, or choose another --out (or delete that folder)")
        if self.checkpoint_path.is_file() and not resume:
            raise DlcourseError(f"{self.path} already holds a run (checkpoint.pt); pass --resume to continue it "
                                "or choose another --out")
        self.path.mkdir(parents=True, exist_ok=True)
        self.remove_stale_temp_files()
        write_json_atomic(self.config_path, self.config)
        return self.load_checkpoint()

    # ------------------------------------------------------------------ checkpoint

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
        if not self.checkpoint_path.is_file():
            return None
        try:
            return torch.load(self.checkpoint_path, map_location=map_location, weights_only=True)
        except Exception as e:  # noqa: BLE001 - zip, pickle and unpickler errors all mean "not a checkpoint of ours"
            raise DlcourseError(f"{self.checkpoint_path} cannot be read ({type(e).__name__}: {e}); delete it to "
                                "restart the run from scratch, or choose another --out") from e

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``state`` plus the run's settings as ``checkpoint.pt`` (atomically)."""
        save_torch_atomic({**state, "config": self.config}, self.checkpoint_path)

    # ------------------------------------------------------------------ metrics

    def metrics(self) -> dict[str, Any]:
        try:
            return json.loads(self.metrics_path.read_text())
        except (OSError, ValueError):
            return {}

    def update_metrics(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into ``metrics.json`` (re-read first: an evaluator may have added to it)."""
        record = {**self.metrics(), **fields}
        write_json_atomic(self.metrics_path, record)
        return record

    @property
    def complete(self) -> bool:
        return bool(self.metrics().get("complete", False))

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete temporary files a killed writer left (``.<name>.<random>.<ext>.tmp``, see ``io.atomic_path``).

        ``atomic_path`` removes its temporary file on any exception, but a SIGKILL during a write
        skips that; the final files are never affected (``os.replace``).
        """
        stale = [p for p in self.path.rglob(".*.tmp") if p.is_file()] if self.path.is_dir() else []
        for p in stale:
            p.unlink(missing_ok=True)
        return stale


def rng_state(device: torch.device, generators: dict[str, torch.Generator] | None = None) -> dict[str, torch.Tensor]:
    """The global CPU (and CUDA, on a GPU) RNG states and those of ``generators``, for a checkpoint."""
    state = {"torch": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    for name, gen in (generators or {}).items():
        state[name] = gen.get_state()
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device,
                  generators: dict[str, torch.Generator] | None = None) -> None:
    """Restore what :func:`rng_state` saved (a CUDA state is skipped when resuming on a CPU)."""
    torch.set_rng_state(state["torch"])
    if torch.device(device).type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
    for name, gen in (generators or {}).items():
        gen.set_state(state[name])
