"""The `dlcourse` command as a user meets it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dlcourse import profiles
from dlcourse.cli import main
from dlcourse.errors import ConfigError


def test_help_lists_every_command_quickly():
    proc = subprocess.run([sys.executable, "-m", "dlcourse.cli", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    for cmd in ("data", "grade", "exercises", "gan"):
        assert cmd in proc.stdout
    mods = subprocess.run([sys.executable, "-c", "import sys, dlcourse.cli; dlcourse.cli.build_parser(); "
                           "print('torch' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert mods.stdout.strip() == "False", "building the parser must not import torch (slow --help)"


def test_grade_on_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "--reference" in err and "submission.zip" in err


def test_profiles_are_selected_by_environment(monkeypatch):
    monkeypatch.delenv(profiles.ENV_VAR, raising=False)
    assert profiles.current().name == "quick"
    monkeypatch.setenv(profiles.ENV_VAR, "full")
    assert profiles.current().name == "full" and profiles.current().gan.epochs == 50
    assert "full" in profiles.current().banner()
    monkeypatch.setenv(profiles.ENV_VAR, "fast")
    with pytest.raises(ConfigError, match="quick"):
        profiles.current()


def test_closed_pipe_ends_quietly():
    """`dlcourse data status | head -1` must not end in a BrokenPipeError traceback."""
    # the reader (`true`) is gone before dlcourse writes its first line: every write hits a closed pipe
    proc = subprocess.run(f"{{ sleep 1; {sys.executable} -m dlcourse.cli data status; }} | true", shell=True,
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
