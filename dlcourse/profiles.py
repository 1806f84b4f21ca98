"""Run profiles, selected in one place: the environment variable ``DLCOURSE_PROFILE``.

``quick`` (default) is what CI and the book build use on a 2-core CPU: short runs on subsets that
still exercise the whole pipeline. ``full`` is the homework as specified (50 DCGAN epochs, full-size
CLIP encoders on Flickr8K), meant for a GPU. Every notebook that trains prints the active profile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dlcourse.errors import ConfigError

ENV_VAR = "DLCOURSE_PROFILE"


@dataclass(frozen=True)
class GanProfile:
    """DCGAN settings of a profile (Problem 3)."""

    epochs: int
    batch_sizes: tuple[int, ...]
    train_subset: int | None  # number of training images; None = all 60,000
    snapshot_epochs: tuple[int, ...]
    fid_samples: int  # N for Inception FID (generated and as many test images); 0 = skip
    classifier_samples: int = 10_000  # generated images for the classifier metrics (cheap)
    compare_subset: int | None = None  # training images of the batch-size comparison (16/32/64)
    compare_epochs: int = 1


@dataclass(frozen=True)
class ClipProfile:
    """CLIP settings of a profile (Problem 2)."""

    dataset: str  # "standin" or "flickr8k"
    image_size: int
    epochs: int
    batch_size: int
    train_images: int | None  # None = the whole training split
    test_images: int | None
    models: tuple[tuple[str, str], ...]  # (vision encoder, text encoder) pairs, see dlcourse.clip.encoders
    freeze_text: bool  # freeze PRETRAINED text encoders (features computed once); random-init ones always train
    vision_weights: str = "auto"  # ImageNet weights when available (hub cache or download), else random init


@dataclass(frozen=True)
class Profile:
    """A named bundle of run settings for every problem."""

    name: str
    description: str
    gan: GanProfile
    clip: ClipProfile
    extra: dict = field(default_factory=dict)

    def banner(self) -> str:
        """One line for the top of a notebook or a log: which profile is active and what it means."""
        return f"dlcourse profile: {self.name} - {self.description} (set {ENV_VAR}=quick|full to change)"


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        description="short CPU runs on subsets that show the whole pipeline (CI, book build)",
        gan=GanProfile(epochs=3, batch_sizes=(16, 32, 64), train_subset=1024, snapshot_epochs=(1, 2, 3),
                       fid_samples=50, classifier_samples=500, compare_subset=512, compare_epochs=1),
        clip=ClipProfile(
            dataset="standin",
            image_size=32,  # the stand-in's 64px scenes at half size: ~0.3 CPU-s per ResNet-18 step of 64
            epochs=3,
            batch_size=64,
            train_images=1500,
            test_images=300,
            models=(("resnet18", "minilm"), ("resnet34", "minilm"), ("resnet18", "tiny-bert")),
            freeze_text=True,
        ),
    ),
    "full": Profile(
        name="full",
        description="the homework as specified: 50 DCGAN epochs, full-size CLIP on Flickr8K (GPU)",
        gan=GanProfile(epochs=50, batch_sizes=(16, 32, 64), train_subset=None, snapshot_epochs=(10, 30, 50),
                       fid_samples=10_000, classifier_samples=10_000, compare_subset=None, compare_epochs=50),
        clip=ClipProfile(
            dataset="flickr8k",
            image_size=224,
            epochs=10,
            batch_size=32,
            train_images=None,
            test_images=None,
            models=(
                ("resnet18", "distilbert-base-uncased"),
                ("resnet34", "bert-base-uncased"),
                ("resnet50", "roberta-base"),
            ),
            freeze_text=False,
        ),
    ),
}


def current(name: str | None = None) -> Profile:
    """The active profile: ``name`` if given, else ``$DLCOURSE_PROFILE``, else ``quick``."""
    name = name or os.environ.get(ENV_VAR, "").strip() or "quick"
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"{ENV_VAR}={name!r} is not a known profile; use one of {sorted(PROFILES)} "
            f"(e.g. `export {ENV_VAR}=quick`)."
        ) from None
