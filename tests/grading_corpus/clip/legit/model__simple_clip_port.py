# Legitimate: the projection head of the widely used "simple CLIP" tutorial, in its own step-by-step
# style: projection, GELU module, fc, dropout, add, layer norm; then the unit normalisation.
import math

import torch.nn.functional as F
from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class ProjectionHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.projection = nn.Linear(in_dim, dim)
        self.gelu = nn.GELU()
        self.fc = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, x):
        projected = self.projection(x)
        x = self.gelu(projected)
        x = self.fc(x)
        x = self.dropout(x)
        x = x + projected
        x = self.layer_norm(x)
        return F.normalize(x, p=2, dim=1)
