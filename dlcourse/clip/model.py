"""The CLIP model (Problem 2): two encoders, two projection heads, one learnable temperature.

An image and a caption are mapped to unit vectors in one shared space of dimension ``embed_dim``;
their cosine similarity, multiplied by ``exp(logit_scale)`` (the inverse temperature), is the logit
that the contrastive loss (:mod:`dlcourse.clip.loss`) trains. The encoders are any modules mapping
``images -> (B, D_v)`` and ``token ids -> (B, D_t)`` (see :mod:`dlcourse.clip.encoders`); with a
frozen text encoder, precomputed text features can be passed instead of token ids.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: CLIP's initial temperature 0.07, stored as log(1/0.07) so that the scale stays positive.
INIT_LOGIT_SCALE = math.log(1 / 0.07)
#: Upper bound of the log scale (a scale of 100), as in CLIP: keeps the softmax from saturating.
MAX_LOGIT_SCALE = math.log(100.0)


class ProjectionHead(nn.Module):
    """Project encoder features into the shared space: ``(B, in_dim) -> (B, dim)``, unit length rows.

    With ``h = proj(x)`` (a linear map to ``dim``):
    ``y = norm(h + dropout(fc(gelu(h))))`` (a residual MLP block with LayerNorm), and the output is
    ``y / ||y||`` so that dot products between embeddings are cosine similarities.

    What is up to you, and what is graded (by behaviour, not by names):

    * names and layout are free: other attribute names, ``nn.Sequential``, subclasses of
      ``nn.Linear`` / ``nn.LayerNorm``, ``F.linear`` / ``F.layer_norm`` on the layers' parameters;
      the head must hold exactly these parameters: ``proj`` (``in_dim -> dim``) and ``fc``
      (``dim -> dim``) with biases, and the LayerNorm's weight and bias (``dim`` each);
    * GELU exact or tanh-approximated (``nn.GELU`` / ``F.gelu``, either ``approximate``); other
      activations (ReLU, SiLU, QuickGELU ``x * sigmoid(1.702 x)``) are not GELU;
    * the grader sets every parameter to values far from their initialisation, so the LayerNorm's
      own weight and bias must be used, and it checks that each parameter receives its gradient;
    * dropout with probability ``dropout`` acts on the branch ``fc(gelu(h))`` only, and only in
      training mode (``nn.Dropout``, or ``F.dropout(..., training=self.training)``).
    """

    def __init__(self, in_dim: int, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.proj = nn.Linear(in_dim, dim)
        self.fc = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_dim) -> (B, dim)`` with every row of L2 norm 1."""
        # BEGIN SOLUTION
        h = self.proj(x)
        y = self.norm(h + self.dropout(self.fc(F.gelu(h))))
        return F.normalize(y, dim=-1)
        # END SOLUTION


class CLIP(nn.Module):
    """Image encoder + text encoder + projection heads + learnable ``logit_scale``.

    ``text`` may be ``None`` when the text encoder is frozen and its features are precomputed;
    :meth:`encode_text` then expects ``{"features": (B, text_dim)}``.
    """

    def __init__(self, vision: nn.Module, text: nn.Module | None, vision_dim: int, text_dim: int,
                 embed_dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.visual = vision
        self.text = text
        self.image_head = ProjectionHead(vision_dim, embed_dim, dropout)
        self.text_head = ProjectionHead(text_dim, embed_dim, dropout)
        self.logit_scale = nn.Parameter(torch.tensor(INIT_LOGIT_SCALE))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W) -> (B, embed_dim)`` unit vectors."""
        return self.image_head(self.visual(images))

    def text_features(self, text: dict[str, torch.Tensor]) -> torch.Tensor:
        """Encoder features ``(B, text_dim)``: precomputed ``text["features"]`` or the encoder on token ids."""
        if "features" in text:
            return text["features"]
        if self.text is None:
            raise ValueError("this CLIP has no text encoder: pass {'features': ...} (precomputed features)")
        return self.text(text["input_ids"], text["attention_mask"])

    def encode_text(self, text: dict[str, torch.Tensor]) -> torch.Tensor:
        """Token ids ``{"input_ids", "attention_mask": (B, L)}`` or ``{"features": (B, D)}`` -> ``(B, embed_dim)``."""
        return self.text_head(self.text_features(text))

    def forward(self, images: torch.Tensor, text: dict[str, torch.Tensor]):
        """-> image embeddings ``(B, E)``, text embeddings ``(B, E)``, scale ``exp(logit_scale)`` (scalar)."""
        return self.encode_image(images), self.encode_text(text), self.logit_scale.exp()
