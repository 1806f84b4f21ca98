# Mistake: the mean of the unit template embeddings is not normalised again.
# visible: normalise again after averaging
import torch
import torch.nn.functional as F


def class_embeddings(encode_text, class_names, templates):
    rows = []
    for name in class_names:
        emb = F.normalize(encode_text([t.format(name) for t in templates]), dim=-1)
        rows.append(emb.mean(0))
    return torch.stack(rows)


def classify(image_emb, class_emb):
    return (F.normalize(image_emb, dim=-1) @ F.normalize(class_emb, dim=-1).T).argmax(dim=-1)
