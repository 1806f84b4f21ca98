"""The trainer's CUDA-graph path (dlcourse.gan.graphed): what a CPU can check, and, on a machine with a
GPU, that replaying the step trains like the eager step and that its checkpoints resume on a CPU."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from dlcourse.gan.graphed import GraphedStep, set_capturable
from dlcourse.gan.losses import make_optimizers
from dlcourse.gan.model import Discriminator, Generator
from dlcourse.gan.spec import NOISE_DIM
from dlcourse.gan.step import train_step
from dlcourse.gan.train import HOW_NOT_WHAT, GanConfig, train
from dlcourse.runfolder import RunFolder

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _stepped_optimizers():
    torch.manual_seed(0)
    g, d = Generator(), Discriminator()
    opt_g, opt_d = make_optimizers(g, d)
    train_step(g, d, opt_g, opt_d, torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, NOISE_DIM))
    return opt_g, opt_d


def test_set_capturable_switches_the_mode_and_keeps_the_counters():
    opt_g, _ = _stepped_optimizers()
    steps = [s["step"].clone() for s in opt_g.state.values()]
    set_capturable(opt_g, True)
    assert all(group["capturable"] for group in opt_g.param_groups)
    set_capturable(opt_g, False)
    assert not any(group["capturable"] for group in opt_g.param_groups)
    after = [s["step"] for s in opt_g.state.values()]
    assert all(a.device.type == "cpu" and torch.equal(a, b) for a, b in zip(after, steps))


def test_graphed_step_refuses_a_cpu_device():
    g, d = Generator(), Discriminator()
    with pytest.raises(ValueError, match="CUDA graphs need a CUDA device"):
        GraphedStep(g, d, *make_optimizers(g, d), 64, torch.device("cpu"), step=train_step)


def test_cuda_graph_setting_does_not_change_what_a_run_is(tmp_path):
    """It is a how-to-run option like --device: a run resumes whichever way it is set (on a CPU it is moot)."""
    base = dict(epochs=2, batch_size=64, seed=1, train_subset=64, snapshot_epochs=(2,), device="cpu")
    a, b = asdict(GanConfig(**base, cuda_graph=True)), asdict(GanConfig(**base, cuda_graph=False))
    assert not RunFolder(tmp_path, a, how=HOW_NOT_WHAT).differences(b)
    train(GanConfig(**base, cuda_graph=True), tmp_path, quiet=True, stop_after_epoch=1)
    result = train(GanConfig(**base, cuda_graph=False), tmp_path, quiet=True)
    assert result.epochs_done == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["provenance"]["step"] == "eager"


@cuda
def test_graph_replay_trains_like_the_eager_step_on_a_gpu(tmp_path):
    """Same seed, same batches: the replayed run's losses follow the eager run's.

    Not bit for bit: capturable Adam computes its bias corrections on the GPU, and the two runs use
    different kernels; the losses must still agree closely over a few epochs.
    """
    base = dict(epochs=2, batch_size=64, seed=0, train_subset=640 + 32, snapshot_epochs=(2,), device="cuda")
    eager = train(GanConfig(**base, cuda_graph=False), tmp_path / "eager", quiet=True)
    graph = train(GanConfig(**base, cuda_graph=True), tmp_path / "graph", quiet=True)
    meta = json.loads((tmp_path / "graph" / "metrics.json").read_text())
    assert meta["provenance"]["step"].startswith("CUDA graph")
    for a, b in zip(eager.metrics["history"], graph.metrics["history"]):
        print(f"epoch {a['epoch']}: D {a['d_loss']:.5f} vs {b['d_loss']:.5f}, G {a['g_loss']:.5f} vs {b['g_loss']:.5f}")
        assert b["d_loss"] == pytest.approx(a["d_loss"], rel=0.05)
        assert b["g_loss"] == pytest.approx(a["g_loss"], rel=0.05)
    for p in graph.generator.parameters():
        assert torch.isfinite(p).all()


@cuda
def test_a_graphed_gpu_checkpoint_resumes_on_the_cpu(tmp_path):
    base = dict(epochs=2, batch_size=64, seed=0, train_subset=320, snapshot_epochs=(2,))
    train(GanConfig(**base, device="cuda"), tmp_path, quiet=True, stop_after_epoch=1)
    result = train(GanConfig(**base, device="cpu"), tmp_path, quiet=True)
    assert result.epochs_done == 2
    assert all(torch.isfinite(p).all() for p in result.generator.parameters())
