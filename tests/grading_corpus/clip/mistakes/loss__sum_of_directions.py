# Mistake: the sum of the two directions instead of their mean.
# visible: SUM of the two directions
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits = scale * image_emb @ text_emb.T
        labels = torch.arange(len(logits))
        return F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)
