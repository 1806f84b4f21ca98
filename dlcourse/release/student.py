"""The students' copy of the homework: the package without the answers, ``exercises/`` and a README.

:func:`write` lays out ``student/``:

* ``dlcourse/`` - the harness (data commands, trainers, evaluation, plots, the CLI), the visible
  checks and ``dlcourse submit``, **without** the reference's part modules (every module of
  :data:`dlcourse.parts.MODULES`, and any other module with solution markers), **without** the
  hidden checks (``dlcourse/grading/hidden/``) and the answer keys (``dlcourse/grading/keys/``),
  and without ``dlcourse/release/`` (the instructors' tools: this module, the leak scan, the
  autograder's entry point). The harness never imports a part module, and
  :mod:`dlcourse.parts` then runs the student's own parts (``parts.mine``) and says, when asked for
  the reference, that this is the students' release. In place of the keys,
  ``dlcourse/grading/answer_key.pt`` holds their *values* for the visible checks (the expected
  results on the public inputs, :func:`write_answer_key`), which the visible judges compare with;
* ``exercises/`` - exactly what :func:`dlcourse.stubs.generate` writes (the stubs, the student
  notebooks, ``test_homework.py``);
* ``pyproject.toml`` - the repository's, so the same runtime dependencies and extras, with the
  students' README and ``pytest`` looking in ``exercises/``;
* ``README.md`` - ``templates/README.student.md``; ``LICENSE*`` files of the repository.

Nothing else: no ``solutions/``, no ``docs/`` (no book, no committed reference artifacts), no
``tests/``, no ``benchmarks/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dlcourse.errors import DlcourseError

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The students' README: the one source of the student instructions (the main README points to it).
README = TEMPLATES / "README.student.md"
#: The marker lines around the install commands in :data:`README` (CI runs those lines verbatim).
INSTALL_BEGIN, INSTALL_END = "<!-- ci:student-install", "<!-- /ci:student-install -->"
#: Never copied from the package folder: build and cache leftovers.
JUNK = ("__pycache__", ".pytest_cache", ".ipynb_checkpoints")
JUNK_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def withheld(repo: Path) -> set[Path]:
    """Paths below ``repo/dlcourse`` that students do not get: the part modules, the hidden checks, the answer
    keys and ``release/`` (the instructors' tools)."""
    from dlcourse import parts, stubs
    from dlcourse.grading.sandbox import GRADER_ONLY

    package = repo / "dlcourse"
    files = {Path(p) / f"{m}.py" for p, mods in parts.MODULES.items() for m in mods}
    files |= set(stubs.solution_modules(package))
    return files | {Path(*name.split(".")[1:]) for name in GRADER_ONLY} | {Path("release")}


def _copy_package(repo: Path, dest: Path) -> list[str]:
    """Copy ``repo/dlcourse`` to ``dest/dlcourse`` without what is withheld; returns the withheld paths."""
    package = repo / "dlcourse"
    skip = withheld(repo)

    def ignore(folder: str, names: list[str]) -> list[str]:
        rel = Path(folder).relative_to(package)
        return [n for n in names if n in JUNK or n.endswith(JUNK_SUFFIXES) or rel / n in skip]

    shutil.copytree(package, dest / "dlcourse", ignore=ignore, symlinks=False)
    return sorted(f"dlcourse/{p.as_posix()}" for p in skip)


def pyproject(repo: Path) -> str:
    """The repository's ``pyproject.toml`` for the students' copy: same name, dependencies and extras;
    the description says what it is, and ``pytest`` with no arguments runs ``exercises/``."""
    text = (repo / "pyproject.toml").read_text(encoding="utf-8")
    from dlcourse.grading.sandbox import ANSWER_KEY_FILE

    edits = [
        ('testpaths = ["tests"]', 'testpaths = ["exercises"]'),
        ('name = "dlcourse"', 'name = "dlcourse"'),  # the package name must not change: the notebooks import it
        ('dlcourse = ["py.typed", ', f'dlcourse = ["py.typed", "{ANSWER_KEY_FILE}", '),  # installed with the package
    ]
    for old, new in edits:
        if old not in text:
            raise DlcourseError(f"{repo / 'pyproject.toml'} has no line `{old}`, which the students' copy "
                                "changes or relies on: update dlcourse/release/student.py with it.")
        text = text.replace(old, new, 1)
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("description = "):
            lines[i] = ('description = "Deep Learning Homework 3 (students\' copy): the exercises, the notebooks, the '
                        'visible checks and the tools around them - no answers."\n')
            break
    return "".join(lines)


def write_answer_key(repo: Path, path: Path) -> int:
    """Write the answer keys of the visible checks of ``repo`` as data into ``path`` (``torch.save``; read back
    with ``weights_only``); returns its size in bytes. The keys are computed by this process's
    :mod:`dlcourse.grading.keys`, so ``repo`` must be the checkout dlcourse is imported from."""
    import torch

    from dlcourse.grading import core

    here = Path(core.__file__).resolve().parents[2]
    if here != repo.resolve():
        raise DlcourseError(f"cannot compute the answer keys of {repo}: this dlcourse is imported from {here}. Run "
                            "the release with that checkout's dlcourse.")
    visible = [c for c in core.all_checks() if c.visibility == "visible"]
    torch.save(core.stored_answer_keys(visible), path)
    return path.stat().st_size


def write(repo: Path, dest: Path) -> dict:
    """Write the students' copy of ``repo`` into the (new, empty) folder ``dest``; returns what was left out."""
    from dlcourse import stubs
    from dlcourse.grading.sandbox import ANSWER_KEY_FILE

    left_out = _copy_package(repo, dest)
    key_bytes = write_answer_key(repo, dest / "dlcourse" / ANSWER_KEY_FILE)
    for f in stubs.generate(repo):  # plain writes: dest is a staging folder, moved into place as a whole
        path = dest / "exercises" / f.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.text, encoding="utf-8")
    (dest / "pyproject.toml").write_text(pyproject(repo), encoding="utf-8")
    shutil.copyfile(README, dest / "README.md")
    for lic in sorted(repo.glob("LICEN[CS]E*")):
        if lic.is_file():
            shutil.copyfile(lic, dest / lic.name)
    return {"withheld": left_out, "answer_key_bytes": key_bytes}


def install_lines(readme: Path = README) -> list[str]:
    """The commands between the install markers of a students' README (:data:`INSTALL_BEGIN`), as written."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(INSTALL_BEGIN))
        end = next(i for i, line in enumerate(lines) if i > start and line.startswith(INSTALL_END))
    except StopIteration:
        raise DlcourseError(f"{readme} has no `{INSTALL_BEGIN} ... -->` ... `{INSTALL_END}` block around the "
                            "install commands") from None
    return [line for line in lines[start + 1:end] if line.strip() and not line.startswith("```")]
