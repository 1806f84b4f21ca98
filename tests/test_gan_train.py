"""The DCGAN trainer's contracts: clear errors, finished runs return at once, atomic checkpoints,
a loader that refuses foreign files, and the export/sample tools built on it."""

from __future__ import annotations

import json
import time

import pytest
import torch

from dlcourse.cli import main
from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.gan import artifacts
from dlcourse.gan.model import Discriminator, Generator
from dlcourse.gan.summary import count_parameters
from dlcourse.gan.train import GanConfig, load_generator, train

TINY = dict(epochs=1, batch_size=32, seed=3, train_subset=32, snapshot_epochs=(1,), device="cpu")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished one-epoch run on 32 images (one step): cheap, but every file of a real run."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    train(GanConfig(**TINY), out, quiet=True)
    return out


def test_reference_parameter_counts():
    assert count_parameters(Generator()) == 2_305_472
    assert count_parameters(Discriminator()) == 212_865


def test_run_directory_contents(tiny_run):
    names = {p.name for p in tiny_run.iterdir()}
    assert {"config.json", "checkpoint.pt", "generator_epoch_001.pt", "losses.csv", "metrics.json",
            "losses.png", "progress.gif", "samples", "progress"} <= names
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["epochs_done"] == 1 and metrics["provenance"]["seed"] == 3
    assert {"command", "commit", "device"} <= metrics["provenance"].keys()


def test_batch_size_outside_the_homework_is_refused(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"batch size 48 .* \(16, 32, 64\)"):
        GanConfig(batch_size=48).validate()
    with pytest.raises(SystemExit) as e:
        main(["gan", "train", "--batch-size", "48", "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    assert "invalid choice: 48" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_resume_with_another_config_is_refused(tiny_run):
    other = GanConfig(**{**TINY, "seed": 4})
    with pytest.raises(DlcourseError, match=r"other settings \(seed: 3 -> 4; saved -> now\)"):
        train(other, tiny_run, quiet=True)
    with pytest.raises(DlcourseError, match="pass --resume"):
        train(GanConfig(**TINY), tiny_run, resume=False, quiet=True)


def test_finished_run_returns_immediately(tiny_run):
    before = {p: p.stat().st_mtime_ns for p in tiny_run.rglob("*") if p.suffix in (".pt", ".csv", ".gif")}
    stale = tiny_run / ".checkpoint.pt.killed.pt.tmp"  # what a SIGKILL during torch.save leaves behind
    stale.write_bytes(b"partial")
    t0 = time.perf_counter()
    result = train(GanConfig(**TINY), tiny_run, quiet=True)
    assert time.perf_counter() - t0 < 10
    assert result.epochs_done == 1
    assert {p: p.stat().st_mtime_ns for p in before} == before, "a finished run rewrote its files"
    assert not stale.exists(), "stale temporary file not cleaned up"


def test_checkpoint_writes_are_atomic(tiny_run, tmp_path, monkeypatch):
    """A save that dies half-way leaves the previous checkpoint intact and no temporary file."""
    from dlcourse.io import save_torch_atomic

    target = tmp_path / "checkpoint.pt"
    target.write_bytes((tiny_run / "checkpoint.pt").read_bytes())
    good = target.read_bytes()
    real_save = torch.save

    def dying_save(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        with open(f, "r+b") as fh:
            fh.truncate(100)  # half-written
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(OSError, match="disk full"):
        save_torch_atomic({"x": torch.zeros(3)}, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
    assert not list(tiny_run.rglob(".*.tmp"))


def test_load_generator_accepts_run_files(tiny_run):
    g1 = load_generator(tiny_run / "generator_epoch_001.pt")
    g2 = load_generator(tiny_run / "checkpoint.pt")
    assert not g1.training
    for a, b in zip(g1.state_dict().values(), g2.state_dict().values()):
        assert torch.equal(a, b)


def test_load_generator_refuses_wrong_files(tiny_run, tmp_path):
    with pytest.raises(DlcourseError, match="does not exist"):
        load_generator(tmp_path / "nope.pt")
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(DlcourseError, match="could not be read as a generator file"):
        load_generator(text)
    disc = tmp_path / "disc.pt"
    torch.save(Discriminator().state_dict(), disc)
    with pytest.raises(DlcourseError, match="does not hold weights of the Generator of reference implementation"):
        load_generator(disc)
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(DlcourseError, match="holds Tensor, not a generator state dict"):
        load_generator(tensor)


def test_cli_sample_writes_a_grid(tiny_run, tmp_path, capsys):
    from PIL import Image

    png = tmp_path / "grid.png"
    assert main(["gan", "sample", "--checkpoint", str(tiny_run / "generator_epoch_001.pt"), "--out", str(png),
                 "--n", "16", "--seed", "1"]) == 0
    assert Image.open(png).size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 grid of 28 px + 2 px padding
    assert main(["gan", "sample", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(png)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_export_and_regenerate_from_artifacts(tiny_run, tmp_path):
    out = tmp_path / "artifacts"
    assert main(["gan", "export", str(tiny_run), "--out", str(out)]) == 0
    manifest = artifacts.read_manifest(out)
    assert manifest["snapshots"]["1"]["file"] == "generator_epoch_001.safetensors"
    assert manifest["provenance"]["seed"] == 3 and manifest["history"][0]["epoch"] == 1
    assert manifest["loss_curve"]["d_loss"] and manifest["export"]["commit"]
    size = (out / "generator_epoch_001.safetensors").stat().st_size
    assert 4_500_000 < size < 4_800_000  # float16: 2 bytes per value
    half = artifacts.load_generator(out, 1)
    full = load_generator(tiny_run / "generator_epoch_001.pt")
    for (k, a), b in zip(half.state_dict().items(), full.state_dict().values()):
        assert a.dtype == b.dtype
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-4), k
    grid = artifacts.regenerate_grid(out, 1)
    assert grid.shape == (64, 1, 28, 28) and grid.abs().max() <= 1
    from dlcourse.gan.train import fixed_noise

    with torch.no_grad():
        assert torch.allclose(grid, full(fixed_noise(GanConfig(**TINY))), atol=2e-2)
    with pytest.raises(DlcourseError, match="no snapshot for epoch 10"):
        artifacts.load_generator(out, 10)
    (out / "generator_epoch_001.safetensors").write_bytes(b"corrupt")
    with pytest.raises(DlcourseError, match="sha256"):
        artifacts.load_generator(out, 1)
    with pytest.raises(DlcourseError, match="no generator snapshot for epoch"):
        artifacts.export_run(tiny_run, out, epochs=[5])
    with pytest.raises(DlcourseError, match="not a DCGAN run directory"):
        artifacts.export_run(tmp_path, out)


def test_profiles_describe_valid_gan_runs():
    from dlcourse.profiles import PROFILES

    for prof in PROFILES.values():
        g = prof.gan
        assert set(g.batch_sizes) <= {16, 32, 64}
        assert set(g.snapshot_epochs) <= set(range(1, g.epochs + 1)) and max(g.snapshot_epochs) == g.epochs
        GanConfig(epochs=g.epochs, train_subset=g.train_subset, snapshot_epochs=g.snapshot_epochs).validate()
        assert 0 <= g.fid_samples <= 10_000 and g.classifier_samples > 0
    full = PROFILES["full"].gan
    assert (full.epochs, full.train_subset, full.snapshot_epochs, full.fid_samples) == (50, None, (10, 30, 50), 10_000)
