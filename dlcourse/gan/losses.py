"""Binary cross-entropy losses of the DCGAN, on logits, and the homework's optimisers.

The grader calls each loss on fixed logits (and, in its hidden check, on logits of +-30, where a
sigmoid rounds to exactly 0 or 1 in float32 and its logarithm to -inf) and compares value and gradient with BCE on
logits, averaged over the batch. How you compute it is free (``F.binary_cross_entropy_with_logits``,
``nn.BCEWithLogitsLoss``, the softplus form); so is summing or averaging the discriminator's two
halves. Losses on probabilities (``nn.BCELoss``) are accepted only from a student whose own
discriminator ends in a sigmoid (a choice part (a) charges once); with a discriminator that returns
logits they are a mismatch. For Adam the grader checks the type (not AdamW, no weight decay), the
parameters each optimiser holds and, by one step on known gradients, the learning rate; betas are
free (pytorch/examples' ``(0.5, 0.999)`` is fine).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.gan.spec import LEARNING_RATE


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """BCE of the discriminator: real images labelled 1, generated ones 0, summed (as in the Keras tutorial).

    ``(B,)`` logits, ``(B',)`` logits -> scalar. Works on logits (``BCEWithLogits``) for numerical stability.
    """
    # BEGIN SOLUTION
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake
    # END SOLUTION


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating BCE of the generator: it wants its images labelled real (1). ``(B,)`` -> scalar."""
    # BEGIN SOLUTION
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    # END SOLUTION


def make_optimizers(generator: nn.Module, discriminator: nn.Module) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam with learning rate 1e-4 for each network: returns ``(opt_g, opt_d)``."""
    # BEGIN SOLUTION
    return (torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE),
            torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE))
    # END SOLUTION
