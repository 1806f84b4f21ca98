# Legitimate: open_clip's formulation in its own words: logits_per_image and logits_per_text
# computed separately, labels built on the logits' device, (ce + ce) / 2.
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits_per_image = scale * image_emb @ text_emb.T
        logits_per_text = scale * text_emb @ image_emb.T
        labels = torch.arange(logits_per_image.shape[0], device=logits_per_image.device, dtype=torch.long)
        return (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2
