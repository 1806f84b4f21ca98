"""Autograder checks of Problem 3 (DCGAN on FashionMNIST): the visible half, 2.5 of its 5 points.

Each part (a)-(e) is graded by a check here (public inputs, shipped to students) and one in
:mod:`dlcourse.grading.hidden.gan` (secret inputs and extra cases), half the part's points each.
Every check is a *probe* (runs the student's code in the isolated process and returns plain
observations) and a *judge* (this grader's process: verdict and message). (c) and (d) compare with
the expected values of their answer keys (:mod:`dlcourse.grading.keys.gan`); (a), (b) and (e) judge
what the homework states.

What is judged is behaviour, never spelling:

* **Layers** are recognised with ``isinstance`` (a subclass of ``nn.Conv2d`` is a convolution) and
  by their effect. The *skeleton* of a network is the sequence of its layers with parameters
  (convolutions, dense layers, BatchNorm) in call order; everything between two of them (an
  activation as a module or ``F.leaky_relu`` in ``forward``, dropout, explicit zero padding such as
  ``nn.ZeroPad2d((1, 2, 1, 2))``, flatten / reshape / permute) is judged by what it does to the
  values that flow from one skeleton layer into the next (:func:`align`, :func:`fit`).
* **One decision, one charge.** Each property is owned by one part: the output activation of D by
  (a) (a sigmoid there is refused once, since the stub asks for logits), that of G by (b); the
  losses by (c), which accepts probability-space losses when, and only when, the student's own
  discriminator ends in a sigmoid; the update by (d), which runs the student's ``train_step`` on
  small grader-side networks with stand-in losses (not the homework's) patched in for
  ``discriminator_loss`` / ``generator_loss``, so neither the student's model nor their losses can
  cost (d) anything; sampling (batch sizes, use of the noise, determinism) by (e).
* **Readings the homework leaves open are all accepted:** nothing, LeakyReLU(0.3) or BatchNorm +
  LeakyReLU(0.3) after G's dense layer; padding 2 or Keras "same" padding; any flatten order
  before D's dense layer; summing or averaging D's two BCE halves; simultaneous updates (Keras
  tutorial), D-then-G (pytorch/examples) or G-then-D; Adam's betas.

Tolerances sit between the spread of the legitimate implementations in the corpus
(``tests/grading_corpus/gan``) and the nearest real mistake, about as far from both (the
``test_*_tolerance_*`` tests keep that true): :data:`FN_TOL` for a function between two layers,
:data:`LOSS_RTOL` for loss values, :data:`GRAD_RTOL` for gradients and :data:`DROPOUT_TOL` for a
measured dropout rate.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.grading.core import Check, CheckFailed, Submission, _short_traceback, expect

QUESTION = "Problem 3"
SLOPE = 0.3
DROPOUT = 0.3
NOISE_DIM = 100
LR = 1e-4
D_PARAMS = 212_865

#: max |found - expected| / max |value| for the function between two layers (legitimate modules,
#: functions, paddings and permutes: <= 6e-8; LeakyReLU(0.2) instead of 0.3: 9e-2, 0.25: 5e-2).
FN_TOL = 1e-4
#: relative tolerance on a loss value (legitimate formulas: <= 8e-8; the nearest mistake, label
#: smoothing 0.9: 1e-2).
LOSS_RTOL = 1e-4
#: relative (norm) tolerance on a gradient (legitimate steps, reordered or fused: <= 4.4e-7; the
#: nearest other reading, G first then D, differs by >= 1.6e-2, the nearest mistake by >= 0.6).
GRAD_RTOL = 1e-4
#: absolute tolerance on a dropout rate measured over >= 100,000 values (legitimate: <= 0.0023, sampling
#: sd ~0.0015; Dropout(0.25) is 0.05 away, 0.5 is 0.2).
DROPOUT_TOL = 0.02

SLOPE_HINT = ("Hint: PyTorch's nn.LeakyReLU() defaults to negative_slope=0.01, but the homework follows Keras, "
              "whose LeakyReLU default is alpha=0.3: write nn.LeakyReLU(0.3).")


# =========================================================================== probe side: describe layers

def kind_of(m: nn.Module) -> str:
    """What a layer *is*, by ``isinstance`` (subclasses count): ``conv``, ``convT``, ``linear``, ``batchnorm``, ..."""
    from torch.nn.modules import batchnorm, dropout, instancenorm, padding, pooling

    table = [
        (nn.Conv2d, "conv"), (nn.ConvTranspose2d, "convT"), (nn.Linear, "linear"),
        (batchnorm._BatchNorm, "batchnorm"),
        ((nn.LayerNorm, nn.GroupNorm, instancenorm._InstanceNorm, nn.LocalResponseNorm), "norm"),
        ((nn.Dropout1d, nn.Dropout2d, nn.Dropout3d), "channel dropout"), (dropout._DropoutNd, "dropout"),
        (nn.LeakyReLU, "LeakyReLU"), (nn.ReLU, "ReLU"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"),
        ((padding._ConstantPadNd, padding._ReflectionPadNd, padding._ReplicationPadNd, padding._CircularPadNd),
         "padding"),
        ((pooling._MaxPoolNd, pooling._AvgPoolNd, pooling._AdaptiveAvgPoolNd, pooling._AdaptiveMaxPoolNd), "pooling"),
        ((nn.Identity, nn.Flatten, nn.Unflatten), "reshape"),
    ]
    for cls, kind in table:
        if isinstance(m, cls):
            return kind
    return "other with parameters" if any(True for _ in m.parameters()) else "other"


#: kinds that make up a network's skeleton (layers with weights), in call order
SKELETON = ("conv", "convT", "linear", "batchnorm", "norm", "other with parameters")


def _shape(t) -> tuple[int, ...] | None:
    return tuple(int(s) for s in t.shape) if isinstance(t, torch.Tensor) else None


def _plain(v):
    """An attribute as weights_only-safe plain data (numbers, strings, tuples)."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        return tuple(_plain(x) for x in v)
    return str(v)


def describe_layer(m: nn.Module) -> dict:
    """Plain facts about one leaf layer: its kind, class name (for messages only), weights and settings."""
    w, b = getattr(m, "weight", None), getattr(m, "bias", None)
    attrs = {k: _plain(getattr(m, k)) for k in ("negative_slope", "p", "num_features", "eps", "affine",
                                                 "stride", "padding", "output_padding", "dilation", "groups")
             if hasattr(m, k)}
    return {"kind": kind_of(m), "cls": type(m).__name__, "attrs": attrs,
            "weight_shape": _shape(w) if isinstance(w, nn.Parameter) else None,
            "bias": isinstance(b, torch.Tensor),
            "params": sum(p.numel() for p in m.parameters() if p.requires_grad)}


def trace(model: nn.Module, x: torch.Tensor) -> dict:
    """Run ``model(x)`` without gradients and record every leaf layer's call in order.

    Returns ``{"calls": [...], "output": tensor | None, "output_type": str}``; each call holds
    :func:`describe_layer`, ``name``, ``in_shape``/``out_shape`` and, for skeleton layers, the
    input ``inp`` and output ``out`` themselves (detached copies).
    """
    calls: list[dict] = []
    hooks = []
    for name, mod in model.named_modules():
        if next(mod.children(), None) is None:
            def hook(m, args, out, name=name):
                inp = next((a for a in args if isinstance(a, torch.Tensor)), None)
                call = {"name": name, **describe_layer(m), "in_shape": _shape(inp), "out_shape": _shape(out)}
                if call["kind"] in SKELETON and isinstance(inp, torch.Tensor) and isinstance(out, torch.Tensor):
                    call["inp"], call["out"] = inp.detach().clone(), out.detach().clone()
                calls.append(call)
            hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for h in hooks:
            h.remove()
    return {"calls": calls, "output": y.detach().clone() if isinstance(y, torch.Tensor) else None,
            "output_type": type(y).__name__}


def new_network(sub: Submission, cls_name: str) -> nn.Module:
    """The student's ``cls_name()`` from ``gan/model.py``, built under a fixed seed."""
    module = sub.module("dlcourse.gan.model")
    cls = getattr(module, cls_name, None)
    expect(cls is not None, f"gan/model.py defines no class {cls_name}. Hint: keep the class names of the stub.")
    torch.manual_seed(0)
    net = cls()
    expect(isinstance(net, nn.Module), f"{cls_name}() is not an nn.Module.")
    return net


def n_trainable(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def param_layers(net: nn.Module) -> list[tuple[str, str, int]]:
    """``(name, class, parameter count)`` of every module of ``net`` that holds parameters itself
    (for the messages that list where a wrong parameter count comes from)."""
    return [(n, type(m).__name__, sum(p.numel() for p in m.parameters(recurse=False)))
            for n, m in net.named_modules() if any(True for _ in m.parameters(recurse=False))]


# =========================================================================== judge side: values between layers

def single_threaded(judge):
    """Run a judge on one torch thread: its tensors are small, and on a busy 2-core machine more threads
    only wait for each other (a 0.06 s judge took 1-5 s with two)."""
    import functools

    @functools.wraps(judge)
    def run(obs, **args):
        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return judge(obs, **args)
        finally:
            torch.set_num_threads(n)
    return run


def skeleton(calls: list[dict]) -> list[dict]:
    return [c for c in calls if c["kind"] in SKELETON]


def _label(c: dict) -> str:
    names = {"conv": "Conv2d", "convT": "ConvTranspose2d", "linear": "Linear", "batchnorm": "BatchNorm",
             "norm": c["cls"], "other with parameters": f"{c['cls']} (a layer with parameters)"}
    return names.get(c["kind"], c["cls"])


def _rows(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(len(t), -1).double()


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.reshape(-1).double(), b.reshape(-1).double()
    a, b = a - a.mean(), b - b.mean()
    return (a @ b / (a.norm() * b.norm()).clamp_min(1e-30)).item()


def align(pre: torch.Tensor, post: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Pair the values of ``pre`` (a layer's output) with those of ``post`` (the next layer's input), per image.

    Returns ``(a, b, how)``, two ``(B, n)`` float64 tensors with ``b[i] = f(a[i])`` if an elementwise
    function ``f`` sits between the layers:

    * ``same``: same shape, paired position by position;
    * ``window``: the same channels but another image size (zero padding such as Keras "same", or
      cropping): the window of the larger that best matches the smaller (padding must be zeros);
    * ``sorted``: any other rearrangement of the same number of values (flatten, reshape, a
      channels-last permute): paired by rank, which is exact for any non-decreasing ``f``.

    Raises :class:`CheckFailed` when no such pairing exists (values dropped or added).
    """
    if pre.shape == post.shape:
        return _rows(pre), _rows(post), "same"
    if pre.dim() == post.dim() == 4 and pre.shape[:2] == post.shape[:2]:
        (H, W), (h, w) = post.shape[-2:], pre.shape[-2:]
        if H >= h and W >= w:  # padding: find where the image sits; everything around it must be zero
            best = None
            for dy in range(H - h + 1):
                for dx in range(W - w + 1):
                    inner = post[..., dy:dy + h, dx:dx + w]
                    border = post.clone()
                    border[..., dy:dy + h, dx:dx + w] = 0
                    if border.any():
                        continue
                    score = _corr(pre, inner)
                    if best is None or score > best[0]:
                        best = (score, inner)
            expect(best is not None, f"the next layer receives {tuple(post.shape[1:])} from a layer that produced "
                                     f"{tuple(pre.shape[1:])}, but the added border is not zero padding.")
            return _rows(pre), _rows(best[1]), "window"
        if H <= h and W <= w:  # cropping
            best = max(((_corr(pre[..., dy:dy + H, dx:dx + W], post), pre[..., dy:dy + H, dx:dx + W])
                        for dy in range(h - H + 1) for dx in range(w - W + 1)), key=lambda t: t[0])
            return _rows(best[1]), _rows(post), "window"
    if pre[0].numel() == post[0].numel() and len(pre) == len(post):
        return _rows(pre).sort(dim=1).values, _rows(post).sort(dim=1).values, "sorted"
    raise CheckFailed(f"a layer produced {tuple(pre.shape[1:])} per image but the next one received "
                      f"{tuple(post.shape[1:])}: something in between drops or adds values (pooling?).")


def _leaky(s: float):
    return lambda a: F.leaky_relu(a, s)


#: functions recognised between two layers: (name, function, hint when found where another was expected)
FUNCTIONS = [
    ("LeakyReLU(0.3)", _leaky(SLOPE), ""),
    ("LeakyReLU with PyTorch's default slope 0.01", _leaky(0.01), SLOPE_HINT),
    ("LeakyReLU(0.2), the slope of pytorch/examples' DCGAN", _leaky(0.2),
     "Hint: the homework follows the Keras tutorial: LeakyReLU(0.3)."),
    ("ReLU", F.relu, "Hint: use nn.LeakyReLU(0.3)."),
    ("no function at all (values pass unchanged)", lambda a: a, ""),
    ("tanh", torch.tanh, ""),
    ("sigmoid", torch.sigmoid, ""),
]


def fit(a: torch.Tensor, b: torch.Tensor, fn) -> float:
    """max |b - fn(a)|, relative to the largest value involved."""
    fa = fn(a)
    scale = max(fa.abs().max().item(), b.abs().max().item(), 1e-12)
    return (b - fa).abs().max().item() / scale


def identify(a: torch.Tensor, b: torch.Tensor) -> tuple[str, str] | None:
    """``(name, hint)`` of the function in :data:`FUNCTIONS` that maps ``a`` to ``b``, if any does."""
    for name, fn, hint in FUNCTIONS:
        if fit(a, b, fn) < FN_TOL:
            return name, hint
    neg, pos = a < -1e-3 * a.abs().max(), a > 1e-3 * a.abs().max()
    if neg.any() and pos.any():
        s_neg, s_pos = (b[neg] / a[neg]).median().item(), (b[pos] / a[pos]).median().item()
        if abs(s_pos - 1) < 1e-3 and fit(a, b, _leaky(s_neg)) < FN_TOL:
            return f"LeakyReLU with slope {s_neg:.4g}", SLOPE_HINT if abs(s_neg - 0.01) < 1e-3 else \
                "Hint: the homework's slope is 0.3: nn.LeakyReLU(0.3)."
    return None


def expect_function(pre: torch.Tensor, post: torch.Tensor, where: str, allowed: dict[str, object],
                    hint: str = "", hints: dict[str, str] | None = None) -> str:
    """Fail unless ``post`` is one of ``allowed`` (name -> function) of ``pre``; returns the name found.

    The message names the function found when it is one of :data:`FUNCTIONS`, with ``hints[name]``
    (or that function's own hint, or ``hint``).
    """
    a, b, _ = align(pre, post)
    for name, fn in allowed.items():
        if fit(a, b, fn) < FN_TOL:
            return name
    wanted = " or ".join(allowed)
    found = identify(a, b)
    if found:
        name, found_hint = found
        raise CheckFailed(f"{where}: expected {wanted}, found {name}. "
                          + ((hints or {}).get(name) or found_hint or hint))
    err = min(fit(a, b, fn) for fn in allowed.values())
    raise CheckFailed(f"{where}: expected {wanted} of the previous layer's output, found another function "
                      f"(max deviation {err:.3g} relative to the values). {hint}".rstrip())


def zero_fraction(pre: torch.Tensor, post: torch.Tensor) -> float:
    """Share of ``pre``'s non-zero values that arrive as zeros in ``post`` (dropout), padding aside."""
    n_pre = (pre != 0).sum().item()
    return 1.0 - (post != 0).sum().item() / max(n_pre, 1)


def channel_dropout(post: torch.Tensor) -> bool:
    """Whole ``(image, channel)`` planes zeroed: ``nn.Dropout2d`` rather than element-wise dropout."""
    if post.dim() != 4 or post.shape[-1] * post.shape[-2] < 9:
        return False
    planes = post.reshape(post.shape[0] * post.shape[1], -1)
    return (planes == 0).all(dim=1).float().mean().item() > 0.1


def _fmt(shape) -> str:
    return "(B, " + ", ".join(map(str, shape)) + ")"


def describe_error(e: BaseException, sub: Submission) -> str:
    """An exception raised by student code, as the grader shows it: type, message, the student's frames."""
    return f"{type(e).__name__}: {e}\n{_short_traceback(e, sub.root)}"


# =========================================================================== (a) discriminator

def images(n: int, gen: torch.Generator, background: float = 0.0) -> torch.Tensor:
    """``n`` images in ``[-1, 1]``; a share ``background`` of the pixels exactly -1, like scaled FashionMNIST."""
    x = torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1
    if background:
        x = torch.where(torch.rand(n, 1, 28, 28, generator=gen) < background, torch.full_like(x, -1.0), x)
    return x


def probe_discriminator(sub: Submission, seed: int = 0, n: int = 16, background: float = 0.0,
                        singles: int = 0) -> dict:
    """Traces of the student's Discriminator on ``n`` images in eval mode (twice) and ``n`` others in train
    mode; with ``singles``, the logits of the first images scored alone (eval mode)."""
    gen = torch.Generator().manual_seed(seed)
    x, x_train = images(n, gen, background), images(n, gen, background)
    d = new_network(sub, "Discriminator")
    d.eval()
    obs = {"x": x, "eval": trace(d, x)}
    with torch.no_grad():
        again = d(x)
        obs["singles"] = [d(x[i:i + 1]).detach().clone() for i in range(singles)]
    obs["eval_again"] = again.detach().clone() if isinstance(again, torch.Tensor) else None
    d.train()
    torch.manual_seed(seed + 1)
    obs["x_train"], obs["train"] = x_train, trace(d, x_train)
    obs["params"] = n_trainable(d)
    obs["param_layers"] = param_layers(d)
    return obs


def _judge_discriminator(obs: dict) -> str:
    """The verdict on :func:`probe_discriminator`'s observations, but for the ``singles`` case."""
    ev = obs["eval"]
    expect(ev["output"] is not None, f"Discriminator.forward returned {ev['output_type']}, expected a tensor of "
                                     "logits (B,).")
    sk = skeleton(ev["calls"])
    kinds = [c["kind"] for c in sk]
    norms = [c for c in sk if c["kind"] in ("batchnorm", "norm")]
    if norms:
        raise CheckFailed(f"the discriminator should hold no normalisation layer; found {_label(norms[0])} "
                          f"({norms[0]['name']}). Hint: the homework's discriminator is Conv2d, LeakyReLU, Dropout "
                          "twice, then a dense layer: no BatchNorm.")
    expect(kinds == ["conv", "conv", "linear"],
           f"expected the layers with weights to be Conv2d -> Conv2d -> Linear (in call order), found "
           f"{' -> '.join(_label(c) for c in sk) or 'none'}.")
    c1, c2, lin = sk
    for c, (cin, cout, shape) in zip((c1, c2), ((1, 64, (64, 14, 14)), (64, 128, (128, 7, 7)))):
        ws = c["weight_shape"]
        expect(ws is not None and tuple(ws[:2]) == (cout, cin),
               f"conv {c['name']}: expected {cin} -> {cout} channels, found a weight of shape {ws}.")
        expect(tuple(ws[2:]) == (5, 5), f"conv {c['name']}: expected a 5x5 kernel, found {tuple(ws[2:])}.")
        expect(c["bias"], f"conv {c['name']}: expected a bias (the discriminator's layers keep theirs).")
        expect(tuple(c["out_shape"][1:]) == shape,
               f"conv {c['name']}: expected output {_fmt(shape)}, found {_fmt(c['out_shape'][1:])}. Hint: kernel 5, "
               "stride 2 and padding 2 (or Keras 'same' padding) give 28 -> 14 -> 7.")
    ws = lin["weight_shape"]
    expect(ws is not None and tuple(ws) == (1, 128 * 7 * 7),
           f"dense layer {lin['name']}: expected 6272 -> 1, found a weight of shape {ws}.")
    expect(lin["bias"], f"dense layer {lin['name']}: expected a bias.")
    y, y2 = ev["output"], obs["eval_again"]
    expect(tuple(y.shape) in ((len(obs["x"]),), (len(obs["x"]), 1)),
           f"expected one logit per image, shape (B,) or (B, 1), found {tuple(y.shape)} for B = {len(obs['x'])}.")
    expect(y2 is not None and y2.shape == y.shape and torch.allclose(y, y2, rtol=0, atol=1e-6),
           "in eval mode two calls on the same images gave different logits: something random is active in eval "
           "mode. Hint: nn.Dropout switches off with model.eval(); F.dropout needs training=self.training.")
    # eval mode: between the layers only LeakyReLU(0.3) (and padding/flattening); the input unchanged
    expect_function(obs["x"], c1["inp"], "before the first convolution", {"the input images unchanged": lambda a: a},
                    "Hint: nothing is applied to the images before the first convolution.")
    expect_function(c1["out"], c2["inp"], "after the first convolution", {"LeakyReLU(0.3)": _leaky(SLOPE)})
    expect_function(c2["out"], lin["inp"], "after the second convolution", {"LeakyReLU(0.3)": _leaky(SLOPE)})
    a, b, _ = align(lin["out"], y)
    if fit(a, b, torch.sigmoid) < FN_TOL:
        raise CheckFailed(
            "the discriminator ends in a sigmoid and returns probabilities, but the stub's docstring asks for "
            "logits, (B,) with real > 0: the losses of (c) work on logits (binary_cross_entropy_with_logits), "
            "which is numerically stable where log(sigmoid) is not. Hint: return the dense layer's output. "
            "This part alone is charged for that choice: (c) accepts probability losses that match a "
            "sigmoid discriminator, and (d) runs your step with the grader's own networks.")
    expect_function(lin["out"], y, "after the dense layer", {"the raw logit (no function)": lambda a: a})
    # train mode: Dropout(0.3) after each LeakyReLU, nowhere else
    tr = skeleton(obs["train"]["calls"])
    expect([c["kind"] for c in tr] == kinds, "in training mode the discriminator calls other layers than in eval "
                                             "mode. Hint: forward should not depend on self.training except "
                                             "through dropout.")
    t1, t2, tl = tr
    p_in = zero_fraction(obs["x_train"], t1["inp"])
    expect(p_in < 0.01, f"in training mode {p_in:.1%} of the input pixels reach the first convolution as zeros: "
                        "dropout is applied to the images. Hint: Dropout(0.3) comes after each LeakyReLU only.")
    for where, pre, post in (("after the first convolution", t1["out"], t2["inp"]),
                             ("after the second convolution", t2["out"], tl["inp"])):
        p_hat = zero_fraction(pre, post)
        if channel_dropout(post):
            raise CheckFailed(f"{where}: dropout zeroes whole channels (nn.Dropout2d); the homework's Dropout(0.3) "
                              "zeroes single values. Hint: use nn.Dropout(0.3).")
        if abs(p_hat - DROPOUT) > DROPOUT_TOL:
            hint = (" Hint: nn.Dropout() defaults to p=0.5; the homework uses 0.3." if abs(p_hat - 0.5) < DROPOUT_TOL
                    else " Hint: add nn.Dropout(0.3) after each LeakyReLU." if p_hat < DROPOUT_TOL else "")
            raise CheckFailed(f"{where}: expected Dropout(0.3) in training mode (30% of the values zeroed), found "
                              f"{p_hat:.1%} zeroed.{hint}")
    n = obs["params"]
    expect(n == D_PARAMS, f"expected {D_PARAMS:,} trainable parameters, found {n:,} (layers with parameters: "
                          + ", ".join(f"{nm or 'self'} {cls} {k:,}" for nm, cls, k in obs["param_layers"])
                          + "). Hint: a layer with parameters that forward does not use?")
    return f"architecture, shapes, LeakyReLU(0.3), Dropout(0.3), logits and {n:,} parameters correct"


@single_threaded
def judge_discriminator(obs: dict, singles: int = 0, **_) -> str:
    msg = _judge_discriminator(obs)
    if not singles:
        return msg
    y = obs["eval"]["output"].reshape(len(obs["x"]), -1)
    for i, single in enumerate(obs["singles"]):
        expect(torch.allclose(single.reshape(-1), y[i], rtol=1e-4, atol=1e-5),
               f"in eval mode image {i}'s logit depends on the other images in its batch ({y[i].tolist()} in a "
               f"batch of {len(y)}, {single.reshape(-1).tolist()} alone). Hint: flatten per image, "
               "x.flatten(1), and mix nothing across the batch.")
    return msg + "; each logit depends on its own image only"


# =========================================================================== (b) generator

G_SPECS = ((256, 128, (128, 7, 7)), (128, 64, (64, 14, 14)), (64, 1, (1, 28, 28)))


def probe_generator(sub: Submission, seed: int = 0, n: int = 16, train: bool = False) -> dict:
    """A trace of the student's Generator on ``n`` noise vectors, in eval mode (or ``train`` mode)."""
    g = new_network(sub, "Generator")
    g.train(train)
    z = torch.randn(n, NOISE_DIM, generator=torch.Generator().manual_seed(seed))
    return {"z": z, "trace": trace(g, z), "params": n_trainable(g), "train": train,
            "param_layers": param_layers(g)}


def _judge_generator(obs: dict) -> str:
    tr = obs["trace"]
    expect(tr["output"] is not None, f"Generator.forward returned {tr['output_type']}, expected images "
                                     "(B, 1, 28, 28).")
    sk = skeleton(tr["calls"])
    kinds = [c["kind"] for c in sk]
    expected = ["linear", "convT", "batchnorm", "convT", "batchnorm", "convT"]
    with_bn0 = len(kinds) == 7 and kinds[1] == "batchnorm" and kinds[:1] + kinds[2:] == expected
    if not (kinds == expected or with_bn0):
        hint = ""
        if kinds and kinds[-1] in ("batchnorm", "norm"):
            hint = " Hint: no BatchNorm after the last layer; it ends with tanh."
        elif any(k == "convT" and kinds[i + 1:i + 2] != ["batchnorm"] for i, k in enumerate(kinds[:-1])):
            hint = " Hint: BatchNorm follows each transposed convolution but the last."
        raise CheckFailed("expected the layers with weights to be Linear -> [BatchNorm] -> ConvTranspose2d -> "
                          "BatchNorm -> ConvTranspose2d -> BatchNorm -> ConvTranspose2d (in call order), found "
                          f"{' -> '.join(_label(c) for c in sk) or 'none'}.{hint}")
    dense, bn0 = sk[0], (sk[1] if with_bn0 else None)
    t1, b1, t2, b2, t3 = sk[-5:]
    expect(tuple(dense["weight_shape"] or ()) == (7 * 7 * 256, NOISE_DIM),
           f"dense layer {dense['name']}: expected {NOISE_DIM} -> 12544 (7*7*256), found a weight of shape "
           f"{dense['weight_shape']}.")
    expect(not dense["bias"], f"dense layer {dense['name']}: the homework's dense layer has no bias. Hint: "
                              "nn.Linear(..., bias=False).")
    nxt = {t1["name"]: b1, t2["name"]: b2}
    for c, (cin, cout, shape) in zip((t1, t2, t3), G_SPECS):
        ws = c["weight_shape"]
        expect(ws is not None and tuple(ws[:2]) == (cin, cout),
               f"transposed conv {c['name']}: expected {cin} -> {cout} channels, found a weight of shape {ws}.")
        expect(tuple(ws[2:]) == (5, 5), f"transposed conv {c['name']}: expected a 5x5 kernel, found {tuple(ws[2:])}.")
        expect(not c["bias"], f"transposed conv {c['name']}: expected no bias (the homework's generator layers "
                              "are bias-free). Hint: bias=False.")
        arrives = nxt[c["name"]]["in_shape"] if c["name"] in nxt else tuple(tr["output"].shape)
        expect(tuple(arrives[1:]) == shape,
               f"transposed conv {c['name']}: expected output {_fmt(shape)}, found {_fmt(arrives[1:])}. Hint: "
               "padding=2 and, for stride 2, output_padding=1.")
    for bn, conv, ch in ((b1, t1, 128), (b2, t2, 64)):
        expect(bn["attrs"].get("num_features") == ch,
               f"BatchNorm {bn['name']}: expected {ch} features, found {bn['attrs'].get('num_features')}.")
        expect_function(conv["out"], bn["inp"], f"between transposed conv {conv['name']} and BatchNorm {bn['name']}",
                        {"nothing (BatchNorm right after the convolution)": lambda a: a},
                        "Hint: each transposed convolution is followed by BatchNorm, then LeakyReLU(0.3).")
    # what follows the dense layer is not specified: nothing, LeakyReLU(0.3), or BatchNorm + LeakyReLU(0.3)
    open_reading = {"nothing": lambda a: a, "LeakyReLU(0.3)": _leaky(SLOPE)}
    if bn0 is not None:
        expect(bn0["attrs"].get("num_features") in (12544, 256),
               f"BatchNorm {bn0['name']} after the dense layer: expected 12544 (BatchNorm1d) or 256 (BatchNorm2d) "
               f"features, found {bn0['attrs'].get('num_features')}.")
        expect_function(dense["out"], bn0["inp"], "between the dense layer and its BatchNorm",
                        {"nothing (a reshape at most)": lambda a: a})
        after = expect_function(bn0["out"], t1["inp"], "after the dense layer's BatchNorm", open_reading)
        reading = f"BatchNorm then {after}" if after != "nothing" else "BatchNorm"
    else:
        reading = expect_function(dense["out"], t1["inp"], "after the dense layer", open_reading)
    expect_function(b1["out"], t2["inp"], "after the first BatchNorm", {"LeakyReLU(0.3)": _leaky(SLOPE)})
    expect_function(b2["out"], t3["inp"], "after the second BatchNorm", {"LeakyReLU(0.3)": _leaky(SLOPE)})
    y = tr["output"]
    expect(tuple(y.shape) == (len(obs["z"]), 1, 28, 28),
           f"expected images of shape (B, 1, 28, 28) for B = {len(obs['z'])}, found {tuple(y.shape)}.")
    expect_function(t3["out"], y, "after the last transposed convolution", {"tanh": torch.tanh},
                    "Hint: the last layer has no BatchNorm and no LeakyReLU, only tanh.",
                    {"sigmoid": "Hint: sigmoid gives [0, 1], but the training images are scaled to [-1, 1]: "
                                "use tanh, not sigmoid."})
    n = obs["params"]
    n_sk = sum(c["params"] for c in sk)
    expect(n == n_sk, f"expected {n_sk:,} trainable parameters (those of the layers above), found {n:,} (layers with "
                      "parameters: " + ", ".join(f"{nm or 'self'} {cls} {k:,}" for nm, cls, k in obs["param_layers"])
                      + "). Hint: a layer with parameters that forward does not use?")
    return (f"architecture, shapes, no biases, LeakyReLU(0.3) and tanh correct ({reading} after the dense layer; "
            f"{n:,} parameters)")


@single_threaded
def judge_generator(obs: dict, train: bool = False, **_) -> str:
    return _judge_generator(obs) + (" (training mode)" if train else "")


# =========================================================================== (c) losses and optimisers

def _call_loss(fn, *inputs: torch.Tensor) -> dict:
    """One call of a student loss: value, its type/shape, the gradients w.r.t. the inputs, or the error."""
    xs = [x.clone().requires_grad_() for x in inputs]
    try:
        v = fn(*xs)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - judged (probabilities fed as logits raise here)
        return {"error": f"{type(e).__name__}: {e}"}
    out = {"type": type(v).__name__, "shape": _shape(v), "error": None}
    if not isinstance(v, torch.Tensor) or v.numel() != 1:
        return out
    out["value"] = v.detach().double().reshape(())
    out["requires_grad"] = v.requires_grad
    if v.requires_grad:
        grads = torch.autograd.grad(v.reshape(()), xs, allow_unused=True)
        out["grads"] = [g.detach().clone() if g is not None else None for g in grads]
    return out


def _tiny_nets(kind: str, seed: int) -> tuple[nn.Module, nn.Module]:
    """Small stand-ins for the generator and discriminator handed to ``make_optimizers``."""
    torch.manual_seed(seed)
    if kind == "linear":
        return nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)), nn.Sequential(nn.Linear(5, 1))
    return (nn.Sequential(nn.Linear(6, 3), nn.BatchNorm1d(3), nn.Linear(3, 5)),
            nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1)))


def _describe_optimizer(opt, nets: dict[str, nn.Module]) -> dict:
    if not isinstance(opt, torch.optim.Optimizer):
        return {"type": type(opt).__name__, "optimizer": False}
    ids = [id(p) for group in opt.param_groups for p in group["params"]]
    owners = {name: {id(p) for p in net.parameters()} for name, net in nets.items()}
    holds = sorted(name for name, ps in owners.items() if ps & set(ids))
    complete = {name: ps <= set(ids) for name, ps in owners.items()}
    groups = [{k: _plain(v) if not isinstance(v, torch.Tensor) else float(v) for k, v in g.items() if k != "params"}
              for g in opt.param_groups]
    # one step on known gradients reveals the effective learning rate and any weight decay
    params = [p for g in opt.param_groups for p in g["params"]]
    before = [p.detach().clone() for p in params]
    gen = torch.Generator().manual_seed(1)
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)
    opt.step()
    update = [(p.detach() - b) for p, b in zip(params, before)]
    return {"type": type(opt).__name__, "optimizer": True, "adam": isinstance(opt, torch.optim.Adam),
            "holds": holds, "complete": complete, "groups": groups, "n_params": len(ids),
            "grads": [p.grad.detach().clone() for p in params], "before": before, "update": update}


def _discriminator_reading(sub: Submission) -> str:
    """``probabilities`` if the student's own Discriminator ends in a sigmoid, ``logits`` if not, else ``unknown``."""
    try:
        d = new_network(sub, "Discriminator").eval()
        tr = trace(d, torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1)
        lin = [c for c in tr["calls"] if c["kind"] == "linear"]
        y = tr["output"]
        if not lin or y is None or y.numel() != lin[-1]["out"].numel():
            return "unknown"
        z = lin[-1]["out"].reshape(-1)
        if torch.allclose(y.reshape(-1), torch.sigmoid(z), atol=1e-6):
            return "probabilities"
        return "logits" if torch.allclose(y.reshape(-1), z, atol=1e-6) else "unknown"
    except Exception:  # noqa: BLE001 - a broken model.py is (a)'s business, not (c)'s
        return "unknown"


# no logit is exactly 0: there max(x, 0) and |x| (TF's stable BCE formula) have kinks, where autograd's
# subgradient differs from the derivative of BCE, so legitimate formulas would disagree on the gradient
REAL_LOGITS = [2.0, -1.0, 0.5, 3.0, -4.0, 0.125, 1.5, -0.5]
FAKE_LOGITS = [-2.0, 1.5, -0.5, 0.25, 3.5, -3.0, 0.75, -1.0]  # sum != 0: BCE(., 1) != BCE(., 0)


def probe_losses(sub: Submission, real: list[float] = REAL_LOGITS, fake: list[float] = FAKE_LOGITS,
                 big_real: list[float] = (), big_fake: list[float] = (), nets: str = "linear", seed: int = 0) -> dict:
    """The student's losses on logits ``real``/``fake`` (and on their sigmoids, for the probability reading;
    and on ``big_*`` logits when given), and ``make_optimizers`` on two small networks ``nets``."""
    losses = sub.module("dlcourse.gan.losses")
    real, fake = torch.tensor(real), torch.tensor(fake)
    obs: dict = {"real": real, "fake": fake, "reading": _discriminator_reading(sub), "big": None}
    p_real, p_fake = torch.sigmoid(real), torch.sigmoid(fake)
    obs["p_real"], obs["p_fake"] = p_real, p_fake
    missing = []
    for key, fn_name, args in (("d", "discriminator_loss", (real, fake)), ("d_p", "discriminator_loss", (p_real, p_fake)),
                               ("g", "generator_loss", (fake,)), ("g_p", "generator_loss", (p_fake,))):
        fn = getattr(losses, fn_name, None)
        if fn is None:
            obs[key] = {"error": f"gan/losses.py defines no function {fn_name}"}
            continue
        try:
            obs[key] = _call_loss(fn, *args)
        except NotImplementedError as e:
            obs[key], missing = {"error": f"NotImplementedError: {e}"}, missing + [fn_name]
    if big_real:
        obs["big"] = {"real": torch.tensor(big_real), "fake": torch.tensor(big_fake)}
        for key, fn_name, args in (("d", "discriminator_loss", (obs["big"]["real"], obs["big"]["fake"])),
                                   ("g", "generator_loss", (obs["big"]["fake"],))):
            try:
                obs["big"][key] = _call_loss(getattr(losses, fn_name), *args)
            except (NotImplementedError, AttributeError) as e:
                obs["big"][key] = {"error": f"{type(e).__name__}: {e}"}
    gen, disc = _tiny_nets(nets, seed)
    try:
        opts = losses.make_optimizers(gen, disc)
    except NotImplementedError:
        missing.append("make_optimizers")
        opts = None
    if len(set(missing)) == 3:
        raise NotImplementedError("discriminator_loss, generator_loss and make_optimizers")
    if opts is not None:
        ok = isinstance(opts, (tuple, list)) and len(opts) == 2
        obs["opts"] = ([_describe_optimizer(o, {"generator": gen, "discriminator": disc}) for o in opts]
                       if ok else {"type": type(opts).__name__})
    else:
        obs["opts"] = None
    return obs


def _close(found: float, want: float) -> bool:
    return math.isclose(found, want, rel_tol=LOSS_RTOL, abs_tol=1e-7)


def _loss_value(o: dict, name: str) -> float:
    """The scalar a loss returned, or a CheckFailed that says what was wrong with it."""
    expect(not o.get("error"), f"{name} raised {o.get('error')}")
    expect(o["type"] == "Tensor", f"{name} should return a tensor (so that it can be backpropagated), found "
                                  f"{o['type']}.")
    expect(o["shape"] is not None and math.prod(o["shape"]) == 1,
           f"{name} should return a scalar, found shape {o['shape']}. Hint: BCE averages over the batch.")
    return o["value"].item()


def _expect_grads(o: dict, want: list[torch.Tensor], name: str) -> None:
    grads = o.get("grads") or []
    expect(o.get("requires_grad") and len(grads) == len(want) and all(g is not None for g in grads),
           f"{name} is not differentiable in its inputs (no gradient reached them). Hint: compute it with torch "
           "operations on the inputs, without .item(), .detach() or new tensors built from their values.")
    for g, w in zip(grads, want):
        err = ((g.double() - w.double()).norm() / w.double().norm().clamp_min(1e-12)).item()
        expect(err < GRAD_RTOL, f"{name}'s value is right but its gradient is not (relative difference {err:.3g}). "
                                "Hint: build the loss from the inputs with differentiable torch operations only.")


def _scalar_ok(o: dict) -> bool:
    return not o.get("error") and o["type"] == "Tensor" and o["shape"] is not None and math.prod(o["shape"]) == 1


def _right_on_logits(obs: dict, which: str, key: dict) -> bool:
    o = obs[which]
    if not _scalar_ok(o):
        return False
    want = key["logits"][which]["value"]
    return any(_close(o["value"].item(), k * want) for k in ((1.0, 0.5) if which == "d" else (1.0,)))


def _reading(obs: dict, which: str, key: dict) -> tuple[str, dict, dict]:
    """Which space to judge a loss in: logits (the homework's), or probabilities when the student's own
    discriminator ends in a sigmoid and the loss is not right on logits. Returns (space, call, expected)
    with the key's values of that space."""
    if obs["reading"] == "probabilities" and not _right_on_logits(obs, which, key):
        return "probabilities", obs[which + "_p"], key["probabilities"][which]
    return "logits", obs[which], key["logits"][which]


PROBABILITY_NOTE = (" (your discriminator ends in a sigmoid, so the grader reads your losses as taking probabilities; "
                    "the homework asks for logits, which (a) charges once)")


def _mismatch(obs: dict, which: str, name: str, key: dict) -> None:
    """Fail when a loss is BCE on probabilities while the student's discriminator returns logits."""
    o, op = obs[which], obs[which + "_p"]
    want = key["probabilities"][which]["value"]
    prob_ok = _scalar_ok(op) and any(_close(op["value"].item(), k * want) for k in (1.0, 0.5))
    if prob_ok or "between 0 and 1" in str(o.get("error")):
        raise CheckFailed(f"{name} treats its inputs as probabilities (nn.BCELoss / F.binary_cross_entropy), but the "
                          "discriminator returns logits, as the stub's docstring says. Hint: "
                          "F.binary_cross_entropy_with_logits (or nn.BCEWithLogitsLoss). The grader accepts "
                          "probabilities only from a discriminator that itself ends in a sigmoid.")


#: The mistakes of discriminator_loss in its key (``mistakes``), in the order they are tried, with their hints.
D_LOSS_MISTAKES = {
    "labels swapped": "the labels are swapped: real images are 1, generated ones 0.",
    "label smoothing 0.9": "the real label is 0.9 (label smoothing); the homework uses 1.",
    "real half only": "only the real half: add BCE(fake, 0).",
    "fake half only": "only the fake half: add BCE(real, 1).",
    "summed over the batch": "summed over the batch; BCE averages over it (reduction='mean').",
}


def judge_d_loss(obs: dict, key: dict) -> str:
    space, o, want = _reading(obs, "d", key)
    if space == "logits" and not _scalar_ok(o):
        _mismatch(obs, "d", "discriminator_loss", key)
    found = _loss_value(o, "discriminator_loss")
    right = want["value"]
    for k in (1.0, 0.5):
        if _close(found, k * right):
            _expect_grads(o, [k * g for g in want["grads"]], "discriminator_loss")
            note = PROBABILITY_NOTE if space == "probabilities" else ""
            return f"BCE on {space}, the two halves {'summed' if k == 1 else 'averaged'}{note}"
    if space == "logits":
        _mismatch(obs, "d", "discriminator_loss", key)
    hint = next((h for m, h in D_LOSS_MISTAKES.items() for k in (1.0, 0.5) if _close(found, k * want["mistakes"][m])),
                f"BCE(real, 1) + BCE(fake, 0), each on {space} and averaged over the batch.")
    raise CheckFailed(f"discriminator_loss on fixed {space}: expected {right:.6f} (the sum of both BCE halves; their "
                      f"mean {right / 2:.6f} is accepted too), found {found:.6f}. Hint: {hint}"
                      + (PROBABILITY_NOTE if space == "probabilities" else ""))


def judge_g_loss(obs: dict, key: dict) -> str:
    space, o, want = _reading(obs, "g", key)
    if space == "logits" and not _scalar_ok(o):
        _mismatch(obs, "g", "generator_loss", key)
    found = _loss_value(o, "generator_loss")
    right = want["value"]
    if _close(found, right):
        _expect_grads(o, want["grads"], "generator_loss")
        return f"non-saturating BCE on {space}" + (PROBABILITY_NOTE if space == "probabilities" else "")
    if space == "logits":
        _mismatch(obs, "g", "generator_loss", key)
    label_0 = want["mistakes"]["label 0"]
    if _close(found, label_0):
        hint = "the generator wants its images classified as real: label 1."
    elif _close(found, -label_0):
        hint = ("that is the saturating minimax loss -BCE(fake, 0) = log(1 - D(G(z))); use the non-saturating "
                "BCE(fake, 1), whose gradient does not vanish when D rejects the fakes.")
    else:
        hint = "BCE(fake, 1), averaged over the batch."
    raise CheckFailed(f"generator_loss on fixed {space}: expected {right:.6f}, found {found:.6f}. Hint: {hint}"
                      + (PROBABILITY_NOTE if space == "probabilities" else ""))


def judge_optimizers(obs: dict) -> str:
    opts = obs["opts"]
    expect(opts is not None, "make_optimizers is not implemented yet.")
    if not isinstance(opts, list):
        raise CheckFailed(f"make_optimizers should return (opt_g, opt_d), found {opts.get('type')}.")
    for o, want, name in ((opts[0], "generator", "opt_g (first)"), (opts[1], "discriminator", "opt_d (second)")):
        expect(o["optimizer"], f"{name}: expected a torch.optim.Adam, found {o['type']}.")
        if o["holds"] != [want] or not o["complete"][want]:
            other = "discriminator" if want == "generator" else "generator"
            found = ("the other network's" if o["holds"] == [other] else "both networks'" if len(o["holds"]) == 2
                     else f"only some of the {want}'s" if o["holds"] == [want] else "no")
            raise CheckFailed(f"{name}: expected the {want}'s parameters, found {found} parameters. Hint: return "
                              "(Adam(generator.parameters(), lr=1e-4), Adam(discriminator.parameters(), lr=1e-4)).")
        g = o["groups"][0]
        expect(o["adam"], f"{name}: expected torch.optim.Adam, found {o['type']}.")
        if g.get("decoupled_weight_decay") or (g.get("weight_decay") or 0) != 0:
            kind = "AdamW (decoupled weight decay)" if g.get("decoupled_weight_decay") else \
                f"Adam with weight_decay={g.get('weight_decay')}"
            raise CheckFailed(f"{name}: expected plain Adam, found {kind}. Hint: torch.optim.Adam(params, lr=1e-4), "
                              "without weight decay.")
        expect(not g.get("maximize"), f"{name}: maximize=True makes Adam ascend the loss. Hint: leave it False.")
        # the effective learning rate, from one step on known gradients: Adam's first update is lr * g / (|g| + eps)
        lrs = sorted({gr.get("lr") for gr in o["groups"]})
        steps = torch.cat([u.reshape(-1) for u in o["update"]]).double()
        grads = torch.cat([gr.reshape(-1) for gr in o["grads"]]).double()
        eps = g.get("eps") or 1e-8
        lr_eff = (-steps * (grads.abs() + eps) / grads).median().item()
        if not math.isclose(lr_eff, LR, rel_tol=1e-3):
            shown = lrs[0] if len(lrs) == 1 else lrs
            hint = (" Hint: Adam's default lr is 1e-3; pass lr=1e-4." if math.isclose(lr_eff, 1e-3, rel_tol=1e-3) else
                    " Hint: 2e-4 is pytorch/examples' DCGAN; the homework uses 1e-4."
                    if math.isclose(lr_eff, 2e-4, rel_tol=1e-3) else "")
            raise CheckFailed(f"{name}: expected learning rate 1e-4, found {shown} (one step on known gradients moved "
                              f"the weights by {lr_eff:.4g} per unit gradient sign).{hint}")
    betas = opts[1]["groups"][0].get("betas")
    return f"Adam(lr=1e-4) for each network (betas {betas})"


def _stable(obs: dict, which: str, name: str, key: dict) -> str:
    """Logits of +-30 (when the check has them), judged once the loss is right on ordinary logits, so one
    mistake costs one case."""
    big = obs.get("big")
    if not big or obs["reading"] == "probabilities":
        return ""
    want = key["big"][which]
    found = _loss_value(big[which], name)
    ok = math.isfinite(found) and any(_close(found, k * want) for k in ((1.0, 0.5) if which == "d" else (1.0,)))
    expect(ok, f"{name} is right on ordinary logits but not on logits as large as +-30: expected {want:.6f}, found "
               f"{found:.6f}. Hint: a sigmoid rounds to exactly 0 or 1 in float32 once |logit| > 17, and its "
               "logarithm then gives inf (or nn.BCELoss's clamp, 100): compute BCE from the logits with "
               "F.binary_cross_entropy_with_logits.")
    return ", also for logits of +-30"


@single_threaded
def judge_losses(obs: dict, key: dict, **_):
    """Three independent cases, a third of the points each: D's loss, G's loss, the optimisers."""
    from dlcourse.grading.core import Cases

    cases = Cases()
    found = {}
    for name, judge in (("discriminator_loss",
                         lambda o: judge_d_loss(o, key) + _stable(o, "d", "discriminator_loss", key)),
                        ("generator_loss", lambda o: judge_g_loss(o, key) + _stable(o, "g", "generator_loss", key)),
                        ("make_optimizers", judge_optimizers)):
        with cases(name):
            found[name] = judge(obs)
    return cases.verdict("; ".join(f"{k}: {v}" for k, v in found.items()))


# =========================================================================== (d) one training step

class FixtureGenerator(nn.Module):
    """The grader's small stand-in generator: ``(B, 100)`` noise -> ``(B, 1, 28, 28)`` in ``[-1, 1]``.

    Dense + BatchNorm + LeakyReLU, one transposed convolution, tanh (1,209 parameters, few: the answer
    key holds its gradients along every accepted reading of the step); it records, per call, the mode
    it ran in and whether its input was the noise handed to ``train_step``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(NOISE_DIM, 8, bias=False)
        self.bn = nn.BatchNorm1d(8)
        self.up = nn.ConvTranspose2d(2, 1, 14, stride=14)
        self.noise: torch.Tensor | None = None
        self.log: list[dict] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.noise is not None:
            self.log.append({"training": self.training, "shape": _shape(z),
                             "is_noise": z.shape == self.noise.shape and torch.equal(z, self.noise)})
        x = F.leaky_relu(self.bn(self.fc(z)), SLOPE).view(-1, 2, 2, 2)
        return torch.tanh(self.up(x))


class FixtureDiscriminator(nn.Module):
    """The grader's small stand-in discriminator: ``(B, 1, 28, 28)`` -> ``(B,)`` logits (133 parameters); records
    its modes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 4, stride=4)
        self.fc = nn.Linear(2 * 7 * 7, 1)
        self.log: list[dict] = []
        self.recording = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recording:
            self.log.append({"training": self.training})
        return self.fc(F.leaky_relu(self.conv(x), SLOPE).flatten(1)).squeeze(1)


def fixture_nets(seed: int) -> tuple[FixtureGenerator, FixtureDiscriminator]:
    with torch.random.fork_rng(devices=[]):  # the judge's process keeps its own random state
        torch.manual_seed(seed)
        return FixtureGenerator().train(), FixtureDiscriminator().train()


def fixture_batches(seed: int, sizes: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    return [(torch.rand(b, 1, 28, 28, generator=gen) * 2 - 1, torch.randn(b, NOISE_DIM, generator=gen)) for b in sizes]


class RecordingSGD:
    """``p -= lr * p.grad``, recording the gradient it stepped with and every call, in one shared log.

    Duck-typed (``step``, ``zero_grad``, ``param_groups``, ``state``) like a torch optimiser; plain SGD
    so that the gradient behind each update is known exactly.
    """

    def __init__(self, params, lr: float, name: str, log: list) -> None:
        self.param_groups = [{"params": list(params), "lr": lr}]
        self.defaults = {"lr": lr}
        self.state: dict = {}
        self.name, self.log = name, log

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        ps = self.param_groups[0]["params"]
        self.log.append((self.name, "step", [p.grad.detach().clone() if p.grad is not None else None for p in ps]))
        for p in ps:
            if p.grad is not None:
                p -= self.param_groups[0]["lr"] * p.grad
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.log.append((self.name, "zero_grad", None))
        for p in self.param_groups[0]["params"]:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()


def standin_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The step check's stand-in for ``discriminator_loss``: a critic's loss, linear in the logits (as in a
    Wasserstein GAN) - deliberately not the homework's BCE (3(d) grades the step, 3(c) the losses)."""
    return fake_logits.mean() - real_logits.mean()


def standin_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The step check's stand-in for ``generator_loss`` (see :func:`standin_discriminator_loss`)."""
    return -fake_logits.mean()


SYNC_METHODS = ("item", "tolist", "__float__", "numpy")


def probe_step(sub: Submission, seed: int = 0, sizes: tuple[int, ...] = (6, 6), lr: float = 0.1) -> dict:
    """Run the student's ``train_step`` on the fixture networks, once per batch size in ``sizes``, with
    recording SGD of learning rate ``lr``; record everything the judge needs.

    lr 0.1: large enough that D-then-G and simultaneous updates differ by > 1e-2 (relative), small
    enough that D's logits stay far from where BCE saturates (|logit| < 2).
    """
    step = sub.module("dlcourse.gan.step")
    losses = sub.module("dlcourse.gan.losses")
    fn = getattr(step, "train_step", None)
    expect(fn is not None, "gan/step.py defines no function train_step. Hint: keep the stub's function names.")
    # a loss mistake is (c)'s business: the step runs with the stand-in losses in place of the student's (a step
    # that computes BCE itself instead of calling them is judged with BCE)
    saved = [(mod, name, getattr(mod, name)) for mod in {id(step): step, id(losses): losses}.values()
             for name in ("discriminator_loss", "generator_loss") if hasattr(mod, name)]
    for mod, name, _ in saved:
        setattr(mod, name, standin_discriminator_loss if name == "discriminator_loss" else standin_generator_loss)
    try:
        return _run_steps(sub, fn, seed, sizes, lr)
    finally:
        for mod, name, f in saved:
            setattr(mod, name, f)


def _run_steps(sub: Submission, fn, seed: int, sizes: tuple[int, ...], lr: float) -> dict:
    g, d = fixture_nets(seed)
    log: list = []
    opt_g, opt_d = RecordingSGD(g.parameters(), lr, "g", log), RecordingSGD(d.parameters(), lr, "d", log)
    steps = []
    for real, noise in fixture_batches(seed, sizes):
        g.train(), d.train()
        g.log.clear(), d.log.clear(), log.clear()
        g.noise, d.recording = noise.clone(), True
        syncs: list[str] = []
        originals = {m: getattr(torch.Tensor, m) for m in SYNC_METHODS}
        for m, f in originals.items():
            def counting(self, *a, _f=f, _m=m, _syncs=syncs, **k):
                _syncs.append(_m)
                return _f(self, *a, **k)
            setattr(torch.Tensor, m, counting)
        rec: dict = {"error": None}
        try:
            out = fn(g, d, opt_g, opt_d, real.clone(), noise.clone())
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001 - judged: the error says which mistake it is
            rec["error"] = describe_error(e, sub)
            out = None
        finally:
            for m, f in originals.items():
                setattr(torch.Tensor, m, f)
            g.noise, d.recording = None, False
        rec["syncs"] = syncs
        rec["returned"] = [{"type": type(v).__name__, "shape": _shape(v),
                            "requires_grad": bool(v.requires_grad) if isinstance(v, torch.Tensor) else None,
                            "dtype": str(v.dtype) if isinstance(v, torch.Tensor) else None,
                            "value": (v.detach().double().reshape(()) if isinstance(v, torch.Tensor) and v.numel() == 1
                                      else torch.tensor(float(v), dtype=torch.float64)
                                      if isinstance(v, (int, float)) else None)}
                           for v in (out if isinstance(out, (tuple, list)) else [])]
        rec["returned_type"] = type(out).__name__
        rec["g_calls"], rec["d_calls"], rec["events"] = list(g.log), list(d.log), list(log)
        rec["modes"] = {"generator": [(n or "generator", m.training) for n, m in g.named_modules()],
                        "discriminator": [(n or "discriminator", m.training) for n, m in d.named_modules()]}
        rec["g_grads_end"] = [p.grad.detach().clone() if p.grad is not None else None for p in g.parameters()]
        rec["d_grads_end"] = [p.grad.detach().clone() if p.grad is not None else None for p in d.parameters()]
        rec["g_params"] = [p.detach().clone() for p in g.parameters()]
        rec["d_params"] = [p.detach().clone() for p in d.parameters()]
        rec["dtypes"] = sorted({str(p.dtype) for p in list(g.parameters()) + list(d.parameters())})
        rec["requires_grad"] = all(p.requires_grad for p in list(g.parameters()) + list(d.parameters()))
        steps.append(rec)
        if rec["error"]:
            break
    return {"seed": seed, "sizes": sizes, "lr": lr, "steps": steps}


def _add(a: list[torch.Tensor], b: list[torch.Tensor], k: float = 1.0) -> list[torch.Tensor]:
    return [x + k * y for x, y in zip(a, b)]


def flat(grads: list[torch.Tensor]) -> torch.Tensor:
    """A network's gradient (one tensor per parameter) as one vector, as the answer key holds it."""
    return torch.cat([x.reshape(-1) for x in grads])


def rel_diff(found: list, want: torch.Tensor | list[torch.Tensor]) -> float:
    """Relative norm difference of a gradient (a list of tensors, one per parameter) from ``want`` (the same, or
    :func:`flat`); ``inf`` if ``found`` is missing or has other shapes."""
    if found is None or any(f is None for f in found) or (isinstance(want, list) and len(found) != len(want)):
        return math.inf
    f = flat([x.double() for x in found])
    w = want.double() if isinstance(want, torch.Tensor) else flat([x.double() for x in want])
    if f.shape != w.shape:
        return math.inf
    return ((f - w).norm() / w.norm().clamp_min(1e-30)).item()


STEP_ERRORS = [
    ("backward through the graph a second time",
     "the second backward() went through a graph the first one had freed. Hint: detach the fake images for D's "
     "loss (discriminator(fake.detach())) so that D's backward stops at them, or compute G's loss from a fresh "
     "forward pass."),
    ("modified by an inplace operation",
     "a backward() ran through the discriminator after opt_d.step() had changed its weights in place. Hint: "
     "either take both gradients before stepping (simultaneous), or compute G's loss with a new forward pass "
     "discriminator(fake) after opt_d.step() (D first, then G)."),
]

#: the loss value that goes with each accepted reading of D's update
D_LOSS_OF = {"simultaneous": "sum", "mean of the halves": "mean", "G first": "G first", "G first, mean": "G first, mean"}


def _stepped(rec: dict, net: str) -> list:
    return [ev[2] for ev in rec["events"] if ev[0] == net and ev[1] == "step"]


def _diagnose(call: str, net: str, err: float, best: str, mistakes: dict[str, float], accumulated: float) -> None:
    """Raise the message for an update that matches no accepted reading (the closest, ``best``, is ``err`` away):
    the mistake it matches (``mistakes``: name -> relative difference from that mistake's gradient), else
    gradients accumulated across calls (``accumulated``: the relative difference from an accepted reading
    plus the previous call's gradient), else a generic one."""
    who = "discriminator" if net == "D" else "generator"
    if mistakes.get("sigmoid: before the losses", math.inf) < GRAD_RTOL:
        raise CheckFailed(f"{call}: the {who}'s gradient is that of the losses applied to sigmoid(D(x)): the step "
                          "squashes D's output before the losses, but discriminator_loss and generator_loss take "
                          "logits (the grader runs your step with stand-in logit losses in place of yours). Hint: "
                          "pass D's output to the losses unchanged.")
    if any(n.startswith("leak") and e < GRAD_RTOL for n, e in mistakes.items()):
        if net == "D":
            raise CheckFailed(f"{call}: the discriminator's update used the gradient of discriminator_loss PLUS that "
                              f"of generator_loss (relative difference from D's own gradient {err:.3g}): "
                              "generator_loss's backward() also filled D's .grad before opt_d.step(). Hint: step D "
                              "before G's backward, or zero D's gradients in between, or take gradients with "
                              "torch.autograd.grad.")
        raise CheckFailed(f"{call}: the generator's update used the gradient of generator_loss PLUS that of "
                          f"discriminator_loss (relative difference from G's own gradient {err:.3g}): the fake "
                          "images were not detached in D's loss, so D's backward reached G. Hint: "
                          "discriminator(fake.detach()) in D's loss, or opt_g.zero_grad() right before G's backward.")
    if accumulated < GRAD_RTOL:
        raise CheckFailed(f"{call}: the gradient was the new one plus the previous call's (relative "
                          f"difference {err:.3g} from the new one alone): gradients accumulate "
                          "across calls. Hint: call opt_d.zero_grad() and opt_g.zero_grad() (or "
                          "set_to_none) before each backward().")
    own = "discriminator_loss(D(real), D(G(noise)))" if net == "D" else "generator_loss(D(G(noise)))"
    raise CheckFailed(f"{call}: the {who}'s update is not one optimiser step on the gradient of {own} "
                      f"(relative difference {err:.3g} from the closest accepted reading, "
                      f"'{best}'; tolerance {GRAD_RTOL:g}). Hint: zero the gradients, backward the "
                      f"{who}'s own loss, then step its optimiser.")


def _match(call: str, net: str, found: list, paths: list[dict], k: int, leftover: list | None) -> list[dict]:
    """The paths of the key (the accepted readings of the step, followed along the calls) whose update of ``net``
    (``"D"`` or ``"G"``) at call ``k`` is the ``found`` gradient; the diagnosis when there are none."""
    errs = [rel_diff(found, p["calls"][k][net]) for p in paths]
    best = min(range(len(paths)), key=errs.__getitem__)
    if errs[best] < GRAD_RTOL:
        return [p for p, e in zip(paths, errs) if e < GRAD_RTOL]
    mistakes: dict[str, float] = {}  # the key holds the first call's mistakes, for the paths they can follow
    for p in paths:
        for name, grads in p["calls"][k].get("mistakes", {}).get(net, {}).items():
            mistakes[name] = min(mistakes.get(name, math.inf), rel_diff(found, grads))
    accumulated = math.inf
    if leftover and all(x is not None for x in leftover):
        accumulated = min(rel_diff(found, p["calls"][k][net] + flat(leftover)) for p in paths)
    _diagnose(call, net, errs[best], paths[best][net][1], mistakes, accumulated)


@single_threaded
def judge_step(obs: dict, key: dict, **_) -> str:
    seed, lr = obs["seed"], obs["lr"]
    g0, d0 = fixture_nets(seed)
    g_params, d_params = [p.detach() for p in g0.parameters()], [p.detach() for p in d0.parameters()]
    paths = key["paths"]  # narrowed, call by call, to those the student's updates follow
    for k, rec in enumerate(obs["steps"]):
        call = "the first call" if k == 0 else f"call {k + 1} (after a correct call {k})"
        if rec["error"]:
            msg = next((m for words, m in STEP_ERRORS if words in rec["error"]), "")
            raise CheckFailed(f"train_step raised {rec['error']}" + (f"\n{msg}" if msg else ""))
        # the contract: no mode changes, the noise passed in, no host syncs, detached 0-d tensors returned
        for net in ("generator", "discriminator"):
            off = [n for n, t in rec["modes"][net] if not t]
            expect(not off, f"after train_step the {net} is in eval mode ({', '.join(off[:3])}): train_step must not "
                            "change module modes. Hint: remove the .eval() (the harness sets train/eval mode).")
        during = [c for c in rec["g_calls"] + rec["d_calls"] if not c["training"]]
        expect(not during, "train_step ran a network in eval mode and switched it back: the update must use training "
                           "mode (dropout on, BatchNorm on batch statistics). Hint: remove .eval()/.train() from the "
                           "step.")
        expect(rec["g_calls"], "train_step never called the generator. Hint: fake = generator(noise).")
        fresh = [c for c in rec["g_calls"] if not c["is_noise"]]
        expect(not fresh, "the generator was called on other noise than the `noise` argument (shape "
                          f"{fresh[0]['shape'] if fresh else ''}): train_step draws its own noise (torch.randn / "
                          "randn_like?). Hint: generate from the noise passed in; the harness draws it.")
        expect(rec["dtypes"] == ["torch.float32"], f"train_step changed the weights' dtype to {rec['dtypes']}. "
                                                   "Hint: the harness owns precision; leave dtypes alone.")
        expect(rec["requires_grad"], "after train_step some weights no longer require gradients. Hint: if you "
                                     "freeze D during G's update (requires_grad_(False)), unfreeze it afterwards.")
        # the update of each network: one step of the optimiser passed in, on the gradient of its own loss
        d_steps, g_steps = _stepped(rec, "d"), _stepped(rec, "g")
        for steps, net, opt, before, after in ((d_steps, "discriminator", "opt_d", d_params, rec["d_params"]),
                                               (g_steps, "generator", "opt_g", g_params, rec["g_params"])):
            if not steps:
                moved = any(not torch.equal(a, b) for a, b in zip(after, before))
                raise CheckFailed(
                    f"{call}: {opt}.step() was never called" + (
                        f", yet the {net}'s weights changed: train_step must update them with the optimiser passed "
                        f"in. Hint: no new optimiser inside the step; call {opt}.step()." if moved else
                        f", so the {net} was not updated. Hint: call {opt}.step() after computing the {net}'s "
                        "gradient."))
            expect(len(steps) == 1, f"{call}: {opt}.step() was called {len(steps)} times; one update per call.")
            grads = steps[0]
            expect(any(x is not None and x.abs().sum() > 0 for x in grads),
                   f"{call}: when {opt}.step() ran, the {net} had no gradient. Hint: call backward() on its loss "
                   f"before {opt}.step(), and zero_grad() before backward(), not between backward() and step().")
        prev = obs["steps"][k - 1] if k else None
        paths = _match(call, "D", d_steps[0], paths, k, prev and prev["d_grads_end"])
        paths = _match(call, "G", g_steps[0], paths, k, prev and prev["g_grads_end"])
        path = paths[0]
        # nothing but the optimisers may move the weights
        for net, before, after, grads in (("discriminator", d_params, rec["d_params"], d_steps[0]),
                                          ("generator", g_params, rec["g_params"], g_steps[0])):
            want = _add(list(before), grads, -lr)
            moved = rel_diff([a - b for a, b in zip(after, before)], [w - b for w, b in zip(want, before)])
            expect(moved < GRAD_RTOL, f"{call}: the {net}'s weights changed by more than the optimiser's step "
                                      f"(relative difference {moved:.3g}). Hint: use the optimisers passed in; do "
                                      "not create new ones or change weights by hand.")
        # the returned losses
        ret = rec["returned"]
        expect(rec["returned_type"] in ("tuple", "list") and len(ret) == 2,
               f"train_step should return (d_loss, g_loss), found {rec['returned_type']}"
               + (f" of length {len(ret)}" if rec["returned_type"] in ("tuple", "list") else "") + ".")
        for r, name in zip(ret, ("d_loss", "g_loss")):
            if r["type"] in ("float", "int"):
                raise CheckFailed(f"train_step returned {name} as a Python {r['type']}: .item() waits for the GPU "
                                  f"at every step. Hint: return {name}.detach(), a 0-d tensor.")
            expect(r["type"] == "Tensor", f"train_step should return {name} as a 0-d tensor, found {r['type']}.")
            expect(r["shape"] == (), f"train_step should return {name} as a 0-d tensor, found shape {r['shape']}.")
            expect(not r["requires_grad"], f"train_step returned {name} still attached to the graph (requires_grad). "
                                           f"Hint: return {name}.detach().")
        expect(not rec["syncs"], f"train_step called {', '.join(sorted(set(rec['syncs'])))} on a tensor (or printed "
                                 "one): that copies to the host and waits for the GPU at every step. Hint: return "
                                 "the detached tensors and let the harness read them.")
        d_found, g_found = (r["value"].item() for r in ret)
        losses = path["calls"][k]
        d_ok = any(_close(d_found, v) for v in losses["d_loss"].values())
        g_ok = any(_close(g_found, v) for v in losses["g_loss"].values())
        if not (d_ok and g_ok):
            swapped = any(_close(g_found, v) for v in losses["d_loss"].values()) and \
                any(_close(d_found, v) for v in losses["g_loss"].values())
            d_want = losses["d_loss"][D_LOSS_OF[path["D"][1]]]
            g_want = losses["g_loss"][path["G"][1]]
            raise CheckFailed(f"{call}: the updates are right but the returned losses are not: expected (d_loss, g_loss) "
                              f"= ({d_want:.6f}, {g_want:.6f}), found "
                              f"({d_found:.6f}, {g_found:.6f})."
                              + (" Hint: the order is (d_loss, g_loss), discriminator first." if swapped else
                                 " Hint: return the losses this call computed."))
        g_params, d_params = rec["g_params"], rec["d_params"]
    readings = {path["D"][1], path["G"][1]}
    order = ("D first, then G" if "D first" in readings else "G first, then D" if readings & {"G first", "G first, mean"}
             else "simultaneous")
    return f"{len(obs['steps'])} calls update both networks correctly ({order} updates) and return detached 0-d losses"


# =========================================================================== (e) samples

def probe_samples(sub: Submission, seed: int = 0, train_sizes: tuple[int, ...] = (16, 32, 64), n: int = 32,
                  singles: int = 0) -> dict:
    """The student's Generator on batches of ``train_sizes`` in train mode, then ``n`` noise vectors in eval
    mode (twice, and other noise; with ``singles``, the first vectors alone and 50 times larger)."""
    g = new_network(sub, "Generator")
    gen = torch.Generator().manual_seed(seed)
    obs: dict = {"train": {}}
    with torch.no_grad():
        g.train()
        for b in train_sizes:
            try:
                y = g(torch.randn(b, NOISE_DIM, generator=gen))
                obs["train"][b] = _shape(y) if isinstance(y, torch.Tensor) else type(y).__name__
            except NotImplementedError:
                raise
            except Exception as e:  # noqa: BLE001 - judged: which batch size breaks it
                obs["train"][b] = "an error: " + describe_error(e, sub)
        g.eval()
        z1, z2 = torch.randn(n, NOISE_DIM, generator=gen), torch.randn(n, NOISE_DIM, generator=gen)
        obs["z1"], obs["eval_error"] = z1, None
        try:
            obs["y1"], obs["y1_again"], obs["y2"] = g(z1), g(z1), g(z2)
            obs["one"] = g(z1[:1])
            obs["singles"] = [g(z1[i:i + 1]) for i in range(1, 1 + singles)]
            obs["large"] = g(50 * z1) if singles else None
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001 - judged after the training-mode batches
            obs["eval_error"] = describe_error(e, sub)
    return obs


@single_threaded
def judge_samples(obs: dict, **_) -> str:
    for b, shape in obs["train"].items():
        expect(shape == (b, 1, 28, 28), f"in training mode a batch of {b} noise vectors should give images of shape "
                                        f"({b}, 1, 28, 28), found {shape}."
                                        + (" Hint: take the batch size from the input (view(-1, 256, 7, 7)), "
                                           "never a fixed number." if isinstance(shape, str) else ""))
    if obs["eval_error"]:
        raise CheckFailed(f"in eval mode the generator raised {obs['eval_error']}")
    y1, y1b, y2, one = obs["y1"], obs["y1_again"], obs["y2"], obs["one"]
    n = len(obs["z1"])
    for y in (y1, y1b, y2):
        expect(isinstance(y, torch.Tensor) and tuple(y.shape) == (n, 1, 28, 28),
               f"in eval mode {n} noise vectors should give images ({n}, 1, 28, 28), found "
               f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}.")
    expect(bool(torch.isfinite(y1).all()), "the generated images contain NaN or inf values.")
    expect(torch.equal(y1, y1b), "in eval mode the same noise gave different images in two calls: the generator draws "
                                 "randomness of its own. Hint: generate from the noise passed in only.")
    change = (y1 - y2).abs().mean().item()
    spread = y1.std(dim=0).mean().item()
    expect(change > 1e-4 and spread > 1e-4, f"the images barely depend on the noise (mean change {change:.3g} for new "
                                            f"noise, spread {spread:.3g} within a batch). Hint: the dense layer must "
                                            "take the noise z as its input.")
    expect(isinstance(one, torch.Tensor) and tuple(one.shape) == (1, 1, 28, 28),
           f"in eval mode a single noise vector should give one image (1, 1, 28, 28), found "
           f"{tuple(one.shape) if isinstance(one, torch.Tensor) else type(one).__name__}.")
    msg = "samples have shape (B, 1, 28, 28) for every batch size, follow the noise, and are reproducible in eval mode"
    if not obs["singles"]:
        return msg
    for i, single in enumerate(obs["singles"], start=1):
        expect(isinstance(single, torch.Tensor) and tuple(single.shape) == (1, 1, 28, 28),
               "in eval mode a single noise vector should give one image (1, 1, 28, 28).")
        err = (single[0] - y1[i]).abs().max().item()
        expect(err <= 1e-4, f"in eval mode image {i} changes with the other noise vectors in its batch (by up to "
                            f"{err:.3g}). Hint: in eval mode each image should depend on its own noise only "
                            "(BatchNorm uses its running statistics there).")
    expect(bool(torch.isfinite(obs["large"]).all()), "noise vectors 50 times larger give NaN or inf images.")
    return msg + "; each image depends on its own noise only"


#: The inputs of the visible checks (public); :mod:`dlcourse.grading.hidden.gan` has the others.
VISIBLE = {
    "discriminator": {"seed": 0, "n": 16},
    "generator": {"seed": 0, "n": 16},
    "losses": {"real": REAL_LOGITS, "fake": FAKE_LOGITS},
    "step": {"seed": 0, "sizes": (6, 6), "lr": 0.1},
    "samples": {"seed": 0, "train_sizes": (16, 32, 64), "n": 32},
}
#: The parts whose judges need an answer key: the others check what the homework states (layers, shapes, slopes,
#: dropout rates, parameter counts, the optimiser's settings, sampling's behaviour).
KEYED = ("losses", "step")
PARTS = [("3a", "(a) discriminator", "discriminator"), ("3b", "(b) generator", "generator"),
         ("3c", "(c) BCE losses and Adam", "losses"), ("3d", "(d) training step", "step"),
         ("3e", "(e) samples", "samples")]


def checks(args: dict[str, dict], suffix: str = "", title: str = "", visibility: str = "visible") -> list[Check]:
    """The five checks of Problem 3 on the inputs ``args[part]``, half a point each; the hidden module calls
    this with its own inputs, suffix ``"-hidden"`` and visibility ``after_due_date``."""
    return [Check(cid + suffix, QUESTION, name + title, 0.5, timeout=60, visibility=visibility,
                  probe=f"{__name__}:probe_{fn}", judge=f"{__name__}:judge_{fn}", args=dict(args[fn]),
                  key=f"dlcourse.grading.keys.gan:{fn}" if fn in KEYED else None)
            for cid, name, fn in PARTS]


CHECKS = checks(VISIBLE)
