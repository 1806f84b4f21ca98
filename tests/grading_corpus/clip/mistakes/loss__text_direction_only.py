# Mistake: only the text->image cross-entropy (open_clip-style logits_per_text alone).
# visible: ONE direction
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits_per_text = scale * text_emb @ image_emb.T
        return F.cross_entropy(logits_per_text, torch.arange(len(logits_per_text)))
