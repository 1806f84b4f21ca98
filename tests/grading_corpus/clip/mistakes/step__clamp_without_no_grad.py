# Mistake: clamp_ on the Parameter outside torch.no_grad() (autograd refuses it).
# visible: torch.no_grad()

from .model import MAX_LOGIT_SCALE


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return loss.detach()
