# Legitimate: model.zero_grad(set_to_none=False), clamp through .data with keyword bounds.
from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    model.zero_grad(set_to_none=False)
    img, txt, scale = model(images, text)
    loss = loss_fn(img, txt, scale)
    loss.backward()
    optimizer.step()
    model.logit_scale.data.clamp_(min=0.0, max=MAX_LOGIT_SCALE)
    return loss.detach()
