"""Autograder checks of Problem 3 (DCGAN on FashionMNIST), 5 points.

Each check inspects the student's modules (``gan/model.py``, ``gan/losses.py``, ``gan/step.py``)
by *behaviour* as well as by structure: forward hooks on every leaf layer record what each layer
received and returned, so an activation written as ``F.leaky_relu(x, 0.3)`` in ``forward`` is graded
exactly like an ``nn.LeakyReLU(0.3)`` module. What is checked is what the homework states; where it is
silent (BatchNorm/LeakyReLU after the generator's dense layer, summing or averaging the two halves of
the discriminator's loss, simultaneous or alternating updates) every reading is accepted.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.grading.core import Check, CheckFailed, Submission, expect

QUESTION = "Problem 3"
SLOPE = 0.3
DROPOUT = 0.3
NOISE_DIM = 100
D_PARAMS = 212_865
SLOPE_HINT = ("Hint: PyTorch's nn.LeakyReLU() defaults to negative_slope=0.01, but the homework follows Keras, "
              "whose LeakyReLU default is alpha=0.3: write nn.LeakyReLU(0.3).")


# --------------------------------------------------------------------------- tracing helpers

class Call:
    """One call of a leaf layer: the layer, its (first) input and its output, detached."""

    def __init__(self, name: str, module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> None:
        self.name, self.module, self.inp, self.out = name, module, inp, out

    @property
    def kind(self) -> str:
        return type(self.module).__name__


def trace(model: nn.Module, x: torch.Tensor) -> tuple[list[Call], torch.Tensor]:
    """Run ``model(x)`` and record every leaf layer's call in execution order."""
    calls: list[Call] = []
    hooks = []
    for name, mod in model.named_modules():
        if not list(mod.children()):
            def hook(m, args, out, name=name):
                if args and isinstance(args[0], torch.Tensor) and isinstance(out, torch.Tensor):
                    calls.append(Call(name, m, args[0].detach().clone(), out.detach().clone()))
            hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for h in hooks:
            h.remove()
    expect(isinstance(y, torch.Tensor), f"forward returned {type(y).__name__}, expected a tensor.")
    return calls, y.detach()


def _per_sample_sorted(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(len(t), -1).sort(dim=1).values


def leaky_fit(pre: torch.Tensor, post: torch.Tensor, ordered: bool = True) -> tuple[float, float, float]:
    """How ``post`` depends on ``pre``: ``(slope for negatives, slope for positives, max error vs LeakyReLU(0.3))``.

    ``ordered=False`` compares per-sample sorted values, which is exact for any monotone elementwise
    function and ignores a different flattening order (e.g. channels-last, as in Keras).
    """
    if pre.numel() != post.numel():
        raise CheckFailed(f"a layer's output has {pre[0].numel()} values per image but the next layer received "
                          f"{post[0].numel() if post.dim() else post.numel()}: something sits in between that "
                          "should not.")
    if ordered and pre.shape == post.shape:
        a, b = pre.reshape(-1), post.reshape(-1)
    else:
        a, b = _per_sample_sorted(pre).reshape(-1), _per_sample_sorted(post).reshape(-1)
    scale = a.abs().max().item() or 1.0
    neg, pos = a < -1e-3 * scale, a > 1e-3 * scale
    s_neg = (b[neg] / a[neg]).median().item() if neg.any() else float("nan")
    s_pos = (b[pos] / a[pos]).median().item() if pos.any() else float("nan")
    err = (b - F.leaky_relu(a, SLOPE)).abs().max().item() / scale
    return s_neg, s_pos, err


def expect_leaky(pre: torch.Tensor, post: torch.Tensor, where: str, ordered: bool = True) -> None:
    """Fail with a helpful message unless ``post == LeakyReLU(0.3)(pre)``."""
    s_neg, s_pos, err = leaky_fit(pre, post, ordered)
    if err < 1e-4:
        return
    if abs(s_pos - 1) < 0.02:
        if abs(s_neg - 0.01) < 0.003:
            raise CheckFailed(f"{where}: expected LeakyReLU with slope 0.3 for negative inputs, found slope 0.01. "
                              + SLOPE_HINT)
        if abs(s_neg) < 1e-3:
            raise CheckFailed(f"{where}: expected LeakyReLU(0.3), found a ReLU (negative inputs become 0). "
                              "Hint: use nn.LeakyReLU(0.3).")
        if abs(s_neg - 1) < 0.02:
            raise CheckFailed(f"{where}: expected LeakyReLU(0.3), found no activation at all (the values pass "
                              "through unchanged). Hint: add nn.LeakyReLU(0.3).")
        raise CheckFailed(f"{where}: expected LeakyReLU with negative slope 0.3, found slope {s_neg:.3g}. "
                          + SLOPE_HINT)
    raise CheckFailed(f"{where}: expected LeakyReLU(0.3) of the previous layer's output, found another function "
                      f"(slope {s_neg:.3g} for negative and {s_pos:.3g} for positive inputs, max deviation "
                      f"{err:.2g}). Hint: nothing but LeakyReLU(0.3) belongs here.")


def _bias(m: nn.Module) -> bool:
    return getattr(m, "bias", None) is not None


def _new(cls_name: str, module) -> nn.Module:
    cls = getattr(module, cls_name, None)
    expect(cls is not None, f"gan/model.py defines no class {cls_name}. Hint: keep the class names of the stub.")
    return cls()


# --------------------------------------------------------------------------- (a) discriminator

D_ALLOWED = {"Conv2d", "Linear", "LeakyReLU", "Dropout", "Flatten", "Identity"}
G_ALLOWED = {"Linear", "BatchNorm1d", "BatchNorm2d", "ConvTranspose2d", "LeakyReLU", "Tanh", "Flatten",
             "Unflatten", "Identity"}


def _foreign_layers(calls: list[Call], allowed: set[str]) -> list[str]:
    """Built-in torch layers outside ``allowed`` (custom parameter-free helpers like a Reshape are fine)."""
    return [f"{c.name} ({c.kind})" for c in calls
            if c.kind not in allowed and type(c.module).__module__.startswith("torch.nn")]


def check_discriminator(sub: Submission) -> str:
    model = sub.module("dlcourse.gan.model")
    torch.manual_seed(0)
    d = _new("Discriminator", model)
    x = torch.rand(16, 1, 28, 28) * 2 - 1
    d.eval()
    calls, y = trace(d, x)
    foreign = _foreign_layers(calls, D_ALLOWED)
    expect(not foreign, f"the discriminator should hold only Conv2d, LeakyReLU, Dropout and Linear layers; found "
                        f"{', '.join(foreign)}. Hint: the homework's discriminator has no BatchNorm and no pooling.")
    layers = [c for c in calls if c.kind in ("Conv2d", "Linear")]
    kinds = [c.kind for c in layers]
    expect(kinds == ["Conv2d", "Conv2d", "Linear"],
           f"expected the layers Conv2d -> Conv2d -> Linear, found {' -> '.join(kinds) or 'none'}.")
    c1, c2, lin = layers
    for c, (cin, cout, shape) in zip((c1, c2), ((1, 64, (64, 14, 14)), (64, 128, (128, 7, 7)))):
        m = c.module
        expect((m.in_channels, m.out_channels) == (cin, cout),
               f"conv {c.name}: expected {cin} -> {cout} channels, found {m.in_channels} -> {m.out_channels}.")
        expect(tuple(m.kernel_size) == (5, 5) and tuple(m.stride) == (2, 2),
               f"conv {c.name}: expected kernel 5x5 with stride 2, found kernel {tuple(m.kernel_size)} stride "
               f"{tuple(m.stride)}.")
        expect(tuple(c.out.shape[1:]) == shape,
               f"conv {c.name}: expected output shape (B, {', '.join(map(str, shape))}), found "
               f"{tuple(c.out.shape)}. Hint: padding=2 keeps 28 -> 14 -> 7 with a 5x5 kernel and stride 2.")
    expect((lin.module.in_features, lin.module.out_features) == (128 * 7 * 7, 1),
           f"dense layer: expected 6272 -> 1, found {lin.module.in_features} -> {lin.module.out_features}.")
    # eval mode: dropout is off, so each layer's input must be exactly LeakyReLU(0.3) of the previous output
    zeros = (c2.inp == 0).float().mean().item()
    expect(zeros < 0.05, f"in eval mode {zeros:.0%} of the second conv's inputs are zero: dropout is active "
                         "although the model is in eval mode. Hint: use nn.Dropout(0.3) (or "
                         "F.dropout(x, 0.3, training=self.training)).")
    expect_leaky(c1.out, c2.inp, "after the first convolution")
    expect_leaky(c2.out, lin.inp, "after the second convolution", ordered=False)
    expect(tuple(y.shape) in ((16,), (16, 1)), f"expected one logit per image, shape (B,) or (B, 1), found "
                                                f"{tuple(y.shape)}.")
    expect(torch.allclose(y.reshape(-1), lin.out.reshape(-1), atol=1e-6),
           "the discriminator should return the dense layer's raw logit (no sigmoid): the BCE losses work on "
           "logits. Hint: drop the final sigmoid.")
    # train mode: measure the dropout rate after each block (elementwise where the shapes allow)
    d.train()
    torch.manual_seed(1)
    calls, _ = trace(d, torch.rand(64, 1, 28, 28) * 2 - 1)
    c1, c2, lin = [c for c in calls if c.kind in ("Conv2d", "Linear")]
    for where, pre, post in (("after the first convolution", c1.out, c2.inp),
                             ("after the second convolution", c2.out, lin.inp)):
        live = pre.reshape(-1).abs() > 0
        p_hat = (post.reshape(-1)[live] == 0).float().mean().item() if post.numel() == pre.numel() else float("nan")
        if abs(p_hat - DROPOUT) > 0.03:
            hint = (" Hint: nn.Dropout() defaults to p=0.5; the homework uses 0.3." if abs(p_hat - 0.5) < 0.03 else
                    " Hint: add nn.Dropout(0.3) after each LeakyReLU." if p_hat < 0.03 else "")
            raise CheckFailed(f"{where}: expected Dropout(0.3) in training mode (30% of values zeroed), found "
                              f"{p_hat:.0%} zeroed.{hint}")
    n = sum(p.numel() for p in d.parameters() if p.requires_grad)
    expect(n == D_PARAMS, f"expected {D_PARAMS:,} trainable parameters, found {n:,}. Hint: the convolutions and "
                          "the dense layer of the discriminator keep their biases.")
    return f"architecture, shapes, LeakyReLU(0.3), Dropout(0.3) and {n:,} parameters correct"


# --------------------------------------------------------------------------- (b) generator

def check_generator(sub: Submission) -> str:
    model = sub.module("dlcourse.gan.model")
    torch.manual_seed(0)
    g = _new("Generator", model)
    z = torch.randn(16, NOISE_DIM)
    g.eval()
    calls, y = trace(g, z)
    foreign = _foreign_layers(calls, G_ALLOWED)
    expect(not foreign, f"the generator should hold only Linear, BatchNorm, ConvTranspose2d, LeakyReLU and Tanh "
                        f"layers; found {', '.join(foreign)}."
                        + (" Hint: the images are scaled to [-1, 1], so the last activation is tanh, not sigmoid."
                           if any("Sigmoid" in f for f in foreign) else ""))
    layers = [c for c in calls if c.kind in ("Linear", "ConvTranspose2d") or c.kind.startswith("BatchNorm")]
    kinds = [c.kind for c in layers]
    expected = ["Linear", "ConvTranspose2d", "BatchNorm2d", "ConvTranspose2d", "BatchNorm2d", "ConvTranspose2d"]
    with_bn0 = len(kinds) == 7 and kinds[1] in ("BatchNorm1d", "BatchNorm2d") and kinds[:1] + kinds[2:] == expected
    expect(kinds == expected or with_bn0,
           f"expected Linear -> [BatchNorm] -> ConvTranspose2d -> BatchNorm2d -> ConvTranspose2d -> BatchNorm2d -> "
           f"ConvTranspose2d, found {' -> '.join(kinds) or 'none'}. Hint: no BatchNorm after the last layer.")
    dense = layers[0]
    bn0 = layers[1] if with_bn0 else None
    t1, b1, t2, b2, t3 = layers[-5:]
    m = dense.module
    expect((m.in_features, m.out_features) == (NOISE_DIM, 7 * 7 * 256),
           f"dense layer: expected {NOISE_DIM} -> 12544 (7*7*256), found {m.in_features} -> {m.out_features}.")
    expect(not _bias(m), "dense layer: the homework's dense layer has no bias. Hint: nn.Linear(..., bias=False).")
    specs = ((t1, 256, 128, 1, (128, 7, 7)), (t2, 128, 64, 2, (64, 14, 14)), (t3, 64, 1, 2, (1, 28, 28)))
    for c, cin, cout, stride, shape in specs:
        m = c.module
        expect((m.in_channels, m.out_channels) == (cin, cout),
               f"transposed conv {c.name}: expected {cin} -> {cout} channels, found {m.in_channels} -> "
               f"{m.out_channels}.")
        expect(tuple(m.kernel_size) == (5, 5) and tuple(m.stride) == (stride, stride),
               f"transposed conv {c.name}: expected kernel 5x5 with stride {stride}, found kernel "
               f"{tuple(m.kernel_size)} stride {tuple(m.stride)}.")
        expect(not _bias(m), f"transposed conv {c.name}: expected no bias (the homework's layers are bias-free). "
                             "Hint: bias=False.")
        expect(tuple(c.out.shape[1:]) == shape,
               f"transposed conv {c.name}: expected output (B, {', '.join(map(str, shape))}), found "
               f"{tuple(c.out.shape)}. Hint: padding=2 and, for stride 2, output_padding=1.")
    for bn, conv, ch in ((b1, t1, 128), (b2, t2, 64)):
        expect(bn.module.num_features == ch, f"BatchNorm {bn.name}: expected {ch} features, found "
                                             f"{bn.module.num_features}.")
        expect(torch.equal(bn.inp, conv.out), f"BatchNorm {bn.name} should come right after transposed conv "
                                              f"{conv.name} (BatchNorm, then LeakyReLU).")
    # what follows the dense layer is not specified: accept identity, LeakyReLU(0.3), or BatchNorm + LeakyReLU(0.3)
    if bn0 is not None:
        expect(bn0.module.num_features in (12544, 256),
               f"BatchNorm after the dense layer: expected 12544 (BatchNorm1d) or 256 (BatchNorm2d) features, "
               f"found {bn0.module.num_features}.")
        expect_leaky(bn0.out, t1.inp, "after the dense layer's BatchNorm", ordered=False)
    else:
        s_neg, s_pos, err = leaky_fit(dense.out, t1.inp, ordered=False)
        identity = (_per_sample_sorted(dense.out) - _per_sample_sorted(t1.inp)).abs().max().item() < 1e-5
        if not identity:
            expect_leaky(dense.out, t1.inp, "after the dense layer", ordered=False)
    expect_leaky(b1.out, t2.inp, "after the first BatchNorm")
    expect_leaky(b2.out, t3.inp, "after the second BatchNorm")
    expect(tuple(y.shape) == (16, 1, 28, 28), f"expected images of shape (B, 1, 28, 28), found {tuple(y.shape)}.")
    if not torch.allclose(y, torch.tanh(t3.out), atol=1e-5):
        hint = (" Hint: sigmoid gives [0, 1], but the images are scaled to [-1, 1]: use tanh."
                if torch.allclose(y, torch.sigmoid(t3.out), atol=1e-5) else
                " Hint: the last layer has no BatchNorm and no LeakyReLU, only tanh.")
        raise CheckFailed("the generator's output should be tanh of the last transposed convolution." + hint)
    n = sum(p.numel() for p in g.parameters() if p.requires_grad)
    reading = "with BatchNorm + LeakyReLU" if bn0 is not None else "without BatchNorm"
    return f"architecture, shapes, no biases, LeakyReLU(0.3) and tanh correct ({reading} after the dense layer; {n:,} parameters)"


# --------------------------------------------------------------------------- (c) losses and optimisers

REAL_LOGITS = torch.tensor([2.0, -1.0, 0.5, 3.0, -4.0, 0.0, 1.5, -0.5])
FAKE_LOGITS = torch.tensor([-2.0, 1.5, -0.5, 0.25, 3.5, -3.0, 0.75, -1.0])  # sum != 0: BCE(., 1) != BCE(., 0)


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _scalar(value, what: str) -> torch.Tensor:
    expect(isinstance(value, torch.Tensor), f"{what} should return a tensor (so that it can be backpropagated), "
                                            f"found {type(value).__name__}.")
    expect(value.numel() == 1, f"{what} should return a scalar, found shape {tuple(value.shape)}. Hint: BCE "
                               "averages over the batch.")
    return value.reshape(())


def check_losses(sub: Submission) -> str:
    losses = sub.module("dlcourse.gan.losses")
    real, fake = REAL_LOGITS.clone().requires_grad_(), FAKE_LOGITS.clone().requires_grad_()
    try:
        d = _scalar(losses.discriminator_loss(real, fake), "discriminator_loss")
    except RuntimeError as e:
        if "between 0 and 1" in str(e):
            raise CheckFailed("discriminator_loss received logits (any real number) but treats them as "
                              "probabilities. Hint: F.binary_cross_entropy_with_logits.") from e
        raise
    right = _bce(REAL_LOGITS, 1) + _bce(FAKE_LOGITS, 0)
    found = d.item()
    if not (math.isclose(found, right.item(), rel_tol=1e-4) or math.isclose(found, right.item() / 2, rel_tol=1e-4)):
        swapped = (_bce(REAL_LOGITS, 0) + _bce(FAKE_LOGITS, 1)).item()
        hint = (" Hint: the labels are swapped: real images are 1, generated ones 0."
                if math.isclose(found, swapped, rel_tol=1e-4) or math.isclose(found, swapped / 2, rel_tol=1e-4)
                else " Hint: BCE(real logits, 1) + BCE(fake logits, 0), each on logits and averaged over "
                     "the batch.")
        raise CheckFailed(f"discriminator_loss on fixed logits: expected {right.item():.5f} (the sum of both BCE "
                          f"terms; their mean {right.item() / 2:.5f} is accepted too), found {found:.5f}.{hint}")
    d.backward()
    expect(real.grad is not None and fake.grad is not None,
           "discriminator_loss is not differentiable in the logits (no gradient reached them). Hint: compute it "
           "with torch operations on the inputs, without .item() or .detach().")
    g = _scalar(losses.generator_loss(FAKE_LOGITS.clone().requires_grad_()), "generator_loss")
    right_g = _bce(FAKE_LOGITS, 1).item()
    if not math.isclose(g.item(), right_g, rel_tol=1e-4):
        if math.isclose(g.item(), _bce(FAKE_LOGITS, 0).item(), rel_tol=1e-4):
            hint = " Hint: the generator wants its images classified as real: label 1."
        elif math.isclose(g.item(), -_bce(FAKE_LOGITS, 0).item(), rel_tol=1e-4):
            hint = (" Hint: that is the saturating minimax loss -BCE(fake, 0); use the non-saturating "
                    "BCE(fake, 1), whose gradient does not vanish when D rejects the fakes.")
        else:
            hint = " Hint: BCE(fake logits, 1)."
        raise CheckFailed(f"generator_loss on fixed logits: expected {right_g:.5f}, found {g.item():.5f}.{hint}")

    torch.manual_seed(0)
    gen, disc = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)), nn.Sequential(nn.Linear(5, 1))
    opts = losses.make_optimizers(gen, disc)
    expect(isinstance(opts, (tuple, list)) and len(opts) == 2,
           f"make_optimizers should return (opt_g, opt_d), found {type(opts).__name__}.")
    for opt, net, name in ((opts[0], gen, "opt_g (first)"), (opts[1], disc, "opt_d (second)")):
        expect(type(opt) is torch.optim.Adam, f"{name}: expected torch.optim.Adam, found {type(opt).__name__}.")
        params = {id(p) for group in opt.param_groups for p in group["params"]}
        if params != {id(p) for p in net.parameters()}:
            other = gen if net is disc else disc
            swapped = params == {id(p) for p in other.parameters()}
            raise CheckFailed(f"{name}: expected the optimiser of {'the generator' if net is gen else 'the discriminator'}"
                              f"'s parameters, found {'the other network' if swapped else 'other parameters'}. "
                              "Hint: return (Adam(generator.parameters(), ...), Adam(discriminator.parameters(), ...)).")
        lrs = sorted({group["lr"] for group in opt.param_groups})
        expect(lrs == [1e-4], f"{name}: expected learning rate 1e-4, found {lrs[0] if len(lrs) == 1 else lrs}."
                              + (" Hint: Adam's default lr is 1e-3; pass lr=1e-4." if lrs == [1e-3] else
                                 " Hint: 2e-4 is pytorch/examples' DCGAN; the homework uses 1e-4." if lrs == [2e-4]
                                 else ""))
    return "both BCE losses on logits and Adam(lr=1e-4) for each network correct"


# --------------------------------------------------------------------------- (d) one training step

class PlainSGD:
    """``p -= lr * p.grad``: plain SGD, so one update reveals the gradient exactly.

    Duck-typed (``step``, ``zero_grad``, ``param_groups``) rather than a ``torch.optim.SGD``: the first
    torch optimiser built in a process imports ``torch._dynamo``, seconds on a loaded 2-core CPU.
    """

    def __init__(self, params, lr: float) -> None:
        self.param_groups = [{"params": list(params), "lr": lr}]

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p -= group["lr"] * p.grad
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()


def _step_setup():
    """Reference networks (dropout switched off, so updates are deterministic), a fixed batch, SGD."""
    from dlcourse.gan.model import Discriminator, Generator

    torch.manual_seed(0)
    g, d = Generator(), Discriminator()
    for m in d.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.rand(6, 1, 28, 28, generator=gen) * 2 - 1, torch.randn(6, NOISE_DIM, generator=gen))
               for _ in range(2)]
    return g.train(), d.train(), batches


def _reference_steps(g, d, batches, losses, lr: float, alternating: bool):
    """Plain SGD on the reference reading; returns params after each step and the losses of each step."""
    g, d = copy.deepcopy(g), copy.deepcopy(d)
    states, returned = [], []
    for real, noise in batches:
        fake = g(noise)
        d_loss = losses.discriminator_loss(d(real), d(fake.detach()))
        d_grads = torch.autograd.grad(d_loss, list(d.parameters()))
        if not alternating:
            g_loss = losses.generator_loss(d(fake))
            g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
        with torch.no_grad():
            for p, gr in zip(d.parameters(), d_grads):
                p -= lr * gr
        if alternating:
            g_loss = losses.generator_loss(d(fake))
            g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
        with torch.no_grad():
            for p, gr in zip(g.parameters(), g_grads):
                p -= lr * gr
        states.append(([p.detach().clone() for p in g.parameters()], [p.detach().clone() for p in d.parameters()]))
        returned.append((d_loss.item(), g_loss.item()))
    return states, returned


def _rel_diff(a: list[torch.Tensor], b: list[torch.Tensor], start: list[torch.Tensor]) -> float:
    """Relative difference of two parameter *updates* (from ``start``)."""
    da = torch.cat([(x - s).reshape(-1) for x, s in zip(a, start)])
    db = torch.cat([(x - s).reshape(-1) for x, s in zip(b, start)])
    return ((da - db).norm() / db.norm().clamp_min(1e-12)).item()


def check_step(sub: Submission) -> str:
    step = sub.module("dlcourse.gan.step")
    losses = sub.module("dlcourse.gan.losses")
    lr = 0.05
    g, d, batches = _step_setup()
    g_init, d_init = copy.deepcopy(g), copy.deepcopy(d)
    g0 = [p.detach().clone() for p in g.parameters()]
    d0 = [p.detach().clone() for p in d.parameters()]
    opt_g, opt_d = PlainSGD(g.parameters(), lr), PlainSGD(d.parameters(), lr)
    starts = [(g0, d0)]
    outs = []
    for k, (real, noise) in enumerate(batches):
        out = step.train_step(g, d, opt_g, opt_d, real.clone(), noise.clone())
        expect(isinstance(out, (tuple, list)) and len(out) == 2,
               f"train_step should return (d_loss, g_loss), found {type(out).__name__}.")
        vals = []
        for v, name in zip(out, ("d_loss", "g_loss")):
            v = float(v.detach().reshape(())) if isinstance(v, torch.Tensor) and v.numel() == 1 else v
            expect(isinstance(v, float) and math.isfinite(v), f"train_step's {name} should be a finite scalar, "
                                                              f"found {v!r}.")
            vals.append(v)
        outs.append(vals)
        now = ([p.detach().clone() for p in g.parameters()], [p.detach().clone() for p in d.parameters()])
        if k == 0:
            moved_g = any(not torch.equal(a, b) for a, b in zip(now[0], g0))
            moved_d = any(not torch.equal(a, b) for a, b in zip(now[1], d0))
            expect(moved_d, "after train_step the discriminator's weights are unchanged. Hint: call opt_d.step() "
                            "after computing D's gradient.")
            expect(moved_g, "after train_step the generator's weights are unchanged. Hint: call opt_g.step() "
                            "after computing G's gradient.")
        starts.append(now)
    # the two accepted readings, computed with the student's own losses (so a loss mistake costs one check)
    refs = {name: _reference_steps(g_init, d_init, batches, losses, lr, alt)
            for name, alt in (("simultaneous", False), ("alternating", True))}
    best, report = None, []
    for name, (states, returned) in refs.items():
        errs = []
        for k in range(2):
            start = starts[k] if k == 0 else states[0]
            errs.append((_rel_diff(starts[k + 1][1], states[k][1], start[1]),
                         _rel_diff(starts[k + 1][0], states[k][0], start[0])))
        loss_ok = all(math.isclose(o[0], r[0], rel_tol=1e-3, abs_tol=1e-5) and
                      math.isclose(o[1], r[1], rel_tol=1e-3, abs_tol=1e-5) for o, r in zip(outs, returned))
        worst = max(max(e) for e in errs)
        report.append((worst, name, errs, loss_ok, returned))
        if worst < 2e-3 and loss_ok:
            best = name
    if best:
        return f"one training step updates both networks correctly ({best} updates)"
    worst, name, errs, loss_ok, returned = min(report)
    (d1, g1), (d2, g2) = errs
    if d1 > 2e-3:
        raise CheckFailed(f"the discriminator's update is not one optimiser step on discriminator_loss (relative "
                          f"difference {d1:.2g}). Hint: D's gradient must come from D's loss only: detach the fake "
                          "images (or use torch.autograd.grad) so the generator's loss does not leak into D, and "
                          "use the optimisers passed in.")
    if g1 > 2e-3:
        raise CheckFailed(f"the generator's update is not one optimiser step on generator_loss (relative difference "
                          f"{g1:.2g}). Hint: G's gradient comes from generator_loss(D(G(noise))) only; D's loss must "
                          "not reach G's parameters, and opt_g must step after that gradient.")
    if max(d2, g2) > 2e-3:
        raise CheckFailed(f"the first step is right but the second is not (relative difference {max(d2, g2):.2g}): "
                          "gradients accumulate across calls. Hint: call opt_d.zero_grad() and opt_g.zero_grad() "
                          "before each backward().")
    raise CheckFailed(f"the updates are right but the returned losses are not: expected (d_loss, g_loss) = "
                      f"({returned[0][0]:.4f}, {returned[0][1]:.4f}) for the first batch, found "
                      f"({outs[0][0]:.4f}, {outs[0][1]:.4f}). Hint: return the losses computed in this step, "
                      "discriminator first.")


# --------------------------------------------------------------------------- (e) samples

def check_samples(sub: Submission) -> str:
    model = sub.module("dlcourse.gan.model")
    torch.manual_seed(0)
    g = _new("Generator", model)
    with torch.no_grad():
        g.train()
        for b in (16, 32, 64):
            y = g(torch.randn(b, NOISE_DIM))
            expect(isinstance(y, torch.Tensor) and tuple(y.shape) == (b, 1, 28, 28),
                   f"a batch of {b} noise vectors should give images of shape ({b}, 1, 28, 28), found "
                   f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}.")
        g.eval()
        z1, z2 = torch.randn(32, NOISE_DIM), torch.randn(32, NOISE_DIM)
        y1, y1b, y2 = g(z1), g(z1), g(z2)
        expect(bool(torch.isfinite(y1).all()), "the generated images contain NaN or inf values.")
        expect(torch.equal(y1, y1b), "in eval mode the same noise should give the same images, but two calls "
                                     "differed. Hint: generate from the noise passed in; draw no new randomness.")
        expect(y1.min() >= -1 and y1.max() <= 1, f"images must lie in [-1, 1] like the training data, found "
                                                  f"[{y1.min():.3g}, {y1.max():.3g}]. Hint: end with tanh.")
        big = g(50 * z1)
        expect(big.min() >= -1 and big.max() <= 1, "for large noise the images leave [-1, 1] "
                                                   f"([{big.min():.3g}, {big.max():.3g}]). Hint: end with tanh.")
        change = (y1 - y2).abs().mean().item()
        spread = y1.std(dim=0).mean().item()
        expect(change > 1e-4 and spread > 1e-4, f"the images barely depend on the noise (mean change {change:.2g} "
                                                f"for new noise, spread {spread:.2g} within a batch). Hint: "
                                                "the dense layer must take the noise z as its input.")
        expect(y1.min() < 0 < y1.max(), f"images should use both signs of [-1, 1] (black is -1), found "
                                        f"[{y1.min():.3g}, {y1.max():.3g}]. Hint: tanh, not sigmoid.")
        one = g(torch.randn(1, NOISE_DIM))
        expect(tuple(one.shape) == (1, 1, 28, 28), f"in eval mode a single noise vector should give one image "
                                                   f"(1, 1, 28, 28), found {tuple(one.shape)}.")
    return "samples have shape (B, 1, 28, 28), lie in [-1, 1], and vary with the noise"


CHECKS = [
    Check("3a", QUESTION, "(a) discriminator", 1.0, "dlcourse.grading.gan:check_discriminator", timeout=60),
    Check("3b", QUESTION, "(b) generator", 1.0, "dlcourse.grading.gan:check_generator", timeout=60),
    Check("3c", QUESTION, "(c) BCE losses and Adam", 1.0, "dlcourse.grading.gan:check_losses", timeout=60),
    Check("3d", QUESTION, "(d) training step", 1.0, "dlcourse.grading.gan:check_step", timeout=60),
    Check("3e", QUESTION, "(e) samples", 1.0, "dlcourse.grading.gan:check_samples", timeout=60),
]
