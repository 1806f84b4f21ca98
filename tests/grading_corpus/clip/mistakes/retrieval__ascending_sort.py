# Mistake: an ascending sort, then the last k columns (the right items, worst of them first).
# visible: not best first | ascending
import torch.nn.functional as F


def similarity(queries, gallery):
    return F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).T


def top_k(queries, gallery, k):
    values, indices = similarity(queries, gallery).sort(dim=-1)
    k = min(k, len(gallery))
    return values[:, -k:], indices[:, -k:]
