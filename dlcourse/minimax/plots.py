"""Problem 1 (minimax): figures - trajectories on the contours of f, distance to the saddle on a log
scale, and phase diagrams of the spectral radius over the step size.

Each function draws on ``ax`` (a new figure when ``None``) and returns the axes, so the notebook can
show them and :func:`save_figures` can write them without pyplot (``matplotlib.figure.Figure`` needs
no display). Trajectories come from :func:`dlcourse.minimax.dynamics.run`, so passing a student's step
function as ``method`` plots the student's dynamics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dlcourse.minimax import analysis
from dlcourse.minimax.dynamics import distance_to, get_method, run
from dlcourse.minimax.functions import QuadraticGame, bilinear_game, homework_game

#: ``‖z‖`` below this is drawn at this value on log axes (exact zeros, e.g. GDA at eta = 1/8, have no log).
LOG_FLOOR = 1e-17


def _axes(ax, figsize=(5.5, 4.5)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _colors(n: int):
    from matplotlib import colormaps

    return colormaps["viridis"](np.linspace(0.0, 0.9, max(n, 1)))


def draw_contours(game: QuadraticGame, ax, lim: float = 1.5, levels: int = 21) -> None:
    """Filled contours of ``game.f`` on the square [-lim, lim]^2 around the saddle, with the saddle marked."""
    cx, cy = game.center
    g = np.linspace(-lim, lim, 201)
    xx, yy = np.meshgrid(cx + g, cy + g)
    ff = game.f(xx, yy)
    bound = np.abs(ff).max()
    cs = ax.contourf(xx, yy, ff, levels=np.linspace(-bound, bound, levels), cmap="RdBu_r", alpha=0.55)
    ax.contour(xx, yy, ff, levels=[0.0], colors="0.4", linewidths=0.8)
    ax.figure.colorbar(cs, ax=ax, shrink=0.85, label="f(x, y)")
    ax.plot([cx], [cy], marker="*", color="k", markersize=13, linestyle="none", label="saddle")
    ax.set(xlim=(cx - lim, cx + lim), ylim=(cy - lim, cy + lim), xlabel="x (minimizer)", ylabel="y (maximizer)",
           aspect="equal")


def spread_starts(n: int, radius: float = 1.2) -> list[tuple[float, float]]:
    """``n`` starting points on a circle around the origin, off the axes, so that runs whose
    trajectories stay on the ray through their start (GDA on a separable game) do not overlap."""
    angles = 2 * np.pi * (np.arange(n) + 0.3) / max(n, 1)
    return [(float(radius * np.cos(a)), float(radius * np.sin(a))) for a in angles]


def contour_trajectories(game: QuadraticGame, etas: Sequence[float], *, method: str | Callable = "gda",
                         starts: Sequence[Sequence[float]] | str = ((1.0, 0.8),), steps: int = 25,
                         lim: float = 1.5, ax=None, title: str | None = None, parts=None):
    """Trajectories of ``method`` on the contours of f: every step size in ``etas`` from every start in
    ``starts`` - or, with ``starts="spread"``, step size i from its own start on a circle (offset from the
    saddle by ``game.center``). A method key takes its steps from ``parts`` (default: the reference)."""
    ax = _axes(ax)
    draw_contours(game, ax, lim)
    if isinstance(starts, str):
        if starts != "spread":
            raise ValueError(f"starts must be a list of (x0, y0) or 'spread', got {starts!r}")
        runs = [(eta, game.center + z0) for eta, z0 in zip(etas, spread_starts(len(etas)))]
        show_start = False
    else:
        runs = [(eta, z0) for z0 in starts for eta in etas]
        show_start = len(starts) > 1
    for i, ((eta, z0), color) in enumerate(zip(runs, _colors(len(runs)))):
        traj = run(method, game, z0, eta, steps, parts=parts)
        label = f"η = {eta:g}" + (f", z0 = ({z0[0]:g}, {z0[1]:g})" if show_start else "")
        wide = (len(runs) - 1 - i) / max(len(runs) - 1, 1)  # earlier runs drawn wider: overlaps stay visible
        ax.plot(traj[:, 0], traj[:, 1], "-o", color=color, markersize=3 + 3 * wide, linewidth=1.2 + 2.5 * wide,
                label=label)
        ax.plot(traj[:1, 0], traj[:1, 1], "s", color=color, markersize=6)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.85)
    ax.set_title(title or f"{get_method(method, parts).label} on {game.name}, {steps} steps (squares: starts)",
                 fontsize=10)
    return ax


def compare_methods(game: QuadraticGame, methods: Sequence[str], eta: float, *, z0=(1.0, 0.0), steps: int = 60,
                    lim: float = 2.0, ax=None, parts=None):
    """One trajectory per method (same ``eta`` and start), on the contours of ``game``."""
    ax = _axes(ax)
    draw_contours(game, ax, lim)
    for m, color in zip(methods, _colors(len(methods))):
        traj = run(m, game, z0, eta, steps, parts=parts)
        ax.plot(traj[:, 0], traj[:, 1], "-", marker=".", color=color, markersize=3, linewidth=1.0,
                label=get_method(m, parts).label)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.85)
    ax.set_title(f"{game.name}, η = {eta:g}, {steps} steps", fontsize=10)
    return ax


def distance_curves(game: QuadraticGame, etas: Sequence[float], *, method: str | Callable = "gda",
                    z0=(1.0, 0.5), steps: int = 40, quantity: str = "x", ax=None, parts=None):
    """``|x_t - x*|`` (``quantity="x"``), ``|y_t - y*|`` (``"y"``) or the distance to the saddle
    (``"distance"``) against t on a log scale, one curve per step size; exact zeros drawn at LOG_FLOOR."""
    if quantity not in ("x", "y", "distance"):
        raise ValueError(f"quantity must be 'x', 'y' or 'distance', got {quantity!r}")
    ax = _axes(ax)
    styles = ("-", "--", "-.", ":")
    for i, (eta, color) in enumerate(zip(etas, _colors(len(etas)))):
        traj = run(method, game, z0, eta, steps, parts=parts)
        with np.errstate(invalid="ignore", over="ignore"):
            d = (distance_to(traj, game.center) if quantity == "distance"
                 else np.abs(traj[:, "xy".index(quantity)] - game.center["xy".index(quantity)]))
        ax.semilogy(np.arange(steps + 1), np.maximum(d, LOG_FLOOR), marker="o", linestyle=styles[i % 4],
                    color=color, markersize=2.5,
                    label=f"η = {eta:g}")
    name = {"x": "|x_t - x*|", "y": "|y_t - y*|", "distance": "‖z_t - z*‖"}[quantity]
    ax.set(xlabel="step t", ylabel=name + " (log scale)")
    ax.set_title(f"{get_method(method, parts).label} on {game.name}: {name}", fontsize=10)
    ax.legend(fontsize=7)
    return ax


def phase_diagram(game: QuadraticGame, methods: Sequence[str] = ("gda",), *, eta_max: float = 0.35,
                  points: int = 701, ax=None, ymax: float = 2.0, parts=None):
    """The spectral radius rho(M(eta)) of each method's update matrix over 0 < eta < eta_max.

    The band rho < 1 is where the method converges; dotted lines mark the derived boundaries. For
    simultaneous GDA on the homework game rho is the contraction factor abs(1 - 8 eta).
    """
    ax = _axes(ax)
    etas = np.linspace(eta_max / points, eta_max, points)
    ax.axhspan(0, 1, color="tab:green", alpha=0.08, label="ρ < 1: converges")
    ax.axhline(1.0, color="k", linewidth=0.8)
    for m, color in zip(methods, _colors(len(methods))):
        rho = analysis.spectral_radius(m, game, etas, parts)
        interval = analysis.convergence_interval(m, game, parts)
        neutral = [r for r in analysis.stability_regions(m, game, parts) if r.kind == "neutral"]
        label_of = get_method(m, parts).label
        if interval:
            label = f"{label_of}: 0 < η < {_pretty(interval[1])}"
        elif neutral:
            label = f"{label_of}: ρ = 1 (no convergence) for {_pretty(neutral[0].lo)} < η < {_pretty(neutral[0].hi)}"
        else:
            label = f"{label_of}: never converges"
        ax.plot(etas, rho, color=color, linewidth=1.8, label=label)
        if interval and float(interval[1]) <= eta_max:
            ax.axvline(float(interval[1]), color=color, linestyle=":", linewidth=1.2)
    ax.set(xlabel="step size η", ylabel="spectral radius ρ(M(η))", xlim=(0, eta_max), ylim=(0, ymax))
    ax.set_title(f"Phase diagram on {game.name}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def _pretty(expr) -> str:
    """A short plain-text form of an exact number: ``sqrt(3)/3`` -> ``√3/3``."""
    import re

    return re.sub(r"sqrt\((\d+)\)", r"√\1", str(expr))


def save_figures(out_dir: str | Path, *, quiet: bool = False) -> list[Path]:
    """Write the Problem 1 figures as PNG files into ``out_dir``; returns their paths."""
    from matplotlib.figure import Figure

    from dlcourse.io import atomic_path

    out_dir = Path(out_dir)
    hw, bl = homework_game(), bilinear_game()
    hw_etas = (0.05, 0.1, 0.125, 0.2, 0.25, 0.26)
    all_methods = ("gda", "alt-gda", "eg", "ogda")
    figures: dict[str, Callable] = {
        "homework_gda_contours": lambda ax: contour_trajectories(hw, hw_etas, starts="spread", steps=12, ax=ax),
        "homework_gda_distance": lambda ax: distance_curves(hw, hw_etas, quantity="x", ax=ax),
        "homework_phase_diagram": lambda ax: phase_diagram(hw, ("gda", "eg", "ogda", "gd"), ax=ax),
        "homework_gd_escape": lambda ax: contour_trajectories(
            hw, (0.05,), method="gd", starts=((1.0, 0.0), (1.0, 1e-3)), steps=30, ax=ax),
        "bilinear_methods": lambda ax: compare_methods(bl, all_methods, 0.3, ax=ax),
        "bilinear_phase_diagram": lambda ax: phase_diagram(bl, all_methods, eta_max=2.5, ax=ax),
    }
    paths = []
    for name, draw in figures.items():
        fig = Figure(figsize=(6, 4.8), layout="constrained")
        draw(fig.add_subplot())
        path = out_dir / f"{name}.png"
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=120)
        paths.append(path)
        if not quiet:
            print(f"wrote {path}")
    return paths
