"""``dlcourse release OUT``: what an instructor hands out and what they upload to Gradescope.

::

    OUT/student/          the students' copy: no answers anywhere, the visible checks' expected values as data
                          (:mod:`dlcourse.release.student`)
    OUT/autograder.zip    the Gradescope autograder: reference + hidden checks (:mod:`dlcourse.release.bundle`)
    OUT/release.json      where it came from (commit), sizes, times, the torch pins, known leaks

:func:`build` writes everything into a staging folder beside ``OUT`` and moves it into place only
when all of it is written and checked, so an interrupted or refused release leaves ``OUT`` as it
was. Before that it

* scans the whole student tree for the answers (:mod:`dlcourse.release.leaks`) and refuses to
  release when it finds a line that is not one of the :data:`~dlcourse.release.leaks.KNOWN` ones;
* with ``verify`` (the default), grades the reference (every check, the hidden ones too: must be
  full marks) and the generated stubs (must be 0) - the autograder would otherwise be broken for
  the whole class.

What the autograder runs for each submission is :mod:`dlcourse.release.autograde`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.errors import DlcourseError


@dataclass
class Release:
    """What :func:`build` wrote."""

    out: Path
    seconds: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    known_leaks: list = field(default_factory=list)

    def summary(self) -> str:
        mib = 1 << 20
        lines = [f"student copy:   {self.out / 'student'}  ({self.sizes['student_files']} files, "
                 f"{self.sizes['student_bytes'] / mib:.1f} MiB; no reference parts, no hidden checks, no key functions "
                 f"- the visible checks' expected values instead, {self.sizes['answer_key_bytes'] / mib:.2f} MiB - no "
                 "solutions)",
                 f"autograder:     {self.out / 'autograder.zip'}  ({self.sizes['autograder_bytes'] / mib:.2f} MiB; "
                 f"torch=={self.info['torch']} CPU on Gradescope)",
                 f"made in {sum(self.seconds.values()):.1f} s (" +
                 ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()) + ")"]
        if self.known_leaks:
            lines.append(f"WARNING: {len(self.known_leaks)} answer lines ship in the student copy, known and accepted "
                         "for now (dlcourse.release.leaks.KNOWN):")
            lines += [f"  {leak}" for leak in self.known_leaks]
        lines.append("Next: hand out student/ (zip it, or push it to the class repository); upload autograder.zip on "
                     "Gradescope (Configure Autograder); grade a class offline with "
                     "`dlcourse grade --batch DIR --csv gradebook.csv`.")
        return "\n".join(lines)


def _tree_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def check_repo(repo: Path) -> None:
    """``repo`` must be a dlcourse source checkout: the package with the reference, and the solutions."""
    from dlcourse import stubs

    if not (repo / "dlcourse").is_dir() or not (repo / "solutions").is_dir() or not (repo / "pyproject.toml").is_file():
        raise DlcourseError(f"{repo} is not a dlcourse source checkout (it needs dlcourse/, solutions/ and "
                            "pyproject.toml): run dlcourse release from the instructors' repository, or pass --repo.")
    if not stubs.solution_modules(repo / "dlcourse"):
        raise DlcourseError(f"{repo / 'dlcourse'} holds no reference implementation (no solution markers): it is "
                            "a students' copy. Release from the instructors' repository.")


def verify(repo: Path, student_exercises: Path) -> None:
    """The reference must score full marks on every check and the untouched stubs nothing."""
    from dlcourse.grading import core

    if Path(core.__file__).resolve().parents[2] != repo.resolve():
        raise DlcourseError(f"cannot verify {repo}: this dlcourse is imported from {Path(core.__file__).parents[2]}. "
                            "Run the release with that checkout's dlcourse, or pass --no-verify.")
    checks = core.all_checks()
    full = core.Report(core.grade(None, checks))
    if full.score != full.max_score:
        raise DlcourseError(f"the reference scores {full.score:g}/{full.max_score:g}, not full marks, so the "
                            f"autograder would be wrong for everybody:\n{full.table()}")
    stubs = core.Report(core.grade(student_exercises, checks))
    if stubs.score != 0:
        raise DlcourseError(f"the untouched stubs score {stubs.score:g}, not 0:\n{stubs.table()}")


def build(out: str | os.PathLike, repo: str | os.PathLike | None = None, *, force: bool = False,
          verify_grades: bool = True) -> Release:
    """Write the release of ``repo`` (default: the checkout dlcourse is imported from) into ``out``.

    ``out`` must not exist or be empty, unless ``force`` (then it is replaced, once the new release is complete).
    """
    from dlcourse import stubs
    from dlcourse.io import git_commit
    from dlcourse.release import bundle, leaks, student

    repo = Path(repo).resolve() if repo else stubs.REPO_ROOT
    out = Path(out).expanduser().resolve()
    check_repo(repo)
    if out.exists() and not out.is_dir():
        raise DlcourseError(f"{out} is a file: pass a folder for the release.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DlcourseError(f"{out} already holds files: pass a new folder, or --force to replace it "
                            "(the old one is kept until the new release is complete).")
    if out in (repo, *repo.parents) or repo / "dlcourse" in (out, *out.parents):
        raise DlcourseError(f"{out} holds the repository or is inside its package: release into another folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    rel = Release(out)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # a folder to hand out, not mkdtemp's private 0700
    try:
        t = time.perf_counter()
        withheld = student.write(repo, stage / "student")
        rel.seconds["student copy"] = time.perf_counter() - t

        t = time.perf_counter()
        found = leaks.scan(stage / "student", leaks.answer_lines(repo))
        bad = leaks.unexpected(found)
        if bad:
            raise DlcourseError(f"the students' copy would hold {len(bad)} lines of the answers; nothing was released:\n"
                                + "\n".join(f"  {leak}" for leak in bad[:40])
                                + "\nRemove them from those files (or, for a harness file, move the code into a "
                                "solution region).")
        rel.known_leaks = [str(leak) for leak in found]
        rel.seconds["leak scan"] = time.perf_counter() - t

        if verify_grades:
            t = time.perf_counter()
            verify(repo, stage / "student" / "exercises")
            rel.seconds["verify grades"] = time.perf_counter() - t

        t = time.perf_counter()
        built_from = f"dlcourse {git_commit(repo)}"
        rel.info = bundle.write(repo, stage / "autograder.zip", built_from)
        rel.seconds["autograder.zip"] = time.perf_counter() - t

        files, size = _tree_size(stage / "student")
        rel.sizes = {"student_files": files, "student_bytes": size, "answer_key_bytes": withheld.pop("answer_key_bytes"),
                     "autograder_bytes": (stage / "autograder.zip").stat().st_size}
        record = {"built_from": built_from, "repo": str(repo), **withheld, **rel.info, "sizes": rel.sizes,
                  "seconds": {k: round(v, 2) for k, v in rel.seconds.items()}, "known_leaks": rel.known_leaks,
                  "verified": verify_grades}
        (stage / "release.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        _swap(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return rel


def _swap(stage: Path, out: Path) -> None:
    """Move ``stage`` to ``out``; an existing ``out`` is removed only after the new one is in place."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
