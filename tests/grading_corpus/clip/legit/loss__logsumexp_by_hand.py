# Legitimate: the InfoNCE formula written out with logsumexp (diagonal minus log-partition).
import torch
from torch import nn


class ClipLoss(nn.Module):
    def forward(self, image_emb, text_emb, scale):
        logits = scale * (image_emb @ text_emb.T)
        positives = logits.diagonal()
        i2t = (torch.logsumexp(logits, dim=1) - positives).mean()
        t2i = (torch.logsumexp(logits, dim=0) - positives).mean()
        return (i2t + t2i) / 2
