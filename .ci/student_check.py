#!/usr/bin/env python3
"""What a student does, start to end, on a fresh copy of the students' release; any deviation fails CI.

1. copy the project a student gets (``--project``: the ``student/`` folder ``dlcourse release OUT``
   writes; a git checkout is copied as its tracked and untracked-but-not-ignored files) into a
   temporary folder, as the student's unzipped copy;
2. run its README's install lines there, exactly as written, one by one (the lines between
   ``<!-- ci:student-install`` and ``<!-- /ci:student-install -->``, read by
   :func:`dlcourse.release.student.install_lines`), each in its own bash, with no virtual
   environment active and no project variables set: a fresh environment, the data and the weights;
3. write a correct submission into the copy's ``exercises/``: the reference's part modules with the
   imports between them made relative (as the stub generator writes them), and the student notebooks
   with their answer cells filled from the solutions (``dlcourse.stubs.student_notebook_text(...,
   keep_answers=True)``); both come from ``--answers-from`` (default this checkout), since a
   release holds no answers;
4. ``pytest exercises`` with the environment's pytest (what the README says to check the code with);
5. execute ``exercises/notebooks/{minimax,clip,gan}.ipynb`` with the environment's ``jupyter nbconvert
   --execute`` (the README's hand-in command, one notebook at a time), from that folder so that
   ``parts.mine`` finds the submission, under the quick profile, with a fresh runs folder;
6. assert: no cell shows an error or NotImplementedError, nothing was skipped for missing weights (the
   install fetched them), the kernel was the environment's, and every run folder's ``metrics.json``
   names the copy's ``exercises/`` as the parts that ran.

The data root is shared ($DLCOURSE_DATA, or the user cache like every nox session): FashionMNIST,
the stand-in, the weights, the judge classifier and the FID reference statistics are made once per
machine, not per check. Executed notebooks, logs and ``timings.json`` (wall-clock and CPU seconds of
each step) go to ``--out`` (default ``build/student-check``). Standard library only: it runs with any
``python3``.

    dlcourse release build/ci-release --force --no-verify
    python3 .ci/student_check.py --project build/ci-release/student
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("minimax", "clip", "gan")
#: Not copied from a folder without git (a release): build products and environments.
IGNORE = (".git", ".venv", ".nox", "__pycache__", "build", "_build", ".jupyter_cache", "*.egg-info", ".runs",
          ".pytest_cache", ".ruff_cache", "runs", "submission.pdf", "submission.zip")
#: Variables of the CI's own environments that a student's shell does not have.
DROP = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX", "DLCOURSE_SUBMISSION", "DLCOURSE_RUNS",
        "DLCOURSE_RUNS_BASE", "DLCOURSE_PROFILE", "DLCOURSE_SOURCE_FINGERPRINT", "DLCOURSE_COMMIT", "MPLBACKEND",
        "DLCOURSE_TEST_MARKER")
#: Lines a notebook prints when it leaves something out for missing weights (it must not, after the install).
DEGRADED = ("FID skipped", "skipped resnet", "needs its pretrained weights")

START = time.monotonic()


class CheckFailed(Exception):
    """The student's path broke: the message says where, and what to look at."""


def stamp(msg: str) -> None:
    print(f"[student-check] {time.monotonic() - START:5.0f} s: {msg}", flush=True)


def readme_lines(readme: Path, answers: Path) -> list[str]:
    """The install lines of a students' README, read by ``dlcourse.release.student.install_lines`` of the
    ``answers`` checkout (the one parser of those markers; it needs no third-party package)."""
    code = ("import sys; from pathlib import Path; from dlcourse.release.student import install_lines; "
            "print('\\n'.join(install_lines(Path(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, str(readme)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(answers)})
    if out.returncode != 0:
        raise CheckFailed(f"reading the install lines of {readme} failed: {out.stderr.strip()[-800:]}")
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    if not lines:
        raise CheckFailed(f"{readme}: no command between its ci:student-install markers")
    return lines


def copy_project(src: Path, dest: Path) -> None:
    """``src`` as a student gets it: a git checkout's files (tracked, and untracked ones git does not
    ignore), or a plain folder minus :data:`IGNORE`."""
    if (src / ".git").exists():
        listed = subprocess.run(["git", "-C", str(src), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, check=True).stdout.decode().split("\0")
        for rel in filter(None, listed):
            path = src / rel
            if path.is_file():  # a file deleted but not yet committed is listed too
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest / rel)
    else:
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*IGNORE))


def student_env(runs: Path) -> dict[str, str]:
    """The environment of a student's fresh shell: no virtual environment on PATH, no project variables."""
    env = {k: v for k, v in os.environ.items() if k not in DROP}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not (Path(p).parent / "pyvenv.cfg").is_file())
    env.update(DLCOURSE_RUNS=str(runs), DLCOURSE_PROFILE="quick", PYTHONUNBUFFERED="1")
    return env


#: CPU seconds (user + system) of each step's processes, beside the wall-clock seconds: on a shared
#: machine the wall clock depends on the load, the CPU time much less.
CPU: dict[str, float] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout: float, what: str) -> float:
    """Run ``cmd`` with its output in ``log``; seconds it took; :class:`CheckFailed` with the log's tail.

    The command gets a process group of its own, killed whole on a timeout or when this check is
    stopped, so no pip or kernel outlives it.
    """
    t0, cpu0 = time.monotonic(), _children_cpu()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"{what}: still running after {timeout:.0f} s (log: {log})") from None
        finally:
            try:  # also after a normal exit: what the command left running in its group (a kernel)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            CPU[what] = _children_cpu() - cpu0  # the group's processes that the command waited for
    seconds = time.monotonic() - t0
    if returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        raise CheckFailed(f"{what} failed (exit {returncode}, log: {log}):\n{tail}")
    return seconds


SUBMISSION = r'''
import sys
from pathlib import Path

from dlcourse import stubs

answers, exercises = Path(sys.argv[1]), Path(sys.argv[2])
package = answers / "dlcourse"
modules = stubs.solution_modules(package)
for rel in modules:
    text = stubs.relative_imports((package / rel).read_text(encoding="utf-8"), rel, set(modules))
    (exercises / rel).write_text(text, encoding="utf-8")
for name in sys.argv[3:]:
    md = answers / "solutions" / f"{name}.md"
    notebook = stubs.student_notebook_text(md.read_text(encoding="utf-8"), md.name, keep_answers=True)
    (exercises / "notebooks" / f"{name}.ipynb").write_text(notebook, encoding="utf-8")
print(f"{len(modules)} part modules and {len(sys.argv) - 3} notebooks with answers written to {exercises}")
'''


def write_submission(python: Path, answers: Path, exercises: Path, env: dict[str, str], log: Path) -> float:
    """The reference parts and the answered notebooks of ``answers`` into ``exercises`` (run with the
    student environment's Python and ``answers`` first on the path, so a release's own dlcourse, which
    holds no reference code, is not what writes them)."""
    for rel in ("dlcourse", "solutions"):
        if not (answers / rel).is_dir():
            raise CheckFailed(f"--answers-from {answers} has no {rel}/: pass a dlcourse source checkout")
    return run([str(python), "-c", SUBMISSION, str(answers), str(exercises), *NOTEBOOKS], cwd=exercises,
               env={**env, "PYTHONPATH": str(answers)}, log=log, timeout=300, what="writing the correct submission")


def check_kernel(venv: Path, env: dict[str, str]) -> None:
    """The notebooks' kernel ``python3`` must be the fresh environment's (a user-wide kernelspec would win)."""
    out = subprocess.run([str(venv / "bin" / "jupyter"), "kernelspec", "list", "--json"], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise CheckFailed(f"`jupyter kernelspec list` failed in {venv}: {out.stderr.strip()[-500:]}\nDo the "
                          "README's student lines install jupyter (nbconvert) and ipykernel?")
    spec = json.loads(out.stdout)["kernelspecs"].get("python3")
    if spec is None or not Path(spec["resource_dir"]).resolve().is_relative_to(venv.resolve()):
        raise CheckFailed(f"the kernel 'python3' is not the fresh environment's: {spec and spec['resource_dir']} "
                          f"(expected inside {venv}); a user-wide kernelspec shadows it")


def notebook_problems(path: Path) -> list[str]:
    """What is wrong in an executed notebook: unexecuted cells, errors, NotImplementedError, degradation."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for k, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        if cell["source"] and cell.get("execution_count") is None:
            problems.append(f"{path.name} code cell {k}: never executed")
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            if out["output_type"] == "error":
                problems.append(f"{path.name} code cell {k}: {out['ename']}: {out['evalue'][:300]}")
            elif "NotImplementedError" in text:
                problems.append(f"{path.name} code cell {k}: shows NotImplementedError")
            for line in text.splitlines():
                if any(d in line for d in DEGRADED):
                    problems.append(f"{path.name} code cell {k}: degraded although the install fetched the "
                                    f"weights: {line[:300]}")
    return problems


def wait_for(path: Path) -> float:
    """Wait until ``path`` exists; seconds waited (the caller is stopped, e.g. by CI, if it never comes)."""
    t0 = time.monotonic()
    if not path.exists():
        stamp(f"waiting for {path} before running the notebooks")
        while not path.exists():
            time.sleep(1)
    return time.monotonic() - t0


def run_problems(runs: Path, exercises: Path) -> tuple[list[str], dict[str, int]]:
    """Every run folder must record the copy's exercises/ as its parts; count the runs per problem."""
    problems, counts = [], {}
    for metrics in sorted(runs.rglob("metrics.json")):
        record = json.loads(metrics.read_text(encoding="utf-8"))
        kind = metrics.parent.name.split("-")[0]
        counts[kind] = counts.get(kind, 0) + 1
        parts = str(record.get("provenance", {}).get("parts", ""))
        if str(exercises) not in parts:
            problems.append(f"{metrics}: provenance parts {parts!r} is not the submission {exercises}")
        if not record.get("complete", False):
            problems.append(f"{metrics}: the run is not complete")
    for kind in ("gan", "clip"):
        if not counts.get(kind):
            problems.append(f"no {kind} run folder under {runs}: did the {kind} notebook train anything?")
    return problems, counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", type=Path, required=True,
                    help="the project a student gets: the student/ folder that `dlcourse release OUT` writes")
    ap.add_argument("--answers-from", type=Path, default=HERE, help="source checkout with the reference and the "
                    "solutions (default: this checkout)")
    ap.add_argument("--out", type=Path, default=HERE / "build" / "student-check",
                    help="executed notebooks, logs and timings.json (default: build/student-check)")
    ap.add_argument("--work", type=Path, help="work folder (default: a new temporary folder, removed at the end)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (the copy and its 6 GB environment)")
    ap.add_argument("--reuse", action="store_true", help="(developing this check) reuse the copy and environment "
                    "that --keep left in --work; the submission, the notebooks and the runs are made afresh")
    ap.add_argument("--remove-in-background", action="store_true",
                    help="remove the work folder in a detached process instead of waiting for it (CI)")
    ap.add_argument("--notebooks-after", type=Path, metavar="FILE",
                    help="start the notebooks only once FILE exists (CI: the install and pytest run beside the test "
                         "suite, the notebooks after it, so that two torch jobs do not fight over the cores)")
    ap.add_argument("--install-timeout", type=float, default=1200)
    ap.add_argument("--notebook-timeout", type=float, default=1800, help="seconds per notebook")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: clean up like on any other exit

    project, answers = args.project.resolve(), args.answers_from.resolve()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="dlcourse-student-"))
    copy, runs = work / "project", work / "runs"
    timings: dict[str, float] = {}
    try:
        env = student_env(runs)
        venv = copy / ".venv"
        python = venv / "bin" / "python"
        if args.reuse and python.is_file():
            stamp(f"reusing the installation in {copy} (--reuse); fresh runs folder {runs}")
            shutil.rmtree(runs, ignore_errors=True)
            runs.mkdir()
        else:
            if copy.exists():
                raise CheckFailed(f"{copy} exists: pass an empty --work folder")
            t0 = time.monotonic()
            copy_project(project, copy)
            runs.mkdir(parents=True)
            timings["copy project"] = time.monotonic() - t0
            lines = readme_lines(copy / "README.md", answers)
            for k, line in enumerate(lines, 1):
                stamp(f"README install line {k}, in {copy}: {line}")
                timings[f"install line {k}"] = run(["bash", "-euo", "pipefail", "-c", line], cwd=copy, env=env,
                                                   log=args.out / f"install-{k}.log", timeout=args.install_timeout,
                                                   what=f"the README's install line {k} ({line})")
            timings["install"] = sum(v for k, v in timings.items() if k.startswith("install line"))
            if not python.is_file():
                raise CheckFailed(f"the README's student lines made no virtual environment {venv}: the rest of this "
                                  "check runs the notebooks with its Python")
            size = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True).stdout.split()[0]
            stamp(f"installed: {venv} is {size} MB ({timings['install']:.0f} s)")
        exercises = copy / "exercises"
        timings["write submission"] = write_submission(python, answers, exercises, env, args.out / "submission.log")
        problems = []
        try:  # a failure here is reported with the notebooks' problems: they do not depend on it
            timings["pytest exercises"] = run([str(python), "-m", "pytest", "exercises", "-q", "-p", "no:cacheprovider"],
                                              cwd=copy, env=env, log=args.out / "pytest-exercises.log", timeout=600,
                                              what="pytest exercises on the correct submission")
            stamp(f"pytest exercises passed ({timings['pytest exercises']:.0f} s)")
        except CheckFailed as e:
            problems.append(str(e))
            stamp(f"FAILED: {e}")
        check_kernel(venv, env)
        if args.notebooks_after is not None:
            timings["waiting to run the notebooks"] = wait_for(args.notebooks_after)
        for name in NOTEBOOKS:
            nb = exercises / "notebooks" / f"{name}.ipynb"
            timings[f"notebook {name}"] = run(
                [str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--inplace",
                 f"--ExecutePreprocessor.timeout={int(args.notebook_timeout)}", nb.name],
                cwd=nb.parent, env=env, log=args.out / f"{name}.log", timeout=args.notebook_timeout + 60,
                what=f"executing {nb.relative_to(copy)}")
            shutil.copy2(nb, args.out / nb.name)
            problems += notebook_problems(nb)
            stamp(f"{nb.relative_to(copy)} executed ({timings[f'notebook {name}']:.0f} s)")
        more, counts = run_problems(runs, exercises)
        problems += more
        if problems:
            raise CheckFailed("the executed notebooks show problems:\n" + "\n".join("  " + p for p in problems))
        stamp(f"every cell ran without an error; run folders {counts}, each recording the parts of {exercises}")
        return 0
    except CheckFailed as e:
        stamp(f"FAILED: {e}")
        return 1
    finally:
        if args.keep:
            stamp(f"kept {work}")
        elif args.remove_in_background:
            # the copy's 6 GB were just written: deleting them took 34-155 s of disk I/O on the CI machine,
            # none of which the check needs to wait for
            subprocess.Popen(["rm", "-rf", str(work)], start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            stamp(f"removing {work} in the background")
        else:
            t0 = time.monotonic()
            shutil.rmtree(work, ignore_errors=True)
            timings["remove the copy"] = time.monotonic() - t0
        timings["total"] = time.monotonic() - START
        record = {"wall_s": {k: round(v, 1) for k, v in timings.items()},
                  "cpu_s": {k: round(v, 1) for k, v in CPU.items()}, "load_average": os.getloadavg(),
                  "cores": os.cpu_count()}
        (args.out / "timings.json").write_text(json.dumps(record, indent=1) + "\n")
        stamp(f"timings: {args.out / 'timings.json'}")


if __name__ == "__main__":
    sys.exit(main())
