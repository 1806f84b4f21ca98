"""Corpus variant: the tutorial's train_step — one forward pass, each loss differentiated only with respect
to its own network (two GradientTapes become backward(inputs=...)), both optimisers apply."""

from .losses import discriminator_loss, generator_loss


def train_step(generator, discriminator, opt_g, opt_d, images, noise):
    generated_images = generator(noise)
    real_output = discriminator(images)
    fake_output = discriminator(generated_images)
    gen_loss = generator_loss(fake_output)
    disc_loss = discriminator_loss(real_output, fake_output)
    opt_g.zero_grad()
    opt_d.zero_grad()
    gen_loss.backward(inputs=list(generator.parameters()), retain_graph=True)
    disc_loss.backward(inputs=list(discriminator.parameters()))
    opt_g.step()
    opt_d.step()
    return disc_loss.detach(), gen_loss.detach()
