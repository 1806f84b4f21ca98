# Mistake: the scale is never used.
# visible: ignores `scale`
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits = image_emb @ text_emb.T
        labels = torch.arange(len(logits))
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
