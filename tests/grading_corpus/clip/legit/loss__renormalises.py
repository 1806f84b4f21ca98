# Legitimate: normalises the (already unit) embeddings once more, defensively; one loss over 2B rows.
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        u, v = F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1)
        logits = scale * u @ v.T
        n = logits.shape[0]
        labels = torch.arange(n).repeat(2)
        return F.cross_entropy(torch.cat([logits, logits.T]), labels)
