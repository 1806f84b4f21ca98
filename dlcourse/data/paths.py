"""Where data and runs live: ``$DLCOURSE_DATA`` or the user cache directory."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

ENV_VAR = "DLCOURSE_DATA"
RUNS_ENV_VAR = "DLCOURSE_RUNS"


def data_root() -> Path:
    """The data root: ``$DLCOURSE_DATA`` if set, else ``~/.cache/dlcourse/data`` (platform cache dir)."""
    env = os.environ.get(ENV_VAR, "").strip()
    root = Path(env).expanduser() if env else Path(user_cache_dir("dlcourse")) / "data"
    return root


def runs_root() -> Path:
    """Where the book and the CLI keep run directories: ``$DLCOURSE_RUNS`` or ``<cache>/runs``."""
    env = os.environ.get(RUNS_ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path(user_cache_dir("dlcourse")) / "runs"
