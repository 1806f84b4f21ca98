"""The student notebooks run to the end on a machine without the fetched weights: FID is skipped with one
line (the metrics table shows '-'), a CLIP pair whose pretrained text encoder is missing is left out
with one line, and every other cell still runs (a tiny profile keeps it short)."""

from __future__ import annotations

import pytest
from test_student_parts import run_notebook_cells

from dlcourse import profiles
from dlcourse.data import weights
from dlcourse.errors import WeightsNotFoundError


@pytest.fixture
def no_weights(monkeypatch):
    monkeypatch.setattr(weights, "find", lambda name, root=None: None)
    monkeypatch.setattr(weights, "installed", lambda name: None)


def _run_notebook(problem, tmp_path, monkeypatch, **profile) -> dict:
    monkeypatch.setenv("DLCOURSE_TEST_MARKER", str(tmp_path / "marker.txt"))  # the marked parts of _submission
    return run_notebook_cells(problem, tmp_path, monkeypatch, **profile)[0]


@pytest.mark.slow
def test_gan_notebook_skips_fid_with_one_line(tmp_path, monkeypatch, no_weights, capsys):
    ns = _run_notebook("gan", tmp_path, monkeypatch, fid_samples=50)
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if "FID skipped" in line]
    assert len(skipped) == 1 and "dlcourse data fetch weights" in skipped[0]
    assert "fid" not in ns["ev"]["real_baseline"] and all("fid" not in e for e in ns["ev"]["epochs"].values())
    assert "real images" in out and "notebook time so far" in out  # the table and the last cell ran


@pytest.mark.slow
def test_clip_notebook_leaves_out_the_pairs_without_text_weights(tmp_path, monkeypatch, no_weights, capsys):
    models = profiles.PROFILES["quick"].clip.models  # two pairs with the pretrained MiniLM, one tiny-bert
    ns = _run_notebook("clip", tmp_path, monkeypatch, models=models)
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if line.startswith("skipped")]
    assert skipped == [line for line in skipped if "resnet18 + minilm, resnet34 + minilm: the text encoder 'minilm'"
                       in line and "dlcourse data fetch weights" in line] and len(skipped) == 1
    assert list(ns["runs"]) == ["resnet18 + tiny-bert"]
    assert "by model size" in out and "best prompt for resnet18 + tiny-bert" in out  # the last cell ran


def test_no_pair_left_is_an_error_that_says_why(no_weights):
    from dlcourse.clip import encoders

    lines = []
    assert encoders.pairs_with_text_weights((("resnet18", "tiny-bert"),), say=lines.append) == (("resnet18", "tiny-bert"),)
    assert lines == []
    with pytest.raises(WeightsNotFoundError, match=r"no model can be trained here: the text encoder 'minilm' needs"):
        encoders.pairs_with_text_weights((("resnet18", "minilm"),), say=lines.append)
