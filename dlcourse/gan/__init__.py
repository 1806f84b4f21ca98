"""Problem 3: a DCGAN on FashionMNIST.

Same inner shape as every problem package: :mod:`~dlcourse.gan.model` (Generator, Discriminator),
:mod:`~dlcourse.gan.losses` (BCE losses, Adam), :mod:`~dlcourse.gan.step` (one training step),
:mod:`~dlcourse.gan.train` (the trainer: checkpoints, resume, grids, logs),
:mod:`~dlcourse.gan.metrics` (FID, classifier-based coverage) and :mod:`~dlcourse.gan.cli`.
"""
