# Legitimate: subclasses of nn.Linear and nn.LayerNorm (recognised by isinstance, not by class name).
import math

import torch.nn.functional as F
from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class Dense(nn.Linear):
    """A linear layer with a trunc-normal initialisation."""

    def reset_parameters(self):
        nn.init.trunc_normal_(self.weight, std=0.02)
        nn.init.zeros_(self.bias)


class PreciseLayerNorm(nn.LayerNorm):
    def __init__(self, dim):
        super().__init__(dim, eps=1e-6)


class ProjectionHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.a = Dense(in_dim, dim)
        self.b = Dense(dim, dim)
        self.c = nn.Dropout(dropout)
        self.d = PreciseLayerNorm(dim)
        self.act = nn.GELU(approximate="tanh")

    def forward(self, x):
        h = self.a(x)
        return F.normalize(self.d(h + self.c(self.b(self.act(h)))), dim=-1)
