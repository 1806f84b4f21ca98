"""Corpus variant: a BCEWithLogitsLoss module, D's two halves averaged, lr passed positionally."""

import torch
from torch import nn

_bce = nn.BCEWithLogitsLoss()


def discriminator_loss(real_logits, fake_logits):
    return 0.5 * (_bce(real_logits, torch.ones_like(real_logits)) + _bce(fake_logits, torch.zeros_like(fake_logits)))


def generator_loss(fake_logits):
    return _bce(fake_logits, torch.ones_like(fake_logits))


def make_optimizers(generator, discriminator):
    return torch.optim.Adam(generator.parameters(), 1e-4), torch.optim.Adam(discriminator.parameters(), 1e-4)
