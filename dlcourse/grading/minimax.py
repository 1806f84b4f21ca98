"""Problem 1 (minimax, 5 points): checks of the student's ``dlcourse/minimax/{saddle,steps,convergence}.py``.

Each part is graded twice, for half its points each: by a check here, on the public inputs built
from :data:`SEED` (``pytest exercises`` runs it), and by its counterpart in
``dlcourse.grading.hidden.minimax`` on other, secret inputs and extra cases (shown after the due
date). Both use the probes and judges of this module:

* a **probe** (``probe_*``, in the isolated process) calls the student's functions on the check's
  inputs, plain data in ``Check.args``, and returns what each call returned or raised;
* a **judge** (``judge_*``, in the grader's process) gets the same inputs and the expected values
  from the check's answer key (:mod:`dlcourse.grading.keys.minimax`: closed forms, or an independent
  numerical search, never the reference implementation), compares, and says what differs.

The inputs (``*_inputs``) hold the homework game and fixed-seed random games and arguments, so that
a function that only handles f = 4x^2 - 4y^2 by a special case fails. Parts with two functions give
half credit for each. Each check takes milliseconds.
"""

from __future__ import annotations

import numpy as np

from dlcourse.grading.core import (
    Cases,
    Check,
    CheckFailed,
    Submission,
    expect,
    require_implemented,
    short_repr,
    unwrap,
)
from dlcourse.minimax.functions import QuadraticGame, bilinear_game, homework_game, separable_game

Q = "Problem 1"
SEED = 2024  # the public inputs are fixed, so every student sees the same cases
HERE = "dlcourse.grading.minimax"
KEYS = "dlcourse.grading.keys.minimax"


def checks(seed: int, suffix: str = "", title: str = "", visibility: str = "visible", **extra) -> list[Check]:
    """The five checks of Problem 1 on the inputs drawn from ``seed`` (plus ``extra[part]`` cases), half a
    point each; the hidden module calls this with its own seed, extras, suffix ``"-hidden"``."""
    parts = [("1a", "(a) saddle point", "saddle"), ("1b", "(b) GDA equations", "gda"),
             ("1c", "(c) GDA step sizes", "interval"), ("1d1", "(d) plain GD dynamics", "gd"),
             ("1d2", "(d) GD special cases", "special")]
    builders = {"saddle": saddle_inputs, "gda": gda_inputs, "interval": interval_inputs, "gd": gd_inputs,
                "special": special_inputs}
    return [Check(cid + suffix, Q, name + title, 0.5, timeout=10, visibility=visibility,
                  probe=f"{HERE}:probe_{fn}", judge=f"{HERE}:judge_{fn}", key=f"{KEYS}:{fn}",
                  args=builders[fn](seed, **extra.get(fn, {})))
            for cid, name, fn in parts]


# --------------------------------------------------------------------------- shared helpers
def _rng(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng([seed, sum(map(ord, part))])


def _fmt(v) -> str:
    """A short rendering of a number, array or pair for messages."""
    if v is None or isinstance(v, (str, bool, np.bool_)):
        return repr(v)
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return repr(v)
    if not a.ndim:
        return f"{float(a):.6g}"
    # 6 significant digits whatever the scale (a Hessian of size 1e-7 must not print as zeros), one line
    text = np.array2string(a, separator=", ", max_line_width=10_000, formatter={"float_kind": lambda v: f"{v:.6g}"})
    return " ".join(text.split())


def game_spec(game: QuadraticGame) -> list:
    """A game as plain data for ``Check.args``: ``[qxx, qxy, qyy, cx, cy, name]``."""
    return [float(game.qxx), float(game.qxy), float(game.qyy), float(game.cx), float(game.cy), game.name]


def _game(spec) -> QuadraticGame:
    return QuadraticGame(*spec)


def _random_games(rng: np.random.Generator, n: int, first: int = 1) -> list[list]:
    """Convex-concave quadratic games with an x-y coupling and a shifted saddle (as :func:`_spec` lists)."""
    games = []
    for i in range(first, first + n):
        qxx, qyy = rng.uniform(0.5, 6.0), -rng.uniform(0.5, 6.0)
        qxy = rng.uniform(-3.0, 3.0)
        cx, cy = rng.uniform(-2.0, 2.0, size=2)
        games.append(game_spec(QuadraticGame(qxx, qxy, qyy, cx, cy, name=f"random game #{i} (Q = [[{qxx:.3g}, "
                                         f"{qxy:.3g}], [{qxy:.3g}, {qyy:.3g}]], c = ({cx:.3g}, {cy:.3g}))")))
    return games


def _floats(value):
    """A probe's reading of a numeric result: a float64 tensor (raises when it is not numeric)."""
    import torch

    return torch.from_numpy(np.array(value, dtype=float))


def _pair(found, what: str, shape=()) -> np.ndarray:
    """An observed result as a float array of shape ``(2, *shape)``, or a CheckFailed saying what it was."""
    try:
        a = np.asarray(unwrap(found, what), dtype=float)
    except CheckFailed as e:
        if "unreadable" not in found:
            raise
        raise CheckFailed(f"{what}: expected a pair (x, y) of numbers or arrays, found {found['unreadable']}. "
                          "Hint: return a tuple `x_new, y_new`.") from e
    if a.shape != (2, *shape):
        raise CheckFailed(f"{what}: expected a pair (x, y) each of shape {shape}, found an array of shape "
                          f"{a.shape}. Hint: return a tuple `x_new, y_new` with the shape of the inputs.")
    return a


def _close(found: np.ndarray, expected: np.ndarray) -> bool:
    return bool(np.allclose(found, expected, rtol=1e-9, atol=1e-12))


# --------------------------------------------------------------------------- (a)
def _rotated(rng: np.random.Generator, eigs) -> list:
    """A symmetric matrix with eigenvalues ``eigs`` in a random orthonormal basis."""
    n = len(eigs)
    R, _ = np.linalg.qr(rng.normal(size=(n, n)))
    H = R @ np.diag(eigs) @ R.T
    return ((H + H.T) / 2).tolist()


def saddle_inputs(seed: int, eigenvalues=(), games=()) -> dict:
    """(a): the homework Hessian and rotated matrices with the given eigenvalue patterns (sizes 2 and 3),
    the homework and bilinear games and random coupled, shifted ones."""
    rng = _rng(seed, "a")
    patterns = [[2.0, 0.5], [-3.0, -0.7], [1.5, -4.0], [-0.6, 2.5], [3.0, 0.0], [0.0, -1.0],
                [1.0, 2.0, 3.0], [1.0, -2.0, 0.5], *eigenvalues]
    hessians = [homework_game().hessian().tolist()]
    hessians += [_rotated(rng, [e * rng.uniform(0.5, 2.0) for e in eigs]) for eigs in patterns]
    return {"hessians": hessians,
            "games": [game_spec(homework_game()), game_spec(bilinear_game()), *_random_games(rng, 3), *games]}


def probe_saddle(sub: Submission, hessians, games) -> dict:
    saddle = sub.module("dlcourse.minimax.saddle")
    obs = {"classify": [sub.observe(saddle.classify_critical_point, np.array(H), convert=str) for H in hessians],
           "critical": [sub.observe(saddle.critical_point, _game(g), convert=_floats) for g in games]}
    require_implemented(obs["classify"], obs["critical"])
    return obs


def _saddle_hint(ev: np.ndarray, expected: str, diagonal: str) -> str:
    """The likely mistake behind a wrong classification of a Hessian with eigenvalues ``ev``, whose diagonal
    alone would make the point ``diagonal``: only what the numbers point to."""
    if diagonal != expected:
        return ("use the signs of the eigenvalues of H (np.linalg.eigvalsh), not of its diagonal entries: this H "
                "is rotated, its diagonal alone tells another story.")
    scale = np.abs(ev).max()
    if expected == "degenerate" or scale < 1e-3 or scale > 1e3:
        return ("treat an eigenvalue as zero when it is small *relative to the largest* |eigenvalue| "
                "(|lambda| <= tol * max|lambda|), not below a fixed number; a zero eigenvalue makes the point "
                "'degenerate', unless eigenvalues of both signs already make it a 'saddle'.")
    if expected == "saddle" and (np.abs(ev) <= 1e-9 * scale).any():
        return "eigenvalues of both signs make a saddle even when another eigenvalue is zero (check 'saddle' first)."
    return "use the signs of the eigenvalues of H (np.linalg.eigvalsh)."


def judge_saddle(obs: dict, hessians, games, key: dict):
    """(a): classify_critical_point reads the Hessian's eigenvalue signs (minimum / maximum / saddle /
    degenerate, rotated matrices); critical_point finds grad f = 0 (also shifted and coupled games)."""
    cases = Cases()
    with cases("classify_critical_point"):
        for k, (H, found, want) in enumerate(zip(hessians, obs["classify"], key["classify"])):
            H = np.array(H)
            expected = want["kind"]
            if k == 0:
                call = "classify_critical_point(Hessian of 4x^2 - 4y^2 = [[8, 0], [0, -8]])"
                hint = "an eigenvalue +8 (along x) and -8 (along y) have opposite signs."
            else:
                ev = np.array(want["eigenvalues"])
                call = f"classify_critical_point(H) for H = {_fmt(H)} (eigenvalues {_fmt(ev)})"
                hint = _saddle_hint(ev, expected, want["diagonal"])
            found = unwrap(found, call)
            expect(found == expected, f"{call}: expected {expected!r}, found {found!r}. Hint: {hint}")
    with cases("critical_point"):
        for spec, found, center in zip(games, obs["critical"], key["critical"]):
            game = _game(spec)
            call = f"critical_point({game.name})"
            try:
                z = np.asarray(unwrap(found, call), dtype=float).reshape(2)
            except (TypeError, ValueError):
                raise CheckFailed(f"{call}: expected an array (x*, y*), found an array of shape "
                                  f"{tuple(found['value'].shape)}.") from None
            except CheckFailed:
                if "unreadable" not in found:
                    raise
                raise CheckFailed(f"{call}: expected an array (x*, y*), found {found['unreadable']}.") from None
            center = np.array(center)
            expect(_close(z, center), f"{call}: expected {_fmt(center)}, found {_fmt(z)}. Hint: the "
                   "gradient is affine, grad f(z) = grad f(0) + H z; solve grad f(z*) = 0.")
    return cases.verdict("critical points and Hessian classifications are right (saddle at (0, 0))")


# --------------------------------------------------------------------------- (b)
def gda_inputs(seed: int, shapes=((5,),), closed_t=(0, 1, 2, 7), t_arrays=((0.5, -1.5, 0.2, 6),)) -> dict:
    """(b): GDA steps on the homework game (scalars, then arrays of each shape in ``shapes``) and on
    random coupled games; the closed form at the times ``closed_t`` and on integer ranges ``t_arrays``
    (``(x0, y0, eta, T)``: ``t = 0, ..., T - 1``)."""
    rng = _rng(seed, "b")

    def floats(*v):
        return [float(x) for x in v]

    hw = [floats(*rng.uniform(-3, 3, size=2), rng.uniform(0.0, 0.4)) for _ in range(4)]
    arrays = [[rng.uniform(-3, 3, size=(2, *s)).tolist(), float(rng.uniform(0.02, 0.3))] for s in shapes]
    coupled = [[g, *floats(*rng.uniform(-3, 3, size=2), rng.uniform(0.01, 0.3))] for g in _random_games(rng, 3)]
    closed = [[*floats(*rng.uniform(-3, 3, size=2), rng.uniform(0.0, 0.3)), int(t)] for t in closed_t]
    return {"hw": hw, "arrays": arrays, "coupled": coupled, "closed": closed,
            "closed_arrays": [[float(x0), float(y0), float(eta), int(T)] for x0, y0, eta, T in t_arrays]}


def probe_gda(sub: Submission, hw, arrays, coupled, closed, closed_arrays) -> dict:
    steps = sub.module("dlcourse.minimax.steps")
    game = homework_game()
    obs = {"hw": [sub.observe(steps.gda_step, game, x, y, eta, convert=_floats) for x, y, eta in hw],
           "arrays": [sub.observe(steps.gda_step, game, *np.array(xy), eta, convert=_floats) for xy, eta in arrays],
           "coupled": [sub.observe(steps.gda_step, _game(g), x, y, eta, convert=_floats) for g, x, y, eta in coupled],
           "closed": [sub.observe(steps.gda_closed_form, x0, y0, eta, t, convert=_floats) for x0, y0, eta, t in closed],
           "closed_arrays": [sub.observe(steps.gda_closed_form, x0, y0, eta, np.arange(T), convert=_floats)
                             for x0, y0, eta, T in closed_arrays]}
    require_implemented(*obs.values())
    return obs


def judge_gda(obs: dict, hw, arrays, coupled, closed, closed_arrays, key: dict):
    """(b): gda_step is simultaneous descent in x / ascent in y (homework and coupled games, scalars and
    arrays); gda_closed_form is (1 - 8 eta)^t (x0, y0)."""
    name = homework_game().name
    hint = ("Hint: x descends, x - eta df/dx, and y ascends, y + eta df/dy, both gradients taken at the old "
            "point (x_t, y_t); for 4x^2 - 4y^2 that is x(1 - 8 eta), y(1 - 8 eta).")
    cases = Cases()
    with cases("gda_step"):
        for (x, y, eta), found, expected in zip(hw, obs["hw"], key["hw"]):
            call = f"gda_step({name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g})"
            expected = np.array(expected)
            found = _pair(found, call)
            expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. {hint}")
        for (xy, eta), found, expected in zip(arrays, obs["arrays"], key["arrays"]):
            xy, expected = np.array(xy), np.array(expected)
            call = f"gda_step({name}, x, y, eta={eta:.6g}) on arrays of shape {xy.shape[1:]}"
            found = _pair(found, call, xy.shape[1:])
            expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. {hint}")
        for (spec, x, y, eta), found, expected in zip(coupled, obs["coupled"], key["coupled"]):
            game = _game(spec)
            call = f"gda_step({game.name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g})"
            expected = np.array(expected)
            found = _pair(found, call)
            expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. Hint: use "
                   "game.grad(x, y) at the *old* point for both players (simultaneous, not alternating), minus "
                   "for x and plus for y.")
    with cases("gda_closed_form"):
        for (x0, y0, eta, t), found, expected in zip(closed, obs["closed"], key["closed"]):
            call = f"gda_closed_form(x0={x0:.6g}, y0={y0:.6g}, eta={eta:.6g}, t={t})"
            expected = np.array(expected)
            found = _pair(found, call)
            expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. Hint: one "
                   "GDA step multiplies both coordinates by (1 - 8 eta), so t steps multiply them by (1 - 8 eta)^t.")
        for (x0, y0, eta, T), found, expected, r in zip(closed_arrays, obs["closed_arrays"], key["closed_arrays"],
                                                         key["closed_arrays_factor"]):
            call = f"gda_closed_form({x0:g}, {y0:g}, eta={eta:g}, t=np.arange({T}))"
            expected = np.array(expected)
            found = _pair(found, f"{call} (t of shape ({T},))", (T,))
            sign = f" The factor 1 - 8 eta = {r:g} is negative here, so signs alternate." if r < 0 else ""
            expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. Hint: use "
                   f"arithmetic that works element-wise on t (r**t, not a loop over range(t)).{sign}")
    return cases.verdict("GDA: x_{t+1} = (1 - 8 eta) x_t, y_{t+1} = (1 - 8 eta) y_t")


# --------------------------------------------------------------------------- (c)
def interval_inputs(seed: int, games=(), n_separable: int = 3, n_random: int = 2) -> dict:
    """(c): the homework game, two games where no step size works, separable games a x^2 - b y^2 with
    shifted saddles, random coupled games, and ``games``."""
    rng = _rng(seed, "c")
    out = [game_spec(homework_game()), game_spec(bilinear_game()), game_spec(QuadraticGame(-2, 0, 2, name="f = -x^2 + y^2"))]
    for _ in range(n_separable):
        a, b = rng.uniform(0.3, 6.0, size=2)
        out.append(game_spec(separable_game(round(a, 3), round(b, 3), *np.round(rng.uniform(-2, 2, size=2), 3))))
    return {"games": out + _random_games(rng, n_random) + list(games)}


def probe_interval(sub: Submission, games) -> dict:
    conv = sub.module("dlcourse.minimax.convergence")

    def interval(v):
        return None if v is None else [float(x) for x in v]

    obs = {"interval": [sub.observe(conv.gda_convergence_interval, _game(g), convert=interval) for g in games]}
    require_implemented(obs["interval"])
    return obs


def judge_interval(obs: dict, games, key: list) -> str:
    """(c): gda_convergence_interval gives (0, 1/4) for the homework, (0, min(1/a, 1/b)) for a x^2 - b y^2,
    the bisection bound for coupled games, and None when no step size works (f = xy, f = -x^2 + y^2)."""
    for spec, found, eta_max in zip(games, obs["interval"], key):
        game = _game(spec)
        call = f"gda_convergence_interval({game.name})"
        if "unreadable" in found:
            raise CheckFailed(f"{call}: expected the interval as a pair (0, eta_max) or None, found "
                              f"{found['unreadable']}.")
        found = unwrap(found, call)
        if eta_max is None:
            expect(found is None, f"{call}: expected None (GDA converges for no step size: some eigenvalue of "
                   f"J = diag(1, -1) H has Re <= 0), found {_fmt(found)}. Hint: |1 - eta mu| >= 1 for every eta > 0 "
                   "when Re(mu) <= 0.")
            continue
        expected = f"(0, {eta_max:.6g})"
        if found is None or len(found) != 2:
            raise CheckFailed(f"{call}: expected the interval {expected} as a pair (0, eta_max), found "
                              f"{_fmt(found)}. Hint: return None only when no eta > 0 works; here small steps "
                              "converge (check the sign convention: y *ascends*, so J = diag(1, -1) H).")
        lo, hi = found
        expect(abs(lo) < 1e-12 and abs(hi - eta_max) <= 1e-7 * eta_max,
               f"{call}: expected {expected}, found ({lo:.6g}, {hi:.6g}). Hint: GDA multiplies the distance to "
               "the saddle by M = I - eta J; each eigenvalue mu of J needs |1 - eta mu| < 1 "
               "(for 4x^2 - 4y^2: |1 - 8 eta| < 1). The one-step size 1/8 is not the boundary.")
    return "GDA converges iff 0 < eta < 1/4 (and the general bound on the other games)"


# --------------------------------------------------------------------------- (d)
def gd_inputs(seed: int, shapes=((4,),)) -> dict:
    """(d): plain GD steps on the homework game (scalars, arrays of each shape) and on random coupled games."""
    rng = _rng(seed, "d1")
    hw = [[float(v) for v in (*rng.uniform(-3, 3, size=2), rng.uniform(0.0, 0.4))] for _ in range(4)]
    arrays = [[rng.uniform(-3, 3, size=(2, *s)).tolist(), float(rng.uniform(0.01, 0.3))] for s in shapes]
    coupled = [[g, *(float(v) for v in (*rng.uniform(-3, 3, size=2), rng.uniform(0.01, 0.3)))]
               for g in _random_games(rng, 3)]
    return {"hw": hw, "arrays": arrays, "coupled": coupled}


def probe_gd(sub: Submission, hw, arrays, coupled) -> dict:
    steps = sub.module("dlcourse.minimax.steps")
    game = homework_game()
    obs = {"hw": [sub.observe(steps.gd_step, game, x, y, eta, convert=_floats) for x, y, eta in hw],
           "arrays": [sub.observe(steps.gd_step, game, *np.array(xy), eta, convert=_floats) for xy, eta in arrays],
           "coupled": [sub.observe(steps.gd_step, _game(g), x, y, eta, convert=_floats) for g, x, y, eta in coupled]}
    require_implemented(*obs.values())
    return obs


def judge_gd(obs: dict, hw, arrays, coupled, key: dict) -> str:
    """(d): gd_step descends on both variables: x(1 - 8 eta), y(1 + 8 eta) on the homework game
    (so y runs away from the saddle), z - eta grad f(z) on coupled games."""
    name = homework_game().name
    for (x, y, eta), found, expected in zip(hw, obs["hw"], key["hw"]):
        call = f"gd_step({name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g})"
        expected = np.array(expected)
        found = _pair(found, call)
        expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. Hint: plain "
               "gradient descent *minimizes* over y too, y - eta df/dy = y + 8 eta y: the factor on y is "
               "1 + 8 eta > 1, so |y_t| grows.")
    for (xy, eta), found, expected in zip(arrays, obs["arrays"], key["arrays"]):
        xy, expected = np.array(xy), np.array(expected)
        call = f"gd_step({name}, x, y, eta={eta:.6g}) on arrays of shape {xy.shape[1:]}"
        found = _pair(found, call, xy.shape[1:])
        expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. Hint: use "
               "arithmetic that works element-wise.")
    for (spec, x, y, eta), found, expected in zip(coupled, obs["coupled"], key["coupled"]):
        game = _game(spec)
        call = f"gd_step({game.name}, x={x:.6g}, y={y:.6g}, eta={eta:.6g})"
        expected = np.array(expected)
        found = _pair(found, call)
        expect(_close(found, expected), f"{call}: expected {_fmt(expected)}, found {_fmt(found)}. Hint: "
               "z - eta * game.grad(x, y) for both coordinates.")
    return "plain GD: x_{t+1} = (1 - 8 eta) x_t, y_{t+1} = (1 + 8 eta) y_t (y diverges)"


def special_inputs(seed: int, cases=(), n_random: int = 16) -> dict:
    """(d): starting points and step sizes for gd_reaches_saddle: the boundary cases (eta = 1/4, eta = 0,
    y0 tiny but not zero, the saddle itself) and ``n_random`` random ones."""
    rng = _rng(seed, "d2")
    out = [(1.0, 0.0, 0.1), (1.0, 0.0, 0.125), (-2.0, 0.0, 0.2), (1.0, 0.0, 0.25), (1.0, 0.0, 0.3),
           (1.0, 0.0, 0.0), (0.0, 0.0, 0.7), (0.0, 0.0, 0.0), (1.0, 1e-9, 0.1), (0.0, 1.0, 0.125),
           (0.0, -0.5, 0.0), (3.0, 2.0, 0.3), *cases]
    for _ in range(n_random):
        x0 = rng.choice([0.0, rng.uniform(-3, 3)])
        y0 = rng.choice([0.0, 0.0, rng.uniform(-3, 3), rng.choice([-1, 1]) * 10.0 ** rng.uniform(-12, -3)])
        eta = rng.choice([rng.uniform(0.0, 0.25), rng.uniform(0.25, 1.0), 0.125, 0.25])
        out.append((x0, y0, eta))
    return {"cases": [[float(v) for v in c] for c in out]}


def probe_special(sub: Submission, cases) -> dict:
    conv = sub.module("dlcourse.minimax.convergence")

    def boolean(v):
        return {"repr": short_repr(v), "bool": bool(v) if isinstance(v, (bool, np.bool_)) else None}

    obs = {"reaches": [sub.observe(conv.gd_reaches_saddle, x0, y0, eta, convert=boolean) for x0, y0, eta in cases]}
    require_implemented(obs["reaches"])
    return obs


def judge_special(obs: dict, cases, key: list) -> str:
    """(d): gd_reaches_saddle is True exactly when y0 = 0 and (x0 = 0 or 0 < eta < 1/4)."""
    for (x0, y0, eta), found, expected in zip(cases, obs["reaches"], key):
        call = f"gd_reaches_saddle(x0={x0:.6g}, y0={y0:.6g}, eta={eta:.6g})"
        if "unreadable" in found:
            raise CheckFailed(f"{call}: expected a bool ({expected}), found {found['unreadable']}.")
        found = unwrap(found, call)
        expect(found["bool"] is not None, f"{call}: expected a bool ({expected}), found {found['repr']}. "
               "Hint: return the comparison itself (True/False), not a number or a string.")
        if found["bool"] == expected:
            continue
        if y0 != 0:
            hint = ("y_t = (1 + 8 eta)^t y0 grows for every eta > 0 (and stays at y0 for eta = 0), however small "
                    "y0 != 0 is.")
        elif x0 == 0:
            hint = "(0, 0) is the saddle itself: gradient steps from there never move."
        else:
            hint = "with y0 = 0, y stays 0 and x_t = (1 - 8 eta)^t x0 converges iff |1 - 8 eta| < 1 (strictly)."
        raise CheckFailed(f"{call}: expected {expected}, found {found['bool']}. Hint: {hint}")
    return "GD reaches the saddle iff y0 = 0 and (x0 = 0 or 0 < eta < 1/4)"


CHECKS = checks(SEED)
