"""Problem 1 (minimax): the games, the update rules, the sympy derivations - and a simulation that
confirms every derived step-size condition (convergence inside the interval, none outside)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.minimax import analysis
from dlcourse.minimax.convergence import gd_reaches_saddle, gda_convergence_interval
from dlcourse.minimax.dynamics import (
    METHOD_KEYS,
    alternating,
    distance_to,
    empirical_rate,
    extragradient,
    optimistic,
    run,
)
from dlcourse.minimax.functions import QuadraticGame, bilinear_game, get_game, homework_game, separable_game
from dlcourse.minimax.saddle import classify_critical_point, critical_point
from dlcourse.minimax.steps import gd_step, gda_closed_form, gda_step

extragradient_step, alternating_gda_step, optimistic_gda_step = (extragradient(gda_step), alternating(gda_step),
                                                                 optimistic(gda_step))

ETA = analysis.ETA
HW, XY = homework_game(), bilinear_game()
COUPLED = QuadraticGame(3, 1, -2, 0.5, -1.0, name="coupled")


# --------------------------------------------------------------------------- games
@pytest.mark.parametrize("game", [HW, XY, COUPLED, separable_game(1.5, 0.5, 1.0, 2.0)], ids=lambda g: g.name)
def test_gradient_and_hessian_match_finite_differences(game):
    rng = np.random.default_rng(0)
    h = 1e-6
    for x, y in rng.uniform(-2, 2, size=(5, 2)):
        gx, gy = game.grad(x, y)
        assert gx == pytest.approx((game.f(x + h, y) - game.f(x - h, y)) / (2 * h), abs=1e-6)
        assert gy == pytest.approx((game.f(x, y + h) - game.f(x, y - h)) / (2 * h), abs=1e-6)
    X, Y = sp.symbols("x y")
    assert sp.Matrix(sp.hessian(game.f(X, Y), (X, Y))).evalf() == sp.Matrix(game.hessian()).evalf()


def test_homework_game_is_4x2_minus_4y2_on_arrays_and_symbols():
    x, y = np.linspace(-1, 1, 7), np.linspace(2, -2, 7)
    np.testing.assert_allclose(HW.f(x, y), 4 * x**2 - 4 * y**2)
    X, Y = sp.symbols("x y")
    assert sp.expand(HW.f(X, Y) - (4 * X**2 - 4 * Y**2)) == 0
    assert sp.expand(XY.f(X, Y) - X * Y) == 0
    assert get_game("homework") == HW and get_game("bilinear") == XY


def test_bad_games_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown game 'nope'"):
        get_game("nope")
    with pytest.raises(ConfigError, match="qxx=inf"):
        QuadraticGame(float("inf"), 0, -1)


# --------------------------------------------------------------------------- (a)
def test_saddle_of_the_homework_game():
    np.testing.assert_array_equal(critical_point(HW), [0.0, 0.0])
    assert classify_critical_point(HW.hessian()) == "saddle"
    np.testing.assert_allclose(critical_point(COUPLED), COUPLED.center)
    hw = analysis.homework()
    assert hw.critical_points == [(0, 0)] and hw.kind == "saddle"
    assert hw.gradient == (8 * analysis.X, -8 * analysis.Y)
    assert hw.hessian_eigenvalues == {8: 1, -8: 1}


@pytest.mark.parametrize("eigs,kind", [([2, 1], "minimum"), ([-1, -3], "maximum"), ([2, -1], "saddle"),
                                       ([1, 0], "degenerate"), ([0, 0], "degenerate"), ([1, 2, -1e-3], "saddle"),
                                       ([1, 1e-13], "degenerate")])
def test_classification_uses_eigenvalues_not_the_diagonal(eigs, kind):
    R, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(len(eigs), len(eigs))))
    H = R @ np.diag(eigs) @ R.T
    assert classify_critical_point((H + H.T) / 2) == kind


def test_saddle_bad_input():
    with pytest.raises(DlcourseError, match="singular"):
        critical_point(QuadraticGame(1, 0, 0))
    with pytest.raises(DlcourseError, match="square"):
        classify_critical_point(np.ones((2, 3)))
    with pytest.raises(DlcourseError, match="symmetric"):
        classify_critical_point([[1.0, 2.0], [0.0, 1.0]])


# --------------------------------------------------------------------------- (b), (d): the steps
def test_gda_step_and_closed_form():
    rng = np.random.default_rng(2)
    for x, y, eta in rng.uniform(-1, 1, size=(5, 3)):
        np.testing.assert_allclose(gda_step(HW, x, y, eta), ((1 - 8 * eta) * x, (1 - 8 * eta) * y))
        np.testing.assert_allclose(gd_step(HW, x, y, eta), ((1 - 8 * eta) * x, (1 + 8 * eta) * y))
    traj = run("gda", HW, (0.7, -1.3), 0.2, 15)
    closed = np.stack(gda_closed_form(0.7, -1.3, 0.2, np.arange(16)), axis=1)
    np.testing.assert_allclose(traj, closed, atol=1e-15)
    assert analysis.update_matrix("gda", HW) == sp.diag(1 - 8 * ETA, 1 - 8 * ETA)
    assert analysis.update_matrix("gd", HW) == sp.diag(1 - 8 * ETA, 1 + 8 * ETA)


def test_steps_work_on_arrays():
    x, y = np.arange(4.0), -np.arange(4.0)
    for step in (gda_step, gd_step, alternating_gda_step, extragradient_step):
        nx, ny = step(COUPLED, x, y, 0.1)
        assert nx.shape == ny.shape == (4,)
        for i in range(4):
            np.testing.assert_allclose((nx[i], ny[i]), step(COUPLED, x[i], y[i], 0.1))


# --------------------------------------------------------------------------- (c): GDA regimes
def test_gda_interval_and_regimes_on_the_homework_game():
    hw = analysis.homework()
    assert hw.gda_factor == 1 - 8 * ETA
    assert hw.gda_interval == sp.Interval.open(0, sp.Rational(1, 4))
    assert hw.gda_one_step == sp.Rational(1, 8)
    regimes = [(analysis.format_set(r.etas), r.description.rsplit(" (", 1)[0]) for r in hw.gda_regimes]
    assert regimes == [("(0, 1/8)", "converges monotonically"), ("{1/8}", "reaches the saddle in one step"),
                       ("(1/8, 1/4)", "converges, flipping sign every step"),
                       ("{1/4}", "2-cycle z_t = (-1)^t z_0: bounded, no convergence"),
                       ("(1/4, oo)", "diverges, flipping sign every step")]
    assert gda_convergence_interval(HW) == (0.0, 0.25)


def test_gda_regimes_numerically():
    z0 = (0.8, -0.3)
    mono = run("gda", HW, z0, 0.05, 30)
    assert np.all(np.diff(mono[:, 0]) < 0) and np.all(mono[:, 0] > 0)  # monotone, same sign
    np.testing.assert_array_equal(run("gda", HW, z0, 0.125, 3)[1:], 0.0)  # one step, exactly
    osc = run("gda", HW, z0, 0.2, 30)
    assert np.all(osc[1::2, 0] < 0) and np.all(osc[2::2, 0] > 0) and abs(osc[-1, 0]) < 1e-6
    cyc = run("gda", HW, z0, 0.25, 6)
    np.testing.assert_array_equal(cyc[::2], np.tile(z0, (4, 1)))
    np.testing.assert_array_equal(cyc[1::2], -np.tile(z0, (3, 1)))
    div = distance_to(run("gda", HW, z0, 0.26, 200), (0, 0))
    assert np.all(np.diff(div) > 0) and div[-1] > 1e6


def test_student_interval_agrees_with_the_resultant_derivation():
    for game in (HW, XY, COUPLED, QuadraticGame(-2, 0, 2), separable_game(3, 0.5)):
        derived = analysis.convergence_interval("gda", game)
        found = gda_convergence_interval(game)
        if derived is None:
            assert found is None, game.name
        else:
            assert found[0] == 0 and found[1] == pytest.approx(float(derived[1]), rel=1e-12), game.name


# --------------------------------------------------------------------------- (d): plain GD
def test_plain_gd_escapes_along_y():
    hw = analysis.homework()
    assert hw.gd_factors == (1 - 8 * ETA, 1 + 8 * ETA)
    assert [r.description for r in hw.gd_y_regimes] == ["diverges monotonically (r > 1)"]
    assert analysis.format_set(hw.gd_y_regimes[0].etas) == "(0, oo)"
    traj = run("gd", HW, (1.0, 1e-8), 0.05, 60)
    assert abs(traj[-1, 0]) < 1e-12 and abs(traj[-1, 1]) > 1.0  # x converged, y escaped
    t_escape = int(np.argmax(np.abs(traj[:, 1]) > 1.0))
    assert t_escape == math.ceil(math.log(1e8) / math.log(1.4))
    assert analysis.convergence_interval("gd", HW) is None


def test_gd_reaches_saddle_agrees_with_simulation():
    etas = (0.0, 0.01, 0.1, 0.125, 0.2, 0.25, 0.3, 1.0)
    for x0 in (0.0, -1.5):
        for y0 in (0.0, 1e-9, -2.0):
            for eta in etas:
                reached = distance_to(run("gd", HW, (x0, y0), eta, 3000), (0, 0))[-1] < 1e-12
                assert gd_reaches_saddle(x0, y0, eta) == reached, (x0, y0, eta)


# --------------------------------------------------------------------------- beyond: derived intervals
R = sp.Rational
EXPECTED = {  # (method, game): (regions as (lo, hi, kind))
    ("gda", "hw"): [(0, R(1, 4), "converges"), (R(1, 4), sp.oo, "diverges")],
    ("alt-gda", "hw"): [(0, R(1, 4), "converges"), (R(1, 4), sp.oo, "diverges")],
    ("gd", "hw"): [(0, sp.oo, "diverges")],
    ("eg", "hw"): [(0, R(1, 8), "converges"), (R(1, 8), sp.oo, "diverges")],
    ("ogda", "hw"): [(0, R(1, 12), "converges"), (R(1, 12), sp.oo, "diverges")],
    ("gda", "xy"): [(0, sp.oo, "diverges")],
    ("alt-gda", "xy"): [(0, 2, "neutral"), (2, sp.oo, "diverges")],
    ("gd", "xy"): [(0, sp.oo, "diverges")],
    ("eg", "xy"): [(0, 1, "converges"), (1, sp.oo, "diverges")],
    ("ogda", "xy"): [(0, 1 / sp.sqrt(3), "converges"), (1 / sp.sqrt(3), sp.oo, "diverges")],
}
GAMES = {"hw": HW, "xy": XY}


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_derived_stability_regions(key):
    method, game = key[0], GAMES[key[1]]
    regions = [(r.lo, r.hi, r.kind) for r in analysis.stability_regions(method, game)]
    assert len(regions) == len(EXPECTED[key])
    for (lo, hi, kind), (elo, ehi, ekind) in zip(regions, EXPECTED[key]):
        assert kind == ekind and sp.simplify(lo - elo) == 0 and (hi == ehi or sp.simplify(hi - ehi) == 0)


def _steps_for(rho: float) -> int:
    """Enough steps for rho^T to pass 1e-9 (or 1e9) by a margin."""
    return min(20000, int(25 / abs(math.log(rho))) + 10)


@pytest.mark.parametrize("key", [k for k, v in EXPECTED.items() if v[0][2] == "converges"],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_convergence_inside_and_divergence_outside_the_derived_interval(key):
    method, game = key[0], GAMES[key[1]]
    hi = float(analysis.convergence_interval(method, game)[1])
    for frac in (0.3, 0.95):
        eta = frac * hi
        rho = float(analysis.spectral_radius(method, game, eta))
        d = distance_to(run(method, game, (1.0, -0.6), eta, _steps_for(rho)), game.center)
        assert d[-1] < 1e-8 * d[0], (eta, rho)
    eta = 1.05 * hi
    rho = float(analysis.spectral_radius(method, game, eta))
    d = distance_to(run(method, game, (1.0, -0.6), eta, _steps_for(rho)), game.center)
    assert d[-1] > 1e8 * d[0], (eta, rho)


def test_bilinear_gda_spirals_out_for_every_step_size():
    assert sp.simplify(analysis.spectral_radius_expr("gda", XY) - sp.sqrt(1 + ETA**2)) == 0
    for eta in (1e-3, 0.05, 0.3, 1.0, 3.0):
        d = distance_to(run("gda", XY, (1.0, 0.0), eta, 50), (0, 0))
        np.testing.assert_allclose(d[1:] / d[:-1], math.sqrt(1 + eta**2), rtol=1e-12)  # grows every step


def test_bilinear_alternating_gda_cycles_below_eta_2():
    M = analysis.update_matrix("alt-gda", XY)
    assert M.det() == 1 and sp.expand(M.trace() - (2 - ETA**2)) == 0
    for eta in (0.1, 1.0, 1.9):
        d = distance_to(run("alt-gda", XY, (1.0, 0.0), eta, 5000), (0, 0))
        assert 0.05 < d.min() and d.max() < 20, eta  # bounded, and does not converge
        assert d[-1000:].max() > 0.5 * d[:1000].max(), eta
    d = distance_to(run("alt-gda", XY, (1.0, 0.0), 2.0, 400), (0, 0))
    assert d[-1] > 100  # Jordan block at eta = 2: linear growth
    assert distance_to(run("alt-gda", XY, (1.0, 0.0), 2.1, 100), (0, 0))[-1] > 1e10


def test_alternating_equals_simultaneous_on_the_separable_game():
    assert analysis.update_matrix("alt-gda", HW) == analysis.update_matrix("gda", HW)
    np.testing.assert_array_equal(run("alt-gda", HW, (0.3, 0.9), 0.17, 20), run("gda", HW, (0.3, 0.9), 0.17, 20))


def test_extragradient_factor_and_closed_forms():
    assert analysis.update_matrix("eg", HW) == sp.diag(1 - 8 * ETA + 64 * ETA**2, 1 - 8 * ETA + 64 * ETA**2)
    assert sp.simplify(analysis.spectral_radius_expr("eg", XY) - sp.sqrt(ETA**4 - ETA**2 + 1)) == 0
    rho = analysis.spectral_radius("eg", HW, np.linspace(0.001, 0.124, 50))
    assert rho.min() == pytest.approx(0.75, abs=1e-3) and np.all(rho < 1)


def test_optimistic_gda_state_map_and_first_step():
    M = analysis.update_matrix("ogda", XY)
    assert M.shape == (4, 4)
    assert sp.factor(M.charpoly(analysis.LAM).as_expr()) == sp.factor(
        sp.expand((analysis.LAM**2 - (1 - 2 * ETA * sp.I) * analysis.LAM - ETA * sp.I)
                  * (analysis.LAM**2 - (1 + 2 * ETA * sp.I) * analysis.LAM + ETA * sp.I)))
    assert float(analysis.spectral_radius("ogda", XY, 1 / math.sqrt(3))) == pytest.approx(1.0, abs=1e-12)
    # z_{-1} = z_0, so the first OGDA step is a GDA step
    np.testing.assert_allclose(run("ogda", COUPLED, (0.4, 0.2), 0.1, 1)[1], gda_step(COUPLED, 0.4, 0.2, 0.1))
    np.testing.assert_allclose(optimistic_gda_step(HW, 1.0, 1.0, 1.0, 1.0, 0.1), gda_step(HW, 1.0, 1.0, 0.1))


@pytest.mark.parametrize("method", list(METHOD_KEYS))
def test_measured_rate_matches_derived_spectral_radius(method):
    for game in (HW, XY, COUPLED):
        for eta in (0.03, 0.11, 0.4):
            rho = float(analysis.spectral_radius(method, game, eta))
            kind = analysis.rho_kind(rho)
            measured = empirical_rate(method, game, eta, steps=400)
            if kind == "neutral":  # an orbit on an ellipse: the distance wobbles around a constant
                assert measured == pytest.approx(1.0, abs=0.02)
            else:
                assert measured == pytest.approx(rho, rel=2e-2), (method, game.name, eta)


# --------------------------------------------------------------------------- runner, report, plots, CLI
def test_run_is_deterministic_and_validates():
    a = run("eg", COUPLED, (1.0, 2.0), 0.1, 7)
    assert a.shape == (8, 2) and a.dtype == np.float64
    np.testing.assert_array_equal(a, run("eg", COUPLED, [1.0, 2.0], 0.1, 7))
    with pytest.raises(ConfigError, match="unknown method"):
        run("adam", HW, (1, 1), 0.1, 3)
    with pytest.raises(ConfigError, match="eta"):
        run("gda", HW, (1, 1), -0.1, 3)
    with pytest.raises(ConfigError, match="steps"):
        run("gda", HW, (1, 1), 0.1, 2.5)
    with pytest.raises(ConfigError, match="z0"):
        run("gda", HW, (1, 1, 1), 0.1, 3)


def test_report_states_the_results():
    text = analysis.report()
    for piece in ("critical point(s) [(0, 0)]: a saddle", "eta in (0, 1/4)", "one step at eta = 1/8",
                  "(8*eta + 1) y", "converges for 0 < eta < sqrt(3)/3", "neutral   for 0 < eta < 2"):
        assert piece in text, piece


def test_figures_are_written(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from dlcourse.minimax.plots import save_figures

    paths = save_figures(tmp_path / "figs", quiet=True)
    assert len(paths) == 6
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


def test_cli(tmp_path, capsys):
    from dlcourse.cli import main

    assert main(["minimax", "analyze", "--game", "bilinear", "--eta", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "eta in (0, 1/4)" in out and "f = xy" in out and "At eta = 0.5" in out
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["minimax", "plot", "--out", str(blocker)]) == 2
    assert "not a folder" in capsys.readouterr().err
