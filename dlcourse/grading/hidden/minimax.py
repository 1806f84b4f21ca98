"""Problem 1, hidden half: the visible probes and judges of :mod:`dlcourse.grading.minimax` on another
seed and extra cases - larger and smaller scales, 3x3 and 4x4 Hessians, degenerate Hessians with
both signs, 2-D arrays, longer closed-form ranges, games whose GDA matrix has complex eigenvalues
or where y is convex, and the boundary step sizes of part (d)."""

from __future__ import annotations

from dlcourse.grading.minimax import checks, game_spec
from dlcourse.minimax.functions import QuadraticGame, separable_game

SEED = 90517

CHECKS = checks(
    SEED, suffix="-hidden", title=", further cases", visibility="after_due_date",
    saddle={"eigenvalues": [[4e-7, 1e-7], [2e5, -3e5], [5e3, 1e-9], [1.0, 0.0, -1.0], [2.0, 1.0, 0.5, 3.0],
                            [-1.0, -2.0, -3.0, -0.5]],
            "games": [game_spec(separable_game(0.25, 6.0, 40.0, -25.0))]},
    gda={"shapes": [(2, 3), (7,)], "closed_t": (0, 3, 10, 1),
         "t_arrays": [(1.25, 2.0, 0.05, 8), (-0.7, 0.3, 0.24, 5)]},
    interval={"games": [game_spec(QuadraticGame(1, 3, -1, name="f = x^2/2 + 3xy - y^2/2")),
                        game_spec(QuadraticGame(2, 0, 3, name="f = x^2 + 1.5y^2 (convex in y)")),
                        game_spec(separable_game(0.5, 5.0, 1.0, -1.0)),
                        game_spec(QuadraticGame(3, -2.5, -0.4, 0.7, 0.1, name="f with Q = [[3, -2.5], "
                                                "[-2.5, -0.4]], c = (0.7, 0.1)"))],
              "n_separable": 4, "n_random": 3},
    gd={"shapes": [(3, 2)]},
    special={"cases": [(2.0, -0.0, 0.1), (0.5, 0.0, 1e-12), (0.5, 0.0, 0.2499999), (0.5, 0.0, 0.2500001),
                       (-1.5, 0.0, 0.0), (0.0, 1e-300, 0.2)], "n_random": 24},
)
