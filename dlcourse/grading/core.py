"""Grader machinery: a submission, checks with points, a sandboxed runner, and reports.

A *submission* is a folder laid out like the reference package: the student's version of
``dlcourse/minimax/steps.py`` is ``<folder>/minimax/steps.py`` (``exercises/`` is such a folder).
A *check* grades one part in two halves:

* the **probe** ``probe(sub: Submission, **check.args) -> dict`` runs the student's code (loaded
  with :meth:`Submission.module`, each call wrapped by :meth:`Submission.observe`) on the check's
  inputs and returns *observations*: plain data only (tensors, numbers, strings, booleans, ``None``
  and lists, tuples and dicts of them). It runs in its own sandboxed process (forked from a server
  that already imported torch, so it starts in milliseconds) with a timeout: a crash,
  ``sys.exit``, an endless loop or a runaway allocation costs that check only. It may raise
  :class:`CheckFailed` to report a problem it sees directly (a missing class, say). It never
  imports the reference solution: there, that import fails.
* the **judge** ``judge(obs: dict, key=..., **check.args) -> str | Verdict`` runs in the grader's
  own process, where no student code is ever loaded: it compares the observations with the
  expected values, and raises :class:`CheckFailed` with a message for the student, or returns a
  message (full points) or a :class:`Verdict` (partial credit, see :class:`Cases`).
* the **answer key** ``key(**check.args) -> plain data`` computes those expected values - and the
  values of each known mistake the judge names - from the check's inputs alone, never from
  observations (:func:`answer_key`). Key functions live in :data:`KEY_PACKAGE`, which, like the
  hidden checks, is never importable in a probe and never ships: a students' copy holds the keys
  of its visible checks as data instead (:data:`~dlcourse.grading.sandbox.ANSWER_KEY_FILE`,
  written by ``dlcourse release``), so the grading code students get judges without restating
  the answers. A judge that only checks what the homework states (shapes, parameter counts,
  slopes, modes) needs no key.

Checks have a visibility (``visible``: ships to students; ``after_due_date``/``hidden``: the hidden
checks of :data:`HIDDEN_PACKAGE`, which never ship). :func:`all_checks` collects both.

What the grader guarantees about a submission's code (details and the exact layers in
:mod:`dlcourse.grading.sandbox`):

* it **cannot change a verdict**: expected values are computed and compared in the grader's
  process; the probe's process sends back one JSON header and ``torch.save`` bytes, read with
  ``json`` and ``weights_only`` (never unpickled) within size limits and a deadline; a probe can
  report nothing better than "probed" (the judge decides), so patching the grader's functions in
  its own process changes nothing;
* it **cannot score with the reference's code**: in the probe's process the reference solution
  modules, the hidden checks and the answer keys cannot be imported or opened, and a submission
  that imports them scores 0 on that check with a message that says why;
* it gets a **memory cap** (per process), **no network**, a **scratch working folder** that is
  removed afterwards, and - kernel-enforced where the machine allows it, by an audit hook
  otherwise - **no writes elsewhere** (the grader, its results, other submissions), **no other
  processes**, no signals to the grader;
* **not guaranteed**: that it cannot *read* files its uid may read (the table in
  :mod:`dlcourse.grading.sandbox` says which uid in which setting; an autograder installed as root
  makes the reference and the hidden checks readable by root only with
  :func:`~dlcourse.grading.sandbox.restrict_reference_files`), nor a memory cap across processes.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import importlib.util
import io
import json
import multiprocessing as mp
import os
import select
import signal
import stat
import struct
import sys
import time
import traceback
import types
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dlcourse.grading import sandbox
from dlcourse.grading.sandbox import (
    ANSWER_KEY_FILE,
    HIDDEN_PACKAGE,
    KEY_PACKAGE,
    MEMORY_LIMIT_GIB,
    REFERENCE_PACKAGE,
    ReferenceImportError,
    SandboxViolation,
    is_out_of_memory,
    memory_limit,
)

#: Name under which a submission folder is imported (``submission.minimax.dynamics``).
SUBMISSION_PACKAGE = "submission"
#: Problem modules that define ``CHECKS``, in homework order.
CHECK_MODULES = ("dlcourse.grading.minimax", "dlcourse.grading.clip", "dlcourse.grading.gan")
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

    There is deliberately no single-function form that runs whole in the student's process: a verdict
    computed there could be forged by the code it judges.
    """

    id: str  # short id, e.g. "1a"
    question: str  # e.g. "Problem 1"
    title: str  # e.g. "(a) saddle point"
    points: float
    probe: str
    judge: str
    timeout: float = 60.0
    visibility: str = "visible"
    #: Memory cap of the probe's process (see :mod:`dlcourse.grading.sandbox`).
    memory_gib: float = MEMORY_LIMIT_GIB
    #: Keyword arguments of the probe, the judge and the key (plain data: the check's inputs). A hidden
    #: check reuses a visible check's probe, judge and key with other ``args``.
    args: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    #: The answer key, ``"module:function"`` in :data:`KEY_PACKAGE`: its value goes to the judge as ``key=``.
    key: str | None = None

    def __post_init__(self) -> None:
        if not (self.probe and self.judge):
            raise ValueError(f"check {self.id}: give a probe and a judge")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"check {self.id}: visibility {self.visibility!r} is not one of {VISIBILITIES}")
        if self.key is not None and (not self.key.startswith(KEY_PACKAGE + ".")):
            raise ValueError(f"check {self.id}: a key goes with a judge and lives in {KEY_PACKAGE} (found {self.key!r})")

    @property
    def name(self) -> str:
        return f"{self.question} {self.title}"

    @staticmethod
    def _load(ref: str) -> Callable:
        mod, _, fn = ref.partition(":")
        return getattr(importlib.import_module(mod), fn)

    def resolve(self) -> Callable[[Submission], object]:
        """The function that runs in the student's process: the probe, with :attr:`args`."""
        return functools.partial(self._load(self.probe), **self.args)

    def resolve_judge(self) -> Callable[[object], str | Verdict]:
        """The judge (with :attr:`args`, and ``key=`` its answer key when it has one), which runs in the grader's
        process. Raises :class:`AnswerKeyError` when the key cannot be had (a grader problem, not the student's)."""
        extra = {"key": answer_key(self)} if self.key else {}
        return functools.partial(self._load(self.judge), **self.args, **extra)


class AnswerKeyError(RuntimeError):
    """The answer key of a check is neither computable here nor stored: this copy of dlcourse is incomplete."""


#: Answer keys computed or read in this process, by (key function, digest of the arguments).
_KEYS: dict[tuple[str, str], object] = {}


def args_digest(args: dict) -> str:
    """A fingerprint of a check's arguments (the inputs its key is computed from)."""
    import hashlib

    text = json.dumps(args, sort_keys=True, default=repr, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def keys_available() -> bool:
    """Whether the key functions are here (the instructors' checkout, the autograder), not only stored keys."""
    try:
        return importlib.util.find_spec(KEY_PACKAGE) is not None
    except ModuleNotFoundError:
        return False


def compute_key(check: Check):
    """``key(**check.args)`` with the key function itself: one torch thread, the caller's random state untouched."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # keys are small computations; on a shared 2-core machine more threads only wait
    try:
        with torch.random.fork_rng(devices=[]):
            return Check._load(check.key)(**check.args)
    finally:
        torch.set_num_threads(threads)


def answer_key(check: Check):
    """The expected values the judge of ``check`` compares with (see the module docstring); cached per process.

    Computed by the key function where :data:`KEY_PACKAGE` exists; in a students' copy read from the
    stored keys of :data:`~dlcourse.grading.sandbox.ANSWER_KEY_FILE` (the visible checks' only),
    which must have been written for the same inputs. Treat the value as read-only: it is shared.
    """
    cache = (check.key, args_digest(check.args))
    if cache not in _KEYS:
        _KEYS[cache] = compute_key(check) if keys_available() else _stored_key(check, cache[1])
    return _KEYS[cache]


def answer_key_path() -> Path:
    """Where a students' copy keeps its stored answer keys."""
    return Path(__file__).resolve().parents[1] / ANSWER_KEY_FILE


@functools.cache
def stored_keys() -> dict:
    """The stored answer keys (``{check id: {"key", "args", "value"}}``), read with ``weights_only``."""
    import torch

    path = answer_key_path()
    if not path.is_file():
        raise AnswerKeyError(f"this copy of dlcourse has neither the answer keys ({KEY_PACKAGE}) nor the stored ones "
                             f"({path}), so its checks cannot judge anything: reinstall it from the release "
                             "(`pip install -e .` in the students' copy).")
    data = torch.load(path, weights_only=True)
    if not isinstance(data, dict) or data.get("format") != ANSWER_KEY_FORMAT:
        raise AnswerKeyError(f"{path} is not an answer key of this version of dlcourse: reinstall the students' "
                             "copy from the release.")
    return data["keys"]


#: Version of the stored answer key's layout (:func:`stored_keys`).
ANSWER_KEY_FORMAT = 1


def _stored_key(check: Check, digest: str):
    entry = stored_keys().get(check.id)
    if entry is None or entry.get("key") != check.key or entry.get("args") != digest:
        why = "holds no key for it" if entry is None else "holds its key for other inputs or another key function"
        raise AnswerKeyError(f"the stored answer key {answer_key_path()} {why} (check {check.id}, {check.key}): the "
                             "grading modules and the answer key come from different releases; reinstall the "
                             "students' copy from one release.")
    return entry["value"]


def stored_answer_keys(checks: Sequence[Check]) -> dict:
    """What :data:`~dlcourse.grading.sandbox.ANSWER_KEY_FILE` holds for ``checks`` (those with a key), computed
    with the key functions: ``dlcourse release`` writes it with the visible checks into the students' copy."""
    if not keys_available():
        raise AnswerKeyError(f"the answer keys ({KEY_PACKAGE}) are not here: write stored keys from the instructors' "
                             "checkout.")
    keys = {}
    for c in checks:
        if c.key:
            value = compute_key(c)
            try:
                decode_observations(encode_observations(value))  # what a students' copy will be able to read
            except Exception as e:  # noqa: BLE001 - named with the check whose key it is
                raise AnswerKeyError(f"the answer key of check {c.id} ({c.key}) is not plain data (numbers, strings, "
                                     f"lists, dicts, tensors), so it cannot be stored: {type(e).__name__}: "
                                     f"{str(e)[:300]}") from None
            keys[c.id] = {"key": c.key, "args": args_digest(c.args), "value": value}
    return {"format": ANSWER_KEY_FORMAT, "keys": keys}


class Submission:
    """Loads the student's modules (or the reference ones) by their reference module name.

    ``Submission(None)`` is the reference itself; ``Submission("exercises")`` a student folder.
    """

    def __init__(self, root: str | os.PathLike | None, shown_as: str | None = None):
        self.root = Path(root).resolve() if root is not None else None
        #: How messages name the folder (default: its path); a class's temporary copies are "<submission>".
        self.shown_as = shown_as

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

    def observe(self, fn: Callable, *args, convert: Callable = lambda v: v, **kwargs) -> dict:
        """Call the student's ``fn(*args, **kwargs)`` inside a probe; what happened, as plain data.

        ``{"value": convert(result)}``, or ``{"raised": "TypeError: ...\\n<traceback of your files>"}``,
        or ``{"not_implemented": "gda_step: your code here"}``. ``convert`` (grader code) turns the
        result into plain data; when it cannot, ``{"unreadable": repr(result)}``. The judge reads the
        entry with :func:`unwrap`; :func:`require_implemented` turns an all-stub part into the
        "not implemented" status.
        """
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError as e:
            return {"not_implemented": str(e) or getattr(fn, "__name__", "this function")}
        except Exception as e:  # noqa: BLE001 - any error in student code is an observation
            return {"raised": f"{type(e).__name__}: {e}\n{_short_traceback(e, self.root)}".rstrip()}
        try:
            return {"value": convert(result)}
        except Exception:  # noqa: BLE001 - a result of an unexpected type
            return {"unreadable": short_repr(result)}

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


#: Every status a result can have, best first.
STATUSES = ("passed", "partial", "failed", "not implemented", "error", "out of memory", "timeout", "crashed")


@dataclass
class Result:
    """The outcome of one check."""

    check: Check
    score: float
    status: str  # one of STATUSES
    message: str
    seconds: float = 0.0
    output: str = ""
    sandbox: list[str] = field(default_factory=list)  # the layers the probe's process reported

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _short_traceback(exc: BaseException, root: Path | None) -> str:
    """The last frames of ``exc``, keeping the student's files (or the last frame) only."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if root is not None and str(root) in f.filename] or frames[-1:]
    return "".join(traceback.format_list(mine[-3:])).rstrip()


def short_repr(value, limit: int = 300) -> str:
    try:
        text = repr(value)
    except Exception as e:  # noqa: BLE001 - a student's __repr__ may raise
        text = f"<{type(value).__name__} object; its repr raised {type(e).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unwrap(observed: dict, call: str):
    """The value of a :meth:`Submission.observe` entry, or :class:`CheckFailed` saying what happened in ``call``."""
    if "value" in observed:
        return observed["value"]
    if "not_implemented" in observed:
        raise CheckFailed(f"{call}: not implemented yet ({observed['not_implemented']}): fill in the function "
                          "and rerun.")
    if "raised" in observed:
        raise CheckFailed(f"{call}: your code raised {observed['raised']}")
    raise CheckFailed(f"{call}: expected a number or an array, found {observed.get('unreadable', '?')}.")


def require_implemented(*observed: dict) -> None:
    """In a probe: raise NotImplementedError when every call hit a stub (the part is not started)."""
    flat = [o for group in observed for o in (group if isinstance(group, (list, tuple)) else [group])]
    if flat and all("not_implemented" in o for o in flat):
        raise NotImplementedError(flat[0]["not_implemented"])


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


#: Statuses a probe's process may report: never "passed", which only the judge, in the grader's process, gives.
_CHILD_STATUSES = {"probed", "failed", "not implemented", "error", "crashed", "out of memory"}
#: Limits on what a probe's process may send back (larger answers are refused, not read).
MAX_HEADER_BYTES = 1 << 20
MAX_OBSERVATION_BYTES = 64 << 20
#: Characters of a submission's printed output kept in a result.
OUTPUT_CHARS = 4000
#: Modules the check server imports once; each probe forks from it. Never a reference solution module nor
#: a hidden check (a test imports these and looks); the visible problem modules hold the probes.
PRELOAD = ("torch", "torch._dynamo", "numpy", "dlcourse.grading.core", "dlcourse.grading.sandbox", *CHECK_MODULES)


def _outcome(check: Check, sub: Submission, fn: Callable | None = None, *, capture: bool = True) -> dict:
    """Run the student's half of ``check`` (its probe) here and now; never raises.

    Returns the fields of a :class:`Result`; when the probe finished, ``"observations"`` holds the
    encoded observations and the status is ``"probed"`` (the judge decides). ``capture``: collect printed
    output here (in a probe's process the file descriptors are redirected instead).
    """
    buf = io.StringIO()
    redirect = (contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf)) if capture else ()
    try:
        with contextlib.ExitStack() as stack:
            for r in redirect:
                stack.enter_context(r)
            data = encode_observations((fn or check.resolve())(sub))
        return {"status": "probed", "message": "", "output": buf.getvalue(), "observations": data}
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
        if is_out_of_memory(e):
            return {"status": "out of memory", "output": buf.getvalue(), "message": _memory_message(memory_limit(), e)}
        if isinstance(e, OSError) and e.errno == errno.EFBIG:  # RLIMIT_FSIZE (Python ignores SIGXFSZ)
            return {"status": "error", "output": buf.getvalue(), "message": (
                f"your code wrote a file (or printed) more than {sandbox.FILE_SIZE_LIMIT >> 20} MiB, the limit while "
                f"grading.\n{_short_traceback(e, sub.root)}\nHint: remove prints inside loops.")}
        if isinstance(e, (SandboxViolation, ReferenceImportError)):  # the message says it all
            return {"status": "error", "message": f"{e}\n{_short_traceback(e, sub.root)}", "output": buf.getvalue()}
        return {
            "status": "error",
            "message": f"your code raised {type(e).__name__}: {e}\n{_short_traceback(e, sub.root)}",
            "output": buf.getvalue(),
        }


def _memory_message(limit_bytes: int | None, exc: BaseException) -> str:
    detail = f"{type(exc).__name__}: {str(exc)[:200]}" if str(exc) else type(exc).__name__
    used = (f"used more than {limit_bytes / (1 << 30):.3g} GiB of memory, the limit for each part, and was stopped"
            if limit_bytes else "ran out of memory")
    return (f"your code {used} ({detail}). Hint: look for a tensor far larger than the inputs (a size computed wrongly, an "
            "outer product where an elementwise one was meant) or a list that grows in a loop.")


def _frame(payload: bytes) -> bytes:
    return struct.pack("!Q", len(payload)) + payload


def _child(check: Check, policy, conn) -> None:
    """Entry point of a probe's process: enter the sandbox, run the check, write the outcome to ``conn``.

    What it writes is one JSON header (status, message, output, sandbox layers) and, for a probe
    with status "probed", the ``torch.save`` bytes of its observations; each framed by its length.
    """
    import torch

    torch.set_num_threads(1)  # checks are small; one thread avoids oversubscribing the cores
    monitor = None
    try:
        # the probe's module loads with the reference already blocked (a probe that imports it fails), before
        # the process gives up its uid (the grader's files need not be readable by that uid)
        monitor, fn = sandbox.enter(policy, load=check.resolve)
        out_fd = os.open(os.path.join(policy.scratch, ".output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(out_fd, 1), os.dup2(out_fd, 2)  # also what C code and subprocesses print
        out = _outcome(check, Submission(policy.submission), fn, capture=False)
    except BaseException as e:  # noqa: BLE001 - the sandbox itself failed: report it, never run unsandboxed
        out = {"status": "error", "message": f"the grading sandbox could not start ({type(e).__name__}: {e})",
               "output": ""}
    with contextlib.suppress(Exception):
        sys.stdout.flush(), sys.stderr.flush()
        out["output"] = out.get("output", "") + _tail(Path(policy.scratch) / ".output")  # the student's file
    if monitor is not None:
        if monitor.reference_import:
            out = {**out, "status": "failed", "message": monitor.reference_import}
            out.pop("observations", None)
        elif monitor.refused and out["status"] == "probed":  # refused, but the student's code went on
            out["notes"] = "; ".join(monitor.refused[:3])
        elif monitor.refused and monitor.refused[0] not in out["message"]:
            out["message"] = f"{monitor.refused[0]}\n{out['message']}"
        out["sandbox"] = monitor.layers
    observations = out.pop("observations", None)
    data = memoryview(_frame(json.dumps(out).encode()) + (_frame(observations) if observations is not None else b""))
    while data:
        data = data[os.write(conn.fileno(), data):]
    conn.close()


def _read_frames(fd: int, deadline: float, want: Callable[[list[bytes]], bool], limit: int) -> tuple[list[bytes], str]:
    """Length-framed messages from ``fd`` until ``want(messages)``, end of file, ``deadline`` or ``limit`` bytes."""
    buf, messages = bytearray(), []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return messages, "timeout"
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return messages, "eof"
        buf += chunk
        while len(buf) >= 8:
            (n,) = struct.unpack("!Q", buf[:8])
            if n > limit:
                return messages, "too big"
            if len(buf) < 8 + n:
                break
            messages.append(bytes(buf[8:8 + n]))
            del buf[:8 + n]
        if len(buf) > limit + 8 or sum(map(len, messages)) > limit:
            return messages, "too big"
        if want(messages):
            return messages, "done"


def _parse_header(check: Check, data: bytes) -> dict | None:
    """The probe's JSON header, if it is well-formed and claims nothing a probe may not claim."""
    try:
        out = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(out, dict) or out.get("status") not in _CHILD_STATUSES:
        return None
    return {"status": out["status"], "message": str(out.get("message", ""))[:20_000],
            "output": str(out.get("output", ""))[-OUTPUT_CHARS:], "notes": str(out.get("notes", ""))[:2000],
            "sandbox": [str(x) for x in out.get("sandbox", [])][:20] if isinstance(out.get("sandbox"), list) else []}


def _run_isolated(check: Check, sub: Submission) -> dict:
    """Run the student's half of ``check`` in a sandboxed process forked from the check server."""
    jail = sandbox.Jail(sub.root, timeout=check.timeout, memory_gib=check.memory_gib)
    proc = None
    try:
        ctx = _context()
        recv, send = ctx.Pipe(duplex=False)  # only its file descriptors are used: see _child and _read_frames
        try:
            proc = ctx.Process(target=_child, args=(check, jail.policy, send), daemon=True)
            proc.start()
        finally:
            send.close()
        deadline = time.monotonic() + check.timeout

        def complete(messages: list[bytes]) -> bool:
            if not messages:
                return False
            head = _parse_header(check, messages[0])
            return head is None or head["status"] != "probed" or len(messages) >= 2

        try:
            messages, why = _read_frames(recv.fileno(), deadline, complete, MAX_OBSERVATION_BYTES + MAX_HEADER_BYTES)
        finally:
            recv.close()
        if why != "eof":  # it answered (nothing is left for it to do), ran out of time, or said too much
            proc.kill()
        if why != "done":  # its exit code may explain a crash
            proc.join(1)
            if proc.is_alive():  # closed its end of the pipe and went on running
                proc.kill()
                proc.join(1)
        out = _parse_header(check, messages[0]) if messages else None
        if why == "timeout":
            out = {"status": "timeout", "output": "",
                   "message": f"no answer within {check.timeout:.0f} s: an endless loop, or far too slow. "
                              "Hint: check your loop bounds and avoid Python loops over tensor elements."}
        elif why == "too big":
            out = {"status": "error", "output": "", "message": "your code's results were larger than "
                   f"{(MAX_OBSERVATION_BYTES + MAX_HEADER_BYTES) >> 20} MiB: return what the docstring asks for."}
        elif out is None and messages:
            out = {"status": "crashed", "output": "", "message": "the process running your code sent back "
                   "something that is not a result (did your code write to the grader's pipe?)"}
        elif out is None:
            code = proc.exitcode
            out = {"status": "crashed", "output": "",
                   "message": f"the process running your code died (exit code {code}): did it call os._exit, "
                              "segfault, or run out of memory?"}
            if code == -signal.SIGXCPU:
                out["message"] = f"your code used more than {jail.policy.cpu_seconds} s of CPU time and was stopped."

        elif out["status"] == "probed":
            out["observations"] = messages[1] if len(messages) > 1 else b""
        if not out.get("output"):  # timed out or died: what it printed may say why
            out["output"] = _tail(jail.scratch / ".output")
        for key in ("message", "output", "notes"):
            if key in out:
                out[key] = jail.unmap(out[key], sub.shown_as)
        _warn_if_unprotected(out.get("sandbox", []), sub)
        return out
    finally:
        jail.close(proc.pid if proc is not None and proc.pid else None)


_WARNED = False


def _warn_if_unprotected(layers: list[str], sub: Submission) -> None:
    """Once per process, as root: say so when nothing kernel-enforced keeps a probe from writing elsewhere."""
    global _WARNED
    if _WARNED or sub.root is None or not layers or os.geteuid() != 0:
        return
    if not any("read-only" in layer or "unprivileged uid" in layer for layer in layers):
        _WARNED = True
        print("dlcourse grading: WARNING: here only an audit hook keeps student code from writing outside its "
              "scratch folder (no mount namespace, and Python is not readable by other users, so probes cannot run "
              "under a uid of their own). Install Python readable by other users (as on Gradescope's images), or "
              "grade where mount namespaces are allowed.", file=sys.stderr, flush=True)


def _tail(path: Path) -> str:
    """The last :data:`OUTPUT_CHARS` of a probe's output file (written by the probe: no links followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            return ""
        f.seek(max(0, st.st_size - 4 * OUTPUT_CHARS))
        return f.read().decode("utf-8", "replace")[-OUTPUT_CHARS:]


_CONTEXT: mp.context.BaseContext | None = None


def _context() -> mp.context.BaseContext:
    """A forkserver context that imports torch once; each check forks from it in milliseconds."""
    global _CONTEXT
    if _CONTEXT is None:
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        _CONTEXT = mp.get_context(method)
        if method == "forkserver":
            _CONTEXT.set_forkserver_preload(list(PRELOAD))
    return _CONTEXT


def run_check(check: Check, sub: Submission, *, isolate: bool = True) -> Result:
    """Run one check against a submission: by default in a sandboxed process with a timeout
    (:mod:`dlcourse.grading.sandbox`); ``isolate=False`` runs it here, unprotected (debugging only)."""
    t0 = time.perf_counter()
    out = _outcome(check, sub) if not isolate else _run_isolated(check, sub)
    fraction = 0.0
    if out["status"] == "probed":
        fraction, out = _judge(check, out)
    notes = out.pop("notes", "")
    if notes:
        out["message"] += f"\n(Note: {notes})"
    return Result(check=check, score=check.points * fraction, seconds=time.perf_counter() - t0, **out)


def _judge(check: Check, probed: dict) -> tuple[float, dict]:
    """Judge a probe's observations in this process; returns the fraction of points and the outcome."""
    out = {k: v for k, v in probed.items() if k != "observations"}
    judge = check.resolve_judge()  # a key that cannot be had is the grader's problem: raised, not blamed on the code
    try:
        verdict = judge(decode_observations(probed["observations"]))
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


def grade(root: str | os.PathLike | None, checks: Sequence[Check] | None = None, *, isolate: bool = True,
          on_result: Callable[[Result], None] | None = None, shown_as: str | None = None) -> list[Result]:
    """Grade a submission folder (``None``: the reference) with ``checks`` (default: all); messages name the
    folder ``shown_as`` (default: its path)."""
    sub = Submission(root, shown_as)
    results = []
    with sandbox.shared_copy(root if isolate else None):  # one copy of the submission for all its probes
        for check in checks if checks is not None else all_checks():
            r = run_check(check, sub, isolate=isolate)
            results.append(r)
            if on_result:
                on_result(r)
    return results


@dataclass
class Report:
    """Scores per question and in total, renderable as a table, Gradescope's ``results.json`` or a gradebook row."""

    results: list[Result]
    questions: dict[str, float] = field(default_factory=lambda: dict(QUESTION_POINTS))

    @property
    def score(self) -> float:
        return _round(sum(r.score for r in self.results))

    def by_question(self) -> dict[str, tuple[float, float]]:
        """``{question: (score, max)}`` for the questions that have checks."""
        out: dict[str, tuple[float, float]] = {}
        for r in self.results:
            s, m = out.get(r.check.question, (0.0, 0.0))
            out[r.check.question] = (_round(s + r.score), _round(m + r.check.points))
        return out

    @property
    def max_score(self) -> float:
        return _round(sum(m for _, m in self.by_question().values()))

    @property
    def status(self) -> str:
        """The worst status of any check (``"passed"`` when all passed): the gradebook's status column."""
        return max((r.status for r in self.results), key=STATUSES.index, default="passed")

    def table(self, width: int = 100) -> str:
        """A plain-text table: each check's points (partial credit as e.g. ``0.25/0.5``) and status, its
        message below it (indented, wrapped to ``width``), then the points per question and in total."""
        import textwrap

        name_w = min(56, max([len(r.check.name) for r in self.results] + [len("Total")]))
        lines = [f"{'part':<{name_w}}  {'points':>9}  status", "-" * width]
        for r in self.results:
            lines.append(f"{r.check.name:<{name_w}.{name_w}}  {_pts(r.score, r.check.points):>9}  {r.status}")
            for line in (r.message or "").splitlines():
                lines += textwrap.wrap(line, width, initial_indent="    ", subsequent_indent="      ") or [""]
        lines.append("-" * width)
        for q, (s, m) in self.by_question().items():
            lines.append(f"{q:<{name_w}}  {_pts(s, m):>9}")
        lines.append(f"{'Total':<{name_w}}  {_pts(self.score, self.max_score):>9}")
        return "\n".join(lines)

    def gradescope(self, extra_data: dict | None = None) -> dict:
        """Gradescope's ``results.json``: every field it reads (see its autograder specification).

        Each check is a test with its own visibility: hidden checks show ``after_due_date``, and so
        nothing printed at the top level depends on them. A partial score is a ``failed`` test with
        its score; its output starts with the points and the cases that failed.
        """
        visible = [r for r in self.results if r.check.visibility == "visible"]
        lines = [f"Checks visible now: {_pts(sum(r.score for r in visible), sum(r.check.points for r in visible))} "
                 "points."]
        later = [r for r in self.results if r.check.visibility != "visible"]
        if later:
            lines.append(f"{len(later)} more checks on other inputs ({_round(sum(r.check.points for r in later)):g} "
                         "points) are graded now and shown after the due date.")
        return {
            "score": self.score,
            "execution_time": round(sum(r.seconds for r in self.results), 2),
            "output": "\n".join(lines),
            "output_format": "text",
            "test_output_format": "text",
            "test_name_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",  # the grader's log holds every check's message, hidden ones too
            "extra_data": dict(extra_data or {}),
            "tests": [self._test(r) for r in self.results],
        }

    @staticmethod
    def _test(r: Result) -> dict:
        header = {"passed": "Passed.", "partial": f"Partial credit: {_pts(r.score, r.check.points)} points."}.get(
            r.status, f"{r.status.capitalize()}: {_pts(r.score, r.check.points)} points.")
        output = f"{header}\n{r.message}".rstrip()
        if r.output:
            output += f"\n\n--- your code printed (last {OUTPUT_CHARS} characters) ---\n{r.output[-OUTPUT_CHARS:]}"
        return {
            "name": r.check.name,
            "number": r.check.id,
            "score": _round(r.score),
            "max_score": r.check.points,
            "status": "passed" if r.passed else "failed",
            "output": output,
            "output_format": "text",
            "visibility": r.check.visibility,
            "tags": [r.check.question, r.status, "hidden cases" if r.check.visibility != "visible" else "visible cases"],
            "extra_data": {"status": r.status, "seconds": round(r.seconds, 3)},
        }

    def write_gradescope(self, path: str | os.PathLike, extra_data: dict | None = None) -> None:
        from dlcourse.io import write_json_atomic

        write_json_atomic(path, self.gradescope(extra_data))

    def gradebook_row(self) -> dict[str, float | str]:
        """``{check id: score, ..., "total": score, "status": worst status}`` for a class gradebook."""
        return {**{r.check.id: _round(r.score) for r in self.results}, "total": self.score, "status": self.status}

    def to_json(self) -> str:
        return json.dumps([{**{k: v for k, v in asdict(r.check).items() if k != "args"},
                            **{k: v for k, v in asdict(r).items() if k != "check"}} for r in self.results], indent=2)


def _round(x: float) -> float:
    """Scores to 4 decimals: sums of halves and quarters print as 2.75, not 2.7499999999999996."""
    return round(float(x), 4) + 0.0


def _pts(score: float, points: float) -> str:
    return f"{_round(score):g}/{_round(points):g}"
