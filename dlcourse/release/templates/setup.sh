#!/usr/bin/env bash
# Gradescope autograder setup for Deep Learning Homework 3, written by `dlcourse release` (@BUILT_FROM@).
#
# Gradescope runs this once, as root, when it builds the autograder image: it installs Python, the CPU
# build of torch and the dlcourse wheel beside this script - the reference implementation, the hidden
# checks and the answer keys included - into $AUTOGRADER_ROOT/venv, then makes the reference, the hidden
# checks and the keys readable by root only (every check runs the student's code under a uid of its own,
# see dlcourse.grading.sandbox), and the wheel too.
#
# torch comes from the PyTorch CPU index (https://download.pytorch.org/whl/cpu), pinned to the version
# the release was built and checked with: PyPI's Linux wheels are the CUDA build, which pulls ~3 GB of
# nvidia-* packages onto a machine without a GPU. Everything else comes from PyPI.
#
# Variables:
#   AUTOGRADER_ROOT                  default /autograder (the bundle's tests use a temporary folder)
#   DLCOURSE_AUTOGRADER_BASE_PYTHON  testing only, never on Gradescope: the python of an environment that
#                                    already holds dlcourse's dependencies (torch, ...). The venv then sees
#                                    that environment's packages (a .pth file) and nothing is downloaded.
set -euo pipefail
unset PYTHONPATH PYTHONHOME
ROOT="${AUTOGRADER_ROOT:-/autograder}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/venv"
WHEEL="$HERE/@WHEEL@"
TORCH_INDEX="https://download.pytorch.org/whl/cpu"
say() { echo "[dlcourse setup] $*"; }

[ -f "$WHEEL" ] || { say "missing $WHEEL: upload the autograder.zip that dlcourse release wrote, unchanged"; exit 1; }
rm -rf "$VENV"
if [ -n "${DLCOURSE_AUTOGRADER_BASE_PYTHON:-}" ]; then
  BASE="$DLCOURSE_AUTOGRADER_BASE_PYTHON"
  say "test mode: a venv on top of the packages of $BASE (nothing is downloaded)"
  "$BASE" -m venv --without-pip "$VENV"
  SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  "$BASE" -c 'import sysconfig; p = sysconfig.get_paths(); print(p["purelib"]); print(p["platlib"])' \
    > "$SITE/dlcourse-autograder-base.pth"
  "$VENV/bin/python" -m pip install -q --no-deps --no-index --ignore-installed "$WHEEL"
else
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    say "installing python3 and python3-venv (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip >/dev/null
  fi
  python3 -c 'import sys; assert sys.version_info >= (3, 10), sys.version' || {
    say "dlcourse needs Python >= 3.10: choose a newer base image (Ubuntu 22.04 or later) on Gradescope's Configure Autograder page"; exit 1; }
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  say "torch==@TORCH@ and torchvision==@TORCHVISION@, CPU build, from $TORCH_INDEX"
  "$VENV/bin/python" -m pip install -q --index-url "$TORCH_INDEX" "torch==@TORCH@" "torchvision==@TORCHVISION@" || {
    say "the CPU index has no torch==@TORCH@ for $(python3 --version): choose a base image whose Python it supports, or edit the pins in this file"; exit 1; }
  say "dlcourse and its other dependencies (PyPI)"
  "$VENV/bin/python" -m pip install -q "$WHEEL"
fi

PY="$VENV/bin/python"
"$PY" -m compileall -q "$("$PY" -c 'import dlcourse, os; print(os.path.dirname(dlcourse.__file__))')"
"$PY" - <<'CHECK'
from dlcourse.grading import core
checks = core.all_checks()
hidden = [c for c in checks if c.visibility != "visible"]
assert hidden, "the installed dlcourse has no hidden checks: rebuild the bundle with dlcourse release"
assert core.keys_available(), "the installed dlcourse has no answer keys: rebuild the bundle with dlcourse release"
print(f"[dlcourse setup] {len(checks)} checks ({len(hidden)} hidden), {sum(c.points for c in checks):g} points")
CHECK
# The checks run each submission's code under a uid of their own: it must read Python and the packages.
chmod -R go+rX "$VENV"
chmod go+x "$ROOT"
if [ "$(id -u)" = 0 ]; then
  "$PY" -c 'from dlcourse.grading.sandbox import restrict_reference_files as r; print(f"[dlcourse setup] {len(r())} files of the reference, the hidden checks and the keys made readable by root only")'
  chmod -R go-rwx "$HERE"  # the wheel holds the reference too
fi
say "done: $("$PY" -c 'import torch, dlcourse; print(f"dlcourse {dlcourse.__version__}, torch {torch.__version__}")')"
