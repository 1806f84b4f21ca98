"""The student's own code drives every run: a copied correct submission whose parts record each use
(a marker) is trained through the CLI (``--submission DIR``) and through the student notebooks' own
cells; the markers prove that the student's files ran, and the run records whose code it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import reference_submission

from dlcourse import parts, profiles, stubs
from dlcourse.cli import main
from dlcourse.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
MARK = '''from __future__ import annotations

import os as _os


def _mark(what):
    with open(_os.environ["DLCOURSE_TEST_MARKER"], "a") as f:
        f.write(what + "\\n")
'''
GAN_MARKS = {
    "model.py": [("from __future__ import annotations\n", MARK),
                 ("        return self.deconv(", "        _mark('Generator.forward')\n        return self.deconv(")],
    "losses.py": [("from __future__ import annotations\n", MARK),
                  ("    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))",
                   "    _mark('generator_loss')\n"
                   "    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))")],
}
CLIP_MARKS = {
    "model.py": [("from __future__ import annotations\n", MARK),
                 ("        h = self.proj(x)\n", "        _mark('ProjectionHead.forward')\n        h = self.proj(x)\n")],
    "loss.py": [("from __future__ import annotations\n", MARK),
                ("        logits_per_image = scale", "        _mark('ClipLoss.forward')\n        logits_per_image = scale")],
    "retrieval.py": [("from __future__ import annotations\n", MARK),
                     ("    return F.normalize(queries", "    _mark('similarity')\n    return F.normalize(queries")],
    "zeroshot.py": [("from __future__ import annotations\n", MARK),
                    ("    rows = []\n", "    _mark('class_embeddings')\n    rows = []\n")],
}


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "marker.txt"
    monkeypatch.setenv("DLCOURSE_TEST_MARKER", str(path))
    return lambda: set(path.read_text().split()) if path.exists() else set()


def _submission(root: Path) -> Path:
    """A folder laid out like exercises/ holding the marked copies of the GAN and CLIP parts."""
    reference_submission(root, "gan", ["model.py", "losses.py", "step.py"], GAN_MARKS, count=1)
    (root / "clip").mkdir()
    reference_submission(root / "_clip", "clip", ["model.py", "loss.py", "step.py", "retrieval.py", "zeroshot.py"],
                         CLIP_MARKS, count=1)
    for f in (root / "_clip" / "clip").iterdir():
        f.rename(root / "clip" / f.name)
    return root


def test_parts_come_from_the_folder_not_the_reference(tmp_path):
    sub = _submission(tmp_path / "sub")
    mine = parts.from_folder(sub, "gan")
    ref = parts.reference("gan")
    assert mine.model.Generator is not ref.model.Generator and Path(mine.model.__file__) == sub / "gan" / "model.py"
    assert Path(mine.step.__file__).parent == sub / "gan"
    assert mine.fingerprint != ref.fingerprint  # the markers changed the code
    assert "submission" in mine.describe() and str(sub) in mine.describe()
    with pytest.raises(ConfigError, match=r"has no gan/losses.py"):
        (sub / "gan" / "losses.py").rename(sub / "gan" / "losses.bak")
        parts.from_folder(sub, "gan")
    (sub / "gan" / "losses.bak").rename(sub / "gan" / "losses.py")
    (sub / "gan" / "step.py").write_text("def train_step(:\n")
    with pytest.raises(ConfigError, match=r"importing .*gan/step.py failed: SyntaxError"):
        parts.from_folder(sub, "gan")


def test_gan_cli_trains_the_submission(tmp_path, marker, capsys):
    sub = _submission(tmp_path / "sub")
    run = tmp_path / "run"
    assert main(["gan", "train", "--submission", str(sub), "--epochs", "1", "--subset", "64", "--snapshots", "1",
                 "--device", "cpu", "--out", str(run), "--quiet"]) == 0
    assert {"Generator.forward", "generator_loss"} <= marker()
    metrics = json.loads((run / "metrics.json").read_text())
    assert str(sub) in metrics["provenance"]["parts"] and metrics["complete"]
    # the same folder with the reference's code is another run: refused, never mixed
    assert main(["gan", "train", "--epochs", "1", "--subset", "64", "--snapshots", "1", "--device", "cpu",
                 "--out", str(run), "--resume", "--quiet"]) == 2
    assert "other settings (parts:" in capsys.readouterr().err


def test_clip_cli_trains_and_evaluates_the_submission(tmp_path, marker):
    sub = _submission(tmp_path / "sub")
    run = tmp_path / "run"
    assert main(["clip", "train", "--submission", str(sub), "--vision", "resnet18", "--text", "tiny-bert",
                 "--data", "standin", "--image-size", "32", "--epochs", "1", "--batch-size", "32",
                 "--train-images", "64", "--test-images", "32", "--device", "cpu", "--precision", "bf16",
                 "--out", str(run), "--quiet"]) == 0  # bf16: the mixed-precision (GPU) path, on a CPU
    assert {"ProjectionHead.forward", "ClipLoss.forward", "similarity", "class_embeddings"} <= marker()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["parts"]["source"] == str(sub) and metrics["precision"] == "bf16 autocast"


TINY = {
    "gan": dict(epochs=1, batch_sizes=(64,), train_subset=64, snapshot_epochs=(1,), fid_samples=0,
                classifier_samples=50, compare_subset=64, compare_epochs=1),
    "clip": dict(dataset="standin", image_size=32, epochs=1, batch_size=32, train_images=64, test_images=32,
                 models=(("resnet18", "tiny-bert"),), freeze_text=False),
}


def _notebook_cells(name: str) -> list[str]:
    """The student notebook's code cells, with the answer cells filled in from the solution notebook."""
    text = stubs.student_notebook_text((REPO / "solutions" / f"{name}.md").read_text(), f"{name}.md",
                                       keep_answers=True)
    return ["".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("problem,until,expected", [
    ("gan", "result = train(", {"Generator.forward", "generator_loss"}),
    ("clip", "runs[label] = train.train(", {"ProjectionHead.forward", "ClipLoss.forward", "similarity",
                                            "class_embeddings"}),
])
def test_student_notebook_cells_train_the_students_parts(tmp_path, marker, monkeypatch, problem, until, expected):
    """The notebook's own cells, run from exercises/notebooks/ (a tiny profile keeps it short)."""
    namespace, sub = run_notebook_cells(problem, tmp_path, monkeypatch, until=until)
    assert namespace[problem].source == str(sub)
    assert expected <= marker()


def run_notebook_cells(problem: str, tmp_path: Path, monkeypatch, *, until: str | None = None,
                       **profile) -> tuple[dict, Path]:
    """Run the code cells of the student notebook of ``problem`` in one namespace, from the
    ``notebooks/`` folder of a marked submission in ``tmp_path``, under the tiny profile (``profile``:
    settings to change in it); stop after the cell containing ``until``. Returns the namespace and
    the submission's folder."""
    import dataclasses

    import matplotlib

    matplotlib.use("Agg")
    sub = _submission(tmp_path / "exercises")
    (sub / "notebooks").mkdir()
    monkeypatch.chdir(sub / "notebooks")
    monkeypatch.delenv(parts.ENV_VAR, raising=False)
    monkeypatch.setenv("DLCOURSE_RUNS", str(tmp_path / "runs"))
    quick = profiles.PROFILES["quick"]
    tiny = dataclasses.replace(quick, **{problem: dataclasses.replace(getattr(quick, problem),
                                                                       **{**TINY[problem], **profile})})
    monkeypatch.setattr(profiles, "current", lambda name=None: tiny)
    namespace: dict = {}
    for source in _notebook_cells(problem):
        exec(compile(source.replace("plt.show()", "plt.close('all')"), f"<{problem}.ipynb>", "exec"), namespace)
        if until is not None and until in source:
            break
    else:
        if until is not None:
            pytest.fail(f"no cell of the {problem} notebook calls {until!r}")
    return namespace, sub


def test_notebooks_find_the_submission_from_where_they_run(tmp_path, monkeypatch):
    sub = _submission(tmp_path / "exercises")
    (sub / "notebooks").mkdir()
    monkeypatch.delenv(parts.ENV_VAR, raising=False)
    for here in (sub / "notebooks", sub, tmp_path):
        monkeypatch.chdir(here)
        assert parts.mine("gan").source == str(sub)
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(ConfigError, match="DLCOURSE_SUBMISSION"):
        parts.mine("gan")
    monkeypatch.setenv(parts.ENV_VAR, str(sub))
    assert parts.mine("clip").source == str(sub)
    assert os.environ[parts.ENV_VAR] == str(sub)


def test_without_the_reference_the_students_parts_run(tmp_path, monkeypatch):
    """The students' release ships no reference parts: the CLI's default is then the student's own."""
    sub = _submission(tmp_path / "exercises")
    monkeypatch.chdir(sub)
    monkeypatch.delenv(parts.ENV_VAR, raising=False)
    real = parts.importlib.util.find_spec
    monkeypatch.setattr(parts.importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("dlcourse.gan.") else real(name, *a))
    assert not parts.has_reference("gan") and parts.has_reference("clip")
    with pytest.raises(ConfigError, match=r"no reference implementation .* parts.mine\('gan'\)"):
        parts.reference("gan")
    assert parts.load("gan").source == str(sub)
    assert parts.load("clip").is_reference
