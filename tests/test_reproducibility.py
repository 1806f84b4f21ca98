"""dlcourse.reproducibility: the thread count is fixed, recorded for a run folder and restored on resume;
OpenMP's dynamic adjustment is switched off even when the environment asks for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from dlcourse import reproducibility
from dlcourse.errors import DlcourseError


@pytest.fixture
def threads_restored():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_first_call_records_threads_and_machine(tmp_path, threads_restored):
    settings = reproducibility.configure(tmp_path, threads=2)
    assert settings.threads == torch.get_num_threads() == 2
    record = json.loads((tmp_path / reproducibility.RECORD).read_text())
    assert record == {"threads": 2, "machine": {"torch": torch.__version__,
                                                "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                                                "cpu": settings.machine.cpu}}


def test_resume_keeps_the_recorded_thread_count_and_says_so(tmp_path, capsys, threads_restored):
    reproducibility.configure(tmp_path, threads=2)
    settings = reproducibility.configure(tmp_path, threads=1)  # e.g. a resume with --threads 1
    assert settings.threads == torch.get_num_threads() == 2
    assert "continues with 2, not 1" in capsys.readouterr().err
    reproducibility.configure(tmp_path, threads=2)
    assert capsys.readouterr().err == ""  # nothing to say when nothing changes


def test_resume_on_another_machine_is_announced(tmp_path, capsys, threads_restored):
    machine = {"torch": "1.0", "cpu_capability": "AVX512", "cpu": "Some Other CPU"}
    (tmp_path / reproducibility.RECORD).write_text(json.dumps({"threads": 1, "machine": machine}))
    reproducibility.configure(tmp_path)
    err = capsys.readouterr().err
    assert "started on Some Other CPU (AVX512, torch 1.0)" in err and "not bit-identical" in err


def test_a_record_of_other_run_settings_is_replaced(tmp_path, capsys, threads_restored):
    """A run killed before its first checkpoint, then the folder reused for another run: the new run
    starts with the count asked for, and its record replaces the leftover."""
    reproducibility.configure(tmp_path, threads=2, run={"seed": 1, "snapshots": (10, 30)})
    settings = reproducibility.configure(tmp_path, threads=1, run={"seed": 2, "snapshots": (10, 30)})
    assert settings.threads == torch.get_num_threads() == 1
    assert capsys.readouterr().err == ""
    assert json.loads((tmp_path / reproducibility.RECORD).read_text())["threads"] == 1
    # the same settings (key order, tuple or list as JSON keeps them) are the same run: its count wins
    settings = reproducibility.configure(tmp_path, threads=2, run={"snapshots": [10, 30], "seed": 2})
    assert settings.threads == 1 and "continues with 1, not 2" in capsys.readouterr().err


def test_write_false_reads_but_never_writes(tmp_path, threads_restored):
    reproducibility.configure(tmp_path, threads=1, run={"seed": 1}, write=False)
    assert not (tmp_path / reproducibility.RECORD).exists()
    reproducibility.configure(tmp_path, threads=2, run={"seed": 1})
    before = (tmp_path / reproducibility.RECORD).read_text()
    assert reproducibility.configure(tmp_path, threads=1, run={"seed": 1}, write=False).threads == 2
    assert reproducibility.configure(tmp_path, threads=1, run={"seed": 9}, write=False).threads == 1
    assert (tmp_path / reproducibility.RECORD).read_text() == before  # another run's settings: not replaced


def test_no_record_without_a_folder(tmp_path, threads_restored):
    reproducibility.configure(tmp_path / "not-yet", threads=1)
    assert not (tmp_path / "not-yet").exists()  # the trainers create their folders, not this module


@pytest.mark.parametrize("text", ['{"threads": "two"}', '{"threads": 0, "machine": {"torch": "x", '
                                  '"cpu_capability": "AVX2", "cpu": "y"}}', "[1, 2]", "not json"])
def test_a_corrupt_record_gets_a_clear_error(tmp_path, threads_restored, text):
    (tmp_path / reproducibility.RECORD).write_text(text)
    with pytest.raises(DlcourseError, match="reproducibility.json is not a reproducibility record.*delete it"):
        reproducibility.configure(tmp_path)


def test_zero_threads_is_refused_with_the_fix(threads_restored):
    with pytest.raises(DlcourseError, match="0 CPU threads asked for: pass --threads N with N >= 1"):
        reproducibility.configure(threads=0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the OpenMP runtime in /proc/self/maps")
def test_openmp_dynamic_adjustment_is_switched_off():
    code = ("import ctypes, os, torch\n"
            "from dlcourse import reproducibility\n"
            "libs = [ctypes.CDLL(p, mode=os.RTLD_NOLOAD | os.RTLD_LAZY) for p in reproducibility._openmp_paths()]\n"
            "print([lib.omp_get_dynamic() for lib in libs])\n"
            "reproducibility.configure()\n"
            "print([lib.omp_get_dynamic() for lib in libs])\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "OMP_DYNAMIC": "true"},
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] not in ("[]", "") and set(out[0].strip("[]").split(", ")) == {"1"}, out  # the environment's wish
    assert set(out[1].strip("[]").split(", ")) == {"0"}, out


@pytest.mark.parametrize("threads", ["0", "-1"])
def test_cli_refuses_a_thread_count_below_one(tmp_path, capsys, threads):
    from dlcourse.cli import main

    assert main(["gan", "train", "--threads", threads, "--epochs", "1", "--subset", "64",
                 "--out", str(tmp_path / "run")]) == 2
    assert f"--threads {threads}: pass a number of CPU threads >= 1" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@pytest.mark.skipif(_cpus() < 2, reason="needs 2 CPUs: a 2-thread run resumed with --threads 1")
def test_trainer_resumed_with_another_threads_flag_keeps_the_runs_count(tmp_path, capsys, threads_restored):
    """The notebook's path (``train.train`` in-process) for 1 of 2 epochs with 2 threads, then the CLI
    with ``--resume --threads 1``: the run finishes with 2 threads, says so, and ends bit-identical to
    an uninterrupted 2-thread run. A 1-thread run gives other bits, so the comparison can fail."""
    from dlcourse.cli import main
    from dlcourse.gan.train import GanConfig, train

    cfg = dict(epochs=2, batch_size=32, seed=5, train_subset=128, snapshot_epochs=(2,), device="cpu")
    cli = ["gan", "train", "--epochs", "2", "--batch-size", "32", "--seed", "5", "--subset", "128",
           "--snapshots", "2", "--device", "cpu", "--quiet"]
    torch.set_num_threads(2)
    train(GanConfig(**cfg), tmp_path / "full", quiet=True)
    train(GanConfig(**cfg), tmp_path / "resumed", quiet=True, stop_after_epoch=1)
    assert json.loads((tmp_path / "resumed" / reproducibility.RECORD).read_text())["threads"] == 2
    assert main([*cli, "--threads", "1", "--resume", "--out", str(tmp_path / "resumed")]) == 0
    assert "was started with 2 CPU thread(s); it continues with 2, not 1" in capsys.readouterr().err
    assert torch.get_num_threads() == 2
    assert main([*cli, "--threads", "1", "--out", str(tmp_path / "one")]) == 0

    def weights(run):
        ckpt = torch.load(tmp_path / run / "checkpoint.pt", map_location="cpu", weights_only=True)
        assert ckpt["epoch"] == 2
        return [*ckpt["generator"].values(), *ckpt["discriminator"].values()]

    full = weights("full")
    assert all(torch.equal(a, b) for a, b in zip(full, weights("resumed"), strict=True))
    assert (tmp_path / "full" / "losses.csv").read_bytes() == (tmp_path / "resumed" / "losses.csv").read_bytes()
    assert not all(torch.equal(a, b) for a, b in zip(full, weights("one"), strict=True)), \
        "a 1-thread run gave the 2-thread bits: this test could not see a resume with the wrong count"
