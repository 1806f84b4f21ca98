"""Zero-shot classification with CLIP (Problem 2): class names -> text embeddings -> nearest class.

Each class is described by several prompts (``"a photo of a {}."``, ...). Their text embeddings are
normalised, averaged (template *ensembling*) and normalised again; an image is assigned the class
whose embedding has the highest cosine similarity with the image embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F


def class_embeddings(encode_text: Callable[[list[str]], torch.Tensor], class_names: Sequence[str],
                     templates: Sequence[str]) -> torch.Tensor:
    """One unit vector per class: ``(C, E)``.

    ``encode_text`` maps a list of ``T`` strings to ``(T, E)`` embeddings (not necessarily unit length).
    For class ``c``, embed ``[t.format(name_c) for t in templates]``, normalise each embedding,
    average over the templates, and normalise the average. One ``encode_text`` call per class or
    one for all prompts are both fine, and so is the sum in place of the mean (the same direction).
    """
    # BEGIN SOLUTION
    rows = []
    for name in class_names:
        emb = F.normalize(encode_text([t.format(name) for t in templates]), dim=-1)  # (T, E)
        rows.append(F.normalize(emb.mean(0), dim=-1))
    return torch.stack(rows)
    # END SOLUTION


def classify(image_emb: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
    """Predicted class of each image: ``(B, E), (C, E) -> (B,)`` int64, by the highest cosine similarity."""
    # BEGIN SOLUTION
    return (F.normalize(image_emb, dim=-1) @ F.normalize(class_emb, dim=-1).T).argmax(dim=-1)
    # END SOLUTION
