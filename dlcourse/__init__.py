"""dlcourse: Deep Learning Homework 3 as a course module.

Problem 1 - :mod:`dlcourse.minimax` (GDA on ``f(x, y) = 4x^2 - 4y^2``),
Problem 2 - :mod:`dlcourse.clip` (CLIP on Flickr8K),
Problem 3 - :mod:`dlcourse.gan` (DCGAN on FashionMNIST).

Shared layers: :mod:`dlcourse.data` (data sets), :mod:`dlcourse.grading` (autograder),
:mod:`dlcourse.profiles` (quick/full run profiles), :mod:`dlcourse.stubs` (exercise generator).
Heavy dependencies (torch, transformers) are imported by the sub-packages, never here, so that
``dlcourse --help`` stays fast.
"""

__version__ = "0.1.0"
