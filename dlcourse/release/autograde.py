"""What the Gradescope autograder runs for one submission: ``run_autograder`` calls ``python -m dlcourse.release.autograde``.

Gradescope puts the student's upload in ``$AUTOGRADER_ROOT/submission`` (default ``/autograder``) and
reads ``$AUTOGRADER_ROOT/results/results.json``. The upload is graded as ``dlcourse grade --batch``
grades one student (:func:`dlcourse.grading.batch.grade_entry`): the submission.zip layout that
``dlcourse submit`` writes (unpacked, as Gradescope does with a zip, or still a zip), or the ``.py``
files uploaded flat, with shared names (``model.py``, ``step.py``) placed by what they define. Every
check runs in its own sandboxed process (:mod:`dlcourse.grading.sandbox`).

``results.json`` is always written: a submission that cannot be graded (no homework file, a file that
cannot be placed, a hostile zip) scores 0 with the reason in every test's output; if the grader itself
fails, the output says so - not a verdict on the student's code - and the exit status is 1, so the
instructor sees the traceback in the autograder's log (stdout, which students do not see).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

#: The name a submission is graded under (the folder of its results inside the temporary output).
NAME = "submission"


def submission_entry(folder: Path) -> Path:
    """What to grade in Gradescope's submission folder: the folder, or the one zip in it when it holds
    no ``.py`` file (an upload of submission.zip that was not unpacked)."""
    if not folder.is_dir():
        return folder
    if any(p.suffix == ".py" for p in folder.rglob("*.py")):
        return folder
    zips = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".zip" and p.is_file())
    named = [z for z in zips if z.name.lower() == "submission.zip"]
    if len(zips) == 1 or len(named) == 1:
        return (named or zips)[0]
    return folder


def _failure(message: str, seconds: float) -> dict:
    """results.json when the grader itself failed: no score is a verdict on the student's code."""
    return {"score": 0.0, "execution_time": round(seconds, 2), "output": message, "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden", "extra_data": {"grader_error": True},
            "tests": []}


def grade(root: Path) -> int:
    """Grade ``root/submission`` into ``root/results/results.json``; 0, or 1 when the grader failed."""
    from dlcourse.grading import batch, core
    from dlcourse.io import write_json_atomic

    t0 = time.perf_counter()
    out = root / "results" / "results.json"
    status = 0
    try:
        checks = core.all_checks()
        hidden = sum(c.visibility != "visible" for c in checks)
        print(f"[dlcourse] {len(checks)} checks ({hidden} hidden), {sum(c.points for c in checks):g} points")
        entry = submission_entry(root / "submission")
        print(f"[dlcourse] grading {entry}")
        with tempfile.TemporaryDirectory(prefix="dlcourse-autograde-") as tmp:
            row = batch.grade_entry(entry, NAME, checks, Path(tmp))
            produced = Path(tmp) / NAME / "results.json"
            if row.status == "grader error" or not produced.is_file():
                raise RuntimeError(row.note or "the grader wrote no results")
            results = json.loads(produced.read_text(encoding="utf-8"))
        if row.status == "refused":
            results["output"] = f"Your submission could not be graded: {row.note}\n\n{results['output']}"
        elif row.note:  # how the files were read (placed from a flat upload, files ignored): safe to show
            results["output"] = f"Note: {row.note}\n\n{results['output']}"
        print(f"[dlcourse] {row.total:g} points, worst status {row.status}, {row.seconds:.1f} s")
        for t in results["tests"]:
            print(f"  {t['number']:<10} {t['score']:>6g}/{t['max_score']:<4g} {t['visibility']:<15} {t['name']}")
    except Exception as e:  # noqa: BLE001 - the student still gets a results.json that says what happened
        traceback.print_exc()
        results = _failure("The autograder itself failed while grading this submission (" + type(e).__name__ + "); "
                           "this is not a verdict on your code. Tell your instructor: the details are in the "
                           "autograder's log.", time.perf_counter() - t0)
        status = 1
    write_json_atomic(out, results)
    print(f"[dlcourse] wrote {out}")
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dlcourse.release.autograde",
                                description="Grade the Gradescope submission folder into results/results.json.")
    p.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"),
                   help="the autograder folder (default: $AUTOGRADER_ROOT, else /autograder)")
    return grade(Path(p.parse_args(argv).root))


if __name__ == "__main__":
    sys.exit(main())
