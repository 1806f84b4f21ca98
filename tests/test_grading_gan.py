"""Problem 3's grader: full marks on the reference, "not implemented" on the stubs, and each check
failing on a plausible mistake with a message that names what was expected and what was found."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import reference_submission

from dlcourse.grading.core import Submission, run_check
from dlcourse.grading.gan import CHECKS

REPO = Path(__file__).resolve().parents[1]
BY_ID = {c.id: c for c in CHECKS}
STUDENT_FILES = ("model.py", "losses.py", "step.py")


def make_submission(tmp_path: Path, patches: dict[str, list[tuple[str, str]]] | None = None) -> Submission:
    """A submission folder holding the reference files of gan/, with text patches applied."""
    return reference_submission(tmp_path, "gan", STUDENT_FILES, patches)


def test_problem_has_five_points():
    assert [c.id for c in CHECKS] == ["3a", "3b", "3c", "3d", "3e"]
    assert sum(c.points for c in CHECKS) == 5
    assert {c.question for c in CHECKS} == {"Problem 3"}


def test_reference_gets_full_marks():
    results = [run_check(c, Submission(None)) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 5, [(r.check.id, r.message) for r in results]
    assert sum(r.score for r in results) == 5


def test_copied_reference_passes(tmp_path):
    """The tmp-folder mechanism itself: an unpatched copy scores full marks (so failures below are the patches)."""
    sub = make_submission(tmp_path)
    results = [run_check(c, sub) for c in CHECKS]
    assert [r.status for r in results] == ["passed"] * 5, [(r.check.id, r.message) for r in results]


def test_stubs_score_zero(generated_stubs):
    stubs = generated_stubs
    results = [run_check(c, Submission(stubs)) for c in CHECKS]
    assert [r.status for r in results] == ["not implemented"] * 5, [(r.check.id, r.message) for r in results]
    assert sum(r.score for r in results) == 0


def test_exercises_folder_matches_generated_stubs(generated_stubs):
    """exercises/gan (what students get) is what the stub generator writes."""
    stubs = generated_stubs
    for name in STUDENT_FILES:
        shipped = REPO / "exercises" / "gan" / name
        if shipped.exists():
            assert shipped.read_text() == (stubs / "gan" / name).read_text(), f"exercises/gan/{name} is stale"


SLOPE = [("LEAKY_SLOPE = 0.3", "LEAKY_SLOPE = 0.01")]

MISTAKES = [
    # (check, patches, words expected in the message)
    ("3a", {"model.py": SLOPE}, ["slope 0.01", "negative_slope=0.01", "0.3"]),
    ("3a", {"model.py": [("DROPOUT = 0.3", "DROPOUT = 0.5")]}, ["Dropout(0.3)", "50%", "p=0.5"]),
    ("3a", {"model.py": [("nn.Conv2d(1, 64, kernel_size=5, stride=2, padding=2)",
                          "nn.Conv2d(1, 64, kernel_size=3, stride=2, padding=1)")]}, ["kernel 5x5", "(3, 3)"]),
    ("3a", {"model.py": [("            nn.Conv2d(64, 128, kernel_size=5, stride=2, padding=2),  # -> (B, 128, 7, 7)\n",
                          "            nn.Conv2d(64, 128, kernel_size=5, stride=2, padding=2),  # -> (B, 128, 7, 7)\n"
                          "            nn.BatchNorm2d(128),\n")]}, ["BatchNorm2d", "no BatchNorm"]),
    ("3a", {"model.py": [("return self.head(self.features(x).flatten(1)).squeeze(1)",
                          "return torch.sigmoid(self.head(self.features(x).flatten(1))).squeeze(1)")]},
     ["raw logit", "sigmoid"]),
    ("3b", {"model.py": SLOPE}, ["slope 0.01", "0.3"]),
    ("3b", {"model.py": [("nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False)",
                          "nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2)")]}, ["no bias", "bias=False"]),
    ("3b", {"model.py": [("nn.Tanh(),", "nn.Sigmoid(),")]}, ["Sigmoid", "tanh, not sigmoid"]),
    ("3b", {"model.py": [("            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False),"
                          "  # -> (B, 1, 28, 28)\n",
                          "            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False),\n"
                          "            nn.BatchNorm2d(1),\n")]}, ["no BatchNorm after the last layer"]),
    ("3c", {"losses.py": [("return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))",
                           "return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))")]},
     ["generator_loss", "expected", "label 1"]),
    ("3c", {"losses.py": [("return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))",
                           "return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))")]},
     ["saturating", "non-saturating"]),
    ("3c", {"losses.py": [("LEARNING_RATE = 1e-4", "LEARNING_RATE = 2e-4")]},
     ["learning rate 1e-4", "0.0002", "pytorch/examples"]),
    ("3c", {"losses.py": [("    return (torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE),\n"
                           "            torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE))",
                           "    return (torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE),\n"
                           "            torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE))")]},
     ["the other network"]),
    ("3c", {"losses.py": [("real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))",
                           "real = F.binary_cross_entropy_with_logits(real_logits, torch.zeros_like(real_logits))"),
                          ("fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))",
                           "fake = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))")]},
     ["labels are swapped"]),
    ("3e", {"model.py": [("nn.Tanh(),", "nn.Sigmoid(),")]}, ["tanh", "both signs"]),
    ("3e", {"model.py": [("return self.deconv(self.project(z).view(-1, 256, 7, 7))",
                          "return self.deconv(self.project(torch.zeros_like(z)).view(-1, 256, 7, 7))")]},
     ["barely depend on the noise"]),
]

STEP_BODY_START = "    # BEGIN SOLUTION\n    fake = generator(noise)"
STEP_BODY_END = "    return d_loss.detach(), g_loss.detach()\n    # END SOLUTION"


def _step_patch(body: str) -> dict:
    ref = (REPO / "dlcourse" / "gan" / "step.py").read_text()
    start, end = ref.index(STEP_BODY_START), ref.index(STEP_BODY_END) + len(STEP_BODY_END)
    return {"step.py": [(ref[start:end], "    # BEGIN SOLUTION\n" + body + "    # END SOLUTION")]}


LEAKY_STEP = """    fake = generator(noise)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake))
    g_loss = generator_loss(discriminator(fake))
    opt_d.zero_grad()
    opt_g.zero_grad()
    d_loss.backward(retain_graph=True)
    g_loss.backward()
    opt_d.step()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
"""
NO_ZERO_GRAD_STEP = """    fake = generator(noise)
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    opt_d.step()
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
"""
ALTERNATING_STEP = """    fake = generator(noise)
    opt_d.zero_grad()
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
"""
SWAPPED_RETURN_STEP = ALTERNATING_STEP.replace("return d_loss.item(), g_loss.item()",
                                               "return g_loss.item(), d_loss.item()")
ONLY_D_STEP = """    fake = generator(noise)
    opt_d.zero_grad()
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    opt_d.step()
    g_loss = generator_loss(discriminator(fake))
    return d_loss.detach(), g_loss.detach()
"""

MISTAKES += [
    ("3d", _step_patch(LEAKY_STEP), ["discriminator's update", "detach"]),
    ("3d", _step_patch(NO_ZERO_GRAD_STEP), ["accumulate", "zero_grad"]),
    ("3d", _step_patch(SWAPPED_RETURN_STEP), ["returned losses", "discriminator first"]),
    ("3d", _step_patch(ONLY_D_STEP), ["generator's weights are unchanged"]),
]


@pytest.mark.parametrize("check_id,patches,words", MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_check_fails_on_plausible_mistake(tmp_path, check_id, patches, words):
    r = run_check(BY_ID[check_id], make_submission(tmp_path, patches))
    assert r.status == "failed", (r.status, r.message)
    assert r.score == 0
    missing = [w for w in words if w not in r.message]
    assert not missing, f"message lacks {missing}: {r.message}"


ACCEPTED = [
    # readings the homework leaves open: the grader must accept them
    ("3b", {"model.py": [("            nn.BatchNorm1d(7 * 7 * 256),\n            nn.LeakyReLU(LEAKY_SLOPE),\n", "")]},
     "without BatchNorm"),
    ("3b", {"model.py": [("            nn.BatchNorm1d(7 * 7 * 256),\n            nn.LeakyReLU(LEAKY_SLOPE),\n", ""),
                         ("        self.deconv = nn.Sequential(\n",
                          "        self.deconv = nn.Sequential(\n            nn.BatchNorm2d(256),\n"
                          "            nn.LeakyReLU(LEAKY_SLOPE),\n")]}, "with BatchNorm"),
    ("3c", {"losses.py": [("    return real + fake\n", "    return (real + fake) / 2\n")]}, "correct"),
    ("3d", _step_patch(ALTERNATING_STEP), "alternating"),
    ("3a", {"model.py": [("return self.head(self.features(x).flatten(1)).squeeze(1)",
                          "return self.head(self.features(x).permute(0, 2, 3, 1).flatten(1))")]}, "correct"),
]


@pytest.mark.parametrize("check_id,patches,word", ACCEPTED, ids=[f"{a[0]}-ok{i}" for i, a in enumerate(ACCEPTED)])
def test_check_accepts_other_readings(tmp_path, check_id, patches, word):
    r = run_check(BY_ID[check_id], make_submission(tmp_path, patches))
    assert r.status == "passed", r.message
    assert word in r.message


def test_functional_activations_are_graded_like_modules(tmp_path):
    """F.leaky_relu in forward (no nn.LeakyReLU module) is seen by behaviour: 0.3 passes, the default fails."""
    functional = [("            nn.LeakyReLU(LEAKY_SLOPE),\n            nn.Dropout(DROPOUT),\n",
                   "            nn.Dropout(DROPOUT),\n")]
    ok = make_submission(tmp_path / "ok", {"model.py": functional + [
        ("nn.Dropout(DROPOUT),\n", "nn.Dropout(DROPOUT), Act(),\n")] + [
        ("class Discriminator(nn.Module):", "class Act(nn.Module):\n    def forward(self, x):\n"
                                            "        return torch.nn.functional.leaky_relu(x, 0.3)\n\n\n"
                                            "class Discriminator(nn.Module):")]})
    assert run_check(BY_ID["3a"], ok).status == "passed"
    bad = make_submission(tmp_path / "bad", {"model.py": functional + [
        ("nn.Dropout(DROPOUT),\n", "nn.Dropout(DROPOUT), Act(),\n")] + [
        ("class Discriminator(nn.Module):", "class Act(nn.Module):\n    def forward(self, x):\n"
                                            "        return torch.nn.functional.leaky_relu(x)\n\n\n"
                                            "class Discriminator(nn.Module):")]})
    r = run_check(BY_ID["3a"], bad)
    assert r.status == "failed" and "slope 0.01" in r.message, r.message


def test_missing_file_is_reported(tmp_path):
    sub = make_submission(tmp_path)
    (tmp_path / "gan" / "step.py").unlink()
    r = run_check(BY_ID["3d"], sub)
    assert r.status == "failed" and "does not exist" in r.message
