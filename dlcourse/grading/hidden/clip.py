"""Problem 2 (CLIP): hidden checks, the other half of each part's points.

The probes and judges of :mod:`dlcourse.grading.clip` on other inputs (``Check.args``): other
sizes, seeds, dropout probability, class names and templates, another loss batch at the largest
scale the clamp allows (100), a larger top-k, and a training step with momentum and weight decay
over more steps. A submission
that special-cases the visible inputs does not pass these. The lower bound of the temperature clamp
is judged by the visible check only (one reading of the homework, charged once).
"""

from __future__ import annotations

from dlcourse.grading.clip import HeadCase, LossCase, RetrievalCase, StepCase, ZeroShotCase, checks

CHECKS = checks(
    "-hidden", ", hidden cases", "after_due_date",
    head=HeadCase(in_dim=10, dim=6, dropout=0.45, batch=7, train_batch=40, seed=77_311),
    loss=(LossCase(9, 5, 100.0, 77_321, noise=0.5), LossCase(3, 7, 2.5, 77_322),
          LossCase(12, 16, 14.3, 77_323, noise=1.2)),
    retrieval=RetrievalCase(queries=5, gallery=13, dim=7, ks=(1, 13, 6), big_gallery=200, big_k=50, seed=77_331),
    zero_shot=ZeroShotCase(names=("ankle boot", "t-shirt", "sneaker", "bag"),
                           templates=("a photo of a {}.", "a blurry photo of the {}.", "itap of a {}.",
                                      "a {} on a white background"),
                           dim=9, images=15, classes=6, seed=77_341),
    step=StepCase(batch=6, image_shape=(3, 2, 2), text_dim=7, embed_dim=5, steps=4, lr=0.05, scale_lr=5.0,
                  momentum=0.9, weight_decay=0.01, logit_scale=3.0, seed=77_351, check_lower_bound=False),
)
