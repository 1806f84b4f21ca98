# Legitimate: the whole head as one nn.Sequential with a small Residual wrapper module.
import math

import torch.nn.functional as F
from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class Residual(nn.Module):
    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class ProjectionHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, dim),
            Residual(nn.Sequential(nn.GELU(), nn.Linear(dim, dim), nn.Dropout(dropout))),
            nn.LayerNorm(dim),
        )

    def forward(self, x):
        return F.normalize(self.layers(x), dim=-1)
