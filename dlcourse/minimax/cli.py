"""``dlcourse minimax``: print the derived step-size results, or write the Problem 1 figures.

    dlcourse minimax analyze                 # (a)-(d) and every method on both games, derived with sympy
    dlcourse minimax analyze --eta 0.2       # ... plus each method's spectral radius at that step size
    dlcourse minimax plot --out figures/     # contours + trajectories, log-distance curves, phase diagrams
"""

from __future__ import annotations

import argparse
import math

from dlcourse.errors import ConfigError


def _eta(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--eta must be a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"--eta must be a finite step size > 0, got {text!r}")
    return v


def _analyze(args: argparse.Namespace) -> int:
    from dlcourse.minimax import analysis
    from dlcourse.minimax.dynamics import empirical_rate, methods
    from dlcourse.minimax.functions import GAMES, get_game

    games = [get_game(g) for g in (args.game or list(GAMES))]
    print(analysis.report(games))
    if args.eta is not None:
        print(f"\nAt eta = {args.eta:g}: derived spectral radius rho, and the measured contraction per step")
        for game in games:
            print(f"  {game.name}")
            for key, m in methods().items():
                rho = float(analysis.spectral_radius(key, game, args.eta))
                kind = analysis.rho_kind(rho)
                measured = empirical_rate(key, game, args.eta, steps=200)
                print(f"    {m.label:<18} rho = {rho:.6f}  measured = {measured:.6f}  -> {kind}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dlcourse.minimax.plots import save_figures

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder; pass a folder for the PNG files.")
    paths = save_figures(out, quiet=args.quiet)
    if args.quiet:
        print(f"wrote {len(paths)} figures to {out}")
    return 0


def register(subparsers) -> None:
    """Add ``dlcourse minimax {analyze,plot}`` to the top-level parser."""
    p = subparsers.add_parser("minimax", help="Problem 1: GDA on min_x max_y 4x^2 - 4y^2 (analysis, figures)")
    sub = p.add_subparsers(dest="minimax_command", metavar="ACTION")

    a = sub.add_parser("analyze", help="print the saddle point and every method's step-size condition, derived")
    a.add_argument("--game", action="append", choices=["homework", "bilinear"],
                   help="only this game (repeatable; default: both)")
    a.add_argument("--eta", type=_eta, help="also evaluate every method at this step size")
    a.set_defaults(func=_analyze)

    pl = sub.add_parser("plot", help="write the Problem 1 figures (PNG) into a folder")
    pl.add_argument("--out", required=True, help="output folder (created if missing)")
    pl.add_argument("--quiet", action="store_true", help="print one line instead of one per figure")
    pl.set_defaults(func=_plot)

    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
