"""The leak scan: does a tree that students get hold any line of the homework's answers?

The answers are (a) every line between the solution markers of the reference package (the comment
lines ``BEGIN SOLUTION`` / ``END SOLUTION``, :data:`dlcourse.stubs.BEGIN`), (b) every line of a code cell tagged ``solution`` in ``solutions/*.md`` and (c) every line
of a Markdown passage between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` there - the
three things :mod:`dlcourse.stubs` removes when it writes the student files.

:func:`scan` looks for each *non-trivial* answer line (:func:`is_trivial`) in every file of a tree:
in its bytes as they are, in its text with all whitespace removed (so re-indenting or re-spacing a
line does not hide it), inside JSON strings (a notebook stores ``"`` as ``\\"`` and lines as
``"...\\n"``), and inside zip archives (a wheel, a zipped folder), recursively. ``dlcourse release``
runs it on the student tree it built and releases nothing when it finds a line other than the
:data:`KNOWN` ones - and there are none: no answer line ships.

What counts as trivial (skipped): lines that any code or text may hold without telling anything
about the answer: shorter than :data:`MIN_CHARS` characters once stripped (``return x``, ``)``,
``else:``, ``$$``), or naming fewer than :data:`MIN_WORDS` things - names and numbers, Python
keywords and ``self`` not counted: ``loss.backward()``, ``with torch.no_grad():``,
``fake = generator(noise)``, ``nn.BatchNorm2d(64),``, ``\\begin{aligned}``. Such idioms occur in
any PyTorch code (the harness's trainers, the grader's fixtures) and alone give nothing away.
Everything else is looked for, comments and prose included.

What a line scan cannot see: the same computation written with other names or split differently.
That is kept out by construction rather than by the scan: a visible judge never computes what it
expects - it compares with its check's *answer key* (:mod:`dlcourse.grading.core`), computed by
:mod:`dlcourse.grading.keys`, which the students' copy does not get (it gets the keys' values on the
public inputs, ``dlcourse/grading/answer_key.pt``); the fixtures a probe needs are not the
homework's (the step checks run the student's step with stand-in losses); and the release's test
runs every visible judge of the students' copy without the key package. What the copy still holds
of each part, and the scan does not look for: what the homework and the stubs' docstrings state
(shapes, parameter counts, slopes, modes, the formulas in words), the hints that name a mistake,
and those expected values - data for the public inputs, not a way to compute them.
"""

from __future__ import annotations

import io
import json
import keyword
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Stripped answer lines shorter than this are not looked for (``return x``, ``else:``, ``$$``).
MIN_CHARS = 12
#: ... nor those naming fewer things (names and numbers; keywords and ``self`` do not count).
MIN_WORDS = 4
_NOT_WORDS = frozenset(keyword.kwlist) | {"self", "cls"}
#: Archives are opened this deep (a zip in a zip in a zip).
MAX_DEPTH = 3


@dataclass(frozen=True)
class AnswerLine:
    """One line of an answer: its stripped text and where it comes from (``dlcourse/gan/model.py:41``)."""

    text: str
    source: str


@dataclass(frozen=True)
class Leak:
    """An answer line found in a file of the scanned tree."""

    line: AnswerLine
    path: str  # relative to the tree; ``a.zip!b/c.py`` for a member of an archive

    def __str__(self) -> str:
        return f"{self.path}: {self.line.text!r} (from {self.line.source})"


def is_trivial(line: str) -> bool:
    """Whether an answer line is too generic to be looked for (see the module docstring)."""
    s = line.strip()
    words = [w for w in re.findall(r"[A-Za-z_]\w*|\d+(?:\.\d+)?", s) if w not in _NOT_WORDS]
    return len(s) < MIN_CHARS or len(words) < MIN_WORDS


def _region_lines(lines: list[str], begin: str, end: str) -> Iterable[tuple[int, str]]:
    """``(line number, line)`` of every line strictly between ``begin`` and ``end`` marker lines."""
    inside = False
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if s == begin:
            inside = True
        elif s == end:
            inside = False
        elif inside:
            yield i, line


def answer_lines(repo: Path) -> list[AnswerLine]:
    """Every non-trivial answer line of the reference (``repo/dlcourse``) and of ``repo/solutions/*.md``."""
    import jupytext

    from dlcourse import stubs

    package = repo / "dlcourse"
    out: list[AnswerLine] = []
    for rel in stubs.solution_modules(package):
        lines = (package / rel).read_text(encoding="utf-8").splitlines()
        out += [AnswerLine(line.strip(), f"dlcourse/{rel.as_posix()}:{i}")
                for i, line in _region_lines(lines, stubs.BEGIN, stubs.END)]
    for md in sorted((repo / "solutions").glob("*.md")):
        text = md.read_text(encoding="utf-8")
        lines = text.splitlines()
        out += [AnswerLine(line.strip(), f"solutions/{md.name}:{i}")
                for i, line in _region_lines(lines, stubs.MD_BEGIN, stubs.MD_END)]
        if "format_name: myst" not in text:
            continue
        for k, cell in enumerate(jupytext.reads(text, fmt="myst").cells):
            if cell.cell_type == "code" and stubs.SOLUTION_TAG in cell.metadata.get("tags", []):
                out += [AnswerLine(line.strip(), f"solutions/{md.name}, solution cell {k}")
                        for line in cell.source.splitlines()]
    seen: set[str] = set()
    unique = []
    for a in out:
        if not is_trivial(a.text) and a.text not in seen:
            seen.add(a.text)
            unique.append(a)
    return unique


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _json_strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _json_strings(v)


def _haystacks(data: bytes) -> tuple[bytes, str]:
    """The forms a file is searched in: its bytes, and its text (JSON strings decoded) without whitespace."""
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith(("{", "[")):
        try:
            text += "\n" + "\n".join(_json_strings(json.loads(text)))
        except ValueError:
            pass
    return data, _squeeze(text)


def _scan_bytes(data: bytes, where: str, needles: list[tuple[AnswerLine, bytes, str]], depth: int) -> list[Leak]:
    raw, squeezed = _haystacks(data)
    leaks = [Leak(a, where) for a, b, s in needles if b in raw or s in squeezed]
    if data[:4] == b"PK\x03\x04" and depth < MAX_DEPTH:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        leaks += _scan_bytes(zf.read(info), f"{where}!{info.filename}", needles, depth + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as e:
            leaks.append(Leak(AnswerLine("<archive that cannot be read>", str(e)), where))
    return leaks


def scan(tree: Path, answers: list[AnswerLine]) -> list[Leak]:
    """Every answer line found in any file under ``tree`` (links are reported, not followed)."""
    needles = [(a, a.text.encode("utf-8"), _squeeze(a.text)) for a in answers]
    leaks: list[Leak] = []
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree).as_posix()
        if path.is_symlink():
            leaks.append(Leak(AnswerLine("<a link: the scan does not follow links>", str(path.readlink())), rel))
        elif path.is_file():
            leaks += _scan_bytes(path.read_bytes(), rel, needles, 0)
    return leaks


@dataclass(frozen=True)
class Known:
    """An answer line that ships today, accepted until its owner removes it: where, and why it is there."""

    path: str
    text: str
    why: str


#: Answer lines accepted in the student tree, each with where and why (``dlcourse release`` prints them as a
#: warning and refuses any other; the release test fails when one no longer ships, so the list only shrinks).
#: Empty: no answer line ships.
KNOWN: tuple[Known, ...] = ()


def unexpected(leaks: list[Leak]) -> list[Leak]:
    """The leaks that are not :data:`KNOWN`."""
    known = {(k.path, k.text) for k in KNOWN}
    return [leak for leak in leaks if (leak.path, leak.line.text) not in known]
