# Legitimate: bare nn.Parameters registered in another order (norm first), the maths written out:
# erf GELU, LayerNorm from mean and biased variance, dropout via F.dropout, rsqrt normalisation.
import math

import torch
import torch.nn.functional as F
from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class ProjectionHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        self.w_in = nn.Parameter(torch.randn(dim, in_dim) / math.sqrt(in_dim))
        self.b_in = nn.Parameter(torch.zeros(dim))
        self.w_mlp = nn.Parameter(torch.randn(dim, dim) / math.sqrt(dim))
        self.b_mlp = nn.Parameter(torch.zeros(dim))
        self.dropout = dropout

    def forward(self, x):
        h = x @ self.w_in.T + self.b_in
        act = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
        z = F.dropout(act @ self.w_mlp.T + self.b_mlp, self.dropout, self.training)
        v = h + z
        mu = v.mean(-1, keepdim=True)
        var = ((v - mu) ** 2).mean(-1, keepdim=True)
        y = (v - mu) / torch.sqrt(var + 1e-5) * self.gamma + self.beta
        return y * torch.rsqrt((y * y).sum(-1, keepdim=True))
