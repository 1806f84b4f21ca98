"""Problem 2's grader: full marks on the reference, "not implemented" on the stubs, every legitimate
variant of the corpus accepted and every plausible mistake of the corpus refused with a message that
names it (tests/grading_corpus/clip/, see its README)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import reference_submission

from dlcourse.grading import clip as visible
from dlcourse.grading.core import Submission, all_checks, run_check
from dlcourse.grading.hidden import clip as hidden

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "grading_corpus" / "clip"
CHECKS = visible.CHECKS + hidden.CHECKS
STUDENT_FILES = ("model.py", "loss.py", "retrieval.py", "zeroshot.py", "step.py")
PART = {"model": "2a", "loss": "2b", "retrieval": "2c", "zeroshot": "2d", "step": "2e"}
VISIBLE = {c.id: c for c in visible.CHECKS}
HIDDEN = {c.id.removesuffix("-hidden"): c for c in hidden.CHECKS}


def test_problem_has_five_points_half_visible_half_hidden():
    assert [c.id for c in visible.CHECKS] == ["2a", "2b", "2c", "2d", "2e"]
    assert [c.id for c in hidden.CHECKS] == ["2a-hidden", "2b-hidden", "2c-hidden", "2d-hidden", "2e-hidden"]
    for part in PART.values():
        assert VISIBLE[part].points == HIDDEN[part].points == 0.5
    assert {c.visibility for c in visible.CHECKS} == {"visible"}
    assert {c.visibility for c in hidden.CHECKS} == {"after_due_date"}
    assert sum(c.points for c in all_checks(["2"])) == 5
    assert sorted(c.id for c in all_checks(["2"])) == sorted(c.id for c in CHECKS)


def test_hidden_inputs_differ_from_the_visible_ones():
    for part in PART.values():
        assert VISIBLE[part].args != HIDDEN[part].args


def test_every_check_is_probe_and_judge():
    assert all(c.probe and c.judge for c in CHECKS)


def test_probes_never_import_the_reference_solution():
    """The grading modules import nothing from dlcourse.clip (the reference the student replaces)."""
    for mod in (visible, hidden):
        tree = ast.parse(Path(mod.__file__).read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.startswith("dlcourse.clip")], names


BLOCKED_RUN = """
import importlib.abc, sys
BLOCKED = {f"dlcourse.clip.{m}" for m in ("model", "loss", "step", "retrieval", "zeroshot")}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in BLOCKED:
            raise ImportError(f"{name} is the reference solution")
sys.meta_path.insert(0, Block())
from dlcourse.grading import clip
from dlcourse.grading.core import Submission
from dlcourse.grading.hidden import clip as hidden
sub = Submission(sys.argv[1])
for check in clip.CHECKS + hidden.CHECKS:
    verdict = check.resolve_judge()(check.resolve()(sub))
    assert verdict.fraction == 1.0, (check.id, verdict.message)
assert not BLOCKED & set(sys.modules), BLOCKED & set(sys.modules)
print("all passed")
"""


def test_probes_and_judges_run_with_the_reference_solution_unimportable(tmp_path):
    """Every probe and judge on a correct submission, with dlcourse.clip.{model,...} refusing to import."""
    sub = reference_submission(tmp_path, "clip", STUDENT_FILES)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", BLOCKED_RUN, str(sub.root)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0 and "all passed" in out.stdout, out.stderr[-3000:]


def test_reference_gets_full_marks():
    results = [run_check(c, Submission(None)) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 10, [(r.check.id, r.message) for r in results]


def test_copied_reference_passes(tmp_path):
    """The tmp-folder mechanism itself: an unpatched copy scores full marks (so failures below are the variants)."""
    sub = reference_submission(tmp_path, "clip", STUDENT_FILES)
    results = [run_check(c, sub) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 10, [(r.check.id, r.message) for r in results]


def test_stubs_score_zero(generated_stubs):
    stubs = generated_stubs
    assert all((stubs / "clip" / n).is_file() for n in STUDENT_FILES)
    results = [run_check(c, Submission(stubs)) for c in CHECKS]
    assert [r.status for r in results] == ["not implemented"] * 10, [(r.check.id, r.message) for r in results]
    assert sum(r.score for r in results) == 0


def test_exercises_folder_matches_generated_stubs(generated_stubs):
    stubs = generated_stubs
    for name in STUDENT_FILES:
        shipped = REPO / "exercises" / "clip" / name
        if shipped.exists():
            assert shipped.read_text() == (stubs / "clip" / name).read_text(), f"exercises/clip/{name} is stale"


# --------------------------------------------------------------------------- the corpus
def _variants(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*__*.py"))


def _expectations(path: Path) -> dict[str, list[str] | None]:
    """``# visible: a | b`` / ``# hidden: ...`` header lines: words each message must contain, or None (passes).

    Without a ``hidden:`` line the hidden check must fail naming the same words as the visible one.
    """
    out: dict[str, list[str] | None] = {}
    for line in path.read_text().splitlines():
        for which in ("visible", "hidden"):
            if line.startswith(f"# {which}:"):
                words = line.split(":", 1)[1].strip()
                out[which] = None if words == "pass" else [w.strip() for w in words.split("|") if w.strip()]
    assert "visible" in out, f"{path.name}: no '# visible:' line"
    out.setdefault("hidden", out["visible"])
    return out


def _submission(tmp_path: Path, path: Path) -> tuple[Submission, str]:
    """The reference files with ``path`` (``<file>__<name>.py``) in place of clip/<file>.py; the part's id."""
    file = path.name.split("__", 1)[0]
    sub = reference_submission(tmp_path, "clip", STUDENT_FILES)
    (tmp_path / "clip" / f"{file}.py").write_text(path.read_text())
    return sub, PART[file]


def test_corpus_is_large_enough():
    assert len(_variants("legit")) >= 20 and len(_variants("mistakes")) >= 45


@pytest.mark.parametrize("path", _variants("legit"), ids=lambda p: p.stem)
def test_legitimate_variant_passes(tmp_path, path):
    sub, part = _submission(tmp_path, path)
    for check in (VISIBLE[part], HIDDEN[part]):
        r = run_check(check, sub)
        assert r.status == "passed", (check.id, r.status, r.message)


@pytest.mark.parametrize("path", _variants("mistakes"), ids=lambda p: p.stem)
def test_mistake_fails_naming_it(tmp_path, path):
    sub, part = _submission(tmp_path, path)
    for which, check in (("visible", VISIBLE[part]), ("hidden", HIDDEN[part])):
        words = _expectations(path)[which]
        r = run_check(check, sub)
        if words is None:
            assert r.status == "passed", (check.id, r.status, r.message)
            continue
        assert r.score < check.points and r.status in ("failed", "partial"), (check.id, r.status, r.message)
        missing = [w for w in words if w not in r.message]
        assert not missing, f"{check.id}: message lacks {missing}: {r.message}"
