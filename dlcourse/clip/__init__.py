"""Problem 2: CLIP on Flickr8K (or its offline stand-in).

Student-written parts (solution markers, graded by :mod:`dlcourse.grading.clip`):
:mod:`~dlcourse.clip.model` (projection head), :mod:`~dlcourse.clip.loss` (symmetric InfoNCE),
:mod:`~dlcourse.clip.retrieval` (cosine similarity, top-k), :mod:`~dlcourse.clip.zeroshot`
(template-ensembled zero-shot classifier), :mod:`~dlcourse.clip.step` (one training step).
Infrastructure: :mod:`~dlcourse.clip.encoders` (ResNets, transformers, weight sources),
:mod:`~dlcourse.clip.data` (decode-once input pipeline), :mod:`~dlcourse.clip.train` (config,
checkpoints, resume), :mod:`~dlcourse.clip.evaluate` (recall, zero-shot, prompts, grids),
:mod:`~dlcourse.clip.cli` (``dlcourse clip train | evaluate | search``).
"""
