"""Similarity search in the shared space (Problem 2): cosine similarities and top-k retrieval."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def similarity(queries: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
    """Cosine similarities ``(Q, E), (G, E) -> (Q, G)``; the inputs need not be normalised."""
    # BEGIN SOLUTION
    return F.normalize(queries, dim=-1) @ F.normalize(gallery, dim=-1).T
    # END SOLUTION


def top_k(queries: torch.Tensor, gallery: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` most similar gallery items per query, best first (by cosine similarity).

    ``(Q, E), (G, E) -> scores (Q, k), indices (Q, k)`` with ``k`` capped at ``G``. ``topk``, a
    descending ``sort`` or ``argsort`` all do; the order is graded (``topk(..., sorted=False)``
    returns the best ``k`` in no particular order), and so is ``k > G``.
    """
    # BEGIN SOLUTION
    scores, indices = similarity(queries, gallery).topk(min(k, len(gallery)), dim=-1, largest=True, sorted=True)
    return scores, indices
    # END SOLUTION
