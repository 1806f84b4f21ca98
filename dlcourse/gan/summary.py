"""Describe a network by running it: per-layer output shapes and parameter counts (for the notebooks).

It works on any ``nn.Module`` - the reference's networks in the book, the student's in their notebook -
so the architecture tables are computed from the code that is actually there, never typed by hand.
"""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def shape_table(module: nn.Module, example: torch.Tensor) -> list[tuple[str, str, tuple[int, ...], int]]:
    """Run ``example`` through ``module`` and record every leaf layer's output shape.

    Returns rows ``(name, layer repr, output shape without batch, parameters)``: the architecture
    table of the book is computed with this, never typed by hand.
    """
    rows: list[tuple[str, str, tuple[int, ...], int]] = []
    hooks = []
    for name, layer in module.named_modules():
        if len(list(layer.children())) == 0:
            def hook(mod, inp, out, name=name):
                rows.append((name, mod.__class__.__name__ + "(" + mod.extra_repr() + ")",
                             tuple(out.shape[1:]), sum(p.numel() for p in mod.parameters())))
            hooks.append(layer.register_forward_hook(hook))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            module(example)
    finally:
        module.train(was_training)
        for h in hooks:
            h.remove()
    return rows
