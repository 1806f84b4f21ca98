"""Problem 1 (minimax, 5 points): checks of the student's ``dlcourse/minimax/{saddle,steps,convergence}.py``.

Every check compares the student's functions with values this module computes itself (closed forms
written out here, or an independent numerical search), on the homework game and on fixed-seed random
games and inputs, so a function that only handles f = 4x^2 - 4y^2 by a special case does not pass.
Each check takes milliseconds.
"""

from __future__ import annotations

import numpy as np

from dlcourse.grading.core import Check, CheckFailed, Submission, expect
from dlcourse.minimax.functions import QuadraticGame, bilinear_game, homework_game, separable_game

Q = "Problem 1"
CHECKS = [
    Check("1a", Q, "(a) saddle point", 1.0, "dlcourse.grading.minimax:check_saddle", timeout=30),
    Check("1b", Q, "(b) GDA equations", 1.0, "dlcourse.grading.minimax:check_gda_equations", timeout=30),
    Check("1c", Q, "(c) GDA step sizes", 1.0, "dlcourse.grading.minimax:check_gda_interval", timeout=30),
    Check("1d1", Q, "(d) plain GD dynamics", 1.0, "dlcourse.grading.minimax:check_gd_dynamics", timeout=30),
    Check("1d2", Q, "(d) GD special cases", 1.0, "dlcourse.grading.minimax:check_gd_special_case", timeout=30),
]

SEED = 2024  # the "random" inputs are fixed, so every student sees the same cases


def _rng(part: str) -> np.random.Generator:
    return np.random.default_rng([SEED, sum(map(ord, part))])


def _fmt(v) -> str:
    """A short rendering of a number, array or pair for messages."""
    if v is None or isinstance(v, (str, bool, np.bool_)):
        return repr(v)
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return repr(v)
    return (np.array2string(a, precision=6, separator=", ", suppress_small=True, max_line_width=10_000)
            if a.ndim else f"{float(a):.6g}")


def _pair(found, what: str, shape=()) -> np.ndarray:
    """``found`` as a float array of shape ``(2, *shape)``, or a CheckFailed saying what it was."""
    try:
        a = np.asarray(found, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: expected a pair (x, y) of numbers or arrays, found {found!r}. "
                          "Hint: return a tuple `x_new, y_new`.") from None
    if a.shape != (2, *shape):
        raise CheckFailed(f"{what}: expected a pair (x, y) each of shape {shape}, found an array of shape "
                          f"{a.shape}. Hint: return a tuple `x_new, y_new` with the shape of the inputs.")
    return a


def _close(found: np.ndarray, expected: np.ndarray) -> bool:
    return bool(np.allclose(found, expected, rtol=1e-9, atol=1e-12))


def _random_games(rng: np.random.Generator, n: int) -> list[QuadraticGame]:
    """Convex-concave quadratic games with an x-y coupling and a shifted saddle."""
    games = []
    for i in range(n):
        qxx, qyy = rng.uniform(0.5, 6.0), -rng.uniform(0.5, 6.0)
        qxy = rng.uniform(-3.0, 3.0)
        cx, cy = rng.uniform(-2.0, 2.0, size=2)
        games.append(QuadraticGame(qxx, qxy, qyy, cx, cy, name=f"random game #{i + 1} "
                                   f"(Q = [[{qxx:.3g}, {qxy:.3g}], [{qxy:.3g}, {qyy:.3g}]], c = ({cx:.3g}, {cy:.3g}))"))
    return games


# --------------------------------------------------------------------------- (a)
def _random_hessian(rng: np.random.Generator, eigs) -> np.ndarray:
    n = len(eigs)
    R, _ = np.linalg.qr(rng.normal(size=(n, n)))
    H = R @ np.diag(eigs) @ R.T
    return (H + H.T) / 2


def check_saddle(sub: Submission) -> str:
    """(a): critical_point finds grad f = 0 (also shifted and coupled games); classify_critical_point
    reads the Hessian's eigenvalue signs (minimum / maximum / saddle / degenerate, rotated matrices)."""
    saddle = sub.module("dlcourse.minimax.saddle")
    rng = _rng("a")
    hw = homework_game()
    found = saddle.classify_critical_point(hw.hessian())
    expect(found == "saddle", f"classify_critical_point(Hessian of 4x^2 - 4y^2 = [[8, 0], [0, -8]]): expected "
           f"'saddle', found {found!r}. Hint: an eigenvalue +8 (along x) and -8 (along y) have opposite signs.")
    cases = [("minimum", [2.0, 0.5]), ("maximum", [-3.0, -0.7]), ("saddle", [1.5, -4.0]),
             ("saddle", [-0.6, 2.5]), ("degenerate", [3.0, 0.0]), ("degenerate", [0.0, -1.0]),
             ("minimum", [1.0, 2.0, 3.0]), ("saddle", [1.0, -2.0, 0.5])]
    for expected, eigs in cases:
        H = _random_hessian(rng, [e * rng.uniform(0.5, 2.0) for e in eigs])
        found = saddle.classify_critical_point(H)
        expect(found == expected,
               f"classify_critical_point(H) for H = {_fmt(H)} (eigenvalues {_fmt(np.linalg.eigvalsh(H))}): expected "
               f"{expected!r}, found {found!r}. Hint: use the signs of the eigenvalues of H (np.linalg.eigvalsh), "
               "not of its diagonal entries, and treat (numerically) zero eigenvalues as 'degenerate'.")
    games = [hw, bilinear_game(), *_random_games(rng, 3)]
    for game in games:
        found = saddle.critical_point(game)
        try:
            z = np.asarray(found, dtype=float).reshape(2)
        except (TypeError, ValueError):
            raise CheckFailed(f"critical_point({game.name}): expected an array (x*, y*), found {found!r}.") from None
        expect(_close(z, game.center), f"critical_point({game.name}): expected {_fmt(game.center)}, found "
               f"{_fmt(z)}. Hint: the gradient is affine, grad f(z) = grad f(0) + H z; solve grad f(z*) = 0.")
    return "critical points and Hessian classifications are right (saddle at (0, 0))"


# --------------------------------------------------------------------------- (b)
def check_gda_equations(sub: Submission) -> str:
    """(b): gda_step is simultaneous descent in x / ascent in y (homework and coupled games, scalars and
    arrays); gda_closed_form is (1 - 8 eta)^t (x0, y0)."""
    steps = sub.module("dlcourse.minimax.steps")
    rng = _rng("b")
    hw = homework_game()
    hint = ("Hint: x descends, x - eta df/dx, and y ascends, y + eta df/dy, both gradients taken at the old "
            "point (x_t, y_t); for 4x^2 - 4y^2 that is x(1 - 8 eta), y(1 - 8 eta).")
    for _ in range(4):
        x, y = rng.uniform(-3, 3, size=2)
        eta = rng.uniform(0.0, 0.4)
        found = _pair(steps.gda_step(hw, x, y, eta), "gda_step")
        expected = np.array([(1 - 8 * eta) * x, (1 - 8 * eta) * y])
        expect(_close(found, expected), f"gda_step({hw.name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g}): expected "
               f"{_fmt(expected)}, found {_fmt(found)}. {hint}")
    x, y = rng.uniform(-3, 3, size=(2, 5))
    found = _pair(steps.gda_step(hw, x, y, 0.1), "gda_step on arrays of shape (5,)", (5,))
    expect(_close(found, 0.2 * np.array([x, y])), f"gda_step({hw.name}, x, y, eta=0.1) on arrays of shape (5,): "
           f"expected {_fmt(0.2 * np.array([x, y]))}, found {_fmt(found)}. {hint}")
    for game in _random_games(rng, 3):
        x, y = rng.uniform(-3, 3, size=2)
        eta = rng.uniform(0.01, 0.3)
        dx, dy = x - game.cx, y - game.cy
        expected = np.array([x - eta * (game.qxx * dx + game.qxy * dy), y + eta * (game.qxy * dx + game.qyy * dy)])
        found = _pair(steps.gda_step(game, x, y, eta), "gda_step")
        expect(_close(found, expected), f"gda_step({game.name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g}): expected "
               f"{_fmt(expected)}, found {_fmt(found)}. Hint: use game.grad(x, y) at the *old* point for both "
               "players (simultaneous, not alternating), minus for x and plus for y.")
    for t in (0, 1, 2, 7):
        x0, y0 = rng.uniform(-3, 3, size=2)
        eta = rng.uniform(0.0, 0.3)
        expected = (1 - 8 * eta) ** t * np.array([x0, y0])
        found = _pair(steps.gda_closed_form(x0, y0, eta, t), "gda_closed_form")
        expect(_close(found, expected), f"gda_closed_form(x0={x0:.6g}, y0={y0:.6g}, eta={eta:.6g}, t={t}): expected "
               f"{_fmt(expected)}, found {_fmt(found)}. Hint: one GDA step multiplies both coordinates by "
               "(1 - 8 eta), so t steps multiply them by (1 - 8 eta)^t.")
    t = np.arange(6)
    found = _pair(steps.gda_closed_form(0.5, -1.5, 0.2, t), "gda_closed_form with t of shape (6,)", (6,))
    expected = np.array([0.5 * (-0.6) ** t, -1.5 * (-0.6) ** t])
    expect(_close(found, expected), f"gda_closed_form(0.5, -1.5, eta=0.2, t=np.arange(6)): expected {_fmt(expected)}, "
           f"found {_fmt(found)}. Hint: the factor 1 - 8 eta = -0.6 is negative here, so signs alternate.")
    return "GDA: x_{t+1} = (1 - 8 eta) x_t, y_{t+1} = (1 - 8 eta) y_t"


# --------------------------------------------------------------------------- (c)
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


def check_gda_interval(sub: Submission) -> str:
    """(c): gda_convergence_interval gives (0, 1/4) for the homework, (0, min(1/a, 1/b)) for a x^2 - b y^2,
    the bisection bound for coupled games, and None when no step size works (f = xy, f = -x^2 + y^2)."""
    conv = sub.module("dlcourse.minimax.convergence")
    rng = _rng("c")
    games = [homework_game(), bilinear_game(), QuadraticGame(-2, 0, 2, name="f = -x^2 + y^2")]
    for _ in range(3):
        a, b = rng.uniform(0.3, 6.0, size=2)
        games.append(separable_game(round(a, 3), round(b, 3), *np.round(rng.uniform(-2, 2, size=2), 3)))
    games += _random_games(rng, 2)
    for game in games:
        eta_max = _gda_eta_max(game)
        found = conv.gda_convergence_interval(game)
        call = f"gda_convergence_interval({game.name})"
        if eta_max is None:
            expect(found is None, f"{call}: expected None (GDA converges for no step size: some eigenvalue of "
                   f"J = diag(1, -1) H has Re <= 0), found {_fmt(found)}. Hint: |1 - eta mu| >= 1 for every eta > 0 "
                   "when Re(mu) <= 0.")
            continue
        expected = f"(0, {eta_max:.6g})"
        try:
            lo, hi = (float(v) for v in found)
        except (TypeError, ValueError):
            raise CheckFailed(f"{call}: expected the interval {expected} as a pair (0, eta_max), found {found!r}. "
                              "Hint: return None only when no eta > 0 works; here small steps converge "
                              "(check the sign convention: y *ascends*, so J = diag(1, -1) H).") from None
        expect(abs(lo) < 1e-12 and abs(hi - eta_max) <= 1e-7 * eta_max,
               f"{call}: expected {expected}, found ({lo:.6g}, {hi:.6g}). Hint: GDA multiplies the distance to "
               "the saddle by M = I - eta J; each eigenvalue mu of J needs |1 - eta mu| < 1 "
               "(for 4x^2 - 4y^2: |1 - 8 eta| < 1). The one-step size 1/8 is not the boundary.")
    return "GDA converges iff 0 < eta < 1/4 (and the general bound on the other games)"


# --------------------------------------------------------------------------- (d)
def check_gd_dynamics(sub: Submission) -> str:
    """(d): gd_step descends on both variables: x(1 - 8 eta), y(1 + 8 eta) on the homework game
    (so y runs away from the saddle), z - eta grad f(z) on coupled games."""
    steps = sub.module("dlcourse.minimax.steps")
    rng = _rng("d1")
    hw = homework_game()
    for _ in range(4):
        x, y = rng.uniform(-3, 3, size=2)
        eta = rng.uniform(0.0, 0.4)
        found = _pair(steps.gd_step(hw, x, y, eta), "gd_step")
        expected = np.array([(1 - 8 * eta) * x, (1 + 8 * eta) * y])
        expect(_close(found, expected), f"gd_step({hw.name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g}): expected "
               f"{_fmt(expected)}, found {_fmt(found)}. Hint: plain gradient descent *minimizes* over y too, "
               "y - eta df/dy = y + 8 eta y: the factor on y is 1 + 8 eta > 1, so |y_t| grows.")
    x, y = rng.uniform(-3, 3, size=(2, 4))
    found = _pair(steps.gd_step(hw, x, y, 0.05), "gd_step on arrays of shape (4,)", (4,))
    expected = np.array([0.6 * x, 1.4 * y])
    expect(_close(found, expected), f"gd_step({hw.name}, x, y, eta=0.05) on arrays of shape (4,): expected "
           f"{_fmt(expected)}, found {_fmt(found)}. Hint: use arithmetic that works element-wise.")
    for game in _random_games(rng, 3):
        x, y = rng.uniform(-3, 3, size=2)
        eta = rng.uniform(0.01, 0.3)
        dx, dy = x - game.cx, y - game.cy
        expected = np.array([x - eta * (game.qxx * dx + game.qxy * dy), y - eta * (game.qxy * dx + game.qyy * dy)])
        found = _pair(steps.gd_step(game, x, y, eta), "gd_step")
        expect(_close(found, expected), f"gd_step({game.name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g}): expected "
               f"{_fmt(expected)}, found {_fmt(found)}. Hint: z - eta * game.grad(x, y) for both coordinates.")
    return "plain GD: x_{t+1} = (1 - 8 eta) x_t, y_{t+1} = (1 + 8 eta) y_t (y diverges)"


def _gd_reaches(x0: float, y0: float, eta: float) -> bool:
    """Ground truth for plain GD on 4x^2 - 4y^2: y_t = (1 + 8 eta)^t y0, x_t = (1 - 8 eta)^t x0."""
    return y0 == 0 and (x0 == 0 or abs(1 - 8 * eta) < 1)


def check_gd_special_case(sub: Submission) -> str:
    """(d): gd_reaches_saddle is True exactly when y0 = 0 and (x0 = 0 or 0 < eta < 1/4)."""
    conv = sub.module("dlcourse.minimax.convergence")
    rng = _rng("d2")
    cases = [(1.0, 0.0, 0.1), (1.0, 0.0, 0.125), (-2.0, 0.0, 0.2), (1.0, 0.0, 0.25), (1.0, 0.0, 0.3),
             (1.0, 0.0, 0.0), (0.0, 0.0, 0.7), (0.0, 0.0, 0.0), (1.0, 1e-9, 0.1), (0.0, 1.0, 0.125),
             (0.0, -0.5, 0.0), (3.0, 2.0, 0.3)]
    for _ in range(16):
        x0 = rng.choice([0.0, rng.uniform(-3, 3)])
        y0 = rng.choice([0.0, 0.0, rng.uniform(-3, 3), rng.choice([-1, 1]) * 10.0 ** rng.uniform(-12, -3)])
        eta = rng.choice([rng.uniform(0.0, 0.25), rng.uniform(0.25, 1.0), 0.125, 0.25])
        cases.append((float(x0), float(y0), float(eta)))
    for x0, y0, eta in cases:
        expected = _gd_reaches(x0, y0, eta)
        found = conv.gd_reaches_saddle(x0, y0, eta)
        expect(isinstance(found, (bool, np.bool_)), f"gd_reaches_saddle(x0={x0:.6g}, y0={y0:.6g}, eta={eta:.6g}): "
               f"expected a bool ({expected}), found {found!r}.")
        if bool(found) == expected:
            continue
        if y0 != 0:
            hint = ("y_t = (1 + 8 eta)^t y0 grows for every eta > 0 (and stays at y0 for eta = 0), however small "
                    "y0 != 0 is.")
        elif x0 == 0:
            hint = "(0, 0) is the saddle itself: gradient steps from there never move."
        else:
            hint = "with y0 = 0, y stays 0 and x_t = (1 - 8 eta)^t x0 converges iff |1 - 8 eta| < 1 (strictly)."
        raise CheckFailed(f"gd_reaches_saddle(x0={x0:.6g}, y0={y0:.6g}, eta={eta:.6g}): expected {expected}, "
                          f"found {bool(found)}. Hint: {hint}")
    return "GD reaches the saddle iff y0 = 0 and (x0 = 0 or 0 < eta < 1/4)"
