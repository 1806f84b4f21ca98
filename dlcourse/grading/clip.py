"""Problem 2 (CLIP, 5 points): checks of the student's ``dlcourse/clip/{model,loss,retrieval,zeroshot,step}.py``.

Every expected value is computed here, written out from the definitions (never by calling the
reference implementation that the student is replacing), on small fixed-seed tensors whose norms are
deliberately not 1, so that a missing normalisation, a one-directional loss or a wrong sort order
changes the answer. Each check takes well under a second.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.grading.core import Check, CheckFailed, Submission, expect

Q = "Problem 2"
CHECKS = [
    Check("2a", Q, "(a) projection head", 1.0, "dlcourse.grading.clip:check_projection_head", timeout=30),
    Check("2b", Q, "(b) contrastive loss", 1.0, "dlcourse.grading.clip:check_loss", timeout=30),
    Check("2c", Q, "(c) similarity + top-k retrieval", 1.0, "dlcourse.grading.clip:check_retrieval", timeout=30),
    Check("2d", Q, "(d) zero-shot classifier", 1.0, "dlcourse.grading.clip:check_zero_shot", timeout=30),
    Check("2e", Q, "(e) training step", 1.0, "dlcourse.grading.clip:check_train_step", timeout=60),
]

SEED = 2024


def _gen(part: str) -> torch.Generator:
    return torch.Generator().manual_seed(SEED + sum(map(ord, part)))


def _tensor(x, what: str, shape: tuple[int, ...]) -> torch.Tensor:
    expect(isinstance(x, torch.Tensor), f"{what}: expected a torch.Tensor of shape {shape}, found {type(x).__name__}. "
           "Hint: return the tensor itself, not a list or a number.")
    expect(tuple(x.shape) == shape, f"{what}: expected shape {shape}, found {tuple(x.shape)}. "
           "Hint: check which dimension you reduce or transpose.")
    return x


def _fmt(t: torch.Tensor, n: int = 4) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in t.flatten()[:n].tolist()) + (", ...]" if t.numel() > n else "]")


# --------------------------------------------------------------------------- (a)
def check_projection_head(sub: Submission) -> str:
    model = sub.module("dlcourse.clip.model")
    g = _gen("2a")
    torch.manual_seed(SEED)
    head = model.ProjectionHead(12, 8, dropout=0.0)
    head.eval()
    x = torch.randn(5, 12, generator=g) * 3.0
    out = _tensor(head(x), "ProjectionHead(12, 8)(x) for x of shape (5, 12)", (5, 8))
    norms = out.detach().norm(dim=-1)
    expect(torch.allclose(norms, torch.ones(5), atol=1e-4),
           f"every output row must have L2 norm 1 (so that dot products are cosine similarities); found row norms "
           f"{_fmt(norms, 5)}. Hint: finish with F.normalize(y, dim=-1).")
    with torch.no_grad():
        h = x @ head.proj.weight.T + head.proj.bias
        z = F.gelu(h) @ head.fc.weight.T + head.fc.bias
        y = F.layer_norm(h + z, (8,), head.norm.weight, head.norm.bias, head.norm.eps)
        expected = y / y.norm(dim=-1, keepdim=True)
    expect(torch.allclose(out.detach(), expected, atol=1e-5),
           f"expected the first row {_fmt(expected[0])}, found {_fmt(out[0].detach())}. Hint: h = proj(x); "
           "y = norm(h + dropout(fc(gelu(h)))) - the residual adds h, the projection before the activation.")
    expect(out.requires_grad, "the output does not require grad: it must stay connected to the head's parameters. "
           "Hint: avoid .detach(), .item() or torch.no_grad() inside forward.")
    out.sum().backward()
    expect(head.proj.weight.grad is not None and head.proj.weight.grad.abs().sum() > 0,
           "no gradient reaches proj.weight: the head's output must stay connected to its parameters. "
           "Hint: avoid .detach(), .item() or torch.no_grad() inside forward.")
    return "unit-norm rows of the residual projection, gradients flow"


# --------------------------------------------------------------------------- (b)
def _unit(g: torch.Generator, n: int, d: int) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=g), dim=-1)


def check_loss(sub: Submission) -> str:
    loss_mod = sub.module("dlcourse.clip.loss")
    g = _gen("2b")
    img = _unit(g, 6, 8)
    txt = F.normalize(img + 0.8 * torch.randn(6, 8, generator=g), dim=-1)  # matching pairs, noisy
    txt[2] = _unit(g, 1, 8)[0]  # one poor pair makes the two directions differ clearly
    scale = torch.tensor(7.0)
    img.requires_grad_(True)
    found = loss_mod.ClipLoss()(img, txt, scale)
    expect(isinstance(found, torch.Tensor) and found.dim() == 0,
           f"expected a scalar tensor (the mean loss), found {found!r}. Hint: return the tensor; cross_entropy averages.")
    with torch.no_grad():
        logits = scale * img @ txt.T
        labels = torch.arange(6)
        i2t, t2i = F.cross_entropy(logits, labels).item(), F.cross_entropy(logits.T, labels).item()
        expected = (i2t + t2i) / 2
    value = found.item()
    if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-5):
        hint = "Hint: logits = scale * image_emb @ text_emb.T, labels 0..B-1, and average the two directions."
        if math.isclose(value, i2t, rel_tol=1e-4) or math.isclose(value, t2i, rel_tol=1e-4):
            hint = ("Your value equals ONE direction only: CLIP's loss is symmetric, average the cross-entropy over "
                    "rows (image->text) and over columns (text->image).")
        elif math.isclose(value, i2t + t2i, rel_tol=1e-4):
            hint = "Your value is the sum of the two directions: take their mean."
        raise CheckFailed(f"on a fixed batch of 6 pairs with scale 7 expected loss {expected:.5f} (image->text "
                          f"{i2t:.5f}, text->image {t2i:.5f}), found {value:.5f}. {hint}")
    found.backward()
    expect(img.grad is not None and img.grad.abs().sum() > 0,
           "the loss is not differentiable w.r.t. the image embeddings. Hint: no .item()/.detach() inside.")
    # the scale must be used as given (it is exp(logit_scale), not the log)
    other = loss_mod.ClipLoss()(img.detach(), txt, torch.tensor(1.0)).item()
    logits = img.detach() @ txt.T
    expected1 = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)).item()
    expect(math.isclose(other, expected1, rel_tol=1e-4, abs_tol=1e-5),
           f"with scale 1 expected {expected1:.5f}, found {other:.5f}. Hint: multiply the cosine similarities by "
           "`scale` as given - it is already exp(logit_scale).")
    return "symmetric InfoNCE with the given scale"


# --------------------------------------------------------------------------- (c)
def check_retrieval(sub: Submission) -> str:
    ret = sub.module("dlcourse.clip.retrieval")
    g = _gen("2c")
    queries = torch.randn(4, 6, generator=g) * torch.tensor([[0.5], [2.0], [7.0], [1.0]])
    gallery = torch.randn(10, 6, generator=g) * torch.linspace(0.1, 10.0, 10)[:, None]  # very different norms
    expected_sim = (queries / queries.norm(dim=-1, keepdim=True)) @ (gallery / gallery.norm(dim=-1, keepdim=True)).T
    sim = _tensor(ret.similarity(queries, gallery), "similarity(queries (4, 6), gallery (10, 6))", (4, 10))
    if not torch.allclose(sim, expected_sim, atol=1e-5):
        dot = queries @ gallery.T
        hint = ("You return raw dot products: normalise both sides (cosine similarity)."
                if torch.allclose(sim, dot, atol=1e-4) else "Hint: cosine similarity = normalised queries @ normalised gallery.T.")
        raise CheckFailed(f"similarity: expected row 0 {_fmt(expected_sim[0], 5)}, found {_fmt(sim[0], 5)}. {hint}")
    out = ret.top_k(queries, gallery, 3)
    expect(isinstance(out, tuple) and len(out) == 2, f"top_k must return (scores, indices), found {type(out).__name__}.")
    scores, idx = out
    _tensor(idx, "top_k(..., k=3) indices", (4, 3))
    exp_scores, exp_idx = expected_sim.sort(dim=-1, descending=True)
    if not torch.equal(idx.long(), exp_idx[:, :3]):
        hint = ("Your order is worst-first: sort descending (largest=True)." if torch.equal(idx.long(), expected_sim.argsort(dim=-1)[:, :3])
                else "Hint: rank by cosine similarity, best first; use torch.topk.")
        raise CheckFailed(f"top_k: for query 0 expected gallery items {exp_idx[0, :3].tolist()} (best first), found "
                          f"{idx[0].tolist()}. {hint}")
    expect(torch.allclose(_tensor(scores, "top_k scores", (4, 3)), exp_scores[:, :3], atol=1e-5),
           f"top_k scores: expected {_fmt(exp_scores[0, :3], 3)} for query 0, found {_fmt(scores[0], 3)}.")
    _, idx_all = ret.top_k(queries, gallery, 50)
    expect(tuple(idx_all.shape) == (4, 10), f"top_k with k=50 > 10 gallery items: expected shape (4, 10) (k capped "
           f"at the gallery size), found {tuple(idx_all.shape)}. Hint: min(k, len(gallery)).")
    return "cosine similarities and best-first top-k"


# --------------------------------------------------------------------------- (d)
def _fake_text_encoder(dim: int = 6):
    """Deterministic string -> vector map whose norms vary with the string (so normalising matters)."""
    def encode(texts: list[str]) -> torch.Tensor:
        rows = []
        for t in texts:
            g = torch.Generator().manual_seed(sum((i + 1) * ord(c) for i, c in enumerate(t)) % (2**31))
            rows.append(torch.randn(dim, generator=g) * (1 + len(t) % 7) ** 2)
        return torch.stack(rows)
    return encode


def check_zero_shot(sub: Submission) -> str:
    zs = sub.module("dlcourse.clip.zeroshot")
    encode = _fake_text_encoder()
    names = ["dog", "ankle boot", "bicycle"]
    templates = ["a photo of a {}.", "{}", "there is a {} in the picture."]
    with torch.no_grad():
        expected = []
        for n in names:
            e = encode([t.format(n) for t in templates])
            m = (e / e.norm(dim=-1, keepdim=True)).mean(0)
            expected.append(m / m.norm())
        expected = torch.stack(expected)
    emb = _tensor(zs.class_embeddings(encode, names, templates), "class_embeddings (3 classes, 6-dim encoder)", (3, 6))
    norms = emb.norm(dim=-1)
    expect(torch.allclose(norms, torch.ones(3), atol=1e-4),
           f"each class embedding must be a unit vector; found norms {_fmt(norms, 3)}. "
           "Hint: normalise again after averaging the templates.")
    if not torch.allclose(emb, expected, atol=1e-4):
        raise CheckFailed(f"class 0 ('dog'): expected {_fmt(expected[0], 6)}, found {_fmt(emb[0], 6)}. Hint: normalise "
                          "EACH template's embedding before averaging (otherwise long prompts dominate), then normalise "
                          "the mean; prompts are template.format(name).")
    g = _gen("2d")
    class_emb = torch.randn(4, 5, generator=g) * torch.tensor([[0.2], [1.0], [5.0], [2.0]])  # not unit length
    image_emb = torch.randn(9, 5, generator=g) * 3
    cos = F.normalize(image_emb, dim=-1) @ F.normalize(class_emb, dim=-1).T
    expected_pred = cos.argmax(dim=-1)
    pred = _tensor(zs.classify(image_emb, class_emb), "classify(images (9, 5), classes (4, 5))", (9,))
    if not torch.equal(pred.long(), expected_pred):
        dot = (image_emb @ class_emb.T).argmax(dim=-1)
        hint = ("You compare raw dot products, so long class vectors win: use cosine similarity."
                if torch.equal(pred.long(), dot) else "Hint: the class with the HIGHEST cosine similarity, per image (dim=-1).")
        raise CheckFailed(f"classify: expected classes {expected_pred.tolist()}, found {pred.tolist()}. {hint}")
    return "template-ensembled unit class embeddings, nearest class by cosine"


# --------------------------------------------------------------------------- (e)
def _tiny_clip():
    """A CLIP with a linear image encoder over 3x4x4 images and precomputed 10-dim text features."""
    from dlcourse.clip.model import CLIP  # the reference model: this check is about the step only

    torch.manual_seed(SEED)
    vision = nn.Sequential(nn.Flatten(), nn.Linear(48, 16))
    return CLIP(vision, None, 16, 10, embed_dim=8, dropout=0.0)


def _reference_step(model, images, text, loss_fn, optimizer) -> float:
    optimizer.zero_grad()
    img, txt, scale = model(images, text)
    loss = loss_fn(img, txt, scale)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    return loss.item()


def check_train_step(sub: Submission) -> str:
    step = sub.module("dlcourse.clip.step")
    from dlcourse.clip.loss import ClipLoss  # the reference loss: this check is about the step only

    g = _gen("2e")
    images = torch.randn(8, 3, 4, 4, generator=g)
    text = {"features": torch.randn(8, 10, generator=g)}
    loss_fn = ClipLoss()

    # 1. the temperature clamp: logit_scale must stay <= ln 100 and remain a trainable leaf parameter
    model = _tiny_clip()
    with torch.no_grad():
        model.logit_scale.fill_(6.0)
    step.train_step(model, images, text, loss_fn, torch.optim.SGD(model.parameters(), lr=0.0))
    expect(isinstance(model.logit_scale, nn.Parameter) and model.logit_scale.is_leaf,
           "model.logit_scale is no longer an nn.Parameter after your step. Hint: clamp it in place "
           "(model.logit_scale.clamp_(...)) inside torch.no_grad() instead of assigning a new tensor.")
    value = model.logit_scale.item()
    expect(value <= math.log(100) + 1e-6, f"logit_scale set to 6.0 should be clamped to ln 100 = {math.log(100):.4f} "
           f"after the step, found {value:.4f}. Hint: clamp it in place (clamp_, not clamp) to [0, MAX_LOGIT_SCALE] "
           "after optimizer.step().")

    # 2. three SGD steps must follow the reference trajectory exactly (catches a missing zero_grad or step)
    mine, ref = _tiny_clip(), _tiny_clip()
    opt_m = torch.optim.SGD(mine.parameters(), lr=0.5)
    opt_r = torch.optim.SGD(ref.parameters(), lr=0.5)
    found_losses = []
    for k in range(3):
        found = step.train_step(mine, images, text, loss_fn, opt_m)
        expected = _reference_step(ref, images, text, loss_fn, opt_r)
        expect(isinstance(found, float), f"train_step must return the loss as a Python float (loss.item()), found "
               f"{type(found).__name__}.")
        found_losses.append(found)
        if math.isclose(found, expected, rel_tol=1e-4, abs_tol=1e-6):
            continue
        if k > 0 and math.isclose(found, found_losses[0], rel_tol=1e-7):
            raise CheckFailed(f"step {k + 1}: expected the loss {expected:.5f}, found {found:.5f} again: the parameters "
                              "did not change. Hint: call optimizer.step() after loss.backward().")
        raise CheckFailed(f"step {k + 1}: expected the loss {expected:.5f} (computed BEFORE the update), found "
                          f"{found:.5f}. Hint: call optimizer.zero_grad() first in every step (gradients accumulate "
                          "otherwise), then forward, loss, backward, optimizer.step().")
    for (name, p), q in zip(mine.named_parameters(), ref.parameters()):
        expect(torch.allclose(p, q, atol=1e-5),
               f"after 3 SGD steps the parameter {name} differs from the expected update. Hint: one "
               "optimizer.zero_grad(), one backward() and one optimizer.step() per call.")

    # 3. on a fixed tiny batch, 40 AdamW steps must lower the loss clearly
    model = _tiny_clip()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = [step.train_step(model, images, text, loss_fn, opt) for _ in range(40)]
    expect(losses[-1] < 0.5 * losses[0], f"40 AdamW steps on one fixed batch should at least halve the loss; it went "
           f"from {losses[0]:.4f} to {losses[-1]:.4f}. Hint: did you call optimizer.step()?")
    return f"matches the reference update; clamps the temperature; loss {losses[0]:.3f} -> {losses[-1]:.3f}"
