# Mistake: a fresh optimizer built inside the step (ignores the one given, and its state).
# visible: expected
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    opt.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.detach()
