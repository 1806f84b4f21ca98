"""Time the autograder on one whole submission: the reference (must be 15/15) and the untouched stubs.

Budget (STANDARDS.md): grading one whole submission <= 15 s on the 2-core CPU
(``benchmarks/grading_batch.py`` times a whole class). Usage:
``python benchmarks/grading_time.py [--exercises PATH]``; prints per-check and total seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dlcourse.grading.core import Report, grade
from dlcourse.io import device_name

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exercises", default=str(REPO / "exercises"))
    args = p.parse_args()
    print(f"device: {device_name()}")
    for label, root in (("reference", None), ("stubs", Path(args.exercises))):
        t0 = time.perf_counter()
        report = Report(grade(root))
        total = time.perf_counter() - t0
        slowest = sorted(report.results, key=lambda r: -r.seconds)[:3]
        print(f"{label:<9} score {report.score:g}/{report.max_score:g}  total {total:5.1f} s  "
              f"(slowest: {', '.join(f'{r.check.id} {r.seconds:.1f} s' for r in slowest)})")


if __name__ == "__main__":
    main()
