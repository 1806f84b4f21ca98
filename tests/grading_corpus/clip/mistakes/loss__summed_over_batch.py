# Mistake: reduction="sum": the loss grows with the batch size.
# visible: summed over the batch
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits = scale * image_emb @ text_emb.T
        labels = torch.arange(len(logits))
        return 0.5 * (F.cross_entropy(logits, labels, reduction="sum") + F.cross_entropy(logits.T, labels, reduction="sum"))
