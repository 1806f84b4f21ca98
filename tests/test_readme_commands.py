"""The README's two commands are what CI runs (.ci/run reads them from between the markers)."""

from __future__ import annotations

import subprocess


def test_ci_runs_the_readme_commands_as_written(repo):
    readme = (repo / "README.md").read_text()
    block = readme.split("<!-- ci:readme-commands")[1].split("<!-- /ci:readme-commands -->")[0]
    lines = [line for line in block.splitlines()[1:] if line and not line.startswith("```")]
    assert len(lines) == 2
    for line, session in zip(lines, ("docs", "tests")):
        # a venv first: PEP 668 systems refuse `pip install` into the system Python
        assert line.startswith("python3 -m venv .venv && .venv/bin/python -m pip install -q nox && ")
        assert f".venv/bin/nox -s {session} " in line
    ci = subprocess.run(["bash", str(repo / ".ci" / "run"), "--readme-commands"], capture_output=True, text=True,
                        check=True, timeout=60)
    assert ci.stdout.splitlines() == lines
