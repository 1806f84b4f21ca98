"""The book as a reader sees it: every built page in headless Chromium, offline.

Two parts:

* the audit itself (always): small pages with one defect each must be caught - a request that
  leaves the machine, untypeset TeX, a MathJax error, a broken image, a markdown table left as
  ``| a | b |`` text - and a clean page with local MathJax must pass;
* the built book (``nox -s book_check`` sets ``$DLCOURSE_BOOK`` to ``docs/_build/html``): every
  page passes the audit, the solution pages typeset math and offer their executed notebook, the
  CLIP page shows its tables as tables, and the executed notebooks the book offers for download
  go through ``dlcourse submit`` into a PDF with the answers, figures and no raw TeX. Screenshots of the top
  of every page land in ``docs/_build/screenshots``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from dlcourse import browser, submit
from dlcourse.errors import DlcourseError

try:
    browser.find_chrome()
    HAVE_CHROME = True
except DlcourseError:
    HAVE_CHROME = False
pytestmark = pytest.mark.skipif(not HAVE_CHROME and not os.environ.get("CI"),
                                reason="needs Chromium (apt-get install chromium)")

BOOK = Path(os.environ["DLCOURSE_BOOK"]) if os.environ.get("DLCOURSE_BOOK") else None
needs_book = pytest.mark.skipif(BOOK is None, reason="checks the built book: run `nox -s book_check`")
#: Folders of the built book that hold no pages a reader opens.
NOT_PAGES = {"_static", "_sources", "_images", "_downloads", "screenshots"}

MATHJAX = '<script>window.MathJax={tex:{inlineMath:[["$","$"],["\\\\(","\\\\)"]]}};</script>' \
          '<script defer src="/mathjax/tex-chtml.js"></script>'
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a3f6e0f90000000049454e44ae426082")


@pytest.fixture(scope="module")
def chrome():
    with browser.Chrome() as c:
        yield c


def _audit(chrome, folder: Path, body: str) -> list[str]:
    (folder / "index.html").write_text(f"<!doctype html><html><head>{MATHJAX}</head><body>{body}</body></html>")
    (folder / "dot.png").write_bytes(PNG)
    with browser.LocalServer({"/": folder, "/mathjax/": browser.mathjax_dir()}) as server:
        page = chrome.new_page()
        try:
            page.goto(server.url("index.html"))
            problems, _ = browser.audit(page, server.base)
        finally:
            page.close()
    return [text for _, text in problems]


def test_a_clean_page_passes(chrome, tmp_path):
    body = ("<p>Inline $x^2$ and \\(\\frac{a}{b}\\).</p><table><tr><td>a</td><td>b</td></tr></table>"
            '<img src="dot.png"><pre>code may hold \\( and $$ and | --- |</pre>')
    assert _audit(chrome, tmp_path, body) == []


@pytest.mark.parametrize("body, expected", [
    ('<img src="https://cdn.example.org/logo.png">', "request leaves the machine: https://cdn.example.org/logo.png"),
    ('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>', "request leaves the machine"),
    ('<img src="missing.png">', "broken image: missing.png"),
    ("<p>$\\frac{1}{2$ never closed</p>", "untypeset math"),
    ("<p>$\\nablaa f$</p>", "MathJax error: undefined control sequence \\nablaa"),
    ("<p>| model | R@1 |\n|---|---|\n| a | 1 |</p>", "markdown table left as text"),
    ("<script>throw new Error('boom')</script>", "JavaScript error: Error: boom"),
])
def test_each_defect_is_caught(chrome, tmp_path, body, expected):
    problems = _audit(chrome, tmp_path, body)
    assert any(expected in p for p in problems), problems


def test_math_without_mathjax_is_caught(chrome, tmp_path):
    (tmp_path / "index.html").write_text('<p class="math">\\(\\min_x \\max_y f\\)</p>')
    with browser.LocalServer({"/": tmp_path}) as server:
        page = chrome.new_page()
        page.goto(server.url("index.html"))
        problems, _ = browser.audit(page, server.base)
    assert [t for _, t in problems] == ["untypeset math: '\\\\(\\\\min_x \\\\max_y f\\\\)'"]


# --- the built book ------------------------------------------------------------------------------

def _pages() -> list[str]:
    if BOOK is None:
        return []
    return sorted(p.relative_to(BOOK).as_posix() for p in BOOK.rglob("*.html")
                  if not NOT_PAGES & set(p.relative_to(BOOK).parts[:-1]))


@pytest.fixture(scope="module")
def book_server():
    with browser.LocalServer({"/": BOOK}) as server:
        yield server


@needs_book
def test_the_book_has_its_pages():
    pages = _pages()
    for page in ("index.html", "using.html", "api.html", "search.html", "genindex.html",
                 "solutions/minimax.html", "solutions/clip.html", "solutions/gan.html"):
        assert page in pages


@needs_book
@pytest.mark.parametrize("name", _pages())
def test_every_page_renders_offline(chrome, book_server, name):
    page = chrome.new_page()
    try:
        page.goto(book_server.url(name), timeout=120)
        problems, found = browser.audit(page, book_server.base)
        shots = BOOK.parent / "screenshots"
        shots.mkdir(exist_ok=True)
        page.screenshot(shots / (name.replace("/", "__").removesuffix(".html") + ".png"))
        if name.startswith("solutions/"):
            assert found["mathjax"] and found["typeset"] > 0, "a solution page without typeset math"
            links = page.evaluate("[...document.querySelectorAll('a[href$=\".ipynb\"]')].map(a => a.href)")
            assert links, "the page offers no .ipynb download"
            with urllib.request.urlopen(links[0]) as r:  # the local server; the notebook with its outputs
                nb = json.load(r)
            assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
        if name == "solutions/clip.html":  # display(Markdown(table)) outputs
            assert page.evaluate("document.querySelectorAll('.cell_output table').length") >= 2
    finally:
        page.close()
    assert problems == [], f"{name}:\n" + "\n".join(f"  [{w or 'page'}] {t}" for w, t in problems)


@needs_book
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_the_solution_notebooks_make_a_submission_pdf(tmp_path, repo):
    """`dlcourse submit` on the notebooks the book offers for download: answers, figures, typeset math."""
    executed = BOOK / "_sources" / "solutions"
    notebooks = [executed / n for n in submit.DEFAULT_NOTEBOOKS]
    about = tmp_path / "ABOUT.md"
    about.write_text("## Name\n\nReference Solutions\n\n## Collaborators\n\nnone\n\n## Tools used\n\nnone\n")
    written = submit.submit(notebooks, out=tmp_path / "solutions.pdf", exercises=repo / "exercises", about_path=about)
    assert written.problems == []
    text = subprocess.run(["pdftotext", str(written.pdf), "-"], capture_output=True, text=True, check=True).stdout
    for tex in ("\\(", "\\)", "\\[", "$$", "\\begin{", "\\frac{", "\\nabla"):
        assert tex not in text, f"raw TeX {tex!r} in the PDF"
    assert "Reference Solutions" in text
    import nbformat

    figures = sum(1 for n in notebooks for c in nbformat.read(n, as_version=4).cells if c.cell_type == "code"
                  for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    listed = subprocess.run(["pdfimages", "-list", str(written.pdf)], capture_output=True, text=True, check=True).stdout
    assert len(listed.splitlines()) - 2 >= figures > 0
