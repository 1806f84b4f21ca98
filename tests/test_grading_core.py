"""The grader machinery: isolation, timeouts, statuses, submissions, reports."""

from __future__ import annotations

import json
import sys
import textwrap
import time

import pytest

from dlcourse.grading import core
from dlcourse.grading.core import Check, CheckFailed, Report, Submission, run_check

FAKE = '''
from dlcourse.grading.core import CheckFailed

def echo(obs):
    """Judge of the outcome tests: the probe's returned string is the verdict's message."""
    return obs

def ok(sub):
    return "fine"

def bad(sub):
    raise CheckFailed("expected 1, found 2")

def not_impl(sub):
    raise NotImplementedError("f: your code here")

def exits(sub):
    import sys
    sys.exit(3)

def loops(sub):
    while True:
        pass

def dies(sub):
    import os
    os._exit(7)

def errs(sub):
    return 1 / 0

def probe_answer(sub):
    return {"answer": sub.module("dlcourse.pkg.mod").answer()}

def judge_answer(obs):
    if obs["answer"] != 42:
        raise CheckFailed(f"expected 42, found {obs['answer']}")
    return "the answer"

def probe_three(sub):
    import torch
    return {"values": torch.tensor([1.0, 2.0, 5.0])}

def judge_three(obs):
    from dlcourse.grading.core import Cases
    cases = Cases()
    for i, v in enumerate(obs["values"].tolist()):
        cases.record(f"case {i}", v == i + 1, f"expected {i + 1}, found {v:g}")
    return cases.verdict("all three")

def probe_object(sub):
    return {"thing": object()}

def uses_submission(sub):
    mod = sub.module("dlcourse.pkg.mod")
    if mod.answer() != 42:
        raise CheckFailed(f"expected 42, found {mod.answer()}")
'''


@pytest.fixture(scope="module")
def fake_checks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checks")
    (folder / "fake_checks.py").write_text(FAKE)
    sys.path.insert(0, str(folder))
    yield lambda fn, timeout=20.0: Check(fn, "Problem 9", fn, 1.0, probe=f"fake_checks:{fn}",
                                                    judge="fake_checks:echo", timeout=timeout)
    sys.path.remove(str(folder))


@pytest.mark.parametrize("fn,status,words", [
    ("ok", "passed", "fine"),
    ("bad", "failed", "expected 1, found 2"),
    ("not_impl", "not implemented", "not implemented yet"),
    ("exits", "crashed", "sys.exit(3)"),
    ("dies", "crashed", "exit code 7"),
    ("errs", "error", "ZeroDivisionError"),
])
def test_each_outcome_is_isolated_and_explained(fake_checks, fn, status, words):
    r = run_check(fake_checks(fn), Submission(None))
    assert r.status == status
    assert words in r.message
    assert r.score == (1.0 if status == "passed" else 0.0)


def test_endless_loop_costs_only_that_check(fake_checks):
    t0 = time.perf_counter()
    r = run_check(fake_checks("loops", timeout=2), Submission(None))
    assert r.status == "timeout" and "endless loop" in r.message
    assert time.perf_counter() - t0 < 10
    assert run_check(fake_checks("ok"), Submission(None)).passed  # the grader goes on


def test_submission_modules_import_each_other_relatively(fake_checks, tmp_path):
    pkg = tmp_path / "sub" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("VALUE = 41\n")
    (pkg / "mod.py").write_text("from .helper import VALUE\n\ndef answer():\n    return VALUE + 1\n")
    assert run_check(fake_checks("uses_submission"), Submission(tmp_path / "sub")).passed
    (pkg / "helper.py").write_text("VALUE = 0\n")
    r = run_check(fake_checks("uses_submission"), Submission(tmp_path / "sub"))
    assert r.status == "failed" and "expected 42, found 1" in r.message


def test_missing_student_file_names_the_file(tmp_path):
    with pytest.raises(CheckFailed, match=r"pkg/mod\.py"):
        Submission(tmp_path).module("dlcourse.pkg.mod")


def test_report_table_and_gradescope_json(fake_checks, tmp_path):
    results = core.grade(None, [fake_checks("ok"), fake_checks("bad")])
    report = Report(results)
    assert report.score == 1 and report.max_score == 2
    table = report.table()
    assert "Problem 9 ok" in table and "expected 1, found 2" in table and "Total" in table
    path = tmp_path / "results.json"
    report.write_gradescope(path)
    data = json.loads(path.read_text())
    assert data["score"] == 1
    assert [t["name"] for t in data["tests"]] == ["Problem 9 ok", "Problem 9 bad"]
    for t in data["tests"]:
        assert {"name", "score", "max_score", "output", "visibility"} <= set(t)


def test_homework_points_are_3_problems_of_5():
    checks = core.all_checks()
    per_question: dict[str, float] = {}
    for c in checks:
        per_question[c.question] = per_question.get(c.question, 0) + c.points
    for q, pts in per_question.items():
        assert pts == core.QUESTION_POINTS[q], f"{q} checks add up to {pts}"
    assert len({c.id for c in checks}) == len(checks), "check ids must be unique"


def test_problem1_parts_have_the_homework_points():
    parts = {c.id: c.points for c in core.all_checks(["1"])}
    if not parts:
        pytest.skip("Problem 1 grader not present")
    by_letter: dict[str, float] = {}
    for cid, pts in parts.items():
        letter = cid[1]
        by_letter[letter] = by_letter.get(letter, 0) + pts
    assert by_letter == {"a": 1, "b": 1, "c": 1, "d": 2}


def test_custom_module_source_in_stub_message(tmp_path):
    stub = tmp_path / "pkg"
    stub.mkdir()
    (stub / "mod.py").write_text(textwrap.dedent('''
        def answer():
            raise NotImplementedError("answer: your code here")
    '''))
    mod = Submission(tmp_path).module("dlcourse.pkg.mod")
    with pytest.raises(NotImplementedError, match="answer"):
        mod.answer()


def _probe_judge(fn: str, judge: str) -> Check:
    return Check(fn, "Problem 9", fn, 3.0, probe=f"fake_checks:{fn}", judge=f"fake_checks:{judge}", timeout=20)


def test_probe_runs_student_code_and_judge_decides(fake_checks, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (tmp_path / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("def answer():\n    return 41\n")
    r = run_check(_probe_judge("probe_answer", "judge_answer"), Submission(tmp_path))
    assert (r.status, r.score) == ("failed", 0.0) and "found 41" in r.message
    (pkg / "mod.py").write_text("def answer():\n    return 42\n")
    r = run_check(_probe_judge("probe_answer", "judge_answer"), Submission(tmp_path))
    assert (r.status, r.score, r.message) == ("passed", 3.0, "the answer")


def test_cases_give_partial_credit_and_name_the_failures(fake_checks):
    r = run_check(_probe_judge("probe_three", "judge_three"), Submission(None))
    assert r.status == "partial" and r.score == 2.0
    assert "2 of 3 cases passed" in r.message and "case 2: expected 3, found 5" in r.message


def test_observations_must_be_plain_data(fake_checks):
    r = run_check(_probe_judge("probe_object", "judge_answer"), Submission(None))
    assert r.status == "error" and r.score == 0.0


# --------------------------------------------------------------------------- answer keys
@pytest.fixture
def fresh_keys(monkeypatch):
    """No answer key computed or read yet in this process (and none left behind)."""
    monkeypatch.setattr(core, "_KEYS", {})
    core.stored_keys.cache_clear()
    yield
    core.stored_keys.cache_clear()


def test_a_key_lives_with_the_answer_keys():
    with pytest.raises(ValueError, match="lives in dlcourse.grading.keys"):
        Check("9k", "Problem 9", "k", 1.0, probe="m:p", judge="m:j", key="fake_checks:key")


def test_the_judge_gets_its_key_computed_once(fresh_keys, monkeypatch):
    check = {c.id: c for c in core.all_checks(["1"])}["1d2"]
    calls = []
    real = core.compute_key
    monkeypatch.setattr(core, "compute_key", lambda c: calls.append(c.id) or real(c))
    assert run_check(check, Submission(None)).passed
    assert run_check(check, Submission(None)).passed and calls == ["1d2"]
    assert core.answer_key(check) == [bool(v) for v in core.answer_key(check)]  # plain data


def _without_key_functions(monkeypatch, tmp_path, checks) -> None:
    """This process as a students' copy: no key package, the keys of ``checks`` stored in tmp_path."""
    import torch

    torch.save(core.stored_answer_keys(checks), tmp_path / "answer_key.pt")
    monkeypatch.setattr(core, "keys_available", lambda: False)
    monkeypatch.setattr(core, "answer_key_path", lambda: tmp_path / "answer_key.pt")


def test_without_the_key_functions_the_stored_keys_judge(fresh_keys, monkeypatch, tmp_path):
    checks = [c for c in core.all_checks(["1"]) if c.visibility == "visible"]
    _without_key_functions(monkeypatch, tmp_path, checks)
    assert [run_check(c, Submission(None)).status for c in checks] == ["passed"] * len(checks)


def test_a_stored_key_for_other_inputs_is_the_graders_error(fresh_keys, monkeypatch, tmp_path):
    import dataclasses

    check = {c.id: c for c in core.all_checks(["1"])}["1d2"]
    _without_key_functions(monkeypatch, tmp_path, [dataclasses.replace(check, args={"cases": [[1.0, 0.0, 0.1]]})])
    with pytest.raises(core.AnswerKeyError, match="for other inputs .* reinstall"):
        run_check(check, Submission(None))  # raised: no verdict on the student's code
    (tmp_path / "answer_key.pt").unlink()
    core.stored_keys.cache_clear()
    with pytest.raises(core.AnswerKeyError, match="neither the answer keys .* reinstall it from the release"):
        run_check(check, Submission(None))


KEYS_WITHOUT_REFERENCE = """
import importlib.abc, sys
from dlcourse.grading import core, sandbox

blocked = sandbox.reference_modules()

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in blocked:
            raise ImportError(f"a key imported the reference part {name}")

sys.meta_path.insert(0, Block())
checks = [c for c in core.all_checks() if c.key]
for check in checks:
    core.compute_key(check)
assert not set(blocked) & set(sys.modules), set(blocked) & set(sys.modules)
print(len(checks), "keys")
"""


def test_keys_compute_without_the_reference_parts():
    """Every check's key (visible and hidden) is computed with the reference solution modules unimportable: the
    keys are independent of the code they judge."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", KEYS_WITHOUT_REFERENCE], capture_output=True, text=True, timeout=300)
    n = sum(1 for c in core.all_checks() if c.key)
    assert out.returncode == 0 and out.stdout.strip() == f"{n} keys", out.stderr[-3000:]
    assert n == 24  # all parts of Problems 1 and 2 and 3(c), 3(d), visible and hidden
