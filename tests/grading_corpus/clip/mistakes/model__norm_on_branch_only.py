# Mistake: the LayerNorm on the branch, not on the sum.
# visible: normalises the branch only
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
        h = self.proj(x)
        return F.normalize(h + self.norm(self.dropout(self.fc(F.gelu(h)))), dim=-1)
