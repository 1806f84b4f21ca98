"""Atomic writes and provenance."""

from __future__ import annotations

import hashlib

import pytest

from dlcourse import io


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_json_atomic_and_md5(tmp_path):
    io.write_json_atomic(tmp_path / "a" / "m.json", {"x": 1})
    assert (tmp_path / "a" / "m.json").read_text() == '{\n  "x": 1\n}\n'
    assert io.md5sum(tmp_path / "a" / "m.json") == hashlib.md5(b'{\n  "x": 1\n}\n').hexdigest()


def test_source_fingerprint_changes_with_code(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    fp1 = io.source_fingerprint(tmp_path)
    assert fp1 == io.source_fingerprint(tmp_path)
    (tmp_path / "a.py").write_text("x = 2\n")
    assert io.source_fingerprint(tmp_path) != fp1


def test_provenance_has_the_required_fields():
    rec = io.provenance(seed=3)
    assert {"command", "seed", "commit", "device", "torch", "started_utc"} <= set(rec)
    assert rec["seed"] == 3 and rec["device"].startswith("CPU")


def test_an_explicit_commit_wins_over_the_checkout(monkeypatch, tmp_path):
    """A GPU machine's copy of the tree can hold a stale .git; the launcher's DLCOURSE_COMMIT must win."""
    from dlcourse.io import git_commit

    monkeypatch.setenv("DLCOURSE_COMMIT", "abc123")
    assert git_commit() == "abc123"
    monkeypatch.delenv("DLCOURSE_COMMIT")
    assert git_commit(tmp_path) == "unknown"  # no checkout there, no variable
    sha = git_commit()
    assert sha == "unknown" or len(sha.split("-")[0]) == 40  # this checkout's commit (when git is present)
