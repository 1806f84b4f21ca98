# Mistake: prompts built by concatenation (template + name) instead of template.format(name).
# visible: template.format(name)
import torch
import torch.nn.functional as F


def class_embeddings(encode_text, class_names, templates):
    rows = []
    for name in class_names:
        emb = F.normalize(encode_text([t + ' ' + name for t in templates]), dim=-1)
        rows.append(F.normalize(emb.mean(0), dim=-1))
    return torch.stack(rows)


def classify(image_emb, class_emb):
    return (F.normalize(image_emb, dim=-1) @ F.normalize(class_emb, dim=-1).T).argmax(dim=-1)
