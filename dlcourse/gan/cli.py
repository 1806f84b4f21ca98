"""``dlcourse gan``: train, sample, evaluate and export the homework's DCGAN.

    dlcourse gan train --out RUN [--epochs 50 --batch-size 64 --seed 0] [--resume] [--submission exercises]
    dlcourse gan sample --checkpoint RUN/generator_epoch_050.pt --out grid.png [--n 64 --seed 0]
    dlcourse gan evaluate RUN [--samples N] [--classifier-samples N]   # FID, coverage -> RUN/metrics.json
    dlcourse gan export RUN --out docs/artifacts/gan-full-bs64           # float16 weights + manifest
    dlcourse gan classifier                                              # train/cache the judge CNN
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dlcourse import parts


def _threads(args: argparse.Namespace) -> None:
    import torch

    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            from dlcourse.errors import ConfigError

            raise ConfigError(f"--threads {args.threads}: pass a number of CPU threads >= 1, or leave it out")
        torch.set_num_threads(args.threads)


def _train(args: argparse.Namespace) -> int:
    from dlcourse.gan.train import GanConfig, train

    _threads(args)
    cfg = GanConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, train_subset=args.subset,
                    snapshot_epochs=tuple(args.snapshots), device=args.device, cuda_graph=not args.no_cuda_graph)
    cfg.validate()
    result = train(cfg, Path(args.out), parts=parts.from_args(args, "gan"), resume=args.resume, quiet=args.quiet)
    print(f"run {result.out}: {result.epochs_done}/{cfg.epochs} epochs done")
    return 0


def _sample(args: argparse.Namespace) -> int:
    import math

    from torchvision.utils import save_image

    from dlcourse.errors import ConfigError
    from dlcourse.gan.metrics import generate
    from dlcourse.gan.train import load_generator
    from dlcourse.io import atomic_path

    if not 1 <= args.n <= 10_000:
        raise ConfigError(f"--n {args.n}: ask for between 1 and 10000 samples")
    gen = load_generator(args.checkpoint, parts=parts.from_args(args, "gan"))
    images = generate(gen, args.n, seed=args.seed)
    nrow = args.nrow or max(1, math.isqrt(args.n))
    out = Path(args.out)
    with atomic_path(out, suffix=out.suffix or ".png") as tmp:
        save_image(images, tmp, nrow=nrow, normalize=True, value_range=(-1, 1), padding=2,
                   format=(out.suffix.lstrip(".") or "png"))
    print(f"{args.n} samples (seed {args.seed}) from {args.checkpoint} -> {out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from dlcourse import profiles
    from dlcourse.gan.metrics import EvalConfig, evaluate_run

    _threads(args)
    prof = profiles.current().gan
    cfg = EvalConfig(fid_samples=prof.fid_samples if args.samples is None else args.samples,
                     classifier_samples=(prof.classifier_samples if args.classifier_samples is None
                                         else args.classifier_samples),
                     seed=args.seed)
    from dlcourse.gan.train import resolve_device

    ev = evaluate_run(Path(args.run), cfg, quiet=args.quiet, epochs=args.epochs, fid_epochs=args.fid_epochs,
                      device=resolve_device(args.device), parts=parts.from_args(args, "gan"))
    base = ev["real_baseline"]
    fid = f"FID {base['fid']:.1f} (N={base['fid_samples']}), " if "fid" in base else ""
    print(f"real-vs-real at the same N: {fid}classifier FD {base['classifier_fd']:.3f}")
    print(f"metrics written to {Path(args.run) / 'metrics.json'}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from dlcourse.gan.artifacts import export_run

    manifest = export_run(Path(args.run), Path(args.out), epochs=args.epochs)
    snaps = ", ".join(sorted(manifest["snapshots"], key=int))
    print(f"exported epochs {snaps} of {args.run} ({manifest['epochs_done']}/{manifest['epochs']} epochs done) "
          f"-> {args.out}")
    return 0


def _classifier(args: argparse.Namespace) -> int:
    from dlcourse.gan.classifier import cache_path, load_classifier

    _threads(args)
    _, info = load_classifier(quiet=args.quiet, seed=args.seed)
    print(f"FashionMNIST judge classifier: test accuracy {info['test_accuracy']:.4f} "
          f"(trained in {info['train_seconds']} s) - {cache_path(seed=args.seed)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gan", help="Problem 3: DCGAN on FashionMNIST (train, sample, evaluate, export)")
    gs = p.add_subparsers(dest="gan_command", metavar="ACTION")

    t = gs.add_parser("train", help="train the DCGAN (checkpoints every epoch; --resume continues)")
    t.add_argument("--epochs", type=int, default=50)
    t.add_argument("--batch-size", type=int, default=64, choices=[16, 32, 64],
                   help="the homework allows 16, 32 or 64")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--subset", type=int, default=None, help="use only the first N training images")
    t.add_argument("--snapshots", type=int, nargs="+", default=[10, 30, 50], help="epochs to save grids/weights")
    t.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    t.add_argument("--no-cuda-graph", action="store_true",
                   help="on CUDA, run every step eagerly instead of replaying it as a CUDA graph")
    t.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's); part of the run: a resume keeps the run's count")
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    parts.add_argument(t, "gan", "networks, losses and step")
    t.set_defaults(func=_train)

    s = gs.add_parser("sample", help="draw a grid of samples from a generator checkpoint")
    s.add_argument("--checkpoint", required=True,
                   help="generator_epoch_XXX.pt, checkpoint.pt or an exported .safetensors")
    s.add_argument("--out", required=True, help="image file to write (PNG)")
    s.add_argument("--n", type=int, default=64, help="number of samples (default 64, an 8x8 grid)")
    s.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    s.add_argument("--seed", type=int, default=0, help="seed of the noise")
    s.add_argument("--quiet", action="store_true")
    parts.add_argument(s, "gan", "networks, losses and step")
    s.set_defaults(func=_sample)

    e = gs.add_parser("evaluate", help="FID, classifier Frechet distance and class coverage of each snapshot")
    e.add_argument("run", help="run directory (with generator_epoch_XXX.pt snapshots)")
    e.add_argument("--samples", type=int, default=None,
                   help="N for Inception FID (generated and test images; 0 = skip; default: the profile's)")
    e.add_argument("--classifier-samples", type=int, default=None,
                   help="generated images for the classifier metrics (default: the profile's)")
    e.add_argument("--epochs", type=int, nargs="+", default=None, help="only these snapshot epochs")
    e.add_argument("--fid-epochs", type=int, nargs="+", default=None,
                   help="Inception FID only for these epochs (default: all; classifier metrics are always computed)")
    e.add_argument("--seed", type=int, default=0, help="seed of the evaluation noise")
    e.add_argument("--device", default="cpu", help="where sampling and Inception run: cpu (default), cuda or auto")
    e.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    e.add_argument("--quiet", action="store_true")
    parts.add_argument(e, "gan", "networks, losses and step")
    e.set_defaults(func=_evaluate)

    x = gs.add_parser("export", help="write snapshot generators (float16 safetensors) + manifest.json")
    x.add_argument("run", help="run directory")
    x.add_argument("--out", required=True, help="artifact folder, e.g. docs/artifacts/gan-full-bs64")
    x.add_argument("--epochs", type=int, nargs="+", default=None, help="only these snapshot epochs")
    x.set_defaults(func=_export)

    c = gs.add_parser("classifier", help="train (once) and cache the FashionMNIST judge classifier")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--quiet", action="store_true")
    c.set_defaults(func=_classifier)

    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])
