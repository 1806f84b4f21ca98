"""Time `dlcourse release` and the Gradescope bundle; size the students' copy and the bundle.

What it measures, on this checkout:

* ``dlcourse release`` with its verification (the reference graded on every check, the stubs
  graded), by phase; the sizes of ``student/`` and ``autograder.zip``. Baseline for the size: what
  students got before the release existed, the whole repository (its tracked files, answers and
  committed artifacts included).
* the bundle as Gradescope runs it, in a temporary root: ``setup.sh`` (test mode: a venv on this
  environment's packages, so no download is timed - on Gradescope the torch download dominates),
  then ``run_autograder`` on a correct and on an untouched (stub) submission. Baseline: the same
  correct submission graded by ``dlcourse grade`` in a fresh process of this environment.

Usage::

    python benchmarks/release.py

Root on Linux (the bundle's setup restricts the reference to root). The machine's load average is
printed: timings on a loaded machine are upper bounds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading_batch import reference_copy  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DLCOURSE_"))}


def timed(cmd, **kw) -> float:
    t = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t


def tracked_size(repo: Path) -> tuple[int, int]:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, text=True, check=True).stdout
    paths = [repo / f for f in files.split("\0") if f and (repo / f).is_file()]
    return len(paths), sum(p.stat().st_size for p in paths)


def main() -> None:
    from dlcourse.io import device_name
    from dlcourse.release import build

    mib = 1 << 20
    print(f"device: {device_name()}; load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        rel = build(tmp / "release", REPO)
        total = time.perf_counter() - t
        print(f"dlcourse release: {total:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in rel.seconds.items())})")
        n, size = tracked_size(REPO)
        print(f"student/: {rel.sizes['student_files']} files, {rel.sizes['student_bytes'] / mib:.2f} MiB "
              f"(baseline, the whole repository: {n} files, {size / mib:.2f} MiB)")
        print(f"autograder.zip: {rel.sizes['autograder_bytes'] / mib:.2f} MiB (wheel {rel.info['wheel_bytes'] / mib:.2f} MiB)")

        root = tmp / "autograder"
        with zipfile.ZipFile(rel.out / "autograder.zip") as zf:
            zf.extractall(root / "source")
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        (root / "run_autograder").chmod(0o755)
        env = {**ENV, "AUTOGRADER_ROOT": str(root)}
        setup = timed(["bash", root / "source" / "setup.sh"], env={**env, "DLCOURSE_AUTOGRADER_BASE_PYTHON": sys.executable})
        print(f"setup.sh (test mode, no download): {setup:.1f} s")
        correct = tmp / "correct"
        reference_copy(correct / "exercises")
        rows = {}
        for name, fill in (("correct", lambda d: shutil.copytree(correct, d)),
                           ("untouched stubs", lambda d: shutil.copytree(rel.out / "student" / "exercises", d))):
            shutil.rmtree(root / "submission", ignore_errors=True)
            fill(root / "submission")
            rows[name] = timed([root / "run_autograder"], env=env)
        baseline = timed([sys.executable, "-m", "dlcourse.cli", "grade", correct / "exercises", "--quiet"],
                         env={**ENV, "PYTHONPATH": str(REPO)})
        for name, s in rows.items():
            print(f"run_autograder, {name}: {s:.1f} s")
        print(f"baseline, dlcourse grade of the correct submission in a fresh process: {baseline:.1f} s")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
