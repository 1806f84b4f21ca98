# Mistake: classify by raw dot products (long class vectors win).
# visible: raw dot products
import torch
import torch.nn.functional as F


def class_embeddings(encode_text, class_names, templates):
    rows = []
    for name in class_names:
        emb = F.normalize(encode_text([t.format(name) for t in templates]), dim=-1)
        rows.append(F.normalize(emb.mean(0), dim=-1))
    return torch.stack(rows)


def classify(image_emb, class_emb):
    return (image_emb @ class_emb.T).argmax(dim=-1)
