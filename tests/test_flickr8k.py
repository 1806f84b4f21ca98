"""Flickr8K reading, cleaning, splitting, importing and downloading, on small fixtures in both layouts.

The fixtures are real JPEG files (tiny, made with PIL) with caption files that carry the dirt of the
real ones: CRLF line ends, quoted and unquoted captions with commas, captions of a missing image
(2258277193_586949ec62.jpg, as in the original token file), duplicate lines, too few captions.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import shutil
import threading
import warnings
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from dlcourse.data import flickr8k
from dlcourse.errors import DataNotFoundError

IMAGES = [f"{1000 + i}_abc{i:02d}.jpg" for i in range(12)]
MISSING = "2258277193_586949ec62.jpg"


def _jpeg(path: Path, i: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (10, 8), (20 * i % 255, 100, 200)).save(path, format="JPEG")


def _captions(name: str, n: int = 5) -> list[str]:
    return [f"caption {k} of {name}, with a comma" for k in range(n)]


def make_kaggle(root: Path) -> Path:
    """Images/ + captions.txt (CRLF, header, quoted and unquoted commas, dirt)."""
    for i, name in enumerate(IMAGES):
        _jpeg(root / "Images" / name, i)
    lines = ["image,caption"]
    for i, name in enumerate(IMAGES):
        for k, cap in enumerate(_captions(name, 3 if i == 0 else 5)):
            lines.append(f'{name},"{cap}"' if k % 2 else f"{name},{cap}")  # quoted and unquoted
    lines.append(f"{IMAGES[1]},caption 1 of {IMAGES[1]}, with a comma")  # duplicate line
    lines.append(f"{MISSING},A dog runs .")  # caption of an image that does not exist
    (root / "captions.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return root


def make_original(root: Path, with_splits: bool = True) -> Path:
    """Flicker8k_Dataset/ + Flickr8k_text/Flickr8k.token.txt (CRLF) + the three split files."""
    for i, name in enumerate(IMAGES):
        _jpeg(root / "Flicker8k_Dataset" / name, i)
    text = root / "Flickr8k_text"
    text.mkdir(parents=True)
    lines = [f"{name}#{k}\t{cap}" for name in IMAGES for k, cap in enumerate(_captions(name))]
    lines += [f"{MISSING}#0\tA dog runs .", lines[0], "garbage line without a tab"]
    (text / "Flickr8k.token.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    if with_splits:
        (text / "Flickr_8k.trainImages.txt").write_text("\n".join(IMAGES[:8] + [MISSING]) + "\n")
        (text / "Flickr_8k.devImages.txt").write_text("\n".join(IMAGES[8:10]) + "\n")
        (text / "Flickr_8k.testImages.txt").write_text("\r\n".join(IMAGES[10:]) + "\r\n")
    return root


def zip_folder(folder: Path, dest: Path, prefix: str = "", macosx: bool = False) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(folder).as_posix())
        if macosx:
            zf.writestr("__MACOSX/._junk", b"\x00\x05junk")
    return dest


def _load_all(folder: Path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = {s: flickr8k.load(s, folder=folder) for s in flickr8k.SPLITS}
    return splits, [w for w in caught if issubclass(w.category, flickr8k.DataQualityWarning)]


def test_kaggle_layout_is_read_and_cleaned_with_one_warning(tmp_path):
    folder = make_kaggle(tmp_path / "kaggle")
    splits, warns = _load_all(folder)
    assert len(warns) == 1, [str(w.message) for w in warns]
    msg = str(warns[0].message)
    assert "1 captions of images that do not exist" in msg and MISSING in msg
    assert "1 duplicate captions" in msg and "fewer than 5 captions" in msg
    images = [n for s in splits.values() for n in s.images]
    assert sorted(images) == sorted(IMAGES) and len(set(images)) == len(IMAGES)  # each image in exactly one split
    by_name = {n: c for s in splits.values() for n, c in zip(s.images, s.captions)}
    assert by_name[IMAGES[1]] == _captions(IMAGES[1])  # commas kept, quotes and \r gone, duplicate dropped
    assert len(by_name[IMAGES[0]]) == 3  # too few captions: kept as they are
    assert all(s.split_source == flickr8k.SOURCE_HASH for s in splits.values())  # not Flickr8K's images
    assert all(flickr8k.split_of(n) == s for s, d in splits.items() for n in d.images)


def test_original_layout_uses_the_standard_split_files(tmp_path):
    folder = make_original(tmp_path / "orig")
    layout = flickr8k.find_layout(folder)
    assert layout.kind == "original" and layout.image_dir.name == "Flicker8k_Dataset" and layout.has_standard_split
    splits, warns = _load_all(folder)
    cleaning = [w for w in warns if w.category is flickr8k.DataQualityWarning]
    split_warns = [w for w in warns if w.category is flickr8k.SplitWarning]
    assert len(cleaning) == 1 and len(split_warns) == 1, [str(w.message) for w in warns]
    assert "malformed lines" in str(cleaning[0].message) and MISSING in str(cleaning[0].message)
    # the split file lists an image that is not there: skipped, and said so
    assert f"1 listed images are not in Flicker8k_Dataset/ with a caption and are skipped (e.g. {MISSING})" in str(
        split_warns[0].message)
    assert splits["train"].images == sorted(IMAGES[:8])
    assert splits["dev"].images == sorted(IMAGES[8:10]) and splits["test"].images == sorted(IMAGES[10:])
    assert splits["test"].split_source == flickr8k.SOURCE_FOLDER
    assert all(len(c) == 5 and not any("\r" in x for x in c) for c in splits["train"].captions)
    texts, owner = splits["train"].flat_captions()
    assert len(texts) == 40 and owner[:6] == [0, 0, 0, 0, 0, 1]


def test_original_layout_without_split_files_falls_back_to_the_hash_split(tmp_path):
    folder = make_original(tmp_path / "orig", with_splits=False)
    splits, _ = _load_all(folder)
    assert splits["train"].split_source == flickr8k.SOURCE_HASH  # these images are not Flickr8K's
    assert sorted(n for s in splits.values() for n in s.images) == sorted(IMAGES)


# --------------------------------------------------------------------------- the standard split


def test_shipped_standard_lists_are_the_original_ones():
    """Invariants an edited copy (sorted, re-split, padded, one line short) would break."""
    files = {s: flickr8k.SPLITS_DIR / f for s, f in flickr8k.SPLIT_FILES.items()}
    lists = {s: p.read_text(encoding="ascii").splitlines() for s, p in files.items()}
    assert {s: len(v) for s, v in lists.items()} == {"train": 6000, "dev": 1000, "test": 1000} == flickr8k.SPLIT_SIZES
    assert all(len(set(v)) == len(v) for v in lists.values())  # no duplicates
    assert len(set(lists["train"]) | set(lists["dev"]) | set(lists["test"])) == 8000  # pairwise disjoint
    assert all(re.fullmatch(r"\d+_[0-9a-f]{10}\.jpg", n) for v in lists.values() for n in v)
    # the original order (not sorted), with the well-known first entries of Flickr8k_text.zip
    assert lists["test"][:3] == ["3385593926_d3e9c21170.jpg", "2677656448_6b7e7702af.jpg", "311146855_0b65fdb169.jpg"]
    assert lists["dev"][:2] == ["2090545563_a4e66ec76b.jpg", "3393035454_2d2370ffd4.jpg"]
    assert lists["train"][:3] == ["2513260012_03d33305cf.jpg", "2903617548_d3e38d7f88.jpg", "3338291921_fe7ae0c8f8.jpg"]
    assert lists["test"][-1] == "3490736665_38710f4b91.jpg" and lists["train"][-1] == "2671602981_4edde92658.jpg"
    assert all(v != sorted(v) for v in lists.values())
    assert MISSING not in {n for v in lists.values() for n in v}  # captioned in the token file, not in the zip
    # LF files whose hashes are the pinned ones, and what the loader returns is exactly these lists
    assert {s: hashlib.sha256(p.read_bytes()).hexdigest() for s, p in files.items()} == flickr8k.SPLIT_SHA256
    assert all(b"\r" not in p.read_bytes() and p.read_bytes().endswith(b"\n") for p in files.values())
    assert flickr8k.standard_split() == {s: tuple(v) for s, v in lists.items()}


def _flickr_names() -> dict[str, list[str]]:
    """Real Flickr8K image names: 5 train, 2 dev, 3 test, picked where the hash split disagrees."""
    std = flickr8k.standard_split()
    want = {"train": 5, "dev": 2, "test": 3}
    return {s: [n for n in std[s] if flickr8k.split_of(n) != s][:k] for s, k in want.items()}


UNLISTED = ["1000000001_0123456789.jpg", "1000000002_abcdef0123.jpg"]  # Flickr-shaped, in no list


def make_kaggle_flickr(root: Path, names: list[str]) -> Path:
    for i, name in enumerate(names):
        _jpeg(root / "Images" / name, i)
    lines = ["image,caption"] + [f"{n},{c}" for n in names for c in _captions(n)]
    (root / "captions.txt").write_text("\n".join(lines) + "\n")
    return root


def test_kaggle_layout_with_flickr8k_images_is_split_as_the_standard_lists_say(tmp_path):
    by_split = _flickr_names()
    folder = make_kaggle_flickr(tmp_path / "kaggle", [n for v in by_split.values() for n in v] + UNLISTED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = {s: flickr8k.load(s, folder=folder) for s in flickr8k.SPLITS}
        again = flickr8k.load("test", folder=folder)
    assert {s: d.images for s, d in splits.items()} == {s: sorted(v) for s, v in by_split.items()}
    assert again.images == splits["test"].images
    assert all(d.split_source == flickr8k.SOURCE_SHIPPED for d in splits.values())
    assert "lists shipped with dlcourse" in splits["test"].describe()
    # images in no list: in no split, reported once (one warning over four loads) with count and names
    assert not set(UNLISTED) & {n for d in splits.values() for n in d.images}
    warns = [str(w.message) for w in caught if issubclass(w.category, flickr8k.SplitWarning)]
    assert len(warns) == 1 and len([w for w in caught if issubclass(w.category, flickr8k.DataQualityWarning)]) == 1
    assert "\n" not in warns[0] and str(folder) in warns[0]
    assert f"2 captioned images are in no split list and are left out of every split (e.g. {', '.join(UNLISTED)})" in warns[0]
    assert "7990 listed images are not in Images/ with a caption and are skipped" in warns[0]  # a partial copy


def test_a_folder_with_its_own_split_files_keeps_them_even_for_flickr8k_images(tmp_path):
    by_split = _flickr_names()
    names = [n for v in by_split.values() for n in v]
    folder = make_kaggle_flickr(tmp_path / "k", names)
    own = {"train": names[:2], "dev": names[2:6], "test": names[6:]}  # not the standard assignment
    for s, f in flickr8k.SPLIT_FILES.items():
        (folder / f).write_text("\n".join(own[s]) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = {s: flickr8k.load(s, folder=folder) for s in flickr8k.SPLITS}
    assert {s: d.images for s, d in splits.items()} == {s: sorted(v) for s, v in own.items()}
    assert all(d.split_source == flickr8k.SOURCE_FOLDER for d in splits.values())
    assert not [w for w in caught if issubclass(w.category, flickr8k.SplitWarning)]  # all listed, all there


@pytest.mark.parametrize("damage", ["edited", "padded", "missing", "crlf"])
def test_a_changed_shipped_list_is_refused_with_the_file_and_the_fix(tmp_path, monkeypatch, damage):
    folder = make_kaggle_flickr(tmp_path / "kaggle", [n for v in _flickr_names().values() for n in v])
    splits_dir = tmp_path / "flickr8k_splits"
    shutil.copytree(flickr8k.SPLITS_DIR, splits_dir)
    test_file = splits_dir / flickr8k.SPLIT_FILES["test"]
    lines = test_file.read_text().splitlines()
    if damage == "edited":  # a typical edit: two names swapped (same names, same size)
        lines[0], lines[1] = lines[1], lines[0]
        test_file.write_text("\n".join(lines) + "\n")
    elif damage == "padded":
        test_file.write_text("\n".join(lines + ["1.jpg"]) + "\n")
    elif damage == "missing":
        test_file.unlink()
    else:  # the same list with Windows line ends (a CRLF checkout) is still the standard list
        test_file.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    monkeypatch.setattr(flickr8k, "SPLITS_DIR", splits_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if damage == "crlf":
            assert flickr8k.load("test", folder=folder).split_source == flickr8k.SOURCE_SHIPPED
            return
        with pytest.raises(DataNotFoundError) as err:
            flickr8k.load("test", folder=folder)
    msg = str(err.value)
    assert str(test_file) in msg and "git checkout" in msg and "pip install --force-reinstall dlcourse" in msg
    assert ("cannot be read" if damage == "missing" else f"expected {flickr8k.SPLIT_SHA256['test']}") in msg


def test_status_names_the_split_a_folder_gets(tmp_path, monkeypatch):
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    monkeypatch.setenv(flickr8k.ENV_VAR, str(make_kaggle_flickr(tmp_path / "k", _flickr_names()["test"])))
    assert "lists shipped with dlcourse" in flickr8k.status_lines()[0]
    monkeypatch.setenv(flickr8k.ENV_VAR, str(make_kaggle(tmp_path / "own")))
    assert "not Flickr8K's images" in flickr8k.status_lines()[0]
    broken = tmp_path / "broken"
    broken.mkdir()
    monkeypatch.setattr(flickr8k, "SPLITS_DIR", broken)
    monkeypatch.setenv(flickr8k.ENV_VAR, str(tmp_path / "k"))
    assert "split lists damaged" in flickr8k.status_lines()[0]


def test_hash_split_is_deterministic_with_standard_proportions():
    ids = [f"{i:010d}_{hashlib.md5(str(i).encode()).hexdigest()[:10]}.jpg" for i in range(8000)]
    splits = [flickr8k.split_of(i) for i in ids]
    assert splits == [flickr8k.split_of(i) for i in ids]
    counts = {s: splits.count(s) for s in flickr8k.SPLITS}
    assert abs(counts["train"] - 6000) < 150 and abs(counts["dev"] - 1000) < 100 and abs(counts["test"] - 1000) < 100
    assert flickr8k.split_of("a.jpg") == flickr8k.split_of("a.png")  # by image id, not file name


def test_limit_and_bad_inputs(tmp_path):
    folder = make_original(tmp_path / "orig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(flickr8k.load("train", folder=folder, limit=3)) == 3
        with pytest.raises(Exception, match="split 'val'"):
            flickr8k.load("val", folder=folder)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        flickr8k.find_layout(tmp_path / "nowhere")
    (tmp_path / "noimg").mkdir()
    with pytest.raises(DataNotFoundError, match="no image folder"):
        flickr8k.find_layout(tmp_path / "noimg")
    (tmp_path / "nocap" / "Images").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="no captions"):
        flickr8k.find_layout(tmp_path / "nocap")


def _no_litter(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.startswith(".")]


def test_import_from_kaggle_zip_and_original_zips(tmp_path):
    src = tmp_path / "src"
    kaggle_zip = zip_folder(make_kaggle(src / "k"), src / "archive.zip")
    orig = make_original(src / "o")
    images_zip = zip_folder(orig / "Flicker8k_Dataset", src / "Flickr8k_Dataset.zip", "Flicker8k_Dataset/", macosx=True)
    text_zip = zip_folder(orig / "Flickr8k_text", src / "Flickr8k_text.zip")  # files at the zip's top level

    root = tmp_path / "data"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = flickr8k.import_from([kaggle_zip], root)
        assert target == root / "Flickr8k" and flickr8k.find_layout(target).kind == "kaggle"
        target = flickr8k.import_from([images_zip, text_zip], root)  # replaces the previous import
        layout = flickr8k.find_layout(target)
        assert layout.kind == "original" and layout.has_standard_split
        assert flickr8k.load("test", folder=target).images == sorted(IMAGES[10:])
        target = flickr8k.import_from([orig], root)  # an unpacked folder works too
    assert flickr8k.find_layout(target).kind == "original"
    assert _no_litter(root) == []


def test_import_of_a_corrupt_or_incomplete_source_leaves_nothing_behind(tmp_path):
    src = tmp_path / "src"
    good = zip_folder(make_kaggle(src / "k"), src / "archive.zip")
    broken = src / "broken.zip"
    data = bytearray(good.read_bytes())
    broken.write_bytes(bytes(data[: len(data) // 2]))  # truncated
    root = tmp_path / "data"
    with pytest.raises(DataNotFoundError, match="not a readable zip"):
        flickr8k.import_from([broken], root)
    orig = make_original(src / "o")
    only_images = zip_folder(orig / "Flicker8k_Dataset", src / "imgs.zip", "Flicker8k_Dataset/")
    with pytest.raises(DataNotFoundError, match="caption file"):
        flickr8k.import_from([only_images], root)
    assert not (root / "Flickr8k").exists() and _no_litter(root) == []


# --------------------------------------------------------------------------- download


class _Server:
    """A local HTTP server on 127.0.0.1 serving fixture bytes; /truncated/* announces more than it sends."""

    def __init__(self, files: dict[str, bytes]):
        files_ = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                body = files_.get(self.path.split("?")[0].removeprefix("/truncated"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path.startswith("/truncated/") else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def mirror_files(tmp_path):
    orig = make_original(tmp_path / "src" / "o")
    images = zip_folder(orig / "Flicker8k_Dataset", tmp_path / "src" / "Flickr8k_Dataset.zip", "Flicker8k_Dataset/")
    text = zip_folder(orig / "Flickr8k_text", tmp_path / "src" / "Flickr8k_text.zip", "Flickr8k_text/")
    return {"/Flickr8k_Dataset.zip": images.read_bytes(), "/Flickr8k_text.zip": text.read_bytes()}


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


@pytest.mark.network
def test_download_skips_truncated_and_corrupt_mirrors(tmp_path, mirror_files):
    corrupt = bytearray(mirror_files["/Flickr8k_Dataset.zip"])
    corrupt[len(corrupt) // 3] ^= 0xFF  # same length, one byte flipped
    files = {**mirror_files, "/corrupt/Flickr8k_Dataset.zip": bytes(corrupt)}
    md5_images, md5_text = _md5(mirror_files["/Flickr8k_Dataset.zip"]), _md5(mirror_files["/Flickr8k_text.zip"])
    root = tmp_path / "data"
    with _Server(files) as srv:
        R = flickr8k.Remote
        mirrors = [
            (R(f"{srv.url}/truncated/Flickr8k_Dataset.zip"), R(f"{srv.url}/Flickr8k_text.zip")),
            (R(f"{srv.url}/corrupt/Flickr8k_Dataset.zip", md5=md5_images), R(f"{srv.url}/Flickr8k_text.zip")),
            (R(f"{srv.url}/Flickr8k_Dataset.zip", md5=md5_images, size=len(mirror_files["/Flickr8k_Dataset.zip"])),
             R(f"{srv.url}/Flickr8k_text.zip", md5=md5_text)),
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target = flickr8k.download(root, mirrors, timeout=5)
            assert flickr8k.load("dev", folder=target).images == sorted(IMAGES[8:10])
        assert _no_litter(root) == []

        # every mirror bad: one error naming each failure, and nothing left behind
        shutil.rmtree(target)
        with pytest.raises(DataNotFoundError) as err:
            flickr8k.download(root, mirrors[:2] + [(R(f"{srv.url}/missing.zip"),)], timeout=5)
        text = str(err.value)
        assert "truncated" in text and "md5" in text and "404" in text
        assert not target.exists() and _no_litter(root) == []


@pytest.mark.network
def test_download_without_checksum_still_detects_a_corrupt_zip(tmp_path, mirror_files):
    corrupt = bytearray(mirror_files["/Flickr8k_text.zip"])
    corrupt[40] ^= 0xFF  # inside the first member's data: its CRC fails
    with _Server({"/t.zip": bytes(corrupt)}) as srv:
        with pytest.raises(DataNotFoundError, match="CRC|zip"):
            flickr8k.download(tmp_path, [(flickr8k.Remote(f"{srv.url}/t.zip"),)], timeout=5)
    assert _no_litter(tmp_path) == []


def test_mirror_list_from_the_environment(monkeypatch):
    mirrors = flickr8k.parse_mirrors("http://a/x.zip#md5=abc,http://a/y.zip#size=12; https://b/x.zip")
    assert mirrors == ((flickr8k.Remote("http://a/x.zip", "abc"), flickr8k.Remote("http://a/y.zip", None, 12)),
                       (flickr8k.Remote("https://b/x.zip"),))
    with pytest.raises(Exception, match="not an http"):
        flickr8k.parse_mirrors("ftp://nope/x.zip")
    assert all(len(m) == 2 and all(r.md5 for r in m) for m in flickr8k.MIRRORS)


def test_status_lines_and_cli_import(tmp_path, monkeypatch, capsys):
    from dlcourse.cli import main

    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv(flickr8k.ENV_VAR, raising=False)
    assert "missing" in flickr8k.status_lines()[0]
    z = zip_folder(make_kaggle(tmp_path / "k"), tmp_path / "archive.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["data", "flickr8k", "--from", str(z), "--quiet"]) == 0
    assert "not Flickr8K's standard split" in capsys.readouterr().out  # the import says which split it gets
    line = flickr8k.status_lines()[0]
    assert "ok (kaggle layout, 12 images" in line
    monkeypatch.setenv(flickr8k.ENV_VAR, str(make_original(tmp_path / "elsewhere")))
    assert "original layout" in flickr8k.status_lines()[0] and flickr8k.is_ready()
