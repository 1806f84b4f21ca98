"""Problem 3's grader: full marks on the reference and on every legitimate variant of the corpus,
"not implemented" on the stubs, and each plausible mistake losing points with a message that names it.

The corpus lives in ``tests/grading_corpus/gan/`` (see its ``corpus.py``); extend it whenever a
verdict is found wrong.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dlcourse import stubs
from dlcourse.grading import core, gan
from dlcourse.grading.core import Submission, run_check
from dlcourse.grading.hidden import gan as hidden

REPO = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path(__file__).resolve().parent / "grading_corpus" / "gan"
STUDENT_FILES = ("model.py", "losses.py", "step.py")
CHECKS = gan.CHECKS + hidden.CHECKS
BY_ID = {c.id: c for c in CHECKS}


def _load_corpus():
    spec = importlib.util.spec_from_file_location("gan_grading_corpus", CORPUS_DIR / "corpus.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


corpus = _load_corpus()


def make_submission(root: Path, base: str = "reference", patches: dict | None = None) -> Submission:
    """A ``gan/`` submission in ``root``: the files of ``base`` (the reference, or a corpus folder whose
    missing files are the reference's), each patched by ``patches[name]`` (``[(old, new), ...]`` or a new text)."""
    pkg = root / "gan"
    pkg.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    copied = {Path("gan") / name for name in STUDENT_FILES}
    for name in STUDENT_FILES:
        variant = CORPUS_DIR / base / name
        if base != "reference" and variant.exists():
            text = variant.read_text()
        else:
            text = stubs.relative_imports((REPO / "dlcourse" / "gan" / name).read_text(), Path("gan") / name, copied)
        patch = (patches or {}).get(name)
        if isinstance(patch, str):
            text = patch
        for old, new in patch if isinstance(patch, list) else []:
            assert old in text, f"patch target not found in {base}/{name}: {old!r}"
            text = text.replace(old, new)
        (pkg / name).write_text(text)
    return Submission(root)


def part_checks(part: str):
    return BY_ID[f"3{part}"], BY_ID[f"3{part}-hidden"]


# --------------------------------------------------------------------------- the points

def test_problem_has_five_points_half_visible_half_hidden():
    assert [c.id for c in gan.CHECKS] == ["3a", "3b", "3c", "3d", "3e"]
    assert [c.id for c in hidden.CHECKS] == ["3a-hidden", "3b-hidden", "3c-hidden", "3d-hidden", "3e-hidden"]
    assert all(c.points == 0.5 and c.visibility == "visible" for c in gan.CHECKS)
    assert all(c.points == 0.5 and c.visibility == "after_due_date" for c in hidden.CHECKS)
    assert sum(c.points for c in CHECKS) == 5
    assert {c.question for c in CHECKS} == {"Problem 3"}
    assert all(c.probe and c.judge for c in CHECKS)
    # a hidden check reuses a visible probe and judge (the hidden package is never loaded where student
    # code runs) with other inputs
    assert all(h.probe == v.probe and h.judge == v.judge and h.args != v.args
               for v, h in zip(gan.CHECKS, hidden.CHECKS))


def test_all_checks_collects_the_hidden_checks():
    ids = [c.id for c in core.all_checks(["3"])]
    assert sorted(ids) == sorted(c.id for c in CHECKS)


def test_reference_gets_full_marks():
    results = [run_check(c, Submission(None)) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 10, [(r.check.id, r.message) for r in results]
    assert sum(r.score for r in results) == 5


def test_copied_reference_passes(tmp_path):
    """The tmp-folder mechanism itself: an unpatched copy scores full marks (so failures below are the patches)."""
    sub = make_submission(tmp_path)
    results = [run_check(c, sub) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 10, [(r.check.id, r.message) for r in results]


def test_stubs_score_zero(generated_stubs):
    results = [run_check(c, Submission(generated_stubs)) for c in CHECKS]
    assert [r.status for r in results] == ["not implemented"] * 10, [(r.check.id, r.message) for r in results]
    assert sum(r.score for r in results) == 0


def test_exercises_folder_matches_generated_stubs(generated_stubs):
    """exercises/gan (what students get) is what the stub generator writes."""
    for name in STUDENT_FILES:
        shipped = REPO / "exercises" / "gan" / name
        if shipped.exists():
            assert shipped.read_text() == (generated_stubs / "gan" / name).read_text(), f"exercises/gan/{name} is stale"


def test_missing_file_is_reported(tmp_path):
    sub = make_submission(tmp_path)
    (tmp_path / "gan" / "step.py").unlink()
    r = run_check(BY_ID["3d"], sub)
    assert r.status == "failed" and "does not exist" in r.message


PROBES_WITHOUT_REFERENCE = """
import importlib.abc, sys
from pathlib import Path

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in ("dlcourse.gan.model", "dlcourse.gan.losses", "dlcourse.gan.step") or \
                name.startswith("dlcourse.grading.hidden"):
            raise ImportError(f"a probe imported {name}")

from dlcourse.grading import gan
from dlcourse.grading.core import Submission
from dlcourse.grading.hidden import gan as hidden

checks = gan.CHECKS + hidden.CHECKS
for name in [m for m in sys.modules if m.startswith("dlcourse.grading.hidden")]:
    del sys.modules[name]
sys.meta_path.insert(0, Block())
for check in checks:
    check.resolve()(Submission(Path(sys.argv[1])))
print("ok")
"""


def test_probes_never_import_the_reference_parts(tmp_path):
    """The probes use the student's files and grader-side fixtures only, never the reference parts nor the
    hidden checks (run here on a copy of the reference)."""
    make_submission(tmp_path)
    out = subprocess.run([sys.executable, "-c", PROBES_WITHOUT_REFERENCE, str(tmp_path)], capture_output=True,
                         text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


# --------------------------------------------------------------------------- the corpus

@pytest.mark.parametrize("variant", corpus.VARIANTS, ids=[v.folder for v in corpus.VARIANTS])
def test_legitimate_variant(tmp_path, variant):
    sub = make_submission(tmp_path, variant.folder)
    for c in CHECKS:
        r = run_check(c, sub)
        part = c.id[1]
        if part in variant.fails:
            assert r.status != "passed" and r.score == 0, (c.id, r.status, r.message)
            missing = [w for w in variant.fails[part] if w not in r.message]
            assert not missing, f"{c.id}: message lacks {missing}: {r.message}"
        else:
            assert r.status == "passed", (variant.folder, c.id, r.message)


@pytest.mark.parametrize("name,base,patches,part", corpus.ACCEPTED, ids=[a[0] for a in corpus.ACCEPTED])
def test_accepted_reading(tmp_path, name, base, patches, part):
    sub = make_submission(tmp_path, base, patches)
    for c in part_checks(part):
        r = run_check(c, sub)
        assert r.status == "passed", (name, c.id, r.message)


@pytest.mark.parametrize("m", corpus.MISTAKES, ids=[m.name for m in corpus.MISTAKES])
def test_mistake_fails_with_a_message_that_names_it(tmp_path, m):
    sub = make_submission(tmp_path, m.base, m.patches)
    visible, hidden_check = (run_check(c, sub) for c in part_checks(m.part))
    if m.hidden_only:
        assert visible.status == "passed", visible.message
    for r in ([hidden_check] if m.hidden_only else [visible, hidden_check]):
        assert r.status in ("failed", "partial") and r.score < r.check.points, (r.check.id, r.status, r.message)
        missing = [w for w in m.words if w not in r.message]
        assert not missing, f"{r.check.id}: message lacks {missing}: {r.message}"


def test_corpus_covers_every_part():
    parts = {m.part for m in corpus.MISTAKES}
    assert parts == set(corpus.PARTS)
    assert len(corpus.MISTAKES) >= 40 and len(corpus.VARIANTS) + len(corpus.ACCEPTED) >= 14


# --------------------------------------------------------------------------- the tolerances, from evidence

def _leaky_variants(x):
    return [F.leaky_relu(x, 0.3), torch.nn.LeakyReLU(0.3)(x.clone()), torch.where(x > 0, x, 0.3 * x),
            torch.maximum(x, 0.3 * x), x.clamp(min=0) + 0.3 * x.clamp(max=0)]


def test_function_tolerance_separates_legitimate_from_mistaken():
    x = torch.randn(16, 64, 14, 14, generator=torch.Generator().manual_seed(0))
    legit = max(gan.fit(x.double(), y.double(), lambda a: F.leaky_relu(a, 0.3)) for y in _leaky_variants(x))
    nearest_mistake = gan.fit(x.double(), F.leaky_relu(x, 0.25).double(), lambda a: F.leaky_relu(a, 0.3))
    assert legit < gan.FN_TOL / 100 < gan.FN_TOL * 100 < nearest_mistake, (legit, nearest_mistake)


def test_loss_tolerance_separates_legitimate_from_mistaken():
    r, f = torch.tensor(gan.REAL_LOGITS), torch.tensor(gan.FAKE_LOGITS)
    ones, zeros = torch.ones_like(r), torch.zeros_like(f)
    ref = (F.binary_cross_entropy_with_logits(r, ones) + F.binary_cross_entropy_with_logits(f, zeros)).item()

    def tf_style(x, z):
        return (x.clamp(min=0) - x * z + torch.log1p(torch.exp(-x.abs()))).mean()

    legit = [torch.nn.BCEWithLogitsLoss()(r, ones) + torch.nn.BCEWithLogitsLoss()(f, zeros),
             F.softplus(-r).mean() + F.softplus(f).mean(), tf_style(r, ones) + tf_style(f, zeros),
             -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()),
             F.binary_cross_entropy(torch.sigmoid(r), ones) + F.binary_cross_entropy(torch.sigmoid(f), zeros)]
    spread = max(abs(v.item() - ref) / ref for v in legit)
    smoothing = (F.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.9))
                 + F.binary_cross_entropy_with_logits(f, zeros)).item()
    assert spread < gan.LOSS_RTOL / 10 and abs(smoothing - ref) / ref > gan.LOSS_RTOL * 100, (spread, smoothing)


def test_step_tolerance_separates_readings_and_mistakes():
    """Between D-then-G, G-then-D and simultaneous updates, and the leaks and the sigmoid mistake, the key's
    gradients (first call, visible inputs, either kind of loss) differ far beyond GRAD_RTOL."""
    key = core.answer_key(BY_ID["3d"])
    first = {(tuple(p["D"]), tuple(p["G"])): p["calls"][0] for p in key["paths"]}
    gaps = {}
    for fam in ("stand-in", "BCE"):
        sim = first[(fam, "simultaneous"), (fam, "simultaneous")]
        d_first = first[(fam, "simultaneous"), (fam, "D first")]
        g_first = first[(fam, "G first"), (fam, "simultaneous")]
        mean = first[(fam, "mean of the halves"), (fam, "simultaneous")]
        gaps[fam, "G: D first"] = gan.rel_diff(d_first["G"], sim["G"])
        gaps[fam, "D: G first"] = gan.rel_diff(g_first["D"], sim["D"])
        for net in ("D", "G"):
            for name, grads in d_first["mistakes"][net].items():
                gaps[fam, f"{net}: {name}"] = min(gan.rel_diff(grads, c[net]) for c in (sim, d_first, g_first, mean))
    other = first[("BCE", "simultaneous"), ("BCE", "simultaneous")]
    gaps["stand-in", "D: BCE"] = gan.rel_diff(other["D"], first[("stand-in", "simultaneous"), ("stand-in", "D first")]["D"])
    assert min(gaps.values()) > 100 * gan.GRAD_RTOL, gaps


def test_messages_show_the_difference_they_complain_about(tmp_path):
    """A learning rate 1.1e-4 (10 % off) is refused with both numbers distinguishable in the message."""
    sub = make_submission(tmp_path, patches={"losses.py": [("from dlcourse.gan.spec import LEARNING_RATE", "LEARNING_RATE = 1.1e-4")]})
    r = run_check(BY_ID["3c"], sub)
    assert r.status == "partial" and "0.00011" in r.message, r.message


def test_judges_and_keys_do_not_touch_the_graders_random_state():
    obs = core.decode_observations(core.encode_observations(gan.probe_step(Submission(None))))
    torch.manual_seed(123)
    before = torch.get_rng_state()
    gan.judge_step(obs, key=core.compute_key(BY_ID["3d"]))  # the key's computation too
    assert torch.equal(before, torch.get_rng_state())

