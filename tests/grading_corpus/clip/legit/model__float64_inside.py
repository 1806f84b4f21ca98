# Legitimate: computes the head in float64 and returns float32 (another float order).
import math

import torch.nn.functional as F
from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class ProjectionHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.proj = nn.Linear(in_dim, dim)
        self.fc = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        dt = x.dtype
        h = F.linear(x.double(), self.proj.weight.double(), self.proj.bias.double())
        z = F.linear(F.gelu(h), self.fc.weight.double(), self.fc.bias.double())
        y = F.layer_norm(h + self.dropout(z), h.shape[-1:], self.norm.weight.double(), self.norm.bias.double(),
                         self.norm.eps)
        return F.normalize(y, dim=-1).to(dt)
