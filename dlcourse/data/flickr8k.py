"""Flickr8K (Problem 2): find, read, clean, split, import and download it.

Two layouts are in the wild, and both are read as they are:

* **Kaggle** (``adityajn105/flickr8k``): ``Images/*.jpg`` and ``captions.txt``, a CSV with the header
  ``image,caption``. Captions contain commas and may or may not be quoted, so the file is read with
  the :mod:`csv` module and any extra fields are joined back into the caption.
* **Original** (the two zips of Hodosh et al. 2013, also on the jbrownlee GitHub release):
  ``Flicker8k_Dataset/*.jpg`` (sic) and ``Flickr8k_text/Flickr8k.token.txt`` with lines
  ``<image>.jpg#<k><TAB><caption>``, plus the split files ``Flickr_8k.trainImages.txt``,
  ``Flickr_8k.devImages.txt`` and ``Flickr_8k.testImages.txt`` (6000/1000/1000 images).

Which split a run uses (``CaptionedImages.split_source``, printed by every run and kept in its
``metrics.json``):

* the folder's own split files when it has them (the original zips);
* otherwise, when the folder's images are Flickr8K's (the Kaggle copy), the same standard lists,
  shipped with dlcourse in :data:`SPLITS_DIR` (``flickr8k_splits/README.md`` says where they come
  from and how they were checked; their sha256 is pinned in :data:`SPLIT_SHA256` and checked on
  every load).

In both of these cases images in no list (Flickr8K has 8,091 images, the lists 8,000) are left out of
every split and listed images that are not in the folder are skipped; both are reported in ONE
:class:`SplitWarning` per folder.

Only a folder whose images are not Flickr8K's (the offline stand-in, your own captioned images in
this layout) is split by a hash of the image id (:func:`split_of`): deterministic, 6000/1000/1000
proportions, one image's captions always in one split, but not the split published results use.

Real-world dirt is cleaned and summarised in ONE warning per folder: CRLF line ends, captions of
images that do not exist (the original token file lists
``2258277193_586949ec62.jpg``, which is not in the zip), exact duplicate lines, empty captions,
malformed lines, images with more or fewer than 5 captions (more: the first 5 are kept; fewer: kept
as they are, evaluation handles any count).

Where the data set lives: ``$DLCOURSE_FLICKR8K`` (a folder in either layout, used in place) or
``<data root>/Flickr8k`` (filled by ``dlcourse data flickr8k --from PATH`` or ``--download``).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import http.client
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.data.paths import data_root
from dlcourse.errors import ConfigError, DataNotFoundError
from dlcourse.io import md5sum

ENV_VAR = "DLCOURSE_FLICKR8K"  # a folder that already holds Flickr8K (either layout), used in place
MIRRORS_ENV_VAR = "DLCOURSE_FLICKR8K_MIRRORS"
FOLDER_NAME = "Flickr8k"
CAPTIONS_PER_IMAGE = 5
SPLITS = ("train", "dev", "test")
#: Fractions of the standard split (6000/1000/1000 of 8000), used for the hash-based split.
SPLIT_FRACTIONS = {"train": 0.75, "dev": 0.125, "test": 0.125}
IMAGE_DIR_NAMES = ("Images", "Flicker8k_Dataset", "Flickr8k_Dataset")
KAGGLE_CAPTIONS = "captions.txt"
TOKEN_FILE = "Flickr8k.token.txt"
SPLIT_FILES = {"train": "Flickr_8k.trainImages.txt", "dev": "Flickr_8k.devImages.txt",
               "test": "Flickr_8k.testImages.txt"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

#: The standard 6000/1000/1000 lists (Hodosh et al. 2013, ``Flickr8k_text.zip``), shipped as package data.
SPLITS_DIR = Path(__file__).with_name("flickr8k_splits")
SPLIT_SIZES = {"train": 6000, "dev": 1000, "test": 1000}
#: sha256 of each shipped list, its bytes with line ends normalised to LF (so a CRLF checkout still passes).
SPLIT_SHA256 = {
    "train": "e330ddd5156a4c2d2e2b67bc587e70e588f2d132bd8a10dc54dcb71e58115d8e",
    "dev": "18ba829f47f6df1cb830bf7f0506e2ddf333818925299babbd1bbcaf50fdc504",
    "test": "c0924146c131458ceba45da59670fe9520eadce1e5cafffa16a817672a9b1f17",
}
#: A Flickr8K image file name: Flickr photo id, underscore, 10-hex-digit secret, ``.jpg``.
IMAGE_NAME = re.compile(r"\d+_[0-9a-f]{10}\.jpg")
SOURCE_FOLDER = "standard Flickr8K split, from the folder's own split files"
SOURCE_SHIPPED = "standard Flickr8K split, lists shipped with dlcourse"
SOURCE_HASH = "hash of the image id, not Flickr8K's standard split"

HOW_TO_GET = f"""How to get Flickr8K (about 1 GB; its licence forbids redistribution, so it is never bundled):
  * `dlcourse data flickr8k --download` fetches the two zips from the public mirrors
    (override the list with ${MIRRORS_ENV_VAR}, see dlcourse.data.flickr8k.parse_mirrors);
  * `dlcourse data flickr8k --from PATH [PATH ...]` imports what you already have: the Kaggle zip
    (archive.zip with Images/ and captions.txt), the two original zips (Flickr8k_Dataset.zip,
    Flickr8k_text.zip), or an unpacked folder in either layout;
  * or point ${ENV_VAR} at an unpacked folder to use it in place.
Without Flickr8K, use the offline stand-in: `--data standin` (it is NOT Flickr8K)."""


class DataQualityWarning(UserWarning):
    """A caption file had dirt that was skipped or repaired (one summary per folder)."""


class SplitWarning(DataQualityWarning):
    """Images left out of a standard split: on disk but in no list, or listed but not in the folder."""


# ----------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """Where the pieces of one Flickr8K-style folder are."""

    kind: str  # "kaggle" or "original"
    image_dir: Path
    captions_file: Path
    split_dir: Path | None  # folder holding the three split files, when present

    @property
    def has_standard_split(self) -> bool:
        return self.split_dir is not None


def default_folder(root: Path | None = None) -> Path:
    """The Flickr8K folder: ``$DLCOURSE_FLICKR8K`` if set, else ``<data root>/Flickr8k``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env and root is None:
        return Path(env).expanduser()
    return (root or data_root()) / FOLDER_NAME


def find_layout(folder: Path) -> Layout:
    """Detect the layout of ``folder``; raise :class:`DataNotFoundError` naming what is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"Flickr8K folder {folder} does not exist.\n{HOW_TO_GET}")
    image_dir = next((folder / n for n in IMAGE_DIR_NAMES if (folder / n).is_dir()), None)
    token = next((p for p in (folder / "Flickr8k_text" / TOKEN_FILE, folder / TOKEN_FILE) if p.is_file()), None)
    kaggle = folder / KAGGLE_CAPTIONS
    if image_dir is None:
        raise DataNotFoundError(
            f"{folder} has no image folder (expected one of {', '.join(IMAGE_DIR_NAMES)}).\n{HOW_TO_GET}")
    if token is not None:
        split_dir = token.parent if all((token.parent / f).is_file() for f in SPLIT_FILES.values()) else None
        return Layout("original", image_dir, token, split_dir)
    if kaggle.is_file():
        split_dir = folder if all((folder / f).is_file() for f in SPLIT_FILES.values()) else None
        return Layout("kaggle", image_dir, kaggle, split_dir)
    raise DataNotFoundError(
        f"{folder} has images in {image_dir.name}/ but no captions: expected {KAGGLE_CAPTIONS} (Kaggle layout) "
        f"or Flickr8k_text/{TOKEN_FILE} (original layout).\n{HOW_TO_GET}")


# ----------------------------------------------------------------------------- reading + cleaning


def _read_kaggle(path: Path, note) -> list[tuple[str, str]]:
    """``captions.txt`` -> ``[(image, caption), ...]``; quoted or unquoted captions with commas."""
    pairs = []
    with open(path, encoding="utf-8-sig", newline="") as f:  # newline="": csv handles CRLF itself
        for i, row in enumerate(csv.reader(f)):
            if not row or not "".join(row).strip():
                continue
            if i == 0 and [c.strip().lower() for c in row[:2]] == ["image", "caption"]:
                continue
            if len(row) < 2:
                note("malformed lines", f"line {i + 1}: {','.join(row)[:40]!r}")
                continue
            pairs.append((row[0].strip(), ",".join(row[1:])))  # unquoted commas split the caption: rejoin
    return pairs


def _read_token(path: Path, note) -> list[tuple[str, str]]:
    """``Flickr8k.token.txt`` (``name.jpg#k<TAB>caption``) -> ``[(image, caption), ...]``."""
    pairs = []
    with open(path, encoding="utf-8-sig") as f:  # universal newlines: CRLF becomes \n
        for i, line in enumerate(f):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            key, tab, caption = line.partition("\t")
            if not tab or "#" not in key:
                note("malformed lines", f"line {i + 1}: {line[:40]!r}")
                continue
            pairs.append((key.split("#", 1)[0].strip(), caption))
    return pairs


@dataclass
class Scan:
    """The cleaned content of a folder: captions per existing image, and what was skipped."""

    layout: Layout
    captions: dict[str, list[str]]  # image file name -> 1..5 cleaned captions
    issues: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one example per issue kind


def _clean(caption: str) -> str:
    return re.sub(r"\s+", " ", caption).strip()


def scan(folder: Path) -> Scan:
    """Read and clean the captions of ``folder`` (cached per file state); warn once about dirt."""
    layout = find_layout(folder)
    st = layout.captions_file.stat()
    result = _scan_cached(str(layout.captions_file), str(layout.image_dir), layout.kind, st.st_mtime_ns, st.st_size)
    if result.issues:
        _warn_once(result)
    return Scan(layout, result.captions, result.issues, result.examples)


@functools.lru_cache(maxsize=8)
def _scan_cached(captions_file: str, image_dir: str, kind: str, mtime: int, size: int) -> Scan:
    issues: Counter = Counter()
    examples: dict[str, str] = {}

    def note(kind_: str, example: str) -> None:
        issues[kind_] += 1
        examples.setdefault(kind_, example)

    reader = _read_kaggle if kind == "kaggle" else _read_token
    pairs = reader(Path(captions_file), note)
    on_disk = {p.name for p in os.scandir(image_dir) if p.name.lower().endswith(IMAGE_SUFFIXES)}
    captions: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for image, raw in pairs:
        caption = _clean(raw)
        if not caption:
            note("empty captions", image)
        elif image not in on_disk:
            note("captions of images that do not exist", image)
        elif (image, caption.lower()) in seen:
            note("duplicate captions", f"{image}: {caption[:40]}")
        else:
            seen.add((image, caption.lower()))
            captions.setdefault(image, []).append(caption)
    for image, caps in captions.items():
        if len(caps) > CAPTIONS_PER_IMAGE:
            note(f"images with more than {CAPTIONS_PER_IMAGE} captions (first {CAPTIONS_PER_IMAGE} kept)", image)
            del caps[CAPTIONS_PER_IMAGE:]
        elif len(caps) < CAPTIONS_PER_IMAGE:
            note(f"images with fewer than {CAPTIONS_PER_IMAGE} captions (kept)", image)
    layout = Layout(kind, Path(image_dir), Path(captions_file), None)
    return Scan(layout, captions, issues, examples)


_WARNED: set[tuple] = set()


def _warn_once(result: Scan) -> None:
    key = (str(result.layout.captions_file), tuple(sorted(result.issues.items())))
    if key in _WARNED:
        return
    _WARNED.add(key)
    parts = [f"{n} {kind} (e.g. {result.examples[kind]})" for kind, n in sorted(result.issues.items())]
    warnings.warn(f"{result.layout.captions_file}: cleaned while reading: " + "; ".join(parts) + ".",
                  DataQualityWarning, stacklevel=3)


# ----------------------------------------------------------------------------- splits


def split_of(image_id: str) -> str:
    """Deterministic split of an image by a hash of its id (file name without suffix).

    ``"1000268201_693b08cb0e.jpg" -> "train" | "dev" | "test"`` with probabilities 0.75/0.125/0.125.
    A hash (not Python's salted ``hash``) keeps it identical across runs and machines.
    """
    stem = Path(image_id).stem
    u = int(hashlib.sha1(stem.encode("utf-8")).hexdigest()[:8], 16) / 2**32
    if u < SPLIT_FRACTIONS["train"]:
        return "train"
    return "dev" if u < SPLIT_FRACTIONS["train"] + SPLIT_FRACTIONS["dev"] else "test"


def standard_split(directory: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The standard Flickr8K split shipped with dlcourse: ``{"train": 6000 names, "dev": 1000, "test": 1000}``.

    Names are image file names in the original lists' order. Each file's sha256 (line ends
    normalised) must equal :data:`SPLIT_SHA256`; a changed, damaged or missing file raises
    :class:`DataNotFoundError` naming it and the fix, so an edited list never slips into a run.
    """
    directory = Path(directory) if directory is not None else SPLITS_DIR
    fix = ("restore it: `git checkout -- <that file>` in a git checkout of dlcourse, otherwise "
           "`pip install --force-reinstall dlcourse`")
    lists = {}
    for split, fname in SPLIT_FILES.items():
        path = directory / fname
        try:
            data = path.read_bytes().replace(b"\r\n", b"\n")
        except OSError as e:
            raise DataNotFoundError(f"{path}: the standard Flickr8K {split} list shipped with dlcourse cannot be read "
                                    f"({e.strerror or e}); {fix}.") from e
        digest = hashlib.sha256(data).hexdigest()
        if digest != SPLIT_SHA256[split]:
            raise DataNotFoundError(
                f"{path}: this is not the standard Flickr8K {split} list shipped with dlcourse (sha256 {digest}, "
                f"expected {SPLIT_SHA256[split]}): the file was changed or damaged, and an edited list would "
                f"give results that do not compare with published ones; {fix}.")
        lists[split] = tuple(data.decode("ascii").split())
    return lists


def is_flickr8k_names(names) -> bool:
    """True when most of ``names`` (image file names) are in the standard Flickr8K lists."""
    names = list(names)
    listed = set().union(*standard_split().values())
    return bool(names) and 2 * sum(1 for n in names if n in listed) > len(names)


def _read_list(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").split()


def _assign(s: Scan) -> tuple[dict[str, list[str]], str]:
    """Captioned image names per split (each sorted) and where the split comes from (a ``SOURCE_*``)."""
    if s.layout.split_dir is not None:
        lists, source = {sp: _read_list(s.layout.split_dir / f) for sp, f in SPLIT_FILES.items()}, SOURCE_FOLDER
    elif is_flickr8k_names(s.captions):
        lists, source = standard_split(), SOURCE_SHIPPED
    else:  # not Flickr8K's images (the stand-in, a user's folder): no standard split exists for them
        return {sp: sorted(n for n in s.captions if split_of(n) == sp) for sp in SPLITS}, SOURCE_HASH
    listed = set().union(*lists.values())
    unlisted = sorted(set(s.captions) - listed)
    missing = sorted(listed - set(s.captions))
    if unlisted or missing:
        _warn_split_once(s.layout, source, unlisted, missing)
    return {sp: sorted({n for n in lst if n in s.captions}) for sp, lst in lists.items()}, source


def _warn_split_once(layout: Layout, source: str, unlisted: list[str], missing: list[str]) -> None:
    key = ("split", str(layout.image_dir), source, len(unlisted), len(missing))
    if key in _WARNED:
        return
    _WARNED.add(key)
    parts = []
    if unlisted:
        parts.append(f"{len(unlisted)} captioned images are in no split list and are left out of every split "
                     f"(e.g. {', '.join(unlisted[:3])})")
    if missing:
        parts.append(f"{len(missing)} listed images are not in {layout.image_dir.name}/ with a caption and are "
                     f"skipped (e.g. {', '.join(missing[:3])})")
    warnings.warn(f"{layout.image_dir.parent}: {source}: " + "; ".join(parts) + ".", SplitWarning, stacklevel=4)


# ----------------------------------------------------------------------------- the data set


@dataclass
class CaptionedImages:
    """One split of a captioned-image folder (Flickr8K, or the offline stand-in in the same layout).

    ``images[i]`` is a file name in ``image_dir`` with captions ``captions[i]`` (1..5 of them);
    ``labels`` (``(N,)`` class indices into ``class_names``) exist where the data set has labels.
    """

    name: str  # what the data is, printed by every run: "Flickr8K" or the stand-in's label
    split: str
    image_dir: Path
    images: list[str]
    captions: list[list[str]]
    split_source: str  # one of SOURCE_FOLDER, SOURCE_SHIPPED, SOURCE_HASH
    labels: list[int] | None = None
    class_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def paths(self) -> list[Path]:
        return [self.image_dir / n for n in self.images]

    def flat_captions(self) -> tuple[list[str], list[int]]:
        """All captions in one list and the image index of each: ``(M,)`` strings, ``(M,)`` ints."""
        texts, owner = [], []
        for i, caps in enumerate(self.captions):
            texts += caps
            owner += [i] * len(caps)
        return texts, owner

    def describe(self) -> str:
        n_caps = sum(len(c) for c in self.captions)
        return (f"{self.name}, {self.split} split ({self.split_source}): {len(self)} images, "
                f"{n_caps} captions, from {self.image_dir.parent}")


def load(split: str = "train", folder: Path | None = None, limit: int | None = None,
         name: str = "Flickr8K") -> CaptionedImages:
    """Load one split of a Flickr8K-layout folder (default: :func:`default_folder`).

    ``limit`` keeps the first ``limit`` images of the split in name order (deterministic subsets).
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not one of {SPLITS}")
    folder = Path(folder) if folder is not None else default_folder()
    s = scan(folder)
    by_split, source = _assign(s)
    names = by_split[split][:limit]
    if not names:
        raise DataNotFoundError(f"{folder}: the {split} split is empty (no captioned images found; split: {source})."
                                f"\n{HOW_TO_GET}")
    return CaptionedImages(
        name=name, split=split, image_dir=s.layout.image_dir, images=names,
        captions=[list(s.captions[n]) for n in names], split_source=source,
    )


def is_ready(folder: Path | None = None) -> bool:
    """True when ``folder`` (default :func:`default_folder`) holds a readable Flickr8K layout."""
    try:
        find_layout(Path(folder) if folder is not None else default_folder())
        return True
    except DataNotFoundError:
        return False


def summary(folder: str | Path | None = None) -> str:
    """One line on ``folder`` (default :func:`default_folder`): layout, image count and which split it gets."""
    folder = Path(folder) if folder is not None else default_folder()
    layout = find_layout(folder)
    names = [p.name for p in os.scandir(layout.image_dir) if p.name.lower().endswith(IMAGE_SUFFIXES)]
    if layout.has_standard_split:
        split = SOURCE_FOLDER
    else:
        try:
            split = SOURCE_SHIPPED if is_flickr8k_names(names) else SOURCE_HASH + " (these are not Flickr8K's images)"
        except DataNotFoundError as e:
            split = f"split lists damaged: {e}"
    return f"{layout.kind} layout, {len(names)} images, {split}"


def status_lines() -> list[str]:
    """Lines for ``dlcourse data status``."""
    folder = default_folder()
    try:
        return [f"Flickr8K {folder}: ok ({summary(folder)})"]
    except DataNotFoundError:
        return [f"Flickr8K {folder}: missing (`dlcourse data flickr8k --download` or `--from PATH`)"]


# ----------------------------------------------------------------------------- import


def _extract(src: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(src) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DataNotFoundError(f"{src} is corrupt: member {bad} fails its CRC check. Download it again.")
            zf.extractall(dest)  # zipfile drops absolute paths and '..' components itself
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise DataNotFoundError(f"{src} is not a readable zip file ({e}): corrupt or truncated; "
                                "download it again.") from e


def _locate(tree: Path) -> tuple[Path, Path, str]:
    """Find the image folder and the caption file anywhere under ``tree`` (skipping ``__MACOSX``)."""
    images = captions = None
    kind = ""
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d != "__MACOSX")
        here = Path(dirpath)
        for d in dirnames:
            if d in IMAGE_DIR_NAMES and images is None:
                images = here / d
        if TOKEN_FILE in filenames and kind != "original":
            captions, kind = here / TOKEN_FILE, "original"
        elif KAGGLE_CAPTIONS in filenames and captions is None:
            captions, kind = here / KAGGLE_CAPTIONS, "kaggle"
    if images is None or captions is None:
        missing = " and ".join(x for x, v in (("an image folder (" + "/".join(IMAGE_DIR_NAMES) + ")", images),
                                              (f"a caption file ({KAGGLE_CAPTIONS} or {TOKEN_FILE})", captions))
                               if v is None)
        raise DataNotFoundError(f"the given sources contain no {missing}. The original data set comes as two "
                                f"zips: pass both.\n{HOW_TO_GET}")
    return images, captions, kind


def import_from(sources: Sequence[str | os.PathLike], root: Path | None = None, *, verbose: bool = False) -> Path:
    """Import Flickr8K from zips and/or folders into ``<root>/Flickr8k``; return that folder.

    Everything is unpacked into a temporary folder beside the target, checked with :func:`scan`, and
    only then moved into place, so a failed import leaves neither half a data set nor litter.
    """
    root = Path(root) if root is not None else data_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / FOLDER_NAME
    work = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-import-", dir=root))
    try:
        staging, out = work / "staging", work / FOLDER_NAME
        for i, src in enumerate(map(Path, sources)):
            if verbose:
                print(f"Flickr8K: unpacking {src} ...", flush=True)
            if src.is_dir():
                shutil.copytree(src, staging / f"{i}-{src.name}", symlinks=False)
            elif src.is_file():
                _extract(src, staging / f"{i}-{src.stem}")
            else:
                raise DataNotFoundError(f"{src} does not exist (expected a .zip file or a folder).")
        images, captions, kind = _locate(staging)
        out.mkdir()
        shutil.move(str(images), out / images.name)
        if kind == "kaggle":
            shutil.move(str(captions), out / KAGGLE_CAPTIONS)
        else:
            (out / "Flickr8k_text").mkdir()
            for txt in captions.parent.glob("*.txt"):
                shutil.move(str(txt), out / "Flickr8k_text" / txt.name)
        s = scan(out)
        if not s.captions:
            raise DataNotFoundError(f"the imported data has no captioned images (captions in {captions.name} "
                                    f"name none of the files in {images.name}/).")
        if target.exists():
            os.replace(target, work / "previous")
        os.replace(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if verbose:
        print(f"Flickr8K: imported into {target} ({len(s.captions)} captioned images)", flush=True)
    return target


# ----------------------------------------------------------------------------- download


@dataclass(frozen=True)
class Remote:
    """One file of a mirror: its URL and, when known, its md5 and size in bytes."""

    url: str
    md5: str | None = None
    size: int | None = None


#: Public mirrors, tried in order; a mirror is the list of zips that together make the data set.
#: md5s of the jbrownlee release as published by other data loaders of the same files.
MIRRORS: tuple[tuple[Remote, ...], ...] = (
    (
        Remote("https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_Dataset.zip",
               md5="f18a1e2920de5bd84dae7cf08ec78978"),
        Remote("https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_text.zip",
               md5="bf6c1abcb8e4a833b7f922104de18627"),
    ),
)


def parse_mirrors(text: str) -> tuple[tuple[Remote, ...], ...]:
    """Parse ``$DLCOURSE_FLICKR8K_MIRRORS``: mirrors separated by ``;``, files by spaces or commas.

    A file may carry ``#md5=<hex>`` and/or ``#size=<bytes>`` fragments, e.g.
    ``https://host/a.zip#md5=0123... https://host/b.zip; https://other/a.zip https://other/b.zip``.
    """
    mirrors = []
    for chunk in text.split(";"):
        files = []
        for item in re.split(r"[\s,]+", chunk.strip()):
            if not item:
                continue
            url, *frags = item.split("#")
            opts = dict(f.split("=", 1) for f in frags if "=" in f)
            if not re.match(r"^(https?|file)://", url):
                raise ConfigError(f"${MIRRORS_ENV_VAR}: {url!r} is not an http(s):// or file:// URL")
            files.append(Remote(url, opts.get("md5"), int(opts["size"]) if "size" in opts else None))
        if files:
            mirrors.append(tuple(files))
    return tuple(mirrors)


def _fetch(remote: Remote, dest: Path, *, timeout: float, verbose: bool) -> None:
    """Download ``remote`` to ``dest`` and verify length, size, md5 and zip CRCs; raise ``ValueError``."""
    from tqdm import tqdm

    with urllib.request.urlopen(remote.url, timeout=timeout) as resp:  # noqa: S310 - URLs are http(s)/file
        expected = resp.headers.get("Content-Length")
        expected = int(expected) if expected is not None else remote.size
        got = 0
        with open(dest, "wb") as f, tqdm(total=expected, unit="B", unit_scale=True, desc=Path(remote.url).name,
                                         disable=not verbose, leave=False) as bar:
            try:
                while block := resp.read(1 << 20):
                    f.write(block)
                    got += len(block)
                    bar.update(len(block))
            except http.client.IncompleteRead as e:
                raise ValueError(f"truncated: the connection closed after {got + len(e.partial)} bytes") from e
    if expected is not None and got != expected:
        raise ValueError(f"truncated: got {got} bytes, the server announced {expected}")
    if remote.size is not None and got != remote.size:
        raise ValueError(f"size {got} bytes, expected {remote.size}")
    if remote.md5 is not None and (found := md5sum(dest)) != remote.md5:
        raise ValueError(f"md5 {found}, expected {remote.md5} (corrupt download)")
    try:
        with zipfile.ZipFile(dest) as zf:
            if (bad := zf.testzip()) is not None:
                raise ValueError(f"zip member {bad} fails its CRC check (corrupt download)")
    except zipfile.BadZipFile as e:
        raise ValueError(f"not a valid zip file ({e}): corrupt or truncated download") from e


def download(root: Path | None = None, mirrors: Sequence[Sequence[Remote]] | None = None, *,
             timeout: float = 60.0, verbose: bool = False) -> Path:
    """Download Flickr8K from the first mirror that works and import it; return its folder.

    Mirrors: ``mirrors``, else ``$DLCOURSE_FLICKR8K_MIRRORS`` (:func:`parse_mirrors`), else
    :data:`MIRRORS`. Every file is verified (announced length, size, md5 when known, zip CRCs)
    before anything is unpacked; a bad download is deleted and the next mirror is tried.
    """
    root = Path(root) if root is not None else data_root()
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV_VAR, "").strip()
        mirrors = parse_mirrors(env) if env else MIRRORS
    root.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in mirrors:
        work = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-download-", dir=root))
        try:
            files = []
            for remote in mirror:
                dest = work / (Path(urllib.parse.urlparse(remote.url).path).name or "download.zip")
                if verbose:
                    print(f"Flickr8K: downloading {remote.url} ...", flush=True)
                _fetch(remote, dest, timeout=timeout, verbose=verbose)
                files.append(dest)
            return import_from(files, root, verbose=verbose)
        except (OSError, ValueError, urllib.error.URLError, http.client.HTTPException, DataNotFoundError) as e:
            failures.append(f"  - {' + '.join(r.url for r in mirror)}: {type(e).__name__}: {e}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    raise DataNotFoundError("could not download Flickr8K from any mirror:\n" + "\n".join(failures) + "\n" + HOW_TO_GET)


def ensure(folder: Path | None = None) -> Path:
    """The Flickr8K folder if it is ready; otherwise a :class:`DataNotFoundError` saying how to get it.

    Never downloads on its own (about 1 GB): that is ``dlcourse data flickr8k --download``.
    """
    folder = Path(folder) if folder is not None else default_folder()
    find_layout(folder)
    return folder


__all__ = [
    "CaptionedImages", "DataQualityWarning", "Layout", "MIRRORS", "Remote", "SplitWarning", "default_folder",
    "download", "ensure", "find_layout", "import_from", "is_flickr8k_names", "is_ready", "load", "parse_mirrors",
    "scan", "split_of", "standard_split", "status_lines", "summary",
]
