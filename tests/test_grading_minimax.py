"""Problem 1 grader: the reference scores 5/5, the generated stubs 0/5 ("not implemented"), and each
check - visible and hidden - fails, naming what it expected and what it found, on a plausible wrong
implementation; the hidden checks also fail mistakes that the visible inputs do not reveal."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import reference_submission

from dlcourse import stubs
from dlcourse.grading.core import Report, Submission, all_checks, grade, run_check

PACKAGE = Path(stubs.PACKAGE_DIR)
STUDENT_MODULES = ("saddle", "steps", "convergence")
CHECKS = {c.id: c for c in all_checks(["1"])}
PARTS = ["1a", "1b", "1c", "1d1", "1d2"]


def test_problem_1_checks_and_points():
    assert list(CHECKS) == [cid for part in PARTS for cid in (part, f"{part}-hidden")]
    assert {cid: c.points for cid, c in CHECKS.items()} == dict.fromkeys(CHECKS, 0.5)
    assert {c.question for c in CHECKS.values()} == {"Problem 1"}
    assert {cid: c.visibility for cid, c in CHECKS.items()} == {
        cid: "after_due_date" if cid.endswith("-hidden") else "visible" for cid in CHECKS}
    assert {f"minimax/{m}.py" for m in STUDENT_MODULES} <= {p.as_posix() for p in stubs.solution_modules()}


def test_hidden_checks_use_other_inputs():
    for part in PARTS:
        visible, hidden = CHECKS[part], CHECKS[f"{part}-hidden"]
        assert (visible.probe, visible.judge) == (hidden.probe, hidden.judge)
        assert set(visible.args) == set(hidden.args)
        for key, values in visible.args.items():
            assert values != hidden.args[key], (part, key)
            assert len(hidden.args[key]) >= len(values), (part, key)  # the same kinds of cases, and more


def test_reference_scores_full_marks():
    run_check(CHECKS["1d2"], Submission(None))  # start the check server first: its start-up is not the check's
    results = grade(None, list(CHECKS.values()))
    report = Report(results)
    assert [r.status for r in results] == ["passed"] * 10, report.table()
    assert report.by_question()["Problem 1"] == (5.0, 5.0)


def test_stubs_score_zero_as_not_implemented(generated_stubs):
    results = grade(generated_stubs, list(CHECKS.values()))
    assert [r.status for r in results] == ["not implemented"] * 10, Report(results).table()
    assert Report(results).score == 0


def _submission(tmp_path: Path, module: str, old: str, new: str) -> Submission:
    """The reference solutions copied to a submission folder, with ``old`` replaced by ``new`` (once) in ``module``."""
    return reference_submission(tmp_path, "minimax", [f"{m}.py" for m in STUDENT_MODULES],
                                {f"{module}.py": [(old, new)]}, count=1)


MUTATIONS = [  # (check, module, reference text, wrong text, words the message must contain)
    ("1a", "saddle", "ev = np.linalg.eigvalsh(H)", "ev = np.diag(H)",  # signs of the diagonal, not eigenvalues
     ["classify_critical_point(H) for H = [[", "expected '", "found '"]),
    ("1a", "saddle", "return -np.linalg.solve(H, g0) + 0.0", "return np.zeros(2)",  # "the saddle is always 0"
     ["critical_point(random game #1", "expected [", "found [0., 0.]"]),
    ("1b", "steps", "return x - eta * gx, y + eta * gy", "return x - eta * gx, y - eta * gy",  # y descends too
     ["gda_step(f = 4x^2 - 4y^2", "expected", "found", "y ascends"]),
    ("1b", "steps", "gx, gy = game.grad(x, y)\n    return x - eta * gx, y + eta * gy",  # alternating updates
     "gx, _ = game.grad(x, y)\n    x_new = x - eta * gx\n    _, gy = game.grad(x_new, y)\n"
     "    return x_new, y + eta * gy", ["gda_step(random game", "expected", "found", "simultaneous"]),
    ("1b", "steps", "r = 1 - 8 * eta", "r = 1 - 4 * eta",  # forgot the 2 of d(4x^2)/dx = 8x
     ["gda_closed_form(", "expected", "found", "(1 - 8 eta)^t"]),
    ("1c", "convergence", "float(np.min(2 * mu.real / np.abs(mu) ** 2))",  # the one-step size is not the bound
     "float(np.min(mu.real / np.abs(mu) ** 2))", ["expected (0, 0.25), found (0, 0.125)"]),
    ("1c", "convergence", "J = np.diag([1.0, -1.0]) @ np.asarray",  # forgot that y ascends: J = H
     "J = np.diag([1.0, 1.0]) @ np.asarray", ["gda_convergence_interval(f = 4x^2 - 4y^2)",
                                              "expected the interval (0, 0.25)", "found None"]),
    ("1d1", "steps", "return x - eta * gx, y - eta * gy", "return x - eta * gx, y + eta * gy",  # GD = GDA
     ["gd_step(f = 4x^2 - 4y^2", "expected", "found", "1 + 8 eta"]),
    ("1d2", "convergence", "return x0 == 0 or 0 < eta < 0.25", "return True",  # forgets the step size
     ["gd_reaches_saddle(x0=1, y0=0, eta=0.25): expected False, found True"]),
    ("1d2", "convergence", "return x0 == 0 or 0 < eta < 0.25", "return x0 == 0 or 0 < eta <= 0.25",  # 2-cycle
     ["eta=0.25): expected False, found True"]),
    ("1d2", "convergence", "if y0 != 0:\n        return False", "if False:\n        return False",  # ignores y0
     ["y0=1e-09, eta=0.1): expected False, found True", "(1 + 8 eta)^t y0 grows"]),
]


@pytest.mark.parametrize("cid,module,old,new,words", MUTATIONS,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTATIONS)])
def test_plausible_mistakes_fail_with_expected_and_found(tmp_path, cid, module, old, new, words):
    sub = _submission(tmp_path, module, old, new)
    for check in (CHECKS[cid], CHECKS[f"{cid}-hidden"]):
        result = run_check(check, sub)
        assert result.status in ("failed", "partial") and result.score < check.points, (result.status, result.message)
        assert "Hint" in result.message
        if check.visibility == "visible":
            for w in words:
                assert w in result.message, (w, result.message)


HIDDEN_ONLY = [  # mistakes the public inputs do not reveal: (check, module, reference text, wrong text, words)
    ("1a", "saddle", "pos, neg = ev > tol * scale, ev < -tol * scale", "pos, neg = ev > 1e-6, ev < -1e-6",
     ["classify_critical_point(H)", "expected 'minimum', found 'degenerate'", "relative to the largest"]),
    ("1a", "saddle", "    if pos.any() and neg.any():\n        return \"saddle\"  # curves up along some "
     "directions, down along others\n    if not (pos | neg).all():\n        return \"degenerate\"  # a zero "
     "eigenvalue: the second-order test is inconclusive",
     "    if not (pos | neg).all():\n        return \"degenerate\"\n    if pos.any() and neg.any():\n"
     "        return \"saddle\"", ["expected 'saddle', found 'degenerate'"]),
    ("1d2", "convergence", "if y0 != 0:", "if abs(y0) > 1e-15:", ["y0=1e-300", "expected False, found True"]),
]


@pytest.mark.parametrize("cid,module,old,new,words", HIDDEN_ONLY, ids=[f"{m[0]}-{i}" for i, m in enumerate(HIDDEN_ONLY)])
def test_hidden_checks_catch_what_the_public_inputs_miss(tmp_path, cid, module, old, new, words):
    sub = _submission(tmp_path, module, old, new)
    assert run_check(CHECKS[cid], sub).passed
    result = run_check(CHECKS[f"{cid}-hidden"], sub)
    assert result.status in ("failed", "partial") and result.score < 0.5, (result.status, result.message)
    for w in words:
        assert w in result.message, (w, result.message)


def test_unmutated_copy_passes(tmp_path):
    sub = _submission(tmp_path, "steps", "r = 1 - 8 * eta", "r = 1 - 8 * eta")
    assert [run_check(c, sub).status for c in CHECKS.values()] == ["passed"] * 10


def test_one_function_of_two_gives_half_the_points(tmp_path):
    sub = _submission(tmp_path, "saddle", "g0 = np.asarray(game.grad(0.0, 0.0), dtype=float)",
                      "raise NotImplementedError('critical_point: your code here')")
    result = run_check(CHECKS["1a"], sub)
    assert (result.status, result.score) == ("partial", 0.25), result.message
    assert result.message.startswith("1 of 2 cases passed; failed:\n- critical_point: critical_point(f = 4x^2 - 4y^2)"
                                     ": not implemented yet"), result.message


def test_wrong_return_type_is_a_failure_not_a_crash(tmp_path):
    sub = _submission(tmp_path, "steps", "return x - eta * gx, y + eta * gy", "return 'oops'")
    result = run_check(CHECKS["1b"], sub)
    assert (result.status, result.score) == ("partial", 0.25)  # gda_closed_form is still right
    assert "- gda_step: gda_step(" in result.message and "expected a pair (x, y)" in result.message
