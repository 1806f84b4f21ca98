"""Problem 2's answer keys: what each check of :mod:`dlcourse.grading.clip` expects, in float64 from the
definitions (the reference parts are not used), and the outputs of the mistakes its judges name.

Large tables (the head's output for every dropout mask) are float32: their entries are compared with
an absolute tolerance of 3e-4, far above float32's rounding, and they are what the students' copy
stores.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dlcourse.grading.clip import (
    MAX_LOGIT_SCALE,
    MISPLACED_ROWS,
    HeadCase,
    LossCase,
    RetrievalCase,
    StandInLoss,
    StepCase,
    ZeroShotCase,
    _as,
    _classify_inputs,
    _encode_one,
    _head_inputs,
    _leftover_grads,
    _loss_inputs,
    _param_groups,
    _retrieval_inputs,
    _step_batch,
    _step_model,
    _tangential,
    head_values,
    mask_table,
)

#: The LayerNorm's epsilon of the spec (nn.LayerNorm's default); another epsilon moves these outputs by < 1e-5.
EPS = 1e-5


def _unit(y: torch.Tensor) -> torch.Tensor:
    return y / y.norm(dim=-1, keepdim=True).clamp_min(1e-12)


# =========================================================================== (a) projection head
def _layer_norm(v: torch.Tensor, w, b) -> torch.Tensor:
    mu = v.mean(-1, keepdim=True)
    y = (v - mu) / torch.sqrt(v.var(-1, unbiased=False, keepdim=True) + EPS)
    return y * (1 if w is None else w) + (0 if b is None else b)


def _tanh_gelu(t: torch.Tensor) -> torch.Tensor:
    return F.gelu(t, approximate="tanh")


def _quick_gelu(t: torch.Tensor) -> torch.Tensor:
    return t * torch.sigmoid(1.702 * t)


_ACTIVATIONS = {"exact": F.gelu, "tanh": _tanh_gelu}
#: Other activations in place of GELU, named as in the judge's mistakes.
_OTHER_ACTIVATIONS = {"QuickGELU": _quick_gelu, "ReLU": F.relu, "SiLU": F.silu, "no activation": lambda t: t}


def _head_fn(P: dict, x: torch.Tensor, act=F.gelu, variant: str = "spec") -> torch.Tensor:
    """The head of the spec (``variant="spec"``) or one plausible mistake, in float64."""
    def lin(t, role):
        return t @ P[role + ".weight"].T + P[role + ".bias"]

    h = lin(act(x), "proj") if variant == "gelu before proj" else lin(x, "proj")
    if variant == "gelu on the residual path":
        h = act(h)
    if variant in ("gelu before proj", "gelu on the residual path"):  # the activation moved, not added
        z = lin(h, "fc")
    elif variant == "gelu after fc":
        z = act(lin(h, "fc"))
    else:
        z = lin(act(h), "fc")
    w, b = P["norm.weight"], P["norm.bias"]
    if variant == "no residual":
        return _unit(_layer_norm(z, w, b))
    if variant == "norm on the branch":
        return _unit(h + _layer_norm(z, w, b))
    if variant == "no norm":
        return _unit(h + z)
    if variant == "norm without weight and bias":
        w = b = None
    elif variant == "norm without weight":
        w = None
    elif variant == "norm without bias":
        b = None
    return _unit(_layer_norm(h + z, w, b))


_VARIANTS = ("norm without weight and bias", "norm without weight", "norm without bias", "no residual",
             "gelu on the residual path", "gelu before proj", "gelu after fc", "norm on the branch", "no norm")


def _dropout_tables(P: dict, x: torch.Tensor, p: float, act, places) -> dict[str, torch.Tensor]:
    """``(rows, 2**dim, dim)`` float32: the head's output on ``x`` for every dropout mask, dropout placed as
    the spec says (``"branch"``) or in one of the wrong places."""
    m = mask_table(P["fc.bias"].shape[0])  # (M, dim)
    scale = 1 / (1 - p)
    h = x @ P["proj.weight"].T + P["proj.bias"]
    z = act(h) @ P["fc.weight"].T + P["fc.bias"]
    w, b, fw, fb = P["norm.weight"], P["norm.bias"], P["fc.weight"], P["fc.bias"]
    h_, z_ = h[:, None], z[:, None]
    builders = {
        "branch": lambda: _unit(_layer_norm(h_ + m * z_ * scale, w, b)),
        "not rescaled": lambda: _unit(_layer_norm(h_ + m * z_, w, b)),
        "residual sum": lambda: _unit(_layer_norm(m * (h_ + z_) * scale, w, b)),
        "before fc": lambda: _unit(_layer_norm(h_ + (m * act(h)[:, None] * scale) @ fw.T + fb, w, b)),
        "on h": lambda: _unit(_layer_norm(m * h_ * scale + act(m * h_ * scale) @ fw.T + fb, w, b)),
        "after norm": lambda: _unit(m * _layer_norm(h + z, w, b)[:, None] * scale),
        "after normalize": lambda: m * _unit(_layer_norm(h + z, w, b))[:, None] * scale,
    }
    return {place: builders[place]().float() for place in places}


def head(case: dict) -> dict:
    """(a): the head's eval-mode output (exact and tanh GELU) and each mistake's, the output with dropout
    wrongly active in eval mode for every mask, the gradients of ``sum(out * weights)`` for each role,
    and on the training batch the output without dropout and for every dropout mask (the spec's
    place; the wrong places on the first rows, exact GELU)."""
    c = _as(HeadCase, case)
    x, weights, x_train = (t.double() for t in _head_inputs(c))
    P = {r: v.double() for r, v in head_values(c).items()}
    out: dict = {"eval": {a: _head_fn(P, x, act=f) for a, f in _ACTIVATIONS.items()},
                 "mistakes": {v: _head_fn(P, x, variant=v) for v in _VARIANTS}}
    out["mistakes"].update({name: _head_fn(P, x, act=f) for name, f in _OTHER_ACTIVATIONS.items()})
    out["eval_dropout"] = _dropout_tables(P, x, c.dropout, F.gelu, ["branch"])["branch"]
    out["grads"] = {}
    for a, f in _ACTIVATIONS.items():
        leaves = {r: v.clone().requires_grad_(True) for r, v in P.items()}
        (_head_fn(leaves, x, act=f) * weights).sum().backward()
        out["grads"][a] = {r: leaf.grad for r, leaf in leaves.items()}
    out["train"] = {a: {"plain": _head_fn(P, x_train, act=f),
                        "dropout": _dropout_tables(P, x_train, c.dropout, f, ["branch"])["branch"]}
                    for a, f in _ACTIVATIONS.items()}
    out["misplaced"] = _dropout_tables(P, x_train[:MISPLACED_ROWS], c.dropout, F.gelu,
                                       ["not rescaled", "residual sum", "before fc", "on h", "after norm",
                                        "after normalize"])
    return out


# =========================================================================== (b) contrastive loss
def _clip_loss64(img, txt, scale, *, directions: str = "both", reduce: str = "mean"):
    """Symmetric InfoNCE in float64 (or a mistaken variant of it)."""
    logits = scale * img @ txt.T
    labels = torch.arange(len(img))
    i2t = F.cross_entropy(logits, labels, reduction=reduce)
    t2i = F.cross_entropy(logits.T, labels, reduction=reduce)
    return {"both": 0.5 * (i2t + t2i), "i2t": i2t, "t2i": t2i, "sum": i2t + t2i}[directions]


def loss(case: list[dict]) -> list[dict]:
    """(b), per batch: the loss, each mistake's value, the gradients (tangential for the unit embeddings)
    and those of the image->text half alone (a detached text->image direction)."""
    out = []
    for c in (_as(LossCase, c) for c in case):
        img, txt, scale = (t.double() for t in _loss_inputs(c))
        s = c.scale
        mistakes = {
            "image->text only": _clip_loss64(img, txt, scale, directions="i2t"),
            "text->image only": _clip_loss64(img, txt, scale, directions="t2i"),
            "sum of the directions": _clip_loss64(img, txt, scale, directions="sum"),
            "summed over the batch": _clip_loss64(img, txt, scale, reduce="sum"),
            "sum of the directions, summed over the batch": _clip_loss64(img, txt, scale, directions="sum",
                                                                         reduce="sum"),
            "scale exponentiated": _clip_loss64(img, txt, math.exp(s)),
            "log of the scale": _clip_loss64(img, txt, math.log(s)),
            "scale ignored": _clip_loss64(img, txt, 1.0),
            "divided by the scale": _clip_loss64(img, txt, 1 / s),
        }
        grads = {}
        for name, fn in (("grads", lambda a, b, k: _clip_loss64(a, b, k)),
                         ("image->text half grads", lambda a, b, k: 0.5 * _clip_loss64(a, b, k, directions="i2t"))):
            leaves = [t.clone().requires_grad_(True) for t in (img, txt, scale)]
            fn(*leaves).backward()
            grads[name] = [_tangential(leaves[0].grad, img), _tangential(leaves[1].grad, txt), leaves[2].grad]
        out.append({"value": _clip_loss64(img, txt, scale).item(),
                    "mistakes": {k: float(v) for k, v in mistakes.items()}, **grads})
    return out


# =========================================================================== (c) retrieval
def retrieval(case: dict) -> dict:
    """(c): the cosine similarities (and the raw dot products, to recognise a ranking by them) of the
    queries with each gallery; the similarities of each mistake on the small gallery."""
    c = _as(RetrievalCase, case)
    q, gal, big = (t.double() for t in _retrieval_inputs(c))
    return {"similarity": {"cosine": _unit(q) @ _unit(gal).T, "raw dot products": q @ gal.T},
            "similarity_big": {"cosine": _unit(q) @ _unit(big).T, "raw dot products": q @ big.T},
            "mistakes": {"raw dot products": q @ gal.T, "queries only normalised": _unit(q) @ gal.T,
                         "gallery only normalised": q @ _unit(gal).T,
                         "normalised along dim 0": F.normalize(q, dim=0) @ F.normalize(gal, dim=0).T}}


# =========================================================================== (d) zero-shot
def _class_emb64(c: ZeroShotCase, *, first: bool = True, after: bool = True) -> torch.Tensor:
    rows = []
    for n in c.names:
        e = torch.stack([_encode_one(t.format(n), c.dim, c.seed) for t in c.templates]).double()
        m = (_unit(e) if first else e).mean(0)
        rows.append(m / m.norm() if after else m)
    return torch.stack(rows)


def zero_shot(case: dict) -> dict:
    """(d): the class embeddings (templates normalised, averaged, normalised again) and the predicted
    classes (highest cosine), with the values of the mistakes the judge names."""
    c = _as(ZeroShotCase, case)
    image_emb, class_emb = (t.double() for t in _classify_inputs(c))
    cos = _unit(image_emb) @ _unit(class_emb).T
    return {"class_embeddings": _class_emb64(c),
            "class_embedding_mistakes": {"mean not renormalised": _class_emb64(c, after=False),
                                         "templates not normalised": _class_emb64(c, first=False),
                                         "nothing normalised": _class_emb64(c, first=False, after=False)},
            "classes": cos.argmax(dim=-1),
            "class_mistakes": {"raw dot products": (image_emb @ class_emb.T).argmax(dim=-1),
                               "least similar": cos.argmin(dim=-1)}}


# =========================================================================== (e) training step
class _SGD:
    """torch.optim.SGD's update written out (momentum, weight decay; no dampening, not Nesterov).

    Used instead of torch.optim: the first ``optimizer.step()`` in a process imports torch._dynamo
    (seconds), which the grader's own process does not otherwise need.
    """

    def __init__(self, groups: list[dict], momentum: float, weight_decay: float):
        self.params = [(p, g["lr"]) for g in groups for p in g["params"]]
        self.momentum, self.wd = momentum, weight_decay
        self.buf: dict[int, torch.Tensor] = {}

    def zero_grad(self) -> None:
        for p, _ in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, (p, lr) in enumerate(self.params):
            if p.grad is None:
                continue
            d = p.grad + self.wd * p if self.wd else p.grad
            if self.momentum:
                d = self.buf[i] = d.clone() if i not in self.buf else self.buf[i] * self.momentum + d
            p.sub_(lr * d)


#: The mistakes of the step the judge names, in the order it tries them.
STEP_MISTAKES = ("no zero_grad", "zero_grad at the end", "no step", "clamp before step")


def _simulate(c: StepCase, mistake: str | None = None, clamp: bool = True) -> list[dict]:
    """The parameters after each update of the expected trajectory (with the stand-in loss), or a mistaken one.

    ``clamp=False``: without the temperature clamp (judged in a case of its own).
    """
    images, text = _step_batch(c)
    model, loss_fn = _step_model(c), StandInLoss()
    _leftover_grads(model, c.seed + 2)
    opt = _SGD(_param_groups(model, c), c.momentum, c.weight_decay)
    states = []
    for _ in range(c.steps):
        if mistake not in ("no zero_grad", "zero_grad at the end"):
            opt.zero_grad()
        img, txt, scale = model(images, text)
        loss_fn(img, txt, scale).backward()
        if mistake == "clamp before step":
            with torch.no_grad():
                model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
        if mistake != "no step":
            opt.step()
        if clamp and mistake != "clamp before step":
            with torch.no_grad():
                model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
        if mistake == "zero_grad at the end":
            opt.zero_grad()
        states.append({n: p.detach().clone() for n, p in model.named_parameters()})
    return states


def step(case: dict) -> dict:
    """(e): the parameters after each step of the trajectory - with the clamp, and without it (the update is
    judged with the student's clamp, present or not) - and of each mistaken trajectory; the value the
    clamp gives a logit_scale set above (and below) its bounds before a step with learning rate 0."""
    c = _as(StepCase, case)
    starts = (6.0, -1.0) if c.check_lower_bound else (6.0,)
    out: dict = {"states": {}, "mistakes": {},
                 "clamps": {str(s): min(max(s, 0.0 if c.check_lower_bound else -math.inf), MAX_LOGIT_SCALE)
                            for s in starts}}
    for clamp, name in ((True, "clamped"), (False, "unclamped")):
        out["states"][name] = _simulate(c, clamp=clamp)
        out["mistakes"][name] = {m: _simulate(c, m, clamp=clamp) for m in STEP_MISTAKES
                                 if clamp or m != "clamp before step"}
    return out
