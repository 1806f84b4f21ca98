"""Metrics of Problem 3: the Frechet distance, the FID Inception's input pipeline and weights,
class coverage, the judge classifier (>= 90 % test accuracy) and `dlcourse gan evaluate`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dlcourse.gan import metrics
from dlcourse.gan.metrics import class_coverage, frechet_distance, gaussian_stats, tf1_resize


def test_frechet_distance_closed_form():
    d, m, s = 6, 0.5, 2.0
    mu1, sigma1 = np.zeros(d), np.eye(d)
    mu2, sigma2 = np.full(d, m), np.eye(d) * s**2
    # N(0, I) vs N(m 1, s^2 I): |m|^2 d + d (1 - s)^2
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(d * m**2 + d * (1 - s) ** 2)
    assert frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0, abs=1e-9)
    x = np.random.default_rng(0).normal(size=(500, 4))
    assert frechet_distance(*gaussian_stats(x), *gaussian_stats(x)) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_matches_the_sqrtm_formula():
    """Same value as the textbook formula with scipy.linalg.sqrtm of the (non-symmetric) product."""
    import scipy.linalg

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 20)), rng.normal(size=(300, 20)) @ rng.normal(size=(20, 20)) * 0.3 + 1
    (m1, s1), (m2, s2) = gaussian_stats(a), gaussian_stats(b)
    textbook = (m1 - m2) @ (m1 - m2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(textbook, rel=1e-8)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(frechet_distance(m2, s2, m1, s1), rel=1e-8)


def test_tf1_bilinear_resize_semantics():
    """TF1 resize_bilinear maps output pixel i to input coordinate i * in / out (no half-pixel shift)."""
    x = torch.tensor([[[[0.0, 10.0]]]]).expand(1, 1, 2, 2).contiguous()
    y = tf1_resize(x, 4)
    assert torch.allclose(y[0, 0, 0], torch.tensor([0.0, 5.0, 10.0, 10.0]), atol=1e-5)


def test_inception_preprocessing_range_and_size():
    imgs = torch.tensor([-1.0, 1.0]).view(2, 1, 1, 1).expand(2, 1, 28, 28)
    x = metrics.InceptionFeatures.preprocess(imgs)
    assert x.shape == (2, 3, 299, 299)
    assert x[0].max().item() == -1.0 and x[1].min().item() == pytest.approx(127 / 128)  # (p - 128) / 128


def test_class_coverage():
    out = class_coverage(torch.tensor([0] * 50 + [1] * 50))
    assert out["classes_covered"] == 2 and out["tv_to_uniform"] == pytest.approx(0.8)
    assert class_coverage(torch.arange(10).repeat(10))["tv_to_uniform"] == 0


fid_installed = pytest.mark.skipif(
    metrics.fid_weights_missing() is not None,
    reason="the FID Inception weights are not on this machine (dlcourse data fetch weights)")


@fid_installed
def test_fid_inception_is_the_standard_network():
    """The shipped TorchScript file is the TF inception-2015-12-05 FID graph: checksum, 2048-d pool
    features, TF BatchNorm (eps 1e-3, no scale) and the max-pool quirk of the last block."""
    inc = metrics.InceptionFeatures()
    layers = inc.model.net.layers
    assert "torch.avg_pool2d(input, [8, 8]" in layers.pool2.code
    assert "max_pool2d" in layers.mixed_10.tower_2_pool.code and "avg_pool2d" in layers.mixed_9.tower_2_pool.code
    assert "0.001" in layers.conv.code
    assert sum(p.numel() for p in inc.model.parameters()) == 21_802_784
    from dlcourse.gan.metrics import test_images

    x, _ = test_images(4)
    f = inc(x)
    assert f.shape == (4, 2048) and f.dtype == torch.float64
    assert (f >= 0).all()  # features after ReLU and average pooling
    assert torch.allclose(inc(x[:2]), f[:2], atol=1e-4)  # batch-independent (eval-mode BatchNorm)


def test_fid_weights_missing_gives_a_clear_error(monkeypatch, tmp_path):
    from dlcourse.data import weights
    from dlcourse.errors import WeightsNotFoundError

    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(weights, "installed", lambda name: None)
    with pytest.raises(WeightsNotFoundError, match=r"FID needs the Inception weights: .*not on this machine.*"
                       r"dlcourse data fetch weights.*--fid-samples 0"):
        metrics.fid_weights_path()
    assert "dlcourse data fetch weights" in metrics.fid_weights_missing()


@pytest.mark.slow
def test_judge_classifier_reaches_90_percent():
    """Trains the judge when the cache is empty (about a minute or two on 2 cores), else loads it."""
    from dlcourse.gan.classifier import accuracy, load_classifier
    from dlcourse.gan.metrics import test_images

    model, info = load_classifier(quiet=True)
    x, y = test_images()
    acc = accuracy(model, x, y)
    assert acc >= 0.90, f"judge classifier test accuracy {acc:.4f}"
    assert acc == pytest.approx(info["test_accuracy"])


def test_evaluate_run_writes_metrics(tmp_path, monkeypatch):
    """`dlcourse gan evaluate` end to end on a tiny run, with an untrained judge (the plumbing, not the
    numbers) and a private stats cache; results are stored per snapshot with their sample counts."""
    from dlcourse.cli import main
    from dlcourse.gan import classifier
    from dlcourse.gan.train import GanConfig, train

    run = tmp_path / "run"
    train(GanConfig(epochs=1, batch_size=32, train_subset=32, snapshot_epochs=(1,), device="cpu"), run, quiet=True)
    torch.manual_seed(0)
    judge = classifier.FashionCNN().eval()
    info = {"test_accuracy": 0.1, "config": {"version": 0}, "untrained": True}
    monkeypatch.setattr(classifier, "load_classifier", lambda *a, **k: (judge, info))
    monkeypatch.setattr(metrics, "_stats_path", lambda root, name: tmp_path / "cache" / f"{name}.npz")
    assert main(["gan", "evaluate", str(run), "--samples", "0", "--classifier-samples", "300", "--quiet"]) == 0
    ev = json.loads((run / "metrics.json").read_text())["evaluation"]
    assert ev["config"]["classifier_samples"] == 300 and ev["config"]["fid_samples"] == 0
    m = ev["epochs"]["1"]
    assert m["classifier_samples"] == 300 and "fid" not in m
    assert len(m["class_fractions"]) == 10 and sum(m["class_fractions"]) == pytest.approx(1, abs=1e-3)
    assert m["classifier_fd"] > 0 and ev["real_baseline"]["classifier_fd"] >= 0
    assert len(list((tmp_path / "cache").glob("classifier_*_test10000.npz"))) == 1
    assert json.loads((run / "metrics.json").read_text())["epochs_done"] == 1  # trainer's fields kept
    assert main(["gan", "evaluate", str(tmp_path / "nope"), "--samples", "0"]) == 2
    assert main(["gan", "evaluate", str(run), "--samples", "20000"]) == 2  # more than the test set
