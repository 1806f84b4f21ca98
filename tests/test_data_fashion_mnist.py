"""The FashionMNIST provisioning chain: sources in order, md5 verification, atomicity, errors."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from dlcourse.cli import main
from dlcourse.data import fashion_mnist as fm
from dlcourse.errors import DataNotFoundError


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A fake 'system copy': four small gzipped files, and RAW_MD5 set to their decompressed md5s."""
    src = tmp_path / "system"
    src.mkdir()
    md5s = {}
    for i, name in enumerate(fm.RAW_MD5):
        payload = bytes([i]) * (1000 + i)
        (src / f"{name}.gz").write_bytes(gzip.compress(payload))
        md5s[name] = hashlib.md5(payload).hexdigest()
    monkeypatch.setattr(fm, "RAW_MD5", md5s)
    monkeypatch.setattr(fm, "SYSTEM_DIR", src)
    return src


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in fm.raw_dir(root).glob(".*tmp"))


def test_system_copy_is_decompressed_and_verified(fake_source, tmp_path):
    root = tmp_path / "data"
    assert not fm.is_ready(root)
    fm.ensure(root, sources=[("system", fm._from_system)])
    assert fm.is_ready(root)
    assert sorted(p.name for p in fm.raw_dir(root).iterdir()) == sorted(fm.RAW_MD5)


def test_already_present_needs_no_source(fake_source, tmp_path):
    root = tmp_path / "data"
    fm.ensure(root, sources=[("system", fm._from_system)])

    def boom(_root):
        raise AssertionError("a source was tried although the data was present")

    fm.ensure(root, sources=[("boom", boom)])


def test_truncated_gzip_is_reported_by_name_and_leaves_nothing(fake_source, tmp_path):
    bad = fake_source / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-12])  # cut the gzip trailer
    root = tmp_path / "data"
    with pytest.raises(DataNotFoundError) as err:
        fm.ensure(root, sources=[("system", fm._from_system)])
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte" in msg and "corrupt or truncated" in msg
    assert "apt-get install dataset-fashion-mnist" in msg  # says how to fix it
    assert not (fm.raw_dir(root) / "t10k-images-idx3-ubyte").exists()
    assert _leftovers(root) == []


def test_md5_mismatch_is_detected(fake_source, tmp_path):
    name = "train-labels-idx1-ubyte"
    (fake_source / f"{name}.gz").write_bytes(gzip.compress(b"not the real labels"))
    root = tmp_path / "data"
    with pytest.raises(DataNotFoundError, match=f"{name}.*md5"):
        fm.ensure(root, sources=[("system", fm._from_system)])
    assert not (fm.raw_dir(root) / name).exists()


def test_corrupt_file_in_root_is_replaced_from_next_source(fake_source, tmp_path):
    root = tmp_path / "data"
    fm.ensure(root, sources=[("system", fm._from_system)])
    target = fm.raw_dir(root) / "train-images-idx3-ubyte"
    target.write_bytes(b"garbage")
    assert [s.name for s in fm.status(root) if s.present and not s.md5_ok] == ["train-images-idx3-ubyte"]
    fm.ensure(root, sources=[("system", fm._from_system)])
    assert fm.is_ready(root)


def test_chain_tries_sources_in_order_and_lists_every_failure(tmp_path):
    tried = []

    def failing(label):
        def fn(_root):
            tried.append(label)
            raise OSError(f"{label} unavailable")
        return fn

    with pytest.raises(DataNotFoundError) as err:
        fm.ensure(tmp_path, sources=[("first", failing("first")), ("second", failing("second"))])
    assert tried == ["first", "second"]
    msg = str(err.value)
    assert "first: OSError: first unavailable" in msg and "second: OSError" in msg
    assert "dlcourse data fetch fashion-mnist" in msg


def test_cli_reports_missing_data_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fm, "SOURCES", [("nothing", lambda root: (_ for _ in ()).throw(OSError("offline")))])
    code = main(["data", "fetch", "fashion-mnist", "--root", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("dlcourse: error: FashionMNIST is not available") and "Traceback" not in err


@pytest.mark.skipif(not fm.SYSTEM_DIR.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_real_debian_copy_matches_torchvision_md5s(tmp_path):
    root = fm.ensure(tmp_path, sources=[("system", fm._from_system)])
    assert all(s.ok for s in fm.status(root))
    images, labels = fm.tensors(train=False, root=root, limit=100)
    assert images.shape == (100, 1, 28, 28) and labels.shape == (100,)
    assert images.min() >= -1 and images.max() <= 1 and images.dtype.is_floating_point
    assert set(labels.tolist()) <= set(range(10))
    full = fm.dataset(train=True, root=root)
    assert len(full) == 60_000
