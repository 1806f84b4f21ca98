# Mistake: a new Parameter assigned to model.logit_scale: the optimizer keeps updating the old one.
# visible: assigned a new tensor to model.logit_scale
from torch import nn

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    model.logit_scale = nn.Parameter(model.logit_scale.detach().clamp(0, MAX_LOGIT_SCALE))
    return loss.detach()
