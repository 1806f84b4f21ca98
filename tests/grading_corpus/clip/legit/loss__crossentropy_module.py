# Legitimate: an nn.CrossEntropyLoss module, einsum for the similarities, the transpose for text->image.
import torch
from torch import nn


class ClipLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.ce = nn.CrossEntropyLoss()

    def forward(self, image_emb, text_emb, scale):
        logits = torch.einsum("ie,te->it", image_emb, text_emb) * scale
        labels = torch.arange(logits.size(0), device=logits.device)
        return torch.stack([self.ce(logits, labels), self.ce(logits.t(), labels)]).mean()
