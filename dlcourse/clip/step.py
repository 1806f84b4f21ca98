"""One CLIP training step (Problem 2): forward, loss, backward, update, clamp the temperature.

The contract is the same as the DCGAN's step: the step does the learning and returns the loss as a
detached tensor; the trainer owns everything else (devices, precision, modes, when losses are read).
"""

from __future__ import annotations

import torch

from dlcourse.clip.model import MAX_LOGIT_SCALE


def train_step(model, images: torch.Tensor, text: dict[str, torch.Tensor], loss_fn, optimizer) -> torch.Tensor:
    """Update ``model`` on one batch; return the loss before the update as a detached 0-d tensor.

    ``model(images, text)`` returns image embeddings ``(B, E)``, text embeddings ``(B, E)`` and the
    scale ``exp(logit_scale)``; ``loss_fn(image_emb, text_emb, scale)`` is a scalar tensor. Clear the
    gradients first (``optimizer.zero_grad()`` or ``model.zero_grad()``: ``.grad`` may hold an
    earlier batch's). After the optimizer step, clamp ``model.logit_scale`` into
    ``[0, MAX_LOGIT_SCALE]`` (``ln 100``) in place, without recording it for autograd, as CLIP and
    open_clip do (``clamp_`` inside ``torch.no_grad()``, or on ``.data``); do not assign a new
    tensor to ``model.logit_scale`` (the optimizer holds the old one). The homework text states the
    upper bound (``s <= 100``); the grader takes this docstring's reading and checks both bounds.

    The contract with the trainer: return ``loss.detach()`` (not ``loss.item()``), never call
    ``.item()`` / ``float()`` on a tensor here, and leave the modules' train/eval modes, devices and
    dtypes as they are. The trainer reads the losses once per epoch (a ``.item()`` per step forces a
    host-device synchronisation) and owns the modes (a frozen encoder may stay in eval mode).
    The trainer may hand you the model wrapped for mixed precision; it still has ``logit_scale``.
    """
    # BEGIN SOLUTION
    optimizer.zero_grad(set_to_none=True)
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.detach()
    # END SOLUTION
