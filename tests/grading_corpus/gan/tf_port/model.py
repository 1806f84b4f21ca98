"""Corpus variant: the TensorFlow DCGAN tutorial, ported layer by layer.

Keras "same" padding is explicit (ZeroPad2d((1, 2, 1, 2)) once, F.pad once); the dense layer of D
reads channels-last (Keras' Flatten after NHWC), the generator reshapes its dense output
channels-last too; BatchNormalization's eps=1e-3 and momentum 0.99 (PyTorch 0.01); the stride-2
transposed convolutions crop their full output at offset 1, as TF's 'same' does.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(100, 7 * 7 * 256, bias=False)
        self.bn0 = nn.BatchNorm1d(7 * 7 * 256, eps=1e-3, momentum=0.01)
        self.deconv1 = nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(128, eps=1e-3, momentum=0.01)
        self.deconv2 = nn.ConvTranspose2d(128, 64, 5, stride=2, bias=False)
        self.bn2 = nn.BatchNorm2d(64, eps=1e-3, momentum=0.01)
        self.deconv3 = nn.ConvTranspose2d(64, 1, 5, stride=2, bias=False)

    @staticmethod
    def same(x, n):  # TF 'same' for a stride-2 transposed conv: rows/cols 1 .. 2n of the full output
        return x[..., 1:1 + 2 * n, 1:1 + 2 * n]

    def forward(self, z):
        x = F.leaky_relu(self.bn0(self.dense(z)), 0.3)
        x = x.reshape(-1, 7, 7, 256).permute(0, 3, 1, 2)  # Keras Reshape((7, 7, 256)) is channels-last
        x = F.leaky_relu(self.bn1(self.deconv1(x)), 0.3)
        x = F.leaky_relu(self.bn2(self.same(self.deconv2(x), 7)), 0.3)
        return torch.tanh(self.same(self.deconv3(x), 14))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 1, 2))
        self.conv1 = nn.Conv2d(1, 64, 5, stride=2)
        self.conv2 = nn.Conv2d(64, 128, 5, stride=2)
        self.drop = nn.Dropout(0.3)
        self.dense = nn.Linear(7 * 7 * 128, 1)

    def forward(self, x):
        x = self.drop(F.leaky_relu(self.conv1(self.pad(x)), 0.3))
        x = self.drop(F.leaky_relu(self.conv2(F.pad(x, (1, 2, 1, 2))), 0.3))
        return self.dense(x.permute(0, 2, 3, 1).flatten(1)).squeeze(-1)
