"""Problem 1's answer keys: what each visible/hidden check of :mod:`dlcourse.grading.minimax` expects.

Closed forms written out here, or an independent numerical search (the step-size bound), never the
reference implementation. Arrays are returned as nested lists of floats (stored keys are read with
``weights_only``).
"""

from __future__ import annotations

import numpy as np

from dlcourse.grading.minimax import _game
from dlcourse.minimax.functions import QuadraticGame


def _kind(H: np.ndarray, tol: float = 1e-9) -> str:
    """The type of a critical point from the signs of the Hessian's eigenvalues (the docstring's rule)."""
    ev = np.linalg.eigvalsh(H)
    scale = max(np.abs(ev).max(), np.finfo(float).tiny)
    pos, neg = ev > tol * scale, ev < -tol * scale
    if pos.any() and neg.any():
        return "saddle"
    if not (pos | neg).all():
        return "degenerate"
    return "minimum" if pos.all() else "maximum"


def saddle(hessians, games) -> dict:
    """(a): each Hessian's type, its eigenvalues (for the message) and the type its diagonal alone would
    give (a mistake the judge names); each game's critical point."""
    classify = []
    for H in hessians:
        H = np.array(H, dtype=float)
        classify.append({"kind": _kind(H), "eigenvalues": np.linalg.eigvalsh(H).tolist(),
                         "diagonal": _kind(np.diag(np.diag(H)))})
    return {"classify": classify, "critical": [_game(g).center.tolist() for g in games]}


def _gda(game: QuadraticGame, x, y, eta, sign: float) -> list:
    """One step x - eta df/dx, y + sign * eta df/dy from the old point (sign +1: GDA, -1: plain GD)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx, dy = x - game.cx, y - game.cy
    gx, gy = game.qxx * dx + game.qxy * dy, game.qxy * dx + game.qyy * dy
    return np.stack([x - eta * gx, y + sign * eta * gy]).tolist()


def _hw() -> QuadraticGame:
    return QuadraticGame(8, 0, -8)


def gda(hw, arrays, coupled, closed, closed_arrays) -> dict:
    """(b): gda_step on each case, gda_closed_form (1 - 8 eta)^t (x0, y0) at each t and on each range, with
    the factor 1 - 8 eta of each range (the message says when it is negative)."""
    def closed_form(x0, y0, eta, t):
        r = 1 - 8 * eta
        return np.stack([x0 * r ** np.asarray(t), y0 * r ** np.asarray(t)]).astype(float).tolist()

    return {"hw": [_gda(_hw(), x, y, eta, 1.0) for x, y, eta in hw],
            "arrays": [_gda(_hw(), *np.array(xy), eta, 1.0) for xy, eta in arrays],
            "coupled": [_gda(_game(g), x, y, eta, 1.0) for g, x, y, eta in coupled],
            "closed": [closed_form(x0, y0, eta, t) for x0, y0, eta, t in closed],
            "closed_arrays": [closed_form(x0, y0, eta, np.arange(T)) for x0, y0, eta, T in closed_arrays],
            "closed_arrays_factor": [1 - 8 * eta for _, _, eta, _ in closed_arrays]}


def _gda_eta_max(game: QuadraticGame) -> float | None:
    """sup{eta: rho(I - eta J) < 1} by bisection (independent of any closed form); None if empty."""
    J = np.diag([1.0, -1.0]) @ game.hessian()
    mu = np.linalg.eigvals(J)

    def rho(eta: float) -> float:
        return float(np.abs(1 - eta * mu).max())

    lo = 1e-9 / max(1.0, np.abs(mu).max())
    if rho(lo) >= 1:
        return None
    hi = 1.0
    while rho(hi) < 1:
        hi *= 2
    for _ in range(200):  # rho is convex in eta, so {rho < 1} is one interval (0, eta_max)
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rho(mid) < 1 else (lo, mid)
    return (lo + hi) / 2


def interval(games) -> list:
    """(c): eta_max of each game (GDA converges for 0 < eta < eta_max), None when no step size works."""
    return [None if (e := _gda_eta_max(_game(g))) is None else float(e) for g in games]


def gd(hw, arrays, coupled) -> dict:
    """(d): gd_step (descent on both variables) on each case."""
    return {"hw": [_gda(_hw(), x, y, eta, -1.0) for x, y, eta in hw],
            "arrays": [_gda(_hw(), *np.array(xy), eta, -1.0) for xy, eta in arrays],
            "coupled": [_gda(_game(g), x, y, eta, -1.0) for g, x, y, eta in coupled]}


def special(cases) -> list:
    """(d): whether plain GD on 4x^2 - 4y^2 reaches the saddle from each (x0, y0) with each eta:
    y_t = (1 + 8 eta)^t y0, x_t = (1 - 8 eta)^t x0."""
    return [bool(y0 == 0 and (x0 == 0 or abs(1 - 8 * eta) < 1)) for x0, y0, eta in cases]
