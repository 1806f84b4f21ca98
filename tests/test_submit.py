"""`dlcourse submit`: the student's PDF (checked with poppler's pdftotext/pdfimages) and the refusals.

The notebooks are built and executed here (a markdown cell with math and a table, a print, a
matplotlib figure, a 250-character line, a markdown output with a table and math), so the test
does not depend on the homework's notebooks. The book check (tests/test_book_browser.py) also
submits the book's executed solution notebooks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dlcourse import browser, submit
from dlcourse.errors import DlcourseError

HAVE_TOOLS = shutil.which("pdftotext") and shutil.which("pdfimages")
try:
    browser.find_chrome()
    HAVE_CHROME = True
except DlcourseError:
    HAVE_CHROME = False
# Locally a missing browser or poppler skips the PDF tests; CI installs both, so there they must run.
needs_pdf = pytest.mark.skipif(not (HAVE_CHROME and HAVE_TOOLS) and not os.environ.get("CI"),
                               reason="needs Chromium and poppler-utils (apt-get install chromium poppler-utils)")

LONG = "x" * 40 + "LONGLINE-" + "y" * 200 + "-END"
ABOUT = """# About this submission

## Name

Ada Lovelace

## Collaborators

Charles Babbage (Problem 1)

## Tools used

none
"""


def _notebook(cells):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbformat.v4.new_code_cell(c)
                for c in cells]
    return nb


def _execute(nb):
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    return nb


@pytest.fixture(scope="session")
def executed(tmp_path_factory) -> Path:
    """One small notebook, executed top to bottom by a real kernel."""
    nb = _notebook([
        "md:# Problem 1\n\nThe saddle of $f(x,y)=4x^2-4y^2$ is where\n\n"
        "$$\\nabla f(x, y) = \\begin{pmatrix} 8x \\\\ -8y \\end{pmatrix} = 0.$$\n\n"
        "| step size | converges |\n|---|---|\n| 0.1 | yes |",
        "print('ANSWER-PRINTED', 6 * 7)",
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [0, 1])\nplt.show()",
        f"print({LONG!r})",
        # built so that the code itself holds neither the table's rule nor the TeX
        "from IPython.display import Markdown, display\nrule, tex = '-' * 3, chr(92) + 'alpha_{SCORE}'\n"
        "display(Markdown(f'| model | R@1 |\\n|{rule}|{rule}|\\n| resnet18 | 0.42 |\\n\\nwith ${tex}$'))",
    ])
    path = tmp_path_factory.mktemp("nb") / "executed.ipynb"
    import nbformat

    nbformat.write(_execute(nb), path)
    return path


@pytest.fixture
def student(tmp_path, executed, monkeypatch) -> Path:
    """A student's checkout: exercises/ with code, ABOUT.md and the three executed notebooks."""
    ex = tmp_path / "exercises"
    for d in submit.CODE_FOLDERS:
        (ex / d).mkdir(parents=True)
        (ex / d / "__init__.py").write_text("")
        (ex / d / "part.py").write_text(f"ANSWER = '{d}'\n")
    (ex / "__init__.py").write_text("")
    (ex / "gan" / "__pycache__").mkdir()
    (ex / "gan" / "__pycache__" / "part.cpython-311.pyc").write_bytes(b"\0")
    (ex / "notebooks").mkdir()
    for name in submit.DEFAULT_NOTEBOOKS:
        shutil.copy(executed, ex / "notebooks" / name)
    (ex / "ABOUT.md").write_text(ABOUT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _images(pdf: Path) -> int:
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return len(out.splitlines()) - 2


def _set_cell(path: Path, index: int, **changes) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for key, value in changes.items():
        code[index][key] = nbformat.from_dict(value)
    nbformat.write(nb, path)


@needs_pdf
def test_pdf_holds_the_cover_answers_outputs_figures_and_typeset_math(student):
    written = submit.submit()
    assert written.pdf == Path("submission.pdf") and written.problems == []
    text = _text(written.pdf)
    assert "Ada Lovelace" in text and "Charles Babbage (Problem 1)" in text  # the cover
    assert text.index("Ada Lovelace") < text.index("ANSWER-PRINTED")
    assert text.count("ANSWER-PRINTED 42") == 3  # the output, once per notebook
    assert text.count("print('ANSWER-PRINTED', 6 * 7)") == 3  # the code
    assert "step size" in text and "converges" in text  # markdown table
    assert "resnet18" in text and "0.42" in text and "|---|" not in text  # markdown output table
    assert "∇" in text and "SCORE" in text  # math typeset (glyphs), not TeX source
    for tex in ("\\(", "\\)", "\\[", "$$", "\\begin", "\\nabla", "\\alpha", "$f(x"):
        assert tex not in text, f"raw TeX {tex!r} in the PDF"
    flat = "".join(text.split())
    assert LONG in flat, "the long line lost characters: it must wrap, not run off the page"
    assert _images(written.pdf) >= 3  # one figure per notebook
    assert os.stat(written.pdf).st_mode & 0o644 == 0o644


@needs_pdf
def test_zip_holds_the_code_in_its_folder_layout(student):
    written = submit.submit(out=Path("out/hw3.pdf"))
    assert written.zip == Path("out/hw3.zip")
    names = sorted(zipfile.ZipFile(written.zip).namelist())
    expected = ["exercises/__init__.py"] + [f"exercises/{d}/{f}" for d in submit.CODE_FOLDERS
                                            for f in ("__init__.py", "part.py")]
    assert names == sorted(expected)  # no notebooks, no ABOUT.md, no __pycache__
    assert zipfile.ZipFile(written.zip).read("exercises/gan/part.py") == b"ANSWER = 'gan'\n"


def test_a_missing_about_writes_its_template_and_nothing_else(student):
    Path("exercises/ABOUT.md").unlink()
    with pytest.raises(DlcourseError, match="wrote the template exercises/ABOUT.md"):
        submit.submit()
    assert Path("exercises/ABOUT.md").read_text() == submit.ABOUT_TEMPLATE
    with pytest.raises(submit.SubmissionRefused, match="still the untouched template"):
        submit.submit()
    assert not Path("submission.pdf").exists() and not Path("submission.zip").exists()


def test_a_placeholder_left_in_about_is_named(student):
    text = submit.ABOUT_TEMPLATE.replace("<your full name, and your student ID if your course uses one>", "Ada")
    Path("exercises/ABOUT.md").write_text(text)
    with pytest.raises(submit.SubmissionRefused) as err:
        submit.submit()
    assert any("'## Collaborators' still holds the <placeholder>" in p for p in err.value.problems)
    assert any("'## Tools used'" in p for p in err.value.problems)
    assert not any("'## Name'" in p for p in err.value.problems)


@pytest.mark.parametrize("change, message", [
    ({"execution_count": None, "outputs": []}, "cell 2 .*never executed|execution counts 1, -, 3, 4"),
    ({"execution_count": 7}, r"not run top to bottom in one go \(execution counts 1, 7, 3, 4"),
    ({"outputs": [{"output_type": "error", "ename": "ValueError", "evalue": "shapes differ", "traceback": []}]},
     "clip.ipynb, cell 3: raised ValueError: shapes differ"),
    ({"outputs": [{"output_type": "stream", "name": "stderr",
                   "text": "NotImplementedError: write the generator\n"}]},
     "clip.ipynb, cell 3: its output shows a NotImplementedError"),
])
def test_unready_notebooks_are_refused_and_nothing_is_written(student, change, message):
    Path("submission.pdf").write_bytes(b"an older PDF")
    _set_cell(Path("exercises/notebooks/clip.ipynb"), 1, **change)
    with pytest.raises(submit.SubmissionRefused, match=message) as err:
        submit.submit()
    assert "clip.ipynb" in str(err.value) and "--force" in str(err.value)
    assert Path("submission.pdf").read_bytes() == b"an older PDF"
    assert not Path("submission.zip").exists()
    assert sorted(p.name for p in Path(".").iterdir()) == ["exercises", "submission.pdf"]  # no temporary files


def test_a_notebook_never_executed_says_how_to_run_it(student, tmp_path):
    import nbformat

    nb = _notebook(["md:# Problem 3", "print(1)", "print(2)"])
    nbformat.write(nb, "exercises/notebooks/gan.ipynb")
    with pytest.raises(submit.SubmissionRefused, match="gan.ipynb was never executed: .*Restart Kernel and Run All"):
        submit.submit()


@needs_pdf
def test_force_writes_and_shows_the_problems_on_the_cover(student):
    _set_cell(Path("exercises/notebooks/gan.ipynb"), 1, execution_count=9)
    written = submit.submit(force=True)
    assert len(written.problems) == 1 and "gan.ipynb" in written.problems[0]
    text = _text(written.pdf)
    assert "Handed in with --force despite these problems" in text
    assert "gan.ipynb was not run top to bottom" in " ".join(text.split())


@needs_pdf
def test_math_that_does_not_typeset_is_refused_with_its_notebook_and_cell(student):
    import nbformat

    path = Path("exercises/notebooks/minimax.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("Typo: $\\nablaa f = 0$ here."))
    nbformat.write(nb, path)
    with pytest.raises(submit.SubmissionRefused, match=r"minimax.ipynb, cell 2: MathJax error: undefined control "
                                                       r"sequence \\nablaa"):
        submit.submit()
    assert not Path("submission.pdf").exists()


def test_no_browser_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_CHROME", str(tmp_path / "no-such-chrome"))
    with pytest.raises(DlcourseError, match=r"DLCOURSE_CHROME=.*is not an executable file"):
        browser.find_chrome()
    monkeypatch.delenv("DLCOURSE_CHROME")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(browser, "MACOS_APPS", ())
    with pytest.raises(DlcourseError, match=r"sudo apt-get install chromium(.|\n)*DLCOURSE_CHROME"):
        browser.find_chrome()


def test_the_command_prints_the_problems_without_a_traceback(student):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(submit.__file__).parents[1]),
                                                          os.environ.get("PYTHONPATH", "")])}
    _set_cell(Path("exercises/notebooks/minimax.ipynb"), 0, execution_count=5)
    run = subprocess.run([sys.executable, "-m", "dlcourse.cli", "submit"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "nothing was written" in run.stderr and "minimax.ipynb was not run top to bottom" in run.stderr
    assert "Traceback" not in run.stderr
