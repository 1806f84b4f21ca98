"""The noxfile's clean-up of results made by older code (run folders, the book's execution cache)."""

from __future__ import annotations

import importlib.util
import os
import sys
import types


def _noxfile(repo, monkeypatch):
    """The noxfile as a module. nox itself lives outside the test environment (CI installs it with the
    system pip), so a stand-in provides the two names the noxfile uses at import time."""
    fake = types.SimpleNamespace(options=types.SimpleNamespace(), session=lambda **_: (lambda f: f))
    monkeypatch.setitem(sys.modules, "nox", fake)
    spec = importlib.util.spec_from_file_location("dlcourse_noxfile", repo / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prune_older_keeps_the_current_and_the_newest_others(repo, tmp_path, monkeypatch):
    noxfile = _noxfile(repo, monkeypatch)
    for age, name in enumerate(["current", "new1", "new2", "old1", "old2"]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.pt").write_text("x")
        os.utime(tmp_path / name, (1e9 - age * 100, 1e9 - age * 100))
    os.utime(tmp_path / "current", (1.0, 1.0))  # the current folder survives however old it looks
    (tmp_path / "a-file").write_text("not a folder: left alone")
    removed = noxfile.prune_older(tmp_path, "current", keep=2)
    assert sorted(p.name for p in removed) == ["old1", "old2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "current", "new1", "new2"]
    assert noxfile.prune_older(tmp_path / "missing") == []
