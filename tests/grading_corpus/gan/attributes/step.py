"""Corpus variant: D then G; D scores real and (detached) fake images in one concatenated batch."""

import torch

from .losses import discriminator_loss, generator_loss


def train_step(generator, discriminator, opt_g, opt_d, real, noise):
    fake = generator(noise)
    logits = discriminator(torch.cat([real, fake.detach()]))
    d_loss = discriminator_loss(logits[: len(real)], logits[len(real):])
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_loss = generator_loss(discriminator(fake))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
