"""Problem 1 (b) and (d), written by students: one step of gradient descent-ascent and of plain descent.

x is the minimizing player and y the maximizing one. Both steps use the gradient at the *current*
point for both players (simultaneous updates). They use arithmetic only, so they run on floats,
numpy arrays of one shape, and sympy symbols (the analysis derives the update matrices from them).
"""

from __future__ import annotations


def gda_step(game, x, y, eta):
    """One simultaneous gradient descent-ascent step with step size ``eta``:
    x descends on f, y ascends on f, both using ``game.grad(x, y)`` at the old point.

    ``x, y``: numbers or arrays of one shape -> ``(x_new, y_new)`` of that shape.
    """
    # BEGIN SOLUTION
    gx, gy = game.grad(x, y)
    return x - eta * gx, y + eta * gy
    # END SOLUTION


def gda_closed_form(x0, y0, eta, t):
    """The GDA iterate ``(x_t, y_t)`` on the homework game f = 4x^2 - 4y^2 after ``t`` steps from
    ``(x0, y0)`` with step size ``eta``, in closed form (no loop).

    ``t``: a non-negative integer or an integer array of shape ``(T,)`` -> ``x_t, y_t`` of that shape.
    """
    # BEGIN SOLUTION
    r = 1 - 8 * eta  # both coordinates are multiplied by this factor at every step
    return r**t * x0, r**t * y0
    # END SOLUTION


def gd_step(game, x, y, eta):
    """One step of plain gradient *descent* on both variables with step size ``eta`` (both players
    minimize f - the wrong algorithm for a minimax problem, studied in part (d)).

    ``x, y``: numbers or arrays of one shape -> ``(x_new, y_new)`` of that shape.
    """
    # BEGIN SOLUTION
    gx, gy = game.grad(x, y)
    return x - eta * gx, y - eta * gy
    # END SOLUTION
