# Mistake (one reading of the text): clamp_(max=...) without the docstring's lower bound 0.
# visible: [0, ln 100] | docstring's reading
# hidden: pass
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(max=MAX_LOGIT_SCALE)
    return loss.detach()
