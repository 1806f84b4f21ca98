# Legitimate: returns torch.topk's named tuple (values, indices) as it is.
import torch.nn.functional as F


def similarity(queries, gallery):
    return F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).mT


def top_k(queries, gallery, k):
    return similarity(queries, gallery).topk(min(k, gallery.shape[0]), dim=-1, largest=True)
