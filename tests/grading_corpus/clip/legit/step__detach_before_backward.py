# Legitimate: keeps the detached value before backward; the clamp via torch.clamp_ on the parameter
# under no_grad.
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad(set_to_none=True)
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    value = loss.detach()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        torch.clamp_(model.logit_scale, 0.0, MAX_LOGIT_SCALE)
    return value
