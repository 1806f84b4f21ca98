"""Problem 3, hidden half: the visible probes and judges of :mod:`dlcourse.grading.gan` on other inputs and
extra cases, the other 2.5 of the problem's 5 points, shown after the due date.

Other seeds and batch sizes, images whose background is exactly -1 (like scaled FashionMNIST), a
learning rate and a last, smaller batch for the step (the end of an epoch), other networks for Adam;
and extra cases: each logit depends on its own image only (a); the generator traced in training mode,
BatchNorm on batch statistics (b); logits of +-30, where a sigmoid followed by a logarithm breaks in
float32 (c); each image depends on its own noise vector only, and large noise stays finite (e).
"""

from __future__ import annotations

from dlcourse.grading.gan import checks

HIDDEN = {
    "discriminator": {"seed": 7, "n": 24, "background": 0.45, "singles": 4},
    # batch 16 as in the visible check: working for every batch size is (e)'s business
    "generator": {"seed": 13, "n": 16, "train": True},
    "losses": {"real": [1.25, -2.5, 0.75, -0.25, 4.0, -1.5, 2.25, 0.5, -3.0, 1.0],
               "fake": [-1.75, 0.5, 2.75, -3.5, 0.25, -0.75, 1.5, -2.0, 3.25, -0.5],
               "big_real": [30.0, -30.0, 25.0, -20.0], "big_fake": [-30.0, 30.0, 20.0, -25.0],
               "nets": "mixed", "seed": 11},
    "step": {"seed": 11, "sizes": (5, 5, 4), "lr": 0.08},
    "samples": {"seed": 5, "train_sizes": (5, 48), "n": 24, "singles": 3},
}

CHECKS = checks(HIDDEN, suffix="-hidden", title=", hidden cases", visibility="after_due_date")
