# Legitimate: tanh-approximated GELU, F.layer_norm with the module's own weight and bias, F.dropout
# that follows the module's mode, F.linear on the layers' parameters.
import math

import torch.nn.functional as F
from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


class ProjectionHead(nn.Module):
    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.to_shared = nn.Linear(in_dim, dim)
        self.hidden = nn.Linear(dim, dim)
        self.p = dropout
        self.ln = nn.LayerNorm(dim)

    def forward(self, x):
        h = F.linear(x, self.to_shared.weight, self.to_shared.bias)
        z = self.hidden(F.gelu(h, approximate="tanh"))
        z = F.dropout(z, self.p, training=self.training)
        y = F.layer_norm(h + z, self.ln.normalized_shape, self.ln.weight, self.ln.bias, self.ln.eps)
        return F.normalize(y, dim=-1)
