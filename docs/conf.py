"""Sphinx configuration of the dlcourse book (Sphinx + MyST-NB + sphinx-book-theme).

The solution notebooks (``solutions/*.md``, MyST text notebooks, linked as ``docs/solutions``) are
executed at build time in ``cache`` mode. The execution cache and the run directories the notebooks
train into are keyed by a fingerprint of the dlcourse sources: unchanged code rebuilds from the
cache in seconds, changed code re-executes everything (no stale figures).

Everything renders offline: MathJax is served from ``_static/mathjax`` (copied at build time from
the ``django-static-mathjax`` wheel, see :func:`dlcourse.browser.mathjax_dir`), markdown outputs such
as ``display(Markdown(table))`` are parsed as MyST (real tables, math), and each solution page offers
its executed notebook as an ``.ipynb`` download. ``nox -s book_check`` opens every page in headless
Chromium and fails on a request that leaves the machine, untypeset math, a broken image or a
markdown table left as text.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

from dlcourse import __version__  # noqa: E402
from dlcourse.browser import mathjax_dir  # noqa: E402
from dlcourse.io import source_fingerprint  # noqa: E402

FINGERPRINT = os.environ.get("DLCOURSE_SOURCE_FINGERPRINT") or source_fingerprint()
os.environ.setdefault("DLCOURSE_RUNS", str(ROOT / ".nox" / "runs" / FINGERPRINT))
# No MPLBACKEND here: Jupyter's inline backend must draw the figures into the notebooks' outputs.
#: The settings that change what executing a notebook produces. Only these (with the committed
#: artifacts) key the execution cache: rendering options (math, tables, downloads) do not re-execute.
EXECUTION = {"timeout": 900, "raise_on_error": True, "profile": os.environ.get("DLCOURSE_PROFILE", "quick")}
_inputs = hashlib.sha256(json.dumps(EXECUTION, sort_keys=True).encode())
for _f in sorted((DOCS / "artifacts").rglob("*")):  # committed run artifacts the notebooks display
    if _f.is_file():
        _inputs.update(_f.relative_to(DOCS).as_posix().encode() + b"\0" + _f.read_bytes())
CONF_HASH = _inputs.hexdigest()[:8]

project = "dlcourse: Deep Learning Homework 3"
author = "the dlcourse maintainers"
copyright = "2026, the dlcourse maintainers"
version = release = __version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
exclude_patterns = ["_build", ".jupyter_cache", "**/.ipynb_checkpoints", "artifacts", "Thumbs.db", ".DS_Store"]

# MyST / MyST-NB
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("DLCOURSE_NB_EXECUTION", "cache")
# keyed by the code, this configuration and the committed artifacts: a change to any re-executes the notebooks
nb_execution_cache_path = str(DOCS / ".jupyter_cache" / f"{FINGERPRINT}-{CONF_HASH}")
nb_execution_timeout = EXECUTION["timeout"]  # seconds per cell; quick-profile training takes ~1 min on 2 cores
nb_execution_raise_on_error = EXECUTION["raise_on_error"]  # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# text/markdown outputs (the retrieval and zero-shot tables) are MyST: tables and math render
nb_render_markdown_format = "myst"

# autodoc
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
suppress_warnings = ["myst.header"]

# HTML
html_theme = "sphinx_book_theme"
html_title = "dlcourse: Homework 3"
html_theme_options = {
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
html_static_path: list[str] = []

# MathJax 3 from _static/mathjax (no CDN: the book must render offline). MyST adds its
# processHtmlClass to this dict.
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config: dict = {"options": {}}
#: What MathJax loads from its folder: the tex-chtml bundle, TeX extensions, CHTML fonts, the menu and
#: accessibility components. The other bundles (SVG output, MathML input, node) are not copied.
MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors")


def copy_mathjax(app, exc) -> None:
    """Copy the local MathJax into the built book's ``_static/mathjax`` (HTML builders only)."""
    if exc is not None or app.builder.format != "html":
        return
    src, dst = mathjax_dir(), Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dst / part, dirs_exist_ok=True)
        else:
            dst.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / part, dst / part)


def executed_notebook(app, pagename: str):
    """The notebook of page ``pagename`` with its outputs, or ``None`` for a page that is no notebook.

    MyST-NB writes each notebook page to ``jupyter_execute/``, but on a cache hit it writes the
    notebook as read, without the outputs (myst_nb.sphinx_: it saves its own ``notebook``, not the
    client's merged copy); the outputs are merged from the execution cache here.
    """
    import nbformat

    path = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not path.is_file():
        return None
    nb = nbformat.read(path, as_version=4)
    if app.config.nb_execution_mode == "cache":
        from jupyter_cache import get_cache

        try:
            _, nb = get_cache(app.config.nb_execution_cache_path).merge_match_into_notebook(nb)
        except KeyError:  # not in the cache: leave the notebook as MyST-NB wrote it
            pass
    return nb


def offer_notebook(app, pagename, templatename, context, doctree) -> None:
    """Offer a notebook page's executed ``.ipynb`` in the theme's download menu.

    sphinx-book-theme only does this when launch buttons (Binder, Colab) are configured; the book
    has none, so the executed notebook is written to ``_sources/`` here, before the theme builds
    its buttons (priority 501).
    """
    import nbformat

    nb = executed_notebook(app, pagename)
    if nb is None:
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app) -> None:
    app.connect("build-finished", copy_mathjax)
    app.connect("html-page-context", offer_notebook, priority=500)
