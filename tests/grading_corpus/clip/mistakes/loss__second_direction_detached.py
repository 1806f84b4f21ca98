# Mistake: the text->image half computed on detached logits.
# visible: text->image direction is detached
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits = scale * image_emb @ text_emb.T
        labels = torch.arange(len(logits))
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T.detach(), labels))
