"""Problem 2's grader: full marks on the reference, "not implemented" on the stubs, and each check
failing on plausible mistakes with a message naming what was expected and what was found."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import reference_submission

from dlcourse.grading.clip import CHECKS
from dlcourse.grading.core import Submission, run_check

REPO = Path(__file__).resolve().parents[1]
BY_ID = {c.id: c for c in CHECKS}
STUDENT_FILES = ("model.py", "loss.py", "retrieval.py", "zeroshot.py", "step.py")


def make_submission(tmp_path: Path, patches: dict[str, list[tuple[str, str]]] | None = None) -> Submission:
    """A submission folder holding the reference files of clip/, with text patches applied."""
    return reference_submission(tmp_path, "clip", STUDENT_FILES, patches)


def test_problem_has_five_points():
    assert [c.id for c in CHECKS] == ["2a", "2b", "2c", "2d", "2e"]
    assert sum(c.points for c in CHECKS) == 5 and {c.question for c in CHECKS} == {"Problem 2"}


def test_reference_gets_full_marks():
    results = [run_check(c, Submission(None)) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 5, [(r.check.id, r.message) for r in results]


def test_copied_reference_passes(tmp_path):
    """The tmp-folder mechanism itself: an unpatched copy scores full marks (so failures below are the patches)."""
    sub = make_submission(tmp_path)
    results = [run_check(c, sub) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 5, [(r.check.id, r.message) for r in results]


def test_stubs_score_zero(generated_stubs):
    stubs = generated_stubs
    assert all((stubs / "clip" / n).is_file() for n in STUDENT_FILES)
    results = [run_check(c, Submission(stubs)) for c in CHECKS]
    assert [r.status for r in results] == ["not implemented"] * 5, [(r.check.id, r.message) for r in results]


def test_exercises_folder_matches_generated_stubs(generated_stubs):
    stubs = generated_stubs
    for name in STUDENT_FILES:
        shipped = REPO / "exercises" / "clip" / name
        if shipped.exists():
            assert shipped.read_text() == (stubs / "clip" / name).read_text(), f"exercises/clip/{name} is stale"


STEP_START = "    # BEGIN SOLUTION\n    optimizer.zero_grad(set_to_none=True)\n"

MISTAKES = [
    # (check, patches, words the message must contain)
    ("2a", {"model.py": [("return F.normalize(y, dim=-1)", "return y")]}, ["L2 norm 1", "F.normalize"]),
    ("2a", {"model.py": [("y = self.norm(h + self.dropout(self.fc(F.gelu(h))))",
                          "y = self.norm(self.dropout(self.fc(F.gelu(h))))")]}, ["expected the first row", "residual"]),
    ("2a", {"model.py": [("h = self.proj(x)", "h = self.proj(x).detach()")]}, ["gradient", "detach"]),
    ("2b", {"loss.py": [("return 0.5 * (F.cross_entropy(logits_per_image, labels) + "
                         "F.cross_entropy(logits_per_image.T, labels))",
                         "return F.cross_entropy(logits_per_image, labels)")]}, ["ONE direction", "expected loss"]),
    ("2b", {"loss.py": [("return 0.5 * (F.cross_entropy(logits_per_image, labels) + "
                         "F.cross_entropy(logits_per_image.T, labels))",
                         "return F.cross_entropy(logits_per_image, labels) + "
                         "F.cross_entropy(logits_per_image.T, labels)")]}, ["sum of the two directions"]),
    ("2b", {"loss.py": [("logits_per_image = scale * image_emb @ text_emb.T",
                         "logits_per_image = scale.exp() * image_emb @ text_emb.T")]}, ["expected loss", "found"]),
    ("2c", {"retrieval.py": [("return F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).T",
                              "return queries @ gallery.T")]}, ["raw dot products", "normalise"]),
    ("2c", {"retrieval.py": [("largest=True", "largest=False")]}, ["worst-first", "best first"]),
    ("2c", {"retrieval.py": [("topk(min(k, len(gallery))", "topk(k")]}, []),  # k > G crashes: an error, not a pass
    ("2d", {"zeroshot.py": [("rows.append(F.normalize(emb.mean(0), dim=-1))", "rows.append(emb.mean(0))")]},
     ["unit vector", "normalise again"]),
    ("2d", {"zeroshot.py": [("emb = F.normalize(encode_text([t.format(name) for t in templates]), dim=-1)",
                             "emb = encode_text([t.format(name) for t in templates])")]},
     ["EACH template", "expected"]),
    ("2d", {"zeroshot.py": [("return (F.normalize(image_emb, dim=-1) @ F.normalize(class_emb, dim=-1).T).argmax(dim=-1)",
                             "return (image_emb @ class_emb.T).argmax(dim=-1)")]}, ["raw dot products"]),
    ("2e", {"step.py": [(STEP_START, "    # BEGIN SOLUTION\n")]}, ["zero_grad", "expected"]),
    ("2e", {"step.py": [("        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)\n", "        pass\n")]},
     ["clamped to ln 100", "found 6.0000"]),
    ("2e", {"step.py": [("model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)", "model.logit_scale.clamp(0, MAX_LOGIT_SCALE)")]},
     ["clamped to ln 100", "clamp_, not clamp"]),
    ("2e", {"step.py": [("    with torch.no_grad():\n        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)\n",
                         "    model.logit_scale = nn.Parameter(model.logit_scale.clamp(0, MAX_LOGIT_SCALE)[None])\n"),
                        ("import torch\n", "import torch\nfrom torch import nn\n")]},
     ["expected"]),  # a new Parameter of the wrong shape, outside the optimizer: the trajectory differs
    ("2e", {"step.py": [("    optimizer.step()\n", "")]}, ["did not change", "optimizer.step()"]),
    ("2e", {"step.py": [("return loss.item()", "return loss")]}, ["Python float"]),
]


@pytest.mark.parametrize("check_id,patches,words", MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_check_fails_on_plausible_mistake(tmp_path, check_id, patches, words):
    r = run_check(BY_ID[check_id], make_submission(tmp_path, patches))
    assert r.status in ("failed", "error") and r.score == 0, (r.status, r.message)
    if words:
        assert r.status == "failed", r.message
    missing = [w for w in words if w not in r.message]
    assert not missing, f"message lacks {missing}: {r.message}"


def test_accepted_variants_pass(tmp_path):
    """Equivalent formulations a student may write are accepted (sorting instead of topk, a loop-free zero-shot)."""
    patches = {
        "retrieval.py": [("scores, indices = similarity(queries, gallery).topk(min(k, len(gallery)), dim=-1, "
                          "largest=True, sorted=True)",
                          "s = similarity(queries, gallery)\n    scores, indices = s.sort(dim=-1, descending=True)\n"
                          "    scores, indices = scores[:, :k], indices[:, :k]")],
        "loss.py": [("labels = torch.arange(len(logits_per_image), device=logits_per_image.device)",
                     "labels = torch.arange(image_emb.shape[0])")],
        "step.py": [("optimizer.zero_grad(set_to_none=True)", "model.zero_grad()")],
    }
    sub = make_submission(tmp_path, patches)
    for cid in ("2b", "2c", "2e"):
        r = run_check(BY_ID[cid], sub)
        assert r.status == "passed", (cid, r.message)
