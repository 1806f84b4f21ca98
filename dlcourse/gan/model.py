"""The homework's DCGAN for 28x28 grayscale images (the Keras DCGAN tutorial architecture).

Discriminator: 5x5 convolutions with stride 2, ``1x28x28 -> 64x14x14 -> 128x7x7``, each followed by
LeakyReLU(0.3) and Dropout(0.3), then a dense layer from ``128*7*7`` to one logit.

Generator: a bias-free dense layer from a 100-d unit-Gaussian noise vector to ``7*7*256``, then
bias-free 5x5 transposed convolutions ``256x7x7 -> 128x7x7 -> 64x14x14 -> 1x28x28``; every layer but
the last is followed by BatchNorm and LeakyReLU(0.3), the last by tanh. The homework is silent about
what follows the dense layer; like the Keras tutorial it comes from, we use BatchNorm then LeakyReLU
(the grader accepts either reading). Parameter counts: G 2,305,472, D 212,865.

Note the slope: 0.3 is Keras's default for LeakyReLU; PyTorch's default is 0.01.

What the grader looks at, and the freedom you have: it runs your networks with forward hooks and
judges what they *do*, not how the code is spelled. The layers with weights are recognised with
``isinstance`` (a subclass of ``nn.Conv2d``, say a "Conv2dSame", is a convolution), in the order
they are called; what happens between two of them is judged by its effect on the values. So layers
may be attributes or ``nn.Sequential`` entries; activations and dropout may be modules or
functions in ``forward`` (``F.dropout(x, 0.3, training=self.training)``); dropout may come before or
after the LeakyReLU; flattening, reshaping and permuting (e.g. channels-last, as in Keras) are free;
D's convolutions may use ``padding=2`` or Keras "same" padding (``nn.ZeroPad2d((1, 2, 1, 2))`` or
``F.pad`` with a padding-0 convolution); the transposed convolutions may crop their output as
TensorFlow's "same" does; BatchNorm's ``eps`` and ``momentum`` and the weight initialisation are
yours. After G's dense layer the grader accepts nothing, LeakyReLU(0.3), or BatchNorm (1d on 12544
or 2d on 256 features) then LeakyReLU(0.3). D may return ``(B,)`` or ``(B, 1)`` logits, but logits:
a final sigmoid costs part (a), and only part (a).
"""

from __future__ import annotations

import torch
from torch import nn

from dlcourse.gan.spec import DROPOUT, LEAKY_SLOPE, NOISE_DIM


class Discriminator(nn.Module):
    """``(B, 1, 28, 28)`` images in ``[-1, 1]`` -> ``(B,)`` logits (real > 0), not probabilities: no final sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        # BEGIN SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=5, stride=2, padding=2),  # -> (B, 64, 14, 14)
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Dropout(DROPOUT),
            nn.Conv2d(64, 128, kernel_size=5, stride=2, padding=2),  # -> (B, 128, 7, 7)
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Dropout(DROPOUT),
        )
        self.head = nn.Linear(128 * 7 * 7, 1)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION
        return self.head(self.features(x).flatten(1)).squeeze(1)
        # END SOLUTION


class Generator(nn.Module):
    """``(B, 100)`` noise -> ``(B, 1, 28, 28)`` images in ``[-1, 1]``."""

    def __init__(self, noise_dim: int = NOISE_DIM) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        # BEGIN SOLUTION
        self.project = nn.Sequential(
            nn.Linear(noise_dim, 7 * 7 * 256, bias=False),  # -> (B, 12544)
            nn.BatchNorm1d(7 * 7 * 256),
            nn.LeakyReLU(LEAKY_SLOPE),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),  # -> (B, 128, 7, 7)
            nn.BatchNorm2d(128),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),  # -> (B, 64, 14, 14)
            nn.BatchNorm2d(64),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False),  # -> (B, 1, 28, 28)
            nn.Tanh(),
        )
        # END SOLUTION

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION
        return self.deconv(self.project(z).view(-1, 256, 7, 7))
        # END SOLUTION
