"""Corpus variant: pytorch/examples' update — D on real, then on detached fakes (two backward calls that
add up in D's .grad), D steps; then G against the updated D."""

import torch

from .losses import criterion, fake_label, real_label


def train_step(generator, discriminator, opt_g, opt_d, real, noise):
    # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
    discriminator.zero_grad()
    label = torch.full((real.size(0),), real_label)
    output = discriminator(real).view(-1)
    errD_real = criterion(output, label)
    errD_real.backward()
    fake = generator(noise)
    label.fill_(fake_label)
    output = discriminator(fake.detach()).view(-1)
    errD_fake = criterion(output, label)
    errD_fake.backward()
    errD = errD_real + errD_fake
    opt_d.step()
    # (2) update G: maximize log(D(G(z)))
    generator.zero_grad()
    label.fill_(real_label)
    output = discriminator(fake).view(-1)
    errG = criterion(output, label)
    errG.backward()
    opt_g.step()
    return errD.detach(), errG.detach()
