"""One CLIP training step (Problem 2): forward, loss, backward, update, clamp the temperature."""

from __future__ import annotations

import torch

from dlcourse.clip.model import MAX_LOGIT_SCALE


def train_step(model, images: torch.Tensor, text: dict[str, torch.Tensor], loss_fn, optimizer) -> float:
    """Update ``model`` on one batch; return the loss before the update as a float.

    ``model(images, text)`` returns image embeddings ``(B, E)``, text embeddings ``(B, E)`` and the
    scale ``exp(logit_scale)``; ``loss_fn(image_emb, text_emb, scale)`` is a scalar tensor. After the
    optimizer step, clamp ``model.logit_scale`` into ``[0, MAX_LOGIT_SCALE]`` (``ln 100``) in place,
    without recording it for autograd, as CLIP does.
    """
    # BEGIN SOLUTION
    optimizer.zero_grad(set_to_none=True)
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.item()
    # END SOLUTION
