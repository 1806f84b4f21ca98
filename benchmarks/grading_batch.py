"""Time grading a class: seconds per correct, untouched (stub) and hung submission, every check sandboxed.

Side by side with the naive baseline: the same correct submission graded in one process with no
isolation at all (``isolate=False``, one torch thread as in a probe: what grading costs without a
process, timeout or sandbox per check). The class is built in a temporary folder: ``--correct N`` copies of the reference (as a
student would hand it in, imports made relative), one copy of the generated stubs, and one
submission that hangs in every file of Problem 1 (``while True: pass`` at import), graded on
Problem 1 only - a hung file costs each check that imports it its timeout, so the hung time is
bounded by the sum of those timeouts (printed). Usage::

    python benchmarks/grading_batch.py [--correct 3] [--no-hung]

Budget (STANDARDS.md): grading one submission <= 15 s on the 2-core CPU. The machine's load average
is printed before and after: timings on a loaded machine are upper bounds.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"minimax": ["saddle.py", "steps.py", "convergence.py"],
            "clip": ["model.py", "loss.py", "step.py", "retrieval.py", "zeroshot.py"],
            "gan": ["model.py", "losses.py", "step.py"]}


def reference_copy(root: Path) -> None:
    """The reference part files laid out like a submission, imports between them made relative."""
    from dlcourse import stubs

    copied = {Path(p) / f for p, files in PACKAGES.items() for f in files}
    for rel in copied:
        text = stubs.relative_imports((REPO / "dlcourse" / rel).read_text(), rel, copied)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--correct", type=int, default=3)
    p.add_argument("--no-hung", action="store_true")
    args = p.parse_args()

    from dlcourse import stubs
    from dlcourse.grading import batch, core, sandbox
    from dlcourse.io import device_name

    print(f"device: {device_name()}; load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    checks = core.all_checks()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cls = tmp / "class"
        for i in range(args.correct):
            reference_copy(cls / f"correct{i + 1}")
        for f in stubs.stub_modules():
            (cls / "stub" / f.rel).parent.mkdir(parents=True, exist_ok=True)
            (cls / "stub" / f.rel).write_text(f.text)

        t0 = time.perf_counter()
        core.run_check(checks[0], core.Submission(cls / "stub"))  # start the check server (imports torch once)
        print(f"check server start: {time.perf_counter() - t0:.1f} s (once per batch)")

        rows = batch.grade_class(cls, tmp / "gradebook.csv", checks, progress=False)
        for r in rows:
            print(f"  {r.student:<10} {r.total:>5g}/15  {r.status:<16} {r.seconds:6.1f} s")
        correct = [r.seconds for r in rows if r.student.startswith("correct")]
        print(f"correct submission: {sum(correct) / len(correct):.1f} s ({len(checks)} checks, each in its own sandboxed "
              "process)")
        print(f"stub submission:    {next(r.seconds for r in rows if r.student == 'stub'):.1f} s")

        import torch

        torch.set_num_threads(1)  # as in each probe's process
        t0 = time.perf_counter()
        naive = core.Report(core.grade(cls / "correct1", checks, isolate=False))
        print(f"naive baseline (same correct submission, one process, no isolation): {time.perf_counter() - t0:.1f} s, "
              f"score {naive.score:g}")
        capped = [dataclasses.replace(c, memory_gib=1.25) for c in checks]
        tight = core.Report(core.grade(cls / "correct1", capped))
        print(f"correct submission under a 1.25 GiB memory cap (torch alone takes ~0.9): {tight.score:g}/15, worst "
              f"status {tight.status}")
        layers = core.run_check(checks[0], core.Submission(cls / "stub")).sandbox
        print("sandbox layers here: " + "; ".join(layers))

        if not args.no_hung:
            hung = tmp / "hung"
            for name in PACKAGES["minimax"]:
                (hung / "hung" / "minimax").mkdir(parents=True, exist_ok=True)
                (hung / "hung" / "minimax" / name).write_text("while True:\n    pass\n")
            p1 = [c for c in checks if c.question == "Problem 1"]
            rows = batch.grade_class(hung, tmp / "hung.csv", p1, progress=False)
            print(f"hung submission (Problem 1, {len(p1)} checks): {rows[0].seconds:.1f} s, status {rows[0].status}; "
                  f"bound: the sum of their timeouts, {sum(c.timeout for c in p1):.0f} s "
                  f"(all 20 checks: {sum(c.timeout for c in checks):.0f} s)")
        shutil.rmtree(cls, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"memory cap per probe: {sandbox.memory_cap() / 2**30:.3g} GiB")


if __name__ == "__main__":
    sys.exit(main())
