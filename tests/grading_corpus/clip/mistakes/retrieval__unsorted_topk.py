# Mistake: topk(sorted=False): the k best items in no particular order.
# visible: not best first | sorted=False
import torch.nn.functional as F


def similarity(queries, gallery):
    return F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).T


def top_k(queries, gallery, k):
    return similarity(queries, gallery).topk(min(k, len(gallery)), dim=-1, sorted=False)
