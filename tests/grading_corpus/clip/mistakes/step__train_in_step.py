# Mistake: model.train() inside the step switches the frozen encoder out of eval mode.
# visible: from eval to train mode
import torch

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    model.train()
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.detach()
