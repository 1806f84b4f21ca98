"""Problem 1 (minimax): exact step-size analysis with sympy.

On a quadratic game every method of :mod:`dlcourse.minimax.dynamics` is a linear map of the state
(the distance to the saddle; for optimistic GDA also the previous one): s_{t+1} = M(eta) s_t. We get
M(eta) by running the method's own step function on sympy symbols and taking the Jacobian, so the
analysis and the simulations share one implementation. Iterates converge from every start iff the
spectral radius rho(M(eta)) < 1. A method given by its key takes the homework's steps from
``parts`` (:mod:`dlcourse.parts`; default the reference): with a student's parts, this analyses the
student's own ``gda_step`` and ``gd_step``.

To find *where* rho crosses 1 without guessing, note that an eigenvalue on the unit circle,
abs(lambda) = 1, is a common root of the characteristic polynomial p(lambda) and of its reversal
p*(lambda) = lambda^n p(1/lambda) (for real p, 1/lambda = conj(lambda) is a root too). So every crossing
eta is a root of the resultant Res_lambda(p, p*), a polynomial in eta that sympy factors exactly.
A factor shared by p and p* for *all* eta (a self-reciprocal factor, e.g. alternating GDA on f = xy,
whose determinant is 1) has rho >= 1 everywhere; its roots leave the unit circle only by colliding,
i.e. where its discriminant vanishes. Between consecutive candidate values rho - 1 keeps its sign,
which one evaluation of rho in each interval decides.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dlcourse import parts as partslib
from dlcourse.errors import DlcourseError
from dlcourse.minimax.dynamics import METHOD_KEYS, Method, get_method
from dlcourse.minimax.functions import QuadraticGame, homework_game

ETA = sp.Symbol("eta", positive=True)
LAM = sp.Symbol("lambda")
X, Y = sp.symbols("x y", real=True)
#: abs(rho - 1) below this counts as rho = 1 when an interval is classified numerically.
RHO_TOL = 1e-9


def exact(game: QuadraticGame) -> QuadraticGame:
    """``game`` with its coefficients as exact sympy rationals (``0.125 -> 1/8``)."""
    return dataclasses.replace(
        game, **{f: sp.nsimplify(getattr(game, f)) for f in ("qxx", "qxy", "qyy", "cx", "cy")}
    )


# --------------------------------------------------------------------------- update matrices
def update_matrix(method: str | Method | Callable, game: QuadraticGame, parts=None) -> sp.ImmutableMatrix:
    """M(eta): the Jacobian of one step of ``method`` w.r.t. the state, shape (2, 2), or (4, 4) for
    optimistic GDA whose state is (x_t, y_t, x_{t-1}, y_{t-1})."""
    m = get_method(method, parts)
    if isinstance(method, (str, Method)):  # cached: the notebook asks for the same methods repeatedly
        return _update_matrix_cached(m, game)
    return _update_matrix(m, game)


@functools.lru_cache(maxsize=64)
def _update_matrix_cached(m: Method, game: QuadraticGame) -> sp.ImmutableMatrix:
    return _update_matrix(m, game)


def _update_matrix(m: Method, game: QuadraticGame) -> sp.ImmutableMatrix:
    g = exact(game)
    if m.memory:
        xp, yp = sp.symbols("x_prev y_prev", real=True)
        new = m.step(g, X, Y, xp, yp, ETA)
        state = [X, Y, xp, yp]
        image = sp.Matrix([new[0], new[1], X, Y])
    else:
        new = m.step(g, X, Y, ETA)
        state = [X, Y]
        image = sp.Matrix([new[0], new[1]])
    M = sp.ImmutableMatrix(sp.expand(image.jacobian(state)))  # immutable: it is cached and shared
    if M.free_symbols - {ETA}:
        raise DlcourseError(f"{m.label} is not a linear map on {game.name}: its Jacobian depends on the point.")
    return M


def characteristic_polynomial(method, game: QuadraticGame, parts=None) -> sp.Expr:
    """det(lambda I - M(eta)), factored (in ``LAM`` and ``ETA``)."""
    return sp.factor(update_matrix(method, game, parts).charpoly(LAM).as_expr())


def eigenvalues(method, game: QuadraticGame, parts=None) -> dict:
    """Eigenvalues of M(eta) in closed form: ``{expression in ETA: multiplicity}``."""
    return update_matrix(method, game, parts).eigenvals()


def spectral_radius_expr(method, game: QuadraticGame, parts=None) -> sp.Expr:
    """rho(M(eta)) = max abs(lambda_i(eta)) as a sympy expression (as simplified as sympy manages)."""
    mods = []
    for ev in eigenvalues(method, game, parts):
        a = sp.simplify(sp.Abs(ev))
        if a not in mods:
            mods.append(a)
    return mods[0] if len(mods) == 1 else sp.Max(*mods)


def spectral_radius(method, game: QuadraticGame, eta, parts=None) -> np.ndarray:
    """rho(M(eta)) evaluated numerically; ``eta`` a number or an array of shape ``(N,)`` -> same shape."""
    m = get_method(method, parts)
    M = _numeric_matrix(m, game) if isinstance(method, (str, Method)) else _lambdify(update_matrix(m, game))
    etas = np.asarray(eta, dtype=float)
    out = np.array([np.abs(np.linalg.eigvals(np.array(M(e), dtype=float))).max() for e in etas.ravel()])
    return out.reshape(etas.shape)


def _lambdify(M: sp.Matrix) -> Callable[[float], np.ndarray]:
    return sp.lambdify(ETA, M, "numpy")


@functools.lru_cache(maxsize=64)
def _numeric_matrix(m: Method, game: QuadraticGame) -> Callable[[float], np.ndarray]:
    return _lambdify(update_matrix(m, game))


# --------------------------------------------------------------------------- stability intervals
@dataclass(frozen=True)
class Region:
    """An open interval lo < eta < hi on which a method behaves one way.

    ``kind``: ``"converges"`` (rho < 1), ``"neutral"`` (rho = 1: bounded or slowly growing, never
    converging) or ``"diverges"`` (rho > 1).
    """

    lo: sp.Expr
    hi: sp.Expr
    kind: str

    def __str__(self) -> str:
        return f"{self.kind:<9} for {self.lo} < eta < {self.hi}"


def _positive_roots(poly: sp.Expr) -> list[sp.Expr]:
    """The positive real roots in eta of a polynomial, exact (radicals, or CRootOf when sympy must)."""
    poly = sp.expand(poly)
    if poly == 0 or not poly.has(ETA):
        return []
    roots = set()
    for factor, _ in sp.factor_list(poly, ETA)[1]:
        for r in sp.Poly(factor, ETA).real_roots():
            if r.is_positive:
                roots.add(sp.nsimplify(r) if r.is_rational else sp.radsimp(r))
    return sorted(roots, key=lambda r: float(r))


def _reversal(p: sp.Expr, n: int) -> sp.Expr:
    return sp.expand(LAM**n * p.subs(LAM, 1 / LAM))


def boundary_candidates(method, game: QuadraticGame, parts=None) -> list[sp.Expr]:
    """Every eta > 0 where rho(M(eta)) can cross 1 (a superset of the true boundaries), exact."""
    p = sp.expand(update_matrix(method, game, parts).charpoly(LAM).as_expr())
    n = sp.degree(p, LAM)
    shared = sp.gcd(p, _reversal(p, n))  # self-reciprocal part: its roots pair up as lambda, 1/lambda
    if sp.degree(shared, LAM) <= 0:
        shared = sp.Integer(1)
    rest = sp.quo(p, shared, LAM)
    cands = set()
    if sp.degree(rest, LAM) > 0:
        cands.update(_positive_roots(sp.resultant(rest, _reversal(rest, sp.degree(rest, LAM)), LAM)))
    if sp.degree(shared, LAM) > 1:
        cands.update(_positive_roots(sp.discriminant(shared, LAM)))
    return sorted(cands, key=lambda r: float(r))


def rho_kind(rho: float) -> str:
    """``"converges"`` (rho < 1), ``"neutral"`` (rho = 1 within RHO_TOL) or ``"diverges"`` (rho > 1)."""
    if rho < 1 - RHO_TOL:
        return "converges"
    return "diverges" if rho > 1 + RHO_TOL else "neutral"


def stability_regions(method, game: QuadraticGame, parts=None) -> list[Region]:
    """How ``method`` behaves on ``game`` for every eta > 0: consecutive open :class:`Region` s.

    Boundaries are exact (resultant roots, see the module docstring); each interval is classified by
    rho at one interior point. Neighbouring intervals of the same kind are merged.
    """
    cuts = [sp.Integer(0), *boundary_candidates(method, game, parts), sp.oo]
    regions: list[Region] = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        probe = float(lo) + 1.0 if hi == sp.oo else (float(lo) + float(hi)) / 2
        kind = rho_kind(float(spectral_radius(method, game, probe, parts)))
        if regions and regions[-1].kind == kind:
            regions[-1] = Region(regions[-1].lo, hi, kind)
        else:
            regions.append(Region(lo, hi, kind))
    return regions


def convergence_interval(method, game: QuadraticGame, parts=None) -> tuple[sp.Expr, sp.Expr] | None:
    """The exact interval ``(lo, hi)`` of step sizes for which ``method`` converges on ``game``, or None.

    Raises DlcourseError if the convergent set is not one interval (it is one for every game here).
    """
    conv = [r for r in stability_regions(method, game, parts) if r.kind == "converges"]
    if not conv:
        return None
    if len(conv) > 1:
        raise DlcourseError(f"{get_method(method, parts).label} converges on several intervals on {game.name}: "
                            + "; ".join(map(str, conv)))
    return conv[0].lo, conv[0].hi


# --------------------------------------------------------------------------- one scalar factor
@dataclass(frozen=True)
class Regime:
    """Step sizes ``etas`` (a sympy set) on which z_{t+1} = r(eta) z_t behaves as ``description``."""

    etas: sp.Set
    description: str


#: (conditions on the factor r, description): the behaviour of z_t = r^t z_0.
_REGIMES: list[tuple[Callable[[sp.Expr], list], str]] = [
    (lambda r: [sp.Eq(r, 0)], "reaches the saddle in one step (r = 0)"),
    (lambda r: [r > 0, r < 1], "converges monotonically (0 < r < 1)"),
    (lambda r: [r > -1, r < 0], "converges, flipping sign every step (-1 < r < 0)"),
    (lambda r: [sp.Eq(r, -1)], "2-cycle z_t = (-1)^t z_0: bounded, no convergence (r = -1)"),
    (lambda r: [sp.Eq(r, 1)], "stays where it starts (r = 1)"),
    (lambda r: [r > 1], "diverges monotonically (r > 1)"),
    (lambda r: [r < -1], "diverges, flipping sign every step (r < -1)"),
]


def factor_regimes(r: sp.Expr) -> list[Regime]:
    """The behaviours of z_t = r(eta)^t z_0 over eta > 0, in order of eta (exact sets)."""
    positive = sp.Interval.open(0, sp.oo)
    out = []
    for conditions, text in _REGIMES:
        s = positive
        for c in conditions(r):
            s = s.intersect(sp.solveset(c, ETA, domain=positive))
        if s is not sp.S.EmptySet:
            out.append(Regime(s, text))
    return sorted(out, key=lambda g: float(g.etas.inf))


# --------------------------------------------------------------------------- the homework, derived
@dataclass(frozen=True)
class HomeworkAnswers:
    """Problem 1 (a)-(d) for f = 4x^2 - 4y^2, each derived with sympy (see :func:`homework`)."""

    f: sp.Expr
    gradient: tuple[sp.Expr, sp.Expr]
    hessian: sp.Matrix
    hessian_eigenvalues: dict
    critical_points: list[tuple[sp.Expr, sp.Expr]]
    kind: str
    gda_matrix: sp.Matrix
    gda_factor: sp.Expr
    gda_interval: sp.Set
    gda_one_step: sp.Expr
    gda_regimes: list[Regime]
    gd_matrix: sp.Matrix
    gd_factors: tuple[sp.Expr, sp.Expr]
    gd_x_regimes: list[Regime]
    gd_y_regimes: list[Regime]


def homework(game: QuadraticGame | None = None, parts=None) -> HomeworkAnswers:
    """Derive (a)-(d) for ``game`` (default: the homework game, which must be separable for (b)-(d))
    with the ``classify_critical_point``, ``gda_step`` and ``gd_step`` of ``parts`` (default: the reference)."""
    parts = partslib.resolve(parts, "minimax")
    game = game or homework_game()
    g = exact(game)
    f = sp.expand(g.f(X, Y))
    grad = (sp.diff(f, X), sp.diff(f, Y))
    H = sp.hessian(f, (X, Y))
    crit = [(s[X], s[Y]) for s in sp.solve(grad, (X, Y), dict=True)]
    kind = parts.saddle.classify_critical_point(np.array(H.tolist(), dtype=float))

    gda = update_matrix("gda", game, parts)
    gd = update_matrix("gd", game, parts)
    if not (gda.is_diagonal() and gd.is_diagonal()):
        raise DlcourseError(f"homework() analyses separable games; {game.name} couples x and y.")
    r = gda[0, 0]
    if sp.simplify(gda[1, 1] - r) != 0:
        raise DlcourseError(f"homework() expects one GDA factor for x and y on {game.name}.")
    # |r| < 1, derived from the factor ...
    interval = sp.solveset(sp.Abs(r) < 1, ETA, domain=sp.Interval.open(0, sp.oo))
    # ... and, independently, from the resultant machinery: they must agree.
    lo_hi = convergence_interval("gda", game, parts)
    if lo_hi is None or interval != sp.Interval.open(*lo_hi):
        raise DlcourseError(f"internal inconsistency: |r| < 1 gives {interval}, the resultant gives {lo_hi}.")
    one_step = sp.solve(sp.Eq(r, 0), ETA)
    return HomeworkAnswers(
        f=f,
        gradient=grad,
        hessian=H,
        hessian_eigenvalues=H.eigenvals(),
        critical_points=crit,
        kind=kind,
        gda_matrix=gda,
        gda_factor=r,
        gda_interval=interval,
        gda_one_step=one_step[0] if one_step else sp.nan,
        gda_regimes=factor_regimes(r),
        gd_matrix=gd,
        gd_factors=(gd[0, 0], gd[1, 1]),
        gd_x_regimes=factor_regimes(gd[0, 0]),
        gd_y_regimes=factor_regimes(gd[1, 1]),
    )


@dataclass(frozen=True)
class MethodSummary:
    """One row of the beyond-the-homework table: a method on a game, derived."""

    method: str
    game: str
    charpoly: sp.Expr
    rho: sp.Expr
    regions: list[Region]
    interval: tuple[sp.Expr, sp.Expr] | None


def summarize(method, game: QuadraticGame, parts=None) -> MethodSummary:
    """Characteristic polynomial, spectral radius and stability regions of ``method`` on ``game``."""
    return MethodSummary(
        method=get_method(method, parts).label,
        game=game.name,
        charpoly=characteristic_polynomial(method, game, parts),
        rho=spectral_radius_expr(method, game, parts),
        regions=stability_regions(method, game, parts),
        interval=convergence_interval(method, game, parts),
    )


def format_set(s: sp.Set) -> str:
    """A set of step sizes as text: ``(0, 1/4)``, ``{1/8}``, ``[1/4, oo)``."""
    if isinstance(s, sp.Interval):
        return f"{'(' if s.left_open else '['}{s.start}, {s.end}{')' if s.right_open else ']'}"
    return str(s)


def report(games: list[QuadraticGame] | None = None, methods=METHOD_KEYS, parts=None) -> str:
    """The derived results as text: the homework answers, then every method on every game."""
    from dlcourse.minimax.functions import bilinear_game

    hw = homework(parts=parts)
    lines = [
        f"Problem 1: min_x max_y {hw.f}",
        "(a) gradient = ({}, {}), Hessian = {}, eigenvalues {}".format(*hw.gradient, hw.hessian.tolist(),
                                                                     dict(hw.hessian_eigenvalues)),
        f"    critical point(s) {hw.critical_points}: a {hw.kind} "
        "(minimum along x, maximum along y)",
        f"(b) GDA: x <- ({hw.gda_factor}) x,  y <- ({hw.gda_factor}) y;  (x_t, y_t) = ({hw.gda_factor})^t (x0, y0)",
        f"(c) GDA converges iff |{hw.gda_factor}| < 1 iff eta in {format_set(hw.gda_interval)}; "
        f"one step at eta = {hw.gda_one_step}",
    ]
    lines += [f"      eta in {format_set(g.etas)}: {g.description}" for g in hw.gda_regimes]
    lines += [
        f"(d) plain GD: x <- ({hw.gd_factors[0]}) x,  y <- ({hw.gd_factors[1]}) y",
    ]
    lines += [f"      y: eta in {format_set(g.etas)}: {g.description}" for g in hw.gd_y_regimes]
    lines += ["    so GD reaches the saddle only from y0 = 0, and then iff x0 = 0 or eta in "
              f"{format_set(hw.gda_interval)} (x behaves as under GDA)", "", "Beyond the homework:"]
    for game in games or [homework_game(), bilinear_game()]:
        lines.append(f"  {game.name}")
        for m in methods:
            s = summarize(m, game, parts)
            regions = "; ".join(str(r) for r in s.regions)
            lines.append(f"    {s.method:<18} rho = {s.rho}")
            lines.append(f"    {'':<18} {regions}")
    return "\n".join(lines)
