# Mistake: scale.item(): the value is right but the temperature gets no gradient.
# visible: no gradient reaches scale | scale.item()
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        s = scale.item()
        logits = s * image_emb @ text_emb.T
        labels = torch.arange(len(logits))
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
