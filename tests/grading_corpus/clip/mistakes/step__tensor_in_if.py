# Mistake: a tensor in an if (a guard against divergence) reads the loss on the host in every step.
# visible: reads tensor values on the host
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    if not torch.isfinite(loss):
        raise FloatingPointError("the loss diverged")
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.detach()
