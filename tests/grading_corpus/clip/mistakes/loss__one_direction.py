# Mistake: only the image->text cross-entropy.
# visible: ONE direction
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits = scale * image_emb @ text_emb.T
        return F.cross_entropy(logits, torch.arange(len(logits)))
