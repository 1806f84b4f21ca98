# Mistake: clamp (not clamp_): the clamped copy is thrown away.
# visible: clamp_, not clamp
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp(0, MAX_LOGIT_SCALE)
    return loss.detach()
