"""Problem 2 (CLIP), fast checks of the trainer's device options: the precision setting, the
autocast view of the model, the factored-out epoch loop (bit-identical to the loop it replaced on a
CPU), and the WordPiece tokenizer built from a vocab.txt."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict

import pytest
import torch
from torch import nn

from dlcourse.clip import data as clipdata
from dlcourse.clip import encoders, train
from dlcourse.clip.model import CLIP, MAX_LOGIT_SCALE
from dlcourse.clip.step import train_step
from dlcourse.clip.train import make_loss
from dlcourse.errors import ConfigError, DlcourseError

# --------------------------------------------------------------------------- precision


def test_precision_is_validated_and_resolved_per_device(tmp_path):
    with pytest.raises(ConfigError, match="'fp16' is not one of auto, fp32, bf16"):
        train.ClipConfig(precision="fp16")
    with pytest.raises(ConfigError, match="not one of"):
        train.resolve_precision("half", "cpu")
    cpu, cuda = torch.device("cpu"), torch.device("cuda")  # resolving needs no GPU
    assert train.resolve_precision("auto", cpu) == train.Precision(autocast=False, channels_last=False)
    assert train.resolve_precision("auto", cuda) == train.Precision(autocast=True, channels_last=True)
    assert train.resolve_precision("fp32", cuda) == train.Precision(autocast=False, channels_last=False)
    assert train.resolve_precision("bf16", cpu) == train.Precision(autocast=True, channels_last=False)
    assert [train.resolve_precision(p, d).describe() for p, d in (("auto", cpu), ("auto", cuda), ("bf16", cpu))] \
        == ["fp32", "bf16 autocast + channels_last", "bf16 autocast"]
    # a run folder saved before the setting existed has the same config as a new default one
    cfg = train.ClipConfig(data="standin", epochs=2)
    old = {k: v for k, v in asdict(cfg).items() if k != "precision"}
    (tmp_path / "config.json").write_text(json.dumps(old))
    assert train._config_of(tmp_path) == cfg


def test_cli_precision_option():
    from dlcourse.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["clip", "train", "--precision", "bf16"]).precision == "bf16"
    assert parser.parse_args(["clip", "train"]).precision is None  # the config's default (auto)
    with pytest.raises(SystemExit):
        parser.parse_args(["clip", "train", "--precision", "fp16"])


# --------------------------------------------------------------------------- a tiny CLIP


class BagOfWords(nn.Module):
    """A stand-in text encoder: ``(B, L)`` ids and mask -> ``(B, 8)`` masked mean of embeddings."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).float()
        return (self.emb(input_ids) * mask).sum(1) / mask.sum(1)


def tiny_clip(frozen_text: bool = False) -> CLIP:
    torch.manual_seed(0)
    vision = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = CLIP(vision, BagOfWords(), 4, 8, embed_dim=6, dropout=0.1)
    for p in model.text.parameters():
        p.requires_grad_(not frozen_text)  # frozen: the trainer feeds precomputed features instead
    return model


@pytest.fixture
def tiny_split():
    g = torch.Generator().manual_seed(0)
    n, m = 10, 20
    images = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=g)
    owner = torch.arange(n).repeat_interleave(2)
    split = clipdata.Split(data=None, images=images, texts=[""] * m, owner=owner)
    lengths = torch.randint(2, 7, (m,), generator=g)
    tokens = {"input_ids": torch.randint(1, 50, (m, 6), generator=g),
              "attention_mask": (torch.arange(6) < lengths[:, None]).long()}
    return split, tokens, torch.randn(m, 8, generator=g)


def previous_loop(model, split, tokens, feats, batches, loss_fn, optimizer, scheduler) -> list[float]:
    """The epoch loop of ``train()`` before it became ``train_epoch`` (CPU: ``.to(device)`` is a no-op)."""
    losses = []
    for img_idx, cap_idx in batches:
        images = clipdata.normalize(split.images[img_idx])
        text = {"features": feats[cap_idx]} if feats is not None else clipdata.take_tokens(tokens, cap_idx)
        losses.append(float(train_step(model, images, text, loss_fn, optimizer)))  # one sync per step
        scheduler.step()
    return losses


@pytest.mark.parametrize("frozen_text", [False, True])
def test_train_epoch_is_the_previous_loop_on_a_cpu(tiny_split, frozen_text):
    split, tokens, feats = tiny_split
    cpu = torch.device("cpu")
    results = []
    for new in (False, True):
        model = tiny_clip(frozen_text)
        lrs = {"heads": 1e-2, "vision": 1e-2, "text": 1e-2}
        optimizer = train.make_optimizer(model, lrs, 0.01)
        scheduler = train.make_scheduler(optimizer, 6)
        loss_fn = make_loss("infonce")
        source = {"features": feats} if frozen_text else tokens
        images_u8, source = train.place_on_device(model, split.images, source, device=cpu, precision="auto")
        assert images_u8 is split.images  # nothing moves on a CPU
        model.train()
        torch.manual_seed(1)  # dropout
        losses = []
        for epoch in range(2):
            batches = clipdata.epoch_batches(split, 4, seed=0, epoch=epoch)
            if new:
                losses += train.train_epoch(model, images_u8, source, batches, loss_fn, optimizer, scheduler,
                                            train_step=train_step, device=cpu, precision="auto").tolist()
            else:
                losses += previous_loop(model, split, tokens, None if not frozen_text else feats, batches, loss_fn,
                                        optimizer, scheduler)
        results.append((losses, model.state_dict()))
    (old_losses, old_state), (new_losses, new_state) = results
    assert len(new_losses) == 6 and new_losses == old_losses  # bit-identical, not approximately
    assert all(torch.equal(old_state[k], new_state[k]) for k in old_state)


# --------------------------------------------------------------------------- autocast


def test_autocast_forward_runs_bf16_returns_float32_and_exposes_logit_scale(tiny_split):
    split, tokens, _ = tiny_split
    model = tiny_clip()
    view = train.AutocastForward(model, "cpu")
    assert view.logit_scale is model.logit_scale
    seen = []
    model.image_head.proj.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    images = clipdata.normalize(split.images[:4])
    outs = view(images, clipdata.take_tokens(tokens, torch.arange(4)))
    assert seen == [torch.bfloat16]  # the forward ran under autocast ...
    assert [o.dtype for o in outs] == [torch.float32] * 3  # ... its outputs come back as float32
    assert outs[0].shape == outs[1].shape == (4, 6) and outs[2].shape == ()
    # train_step through the view: gradients reach the model, and the clamp acts on its parameter
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # no update: only the clamp moves logit_scale
    loss = train_step(view, images, clipdata.take_tokens(tokens, torch.arange(4)), make_loss("infonce"), optimizer)
    assert math.isfinite(loss) and model.logit_scale.item() == pytest.approx(MAX_LOGIT_SCALE)
    grads = [p.grad for p in (model.visual[0].weight, model.text.emb.weight, model.logit_scale)]
    assert all(g is not None and g.dtype == torch.float32 for g in grads)


def test_train_epoch_in_bf16_on_a_cpu_when_asked(tiny_split):
    split, tokens, _ = tiny_split
    model = tiny_clip()
    ref = copy.deepcopy(model)
    optimizer = train.make_optimizer(model, {"heads": 1e-2, "vision": 1e-2, "text": 1e-2}, 0.01)
    losses = train.train_epoch(model, split.images, tokens, clipdata.epoch_batches(split, 5, 0, 0), make_loss("infonce"),
                               optimizer, train.make_scheduler(optimizer, 2), train_step=train_step,
                               device=torch.device("cpu"), precision="bf16")
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast never changes the weights' dtype
    assert not torch.equal(model.image_head.proj.weight, ref.image_head.proj.weight)


# --------------------------------------------------------------------------- tokenizer


def test_wordpiece_tokenizer_from_a_vocab_file(tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    vocab = encoders.minilm_folder() / "vocab.txt"
    captions = ["A black dog runs through the SNOW.", "two children, playing!", "café naïve", "x" * 120]
    ours = encoders.wordpiece_tokenizer(vocab)(captions, padding=True, truncation=True, max_length=12,
                                               return_tensors="pt")
    ref = AutoTokenizer.from_pretrained(encoders.minilm_folder())(captions, padding=True, truncation=True,
                                                                  max_length=12, return_tensors="pt")
    assert torch.equal(ours["input_ids"], ref["input_ids"]) and torch.equal(ours["attention_mask"], ref["attention_mask"])
    enc = encoders.TextEncoder.from_loaded("tiny-bert", encoders.random_text("tiny-bert", vocab=vocab))
    assert enc.weights == "random init (tiny-bert architecture)" and enc.out_dim == 128
    assert enc(**enc.tokenize(captions)).shape == (4, 128)

    with pytest.raises(DlcourseError, match="nope.txt does not exist"):
        encoders.wordpiece_tokenizer(tmp_path / "nope.txt")

    # the vocabulary shipped with dlcourse is MiniLM's (bert-base-uncased's), and needs no fetched weights
    assert encoders.VOCAB.read_bytes() == vocab.read_bytes()
    assert "Apache" in (encoders.VOCAB.parent / "LICENSE").read_text()

    def no_minilm():
        raise DlcourseError("the text encoder 'minilm' needs its pretrained weights")

    monkeypatch.setattr(encoders, "minilm_folder", no_minilm)
    assert torch.equal(encoders.wordpiece_tokenizer()(captions, padding=True, truncation=True, max_length=12,
                                                      return_tensors="pt")["input_ids"], ref["input_ids"])
    assert encoders.text_weights_missing("tiny-bert") is None
    assert "pretrained weights" in encoders.text_weights_missing("minilm")
