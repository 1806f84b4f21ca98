"""Corpus design choice: an ordinary D-then-G step (it calls the losses, whatever space they work in)."""

from .losses import discriminator_loss, generator_loss


def train_step(generator, discriminator, opt_g, opt_d, real, noise):
    fake = generator(noise)
    opt_d.zero_grad()
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
