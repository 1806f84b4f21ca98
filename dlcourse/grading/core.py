"""Grader machinery: a submission, checks with points, an isolated runner, and reports.

A *submission* is a folder laid out like the reference package: the student's version of
``dlcourse/minimax/dynamics.py`` is ``<folder>/minimax/dynamics.py`` (``exercises/`` is such a
folder). A *check* grades one part in two halves:

* the **probe** ``probe(sub: Submission) -> dict`` runs the student's code (loaded with
  :meth:`Submission.module`) on fixed inputs and returns *observations*: plain data only (tensors,
  numbers, strings, booleans, ``None`` and lists, tuples and dicts of them). It runs in its own
  process (forked from a server that already imported torch, so it starts in milliseconds) with a
  timeout: a crash, ``sys.exit`` or an endless loop in student code costs that check only. It may
  raise :class:`CheckFailed` to report a problem it sees directly (a missing class, say).
* the **judge** ``judge(obs: dict) -> str | Verdict`` runs in the grader's own process, where no
  student code is ever loaded: it computes the expected values, compares, and raises
  :class:`CheckFailed` with a message for the student, or returns a message (full points) or a
  :class:`Verdict` (partial credit, see :class:`Cases`).

The observations cross from the probe's process to the judge's as a ``torch.save`` file read back
with ``weights_only=True``, which cannot run code: nothing a submission does in its process can
change the judge, its expected values or its verdict.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import io
import json
import multiprocessing as mp
import os
import sys
import time
import traceback
import types
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: The reference package; a submission mirrors its layout below this name.
REFERENCE_PACKAGE = "dlcourse"
#: Name under which a submission folder is imported (``submission.minimax.dynamics``).
SUBMISSION_PACKAGE = "submission"
#: Problem modules that define ``CHECKS``, in homework order.
CHECK_MODULES = ("dlcourse.grading.minimax", "dlcourse.grading.clip", "dlcourse.grading.gan")
#: Package of the hidden checks (other inputs, extra cases): in the autograder, never in a student's copy.
HIDDEN_PACKAGE = "dlcourse.grading.hidden"
#: Points of each problem (3 problems x 5 points).
QUESTION_POINTS = {"Problem 1": 5.0, "Problem 2": 5.0, "Problem 3": 5.0}


#: Who sees a check's result on Gradescope (its own vocabulary): ``visible`` checks also ship to students.
VISIBILITIES = ("visible", "after_due_date", "hidden")


class CheckFailed(AssertionError):
    """Raised by a check: the message tells the student what was expected, what was found, and a hint."""


@dataclass(frozen=True)
class Verdict:
    """A judge's answer with partial credit: ``fraction`` of the part's points, and the message."""

    fraction: float
    message: str


class Cases:
    """Independent cases of one part; each passes or fails on its own, the score is the passed weight.

    ::

        cases = Cases()
        with cases("k larger than the gallery"):
            expect(shape == (4, 10), "...")      # a CheckFailed here fails this case only
        cases.record("sorted best first", ok, "expected ..., found ...")
        return cases.verdict("cosine similarities and best-first top-k")

    The verdict's message names every failed case with its own message.
    """

    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str, float]] = []

    def record(self, name: str, ok: bool, message: str = "", weight: float = 1.0) -> bool:
        self.results.append((name, bool(ok), "" if ok else message, weight))
        return bool(ok)

    @contextlib.contextmanager
    def __call__(self, name: str, weight: float = 1.0):
        try:
            yield
        except CheckFailed as e:
            self.record(name, False, str(e), weight)
        else:
            self.record(name, True, "", weight)

    def verdict(self, passed_message: str) -> Verdict:
        total = sum(w for *_, w in self.results) or 1.0
        passed = sum(w for _, ok, _, w in self.results if ok)
        failed = [(n, m) for n, ok, m, _ in self.results if not ok]
        if not failed:
            return Verdict(1.0, passed_message)
        lines = [f"{len(self.results) - len(failed)} of {len(self.results)} cases passed; failed:"]
        lines += [f"- {n}: {m}" for n, m in failed]
        return Verdict(passed / total, "\n".join(lines))


def expect(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


@dataclass(frozen=True)
class Check:
    """One graded part: a ``probe`` and a ``judge``, each ``"module:function"`` (see the module docstring).

    ``func`` is the older single-function form (a check that runs whole in the student's process);
    it is kept only while the problem modules move to probe/judge.
    """

    id: str  # short id, e.g. "1a"
    question: str  # e.g. "Problem 1"
    title: str  # e.g. "(a) saddle point"
    points: float
    func: str | None = None  # legacy: check(sub) -> str | None, all in the student's process
    timeout: float = 60.0
    probe: str | None = None
    judge: str | None = None
    visibility: str = "visible"
    #: Keyword arguments of both the probe and the judge (plain data: the check's inputs). A hidden
    #: check reuses a visible check's probe and judge with other ``args``.
    args: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if (self.func is None) == (self.probe is None or self.judge is None):
            raise ValueError(f"check {self.id}: give a probe and a judge (or, legacy, a func)")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"check {self.id}: visibility {self.visibility!r} is not one of {VISIBILITIES}")

    @property
    def name(self) -> str:
        return f"{self.question} {self.title}"

    @staticmethod
    def _load(ref: str) -> Callable:
        mod, _, fn = ref.partition(":")
        return getattr(importlib.import_module(mod), fn)

    def resolve(self) -> Callable[[Submission], object]:
        """The function that runs in the student's process: the probe (with :attr:`args`) or a legacy func."""
        if self.probe:
            return functools.partial(self._load(self.probe), **self.args)
        return self._load(self.func)

    def resolve_judge(self) -> Callable[[object], str | Verdict] | None:
        """The judge (with :attr:`args`), which runs in the grader's process."""
        return functools.partial(self._load(self.judge), **self.args) if self.judge else None


class Submission:
    """Loads the student's modules (or the reference ones) by their reference module name.

    ``Submission(None)`` is the reference itself; ``Submission("exercises")`` a student folder.
    """

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root).resolve() if root is not None else None

    @property
    def is_reference(self) -> bool:
        return self.root is None

    def path_of(self, name: str) -> Path:
        """The file of reference module ``name`` (``dlcourse.minimax.dynamics``) in this submission."""
        rel = name.removeprefix(REFERENCE_PACKAGE + ".").replace(".", "/") + ".py"
        return (self.root or Path(__file__).resolve().parents[1]) / rel

    def module(self, name: str) -> types.ModuleType:
        """Import reference module ``name`` from this submission (student file, or the reference)."""
        if self.root is None:
            return importlib.import_module(name)
        path = self.path_of(name)
        if not path.is_file():
            raise CheckFailed(
                f"expected the file {path} (your version of {name}), but it does not exist. "
                "Hint: regenerate the exercises with `dlcourse exercises` or restore the file."
            )
        self._register_package()
        return importlib.import_module(SUBMISSION_PACKAGE + "." + name.removeprefix(REFERENCE_PACKAGE + "."))

    def _register_package(self) -> None:
        """Make ``submission`` a package rooted at the submission folder (relative imports work)."""
        pkg = sys.modules.get(SUBMISSION_PACKAGE)
        if pkg is not None and list(getattr(pkg, "__path__", [])) == [str(self.root)]:
            return
        for key in [k for k in sys.modules if k == SUBMISSION_PACKAGE or k.startswith(SUBMISSION_PACKAGE + ".")]:
            del sys.modules[key]
        spec = importlib.util.spec_from_loader(SUBMISSION_PACKAGE, loader=None, is_package=True)
        pkg = importlib.util.module_from_spec(spec)
        pkg.__path__ = [str(self.root)]
        sys.modules[SUBMISSION_PACKAGE] = pkg


@dataclass
class Result:
    """The outcome of one check."""

    check: Check
    score: float
    status: str  # "passed" | "partial" | "failed" | "not implemented" | "error" | "timeout" | "crashed"
    message: str
    seconds: float = 0.0
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _short_traceback(exc: BaseException, root: Path | None) -> str:
    """The last frames of ``exc``, keeping the student's files (or the last frame) only."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if root is not None and str(root) in f.filename] or frames[-1:]
    return "".join(traceback.format_list(mine[-3:])).rstrip()


def encode_observations(obs) -> bytes:
    """``torch.save`` of a probe's observations (plain data only, see the module docstring)."""
    import torch

    buf = io.BytesIO()
    torch.save(obs, buf)
    return buf.getvalue()


def decode_observations(data: bytes):
    """Observations back from :func:`encode_observations`; ``weights_only`` refuses anything but plain data."""
    import torch

    return torch.load(io.BytesIO(data), weights_only=True)


def _outcome(check: Check, sub: Submission) -> dict:
    """Run the student's half of ``check`` (probe or legacy func) here and now; never raises.

    Returns the fields of a :class:`Result`; for a probe, ``"observations"`` holds the encoded
    observations and the status is ``"probed"`` (the judge decides).
    """
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            value = check.resolve()(sub)
            if check.probe:
                data = encode_observations(value)
        if check.probe:
            return {"status": "probed", "message": "", "output": buf.getvalue(), "observations": data}
        return {"status": "passed", "message": value or "correct", "output": buf.getvalue()}
    except CheckFailed as e:
        return {"status": "failed", "message": str(e), "output": buf.getvalue()}
    except NotImplementedError as e:
        return {
            "status": "not implemented",
            "message": f"not implemented yet ({e or 'raise NotImplementedError'}): fill in the function and rerun.",
            "output": buf.getvalue(),
        }
    except SystemExit as e:
        return {"status": "crashed", "message": f"your code called sys.exit({e.code!r}); return a value instead.",
                "output": buf.getvalue()}
    except Exception as e:  # noqa: BLE001 - any error in student code is reported, not raised
        return {
            "status": "error",
            "message": f"your code raised {type(e).__name__}: {e}\n{_short_traceback(e, sub.root)}",
            "output": buf.getvalue(),
        }


def _child(check: Check, root: str | None, conn) -> None:
    """Entry point of the isolated process: run the check, send the outcome through ``conn``."""
    import torch

    torch.set_num_threads(1)  # checks are small; one thread avoids oversubscribing the 2 cores
    conn.send(_outcome(check, Submission(root)))
    conn.close()


_CONTEXT: mp.context.BaseContext | None = None


def _context() -> mp.context.BaseContext:
    """A forkserver context that imports torch once; each check forks from it in milliseconds."""
    global _CONTEXT
    if _CONTEXT is None:
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        _CONTEXT = mp.get_context(method)
        if method == "forkserver":
            _CONTEXT.set_forkserver_preload(["torch", "torch._dynamo", "numpy", __name__])
    return _CONTEXT


def run_check(check: Check, sub: Submission, *, isolate: bool = True) -> Result:
    """Run one check against a submission; isolated in a child process with a timeout by default."""
    t0 = time.perf_counter()
    if not isolate:
        out = _outcome(check, sub)
    else:
        ctx = _context()
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(check, str(sub.root) if sub.root else None, send), daemon=True)
        proc.start()
        send.close()
        out = None
        if recv.poll(check.timeout):
            try:
                out = recv.recv()
            except EOFError:
                out = None
        proc.join(5 if out is not None else 0.1)
        if proc.is_alive():
            proc.kill()
            proc.join()
        if out is None:
            if proc.exitcode is None or proc.exitcode == -9 and time.perf_counter() - t0 >= check.timeout:
                out = {"status": "timeout", "output": "",
                       "message": f"no answer within {check.timeout:.0f} s: an endless loop, or far too slow. "
                                  "Hint: check your loop bounds and avoid Python loops over tensor elements."}
            else:
                out = {"status": "crashed", "output": "",
                       "message": f"the process running your code died (exit code {proc.exitcode}): "
                                  "did it call os._exit, segfault, or run out of memory?"}
        recv.close()
    fraction = 1.0 if out["status"] == "passed" else 0.0
    if out["status"] == "probed":
        fraction, out = _judge(check, out)
    return Result(check=check, score=check.points * fraction, seconds=time.perf_counter() - t0, **out)


def _judge(check: Check, probed: dict) -> tuple[float, dict]:
    """Judge a probe's observations in this process; returns the fraction of points and the outcome."""
    out = {k: v for k, v in probed.items() if k != "observations"}
    try:
        verdict = check.resolve_judge()(decode_observations(probed["observations"]))
    except CheckFailed as e:
        return 0.0, {**out, "status": "failed", "message": str(e)}
    except Exception as e:  # noqa: BLE001 - observations of an unexpected form (e.g. None where a tensor was due)
        return 0.0, {**out, "status": "error",
                     "message": f"your code's results could not be judged ({type(e).__name__}: {e}). Hint: check "
                                "the types and shapes your functions return against their docstrings."}
    if not isinstance(verdict, Verdict):
        verdict = Verdict(1.0, verdict or "correct")
    fraction = min(1.0, max(0.0, float(verdict.fraction)))
    status = "passed" if fraction == 1.0 else "partial" if fraction > 0 else "failed"
    return fraction, {**out, "status": status, "message": verdict.message}


def _checks_of(modname: str) -> list[Check]:
    """``CHECKS`` of module ``modname``; none when it (or its package) does not exist."""
    try:
        mod = importlib.import_module(modname)
    except ModuleNotFoundError as e:
        if e.name is not None and modname.startswith(e.name):
            return []  # not written yet, or the hidden checks in a student's copy (they never ship)
        raise
    return list(mod.CHECKS)


def all_checks(problems: Sequence[str] | None = None) -> list[Check]:
    """Every check of the homework (or of the named problems: ``"1"``, ``"2"``, ``"3"``).

    The visible checks of each problem module, each followed by its hidden counterpart (id
    ``"<id>-hidden"``) from :data:`HIDDEN_PACKAGE` when that package exists (the autograder and the
    instructor's checkout; never a student's copy).
    """
    checks: list[Check] = []
    for modname in CHECK_MODULES:
        visible = _checks_of(modname)
        hidden = _checks_of(f"{HIDDEN_PACKAGE}.{modname.rsplit('.', 1)[1]}")
        for c in hidden:
            if c.visibility == "visible":
                raise ValueError(f"hidden check {c.id} has visibility 'visible': hidden checks are shown "
                                 "'after_due_date' (or never)")
        by_id = {c.id: c for c in hidden}
        for c in visible:
            checks.append(c)
            if f"{c.id}-hidden" in by_id:
                checks.append(by_id.pop(f"{c.id}-hidden"))
        checks.extend(by_id.values())
    if problems:
        wanted = {f"Problem {p}" for p in problems}
        checks = [c for c in checks if c.question in wanted]
    return checks


def grade(root: str | os.PathLike | None, checks: Sequence[Check] | None = None, *,
          isolate: bool = True, on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Grade a submission folder (``None``: the reference) with ``checks`` (default: all)."""
    sub = Submission(root)
    results = []
    for check in checks if checks is not None else all_checks():
        r = run_check(check, sub, isolate=isolate)
        results.append(r)
        if on_result:
            on_result(r)
    return results


@dataclass
class Report:
    """Scores per question and in total, renderable as a table or Gradescope JSON."""

    results: list[Result]
    questions: dict[str, float] = field(default_factory=lambda: dict(QUESTION_POINTS))

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    def by_question(self) -> dict[str, tuple[float, float]]:
        """``{question: (score, max)}`` for the questions that have checks."""
        out: dict[str, tuple[float, float]] = {}
        for r in self.results:
            s, m = out.get(r.check.question, (0.0, 0.0))
            out[r.check.question] = (s + r.score, m + r.check.points)
        return out

    @property
    def max_score(self) -> float:
        return sum(m for _, m in self.by_question().values())

    def table(self, width: int = 100) -> str:
        """A plain-text table: part, points, status and the message (wrapped)."""
        import textwrap

        lines = [f"{'part':<38} {'points':>9}  {'status':<15} message", "-" * width]
        for r in self.results:
            msg = textwrap.wrap(r.message.splitlines()[0] if r.message else "", width - 66) or [""]
            lines.append(f"{r.check.name:<38.38} {r.score:>4g}/{r.check.points:<4g}  {r.status:<15} {msg[0]}")
            for cont in msg[1:]:
                lines.append(" " * 66 + cont)
            for extra in r.message.splitlines()[1:]:
                lines.append(" " * 66 + extra)
        lines.append("-" * width)
        for q, (s, m) in self.by_question().items():
            lines.append(f"{q:<38} {s:>4g}/{m:<4g}")
        lines.append(f"{'Total':<38} {self.score:>4g}/{self.max_score:<4g}")
        return "\n".join(lines)

    def gradescope(self) -> dict:
        """The Gradescope autograder ``results.json`` structure."""
        return {
            "score": self.score,
            "execution_time": round(sum(r.seconds for r in self.results), 2),
            "output": f"Total {self.score:g}/{self.max_score:g}",
            "visibility": "visible",
            "tests": [
                {
                    "name": r.check.name,
                    "number": r.check.id,
                    "score": r.score,
                    "max_score": r.check.points,
                    "status": "passed" if r.passed else "failed",
                    "output": r.message + (f"\n--- your code printed ---\n{r.output[-2000:]}" if r.output else ""),
                    "visibility": "visible",
                }
                for r in self.results
            ],
        }

    def write_gradescope(self, path: str | os.PathLike) -> None:
        from dlcourse.io import write_json_atomic

        write_json_atomic(path, self.gradescope())

    def to_json(self) -> str:
        return json.dumps([{**asdict(r.check), **{k: v for k, v in asdict(r).items() if k != "check"}}
                           for r in self.results], indent=2)
