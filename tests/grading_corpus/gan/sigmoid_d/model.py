"""Corpus design choice: pytorch/examples' final sigmoid kept in D (with nn.BCELoss in losses.py).

The stub asks for logits, so (a) refuses it — once: (b)-(e) must not be charged for it.
"""

from torch import nn


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
            nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
            nn.Flatten(), nn.Linear(6272, 1), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 12544, bias=False)
        self.main = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(128, 64, 5, 2, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(64, 1, 5, 2, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, z):
        return self.main(self.fc(z).view(-1, 256, 7, 7))
