"""The Gradescope autograder bundle: ``autograder.zip`` with ``setup.sh`` and ``run_autograder`` at its root.

Gradescope's autograder specification: the zip is unpacked into ``/autograder/source``; ``setup.sh``
runs once, as root, when the image is built; ``run_autograder`` (copied to ``/autograder``) runs for
every submission, with the upload in ``/autograder/submission``, and must write
``/autograder/results/results.json``. The bundle holds

* ``setup.sh`` and ``run_autograder`` (``templates/``, with the torch pins and the wheel's name filled in);
* the dlcourse wheel built from the repository with ``pip wheel`` - the **whole** package, the
  reference implementation, the hidden checks and the answer keys included (the autograder needs them;
  students never get this file);
* ``README.md``: what it is, where it came from, how to try it locally.

The zip is reproducible: fixed member times and modes, so the same sources give the same bytes
(apart from the wheel's own build).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from dlcourse.errors import DlcourseError

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Members of the zip: (name, mode).
SCRIPTS = (("setup.sh", 0o755), ("run_autograder", 0o755))
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed member times: the same inputs give the same zip
#: What the wheel must hold for the autograder to grade (checked after it is built).
MUST_HOLD = ("dlcourse/grading/hidden/__init__.py", "dlcourse/grading/keys/__init__.py", "dlcourse/grading/core.py",
             "dlcourse/release/autograde.py")


def _stage(repo: Path, dest: Path) -> None:
    """The files ``pip wheel`` needs, copied away from the checkout (so no build/ or egg-info lands in it)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")
    shutil.copytree(repo / "dlcourse", dest / "dlcourse", ignore=ignore)
    for name in ("pyproject.toml", "README.md", *(p.name for p in repo.glob("LICEN[CS]E*"))):
        if (repo / name).is_file():
            shutil.copyfile(repo / name, dest / name)


def build_wheel(repo: Path, out_dir: Path) -> Path:
    """Build the dlcourse wheel of ``repo`` into ``out_dir`` (offline when setuptools is installed here)."""
    import importlib.util

    with tempfile.TemporaryDirectory(prefix="dlcourse-wheel-") as tmp:
        src = Path(tmp) / "src"
        _stage(repo, src)
        cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out_dir), str(src)]
        if importlib.util.find_spec("setuptools") is not None:
            cmd[5:5] = ["--no-build-isolation", "--no-index"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise DlcourseError(f"building the dlcourse wheel failed ({' '.join(cmd)}):\n{proc.stderr[-3000:]}")
    wheels = sorted(out_dir.glob("dlcourse-*.whl"))
    if len(wheels) != 1:
        raise DlcourseError(f"pip wheel wrote {len(wheels)} dlcourse wheels into {out_dir}, expected one")
    with zipfile.ZipFile(wheels[0]) as zf:
        missing = [m for m in MUST_HOLD if m not in zf.namelist()]
    if missing:
        raise DlcourseError(f"the built wheel lacks {', '.join(missing)}: check [tool.setuptools] in pyproject.toml")
    return wheels[0]


def torch_pins() -> tuple[str, str]:
    """The torch and torchvision versions of this environment, without a local part (``2.5.1+cu124`` -> ``2.5.1``):
    the autograder installs the CPU build of the versions the release was checked with."""
    import torch
    import torchvision

    return torch.__version__.split("+")[0], torchvision.__version__.split("+")[0]


def _readme(wheel: str, built_from: str, torch: str, torchvision: str) -> str:
    from dlcourse.grading import core

    timeout_min = -(-sum(c.timeout for c in core.all_checks()) // 60) + 2  # rounded up, plus setup and reporting
    return f"""# Autograder for Deep Learning Homework 3 (Gradescope)

Written by `dlcourse release` from {built_from}. Upload this zip unchanged on the assignment's
Configure Autograder page (base image: Ubuntu 22.04 or later). In the assignment's Autograder
Settings give it **3 GB of memory or more** (the grader with torch loaded peaks at about 0.9 GB, and
each check's process may take 60 % of the container's memory before its cap stops it; Gradescope's
default of 768 MB is less than the grader alone) and a
**timeout of {timeout_min} minutes** (the sum of the checks' own timeouts, which bound a submission that
hangs in every part; the default is 10).

* `setup.sh` - run once by Gradescope, as root: Python, torch=={torch} and torchvision=={torchvision}
  (CPU build, from the PyTorch CPU index), then `{wheel}`, which holds the reference implementation
  and the hidden checks; both are then made readable by root only.
* `run_autograder` - run for every submission: grades `/autograder/submission` (the submission.zip
  that `dlcourse submit` writes, unpacked or not, or the `.py` files uploaded flat) and writes
  `/autograder/results/results.json`: 15 points, each part's visible half shown at once, the hidden
  half after the due date.

Try it without Gradescope (root, Linux; `DLCOURSE_AUTOGRADER_BASE_PYTHON` names a Python that already
has torch, so nothing is downloaded):

```bash
export AUTOGRADER_ROOT=$(mktemp -d) && unzip -q autograder.zip -d $AUTOGRADER_ROOT/source
DLCOURSE_AUTOGRADER_BASE_PYTHON=$(which python) bash $AUTOGRADER_ROOT/source/setup.sh
mkdir $AUTOGRADER_ROOT/submission && unzip -q submission.zip -d $AUTOGRADER_ROOT/submission
bash $AUTOGRADER_ROOT/source/run_autograder && cat $AUTOGRADER_ROOT/results/results.json
```
"""


def _member(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644, compress: bool = True) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    zf.writestr(info, data)


def write(repo: Path, dest: Path, built_from: str) -> dict:
    """Write ``dest`` (``autograder.zip``) for ``repo``; returns what it holds."""
    torch, torchvision = torch_pins()
    with tempfile.TemporaryDirectory(prefix="dlcourse-bundle-") as tmp:
        wheel = build_wheel(repo, Path(tmp))
        fill = {"@WHEEL@": wheel.name, "@TORCH@": torch, "@TORCHVISION@": torchvision, "@BUILT_FROM@": built_from}
        with zipfile.ZipFile(dest, "w") as zf:
            for name, mode in SCRIPTS:
                text = (TEMPLATES / name).read_text(encoding="utf-8")
                for key, value in fill.items():
                    text = text.replace(key, value)
                _member(zf, name, text.encode("utf-8"), mode)
            _member(zf, wheel.name, wheel.read_bytes(), compress=False)  # a wheel is a zip already
            _member(zf, "README.md", _readme(wheel.name, built_from, torch, torchvision).encode("utf-8"))
        return {"wheel": wheel.name, "wheel_bytes": wheel.stat().st_size, "torch": torch, "torchvision": torchvision}
