"""`dlcourse release`: the students' copy holds no answer and works without the reference; the Gradescope
bundle, unpacked into a temporary root, installs and grades submissions end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, reference_submission
from test_grading_report import validate

from dlcourse import parts, stubs
from dlcourse.errors import DlcourseError
from dlcourse.grading import core
from dlcourse.release import build, leaks, student

FILES = {p: [f"{m}.py" for m in mods] for p, mods in parts.MODULES.items()}
VISIBLE = [c for c in core.all_checks() if c.visibility == "visible"]
#: Subprocesses see neither this checkout (PYTHONPATH) nor the session's data/run folders.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DLCOURSE_"))}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """One release of this checkout (without the grading verification, which the bundle test repeats)."""
    out = tmp_path_factory.mktemp("release") / "hw3"
    return build(out, REPO, verify_grades=False)


def correct(root: Path, patches: dict | None = None) -> Path:
    """The reference's parts laid out like exercises/ (imports made relative, as the stubs have them)."""
    for pkg, files in FILES.items():
        reference_submission(root, pkg, files, (patches or {}).get(pkg))
    return root


def venv_on_this_environment(path: Path) -> Path:
    """A venv that sees this environment's packages (torch, pytest, setuptools) but not this checkout."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    py = path / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, env=ENV).stdout.strip()
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "base-environment.pth").write_text("\n".join(paths) + "\n")
    return py


def run(cmd, cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, env={**ENV, **env},
                          timeout=600)


# ------------------------------------------------------------------------------------ the students' copy
def test_student_copy_holds_the_harness_and_the_exercises_only(release):
    tree = release.out / "student"
    assert sorted(p.name for p in tree.iterdir()) == ["README.md", "dlcourse", "exercises", "pyproject.toml"]
    package = tree / "dlcourse"
    for pkg, files in FILES.items():
        assert (package / pkg / "__init__.py").is_file()
        assert not [f for f in files if (package / pkg / f).exists()], pkg
    for gone in ("grading/hidden", "grading/keys", "release"):
        assert not (package / gone).exists(), gone
    for kept in ("cli.py", "parts.py", "grading/core.py", "grading/sandbox.py", "grading/batch.py", "grading/gan.py",
                 "gan/train.py", "clip/train.py", "minimax/dynamics.py", "data/fashion_mnist.py", "gan/spec.py",
                 "grading/answer_key.pt"):
        assert (package / kept).is_file(), kept
    assert not [p for p in tree.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    # exercises/ is exactly what `dlcourse exercises` generates
    generated = {f.rel.as_posix(): f.text for f in stubs.generate(REPO)}
    shipped = {p.relative_to(tree / "exercises").as_posix(): p.read_text() for p in (tree / "exercises").rglob("*")
               if p.is_file()}
    assert shipped == generated
    assert (tree / "README.md").read_text() == student.README.read_text()
    mine, theirs = tomllib_project(REPO), tomllib_project(tree)
    assert (theirs["name"], theirs["dependencies"], theirs["optional-dependencies"], theirs["scripts"]) == \
           (mine["name"], mine["dependencies"], mine["optional-dependencies"], mine["scripts"])
    record = json.loads((release.out / "release.json").read_text())
    assert record["sizes"] == release.sizes and record["torch"] == release.info["torch"]


def test_the_students_readme_holds_the_install_lines(release):
    lines = student.install_lines(release.out / "student" / "README.md")
    assert lines == ["python3 -m venv .venv",
                     '.venv/bin/python -m pip install -e ".[test]" && .venv/bin/dlcourse data fetch all']
    assert "test" in tomllib_project(release.out / "student")["optional-dependencies"]
    broken = release.out.parent / "README.md"
    broken.write_text("# no markers\n")
    with pytest.raises(DlcourseError, match="no `<!-- ci:student-install"):
        student.install_lines(broken)


def tomllib_project(tree: Path) -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((tree / "pyproject.toml").read_text())["project"]


def test_no_answer_line_ships(release):
    answers = leaks.answer_lines(REPO)
    sources = {a.source.split(":")[0].split(",")[0] for a in answers}
    assert len(answers) > 150 and {"solutions/minimax.md", "solutions/clip.md", "solutions/gan.md",
                                   "dlcourse/gan/step.py", "dlcourse/clip/loss.py"} <= sources, sources
    found = leaks.scan(release.out / "student", answers)
    assert found == [] and leaks.KNOWN == (), found  # none, not even accepted ones
    assert release.known_leaks == []


def _same(a, b) -> bool:
    """Equal data, tensors included (their values, dtypes and shapes)."""
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and \
            a.shape == b.shape and bool(torch.equal(a, b) or torch.allclose(a, b, rtol=0, atol=0, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)  # nan


def test_the_stored_answer_keys_are_the_key_functions(release):
    """The students' copy holds the key of every visible check - the values the key functions compute now - and
    no hidden check's."""
    import torch

    stored = torch.load(release.out / "student" / "dlcourse" / "grading" / "answer_key.pt", weights_only=True)
    live = core.stored_answer_keys(VISIBLE)
    assert set(stored["keys"]) == {c.id for c in VISIBLE if c.key} == set(live["keys"])
    assert all(c.key for c in VISIBLE if c.id[0] in "12") and {c.id for c in VISIBLE if c.key} >= {"3c", "3d"}
    for cid, entry in stored["keys"].items():
        assert _same(entry, live["keys"][cid]), cid
    size = (release.out / "student" / "dlcourse" / "grading" / "answer_key.pt").stat().st_size
    assert size < 2 << 20, size  # it ships to every student


VISIBLE_JUDGES = """
import importlib.util, sys
from pathlib import Path

import dlcourse
from dlcourse.grading import core

assert Path(dlcourse.__file__).parents[1] == Path(sys.argv[1]), dlcourse.__file__
assert importlib.util.find_spec("dlcourse.grading.keys") is None
assert importlib.util.find_spec("dlcourse.grading.hidden") is None
sub = core.Submission(sys.argv[2])
checks = core.all_checks()
assert {c.visibility for c in checks} == {"visible"}
for check in checks:
    observations = core.decode_observations(core.encode_observations(check.resolve()(sub)))
    verdict = check.resolve_judge()(observations)
    assert getattr(verdict, "fraction", 1.0) == 1.0, (check.id, verdict)
assert not [m for m in sys.modules if m.startswith(("dlcourse.grading.keys", "dlcourse.grading.hidden"))]
print(len(checks), "visible checks judged without the key package")
"""


def test_the_students_copy_judges_without_the_key_package(release, tmp_path):
    """The students' copy as it is (not installed): every visible probe on correct parts, then its judge, with the
    stored keys only - no key function, no hidden check, no reference part is there to import."""
    proc = run([sys.executable, "-c", VISIBLE_JUDGES, release.out / "student", correct(tmp_path / "mine")], tmp_path,
               PYTHONPATH=str(release.out / "student"))
    assert proc.returncode == 0 and f"{len(VISIBLE)} visible checks judged" in proc.stdout, proc.stderr[-3000:]


def test_the_scan_finds_planted_answer_lines(release, tmp_path):
    answers = leaks.answer_lines(REPO)
    code = next(a for a in answers if a.source.startswith("dlcourse/clip/loss.py"))  # a line of a solution region
    cell = next(a for a in answers if "solution cell" in a.source and '"' in a.text)  # quotes: escaped in JSON
    prose = next(a for a in answers if a.source.startswith("solutions/minimax.md:") and " " in a.text)
    tree = shutil.copytree(release.out / "student", tmp_path / "student")
    with open(tree / "dlcourse" / "gan" / "train.py", "a") as f:  # re-indented and re-spaced
        f.write("\ndef helper():\n        " + code.text.replace(" ", "  ") + "\n")
    nb = json.loads((tree / "exercises" / "notebooks" / "clip.ipynb").read_text())
    nb["cells"][-1]["source"] = ["x = 1\n", cell.text + "\n"]
    (tree / "exercises" / "notebooks" / "clip.ipynb").write_text(json.dumps(nb, indent=1))
    with zipfile.ZipFile(tree / "extra.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes/answers.md", f"# notes\n{prose.text}\n")
    found = {(leak.path, leak.line) for leak in leaks.unexpected(leaks.scan(tree, answers))}
    assert found == {("dlcourse/gan/train.py", code), ("exercises/notebooks/clip.ipynb", cell),
                     ("extra.zip!notes/answers.md", prose)}, found


@pytest.mark.parametrize("line, trivial", [
    ("return x", True), (")", True), ("else:", True), ("$$", True), ("loss.backward()", True),
    ("with torch.no_grad():", True), ("fake = generator(noise)", True), ("\\begin{aligned}", True),
    ("r = 1 - 8 * eta", False), ("return F.normalize(y, dim=-1)", False),
    ("# the logits are scaled by exp(t) before the softmax", False),
    ("A saddle point is first of all a critical point:", False),
])
def test_what_counts_as_trivial(line, trivial):
    assert leaks.is_trivial(line) is trivial


def test_release_refuses_without_touching_anything(release, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DlcourseError, match="already holds files"):
        build(out, REPO, verify_grades=False)
    with pytest.raises(DlcourseError, match="holds the repository"):
        build(REPO.parent, REPO, verify_grades=False, force=True)
    with pytest.raises(DlcourseError, match="not a dlcourse source checkout"):
        build(tmp_path / "x", release.out / "student", verify_grades=False)
    answer = leaks.answer_lines(REPO)[0]
    real = student.write

    def leaky(repo, dest):  # a harness file that quotes an answer line
        done = real(repo, dest)
        with open(dest / "dlcourse" / "profiles.py", "a") as f:
            f.write(f"\n# {answer.text}\n")
        return done

    monkeypatch.setattr(student, "write", leaky)
    with pytest.raises(DlcourseError, match=r"would hold 1 lines of the answers; nothing was released:\n"
                                            r"  dlcourse/profiles.py: "):
        build(out, REPO, verify_grades=False, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and [p.name for p in out.iterdir()] == ["keep.txt"]
    monkeypatch.setattr(student, "write", real)
    build(out, REPO, verify_grades=False, force=True)  # --force replaces it once the new release is complete
    assert sorted(p.name for p in out.iterdir()) == ["autograder.zip", "release.json", "student"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_verify_grades_the_reference_and_the_stubs(release, monkeypatch):
    from dlcourse.release import verify

    p1 = core.all_checks(["1"])
    monkeypatch.setattr(core, "all_checks", lambda problems=None: p1)
    verify(REPO, release.out / "student" / "exercises")  # reference full marks, stubs 0
    with pytest.raises(DlcourseError, match="the untouched stubs score 5"):
        verify(REPO, correct(release.out.parent / "correct"))


@pytest.mark.slow
def test_student_copy_installs_and_checks_without_the_reference(release, tmp_path):
    """Installed in a fresh venv (this environment's packages, not this checkout): no reference is importable,
    `pytest exercises` runs the visible checks only, and they judge a correct solution correct."""
    tree = shutil.copytree(release.out / "student", tmp_path / "student")
    py = venv_on_this_environment(tmp_path / "venv")
    proc = run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed",
                "."], tree)
    assert proc.returncode == 0, proc.stderr
    probe = run([py, "-c", "import dlcourse, importlib.util as u; from dlcourse import parts; "
                 "print(dlcourse.__file__, parts.has_reference('gan'), parts.has_reference('minimax'), "
                 "*(u.find_spec(m) for m in ('dlcourse.gan.model', 'dlcourse.clip.step', 'dlcourse.grading.hidden', "
                 "'dlcourse.grading.keys', 'dlcourse.release')))"], tmp_path)
    assert probe.stdout.split() == [str(tmp_path / "venv" / "lib" / f"python{sys.version_info.major}."
                                        f"{sys.version_info.minor}" / "site-packages" / "dlcourse" / "__init__.py"),
                                    "False", "False", "None", "None", "None", "None", "None"], probe
    site = Path(probe.stdout.split()[0]).parent
    assert (site / "grading" / "answer_key.pt").is_file()  # installed with the package: the visible judges need it
    reference = run([py, "-m", "dlcourse.cli", "grade", "--reference"], tree)
    assert reference.returncode == 2 and "students' release" in reference.stderr, reference

    correct(tmp_path / "mine")
    shutil.copytree(tmp_path / "mine", tree / "exercises", dirs_exist_ok=True)
    tests = run([py, "-m", "pytest", "exercises", "-q", "-p", "no:cacheprovider"], tree)
    assert tests.returncode == 0 and f"{len(VISIBLE)} passed" in tests.stdout, tests.stdout[-3000:]

    shutil.copytree(release.out / "student" / "exercises" / "minimax", tree / "exercises" / "minimax",
                    dirs_exist_ok=True)  # Problem 1 back to the stubs, then check the zip a student uploads
    with zipfile.ZipFile(tmp_path / "submission.zip", "w") as zf:
        for f in sorted((tree / "exercises").rglob("*.py")):
            zf.write(f, "exercises/" + f.relative_to(tree / "exercises").as_posix())
    graded = run([py, "-m", "dlcourse.cli", "grade", tmp_path / "submission.zip", "--quiet"], tree)
    assert graded.returncode == 0 and re.search(r"Total\s+5/7.5$", graded.stdout.rstrip()), graded.stdout[-3000:]


# ------------------------------------------------------------------------------------ the Gradescope bundle
def test_bundle_layout(release):
    with zipfile.ZipFile(release.out / "autograder.zip") as zf:
        names = zf.namelist()
        assert names[:2] == ["setup.sh", "run_autograder"] and release.info["wheel"] in names
        assert all(stat.S_IMODE(zf.getinfo(n).external_attr >> 16) == 0o755 for n in names[:2])
        setup = zf.read("setup.sh").decode()
        with zipfile.ZipFile(zf.open(release.info["wheel"])) as wheel:
            held = set(wheel.namelist())
    assert f"torch=={release.info['torch']}" in setup and "@" + "TORCH@" not in setup
    assert {"dlcourse/grading/hidden/gan.py", "dlcourse/grading/keys/gan.py", "dlcourse/gan/step.py",
            "dlcourse/clip/loss.py", "dlcourse/minimax/saddle.py", "dlcourse/release/autograde.py"} <= held
    assert "dlcourse/grading/answer_key.pt" not in held  # the autograder computes its keys


@pytest.fixture(scope="module")
def autograder(release, tmp_path_factory):
    """The bundle installed as Gradescope does it, in a temporary root: the zip unpacked into source/,
    run_autograder copied to the root, setup.sh run (test mode: on this environment's packages)."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(release.out / "autograder.zip") as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)  # zipfile does not restore modes; Gradescope's unzip does
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    proc = run(["bash", root / "source" / "setup.sh"], root, AUTOGRADER_ROOT=str(root),
               DLCOURSE_AUTOGRADER_BASE_PYTHON=sys.executable)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "30 checks (15 hidden), 15 points" in proc.stdout, proc.stdout
    return root


def grade_upload(root: Path, fill) -> dict:
    """Put a submission into root/submission (``fill(folder)``), run run_autograder, return results.json."""
    for name in ("submission", "results"):
        shutil.rmtree(root / name, ignore_errors=True)
    (root / "submission").mkdir()
    fill(root / "submission")
    proc = run([root / "run_autograder"], root, AUTOGRADER_ROOT=str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    return results


def by_number(results: dict) -> dict[str, dict]:
    return {t["number"]: t for t in results["tests"]}


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="setup.sh restricts the reference only when run as root (as on Gradescope)")
def test_bundle_setup_hides_the_reference(autograder):
    site = next((autograder / "venv").rglob("site-packages/dlcourse"))
    for path in (site / "gan" / "step.py", site / "grading" / "hidden", site / "grading" / "keys", autograder / "source"):
        assert not path.stat().st_mode & 0o077, path  # root only: a probe's uid cannot read them
    assert (site / "grading" / "core.py").stat().st_mode & 0o004
    compiled = list((site / "gan" / "__pycache__").glob("step.*.pyc"))
    assert compiled and all(not p.stat().st_mode & 0o077 for p in compiled), compiled


@pytest.mark.slow
def test_bundle_grades_a_correct_submission_15_of_15(autograder, tmp_path):
    def unpacked_submission_zip(folder):  # what `dlcourse submit` zips, unpacked by Gradescope
        correct(folder / "exercises")

    results = grade_upload(autograder, unpacked_submission_zip)
    assert results["score"] == 15 and len(results["tests"]) == 30, results["output"]
    tests = by_number(results)
    assert all(t["status"] == "passed" for t in tests.values())
    assert {t["visibility"] for n, t in tests.items() if n.endswith("-hidden")} == {"after_due_date"}
    assert "Checks visible now: 7.5/7.5" in results["output"]


@pytest.mark.slow
def test_bundle_gives_0_to_a_submission_that_reexports_the_reference(autograder):
    def zipped_reexports(folder):  # submission.zip uploaded as it is
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            for pkg, files in FILES.items():
                for f in files:
                    zf.writestr(f"exercises/{pkg}/{f}", f"from dlcourse.{pkg}.{f[:-3]} import *  # noqa: F403\n")

    results = grade_upload(autograder, zipped_reexports)
    assert results["score"] == 0
    for t in results["tests"]:
        assert "imports the reference implementation dlcourse." in t["output"], t
        assert "not available while grading" in t["output"], t


@pytest.mark.slow
def test_bundle_grades_a_broken_flat_upload_part_by_part(autograder, tmp_path):
    """Files uploaded flat (two model.py and two step.py, renamed by the browser), with Problem 1 half done,
    a syntax error in the CLIP loss and the GAN files untouched stubs."""
    work = correct(tmp_path / "work", patches={"minimax": {"saddle.py": [
        ("g0 = np.asarray(game.grad(0.0, 0.0), dtype=float)", "raise NotImplementedError('critical_point')")]}})
    (work / "clip" / "loss.py").write_text((work / "clip" / "loss.py").read_text() + "\ndef broken(:\n")
    for f in FILES["gan"]:
        shutil.copyfile(REPO / "exercises" / "gan" / f, work / "gan" / f)

    def flat(folder):
        for pkg in ("minimax", "clip", "gan"):  # the GAN's model.py and step.py arrive second: "model (1).py"
            for f in FILES[pkg]:
                name = f if not (folder / f).exists() else f.replace(".py", " (1).py")
                shutil.copyfile(work / pkg / f, folder / name)

    results = grade_upload(autograder, flat)
    tests = by_number(results)
    assert (tests["1a"]["score"], tests["1a"]["extra_data"]["status"]) == (0.25, "partial"), tests["1a"]["output"]
    assert "1 of 2 cases passed" in tests["1a"]["output"] and "critical_point" in tests["1a"]["output"]
    assert [tests[n]["score"] for n in ("1b", "1c", "1d1", "1d2", "2a", "2c", "2d")] == [0.5] * 7
    assert tests["2b"]["score"] == 0 and "SyntaxError" in tests["2b"]["output"], tests["2b"]["output"]
    for n in ("3a", "3b", "3c", "3d", "3e"):
        assert tests[n]["score"] == 0 and "not implemented" in tests[n]["output"].lower(), tests[n]["output"]
    assert results["output"].startswith("Note: files uploaded flat, placed as ") and "model (1).py -> gan/model.py" \
        in results["output"], results["output"]
    assert 0 < results["score"] < 10


@pytest.mark.slow
def test_bundle_says_why_an_upload_cannot_be_graded(autograder):
    results = grade_upload(autograder, lambda folder: (folder / "homework.pdf").write_bytes(b"%PDF-1.4"))
    assert results["score"] == 0 and results["output"].startswith("Your submission could not be graded: no homework "
                                                                    "file found"), results["output"]
