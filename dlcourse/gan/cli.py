"""``dlcourse gan``: train, sample and evaluate the homework's DCGAN."""

from __future__ import annotations

import argparse
from pathlib import Path


def _train(args: argparse.Namespace) -> int:
    import torch

    from dlcourse.gan.train import GanConfig, train

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = GanConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, train_subset=args.subset,
                    snapshot_epochs=tuple(args.snapshots), device=args.device)
    result = train(cfg, Path(args.out), resume=args.resume, quiet=args.quiet)
    print(f"run {result.out}: {result.epochs_done}/{cfg.epochs} epochs done")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gan", help="Problem 3: DCGAN on FashionMNIST (train, sample, evaluate)")
    gs = p.add_subparsers(dest="gan_command", metavar="ACTION")
    t = gs.add_parser("train", help="train the DCGAN (checkpoints every epoch; --resume continues)")
    t.add_argument("--epochs", type=int, default=50)
    t.add_argument("--batch-size", type=int, default=64, choices=[16, 32, 64])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--subset", type=int, default=None, help="use only the first N training images")
    t.add_argument("--snapshots", type=int, nargs="+", default=[10, 30, 50], help="epochs to save grids/weights")
    t.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=_train)
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])
