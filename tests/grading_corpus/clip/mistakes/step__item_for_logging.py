# Mistake: returns the detached tensor but also calls .item() in every step (for a print).
# visible: reads tensor values on the host | .item()
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    if loss.item() > 1e6:
        print("diverging")
    return loss.detach()
