"""Shared fixtures. Tests run with one torch thread and a private data/runs root per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def generated_stubs(tmp_path_factory) -> Path:
    """The student stubs exactly as `dlcourse exercises` generates them, in a temporary folder."""
    from dlcourse import stubs

    out = tmp_path_factory.mktemp("exercises")
    for f in stubs.stub_modules():
        path = out / f.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.text, encoding="utf-8")
    return out
