"""``dlcourse release OUT``: registered by :mod:`dlcourse.cli`; the work is :func:`dlcourse.release.build`."""

from __future__ import annotations

import argparse


def _release(args: argparse.Namespace) -> int:
    from dlcourse.release import build

    print(f"Releasing into {args.out} ...", flush=True)
    rel = build(args.out, args.repo, force=args.force, verify_grades=not args.no_verify)
    print(rel.summary())
    return 0


def register(sub) -> None:
    r = sub.add_parser("release", help="write the students' copy (no answers) and the Gradescope autograder.zip "
                       "(instructors)",
                       description="Writes OUT/student/ (what students get: the exercises, the notebooks, the visible "
                       "checks and the harness, without the reference's parts, the hidden checks or the solutions) "
                       "and OUT/autograder.zip (upload it to Gradescope: it installs the whole package, reference and "
                       "hidden checks included, and grades each submission into results.json).")
    r.add_argument("out", metavar="OUT", help="a new (or empty) folder")
    r.add_argument("--force", action="store_true", help="replace OUT if it holds files (once the new release is complete)")
    r.add_argument("--no-verify", action="store_true",
                   help="skip grading the reference (must be full marks) and the stubs (must be 0) first (~20 s)")
    r.add_argument("--repo", help="the instructors' checkout (default: the one dlcourse is imported from)")
    r.set_defaults(func=_release)
