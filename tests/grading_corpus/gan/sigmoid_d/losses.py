"""Corpus design choice: losses on probabilities (nn.BCELoss), consistent with a sigmoid discriminator."""

import torch
from torch import nn

criterion = nn.BCELoss()


def discriminator_loss(real, fake):
    return criterion(real, torch.ones_like(real)) + criterion(fake, torch.zeros_like(fake))


def generator_loss(fake):
    return criterion(fake, torch.ones_like(fake))


def make_optimizers(generator, discriminator):
    return torch.optim.Adam(generator.parameters(), lr=1e-4), torch.optim.Adam(discriminator.parameters(), lr=1e-4)
