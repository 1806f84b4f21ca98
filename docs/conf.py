"""Sphinx configuration of the dlcourse book (Sphinx + MyST-NB + sphinx-book-theme).

The solution notebooks (``solutions/*.md``, MyST text notebooks, linked as ``docs/solutions``) are
executed at build time in ``cache`` mode. The execution cache and the run directories the notebooks
train into are keyed by a fingerprint of the dlcourse sources: unchanged code rebuilds from the
cache in seconds, changed code re-executes everything (no stale figures).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

from dlcourse import __version__  # noqa: E402
from dlcourse.io import source_fingerprint  # noqa: E402

FINGERPRINT = os.environ.get("DLCOURSE_SOURCE_FINGERPRINT") or source_fingerprint()
os.environ.setdefault("DLCOURSE_RUNS", str(ROOT / ".nox" / "runs" / FINGERPRINT))
# No MPLBACKEND here: Jupyter's inline backend must draw the figures into the notebooks' outputs.
_inputs = hashlib.sha256(Path(__file__).read_bytes())
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
nb_execution_timeout = 900  # seconds per cell; quick-profile training cells take ~1 min on 2 cores
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True

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
