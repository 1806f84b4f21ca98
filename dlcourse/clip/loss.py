"""Contrastive losses of CLIP (Problem 2).

For a batch of ``B`` matching (image, caption) pairs with unit embeddings ``u_i`` (images) and
``v_j`` (captions), the logits are ``s * <u_i, v_j>`` with ``s = exp(logit_scale) = 1/temperature``.
Row ``i`` of this ``(B, B)`` matrix scores image ``i`` against every caption of the batch, and the
right caption is the diagonal one: the labels are ``0, 1, ..., B-1``. The symmetric InfoNCE loss
averages cross-entropy over rows (image -> text) and over columns (text -> image).

:class:`SoftTargetClipLoss` is the ablation from the course's class repository: the targets are not
the identity but ``softmax`` of the average of the image-image and text-text similarities, so two
near-identical pairs in a batch are not pushed apart.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    """Symmetric InfoNCE: ``(B, E), (B, E), scale -> scalar``."""

    def forward(self, image_emb: torch.Tensor, text_emb: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Mean of the image->text and text->image cross-entropies of the logits ``scale * image_emb @ text_emb.T``.

        ``image_emb``, ``text_emb``: ``(B, E)`` unit vectors, row ``i`` of each is a matching pair;
        ``scale``: a scalar tensor, ``exp(logit_scale)`` (not its log). Returns a 0-d tensor.

        Any equivalent formulation is accepted (``F.cross_entropy``, ``log_softmax`` + ``nll_loss``,
        ``logsumexp``, a separate ``logits_per_text``). Graded too: the gradient reaches ``scale``
        (use the tensor, not ``scale.item()``), and the loss stays finite up to ``scale = 100``, the
        largest the temperature clamp allows (``log(exp(...).sum())`` overflows there).
        """
        # BEGIN SOLUTION
        logits_per_image = scale * image_emb @ text_emb.T  # (B, B): image i against every caption
        labels = torch.arange(len(logits_per_image), device=logits_per_image.device)
        return 0.5 * (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_image.T, labels))
        # END SOLUTION


class SoftTargetClipLoss(nn.Module):
    """The class-repo variant: soft targets from within-modality similarities (an ablation)."""

    def forward(self, image_emb: torch.Tensor, text_emb: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """``(B, E), (B, E), scale -> scalar``; targets ``softmax(s * (U U^T + V V^T) / 2)`` row-wise."""
        logits_per_text = scale * text_emb @ image_emb.T  # (B, B)
        with torch.no_grad():  # targets are labels, not a path for gradients
            targets = F.softmax(scale * (image_emb @ image_emb.T + text_emb @ text_emb.T) / 2, dim=-1)
        texts_loss = F.cross_entropy(logits_per_text, targets)
        images_loss = F.cross_entropy(logits_per_text.T, targets.T)
        return 0.5 * (texts_loss + images_loss)
