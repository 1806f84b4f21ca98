"""FashionMNIST provisioning (Problem 3) through torchvision's :class:`~torchvision.datasets.FashionMNIST`.

torchvision reads the decompressed idx files from ``<root>/FashionMNIST/raw/``. :func:`ensure` puts
them there, trying the sources in order and verifying the md5 of every decompressed file:

1. already present in the data root;
2. the Debian system copy (``apt-get install dataset-fashion-mnist`` ->
   ``/usr/share/datasets/fashion-mnist/*.gz``), decompressed;
3. torchvision's own download (needs internet);
4. the Debian package fetched without root (``apt-get download dataset-fashion-mnist``), unpacked.

When every source fails, one :class:`~dlcourse.errors.DataNotFoundError` lists each failure and the
ways to fix it. Files are decompressed to a temporary name and moved into place only after their
md5 matched, so a corrupt or truncated source never leaves a half-written file behind.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dlcourse.data.paths import data_root
from dlcourse.errors import DataNotFoundError
from dlcourse.io import atomic_path, md5sum

#: md5 of the *decompressed* idx files (the gzip headers of different mirrors differ).
RAW_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

HOW_TO_FIX = f"""How to get FashionMNIST:
  * online: run `dlcourse data fetch fashion-mnist` on a machine with internet access (torchvision downloads it);
  * offline, Debian/Ubuntu: `sudo apt-get install {DEBIAN_PACKAGE}` (installs {SYSTEM_DIR}), then rerun;
  * by hand: put the four idx files (train-images-idx3-ubyte[.gz], ...) into <data root>/FashionMNIST/raw/
    and rerun; the data root is $DLCOURSE_DATA or the default shown by `dlcourse data status`."""


def raw_dir(root: Path | None = None) -> Path:
    """``<root>/FashionMNIST/raw``: where torchvision looks for the decompressed idx files."""
    return (root or data_root()) / "FashionMNIST" / "raw"


@dataclass
class FileStatus:
    """The state of one idx file in the data root."""

    name: str
    present: bool
    md5_ok: bool

    @property
    def ok(self) -> bool:
        return self.present and self.md5_ok


def status(root: Path | None = None) -> list[FileStatus]:
    """Check each of the four decompressed idx files under ``root`` (md5 included)."""
    out = []
    for name, md5 in RAW_MD5.items():
        path = raw_dir(root) / name
        present = path.is_file()
        out.append(FileStatus(name, present, present and md5sum(path) == md5))
    return out


def is_ready(root: Path | None = None) -> bool:
    """True when all four idx files are present with the right md5."""
    return all(s.ok for s in status(root))


def _install_from_gz_dir(src: Path, root: Path) -> None:
    """Decompress ``src/<name>.gz`` (or copy ``src/<name>``) into the raw dir, verifying md5s.

    Raises ``ValueError`` naming the first bad file; files already verified stay in place.
    """
    dest = raw_dir(root)
    dest.mkdir(parents=True, exist_ok=True)
    for name, md5 in RAW_MD5.items():
        target = dest / name
        if target.is_file() and md5sum(target) == md5:
            continue
        gz, plain = src / f"{name}.gz", src / name
        if not gz.is_file() and not plain.is_file():
            raise FileNotFoundError(f"{gz} not found")
        with atomic_path(target) as tmp:
            try:
                if gz.is_file():
                    with gzip.open(gz, "rb") as fin, open(tmp, "wb") as fout:
                        shutil.copyfileobj(fin, fout, 1 << 20)
                else:
                    shutil.copyfile(plain, tmp)
            except (OSError, EOFError, gzip.BadGzipFile) as e:
                raise ValueError(f"{gz if gz.is_file() else plain} is corrupt or truncated ({e})") from e
            found = md5sum(tmp)
            if found != md5:
                raise ValueError(
                    f"{gz if gz.is_file() else plain} decompresses to md5 {found}, expected {md5} "
                    "(corrupt or truncated file)"
                )


def _from_system(root: Path) -> None:
    _install_from_gz_dir(SYSTEM_DIR, root)


def _from_torchvision(root: Path) -> None:
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(root), train=True, download=True)
    FashionMNIST(str(root), train=False, download=True)
    bad = [s.name for s in status(root) if not s.ok]
    if bad:
        raise ValueError(f"torchvision's download left bad files: {', '.join(bad)}")


def _from_apt_download(root: Path) -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FileNotFoundError("apt-get/dpkg-deb not available (not a Debian-based system)")
    with tempfile.TemporaryDirectory(prefix="dlcourse-apt-") as tmp:
        proc = subprocess.run(
            ["apt-get", "download", DEBIAN_PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=600
        )
        debs = list(Path(tmp).glob("*.deb"))
        if proc.returncode != 0 or not debs:
            raise RuntimeError(f"`apt-get download {DEBIAN_PACKAGE}` failed: {proc.stderr.strip()[-300:]}")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True, timeout=600)
        _install_from_gz_dir(Path(tmp) / "x" / SYSTEM_DIR.relative_to("/"), root)


#: The provisioning chain, in order: (label, function).
SOURCES: list[tuple[str, Callable[[Path], None]]] = [
    (f"Debian system copy in {SYSTEM_DIR}", _from_system),
    ("torchvision download", _from_torchvision),
    (f"`apt-get download {DEBIAN_PACKAGE}` (no root needed)", _from_apt_download),
]


def ensure(root: Path | None = None, *, verbose: bool = False, sources=None) -> Path:
    """Make sure FashionMNIST is in ``root`` (default: the data root); return that root.

    Tries the sources of :data:`SOURCES` in order (see the module docstring) and raises
    :class:`DataNotFoundError` listing every failure and the fixes when none works.
    """
    root = Path(root) if root is not None else data_root()
    if is_ready(root):
        return root
    failures = []
    for label, fn in sources if sources is not None else SOURCES:
        try:
            if verbose:
                print(f"FashionMNIST: trying {label} ...", flush=True)
            fn(root)
        except Exception as e:  # noqa: BLE001 - each failure is reported, the chain goes on
            failures.append(f"  - {label}: {type(e).__name__}: {e}")
            continue
        if is_ready(root):
            if verbose:
                print(f"FashionMNIST: ready in {raw_dir(root)} (from {label})", flush=True)
            return root
        failures.append(f"  - {label}: finished but files are still missing or corrupt")
    bad = [f"{s.name} ({'corrupt' if s.present else 'missing'})" for s in status(root) if not s.ok]
    raise DataNotFoundError(
        f"FashionMNIST is not available in {raw_dir(root)}: {', '.join(bad)}.\n"
        "Tried:\n" + "\n".join(failures) + "\n" + HOW_TO_FIX
    )


def dataset(train: bool = True, root: Path | None = None, transform=None):
    """torchvision's ``FashionMNIST`` split, provisioned first with :func:`ensure`."""
    from torchvision.datasets import FashionMNIST

    root = ensure(root)
    return FashionMNIST(str(root), train=train, download=False, transform=transform)


def tensors(train: bool = True, root: Path | None = None, limit: int | None = None):
    """The whole split as tensors, scaled for a tanh generator.

    Returns ``images`` ``(N, 1, 28, 28)`` float32 in ``[-1, 1]`` and ``labels`` ``(N,)`` int64.
    ``limit`` keeps the first ``limit`` images (deterministic subsets for quick runs).
    """
    ds = dataset(train, root)
    images = ds.data[:limit] if limit else ds.data  # (N, 28, 28) uint8, already decoded by torchvision
    labels = ds.targets[:limit] if limit else ds.targets
    images = images.unsqueeze(1).float().div_(127.5).sub_(1.0)
    return images, labels.long()


__all__ = ["CLASSES", "RAW_MD5", "SOURCES", "dataset", "ensure", "is_ready", "raw_dir", "status", "tensors"]
