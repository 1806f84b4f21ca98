"""Grade a class: one folder or zip per student in, a CSV gradebook and one ``results.json`` each out.

``dlcourse grade --batch DIR --csv gradebook.csv`` calls :func:`grade_class`. Each entry of DIR is
one student (named after the folder, or the zip without ``.zip``):

* a **zip** is opened without trusting it: members with absolute paths or ``..`` (zip-slip),
  links, more than :data:`MAX_FILES` files, a file over :data:`MAX_FILE_BYTES` or more than
  :data:`MAX_TOTAL_BYTES` in all (counted while reading, so a zip bomb's false sizes do not
  help), encryption, or not a zip at all: the student's row says which, and nothing is graded;
* a **folder** is read the same way (its links are not followed).

Only ``.py`` files are kept, in a private temporary folder, then laid out like the package
(:func:`layout`): the submission.zip that ``dlcourse submit`` writes (``minimax/…``, ``clip/…``,
``gan/…``, possibly inside one top folder) is used as it is; files uploaded flat are put where
their names say, and a name that two problems share (``model.py``, ``step.py``) goes where the
classes and functions it defines belong - or the row says the file could not be placed. Then
:func:`dlcourse.grading.core.grade` grades it, every check in its own sandboxed process, so a
crash, hang or hostile file costs that student's checks only. A failure of the grader itself on
one student is recorded in that student's row, and the batch goes on.

Output: ``OUT/<student>/results.json`` (Gradescope's format) as each student finishes, and the
gradebook CSV (student, one column per check, total, status, note), rewritten atomically after
each student so an interrupted batch keeps what it graded.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import functools
import io
import os
import re
import shutil
import stat
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dlcourse.errors import DlcourseError

#: Limits on one submission (a homework is a dozen small .py files).
MAX_FILES = 500
MAX_FILE_BYTES = 2 << 20
MAX_TOTAL_BYTES = 20 << 20


class Refused(Exception):
    """A submission that cannot be graded as it is; the message goes into the student's row."""


@dataclass
class Row:
    """One student's line in the gradebook."""

    student: str
    scores: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    status: str = "passed"
    note: str = ""
    seconds: float = 0.0


# ------------------------------------------------------------------------------- reading safely
def _safe_name(name: str) -> PurePosixPath:
    """A member name as a relative path, or :class:`Refused` for absolute paths and ``..`` (zip-slip)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name) or ".." in path.parts:
        raise Refused(f"the zip holds a file named {name!r}, outside the zip's own folder; refusing it. "
                      "Hint: zip the homework files themselves (`dlcourse submit` writes such a zip).")
    return path


def _keep(path: PurePosixPath) -> bool:
    return path.suffix == ".py" and not any(p.startswith(".") or p == "__pycache__" or p == "__MACOSX"
                                            for p in path.parts)


def read_zip(zip_path: Path, dest: Path) -> list[str]:
    """Extract the ``.py`` files of ``zip_path`` into ``dest`` within the limits; the names of other files."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise Refused(f"{zip_path.name} is not a readable zip ({e}). Hint: upload the zip that `dlcourse submit` "
                      "writes, or your .py files.") from None
    ignored, total = [], 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES:
            raise Refused(f"the zip holds {len(infos)} files (more than {MAX_FILES}); upload the homework files only.")
        for info in infos:
            path = _safe_name(info.filename)
            if info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise Refused(f"the zip holds a link ({info.filename}); refusing it. Upload plain files.")
            if info.flag_bits & 0x1:
                raise Refused(f"{info.filename} in the zip is encrypted; upload it without a password.")
            if not _keep(path):
                ignored.append(info.filename)
                continue
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                size = 0
                while chunk := src.read(1 << 16):
                    size += len(chunk)
                    total += len(chunk)
                    if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                        raise Refused(f"{info.filename} is larger than {MAX_FILE_BYTES >> 20} MiB (or the zip's .py "
                                      f"files together more than {MAX_TOTAL_BYTES >> 20} MiB): not homework code.")
                    out.write(chunk)
    return ignored


def read_folder(folder: Path, dest: Path) -> list[str]:
    """Copy the ``.py`` files of ``folder`` into ``dest`` within the limits (links are not followed)."""
    ignored, total, count = [], 0, 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            src = Path(dirpath) / name
            rel = PurePosixPath(src.relative_to(folder).as_posix())
            count += 1
            if count > MAX_FILES:
                raise Refused(f"the folder holds more than {MAX_FILES} files; hand in the homework files only.")
            st = src.lstat()
            if not _keep(rel) or not stat.S_ISREG(st.st_mode):
                ignored.append(str(rel))
                continue
            total += st.st_size
            if st.st_size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                raise Refused(f"{rel} is larger than {MAX_FILE_BYTES >> 20} MiB (or the .py files together more "
                              f"than {MAX_TOTAL_BYTES >> 20} MiB): not homework code.")
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel, follow_symlinks=False)
    return ignored


# ----------------------------------------------------------------------------------- the layout
@functools.cache
def expected_files() -> dict[str, frozenset[str]]:
    """``{"gan/model.py": its words, ...}``: the files a submission holds, from the reference, with the
    words (identifiers and docstring words) that tell files of the same name apart (:func:`_words`).

    The students' copy has no reference: there the names come from :data:`dlcourse.parts.MODULES`, without
    words, so a student can check a submission.zip before uploading it (flat files of a shared name are
    then refused, not placed)."""
    from dlcourse import parts, stubs

    out = {rel.as_posix(): _words((stubs.PACKAGE_DIR / rel).read_text(encoding="utf-8"))
           for rel in stubs.solution_modules()}
    return out or {f"{p}/{m}.py": frozenset() for p, mods in parts.MODULES.items() for m in mods}


def _words(source: str) -> frozenset[str]:
    """Identifiers and words of a source file (read as text, never run): names, parameters, docstrings."""
    return frozenset(re.findall(r"[a-z_][a-z0-9_]{2,}", source.lower()))


def _defined_names(source: str) -> set[str]:
    """Top-level classes and functions of a module, found without running it."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not n.name.startswith("_")}


def _which(source: str, candidates: list[str], expected: dict[str, frozenset[str]]) -> str | None:
    """The candidate whose own words (those the other candidates lack) the file uses most; None if unclear."""
    words = _words(source)
    common = frozenset.intersection(*(expected[c] for c in candidates))
    score = {c: len(words & (expected[c] - common)) for c in candidates}
    ranked = sorted(candidates, key=lambda c: -score[c])
    best, second = score[ranked[0]], score[ranked[1]]
    return ranked[0] if best >= 3 and best >= 2 * second else None


def _defining(rel: str) -> set[str]:
    from dlcourse import stubs

    path = stubs.PACKAGE_DIR / rel
    return _defined_names(path.read_text(encoding="utf-8")) if path.is_file() else set()  # none: students' copy


def _plain_name(name: str) -> str:
    """``model (1).py`` -> ``model.py`` (browsers and LMSs number repeated downloads)."""
    return re.sub(r"\s*\(\d+\)(?=\.py$)", "", name)


def layout(src: Path, dest: Path) -> list[str]:
    """Lay the ``.py`` files found under ``src`` out in ``dest`` like the package; notes for the student's row.

    The package layout (``minimax/steps.py``, ...) wherever it starts (the folder holding most of
    the expected files wins); otherwise flat files by name and, for shared names, by what they define.
    """
    expected = expected_files()
    files = sorted(p for p in src.rglob("*.py") if p.is_file())
    best, best_hits = None, 0
    for folder in {src, *(p.parent for p in files), *(p.parent.parent for p in files)}:
        if folder != src and src not in folder.parents:
            continue
        hits = sum((folder / rel).is_file() for rel in expected)
        if hits > best_hits or (hits == best_hits and best is not None and len(folder.parts) < len(best.parts)):
            best, best_hits = folder, hits
    if best is not None and best_hits:
        shutil.copytree(best, dest, dirs_exist_ok=True)
        outside = [p.relative_to(src).as_posix() for p in files if best not in p.parents]
        return [f"ignored files outside {best.relative_to(src).as_posix() or 'the top folder'}: "
                + ", ".join(outside)] if outside else []
    by_name: dict[str, list[str]] = {}
    for rel in expected:
        by_name.setdefault(PurePosixPath(rel).name, []).append(rel)
    placed: dict[str, Path] = {}
    helpers, notes = [], []
    for f in files:
        candidates = by_name.get(_plain_name(f.name), [])
        if not candidates:
            helpers.append(f)
            continue
        if len(candidates) == 1:
            target = candidates[0]
        else:
            target = _which(f.read_text(encoding="utf-8", errors="replace"), candidates, expected)
            if target is None:
                raise Refused(f"could not tell where {f.relative_to(src).as_posix()} belongs: "
                              + " or ".join(c + (f" (defines {', '.join(sorted(d))})" if (d := _defining(c)) else "")
                                             for c in candidates)
                              + ". Hint: hand in the submission.zip that `dlcourse submit` writes (files inside "
                              "their problem folders).")
        if target in placed:
            raise Refused(f"two files would both be {target}: {placed[target].relative_to(src).as_posix()} and "
                          f"{f.relative_to(src).as_posix()}. Hint: hand in one version of each file.")
        placed[target] = f
    if not placed:
        raise Refused("no homework file found (expected names such as "
                      + ", ".join(sorted(expected)[:4]) + "). Hint: hand in the submission.zip that "
                      "`dlcourse submit` writes.")
    for target, f in placed.items():
        (dest / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest / target)
    for folder in {PurePosixPath(t).parent for t in placed}:  # helpers the student's files may import relatively
        for h in helpers:
            shutil.copyfile(h, dest / folder / h.name)
    notes.append("files uploaded flat, placed as " + ", ".join(f"{f.name} -> {t}" for t, f in sorted(placed.items())))
    return notes


# --------------------------------------------------------------------------------- the class
def students(folder: Path) -> list[Path]:
    """The entries of ``folder`` that are students: every folder and file except hidden ones."""
    if not folder.is_dir():
        raise DlcourseError(f"{folder} is not a folder: --batch takes a folder holding one folder or .zip per student.")
    return sorted((p for p in folder.iterdir() if not p.name.startswith((".", "__"))), key=lambda p: p.name.lower())


def student_name(entry: Path) -> str:
    name = entry.stem if entry.is_file() else entry.name
    return re.sub(r"[^\w.@+-]+", "_", name).strip("._") or "student"


@contextlib.contextmanager
def prepared(entry: Path):
    """A private temporary copy of one submission (folder or zip) laid out like the package: ``(root, notes)``.

    Raises :class:`Refused` when it cannot be graded as it is.
    """
    with tempfile.TemporaryDirectory(prefix="dlcourse-student-") as tmp:
        raw, sub = Path(tmp) / "raw", Path(tmp) / "submission"
        raw.mkdir()
        sub.mkdir()
        if entry.is_dir():
            ignored = read_folder(entry, raw)
        elif entry.name.lower().endswith(".zip") and entry.is_file():
            ignored = read_zip(entry, raw)
        else:
            raise Refused(f"{entry.name} is neither a folder nor a .zip: nothing to grade.")
        notes = layout(raw, sub)
        if ignored:
            notes.append(f"{len(ignored)} files other than .py ignored")
        yield sub, notes


def grade_entry(entry: Path, name: str, checks: Sequence, out_dir: Path) -> Row:
    """Grade one student's folder or zip; never raises (a problem becomes the row's status and note)."""
    from dlcourse.grading import core

    row = Row(name, {c.id: 0.0 for c in checks})
    t0 = time.perf_counter()
    try:
        with prepared(entry) as (sub, notes):
            report = core.Report(core.grade(sub, checks, shown_as="<submission>"))
        row.scores = {k: v for k, v in report.gradebook_row().items() if k not in ("total", "status")}
        row.total, row.status, row.note = report.score, report.status, "; ".join(notes)
        report.write_gradescope(out_dir / name / "results.json",
                                extra_data={"student": name, "source": entry.name, "notes": notes})
    except Refused as e:
        row.status, row.note = "refused", str(e)
        _write_refusal(out_dir / name / "results.json", checks, str(e))
    except Exception as e:  # noqa: BLE001 - the grader failed on this student: record it, go on with the class
        row.status, row.note = "grader error", f"{type(e).__name__}: {e}"
    row.seconds = time.perf_counter() - t0
    return row


def _write_refusal(path: Path, checks: Sequence, message: str) -> None:
    from dlcourse.grading import core

    results = [core.Result(check=c, score=0.0, status="failed", message=message) for c in checks]
    core.Report(results).write_gradescope(path, extra_data={"refused": message})


def write_gradebook(path: Path, rows: Sequence[Row], check_ids: Sequence[str]) -> None:
    """The CSV gradebook: student, one column per check, total, status, note (atomically)."""
    from dlcourse.io import write_text_atomic

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student", *check_ids, "total", "status", "note"])
    for r in rows:
        w.writerow([r.student, *(f"{r.scores.get(c, 0.0):g}" for c in check_ids), f"{r.total:g}", r.status, r.note])
    write_text_atomic(path, buf.getvalue())


def summary(rows: Sequence[Row], max_score: float) -> str:
    """A few lines for the end of a batch: scores, statuses, refused submissions, time per student."""
    if not rows:
        return "no submissions graded"
    graded = [r for r in rows if r.status not in ("refused", "grader error")]
    totals = [r.total for r in graded]
    lines = [f"{len(rows)} submissions: {len(graded)} graded, "
             f"{sum(r.status == 'refused' for r in rows)} refused, {sum(r.status == 'grader error' for r in rows)} "
             "grader errors"]
    if totals:
        lines.append(f"total score: mean {statistics.mean(totals):.2f}, median {statistics.median(totals):g}, "
                     f"min {min(totals):g}, max {max(totals):g} (of {max_score:g}); "
                     f"{sum(t == max_score for t in totals)} full marks")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append("worst status per submission: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    lines.append(f"time: {sum(r.seconds for r in rows):.0f} s, {statistics.mean(r.seconds for r in rows):.1f} s "
                 f"per submission (slowest {max(rows, key=lambda r: r.seconds).student}, "
                 f"{max(r.seconds for r in rows):.1f} s)")
    for r in rows:
        if r.status in ("refused", "grader error"):
            lines.append(f"  {r.student}: {r.status}: {r.note}")
    return "\n".join(lines)


def grade_class(folder: str | os.PathLike, gradebook: str | os.PathLike, checks: Sequence, *,
                results_dir: str | os.PathLike | None = None, progress: bool = True,
                on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """Grade every student of ``folder``; write ``results_dir/<student>/results.json`` and the CSV ``gradebook``."""
    from tqdm.auto import tqdm

    entries = students(Path(folder))
    gradebook = Path(gradebook)
    out_dir = Path(results_dir) if results_dir else gradebook.with_name(gradebook.stem + "-results")
    ids = [c.id for c in checks]
    rows: list[Row] = []
    names: dict[str, int] = {}
    with tqdm(entries, desc="grading", unit="student", disable=not progress) as bar:
        for entry in bar:
            bar.set_postfix_str(entry.name[:30])
            name = student_name(entry)
            names[name] = names.get(name, 0) + 1
            if names[name] > 1:  # a folder and a zip with one name: keep both apart
                name = f"{name}~{names[name]}"
            rows.append(grade_entry(entry, name, checks, out_dir))
            with contextlib.suppress(OSError):
                write_gradebook(gradebook, rows, ids)
            if on_row:
                on_row(rows[-1])
    write_gradebook(gradebook, rows, ids)
    return rows
