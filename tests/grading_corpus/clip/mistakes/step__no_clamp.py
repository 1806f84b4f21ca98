# Mistake: the temperature is never clamped.
# visible: should be 4.6052 | clamp_



def train_step(model, images, text, loss_fn, optimizer):
    optimizer.zero_grad()
    image_emb, text_emb, scale = model(images, text)
    loss = loss_fn(image_emb, text_emb, scale)
    loss.backward()
    optimizer.step()
    return loss.detach()
