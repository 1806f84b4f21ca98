"""Problem 1 (c) and (d), written by students: when do the iterations reach the saddle point?

Every step of :mod:`dlcourse.minimax.steps` on a quadratic game is linear in the distance to the
critical point z*: z_{t+1} - z* = M(eta) (z_t - z*). The iterates converge from every start exactly
when every eigenvalue of M(eta) has modulus below 1.
"""

from __future__ import annotations

import numpy as np


def gda_convergence_interval(game) -> tuple[float, float] | None:
    """The open interval ``(0, eta_max)`` of step sizes for which simultaneous GDA converges to the
    critical point of ``game`` from every starting point, or ``None`` when no step size eta > 0 works.

    ``game`` is a :class:`~dlcourse.minimax.functions.QuadraticGame` with Hessian ``H = game.hessian()``
    (shape ``(2, 2)``). GDA's update matrix is M(eta) = I - eta J with J = diag(1, -1) H (x descends,
    y ascends). Hint: for an eigenvalue mu of J, abs(1 - eta mu) < 1 is a condition on eta; it can only hold
    for small eta > 0 when Re(mu) > 0.
    """
    # BEGIN SOLUTION
    J = np.diag([1.0, -1.0]) @ np.asarray(game.hessian(), dtype=float)
    mu = np.linalg.eigvals(J)
    if np.any(mu.real <= 1e-12 * max(1.0, np.abs(mu).max())):
        return None  # some mode is not contracted by any eta > 0
    # |1 - eta mu|^2 = 1 - 2 eta Re(mu) + eta^2 |mu|^2 < 1  <=>  0 < eta < 2 Re(mu) / |mu|^2
    return 0.0, float(np.min(2 * mu.real / np.abs(mu) ** 2))
    # END SOLUTION


def gd_reaches_saddle(x0: float, y0: float, eta: float) -> bool:
    """Whether plain gradient descent on both variables (:func:`~dlcourse.minimax.steps.gd_step`) on the
    homework game f = 4x^2 - 4y^2, started at ``(x0, y0)`` with step size ``eta >= 0``, converges to the
    saddle point (0, 0) as t -> infinity (in exact arithmetic).
    """
    # BEGIN SOLUTION
    if y0 != 0:
        return False  # y <- (1 + 8 eta) y grows geometrically for every eta > 0 (and stays put at eta = 0)
    return x0 == 0 or 0 < eta < 0.25  # x <- (1 - 8 eta) x contracts iff |1 - 8 eta| < 1
    # END SOLUTION
