"""Grading a class: layouts (submission.zip, top folder, flat files with shared names), hostile or broken
submissions refused or contained in their own row, the gradebook and one results.json per student."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import reference_submission

from dlcourse.cli import main
from dlcourse.grading import batch, core

PACKAGES = {"minimax": ["saddle.py", "steps.py", "convergence.py"], "clip": ["model.py", "loss.py", "step.py",
            "retrieval.py", "zeroshot.py"], "gan": ["model.py", "losses.py", "step.py"]}
P1 = [dataclasses.replace(c, timeout=3) for c in core.all_checks(["1"])]  # short timeouts: one student hangs


def reference_tree(root: Path, packages=("minimax",), patches=None) -> Path:
    for pkg in packages:
        reference_submission(root, pkg, PACKAGES[pkg], (patches or {}).get(pkg))
    return root


def zip_tree(tree: Path, zip_path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(tree.rglob("*.py")):
            zf.write(f, prefix + f.relative_to(tree).as_posix())
    return zip_path


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """A class of nine: correct, wrong, stub, refused and hostile submissions, graded on Problem 1."""
    tmp = tmp_path_factory.mktemp("class")
    work, cls = tmp / "work", tmp / "class"
    work.mkdir()
    cls.mkdir()
    reference_tree(cls / "alice")  # package layout, a folder
    zip_tree(reference_tree(work / "bob"), cls / "bob.zip", prefix="bob_hw3/")  # submission.zip in a top folder
    flat = reference_tree(work / "carol", patches={"minimax": {"steps.py": [("y + eta * gy", "y - eta * gy")]}})
    (cls / "carol").mkdir()
    for f in flat.rglob("*.py"):  # uploaded flat: gda_step is wrong
        if f.name != "__init__.py":
            (cls / "carol" / f.name).write_bytes(f.read_bytes())
    with zipfile.ZipFile(cls / "dave.zip", "w") as zf:  # zip-slip
        zf.writestr("../../escaped.py", "X = 1\n")
    with zipfile.ZipFile(cls / "erin.zip", "w", zipfile.ZIP_DEFLATED) as zf:  # a bomb: 30 MB of zeros
        zf.writestr("minimax/steps.py", "#" + "0" * (30 << 20))
    (cls / "frank.zip").write_bytes(b"this is not a zip")
    (cls / "grace" / "minimax").mkdir(parents=True)  # hangs when imported
    (cls / "grace" / "minimax" / "steps.py").write_text("while True:\n    pass\n")
    (cls / "grace" / "minimax" / "saddle.py").write_text("import os\nos._exit(3)\n")  # dies when imported
    (cls / "heidi.txt").write_text("my homework is in the PDF")
    (cls / "ivan" / "minimax").mkdir(parents=True)  # a link to a file it may not read, and a stub
    os.symlink("/etc/passwd", cls / "ivan" / "minimax" / "steps.py")
    (cls / "ivan" / "minimax" / "convergence.py").write_text("def gd_reaches_saddle(x0, y0, eta):\n"
                                                              "    raise NotImplementedError\n")
    (cls / ".DS_Store").write_text("")  # not a student
    gradebook = tmp / "gradebook.csv"
    rows = batch.grade_class(cls, gradebook, P1, progress=False)
    return {r.student: r for r in rows}, gradebook, tmp / "gradebook-results"


def test_every_student_has_a_row_and_results(graded_class):
    rows, gradebook, results = graded_class
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]
    with open(gradebook, newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["student"] for r in table] == sorted(rows)
    assert list(table[0]) == ["student", *(c.id for c in P1), "total", "status", "note"]
    for name in rows:
        data = json.loads((results / name / "results.json").read_text())
        assert len(data["tests"]) == len(P1) and data["score"] == rows[name].total


def test_correct_submissions_score_full_marks_in_any_layout(graded_class):
    rows = graded_class[0]
    for name in ("alice", "bob"):
        assert (rows[name].total, rows[name].status) == (5.0, "passed"), (name, rows[name])


def test_flat_files_are_placed_and_graded(graded_class):
    carol = graded_class[0]["carol"]
    assert carol.scores["1b"] == 0.25 and carol.scores["1a"] == 0.5 and carol.total == 4.5, carol
    assert "steps.py -> minimax/steps.py" in carol.note


@pytest.mark.parametrize("name,words", [
    ("dave", "outside the zip's own folder"),
    ("erin", "larger than 2 MiB"),
    ("frank", "not a readable zip"),
    ("heidi", "neither a folder nor a .zip"),
])
def test_bad_files_are_refused_in_their_own_row(graded_class, name, words):
    rows, _, results = graded_class
    assert rows[name].status == "refused" and rows[name].total == 0 and words in rows[name].note, rows[name]
    data = json.loads((results / name / "results.json").read_text())
    assert words in data["tests"][0]["output"]
    assert not (results.parent.parent / "escaped.py").exists()


def test_hangs_and_crashes_cost_their_own_checks_only(graded_class):
    grace = graded_class[0]["grace"]
    assert grace.total == 0 and grace.status == "crashed", grace
    data = json.loads((graded_class[2] / "grace" / "results.json").read_text())
    statuses = {t["number"]: t["extra_data"]["status"] for t in data["tests"]}
    assert statuses["1b"] == "timeout" and statuses["1a"] == "crashed", statuses
    assert grace.seconds < 3 * 4 + 30  # four checks import steps.py, each stopped at its 3 s timeout


def test_links_are_not_followed(graded_class):
    ivan = graded_class[0]["ivan"]
    assert ivan.total == 0 and "root:" not in json.dumps(ivan.note)
    data = json.loads((graded_class[2] / "ivan" / "results.json").read_text())
    assert "root:" not in json.dumps(data)
    assert "expected the file" in {t["number"]: t for t in data["tests"]}["1b"]["output"]  # steps.py: not there


def test_shared_names_are_told_apart_by_what_they_define(tmp_path):
    ref = reference_tree(tmp_path / "ref", packages=("clip", "gan"))
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "model.py").write_bytes((ref / "gan" / "model.py").read_bytes())
    (flat / "model (1).py").write_bytes((ref / "clip" / "model.py").read_bytes())
    (flat / "step.py").write_bytes((ref / "clip" / "step.py").read_bytes())
    out = tmp_path / "out"
    notes = batch.layout(flat, out)
    assert (out / "gan" / "model.py").read_bytes() == (ref / "gan" / "model.py").read_bytes()
    assert (out / "clip" / "model.py").read_bytes() == (ref / "clip" / "model.py").read_bytes()
    assert (out / "clip" / "step.py").is_file() and not (out / "gan" / "step.py").exists()
    assert "model (1).py -> clip/model.py" in notes[0]


def test_the_generated_stubs_uploaded_flat_are_told_apart(generated_stubs, tmp_path):
    for pkg in ("clip", "gan"):
        for name in ("model.py", "step.py"):
            flat = tmp_path / f"{pkg}-{name}"
            flat.mkdir()
            (flat / name).write_bytes((generated_stubs / pkg / name).read_bytes())
            batch.layout(flat, tmp_path / f"out-{pkg}-{name}")
            assert (tmp_path / f"out-{pkg}-{name}" / pkg / name).is_file()


def test_a_file_that_fits_no_problem_is_refused_with_the_choices(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "model.py").write_text("def helper():\n    return 1\n")
    with pytest.raises(batch.Refused, match=r"could not tell where model.py belongs: clip/model.py \(defines .*\) "
                                            r"or gan/model.py \(defines .*Discriminator"):
        batch.layout(flat, tmp_path / "out")


def test_cli_batch_prints_a_summary(tmp_path, capsys):
    cls = tmp_path / "class"
    reference_tree(cls / "zoe")
    (cls / "yann.zip").write_bytes(b"PK\x03\x04 broken")
    assert main(["grade", "--problem", "1", "--batch", str(cls), "--csv", str(tmp_path / "gb.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 submissions: 1 graded, 1 refused" in out and "mean 5.00" in out and "yann: refused" in out
    assert (tmp_path / "gb-results" / "zoe" / "results.json").is_file()
    assert main(["grade", "--batch", str(cls)]) == 2  # no --csv: a clear error


def test_cli_grades_a_submission_zip(tmp_path, capsys):
    z = zip_tree(reference_tree(tmp_path / "t"), tmp_path / "submission.zip", prefix="hw3/")
    assert main(["grade", str(z), "--problem", "1", "--quiet", "--fail-under", "5"]) == 0
    assert "Total" in capsys.readouterr().out
