# Legitimate: the branch as an nn.Sequential under other attribute names, nn.GELU as a module,
# normalisation by division.
import math

from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class ProjectionHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.linear_in = nn.Linear(in_dim, dim)
        self.branch = nn.Sequential(nn.GELU(), nn.Linear(dim, dim), nn.Dropout(dropout))
        self.post_norm = nn.LayerNorm(dim)

    def forward(self, x):
        h = self.linear_in(x)
        y = self.post_norm(h + self.branch(h))
        return y / y.norm(dim=-1, keepdim=True)
