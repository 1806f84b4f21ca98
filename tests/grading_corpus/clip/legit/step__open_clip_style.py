# Legitimate: open_clip's order in its own words: zero_grad, forward, loss, backward, step, then the
# clamp to [0, ln 100] under no_grad; returns the detached loss.
import math

import torch


def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_features, text_features, logit_scale = model(images, text)
    total_loss = loss_fn(image_features, text_features, logit_scale)
    total_loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    return total_loss.detach()
