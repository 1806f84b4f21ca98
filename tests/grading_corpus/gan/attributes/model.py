"""Corpus variant: layers as attributes, activations and dropout as functions in forward, a "same"-padding
Conv2d subclass, and BatchNorm2d(256) + LeakyReLU after the generator's reshaped dense layer."""

import math

import torch
import torch.nn.functional as F
from torch import nn


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow's 'same' padding, computed for each input size."""

    def forward(self, x):
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = Conv2dSame(1, 64, 5, stride=2)
        self.c2 = Conv2dSame(64, 128, 5, stride=2)
        self.out = nn.Linear(6272, 1)

    def forward(self, x):
        h = F.dropout(F.leaky_relu(self.c1(x), negative_slope=0.3), 0.3, training=self.training)
        h = F.dropout(F.leaky_relu(self.c2(h), negative_slope=0.3), p=0.3, training=self.training)
        return self.out(torch.flatten(h, 1))[:, 0]


class Generator(nn.Module):
    def __init__(self, noise_dim=100):
        super().__init__()
        self.fc = nn.Linear(noise_dim, 12544, bias=False)
        self.bn0 = nn.BatchNorm2d(256)
        self.up1 = nn.ConvTranspose2d(256, 128, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(128)
        self.up2 = nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.up3 = nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False)

    def forward(self, z):
        h = F.leaky_relu(self.bn0(self.fc(z).view(z.shape[0], 256, 7, 7)), 0.3)
        h = F.leaky_relu(self.bn1(self.up1(h)), 0.3)
        h = F.leaky_relu(self.bn2(self.up2(h)), 0.3)
        return torch.tanh(self.up3(h))
