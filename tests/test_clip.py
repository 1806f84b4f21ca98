"""Problem 2 (CLIP): encoders and their weight sources, model, losses, retrieval metrics, zero-shot,
the input pipeline, and an end-to-end run (train, resume, reuse, evaluate, search) on a tiny stand-in."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import warnings

import pytest
import torch
import torch.nn.functional as F

from dlcourse import parts
from dlcourse.clip import data as clipdata
from dlcourse.clip import evaluate, train
from dlcourse.clip.encoders import TextEncoder, VisionEncoder, WeightsWarning, minilm_folder
from dlcourse.clip.loss import ClipLoss, SoftTargetClipLoss
from dlcourse.clip.model import CLIP, INIT_LOGIT_SCALE, ProjectionHead
from dlcourse.clip.retrieval import similarity, top_k
from dlcourse.clip.train import make_loss
from dlcourse.clip.zeroshot import class_embeddings, classify
from dlcourse.data import standin
from dlcourse.errors import ConfigError, DlcourseError

# --------------------------------------------------------------------------- encoders


def test_vision_encoders_shapes_and_random_init_label():
    for name, dim in (("resnet18", 512), ("resnet50", 2048)):
        enc = VisionEncoder(name, weights="none")
        assert enc.out_dim == dim and enc(torch.randn(2, 3, 32, 32)).shape == (2, dim)
        assert enc.weights == "random init (asked for)"
    with pytest.raises(ConfigError, match="resnet101"):
        VisionEncoder("resnet101")


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty torch hub cache and no network for torchvision's weight download."""
    import torchvision

    def no_network(self, *a, **k):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", no_network)
    return tmp_path / "hub" / "checkpoints"


def test_vision_weights_cache_download_fallback_and_local_file(offline_hub, tmp_path):
    with pytest.warns(WeightsWarning, match="RANDOM INIT"):
        enc = VisionEncoder("resnet18", weights="auto")
    assert enc.weights.startswith("random init (ImageNet weights unavailable")
    with pytest.raises(DlcourseError, match="could not be downloaded"):
        VisionEncoder("resnet18", weights="imagenet")
    # weights in the hub cache are used (a stand-in state dict under the real file name)
    import torchvision

    ref = torchvision.models.resnet18()
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    offline_hub.mkdir(parents=True)
    torch.save(ref.state_dict(), offline_hub / url.rsplit("/", 1)[1])
    enc = VisionEncoder("resnet18", weights="auto")
    assert enc.weights.startswith("ImageNet pretrained (torch hub cache")
    assert torch.equal(enc.net.conv1.weight, ref.conv1.weight)
    path = tmp_path / "mine.pt"
    torch.save(ref.state_dict(), path)
    assert VisionEncoder("resnet18", weights=str(path)).weights == f"pretrained ({path})"
    with pytest.raises(ConfigError, match="does not exist"):
        VisionEncoder("resnet18", weights=str(tmp_path / "nope.pt"))


@pytest.fixture(scope="module")
def minilm():
    return TextEncoder("minilm")


def test_minilm_is_the_pretrained_package_model(minilm):
    assert (minilm_folder() / "model.safetensors").is_file()
    assert minilm.weights.startswith("pretrained all-MiniLM-L6-v2") and minilm.out_dim == 384
    tok = minilm.tokenize(["a dog runs on the beach", "a red bag"])
    feats = minilm(**tok)
    assert feats.shape == (2, 384)
    # pretrained: related sentences are closer than unrelated ones
    f = F.normalize(minilm(**minilm.tokenize(["a dog on the beach", "a puppy on the sand", "a tax form"])), dim=-1)
    assert f[0] @ f[1] > f[0] @ f[2] + 0.2


def test_hub_text_models_fail_clearly_offline_unless_random_init_is_asked(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DlcourseError, match="--random-text-init"):
        TextEncoder("distilbert-base-uncased")
    with pytest.warns(WeightsWarning, match="RANDOM"):
        enc = TextEncoder("distilbert", allow_random=True)
    assert enc.weights.startswith("random init (distilbert-base-uncased architecture")
    assert enc(**enc.tokenize(["a dog"])).shape == (1, 768)
    tiny = TextEncoder("tiny-bert")
    assert tiny.weights.startswith("random init") and tiny.out_dim == 128


# --------------------------------------------------------------------------- model, loss, retrieval


def test_projection_head_and_clip_forward():
    head = ProjectionHead(10, 6)
    out = head(torch.randn(4, 10) * 5)
    assert out.shape == (4, 6) and torch.allclose(out.norm(dim=-1), torch.ones(4), atol=1e-5)
    vision = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 7))
    model = CLIP(vision, None, 7, 5, embed_dim=6)
    img, txt, scale = model(torch.randn(3, 3, 2, 2), {"features": torch.randn(3, 5)})
    assert img.shape == txt.shape == (3, 6)
    assert math.isclose(scale.item(), 1 / 0.07, rel_tol=1e-5) and math.isclose(INIT_LOGIT_SCALE, math.log(1 / 0.07))
    with pytest.raises(ValueError, match="no text encoder"):
        model.encode_text({"input_ids": torch.zeros(1, 2, dtype=torch.long)})


def test_infonce_is_symmetric_and_low_for_aligned_pairs():
    g = torch.Generator().manual_seed(0)
    a = F.normalize(torch.randn(8, 16, generator=g), dim=-1)
    b = F.normalize(torch.randn(8, 16, generator=g), dim=-1)
    loss = ClipLoss()
    assert torch.allclose(loss(a, b, torch.tensor(10.0)), loss(b, a, torch.tensor(10.0)))
    eye = torch.eye(8)
    assert loss(eye, eye, torch.tensor(100.0)).item() < 1e-6
    assert math.isclose(loss(eye, eye, torch.tensor(0.0)).item(), math.log(8), rel_tol=1e-6)  # uniform logits
    # soft targets: with orthogonal embeddings and a large scale they are one-hot, so both losses agree
    assert torch.allclose(SoftTargetClipLoss()(eye, eye, torch.tensor(50.0)), loss(eye, eye, torch.tensor(50.0)), atol=1e-6)
    assert isinstance(make_loss("soft"), SoftTargetClipLoss)
    with pytest.raises(ConfigError):
        make_loss("triplet")


def test_similarity_top_k_and_retrieval_metrics():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    g = torch.tensor([[10.0, 0.0], [1.0, 1.0], [0.0, 0.1]])
    assert torch.allclose(similarity(q, g)[0], torch.tensor([1.0, 2 ** -0.5, 0.0]))
    scores, idx = top_k(q, g, 2)
    assert idx.tolist() == [[0, 1], [2, 1]] and scores.shape == (2, 2)
    # 3 images with 2 captions each; image 0 and 1 retrieve perfectly, image 2's captions point to image 0
    img = torch.eye(3)
    txt = torch.stack([img[0], img[0], img[1], img[1], img[0] * 0.9 + img[2] * 0.1, img[2]])
    owner = torch.tensor([0, 0, 1, 1, 2, 2])
    m = evaluate.retrieval_metrics(img, txt, owner, ks=(1, 2))
    assert m["i2t_R@1"] == 100.0  # image 2's best caption (index 5) is its own
    assert m["t2i_R@1"] == pytest.approx(100 * 5 / 6, abs=0.01)  # caption 4 ranks image 0 first
    assert m["t2i_R@2"] == 100.0 and m["t2i_medr"] == 1.0


def test_zero_shot_ensembles_templates():
    vecs = {"a x": torch.tensor([1.0, 0.0]), "the x": torch.tensor([0.0, 10.0]),
            "a y": torch.tensor([-1.0, 0.0]), "the y": torch.tensor([0.0, -1.0])}
    cls = class_embeddings(lambda ts: torch.stack([vecs[t] for t in ts]), ["x", "y"], ["a {}", "the {}"])
    assert torch.allclose(cls, F.normalize(torch.tensor([[1.0, 1.0], [-1.0, -1.0]]), dim=-1))
    assert classify(torch.tensor([[3.0, 2.0], [-1.0, 0.0]]), cls).tolist() == [0, 1]


# --------------------------------------------------------------------------- input pipeline


def test_epoch_batches_visit_each_image_once_with_unique_images_per_batch():
    owner = torch.tensor([0, 0, 1, 2, 2, 2, 3, 4, 4, 5])
    split = clipdata.Split(data=None, images=torch.zeros(6, 3, 2, 2, dtype=torch.uint8), texts=[""] * 10, owner=owner)
    batches = clipdata.epoch_batches(split, 4, seed=1, epoch=0)
    imgs = torch.cat([i for i, _ in batches])
    assert sorted(imgs.tolist()) == list(range(6))
    for i, c in batches:
        assert len(set(i.tolist())) == len(i) and torch.equal(owner[c], i)  # a caption of that very image
    again = clipdata.epoch_batches(split, 4, seed=1, epoch=0)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    other = clipdata.epoch_batches(split, 4, seed=1, epoch=1)
    assert any(not torch.equal(a[0], b[0]) for a, b in zip(batches, other))
    assert [len(i) for i, _ in clipdata.epoch_batches(split, 5, 0, 0)] == [5]  # a lone last pair is dropped


def test_keyword_labels_need_a_clear_majority():
    caps = [["A dog runs .", "a brown dog", "two dogs play", "grass"],  # dog
            ["a dog", "a bike", "a dog on a bike", "a bicycle"],  # dog 2 votes, bicycle 3 votes -> bicycle
            ["a man", "a woman", "people", "a crowd"]]  # nothing
    assert clipdata.keyword_labels(caps) == [0, 1, -1]


def test_decode_centre_crops_and_resizes(tmp_path):
    from PIL import Image

    img = Image.new("RGB", (60, 20), (0, 0, 255))
    img.paste((255, 0, 0), (20, 0, 40, 20))  # the centre square is red
    img.save(tmp_path / "a.jpg", quality=95)
    out = clipdata.decode_images([tmp_path / "a.jpg"], 8, workers=1)
    assert out.shape == (1, 3, 8, 8) and out.dtype == torch.uint8
    assert out[0, 0].float().mean() > 200 and out[0, 2].float().mean() < 60


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A 100-image stand-in in its own data root (caches go there too)."""
    root = tmp_path_factory.mktemp("clipdata")
    folder = standin.ensure(root, n_images=100, seed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLCOURSE_DATA", str(root))
        yield folder


def _cfg(folder, **kw):
    base = dict(vision="resnet18", text="minilm", data=str(folder), image_size=32, epochs=2, batch_size=16,
                freeze_text=True, vision_weights="none", seed=0, test_images=20, device="cpu")
    return train.ClipConfig(**{**base, **kw})


def _weights(run):
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


def test_train_resume_reuse_evaluate_search(tiny_data, tmp_path, monkeypatch, capsys):
    cfg = _cfg(tiny_data)
    full = train.train(cfg, tmp_path / "full", quiet=True)
    n_test = min(20, len(clipdata.load_split(cfg.data, "test")))
    assert full["complete"] and len(full["history"]) == 2 and full["test"]["n_test_images"] == n_test
    assert "NOT Flickr8K" in full["data"] and "random init" in full["weights"]["vision"]
    assert full["split"].startswith("hash of the image id") and full["split"] in full["test_data"]
    assert full["precision"] == "fp32" and full["config"]["precision"] == "auto"  # auto on a CPU: float32
    assert "pretrained all-MiniLM-L6-v2" in full["weights"]["text"] and "(frozen)" in full["weights"]["text"]
    assert {"i2t_R@1", "t2i_R@10", "i2t_medr"} <= set(full["test"]["retrieval"])
    assert set(full["test"]["prompts"]) >= {"{}", "ensemble of all templates"}
    assert len(list((tmp_path / "full" / "grids").glob("*.png"))) == 3
    ckpt = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)
    assert not any(k.startswith("text.") for k in ckpt["model"])  # the frozen pretrained encoder is not copied
    assert ckpt["optimizer"] is None and ckpt["epoch"] == 2

    # interrupted in epoch 2, then resumed: the same weights as the uninterrupted run
    ref = parts.reference("clip")
    real_step, calls = ref.step.train_step, {"n": 0}

    def with_step(step):  # the reference parts with another step (same fingerprint: the same run)
        return dataclasses.replace(ref, modules={**ref.modules, "step": types.SimpleNamespace(train_step=step)})

    steps_per_epoch = len(clipdata.epoch_batches(clipdata.prepare(cfg.data, "train", 32), 16, 0, 0))

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == steps_per_epoch + 2:
            raise KeyboardInterrupt
        return real_step(*a, **k)

    with pytest.raises(KeyboardInterrupt):
        train.train(cfg, tmp_path / "resumed", parts=with_step(flaky), quiet=True)
    assert torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert not (tmp_path / "resumed" / "metrics.json").exists()
    resumed = train.train(cfg, tmp_path / "resumed", quiet=True)
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["history"] == full["history"]

    # a complete run returns at once without training; a different config in the same folder is refused
    never = with_step(lambda *a, **k: pytest.fail("a complete run must not train"))
    assert train.train(cfg, tmp_path / "full", parts=never, quiet=True)["history"] == full["history"]
    with pytest.raises(ConfigError, match=r"other settings \(epochs: 2 -> 3"):
        train.train(_cfg(tiny_data, epochs=3), tmp_path / "full", quiet=True)

    # the CLI: evaluate and search a run
    from dlcourse.cli import main

    assert main(["clip", "evaluate", str(tmp_path / "full"), "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["retrieval"] == full["test"]["retrieval"]
    grid = tmp_path / "grid.png"
    assert main(["clip", "search", str(tmp_path / "full"), "a red sneaker", "--k", "4", "--out", str(grid)]) == 0
    assert grid.is_file() and len(capsys.readouterr().out.splitlines()) == 5


def test_fine_tuned_text_encoder_and_soft_loss_train(tiny_data, tmp_path):
    cfg = _cfg(tiny_data, text="tiny-bert", freeze_text=False, loss="soft", epochs=1, train_images=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = train.train(cfg, tmp_path / "tb", quiet=True)
    assert "random init" in m["weights"]["text"] and "(fine-tuned)" in m["weights"]["text"]
    assert m["learning_rates"] == {"heads": 1e-3, "vision": 1e-3, "text": 5e-4}
    assert any(k.startswith("text.") for k in _weights(tmp_path / "tb"))
    model, _, _ = train.load_run(tmp_path / "tb")
    assert not model.training
    with pytest.raises(ConfigError, match="freeze-text"):
        train.build_model(_cfg(tiny_data, text="tiny-bert", freeze_text=True))


def test_profile_config_and_cli_wiring():
    from dlcourse import profiles
    from dlcourse.cli import build_parser

    quick = profiles.current("quick").clip
    cfg = train.ClipConfig.from_profile(*quick.models[0], profile=profiles.current("quick"))
    assert cfg.data == quick.dataset and cfg.image_size == quick.image_size and cfg.freeze_text == quick.freeze_text
    full = profiles.current("full").clip
    assert full.dataset == "flickr8k" and {v for v, _ in full.models} == {"resnet18", "resnet34", "resnet50"}
    args = build_parser().parse_args(["clip", "train", "--vision", "resnet50", "--text", "distilbert-base-uncased",
                                      "--data", "flickr8k", "--out", "runs/x"])
    assert args.vision == "resnet50" and args.data == "flickr8k"
