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


def reference_submission(root: Path, package: str, files, patches=None, count: int = -1):
    """A submission folder holding the reference ``dlcourse/<package>/<files>`` with text patches.

    ``patches`` maps a file name to ``[(old, new), ...]``; each ``old`` must occur and is replaced
    ``count`` times (-1: everywhere). Imports between the copied files become relative, exactly as
    the stub generator writes them, so the copies use each other and not the reference.
    """
    from dlcourse import stubs
    from dlcourse.grading.core import Submission

    pkg = root / package
    pkg.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    copied = {Path(package) / name for name in files}
    for name in files:
        text = (REPO / "dlcourse" / package / name).read_text()
        text = stubs.relative_imports(text, Path(package) / name, copied)
        for old, new in (patches or {}).get(name, []):
            assert old in text, f"patch target not found in {name}: {old!r}"
            text = text.replace(old, new, count)
        (pkg / name).write_text(text)
    return Submission(root)
