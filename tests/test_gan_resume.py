"""The DCGAN trainer survives SIGKILL: a killed and resumed run ends bit-identical to an uninterrupted one.

Both runs are real ``dlcourse gan train`` processes on a small subset (128 images, batch 32, 3 epochs);
they run side by side to halve the wall time. The first test pins one thread (``--threads 1``,
``OMP_NUM_THREADS=1``); the second runs the default path (torch's default thread count) and resumes
the killed run in an environment that asks for another thread count and for OpenMP's dynamic
adjustment, which :mod:`dlcourse.reproducibility` must neutralise.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ARGS = ["--epochs", "3", "--batch-size", "32", "--seed", "7", "--subset", "128", "--snapshots", "1", "3",
        "--device", "cpu"]
ONE_THREAD = (["--threads", "1"], {"OMP_NUM_THREADS": "1"})
# the default path: no --threads, and no thread settings in the environment
DEFAULT = ([], {})


def _start(out: Path, resume: bool = False, setup=ONE_THREAD) -> subprocess.Popen:
    flags, extra_env = setup
    cmd = [sys.executable, "-m", "dlcourse.cli", "gan", "train", *ARGS, *flags, "--out", str(out)]
    if resume:
        cmd.append("--resume")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_DYNAMIC")}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**env, **extra_env})


def _epochs_done(out: Path) -> int:
    try:
        return json.loads((out / "metrics.json").read_text())["epochs_done"]
    except (OSError, ValueError, KeyError):
        return 0


def _state(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _kill_mid_epoch_2_then_resume(tmp_path: Path, setup, resume_setup) -> tuple[Path, Path, str]:
    """Start an uninterrupted run and a victim side by side, SIGKILL the victim in epoch 2, resume it.

    Returns the two run folders and the resumed process's output, after both runs finished.
    """
    full, killed = tmp_path / "full", tmp_path / "killed"
    reference = _start(full, setup=setup)
    victim = _start(killed, setup=setup)
    # wait until epoch 1 is checkpointed, then let part of epoch 2 run before the SIGKILL
    deadline = time.monotonic() + 240
    while _epochs_done(killed) < 1:
        assert victim.poll() is None, victim.communicate()[0]
        assert time.monotonic() < deadline, "epoch 1 never finished"
        time.sleep(0.05)
    epoch_seconds = json.loads((killed / "metrics.json").read_text())["history"][0]["seconds"]
    time.sleep(0.4 * epoch_seconds)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert _state(killed)["epoch"] == 1, "the kill came after epoch 2 had finished: not a mid-epoch kill"
    # a kill during a save may leave a temporary file; the resumed run must clean it up (checked below)

    resumed = _start(killed, resume=True, setup=resume_setup)
    out_resumed = resumed.communicate(timeout=300)[0]
    out_full = reference.communicate(timeout=300)[0]
    assert resumed.returncode == 0, out_resumed
    assert reference.returncode == 0, out_full
    assert "epoch   2/3" in out_resumed and "epoch   1/3" not in out_resumed  # continued, did not restart
    return full, killed, out_resumed


def _assert_bit_identical(full: Path, killed: Path) -> None:
    a, b = _state(full), _state(killed)
    assert a["epoch"] == b["epoch"] == 3
    for key in ("generator", "discriminator", "opt_g", "opt_d"):
        assert _same(a[key], b[key]), f"{key} differs between the uninterrupted and the resumed run"
    assert _same(a["rng"], b["rng"])
    assert (full / "losses.csv").read_bytes() == (killed / "losses.csv").read_bytes()
    for snap in ("generator_epoch_001.pt", "generator_epoch_003.pt"):
        assert _same(torch.load(full / snap, weights_only=True), torch.load(killed / snap, weights_only=True))
    assert not list(killed.rglob(".*.tmp")), "temporary files left behind"
    assert not list(full.rglob(".*.tmp"))
    assert (killed / "progress.gif").is_file() and (killed / "losses.png").is_file()


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    full, killed, _ = _kill_mid_epoch_2_then_resume(tmp_path, ONE_THREAD, ONE_THREAD)
    _assert_bit_identical(full, killed)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@pytest.mark.skipif(_cpus() < 2, reason="the default thread count must differ from the resumed environment's 1")
def test_default_threads_resumed_in_another_thread_environment_is_bit_identical(tmp_path):
    """The default path, and a resume whose environment asks for 1 thread and OpenMP dynamic teams.

    Without the recorded thread count the resumed run would compute with 1 thread; the generator's
    BatchNorm1d statistics (one partial sum per thread) then give other bits from its first step on.
    """
    resume_env = ([], {"OMP_NUM_THREADS": "1", "OMP_DYNAMIC": "true"})
    full, killed, out_resumed = _kill_mid_epoch_2_then_resume(tmp_path, DEFAULT, resume_env)
    recorded = json.loads((killed / "reproducibility.json").read_text())["threads"]
    assert recorded >= 2, "the default path should use every CPU this process may use"
    assert f"continues with {recorded}, not 1" in out_resumed
    _assert_bit_identical(full, killed)
