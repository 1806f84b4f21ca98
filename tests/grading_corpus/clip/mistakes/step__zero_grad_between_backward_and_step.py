# Mistake: zero_grad between backward() and step(): nothing is updated.
# visible: no update was applied
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.detach()
