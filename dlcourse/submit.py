"""``dlcourse submit``: the one PDF a student hands in, and the zip of their code for the autograder.

::

    dlcourse submit                      # exercises/notebooks/{minimax,clip,gan}.ipynb -> submission.pdf
    dlcourse submit my.ipynb --out hw3.pdf

The PDF is a cover page (from ``exercises/ABOUT.md``: name, collaborators, tools used) followed by
each executed notebook - explanations, code, outputs, figures and typeset math - in the order
given. The pipeline uses the field's tools: nbconvert turns the notebooks into one HTML page (its
JupyterLab template, with the local MathJax of :func:`dlcourse.browser.mathjax_dir` instead of a
CDN), headless Chromium typesets and prints it (:mod:`dlcourse.browser`); nothing is fetched from
the network. ``submission.zip`` beside the PDF holds the code files of ``exercises/`` in their
folder layout (``exercises/minimax/*.py``, ``exercises/clip/*.py``, ``exercises/gan/*.py``).

Nothing is written when something is wrong: a notebook never executed, not run top to bottom
(execution counts not 1, 2, ..., n), with an error output or a ``NotImplementedError``, an
``ABOUT.md`` still as generated, math that does not typeset, a missing image. Every problem is
listed at once; ``--force`` writes anyway and prints the problems on the cover page, so a grader
sees them too.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import html
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlcourse import __version__
from dlcourse.errors import DlcourseError
from dlcourse.io import atomic_path, write_text_atomic

#: The homework's notebooks in homework order, in ``<exercises>/notebooks``.
DEFAULT_NOTEBOOKS = ("minimax.ipynb", "clip.ipynb", "gan.ipynb")
#: The folders of ``exercises/`` that hold a student's code, one per problem.
CODE_FOLDERS = ("minimax", "clip", "gan")
#: The sections the cover needs, in the order of :data:`ABOUT_TEMPLATE`.
ABOUT_SECTIONS = ("Name", "Collaborators", "Tools used")
#: What ``dlcourse submit`` writes to ``exercises/ABOUT.md`` when the file is missing.
#:
#: :meta hide-value:
ABOUT_TEMPLATE = """\
# About this submission

<!-- This page becomes the cover of your PDF. Replace each line in <angle brackets> with your
     answer (write "none" where nothing applies), save, and run `dlcourse submit`. -->

## Name

<your full name, and your student ID if your course uses one>

## Collaborators

<who you discussed the homework with, and on which problems; or "none">

## Tools used

<software, websites and AI assistants that helped, and for what (e.g. "ChatGPT: explained the BCE
loss; the code is mine"); or "none">
"""
PAPER_INCHES = {"letter": (8.5, 11.0), "a4": (8.27, 11.69)}
TEMPLATE_DIR = Path(__file__).resolve().parent / "assets" / "submit"


class SubmissionRefused(DlcourseError):
    """The submission has problems; nothing was written. ``problems`` lists them."""

    def __init__(self, problems: list[str], hint: str = ""):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"nothing was written; fix these first (or pass --force to hand in anyway):\n{lines}"
                         + (f"\n{hint}" if hint else ""))


# --- the cover ---------------------------------------------------------------------------------

@dataclass
class About:
    """What ``ABOUT.md`` says: its sections (title -> text) and what is missing from them."""

    path: Path
    text: str
    sections: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        name = self.sections.get("Name", "")
        lines = name.splitlines()
        return lines[0].strip() if lines and PLACEHOLDERS["Name"] not in _words(name) else "(name not given)"


def _strip_comments(text: str) -> str:
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)


def _sections(markdown: str) -> dict[str, str]:
    """``## Title`` -> the text below it (comments removed, whitespace trimmed)."""
    return {m.group(1).strip(): m.group(2).strip()
            for m in re.finditer(r"(?ms)^##[ \t]+([^\n]+?)[ \t]*\n(.*?)(?=^##[ \t]|\Z)", _strip_comments(markdown))}


def _words(text: str) -> str:
    return " ".join(text.split())


#: The template's text of each section: a section that still holds it is not filled in.
PLACEHOLDERS = {title: _words(text) for title, text in _sections(ABOUT_TEMPLATE).items()}


def read_about(path: Path) -> About:
    """Parse ``ABOUT.md`` (``## Section`` headings); note sections that are missing or still placeholders."""
    text = path.read_text(encoding="utf-8")
    about = About(path, text, _sections(text))
    if text.strip() == ABOUT_TEMPLATE.strip():
        about.problems.append(f"{path} is still the untouched template: fill in your name, collaborators and "
                              "tools used (write \"none\" where nothing applies)")
        return about
    for title in ABOUT_SECTIONS:
        content = about.sections.get(title)
        if content is None:
            about.problems.append(f"{path}: the section '## {title}' is missing (see the template: delete the file "
                                  "and run `dlcourse submit` to get it again)")
        elif not content or PLACEHOLDERS[title] in _words(content):
            about.problems.append(f"{path}: '## {title}' still holds the <placeholder>; replace it with your answer "
                                  "(\"none\" where nothing applies)")
    return about


def cover_markdown(about: About, notebooks: list[tuple[Path, dict]], code_sha256: str,
                   forced: list[str]) -> str:
    """The cover page as markdown: the student's ``ABOUT.md`` and what the submission holds."""
    body = _strip_comments(about.text).strip()
    body = re.sub(r"(?m)\A#[ \t]+.*\n?", "", body).strip()  # our own title replaces theirs
    rows = "\n".join(f"| `{p.name}` | {info['cells']} | {info['executed']} | `{info['sha256'][:12]}` |"
                     for p, info in notebooks)
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts = [
        '<div class="dlcourse-cover">',
        "",
        "# Deep Learning — Homework 3",
        "",
        body,
        "",
        "## This submission",
        "",
        "| notebook | code cells | execution | sha256 |",
        "|---|---|---|---|",
        rows,
        "",
        f"Code for the autograder: `submission.zip`, sha256 `{code_sha256[:16]}`. "
        f"Made by `dlcourse submit` {__version__} on {now}.",
    ]
    if forced:
        parts += ["", "**Handed in with `--force` despite these problems:**", ""]
        parts += [f"* {html.escape(p)}" for p in forced]
    parts += ["", "</div>"]
    return "\n".join(parts)


# --- the notebooks -----------------------------------------------------------------------------

def _output_text(output: dict) -> str:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    elif output.get("output_type") == "error":
        text = "\n".join([output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])])
    else:
        text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def notebook_problems(nb: Any, label: str) -> list[str]:
    """Why ``nb`` is not ready to hand in: never executed, out of order, errors, unfinished parts."""
    code = [(i, c) for i, c in enumerate(nb.cells, 1) if c.cell_type == "code" and "".join(c.source).strip()]
    if not code:
        return []
    counts = [c.get("execution_count") for _, c in code]
    if all(n is None for n in counts) and not any(c.get("outputs") for _, c in code):
        return [f"{label} was never executed: open it, run Kernel > Restart Kernel and Run All Cells, and save it"]
    problems = []
    if counts != list(range(1, len(code) + 1)):
        shown = ", ".join("-" if n is None else str(n) for n in counts[:12]) + (", ..." if len(counts) > 12 else "")
        problems.append(f"{label} was not run top to bottom in one go (execution counts {shown}; expected 1, 2, 3, "
                        "...): run Kernel > Restart Kernel and Run All Cells, and save it")
    for i, cell in code:
        for out in cell.get("outputs", []):
            text = _output_text(out)
            if out.get("output_type") == "error":
                problems.append(f"{label}, cell {i}: raised {out.get('ename')}: {str(out.get('evalue', ''))[:200]}")
                break
            if "NotImplementedError" in text:
                problems.append(f"{label}, cell {i}: its output shows a NotImplementedError - a part in exercises/ "
                                "is not written yet")
                break
    return problems


def _absolute_links(source: str, prefix: str) -> str:
    """Point a markdown cell's relative image links at ``prefix`` (where its notebook's folder is served)."""
    def fix(url: str) -> str:
        if re.match(r"^([a-z][a-z0-9+.-]*:|/|#)", url, flags=re.I):  # http:, data:, attachment:, absolute
            return url
        return prefix + url

    source = re.sub(r"(!\[[^\]]*\]\()(\s*<?)([^)\s>]+)", lambda m: m.group(1) + m.group(2) + fix(m.group(3)), source)
    return re.sub(r"""(<img\b[^>]*?\bsrc=["'])([^"']+)""", lambda m: m.group(1) + fix(m.group(2)), source, flags=re.I)


def merge(notebooks: list[tuple[Path, Any]], cover: str) -> Any:
    """One notebook: the cover, then every notebook after a banner that starts a new page.

    Cell ids become ``nb<k>-c<i>`` (notebook k, cell i), so a problem found on the rendered page
    can be traced to its notebook and cell.
    """
    import nbformat

    merged = nbformat.v4.new_notebook()
    merged.metadata = dict(notebooks[0][1].metadata) if notebooks else {}
    merged.metadata.pop("widgets", None)
    cover_cell = nbformat.v4.new_markdown_cell(cover)
    cover_cell.id = "cover"
    merged.cells.append(cover_cell)
    for k, (path, nb) in enumerate(notebooks, 1):
        banner = nbformat.v4.new_markdown_cell(
            f'<div class="dlcourse-notebook">{html.escape(path.name)}</div>')
        banner.id = f"nb{k}-banner"
        merged.cells.append(banner)
        for i, cell in enumerate(nb.cells, 1):
            cell = nbformat.from_dict(dict(cell))
            cell.id = f"nb{k}-c{i}"
            if cell.cell_type == "markdown":
                cell.source = _absolute_links("".join(cell.source), f"/nb{k}/")
            merged.cells.append(cell)
    return merged


def to_html(nb: Any, mathjax_url: str) -> str:
    """The merged notebook as one HTML page (nbconvert, JupyterLab template, the PDF layout)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", extra_template_paths=[str(TEMPLATE_DIR)],
                            template_file="dlcourse_pdf.html.j2", mathjax_url=mathjax_url)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": "Homework 3 submission"}})
    return body


def _where(anchor: str | None, labels: dict[str, str]) -> str:
    m = re.match(r"cell-id=nb(\d+)-c(\d+)", anchor or "")
    if m:
        return f"{labels.get(m.group(1), 'notebook ' + m.group(1))}, cell {m.group(2)}: "
    return "the cover page (ABOUT.md): " if anchor == "cell-id=cover" else ""


def render_pdf(nb: Any, folders: list[Path], *, name: str, paper: str, labels: dict[str, str]) -> tuple[bytes, list[str]]:
    """Typeset and print the merged notebook with headless Chromium; return the PDF and what looked wrong."""
    from dlcourse import browser

    with tempfile.TemporaryDirectory(prefix="dlcourse-submit-") as tmp:
        page_html = to_html(nb, mathjax_url="/mathjax/tex-chtml.js")
        (Path(tmp) / "index.html").write_text(page_html, encoding="utf-8")
        mounts = {"/": tmp, "/mathjax/": browser.mathjax_dir()}
        mounts.update({f"/nb{k}/": folder for k, folder in enumerate(folders, 1)})
        with browser.LocalServer(mounts) as server, browser.Chrome() as chrome:
            page = chrome.new_page()
            page.goto(server.url("index.html"), timeout=120)
            problems, _ = browser.audit(page, server.base)
            problems = [_where(anchor, labels) + text for anchor, text in problems]
            width, height = PAPER_INCHES[paper]
            footer = (f'<div style="font-size:8px;width:100%;text-align:center;color:#666;">{html.escape(name)} '
                      '&middot; Homework 3 &middot; page <span class="pageNumber"></span> of '
                      '<span class="totalPages"></span></div>')
            pdf = page.pdf(paperWidth=width, paperHeight=height, marginTop=0.5, marginBottom=0.6, marginLeft=0.5,
                           marginRight=0.5, displayHeaderFooter=True, headerTemplate="<div></div>",
                           footerTemplate=footer)
    return pdf, problems


# --- the code ----------------------------------------------------------------------------------

def code_files(exercises: Path) -> list[Path]:
    """The student's code: ``exercises/__init__.py`` and every ``.py`` file of the problem folders."""
    missing = [f"{exercises / d}" for d in CODE_FOLDERS if not (exercises / d).is_dir()]
    if missing:
        raise DlcourseError(f"no code folder {', '.join(missing)}: `dlcourse submit` zips your code from "
                            f"{exercises}/{{{','.join(CODE_FOLDERS)}}}; run it from the repository root or pass "
                            "--exercises PATH.")
    files = [exercises / "__init__.py"] if (exercises / "__init__.py").is_file() else []
    for d in CODE_FOLDERS:
        files += sorted(p for p in (exercises / d).rglob("*.py")
                        if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts
                        and not any(part.startswith(".") for part in p.relative_to(exercises).parts))
    return files


def code_zip(exercises: Path) -> bytes:
    """``submission.zip``: the code files under ``exercises/`` as the autograder unpacks them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in code_files(exercises):
            z.write(path, (Path("exercises") / path.relative_to(exercises)).as_posix())
    return buf.getvalue()


# --- the command -------------------------------------------------------------------------------

@dataclass
class Written:
    pdf: Path
    zip: Path
    problems: list[str]
    pages: int | None = None


def submit(notebooks: list[Path] | None = None, *, out: Path = Path("submission.pdf"),
           exercises: Path = Path("exercises"), about_path: Path | None = None, zip_path: Path | None = None,
           force: bool = False, paper: str = "letter") -> Written:
    """Check everything, then write the PDF and the zip (atomically, both or neither)."""
    import nbformat

    exercises = Path(exercises)
    about_path = Path(about_path) if about_path else exercises / "ABOUT.md"
    zip_path = Path(zip_path) if zip_path else Path(out).with_suffix(".zip")
    if Path(out).suffix.lower() != ".pdf":
        raise DlcourseError(f"--out {out}: the file name must end in .pdf")
    if paper not in PAPER_INCHES:
        raise DlcourseError(f"--paper {paper}: choose one of {', '.join(PAPER_INCHES)}")
    if notebooks is None:
        notebooks = [exercises / "notebooks" / n for n in DEFAULT_NOTEBOOKS]
    if not about_path.exists():
        write_text_atomic(about_path, ABOUT_TEMPLATE)
        raise DlcourseError(f"wrote the template {about_path}: fill in your name, collaborators and tools used "
                            "(it becomes the cover page), then run `dlcourse submit` again.")

    problems: list[str] = []
    about = read_about(about_path)
    problems += about.problems
    loaded: list[tuple[Path, Any]] = []
    infos: list[tuple[Path, dict]] = []
    for path in map(Path, notebooks):
        if path.suffix != ".ipynb":
            raise DlcourseError(f"{path} is not a notebook (.ipynb)")
        if not path.is_file():
            raise DlcourseError(f"{path} does not exist; pass the notebooks to hand in, e.g. "
                                f"`dlcourse submit {exercises / 'notebooks' / DEFAULT_NOTEBOOKS[0]}`")
        raw = path.read_bytes()
        try:
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        except Exception as e:  # nbformat raises several types for a damaged file
            raise DlcourseError(f"{path} is not a readable notebook ({type(e).__name__}: {e}); "
                                "open it in Jupyter and save it again") from e
        problems += notebook_problems(nb, path.as_posix())
        code = [c for c in nb.cells if c.cell_type == "code" and "".join(c.source).strip()]
        counts = [c.get("execution_count") for c in code]
        executed = ("1, 2, …, n in order" if counts == list(range(1, len(code) + 1)) else
                    "never executed" if all(n is None for n in counts) else "OUT OF ORDER")
        loaded.append((path, nb))
        infos.append((path, {"cells": len(code), "executed": executed, "sha256": hashlib.sha256(raw).hexdigest()}))

    zipped = code_zip(exercises)
    if problems and not force:
        raise SubmissionRefused(problems)

    labels = {str(k): p.as_posix() for k, (p, _) in enumerate(loaded, 1)}
    cover = cover_markdown(about, infos, hashlib.sha256(zipped).hexdigest(), problems)
    merged = merge(loaded, cover)
    pdf, render_problems = render_pdf(merged, [p.parent.resolve() for p, _ in loaded], name=about.name,
                                      paper=paper, labels=labels)
    if render_problems and not force:
        raise SubmissionRefused(render_problems, hint="(the PDF would show these as they are)")
    if render_problems:  # forced: print them on the cover as well
        cover = cover_markdown(about, infos, hashlib.sha256(zipped).hexdigest(), problems + render_problems)
        pdf, _ = render_pdf(merge(loaded, cover), [p.parent.resolve() for p, _ in loaded], name=about.name,
                            paper=paper, labels=labels)

    umask = os.umask(0)
    os.umask(umask)
    with atomic_path(out) as tmp_pdf, atomic_path(zip_path) as tmp_zip:
        for tmp, data in ((tmp_pdf, pdf), (tmp_zip, zipped)):
            tmp.write_bytes(data)
            tmp.chmod(0o666 & ~umask)  # a normal file, not the temporary file's private 0600
    return Written(Path(out), zip_path, problems + render_problems, pages=len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) or None)


def _main(args: argparse.Namespace) -> int:
    written = submit([Path(p) for p in args.notebooks] or None, out=Path(args.out), exercises=Path(args.exercises),
                     about_path=Path(args.about) if args.about else None,
                     zip_path=Path(args.zip) if args.zip else None, force=args.force, paper=args.paper)
    for p in written.problems:
        print(f"warning (--force): {p}")
    pages = f", {written.pages} pages" if written.pages else ""
    print(f"wrote {written.pdf} (hand it in{pages}) and {written.zip} (your code, for the autograder)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="write the PDF to hand in (cover + executed notebooks) and submission.zip",
                       description="Write ONE PDF: a cover page from ABOUT.md, then each executed notebook with its "
                                   "explanations, code, outputs, figures and typeset math; and a zip of your code "
                                   "for the autograder. Needs Chrome or Chromium ($DLCOURSE_CHROME to choose one).")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                   help="notebooks in the order to hand in (default: exercises/notebooks/"
                        f"{{{','.join(n.removesuffix('.ipynb') for n in DEFAULT_NOTEBOOKS)}}}.ipynb)")
    p.add_argument("--out", default="submission.pdf", help="the PDF to write (default: submission.pdf)")
    p.add_argument("--zip", help="the code zip to write (default: the PDF's name with .zip)")
    p.add_argument("--exercises", default="exercises", help="your exercises folder (default: ./exercises)")
    p.add_argument("--about", help="the cover page's source (default: <exercises>/ABOUT.md; created if missing)")
    p.add_argument("--paper", choices=sorted(PAPER_INCHES), default="letter")
    p.add_argument("--force", action="store_true",
                   help="write the PDF despite problems (they are listed on its cover page)")
    p.set_defaults(func=_main)
