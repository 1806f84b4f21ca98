"""Problem 1 grader: the reference scores 5/5, the generated stubs 0/5 ("not implemented"), and each
check fails - naming what it expected and what it found - on a plausible wrong implementation."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import reference_submission

from dlcourse import stubs
from dlcourse.grading.core import Report, Submission, all_checks, grade, run_check

PACKAGE = Path(stubs.PACKAGE_DIR)
STUDENT_MODULES = ("saddle", "steps", "convergence")
CHECKS = {c.id: c for c in all_checks(["1"])}


def test_problem_1_checks_and_points():
    assert list(CHECKS) == ["1a", "1b", "1c", "1d1", "1d2"]
    points = {cid: c.points for cid, c in CHECKS.items()}
    assert points == {"1a": 1.0, "1b": 1.0, "1c": 1.0, "1d1": 1.0, "1d2": 1.0}
    assert {c.question for c in CHECKS.values()} == {"Problem 1"}
    assert {f"minimax/{m}.py" for m in STUDENT_MODULES} <= {p.as_posix() for p in stubs.solution_modules()}


def test_reference_scores_full_marks():
    run_check(CHECKS["1d2"], Submission(None))  # start the check server first: its start-up is not the check's
    results = grade(None, list(CHECKS.values()))
    report = Report(results)
    assert [r.status for r in results] == ["passed"] * 5, report.table()
    assert report.by_question()["Problem 1"] == (5.0, 5.0)


def test_stubs_score_zero_as_not_implemented(generated_stubs):
    results = grade(generated_stubs, list(CHECKS.values()))
    assert [r.status for r in results] == ["not implemented"] * 5, Report(results).table()
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
    result = run_check(CHECKS[cid], sub)
    assert result.status == "failed" and result.score == 0, (result.status, result.message)
    assert "Hint" in result.message
    for w in words:
        assert w in result.message, (w, result.message)


def test_unmutated_copy_passes(tmp_path):
    sub = _submission(tmp_path, "steps", "r = 1 - 8 * eta", "r = 1 - 8 * eta")
    assert [run_check(c, sub).status for c in CHECKS.values()] == ["passed"] * 5


def test_wrong_return_type_is_a_failure_not_a_crash(tmp_path):
    sub = _submission(tmp_path, "steps", "return x - eta * gx, y + eta * gy", "return 'oops'")
    result = run_check(CHECKS["1b"], sub)
    assert result.status == "failed" and "expected a pair (x, y)" in result.message
