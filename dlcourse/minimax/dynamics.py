"""Problem 1 (minimax): the update rules side by side, and a runner that records trajectories.

Methods (x minimizes, y maximizes; ``F(z) = (df/dx, -df/dy)`` is the direction both players descend):

* ``gda``      simultaneous gradient descent-ascent        z' = z - eta F(z)                (homework (b))
* ``gd``       plain gradient descent on both variables     x' = x - eta df/dx, y' = y - eta df/dy (homework (d))
* ``alt-gda``  alternating GDA: y already sees the new x    x' = x - eta df/dx(x, y), y' = y + eta df/dy(x', y)
* ``eg``       extragradient: step from a look-ahead point  z' = z - eta F(z - eta F(z))
* ``ogda``     optimistic GDA: extrapolate past gradients   z' = z - 2 eta F(z) + eta F(z_prev)

The homework's two steps (``gda``, ``gd``) are parts (:mod:`dlcourse.parts`): the student's or the
reference's ``minimax/steps.py``, whichever :func:`methods` is given; the others are beyond the
homework and live here, each built on the given ``gda`` step (:class:`FixedGradient`). Every step
uses arithmetic only, so :mod:`dlcourse.minimax.analysis` can feed it sympy symbols and read off the
update matrix.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse import parts as partslib
from dlcourse.errors import ConfigError


class FixedGradient:
    """A stand-in game whose gradient is ``(gx, gy)`` wherever it is asked.

    The methods beyond the homework are GDA steps taken with another gradient than the one at the
    current point (a look-ahead's, a mix of the current and the previous one, ...): each is the
    given ``gda_step`` applied to a ``FixedGradient``, so the update rule itself is written once,
    in the step the homework asks for.
    """

    def __init__(self, gx, gy) -> None:
        self.gx, self.gy = gx, gy

    def grad(self, x, y):
        return self.gx, self.gy


def alternating(gda_step: Callable) -> Callable:
    """Alternating GDA built on ``gda_step``: x moves first, then y ascends at the *new* x.
    The returned step maps ``x, y`` to the same shape."""

    def alternating_gda_step(game, x, y, eta):
        gx, _ = game.grad(x, y)
        x_new, _ = gda_step(FixedGradient(gx, 0), x, y, eta)
        _, gy = game.grad(x_new, y)
        _, y_new = gda_step(FixedGradient(0, gy), x, y, eta)
        return x_new, y_new

    return alternating_gda_step


def extragradient(gda_step: Callable) -> Callable:
    """Extragradient built on ``gda_step``: take a GDA step to a look-ahead point, then step from (x, y)
    with the gradient found there. The returned step maps ``x, y`` to the same shape."""

    def extragradient_step(game, x, y, eta):
        x_half, y_half = gda_step(game, x, y, eta)
        return gda_step(FixedGradient(*game.grad(x_half, y_half)), x, y, eta)

    return extragradient_step


def optimistic(gda_step: Callable) -> Callable:
    """Optimistic GDA built on ``gda_step``: z' = z - 2 eta F(z) + eta F(z_prev), i.e. a GDA step with
    the gradient extrapolated from the last two points. The returned step maps
    ``x, y, x_prev, y_prev`` to ``(x_new, y_new)``, same shape."""

    def optimistic_gda_step(game, x, y, x_prev, y_prev, eta):
        (gx, gy), (px, py) = game.grad(x, y), game.grad(x_prev, y_prev)
        return gda_step(FixedGradient(2 * gx - px, 2 * gy - py), x, y, eta)

    return optimistic_gda_step


@dataclass(frozen=True)
class Method:
    """An update rule. ``memory``: the step also takes the previous iterate (``ogda``)."""

    key: str
    label: str
    step: Callable
    memory: bool = False


#: The method keys, in the order of the notebook's tables.
METHOD_KEYS = ("gda", "alt-gda", "gd", "eg", "ogda")


_BUILT: dict[tuple[str, str], dict[str, Method]] = {}


def methods(parts: partslib.Parts | None = None) -> dict[str, Method]:
    """Every method, with the homework's ``gda`` and ``gd`` steps taken from ``parts`` (default: the reference).

    The same parts give the same :class:`Method` objects, so the analysis can cache by method.
    """
    parts = partslib.resolve(parts, "minimax")
    key = (parts.source, parts.fingerprint)
    if key not in _BUILT:
        _BUILT[key] = _build(parts.steps)
    return _BUILT[key]


def _build(steps) -> dict[str, Method]:
    return {m.key: m for m in (
        Method("gda", "simultaneous GDA", steps.gda_step),
        Method("alt-gda", "alternating GDA", alternating(steps.gda_step)),
        Method("gd", "plain GD on both", steps.gd_step),
        Method("eg", "extragradient", extragradient(steps.gda_step)),
        Method("ogda", "optimistic GDA", optimistic(steps.gda_step), memory=True),
    )}


def get_method(method: str | Method | Callable, parts: partslib.Parts | None = None) -> Method:
    """A :class:`Method` from its key (its steps from ``parts``), a Method, or a bare step ``step(game, x, y, eta)``."""
    if isinstance(method, Method):
        return method
    if callable(method):
        return Method(getattr(method, "__name__", "custom"), getattr(method, "__name__", "custom step"), method)
    if method not in METHOD_KEYS:
        raise ConfigError(f"unknown method {method!r}; choose one of {sorted(METHOD_KEYS)}.")
    return methods(parts)[method]


def run(method: str | Method | Callable, game, z0, eta: float, steps: int, *,
        parts: partslib.Parts | None = None) -> np.ndarray:
    """Iterate ``method`` (a key resolves against ``parts``) on ``game`` from ``z0 = (x0, y0)`` for
    ``steps`` steps of size ``eta``.

    Returns the trajectory, a float array of shape ``(steps + 1, 2)`` whose row t is ``(x_t, y_t)``.
    Optimistic GDA starts with ``z_prev = z0`` (its first step is a GDA step). Diverging runs overflow
    to inf/nan silently: that *is* the answer there.
    """
    m = get_method(method, parts)
    z0 = np.asarray(z0, dtype=float)
    if z0.shape != (2,) or not np.isfinite(z0).all():
        raise ConfigError(f"z0 must be two finite numbers (x0, y0), got {z0.tolist()}.")
    if not isinstance(eta, numbers.Real) or not math.isfinite(eta) or eta < 0:
        raise ConfigError(f"the step size eta must be a finite number >= 0, got {eta!r}.")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ConfigError(f"steps must be an integer >= 0, got {steps!r}.")
    traj = np.empty((steps + 1, 2))
    traj[0] = z0
    x, y = float(z0[0]), float(z0[1])
    xp, yp = x, y
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            if m.memory:
                (x, y), (xp, yp) = m.step(game, x, y, xp, yp, eta), (x, y)
            else:
                x, y = m.step(game, x, y, eta)
            traj[t] = float(x), float(y)
    return traj


def distance_to(traj: np.ndarray, point) -> np.ndarray:
    """Euclidean distance of each row of ``traj`` ``(T + 1, 2)`` to ``point`` ``(2,)`` -> ``(T + 1,)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.linalg.norm(np.asarray(traj, dtype=float) - np.asarray(point, dtype=float), axis=-1)


def empirical_rate(method: str | Method | Callable, game, eta: float, steps: int = 200, z0=(1.0, 0.7), *,
                   parts: partslib.Parts | None = None) -> float:
    """The measured contraction factor per step, (d_T / d_{T/2})^(2/T) with d_t = ``‖z_t - c‖``.

    For a linear iteration this tends to the spectral radius of the update matrix (the slowest mode
    dominates), so it checks the derived rho(eta) numerically. T is ``steps``, or less when the run
    leaves the range where it is measurable earlier: beyond 1e150, or below 1e-250 - or below
    1e-11 ``‖c‖`` when the saddle c is not the origin (rounding errors in z_t are about 1e-16 ``‖c‖``).
    ``0.0`` when the run hits the saddle exactly.
    """
    traj = run(method, game, z0, eta, steps, parts=parts)
    c = game.center
    d = distance_to(traj, c)
    floor = max(1e-250, 1e-11 * float(np.abs(c).max()))
    ok = np.isfinite(d) & (d < 1e150) & (d > floor)
    end = int(np.argmin(ok)) - 1 if not ok.all() else steps  # last step before d leaves the range
    if end < 2:
        return 0.0 if d[1] == 0.0 else math.inf if not np.isfinite(d[1]) or d[1] >= 1e150 else float(d[1] / d[0])
    half = end // 2
    return float(math.exp((math.log(d[end]) - math.log(d[half])) / (end - half)))
