# Legitimate: OpenAI CLIP's own style: assign a clamped copy to .data (the Parameter object stays the
# same) with the rounded literal 4.6052 for ln 100.
import torch


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad(set_to_none=True)
    outputs = model(images, text)
    loss = loss_fn(*outputs)
    loss.backward()
    optimizer.step()
    model.logit_scale.data = torch.clamp(model.logit_scale.data, 0, 4.6052)
    return loss.detach()
