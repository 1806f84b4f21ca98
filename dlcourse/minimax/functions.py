"""Problem 1 (minimax): the games, as quadratic functions of z = (x, y).

A two-player zero-sum game min_x max_y f(x, y): the first player moves x to make f small, the
second moves y to make it large. Every game of this problem is quadratic,

    f(x, y) = 1/2 (z - c)^T Q (z - c),    Q = [[qxx, qxy], [qxy, qyy]],  c = (cx, cy),

so gradients are affine in z and every update rule of :mod:`dlcourse.minimax.dynamics` is an affine
map - which is what makes the exact, symbolic step-size analysis of :mod:`dlcourse.minimax.analysis`
possible. The homework game f = 4x^2 - 4y^2 is ``Q = diag(8, -8)``; the bilinear game f = xy is
``Q = [[0, 1], [1, 0]]``.

``f`` and ``grad`` use arithmetic only (no numpy calls), so the same code runs on Python floats,
numpy arrays of any (common) shape, and sympy symbols: the analysis derives each method's update
matrix from the very code that the simulations run.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

import numpy as np

from dlcourse.errors import ConfigError


@dataclass(frozen=True)
class QuadraticGame:
    """f(x, y) = 1/2 (z - c)^T Q (z - c) with z = (x, y); x minimizes, y maximizes.

    Entries may be numbers or sympy expressions (the analysis uses exact rationals).
    """

    qxx: float
    qxy: float
    qyy: float
    cx: float = 0.0
    cy: float = 0.0
    name: str = "quadratic game"

    def __post_init__(self) -> None:
        for fld in fields(self):
            v = getattr(self, fld.name)
            if fld.name != "name" and isinstance(v, numbers.Real) and not math.isfinite(v):
                raise ConfigError(f"QuadraticGame.{fld.name}={v!r}: every coefficient must be finite.")

    def f(self, x, y):
        """The payoff. ``x, y``: numbers, arrays of one shape, or sympy symbols -> the same shape."""
        dx, dy = x - self.cx, y - self.cy
        return (self.qxx * dx * dx + 2 * self.qxy * dx * dy + self.qyy * dy * dy) / 2

    def grad(self, x, y):
        """``(df/dx, df/dy)`` at ``(x, y)``; each has the (broadcast) shape of ``x`` and ``y``."""
        dx, dy = x - self.cx, y - self.cy
        return self.qxx * dx + self.qxy * dy, self.qxy * dx + self.qyy * dy

    def hessian(self) -> np.ndarray:
        """The constant Hessian ``Q`` as a float array of shape ``(2, 2)``."""
        return np.array([[self.qxx, self.qxy], [self.qxy, self.qyy]], dtype=float)

    @property
    def center(self) -> np.ndarray:
        """The point ``c`` (shape ``(2,)``) where the gradient vanishes (the unique one if Q is invertible)."""
        return np.array([self.cx, self.cy], dtype=float)


def homework_game() -> QuadraticGame:
    """The homework game f(x, y) = 4x^2 - 4y^2: Q = diag(8, -8), saddle at the origin."""
    return QuadraticGame(qxx=8, qxy=0, qyy=-8, name="f = 4x^2 - 4y^2")


def bilinear_game() -> QuadraticGame:
    """The bilinear game f(x, y) = xy: Q = [[0, 1], [1, 0]], saddle at the origin, no curvature in x or y."""
    return QuadraticGame(qxx=0, qxy=1, qyy=0, name="f = xy")


def separable_game(a: float, b: float, cx: float = 0.0, cy: float = 0.0) -> QuadraticGame:
    """f(x, y) = a (x - cx)^2 - b (y - cy)^2 (the homework game is a = b = 4): Q = diag(2a, -2b)."""
    xs = f"(x - {cx:g})" if cx else "x"
    ys = f"(y - {cy:g})" if cy else "y"
    return QuadraticGame(qxx=2 * a, qxy=0, qyy=-2 * b, cx=cx, cy=cy, name=f"f = {a:g}{xs}^2 - {b:g}{ys}^2")


#: Games reachable by name from the command line.
GAMES = {"homework": homework_game, "bilinear": bilinear_game}


def get_game(name: str) -> QuadraticGame:
    """The game called ``name`` (a key of :data:`GAMES`); a clear error otherwise."""
    try:
        return GAMES[name]()
    except KeyError:
        raise ConfigError(f"unknown game {name!r}; choose one of {sorted(GAMES)}.") from None
