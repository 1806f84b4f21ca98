# Mistake: zero_grad at the end of the step: the first call adds the gradients already in .grad.
# visible: START of the step
from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    model.logit_scale.data.clamp_(0, MAX_LOGIT_SCALE)
    optimizer.zero_grad()
    return loss.detach()
