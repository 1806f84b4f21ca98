"""The exercise generator: solution regions, relative imports, notebooks, the sync check."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dlcourse import stubs
from dlcourse.cli import main
from dlcourse.errors import DlcourseError

REF = textwrap.dedent('''
    """A reference module."""
    from dlcourse.pkg.other import helper
    from dlcourse.io import md5sum


    def square(x):
        """Return x squared."""
        # BEGIN SOLUTION
        return x * x
        # END SOLUTION


    class Net:
        def forward(self, x):
            # BEGIN SOLUTION
            y = x + 1
            return y
            # END SOLUTION
''')

NOTEBOOK = textwrap.dedent('''
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    # Title

    The question.<!-- BEGIN BOOK ONLY --> The reference's committed run shows it.<!-- END BOOK ONLY -->

    <!-- BEGIN SOLUTION -->
    The answer is $x^2$.
    <!-- END SOLUTION -->

    ```{code-cell} ipython3
    from dlcourse import parts
    import dlcourse.io

    gan = parts.reference("gan")
    ```

    Text before the section, in the same cell.

    ## Only in the book
    <!-- book-only: the reference's committed run -->

    The committed run.

    ```{code-cell} ipython3
    print("reference artifacts")
    ```

    ### A subsection, still book-only

    ```{code-cell} ipython3
    print("still reference")
    ```

    ## For everybody

    ```{code-cell} ipython3
    :tags: [book-only]

    print("a book-only cell")
    ```

    ```{code-cell} ipython3
    print(gan.describe())
    ```

    ```{code-cell} ipython3
    :tags: [solution]

    print(square(3))
    ```
''').lstrip()


def test_regions_become_not_implemented_and_docstrings_stay():
    out = stubs.stub_source(REF)
    assert "return x * x" not in out and "y = x + 1" not in out
    assert '"""Return x squared."""' in out
    assert '\n    raise NotImplementedError("square: your code here")' in out
    assert '\n        raise NotImplementedError("forward: your code here")' in out
    compile(out, "<stub>", "exec")


@pytest.mark.parametrize("bad,words", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    # END SOLUTION\n", "without a matching"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n", "nested"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "inside a function"),
])
def test_malformed_markers_are_errors_with_a_line_number(bad, words):
    with pytest.raises(stubs.StubError, match=words) as err:
        stubs.stub_source(bad, "mod.py")
    assert "mod.py:" in str(err.value)


def test_imports_of_stubbed_modules_become_relative():
    text = stubs.relative_imports(REF, Path("pkg/mod.py"), {Path("pkg/mod.py"), Path("pkg/other.py")})
    assert "from .other import helper" in text
    assert "from dlcourse.io import md5sum" in text  # not stubbed: unchanged
    text = stubs.relative_imports(REF, Path("sub/mod.py"), {Path("sub/mod.py"), Path("pkg/other.py")})
    assert "from ..pkg.other import helper" in text


def _fake_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "dlcourse" / "pkg").mkdir(parents=True)
    (root / "dlcourse" / "pkg" / "mod.py").write_text(REF)
    (root / "dlcourse" / "pkg" / "plain.py").write_text("X = 1\n")
    (root / "solutions").mkdir()
    (root / "solutions" / "nb.md").write_text(NOTEBOOK)
    return root


def test_generate_check_and_staleness(tmp_path):
    root = _fake_repo(tmp_path)
    assert stubs.check(root)  # nothing generated yet
    stubs.write(root)
    ex = root / "exercises"
    assert (ex / "pkg" / "mod.py").is_file() and not (ex / "pkg" / "plain.py").exists()
    assert (ex / "pkg" / "__init__.py").is_file() and (ex / "test_homework.py").is_file()
    assert stubs.check(root) == []
    # the reference changes -> out of date
    (root / "dlcourse" / "pkg" / "mod.py").write_text(REF.replace("x * x", "x ** 2"))
    assert stubs.check(root) == []  # solution body changed only: stub identical
    (root / "dlcourse" / "pkg" / "mod.py").write_text(REF.replace("Return x squared", "Return x**2"))
    assert any(p.startswith("out of date: exercises/pkg/mod.py") for p in stubs.check(root))
    stubs.write(root)
    (ex / "pkg" / "leftover.py").write_text("")
    assert stubs.check(root) == ["not generated (stale): exercises/pkg/leftover.py"]
    with pytest.raises(DlcourseError, match=r"(?s)replace or delete them:\n  exercises/pkg/leftover.py\n.*--force"):
        stubs.write(root)  # never generated: perhaps a student's own file
    assert (ex / "pkg" / "leftover.py").exists()
    stubs.write(root, force=True)
    assert not (ex / "pkg" / "leftover.py").exists()


def test_regenerating_never_overwrites_edited_work_unless_forced(tmp_path, capsys):
    root = _fake_repo(tmp_path)
    stubs.write(root)
    mine = root / "exercises" / "pkg" / "mod.py"
    answer = mine.read_text().replace('raise NotImplementedError("square', 'return x * x  # ("square')
    mine.write_text(answer)
    (root / "dlcourse" / "pkg" / "mod.py").write_text(REF.replace("Return x squared", "Return x**2"))
    with pytest.raises(DlcourseError, match="exercises/pkg/mod.py"):
        stubs.write(root)
    assert mine.read_text() == answer  # nothing was written, not even the other files
    assert main(["exercises", "--repo", str(root)]) == 2
    assert "dlcourse exercises --force" in capsys.readouterr().err
    # files still as generated are replaced freely; a lost record only makes it ask
    mine.write_text(answer.replace("return x * x", "return x ** 2"))
    assert main(["exercises", "--repo", str(root), "--force"]) == 0
    assert "Return x**2" in mine.read_text() and "NotImplementedError" in mine.read_text()
    (root / "dlcourse" / "pkg" / "mod.py").write_text(REF)
    stubs.write(root)
    (root / "exercises" / ".generated.json").unlink()
    (root / "dlcourse" / "pkg" / "mod.py").write_text(REF.replace("Return x squared", "Return x**2"))
    with pytest.raises(DlcourseError, match="exercises/pkg/mod.py"):
        stubs.write(root)


def test_student_notebook_has_no_answers_and_runs_the_students_parts(tmp_path):
    root = _fake_repo(tmp_path)
    stubs.write(root)
    nb = json.loads((root / "exercises" / "notebooks" / "nb.ipynb").read_text())
    text = json.dumps(nb)
    assert "The answer is" not in text and "print(square(3))" not in text
    assert "Your answer:" in text and "YOUR CODE HERE" in text
    assert "reference" not in text.replace("parts.reference", "")  # the book-only section and cell are gone
    assert "For everybody" in text and "gan.describe()" in text and "Text before the section" in text
    assert "The question." in text and "committed" not in text
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any('gan = parts.mine("gan")' in s for s in sources)
    assert not any("parts.reference" in s for s in sources)


@pytest.mark.parametrize("line", ["from dlcourse.gan.model import Generator", "from dlcourse.gan import model, plots",
                                  "import dlcourse.clip.loss", "x = dlcourse.minimax.steps.gda_step"])
def test_a_notebook_that_uses_a_reference_part_directly_is_refused(tmp_path, line):
    root = _fake_repo(tmp_path)
    md = root / "solutions" / "nb.md"
    md.write_text(md.read_text().replace("import dlcourse.io\n", f"import dlcourse.io\n{line}\n"))
    with pytest.raises(stubs.StubError, match=r"nb.md, code cell \d+: .* uses the reference's part directly"):
        stubs.write(root)
    # in a book-only cell it is fine; in an answer cell it is refused too (a filled-in notebook would run it)
    md.write_text(md.read_text().replace(f"{line}\n", "").replace('print("a book-only cell")', line))
    stubs.write(root)


def test_cli_check_fails_when_stale(tmp_path, capsys):
    root = _fake_repo(tmp_path)
    assert main(["exercises", "--check", "--repo", str(root)]) == 1
    assert "out of sync" in capsys.readouterr().out
    assert main(["exercises", "--repo", str(root)]) == 0
    assert main(["exercises", "--check", "--repo", str(root)]) == 0


def test_repository_exercises_are_in_sync(repo):
    assert stubs.check(repo) == [], "run `dlcourse exercises` and commit exercises/"


def test_generated_stub_modules_import(repo):
    """Every generated stub compiles and its module-level code runs (imports resolve)."""
    from dlcourse.grading.core import Submission

    sub = Submission(repo / "exercises")
    for rel in stubs.solution_modules():
        name = "dlcourse." + rel.with_suffix("").as_posix().replace("/", ".")
        sub.module(name)
