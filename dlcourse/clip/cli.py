"""``dlcourse clip train | evaluate | search`` (Problem 2). torch is imported inside the handlers only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dlcourse import parts


def _train(args: argparse.Namespace) -> int:
    from dlcourse.clip.train import ClipConfig, train
    from dlcourse.data.paths import runs_root

    overrides = {k: getattr(args, k) for k in ("image_size", "epochs", "batch_size", "train_images", "test_images",
                                               "loss", "lr_heads", "lr_vision", "lr_text", "seed", "device",
                                               "vision_weights", "embed_dim", "data", "precision")
                 if getattr(args, k) is not None}
    if args.freeze_text is not None:
        overrides["freeze_text"] = args.freeze_text
    cfg = ClipConfig.from_profile(args.vision, args.text, random_text_init=args.random_text_init, **overrides)
    out = Path(args.out) if args.out else runs_root() / f"clip-{cfg.vision}-{Path(cfg.text).name}-{cfg.data}"
    metrics = train(cfg, out, parts=parts.from_args(args, "clip"), quiet=args.quiet)
    if not args.quiet:
        print(f"run folder: {out}")
        print(json.dumps(metrics["test"]["retrieval"]))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from dlcourse.clip import data as clipdata
    from dlcourse.clip import evaluate
    from dlcourse.clip.train import load_run, resolve_device

    chosen = parts.from_args(args, "clip")
    model, cfg, _ = load_run(args.run, args.device, parts=chosen)
    split = clipdata.prepare(cfg.data, args.split, cfg.image_size, cfg.test_images)
    if not args.quiet:  # stderr: stdout stays one JSON document
        print(f"evaluating on {split.data.describe()}", file=sys.stderr, flush=True)
    results = evaluate.evaluate(model, split, cfg, device=resolve_device(args.device), quiet=args.quiet,
                                parts=chosen)
    print(json.dumps(results, indent=2))
    return 0


def _search(args: argparse.Namespace) -> int:
    from dlcourse.clip import data as clipdata
    from dlcourse.clip import evaluate
    from dlcourse.clip.train import load_run, resolve_device

    chosen = parts.from_args(args, "clip")
    model, cfg, _ = load_run(args.run, args.device, parts=chosen)
    device = resolve_device(args.device)
    split = clipdata.prepare(cfg.data, args.split, cfg.image_size, cfg.test_images)
    image_emb = evaluate.embed_images(model, split.images, device)
    scores, idx = evaluate.search(model, image_emb, args.prompt, args.k, device, parts=chosen)
    for s, i in zip(scores.tolist(), idx.tolist()):
        print(f"{s:.3f}  {split.data.paths[i]}  {split.data.captions[i][0]}")
    if args.out:
        fig = evaluate.grid_figure(split, args.prompt, scores, idx, f"{cfg.vision} + {cfg.text} ({split.data.name})")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=120)
        print(f"grid written to {args.out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("clip", help="Problem 2: train and evaluate CLIP models (Flickr8K or the stand-in)")
    sub = p.add_subparsers(dest="clip_command", metavar="ACTION")

    t = sub.add_parser("train", help="train one CLIP model (resumes; returns at once when complete)",
                       description="Unset options come from the active profile ($DLCOURSE_PROFILE).")
    t.add_argument("--vision", default="resnet18", choices=["resnet18", "resnet34", "resnet50"])
    t.add_argument("--text", default="minilm",
                   help="minilm | tiny-bert | distilbert-base-uncased | bert-base-uncased | roberta-base | a folder")
    t.add_argument("--data", default=None, metavar="standin|flickr8k|FOLDER",
                   help="the offline stand-in, Flickr8K, or a folder in the Flickr8K layout (default: the profile's)")
    t.add_argument("--out", help="run folder (default: <runs root>/clip-VISION-TEXT-DATA)")
    t.add_argument("--image-size", type=int)
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--train-images", type=int, help="use the first N training images")
    t.add_argument("--test-images", type=int, help="evaluate on the first N test images")
    t.add_argument("--embed-dim", type=int)
    t.add_argument("--loss", choices=["infonce", "soft"])
    t.add_argument("--lr-heads", type=float)
    t.add_argument("--lr-vision", type=float)
    t.add_argument("--lr-text", type=float)
    t.add_argument("--freeze-text", action=argparse.BooleanOptionalAction, default=None)
    t.add_argument("--vision-weights", help="auto (default) | imagenet | none | PATH to a state dict")
    t.add_argument("--random-text-init", action="store_true",
                   help="when a hub text model cannot be loaded, train its architecture from random weights")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", help="auto | cpu | cuda")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                   help="auto (default): bf16 autocast + channels_last on CUDA, float32 on a CPU; "
                        "fp32; bf16 (autocast on any device)")
    t.add_argument("--quiet", action="store_true")
    parts.add_argument(t, "clip", "projection head, loss, step, retrieval and zero-shot code")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="evaluate a trained run on its test split")
    e.add_argument("run")
    e.add_argument("--split", default="test", choices=["dev", "test"])
    e.add_argument("--device", default="cpu")
    e.add_argument("--quiet", action="store_true")
    parts.add_argument(e, "clip", "projection head, loss, step, retrieval and zero-shot code")
    e.set_defaults(func=_evaluate)

    s = sub.add_parser("search", help="text -> image search with a trained run")
    s.add_argument("run")
    s.add_argument("prompt")
    s.add_argument("--k", type=int, default=9)
    s.add_argument("--out", help="write a grid PNG here")
    s.add_argument("--split", default="test", choices=["dev", "test"])
    s.add_argument("--device", default="cpu")
    s.add_argument("--quiet", action="store_true")
    parts.add_argument(s, "clip", "projection head, loss, step, retrieval and zero-shot code")
    s.set_defaults(func=_search)
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])
