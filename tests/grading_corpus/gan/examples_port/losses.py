"""Corpus variant (pytorch/examples style): one criterion object, label tensors filled with torch.full."""

import torch
from torch import nn

criterion = nn.BCEWithLogitsLoss()
real_label, fake_label = 1.0, 0.0


def discriminator_loss(real_logits, fake_logits):
    errD_real = criterion(real_logits, torch.full_like(real_logits, real_label))
    errD_fake = criterion(fake_logits, torch.full_like(fake_logits, fake_label))
    return errD_real + errD_fake


def generator_loss(fake_logits):
    return criterion(fake_logits, torch.full_like(fake_logits, real_label))


def make_optimizers(generator, discriminator):
    optimizerG = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.999))
    optimizerD = torch.optim.Adam(discriminator.parameters(), lr=1e-4, betas=(0.5, 0.999))
    return optimizerG, optimizerD
