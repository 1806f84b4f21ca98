"""One DCGAN training step, as in the Keras tutorial: both networks updated from one forward pass.

The generator makes a batch from fresh noise; the discriminator scores real and generated images;
each network's gradient is taken from its own loss on that same forward pass, then both optimisers
step. (The other common reading, pytorch/examples' dcgan, updates D first and re-scores the fakes
with the updated D for G's step; the grader accepts both, and G first then D too.)

How the grader runs your step: on its own small generator and discriminator (logits out), with
plain-SGD optimisers that record the gradient each ``step()`` used, and with correct logit losses
in place of your ``discriminator_loss`` / ``generator_loss``, so a mistake in ``losses.py`` or in
your model costs those parts, not this one. It calls the step two or three times (the last batch
may be smaller) and checks that each network was updated once, by its own optimiser, with the
gradient of its own loss (the fakes detached for D, no gradients left over from the previous call);
that the step used the ``noise`` passed in, changed no module mode (``.train()``/``.eval()``) and no
dtype, and that it returned ``(d_loss, g_loss)`` as detached 0-d tensors without reading a value on
the host (``.item()``, ``float()``, ``print``). Gradients by ``backward()`` or ``torch.autograd.grad``,
``zero_grad`` on the optimiser or on the module, one discriminator call on ``cat([real, fake])``:
all yours.
"""

from __future__ import annotations

import torch
from torch import nn

from dlcourse.gan.losses import discriminator_loss, generator_loss


def train_step(generator: nn.Module, discriminator: nn.Module, opt_g: torch.optim.Optimizer,
               opt_d: torch.optim.Optimizer, real: torch.Tensor, noise: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Update both networks once. ``real`` ``(B, 1, 28, 28)`` in ``[-1, 1]``, ``noise`` ``(B, 100)``.

    Returns the detached losses ``(d_loss, g_loss)`` as 0-d tensors; it never calls ``.item()``, so
    on a GPU the step needs no host synchronisation.
    """
    # BEGIN SOLUTION
    fake = generator(noise)
    real_logits = discriminator(real)
    fake_logits = discriminator(fake)
    d_loss = discriminator_loss(real_logits, fake_logits)
    g_loss = generator_loss(fake_logits)
    d_params = [p for p in discriminator.parameters() if p.requires_grad]
    g_params = [p for p in generator.parameters() if p.requires_grad]
    d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, g_params)
    for p, g in zip(d_params, d_grads):
        p.grad = g
    for p, g in zip(g_params, g_grads):
        p.grad = g
    opt_d.step()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
    # END SOLUTION
