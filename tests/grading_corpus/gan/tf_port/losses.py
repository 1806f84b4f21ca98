"""Corpus variant: tf.keras BinaryCrossentropy(from_logits=True), written out in its stable form."""

import torch


def cross_entropy(labels, logits):
    """max(x, 0) - x * z + log(1 + exp(-|x|)), averaged (TF's sigmoid_cross_entropy_with_logits)."""
    return (torch.clamp(logits, min=0) - logits * labels + torch.log1p(torch.exp(-logits.abs()))).mean()


def discriminator_loss(real_output, fake_output):
    real_loss = cross_entropy(torch.ones_like(real_output), real_output)
    fake_loss = cross_entropy(torch.zeros_like(fake_output), fake_output)
    return real_loss + fake_loss


def generator_loss(fake_output):
    return cross_entropy(torch.ones_like(fake_output), fake_output)


def make_optimizers(generator, discriminator):
    return torch.optim.Adam(generator.parameters(), 1e-4), torch.optim.Adam(discriminator.parameters(), 1e-4)
