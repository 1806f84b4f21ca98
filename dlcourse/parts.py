"""The homework parts: what a student writes, as one object per problem, from the reference or a submission.

A *part* is a class or function the homework asks for: the DCGAN's networks, losses and training step
(Problem 3), CLIP's projection head, loss, step, retrieval and zero-shot functions (Problem 2), the
minimax functions (Problem 1). They live in the modules listed in :data:`MODULES`: in the reference
package (``dlcourse/gan/model.py``) and, in a submission folder laid out like ``exercises/``, at the
same place below it (``exercises/gan/model.py``).

The harness (trainers, evaluators, plots, the CLI) never imports those modules itself; it takes a
:class:`Parts` and defaults to the reference, so the same code trains the book's models and a
student's::

    from dlcourse import parts
    gan = parts.mine("gan")                   # your files in exercises/gan/ (the folder is found from here)
    result = train(cfg, run_dir, parts=gan)   # every number and figure of that run comes from your code

:func:`reference` gives the reference's parts, :func:`from_folder` a submission's, :func:`load`
either (``submission=None`` is the reference). A submission's files are imported as a package of
their own (named after the folder), so their relative imports (``from .losses import ...``) resolve
to each other, never to the reference.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dlcourse.errors import ConfigError

REFERENCE_PACKAGE = "dlcourse"
#: The modules of each problem that hold homework parts (the ones with solution regions).
MODULES: dict[str, tuple[str, ...]] = {
    "minimax": ("saddle", "steps", "convergence"),
    "clip": ("model", "loss", "step", "retrieval", "zeroshot"),
    "gan": ("model", "losses", "step"),
}
#: Environment variable naming the submission folder that :func:`mine` uses (else it searches upwards).
ENV_VAR = "DLCOURSE_SUBMISSION"


@dataclass(frozen=True)
class Parts:
    """The part modules of one problem: ``parts.model``, ``parts.losses``, ... (see :data:`MODULES`).

    ``source`` is ``"reference"`` or the submission folder; ``fingerprint`` a short hash of the part
    files' contents, so a run trained with other code is never mistaken for this code's run.
    """

    problem: str
    source: str
    modules: Mapping[str, types.ModuleType]
    fingerprint: str

    def __getattr__(self, name: str) -> types.ModuleType:
        modules = self.__dict__.get("modules", {})
        if name in modules:
            return modules[name]
        raise AttributeError(f"the {self.__dict__.get('problem')} parts have no module {name!r} "
                             f"(they are {', '.join(modules)})")

    @property
    def is_reference(self) -> bool:
        return self.source == "reference"

    def describe(self) -> str:
        """One line for logs and metrics: whose code this is."""
        if self.is_reference:
            return f"reference implementation (dlcourse.{self.problem}, {self.fingerprint})"
        return f"submission {self.source} ({self.problem}/, {self.fingerprint})"

    def record(self) -> dict[str, str]:
        """What a run stores about its parts (config.json, metrics.json)."""
        return {"source": self.source, "fingerprint": self.fingerprint}


def _check_problem(problem: str) -> None:
    if problem not in MODULES:
        raise ConfigError(f"unknown problem {problem!r}: use one of {', '.join(MODULES)}")


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


#: Why :func:`reference` fails in the student release, which ships without the reference's parts.
NO_REFERENCE = ("this copy of dlcourse has no reference implementation (it is the students' release): run your "
                "own parts instead - parts.mine({problem!r}) in a notebook, --submission exercises on the "
                "command line")


def has_reference(problem: str) -> bool:
    """Whether the reference's part modules of ``problem`` are installed (not in the students' release)."""
    _check_problem(problem)
    return all(importlib.util.find_spec(f"{REFERENCE_PACKAGE}.{problem}.{m}") is not None for m in MODULES[problem])


def reference(problem: str) -> Parts:
    """The reference implementation's parts of ``problem`` (``"minimax"``, ``"clip"`` or ``"gan"``)."""
    if not has_reference(problem):
        raise ConfigError(NO_REFERENCE.format(problem=problem))
    modules = {m: importlib.import_module(f"{REFERENCE_PACKAGE}.{problem}.{m}") for m in MODULES[problem]}
    files = [Path(mod.__file__) for mod in modules.values()]
    return Parts(problem, "reference", modules, _fingerprint(files))


def package_name(folder: Path) -> str:
    """The name a submission folder is imported under: one per folder, so several can coexist."""
    return "submission_" + hashlib.sha256(str(folder).encode()).hexdigest()[:10]


def import_folder(folder: str | os.PathLike) -> str:
    """Make ``folder`` an importable package (a namespace rooted there); return its name.

    Re-importing the same folder returns the same package; modules of it imported earlier are
    dropped first, so edited files are read again.
    """
    folder = Path(folder).resolve()
    name = package_name(folder)
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    spec = importlib.util.spec_from_loader(name, loader=None, is_package=True)
    pkg = importlib.util.module_from_spec(spec)
    pkg.__path__ = [str(folder)]
    pkg.__file__ = None
    sys.modules[name] = pkg
    return name


def from_folder(folder: str | os.PathLike, problem: str) -> Parts:
    """The parts of ``problem`` written in a submission folder laid out like ``exercises/``.

    ``folder/<problem>/<module>.py`` must exist for every module of :data:`MODULES`; the error says
    which one is missing. A file that fails to import (a syntax error, say) gives a
    :class:`~dlcourse.errors.ConfigError` naming the file, the error and its line.
    """
    _check_problem(problem)
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder: pass the folder that holds your minimax/, clip/ and gan/ "
                          "(exercises/ in your copy of the homework)")
    files = [folder / problem / f"{m}.py" for m in MODULES[problem]]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise ConfigError(f"{folder} has no {', '.join(str(f.relative_to(folder)) for f in missing)}: pass the "
                          f"folder laid out like exercises/ (it holds {problem}/{MODULES[problem][0]}.py, ...), or "
                          "restore the files with `dlcourse exercises`")
    name = import_folder(folder)
    modules = {}
    for m, path in zip(MODULES[problem], files):
        try:
            modules[m] = importlib.import_module(f"{name}.{problem}.{m}")
        except Exception as e:  # noqa: BLE001 - any error in a student's file is reported with its place
            raise ConfigError(f"importing {path} failed: {type(e).__name__}: {e}\n{_where(e, folder)}"
                              "Fix that file (run `pytest exercises` to check all your parts).") from e
    return Parts(problem, str(folder), modules, _fingerprint(files))


def _where(exc: BaseException, folder: Path) -> str:
    """The lines of ``exc``'s traceback that are in the submission's files (for a message)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(folder))]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"  {exc.filename}, line {exc.lineno}: {(exc.text or '').strip()}\n"
    return "".join(f"  {f.filename}, line {f.lineno}: {f.line}\n" for f in frames[-3:])


def load(problem: str, submission: str | os.PathLike | None = None) -> Parts:
    """The parts of ``problem``: that folder's, or with ``submission=None`` the reference's - or, in
    the students' release, which has no reference, the student's own (:func:`mine`)."""
    if submission is not None:
        return from_folder(submission, problem)
    return reference(problem) if has_reference(problem) else mine(problem)


def find_submission(problem: str, start: str | os.PathLike | None = None) -> Path:
    """The submission folder for :func:`mine`: ``$DLCOURSE_SUBMISSION``, else the nearest folder at or
    above ``start`` (default: the working directory) that holds ``<problem>/<module>.py``, looking into
    an ``exercises/`` child on the way (so both ``exercises/notebooks/`` and the project root work)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    here = Path(start or Path.cwd()).resolve()
    first = MODULES[problem][0]
    for d in (here, *here.parents):
        for candidate in (d, d / "exercises"):
            if (candidate / problem / f"{first}.py").is_file():
                return candidate
    raise ConfigError(f"no folder with {problem}/{first}.py at or above {here}: open the notebook from "
                      f"exercises/notebooks/, or set {ENV_VAR}=/path/to/exercises")


def mine(problem: str, folder: str | os.PathLike | None = None) -> Parts:
    """Your parts of ``problem``, from your exercises folder (found from the working directory, or
    ``folder``, or ``$DLCOURSE_SUBMISSION``). The one line a student notebook starts with."""
    _check_problem(problem)
    return from_folder(folder if folder is not None else find_submission(problem), problem)


def resolve(parts: Parts | None, problem: str) -> Parts:
    """``parts`` checked to belong to ``problem``; the reference when ``None`` (the harness's default)."""
    if parts is None:
        return reference(problem)
    if not isinstance(parts, Parts) or parts.problem != problem:
        got = parts.problem if isinstance(parts, Parts) else type(parts).__name__
        raise ConfigError(f"expected the {problem} parts (dlcourse.parts.mine({problem!r})), got {got}")
    return parts


def add_argument(parser, problem: str, what: str) -> None:
    """The ``--submission DIR`` option of a ``dlcourse <problem>`` command (``what``: the parts it runs)."""
    parser.add_argument("--submission", metavar="DIR", default=None,
                        help=f"use the {what} written in DIR (laid out like exercises/: DIR/{problem}/"
                             f"{MODULES[problem][0]}.py, ...) instead of the reference implementation")


def from_args(args, problem: str) -> Parts:
    """The parts a command runs: ``--submission DIR``'s or the reference's, announced on stderr
    (stdout is for results) unless ``--quiet``."""
    chosen = load(problem, getattr(args, "submission", None))
    if not getattr(args, "quiet", False):
        print(f"parts: {chosen.describe()}", file=sys.stderr, flush=True)
    return chosen
