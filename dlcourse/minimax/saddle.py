"""Problem 1 (a), written by students: find the critical point of a game and classify it.

A critical point z* has grad f(z*) = 0. Its type follows from the signs of the Hessian's eigenvalues:
all positive - a local minimum; all negative - a local maximum; both signs - a saddle (a minimum
along the eigenvectors with positive eigenvalues, a maximum along those with negative ones);
a zero eigenvalue - the second-order test cannot tell ("degenerate").
"""

from __future__ import annotations

import numpy as np

from dlcourse.errors import DlcourseError


def critical_point(game) -> np.ndarray:
    """The point z* = (x*, y*) where the gradient of ``game.f`` vanishes, as a float array of shape ``(2,)``.

    ``game`` is a :class:`~dlcourse.minimax.functions.QuadraticGame`: ``game.grad(x, y)`` returns
    ``(df/dx, df/dy)`` and ``game.hessian()`` the constant ``(2, 2)`` Hessian H. Its gradient is affine,
    grad f(z) = grad f(0) + H z, so solve grad f(z*) = 0 for z*. Raises DlcourseError when H is singular
    (no unique critical point).
    """
    H = np.asarray(game.hessian(), dtype=float)
    if abs(np.linalg.det(H)) < 1e-12 * max(1.0, np.abs(H).max()) ** 2:
        raise DlcourseError(f"the Hessian {H.tolist()} of {game.name} is singular: no unique critical point.")
    # BEGIN SOLUTION
    g0 = np.asarray(game.grad(0.0, 0.0), dtype=float)
    return -np.linalg.solve(H, g0) + 0.0  # one Newton step from the origin is exact for a quadratic; + 0.0: no -0.0
    # END SOLUTION


def classify_critical_point(hessian, tol: float = 1e-9) -> str:
    """The type of a critical point from its symmetric Hessian, shape ``(n, n)`` -> one of the strings
    ``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"``.

    Eigenvalues with ``|lambda| <= tol * max|lambda|`` count as zero: then the point is ``"degenerate"``,
    unless eigenvalues of both signs already make it a ``"saddle"``.
    """
    H = np.asarray(hessian, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise DlcourseError(f"classify_critical_point needs a square Hessian, got shape {H.shape}.")
    if not np.allclose(H, H.T):
        raise DlcourseError(f"classify_critical_point needs a symmetric Hessian, got {H.tolist()}.")
    # BEGIN SOLUTION
    ev = np.linalg.eigvalsh(H)
    scale = max(np.abs(ev).max(), np.finfo(float).tiny)
    pos, neg = ev > tol * scale, ev < -tol * scale
    if pos.any() and neg.any():
        return "saddle"  # curves up along some directions, down along others
    if not (pos | neg).all():
        return "degenerate"  # a zero eigenvalue: the second-order test is inconclusive
    return "minimum" if pos.all() else "maximum"
    # END SOLUTION
