"""Problem 2 (CLIP, 5 points): visible checks of the student's ``dlcourse/clip/{model,loss,retrieval,zeroshot,step}.py``.

Each part is a *probe* (runs the student's code in the isolated process on fixed inputs and returns
what it produced) and a *judge* (in the grader's process: compares with the expected values of the
check's answer key, :mod:`dlcourse.grading.keys.clip`, computed from the definitions in float64 from
the same inputs, and names the most likely mistake only when the student's output equals that
mistake's, which the key holds too). The probes never import the reference solution: everything
they need besides the student's code (a tiny CLIP-like model and a stand-in loss for the training
step, a fake text encoder) is written in this module. The checks judge behaviour, not spelling:

* the projection head's layers are found by what they are (``isinstance`` of ``nn.Linear`` /
  ``nn.LayerNorm``, and their shapes), not by attribute names; parameters that are not inside such
  modules are matched by shape, the probe running the head once for each way they can hold the
  roles, and the judge taking the one that reproduces the output;
* every parameter of the head is set to non-trivial values before probing (a LayerNorm whose
  weight is not 1 and bias not 0), dropout is exercised in training mode and located by recovering
  its mask, and every parameter's gradient is compared;
* order-sensitive outputs (top-k) are judged by their order, on inputs where ``topk(sorted=False)``
  does return another order.

Tolerances come from measuring legitimate variants on exactly these inputs (see the constants).
:mod:`dlcourse.grading.hidden.clip` runs the same probes and judges on other (secret) inputs, given
to them as ``Check.args``; the visible and the hidden check of a part carry half of its point each.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.grading.core import Cases, Check, CheckFailed, Submission, Verdict, expect

Q = "Problem 2"
_M = "dlcourse.grading.clip"
_KEYS = "dlcourse.grading.keys.clip"
# CHECKS (the visible half) is defined at the end, from the default inputs of each part.

#: ``ln 100``: the upper bound of ``logit_scale`` (written here, not imported from the reference).
MAX_LOGIT_SCALE = math.log(100.0)

# Tolerances, each above the spread of legitimate implementations measured on exactly these inputs
# and below the smallest real mistake:
#: Head outputs (unit vectors), max abs difference. Measured on these inputs (visible / hidden):
#: tanh-approximated GELU (with LayerNorm eps 1e-6) 4.3e-5 / 5.9e-5; float64 inside, bare parameters
#: with the maths written out, nn.Sequential forms <= 2.5e-7. Smallest mistakes: QuickGELU
#: x*sigmoid(1.702x) 3.3e-3 / 2.7e-3, ReLU 1.1e-2 / 1.5e-2; all others >= 0.1.
TOL_HEAD = 3e-4
#: Head parameter gradients, max abs difference relative to max(1, largest expected entry).
#: tanh GELU against exact GELU's gradients 1.8e-4 / 5.1e-4 (the judge takes the GELU the output
#: follows: <= 1.3e-6), other legitimate forms <= 2.2e-7; a parameter used through .data or
#: detached: no gradient at all, a partly detached path >= 0.1.
TOL_HEAD_GRAD = 2e-3
#: Loss values, relative. cross_entropy, log_softmax + nll_loss, logsumexp by hand, open_clip's
#: logits_per_text form, nn.CrossEntropyLoss on stacked rows, re-normalised inputs: <= 2e-7.
#: Smallest mistake: one direction only, 5.8e-3 (scale 1 case) / 1.5e-2 (hidden).
TOL_LOSS = 1e-4
#: Loss gradients (tangential part for the embeddings), relative to max(1, largest expected entry):
#: legitimate <= 2e-6; a detached direction or a scale used as a number >= 0.5.
TOL_LOSS_GRAD = 1e-4
#: Cosine similarities and class embeddings (entries in [-1, 1]), absolute: legitimate (F.normalize,
#: division, rsqrt, F.cosine_similarity, einsum, encoding all prompts at once) <= 2.2e-7; the
#: smallest mistake (mean of templates not renormalised) >= 0.4.
TOL_COS = 1e-4
#: logit_scale after the clamp, absolute: OpenAI CLIP's literal 4.6052 for ln 100 = 4.60517 is 3e-5
#: off; the smallest mistake (no clamp, or a clamp of the scale 100 instead of its log) is >= 1.
TOL_CLAMP = 1e-3
#: Parameters after training steps, relative to max(1, |value|): legitimate (model.zero_grad, zeros
#: instead of None, .data clamps, the literal 4.6052) <= 6.4e-6; the smallest mistakes (with the
#: stand-in loss): a scale passed as its log 3.3e-2, zero_grad at the end of the step 0.17.
TOL_STEP = 1e-4


# --------------------------------------------------------------------------- shared helpers
def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _fmt(t, n: int = 4, digits: int = 4) -> str:
    """The first ``n`` entries of ``t`` with ``digits`` decimals (enough to show the difference at hand)."""
    t = torch.as_tensor(t).detach().flatten().double()
    body = ", ".join(f"{v:.{digits}f}" for v in t[:n].tolist())
    return "[" + body + (", ...]" if t.numel() > n else "]")


def _digits(diff: float) -> int:
    """Decimals needed to show a difference of ``diff`` (at least 4, at most 8)."""
    if not diff > 0 or not math.isfinite(diff):
        return 4
    return int(min(8, max(4, 1 - math.floor(math.log10(diff)))))


def _ints(t: torch.Tensor, n: int = 10) -> str:
    """The first ``n`` integers of ``t`` as a list."""
    v = t.flatten().tolist()
    return "[" + ", ".join(map(str, v[:n])) + (", ...]" if len(v) > n else "]")


def _describe(x) -> dict:
    """A plain-data description of a value a student's function returned (for the judge)."""
    if isinstance(x, torch.Tensor):
        return {"kind": "tensor", "value": x.detach().clone(), "requires_grad": bool(x.requires_grad),
                "grad_fn": x.grad_fn is not None, "dtype": str(x.dtype)}
    if isinstance(x, (bool, int, float)):
        return {"kind": type(x).__name__, "value": x}
    if isinstance(x, (tuple, list)):  # named tuples (torch.return_types.topk) count as tuples
        return {"kind": "list" if isinstance(x, list) else "tuple", "items": [_describe(v) for v in x][:4],
                "len": len(x)}
    return {"kind": type(x).__name__}


def _as(cls, case):
    """A part's inputs as its dataclass: ``Check.args`` carries them as plain data (a dict)."""
    return case if isinstance(case, cls) else cls(**case)


def _error(e: BaseException) -> str:
    if isinstance(e, NotImplementedError):
        raise e  # the stub: reported as "not implemented" by the runner
    return f"{type(e).__name__}: {e}"


def _tensor(d: dict, what: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The tensor a student returned (from :func:`_describe`), or a CheckFailed naming what it was."""
    expect(d.get("kind") == "tensor", f"{what}: expected a torch.Tensor of shape {shape}, found "
           f"{'a ' + d['kind'] if d.get('kind') else 'nothing'}. Hint: return the tensor itself, not a list or a number.")
    t = d["value"]
    expect(tuple(t.shape) == shape, f"{what}: expected shape {shape}, found {tuple(t.shape)}. "
           "Hint: check which dimension you reduce, index or transpose.")
    return t


def _rel_err(found: torch.Tensor, expected: torch.Tensor) -> float:
    """max |found - expected| / max(1, max |expected|) (inf when shapes differ or values are not finite)."""
    if found.shape != expected.shape:
        return math.inf
    d = (found.double() - expected.double()).abs().max().item() if found.numel() else 0.0
    scale = max(1.0, expected.double().abs().max().item() if expected.numel() else 0.0)
    return d / scale if math.isfinite(d) else math.inf


# =========================================================================== (a) projection head
@dataclass(frozen=True)
class HeadCase:
    """Inputs of the projection-head check (``in_dim != dim`` so that the two weights differ in shape)."""

    in_dim: int = 12
    dim: int = 6  # small: the key holds the head's output for each of the 2**dim dropout masks of a row
    dropout: float = 0.3
    batch: int = 6
    train_batch: int = 32
    seed: int = 2101


HEAD = HeadCase()
_ROLES = ("proj.weight", "proj.bias", "fc.weight", "fc.bias", "norm.weight", "norm.bias")
_ROLE_WORDS = {"proj.weight": "the first linear map's weight (proj)", "proj.bias": "the first linear map's bias (proj)",
               "fc.weight": "the second linear map's weight (fc)", "fc.bias": "the second linear map's bias (fc)",
               "norm.weight": "the LayerNorm's weight", "norm.bias": "the LayerNorm's bias"}
#: Rows of the training batch on which a misplaced dropout is looked for (its hint; the verdict takes every row).
MISPLACED_ROWS = 8


def _head_inputs(c: HeadCase):
    g = _gen(c.seed)
    x = torch.randn(c.batch, c.in_dim, generator=g) * 3.0
    weights = torch.randn(c.batch, c.dim, generator=g)  # the probe backpropagates sum(out * weights)
    x_train = torch.randn(c.train_batch, c.in_dim, generator=g) * 3.0
    return x, weights, x_train


def _role_shapes(c: HeadCase) -> dict[str, tuple[int, ...]]:
    return {"proj.weight": (c.dim, c.in_dim), "proj.bias": (c.dim,), "fc.weight": (c.dim, c.dim),
            "fc.bias": (c.dim,), "norm.weight": (c.dim,), "norm.bias": (c.dim,)}


def _values(shapes, seed: int) -> list[torch.Tensor]:
    """Non-trivial values for parameters of these shapes.

    Matrices get a scale that keeps the activations O(1); vectors are ``0.5 + 0.5 N(0, 1)``, so a
    LayerNorm weight is far from 1 and its bias far from 0 (ignoring them changes the output).
    """
    g = _gen(seed + 1)
    out = []
    for shape in shapes:
        if len(shape) == 2:
            out.append(torch.randn(shape, generator=g) * 1.5 / math.sqrt(shape[1]))
        elif len(shape) == 1:
            out.append(0.5 + 0.5 * torch.randn(shape, generator=g))
        else:
            out.append(torch.randn(shape, generator=g))
    return out


def head_values(c: HeadCase) -> dict[str, torch.Tensor]:
    """The value of each role of the spec's six parameters (the probe sets them; the key computes with them)."""
    shapes = _role_shapes(c)
    return dict(zip(_ROLES, _values([shapes[r] for r in _ROLES], c.seed)))


def mask_table(n: int) -> torch.Tensor:
    """Every 0/1 mask over ``n`` entries, ``(2**n, n)`` float64, in the order the keys' mask tables use."""
    return torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=torch.float64)


def _head_layers(head: nn.Module) -> list[dict]:
    """The head's layers recognised by type (subclasses included), with the names of their parameters."""
    params = {id(p): n for n, p in head.named_parameters()}
    layers = []
    for m in head.modules():
        w, b = getattr(m, "weight", None), getattr(m, "bias", None)
        names = {"weight": params.get(id(w)) if isinstance(w, torch.Tensor) else None,
                 "bias": params.get(id(b)) if isinstance(b, torch.Tensor) else None}
        if isinstance(m, nn.Linear):
            layers.append({"kind": "linear", "in": m.in_features, "out": m.out_features, **names})
        elif isinstance(m, nn.LayerNorm):
            layers.append({"kind": "layernorm", "shape": list(m.normalized_shape), "eps": float(m.eps), **names})
        elif isinstance(m, nn.modules.dropout._DropoutNd):
            layers.append({"kind": "dropout", "p": float(m.p)})
    return layers


def probe_head(sub: Submission, case: dict) -> dict:
    """The student's head with its parameters set to :func:`head_values` by role, once per way its parameters
    can hold the roles (:func:`_assignments`; one for a head of recognised layers): the eval-mode output, the
    gradients of ``sum(out * weights)``, and the output in training mode."""
    c = _as(HeadCase, case)
    model = sub.module("dlcourse.clip.model")
    torch.manual_seed(c.seed)
    head = model.ProjectionHead(c.in_dim, c.dim, dropout=c.dropout)
    named = dict(head.named_parameters())
    obs = {"params": [(n, list(p.shape)) for n, p in named.items()], "layers": _head_layers(head), "roles_error": None}
    try:
        assignments = _assignments(obs, c)
    except CheckFailed as e:  # judged after the output's shape and norms, as the first thing it says
        obs["roles_error"], assignments = str(e), [None]
    values = head_values(c)
    x, weights, x_train = _head_inputs(c)
    obs["runs"] = []
    for roles in assignments:
        with torch.no_grad():
            given = ({n: values[r] for r, n in roles.items()} if roles is not None else
                     dict(zip(named, _values([tuple(p.shape) for p in named.values()], c.seed))))
            for n, v in given.items():
                named[n].copy_(v)
            for p in named.values():
                p.grad = None
        run = {"roles": roles}
        head.eval()
        out = head(x)
        run["eval"] = _describe(out)
        if isinstance(out, torch.Tensor) and out.shape == weights.shape and out.requires_grad:
            (out * weights).sum().backward()
            run["grads"] = {n: None if p.grad is None else p.grad.clone() for n, p in named.items()}
        head.train()
        torch.manual_seed(c.seed + 2)
        try:
            with torch.no_grad():
                run["train"] = _describe(head(x_train))
        except Exception as e:  # noqa: BLE001 - judged as the dropout case
            run["train"] = {"kind": "error", "error": _error(e)}
        obs["runs"].append(run)
    return obs


def _assignments(obs: dict, c: HeadCase) -> list[dict[str, str]]:
    """Every way to give the head's parameters the six roles of the spec, consistent with its layers.

    Roles held by recognised layers (an ``nn.Linear`` in_dim -> dim or dim -> dim, an
    ``nn.LayerNorm(dim)``) are fixed; the remaining roles go to the remaining parameters of the right
    shape in every order (a head written with bare ``nn.Parameter`` s). Raises CheckFailed when the
    parameters cannot hold the roles.
    """
    shapes = {n: tuple(s) for n, s in obs["params"]}
    fixed: dict[str, str] = {}

    def take(prefix: str, layer: dict) -> None:
        for part in ("weight", "bias"):
            if layer.get(part) in shapes:
                fixed[f"{prefix}.{part}"] = layer[part]

    def only(kind: str, **want) -> dict | None:
        found = [la for la in obs["layers"] if la["kind"] == kind and all(la.get(k) == v for k, v in want.items())]
        return found[0] if len(found) == 1 else None

    for prefix, layer in (("proj", only("linear", **{"in": c.in_dim, "out": c.dim})),
                          ("fc", only("linear", **{"in": c.dim, "out": c.dim})),
                          ("norm", only("layernorm", shape=[c.dim]))):
        if layer is not None:
            take(prefix, layer)
    want = {"proj.weight": (c.dim, c.in_dim), "fc.weight": (c.dim, c.dim)}
    free_roles = [r for r in _ROLES if r not in fixed]
    free_params = [n for n in shapes if n not in fixed.values()]
    listing = ", ".join(f"{n} {tuple(s)}" for n, s in shapes.items()) or "none"
    expect(len(free_params) == len(free_roles) and all(
        sum(shapes[n] == want.get(r, (c.dim,)) for n in free_params) == sum(
            want.get(q, (c.dim,)) == want.get(r, (c.dim,)) for q in free_roles) for r in free_roles),
        f"ProjectionHead({c.in_dim}, {c.dim}) should hold two linear maps with biases ({c.in_dim} -> {c.dim} "
        f"and {c.dim} -> {c.dim}) and a LayerNorm({c.dim}) with its weight and bias: parameters of shapes "
        f"({c.dim}, {c.in_dim}), ({c.dim}, {c.dim}) and four ({c.dim},). Found the parameters: {listing}. "
        "Hint: keep nn.Linear(in_dim, dim), nn.Linear(dim, dim), nn.Dropout(dropout) and nn.LayerNorm(dim) "
        "(names and nn.Sequential are up to you).")
    out = []
    for perm in itertools.permutations(free_params):
        roles = dict(zip(free_roles, perm))
        if all(shapes[n] == want.get(r, (c.dim,)) for r, n in roles.items()):
            out.append({**fixed, **roles})
    return out


#: The mistakes of the head's key (``key["mistakes"]``, its eval-mode outputs), each with its hint.
_HEAD_MISTAKES = {
    "norm without weight and bias": "your head ignores the LayerNorm's own weight and bias (F.layer_norm without "
    "weight= and bias=, or a LayerNorm created inside forward): use the LayerNorm module of __init__.",
    "norm without weight": "your head ignores the LayerNorm's weight (its scale): use the LayerNorm module of __init__.",
    "norm without bias": "your head ignores the LayerNorm's bias: use the LayerNorm module of __init__.",
    "no residual": "the residual connection is missing: y = norm(h + dropout(fc(gelu(h)))) adds h = proj(x) back.",
    "gelu on the residual path": "GELU is applied to h itself, so the residual adds gelu(h): the skip connection "
    "adds h = proj(x) unchanged and only the branch fc(gelu(h)) goes through the activation.",
    "gelu before proj": "GELU is applied to the input before proj: h = proj(x) comes first, then fc(gelu(h)).",
    "gelu after fc": "GELU comes after fc: the branch is fc(gelu(h)), activation first.",
    "norm on the branch": "your LayerNorm normalises the branch only; it should normalise the sum, norm(h + branch).",
    "no norm": "the LayerNorm is missing: y = norm(h + dropout(fc(gelu(h)))) before the final normalisation.",
    "QuickGELU": "your activation is x*sigmoid(1.702x) (QuickGELU); the head uses GELU: F.gelu or nn.GELU (exact, or "
    "approximate='tanh').",
    "ReLU": "your activation is ReLU; the head uses GELU (F.gelu or nn.GELU).",
    "SiLU": "your activation is SiLU; the head uses GELU (F.gelu or nn.GELU).",
    "no activation": "the activation is missing: the branch is fc(gelu(h)).",
}
#: Misplaced dropouts of the head's key (``key["misplaced"]``, mask tables on the training batch), each with its hint.
_DROPOUT_PLACES = {
    "not rescaled": "without the 1/(1-p) rescaling (dropout keeps the expected value by scaling the kept entries)",
    "residual sum": "on the residual sum h + fc(gelu(h)); it belongs on the branch only, before the addition",
    "before fc": "on gelu(h), before fc; it belongs after fc: dropout(fc(gelu(h)))",
    "on h": "on h = proj(x) (both paths); it belongs on the branch after fc",
    "after norm": "after the LayerNorm; it belongs on the branch before the addition",
    "after normalize": "after the final normalisation (rows are no longer unit vectors); it belongs on the branch",
}


def _mask_fit(found: torch.Tensor, table: torch.Tensor) -> torch.Tensor | None:
    """The 0/1 mask per row for which the key's ``table`` (``(rows, 2**n, dim)``: the output of every mask)
    reproduces ``found`` ``(rows, dim)``, or None when some row matches no mask."""
    err = (table.double() - found.double()[:, None, :]).abs().amax(-1).nan_to_num(math.inf)  # (rows, M)
    best, at = err.min(-1)
    if not bool((best <= TOL_HEAD).all()):
        return None
    return mask_table(found.shape[-1])[at]


def judge_head(obs: dict, case: dict, key: dict) -> Verdict:
    c = _as(HeadCase, case)
    runs = obs["runs"]
    out = _tensor(runs[0]["eval"], f"ProjectionHead({c.in_dim}, {c.dim})(x) for x of shape {(c.batch, c.in_dim)}",
                  (c.batch, c.dim)).double()
    expect(bool(torch.isfinite(out).all()), f"the head's output contains nan/inf: {_fmt(out[0])}.")
    norms = out.norm(dim=-1)
    expect(bool(((norms - 1).abs() <= 1e-4).all()),
           f"every output row must have L2 norm 1 (so that dot products are cosine similarities); found row norms "
           f"{_fmt(norms, 6)}. Hint: finish with F.normalize(y, dim=-1).")
    if obs["roles_error"]:
        raise CheckFailed(obs["roles_error"])
    expected = key["eval"]["exact"].double()

    def error(run) -> float:
        d = run["eval"]
        if d.get("kind") != "tensor" or tuple(d["value"].shape) != (c.batch, c.dim):
            return math.inf
        return (expected - d["value"].double()).abs().max().nan_to_num(math.inf).item()

    err, run = min(((error(r), r) for r in runs), key=lambda t: t[0])
    if err > TOL_HEAD:
        outs = [r["eval"]["value"].double() for r in runs if error(r) < math.inf]  # error() checked their shapes
        raise CheckFailed(_head_mismatch(outs or [out], key, c))
    out = run["eval"]["value"].double()
    # the rest is judged with the GELU form (exact or tanh) that the student's output follows
    act = min(("exact", "tanh"), key=lambda a: (key["eval"][a].double() - out).abs().max().item())
    cases = Cases()
    cases.record("output in eval mode", True, weight=2)
    with cases("gradients of every parameter"):
        _judge_head_grads(run, key["grads"][act])
    with cases(f"dropout (p={c.dropout}) in training mode"):
        _judge_head_dropout(obs, run, key, c, act)
    return cases.verdict("the residual projection head of the spec (unit rows), gradients reach every parameter, "
                         "dropout acts on the branch in training mode only")


def _head_mismatch(outs: list[torch.Tensor], key: dict, c: HeadCase) -> str:
    """What differs in the eval-mode output, and the mistake that one of ``outs`` (the output for each way the
    parameters could hold the roles; the first: the recognised layers, or the parameters in their own
    order) equals, if any."""
    expected = key["eval"]["exact"].double()

    def message(out: torch.Tensor, hint: str) -> str:
        row = int((expected - out).abs().amax(-1).argmax())
        d = _digits((expected[row] - out[row]).abs().max().item())
        return (f"with dropout={c.dropout} in eval mode, expected row {row} {_fmt(expected[row], c.dim, d)}, found "
                f"{_fmt(out[row], c.dim, d)} (largest difference {(expected - out).abs().max().item():.2g}). "
                f"Hint: {hint}")

    for mistake, hint in _HEAD_MISTAKES.items():
        for out in outs:
            if (key["mistakes"][mistake].double() - out).abs().max().item() <= TOL_HEAD:
                return message(out, hint)
    for out in outs:
        mask = _mask_fit(out, key["eval_dropout"])
        if mask is not None and not bool(mask.all()):
            return message(out, "dropout is active in eval mode: use the nn.Dropout module (it follows "
                                "train()/eval()), or F.dropout(..., training=self.training).")
    return message(outs[0], "h = proj(x); y = norm(h + dropout(fc(gelu(h)))); output y / ||y||.")


def _judge_head_grads(run: dict, expected: dict[str, torch.Tensor]) -> None:
    grads = run.get("grads")
    expect(grads is not None, "the output does not require grad: it must stay connected to the head's parameters. "
           "Hint: avoid .detach(), .item(), .data or torch.no_grad() inside forward.")
    for role in _ROLES:
        name = run["roles"][role]
        found = grads.get(name)
        if found is None or not bool(found.abs().sum() > 0):
            raise CheckFailed(f"no gradient reaches {_ROLE_WORDS[role]} (your parameter {name}): the output must "
                              "stay connected to it. Hint: avoid .detach(), .data, .item() or torch.no_grad() "
                              "inside forward, and use the parameter itself, not a copy.")
        err = _rel_err(found, expected[role])
        if err > TOL_HEAD_GRAD:
            d = _digits(err)
            raise CheckFailed(f"the gradient of {_ROLE_WORDS[role]} (your {name}) differs: expected "
                              f"{_fmt(expected[role], 4, d)}, found {_fmt(found, 4, d)}. Hint: the output is right, "
                              "so some path is cut from autograd (.detach() or .data on part of the computation).")


def _judge_head_dropout(obs: dict, run: dict, key: dict, c: HeadCase, act: str) -> None:
    expect(run["train"]["kind"] != "error", f"in training mode your head raised {run['train'].get('error')}.")
    found = _tensor(run["train"], "the head's output in training mode", (c.train_batch, c.dim)).double()
    p = c.dropout
    plain = key["train"][act]["plain"].double()
    ps = sorted({round(la["p"], 6) for la in obs["layers"] if la["kind"] == "dropout"})
    intro = f"ProjectionHead(..., dropout={p}) in training mode: "

    if (found - plain).abs().max().item() <= TOL_HEAD:
        raise CheckFailed(intro + "the output equals the eval-mode output: dropout has no effect. Hint: "
                          "y = norm(h + dropout(fc(gelu(h)))) with the head's nn.Dropout(dropout).")
    mask = _mask_fit(found, key["train"][act]["dropout"])
    if mask is not None:
        dropped = 1 - mask.mean().item()
        expect(abs(dropped - p) <= 0.15,
               intro + f"{dropped:.0%} of the branch's entries were dropped, expected about {p:.0%}. Hint: "
               "nn.Dropout(p) drops with probability p (not 1 - p).")
        return
    for place, where in _DROPOUT_PLACES.items():
        table = key["misplaced"][place]
        if _mask_fit(found[:len(table)], table) is not None:
            raise CheckFailed(intro + f"your dropout acts {where}. Hint: y = norm(h + dropout(fc(gelu(h)))).")
    note = ""
    if ps and round(p, 6) not in ps:
        note = f" Your head's nn.Dropout has p={', '.join(map(str, ps))}: use the `dropout` argument."
    row = 0
    raise CheckFailed(intro + f"the output does not match dropout applied to the branch fc(gelu(h)) for any "
                      f"mask (row {row}: without dropout it would be {_fmt(plain[row], 5)}, found "
                      f"{_fmt(found[row], 5)}).{note} Hint: y = norm(h + dropout(fc(gelu(h)))) with the head's "
                      "nn.Dropout(dropout).")


# =========================================================================== (b) contrastive loss
@dataclass(frozen=True)
class LossCase:
    """One batch for the loss: ``batch`` noisy pairs (one poor pair, so the two directions differ), a scale."""

    batch: int
    dim: int
    scale: float
    seed: int
    noise: float = 0.8


LOSS_CASES = (LossCase(6, 8, 7.0, 2201), LossCase(5, 4, 1.0, 2202), LossCase(8, 6, 100.0, 2203, noise=0.3))


def _loss_inputs(c: LossCase):
    g = _gen(c.seed)
    img = F.normalize(torch.randn(c.batch, c.dim, generator=g), dim=-1)
    txt = F.normalize(img + c.noise * torch.randn(c.batch, c.dim, generator=g), dim=-1)
    txt[c.batch // 2] = F.normalize(torch.randn(c.dim, generator=g), dim=0)  # one poor pair
    return img, txt, torch.tensor(c.scale)


def probe_loss(sub: Submission, case: list[dict]) -> dict:
    cases = [_as(LossCase, c) for c in case]
    loss_mod = sub.module("dlcourse.clip.loss")
    out = []
    for c in cases:
        img, txt, scale = (t.clone().requires_grad_(True) for t in _loss_inputs(c))
        try:
            value = loss_mod.ClipLoss()(img, txt, scale)
        except Exception as e:  # noqa: BLE001 - reported to the judge (the first case re-raises below)
            if not out:
                raise
            out.append({"error": _error(e)})
            continue
        rec = {"value": _describe(value)}
        if isinstance(value, torch.Tensor) and value.numel() == 1 and value.requires_grad:
            value.sum().backward()
            rec["grads"] = [None if t.grad is None else t.grad.clone() for t in (img, txt, scale)]
        out.append(rec)
    return {"cases": out}


def _loss_diagnosis(value: float, mistakes: dict, s: float, finite_cases_right: bool) -> str:
    """The mistake whose loss (``mistakes``, from the key) equals ``value`` on this batch, or a generic hint."""
    def close(name: str) -> bool:
        return math.isclose(value, float(mistakes[name]), rel_tol=TOL_LOSS, abs_tol=1e-7)

    if close("image->text only") or close("text->image only"):
        return ("your value equals ONE direction only: CLIP's loss is symmetric, average the cross-entropy over rows "
                "(image->text) and over columns (text->image).")
    if close("sum of the directions"):
        return "your value is the SUM of the two directions: take their mean."
    if close("summed over the batch") or close("sum of the directions, summed over the batch"):
        return "your value is summed over the batch: average over the pairs (cross_entropy's default reduction='mean')."
    if close("scale exponentiated"):
        return ("you exponentiate the scale: `scale` is already exp(logit_scale) (the inverse temperature); "
                "multiply the cosine similarities by it as given.")
    if close("log of the scale"):
        return "you use log(scale): `scale` is already exp(logit_scale); multiply the cosine similarities by it."
    if s != 1 and close("scale ignored"):
        return "your loss ignores `scale`: the logits are scale * image_emb @ text_emb.T."
    if s != 1 and close("divided by the scale"):
        return "you divide by `scale`: it is the INVERSE temperature, multiply the cosine similarities by it."
    if not math.isfinite(value):
        if finite_cases_right:
            return ("your loss is right at small scales but not finite here: exp of logits near the scale overflows "
                    "float32; use F.cross_entropy or log_softmax (they subtract the maximum), not log(exp(...).sum()).")
        return "your loss is not finite here; see the other cases."
    return "logits = scale * image_emb @ text_emb.T, labels 0..B-1, and the mean of the two directions' cross-entropies."


def _tangential(grad: torch.Tensor, unit: torch.Tensor) -> torch.Tensor:
    """``grad`` without its component along each row of ``unit``.

    The embeddings the loss receives are unit vectors, and a gradient along them is removed by the
    projection head's final normalisation anyway: a loss that normalises its inputs once more
    (legitimate) changes only that component.
    """
    return grad - (grad * unit).sum(-1, keepdim=True) * unit


def _loss_value_right(rec: dict, want: dict) -> bool:
    d = rec.get("value", {})
    if d.get("kind") != "tensor" or d["value"].numel() != 1:
        return False
    return math.isclose(d["value"].double().item(), want["value"], rel_tol=TOL_LOSS, abs_tol=1e-7)


def judge_loss(obs: dict, case: list[dict], key: list[dict]) -> Verdict:
    cases = [_as(LossCase, c) for c in case]
    verdict = Cases()
    right = [_loss_value_right(rec, want) for rec, want in zip(obs["cases"], key)]
    finite_right = all(r for r, c in zip(right, cases) if c.scale < 50) and any(c.scale < 50 for c in cases)
    for c, rec, want in zip(cases, obs["cases"], key):
        name = f"batch of {c.batch} pairs, scale {c.scale:g}"
        with verdict(name):
            expect("error" not in rec, f"your loss raised {rec.get('error')}.")
            d = rec["value"]
            expect(d["kind"] == "tensor" and d["value"].numel() == 1 and d["value"].dim() == 0,
                   f"expected a 0-d tensor (the mean loss), found "
                   f"{'a tensor of shape ' + str(tuple(d['value'].shape)) if d['kind'] == 'tensor' else 'a ' + d['kind']}. "
                   "Hint: return the loss tensor itself; cross_entropy averages over the batch.")
            img, txt, _ = (t.double() for t in _loss_inputs(c))
            value = d["value"].double().item()
            expected = want["value"]
            if not math.isclose(value, expected, rel_tol=TOL_LOSS, abs_tol=1e-7):
                i2t, t2i = want["mistakes"]["image->text only"], want["mistakes"]["text->image only"]
                raise CheckFailed(f"expected loss {expected:.6f} (image->text {i2t:.6f}, text->image {t2i:.6f}), "
                                  f"found {value:.6f}. Hint: {_loss_diagnosis(value, want['mistakes'], c.scale, finite_right)}")
            expect(d["requires_grad"] and rec.get("grads") is not None,
                   "the loss does not require grad: it must stay connected to the embeddings and the scale. "
                   "Hint: no .item(), .detach() or torch.no_grad() inside.")
            for what, found, expected_grad, half_grad in zip(("image_emb", "text_emb", "scale"), rec["grads"],
                                                             want["grads"], want["image->text half grads"]):
                if found is None or (what != "scale" and not bool(found.abs().sum() > 0)):
                    hint = ("the loss must use the `scale` tensor itself (not a Python number from scale.item() or "
                            "float(scale)), or the temperature cannot learn." if what == "scale"
                            else "avoid .detach() / .data on the similarities.")
                    raise CheckFailed(f"no gradient reaches {what}. Hint: {hint}")
                if what != "scale":  # the embeddings are unit vectors: only the tangential part matters (the key's is)
                    found = _tangential(found.double(), (img, txt)[what == "text_emb"])
                err = _rel_err(found, expected_grad)
                if err > TOL_LOSS_GRAD:
                    if _rel_err(found, half_grad) <= TOL_LOSS_GRAD:
                        hint = ("the value is right but only the image->text half sends gradients: the text->image "
                                "direction is detached.")
                    elif what == "scale" and _rel_err(found, -expected_grad) <= TOL_LOSS_GRAD:
                        hint = ("the value is right at scale 1 but the loss moves the wrong way with the scale: you "
                                "divide by `scale`; it is the inverse temperature, multiply by it.")
                    elif what == "scale":
                        hint = "the logits are scale * image_emb @ text_emb.T, proportional to the scale."
                    else:
                        hint = "the value is right, so part of the computation is cut from autograd (.detach()?)."
                    dd = _digits(err)
                    raise CheckFailed(f"the gradient with respect to {what} differs: expected "
                                      f"{_fmt(expected_grad, 4, dd)}, found {_fmt(found, 4, dd)}. Hint: {hint}")
    return verdict.verdict("symmetric InfoNCE with the given scale, differentiable in the embeddings and the scale")


# =========================================================================== (c) retrieval
@dataclass(frozen=True)
class RetrievalCase:
    """Queries and a gallery of very different norms; top-k at several k (one larger than the gallery)."""

    queries: int = 4
    gallery: int = 10
    dim: int = 6
    ks: tuple[int, ...] = (3, 10)
    big_gallery: int = 100
    big_k: int = 20
    seed: int = 2301


RETRIEVAL = RetrievalCase()


def _retrieval_inputs(c: RetrievalCase):
    g = _gen(c.seed)
    q = torch.randn(c.queries, c.dim, generator=g) * torch.logspace(-0.5, 1, c.queries)[:, None]
    gal = torch.randn(c.gallery, c.dim, generator=g) * torch.logspace(-1, 1, c.gallery)[torch.randperm(c.gallery,
                                                                                                     generator=g), None]
    big = torch.randn(c.big_gallery, c.dim, generator=g) * torch.logspace(-1, 1, c.big_gallery)[:, None]
    return q, gal, big


def probe_retrieval(sub: Submission, case: dict) -> dict:
    c = _as(RetrievalCase, case)
    ret = sub.module("dlcourse.clip.retrieval")
    q, gal, big = _retrieval_inputs(c)
    obs = {"similarity": _describe(ret.similarity(q, gal)), "top_k": []}
    try:
        obs["similarity_big"] = _describe(ret.similarity(q, big))
    except Exception as e:  # noqa: BLE001 - reported to the judge
        obs["similarity_big"] = {"kind": "error", "error": _error(e)}
    for gallery, k in _top_k_runs(c, gal, big):
        try:
            obs["top_k"].append(_describe(ret.top_k(q, gallery, k)))
        except Exception as e:  # noqa: BLE001 - reported to the judge
            obs["top_k"].append({"kind": "error", "error": _error(e)})
    return obs


def _top_k_runs(c: RetrievalCase, gal, big) -> list[tuple]:
    """``(gallery, k)`` of each top-k case: the small gallery at each k, the big one, and k > G."""
    return [(gal, k) for k in c.ks] + [(big, c.big_k), (gal, c.gallery + 40)]


def _judge_top_k(d: dict, sim: torch.Tensor, k: int, dot: torch.Tensor | None) -> None:
    """One top-k result against the similarities ``sim`` (Q, G) it must rank by.

    ``dot`` (the raw dot products) is given when ``sim`` is the cosine similarity, to recognise a
    ranking by dot products; it is None when ``sim`` is the student's own (wrong, and charged
    once in the similarity case) similarity, which top_k is then judged consistent with.
    """
    n_q, n_g = sim.shape
    kk = min(k, n_g)
    what = f"top_k with k={k} on a gallery of {n_g} items"
    by = "cosine similarity" if dot is not None else "your similarity()"
    if d["kind"] == "error":
        if k > n_g:
            raise CheckFailed(f"{what}: your code raised {d['error']}. Hint: cap k at the gallery size, "
                              "min(k, len(gallery)), as the docstring says.")
        raise CheckFailed(f"{what}: your code raised {d['error']}.")
    expect(d["kind"] in ("tuple", "list") and d.get("len") == 2,
           f"{what}: expected a pair (scores, indices), found {'a ' + d['kind']}.")
    sd, idd = d["items"]
    if sd.get("kind") == "tensor" and idd.get("kind") == "tensor" and not sd["value"].is_floating_point() \
            and idd["value"].is_floating_point():
        raise CheckFailed(f"{what}: you return (indices, scores); the docstring's order is (scores, indices).")
    idx = _tensor(idd, f"{what}: indices", (n_q, kk))
    scores = _tensor(sd, f"{what}: scores", (n_q, kk)).double()
    expect(not idx.is_floating_point(), f"{what}: the indices must be integers, found dtype {idx.dtype}.")
    idx = idx.long()
    expect(bool(((idx >= 0) & (idx < n_g)).all()), f"{what}: indices out of range 0..{n_g - 1}: {idx[0].tolist()}.")
    at = sim.gather(1, idx)
    best = sim.sort(dim=-1, descending=True)
    kth = best.values[:, kk - 1:kk]
    by_dot = dot is not None and bool((dot.gather(1, idx)[:, 1:] <= dot.gather(1, idx)[:, :-1] + 1e-9).all()) and \
        bool((dot.gather(1, idx) >= dot.sort(dim=-1, descending=True).values[:, kk - 1:kk] - 1e-9).all())
    right_set = bool((at >= kth - 1e-9).all()) and all(len(set(r)) == kk for r in idx.tolist())
    if not right_set:
        row = int((at < kth - 1e-9).any(-1).float().argmax())
        if by_dot:
            hint = "you rank by raw dot products: rank by cosine similarity (normalise both sides)."
        elif bool((at <= sim.sort(dim=-1).values[:, kk - 1:kk] + 1e-9).all()):
            hint = "your order is worst-first: the best match (largest similarity) comes first (largest=True)."
        else:
            hint = f"rank by {by}, best first; torch.topk does it."
        raise CheckFailed(f"{what}: for query {row} expected gallery items {_ints(best.indices[row, :kk])} "
                          f"(best first by {by}), found {_ints(idx[row])}. Hint: {hint}")
    if not bool((at[:, 1:] <= at[:, :-1] + 1e-9).all()):
        row = int((at[:, 1:] > at[:, :-1] + 1e-9).any(-1).float().argmax())
        if by_dot:
            hint = "you rank by raw dot products: rank by cosine similarity (normalise both sides)."
        elif kk > 1 and bool((at[:, 1:] >= at[:, :-1] - 1e-9).all()):
            hint = "your order is ascending: the best match (largest similarity) comes first (descending order)."
        else:
            hint = ("sort them (topk(..., sorted=True), the default; sorted=False returns the k best in no "
                    "particular order).")
        raise CheckFailed(f"{what}: the right items, but not best first: query {row}'s items have similarities "
                          f"{_fmt(at[row], 10)}. Hint: {hint}")
    err = (scores - at).abs().max().item()
    if err > TOL_COS:
        d_ = _digits(err)
        hint = ("these are raw dot products: the scores are the cosine similarities."
                if dot is not None and (scores - dot.gather(1, idx)).abs().max().item()
                <= TOL_COS * max(1, dot.abs().max().item())
                else f"return the {by} of the returned items.")
        raise CheckFailed(f"{what}: for query 0 expected the scores {_fmt(at[0], kk, d_)}, found "
                          f"{_fmt(scores[0], kk, d_)}. Hint: {hint}")


def _similarity_hint(found: torch.Tensor, mistakes: dict[str, torch.Tensor]) -> str:
    """The mistake (from the key: its similarities on the small gallery) that ``found`` equals, as a hint."""
    scale = max(1, mistakes["raw dot products"].abs().max().item())
    if (found - mistakes["raw dot products"]).abs().max().item() <= TOL_COS * scale:
        return "you return raw dot products: normalise both sides (cosine similarity)."
    if (found - mistakes["queries only normalised"]).abs().max().item() <= TOL_COS * scale:
        return "only the queries are normalised: normalise the gallery too."
    if (found - mistakes["gallery only normalised"]).abs().max().item() <= TOL_COS * scale:
        return "only the gallery is normalised: normalise the queries too."
    if (found - mistakes["normalised along dim 0"]).abs().max().item() <= TOL_COS:
        return "you normalise along the wrong dimension: each ROW is a vector (dim=-1)."
    return "cosine similarity = normalised queries @ normalised gallery.T."


def judge_retrieval(obs: dict, case: dict, key: dict) -> Verdict:
    c = _as(RetrievalCase, case)
    q, gal, big = _retrieval_inputs(c)
    cases = Cases()
    refs = {}  # what top_k is judged against, per gallery: the cosine, or the student's own similarity
    for name, gallery in (("similarity", gal), ("similarity_big", big)):
        cos = key[name]["cosine"].double()
        refs[name] = (cos, key[name]["raw dot products"].double())
        d = obs[name]
        shape = (c.queries, len(gallery))
        if d.get("kind") != "tensor" or tuple(d["value"].shape) != shape or not bool(torch.isfinite(d["value"]).all()):
            found = None
        else:
            found = d["value"].double()
            if (found - cos).abs().max().item() > TOL_COS:
                refs[name] = (found, None)
        if name == "similarity":
            with cases("similarity", weight=2):
                expect(d.get("kind") != "error", f"similarity raised {d.get('error')}.")
                found = _tensor(d, f"similarity(queries {(c.queries, c.dim)}, gallery {(c.gallery, c.dim)})", shape)
                found = found.double()
                err = (found - cos).abs().max().item()
                if not err <= TOL_COS:
                    dd = _digits(err)
                    raise CheckFailed(f"similarity: expected row 0 {_fmt(cos[0], 5, dd)}, found "
                                      f"{_fmt(found[0], 5, dd)}. Hint: {_similarity_hint(found, key['mistakes'])}")
    small, large = refs["similarity"], refs["similarity_big"]
    for (gallery, k), d in zip(_top_k_runs(c, gal, big), obs["top_k"]):
        ref, dot = large if gallery is big else small
        label = f"top-{k} of {len(gallery)}" + (" (k larger than the gallery)" if k > len(gallery) else "")
        with cases(label):
            _judge_top_k(d, ref, k, dot)
    return cases.verdict("cosine similarities and best-first top-k (k capped at the gallery size)")


# =========================================================================== (d) zero-shot
@dataclass(frozen=True)
class ZeroShotCase:
    names: tuple[str, ...] = ("dog", "ankle boot", "bicycle")
    templates: tuple[str, ...] = ("a photo of a {}.", "{}", "there is a {} in the picture.")
    dim: int = 6
    images: int = 12
    classes: int = 4
    seed: int = 2401


ZERO_SHOT = ZeroShotCase()


def _encode_one(text: str, dim: int, seed: int) -> torch.Tensor:
    """A deterministic string -> vector map whose norms vary strongly with the string."""
    g = _gen((seed * 1_000_003 + sum((i + 1) * ord(ch) for i, ch in enumerate(text))) % (2**31))
    return torch.randn(dim, generator=g) * (1 + len(text) % 7) ** 2


class FakeTextEncoder:
    """``encode_text`` for the zero-shot check: any sequence of strings -> ``(T, dim)``; records its calls."""

    def __init__(self, dim: int, seed: int):
        self.dim, self.seed = dim, seed
        self.seen: list[str] = []

    def __call__(self, texts) -> torch.Tensor:
        texts = list(texts)
        self.seen.extend(str(t) for t in texts)
        if not texts:
            return torch.zeros(0, self.dim)
        return torch.stack([_encode_one(str(t), self.dim, self.seed) for t in texts])


def _classify_inputs(c: ZeroShotCase):
    g = _gen(c.seed)
    class_emb = torch.randn(c.classes, c.dim, generator=g) * torch.logspace(-1, 1, c.classes)[:, None]
    image_emb = torch.randn(c.images, c.dim, generator=g) * 3
    return image_emb, class_emb


def probe_zero_shot(sub: Submission, case: dict) -> dict:
    c = _as(ZeroShotCase, case)
    zs = sub.module("dlcourse.clip.zeroshot")
    enc = FakeTextEncoder(c.dim, c.seed)
    obs = {"class_embeddings": _describe(zs.class_embeddings(enc, list(c.names), list(c.templates)))}
    obs["prompts"] = enc.seen
    image_emb, class_emb = _classify_inputs(c)
    try:
        obs["classify"] = _describe(zs.classify(image_emb, class_emb))
    except Exception as e:  # noqa: BLE001 - reported to the judge
        obs["classify"] = {"kind": "error", "error": _error(e)}
    return obs


def judge_zero_shot(obs: dict, case: dict, key: dict) -> Verdict:
    c = _as(ZeroShotCase, case)
    cases = Cases()
    with cases("class embeddings"):
        emb = _tensor(obs["class_embeddings"], f"class_embeddings ({len(c.names)} classes, {len(c.templates)} "
                      f"templates, a {c.dim}-dim encoder)", (len(c.names), c.dim)).double()
        want = sorted(t.format(n) for n in c.names for t in c.templates)
        seen = sorted(set(obs["prompts"]))
        if seen != sorted(set(want)):
            odd = [s for s in seen if s not in want][:2]
            raise CheckFailed(f"the prompts your code encoded are not template.format(name) for every class and "
                              f"template: expected e.g. {want[:2]}, found {odd or seen[:2]} "
                              f"({len(seen)} distinct prompts, expected {len(want)}).")
        expected, mistakes = key["class_embeddings"].double(), key["class_embedding_mistakes"]
        err = (emb - expected).abs().max().item()
        if err > TOL_COS:
            d = _digits(err)
            msg = f"class 0 ({c.names[0]!r}): expected {_fmt(expected[0], c.dim, d)}, found {_fmt(emb[0], c.dim, d)}. Hint: "
            if (emb - mistakes["mean not renormalised"]).abs().max().item() <= TOL_COS:
                msg += ("normalise again after averaging the templates: the mean of unit vectors is shorter than 1 "
                        f"(your norms {_fmt(emb.norm(dim=-1), 3)}).")
            elif (emb - mistakes["templates not normalised"]).abs().max().item() <= TOL_COS:
                msg += ("normalise EACH template's embedding before averaging (otherwise the prompts with long "
                        "embeddings dominate), then normalise the mean.")
            elif (emb - mistakes["nothing normalised"]).abs().max().item() <= TOL_COS * max(
                    1, expected.abs().max().item()):
                msg += "normalise each template's embedding, average them, and normalise the average."
            elif bool(((emb.norm(dim=-1) - 1).abs() > 1e-3).any()):
                msg += f"each class embedding is a unit vector; your norms are {_fmt(emb.norm(dim=-1), 3)}."
            else:
                msg += "for each class: encode its prompts, normalise each row, average over templates, normalise."
            raise CheckFailed(msg)
    with cases("classify"):
        d = obs["classify"]
        expect(d["kind"] != "error", f"classify raised {d.get('error')}.")
        pred = _tensor(d, f"classify(images {(c.images, c.dim)}, classes {(c.classes, c.dim)})", (c.images,))
        expect(not pred.is_floating_point(), f"classify must return class indices (int64), found dtype {pred.dtype}.")
        expected, mistakes = key["classes"], key["class_mistakes"]
        if not torch.equal(pred.long(), expected):
            if torch.equal(pred.long(), mistakes["raw dot products"]):
                hint = "you compare raw dot products, so long class vectors win: use cosine similarity."
            elif torch.equal(pred.long(), mistakes["least similar"]):
                hint = "you pick the LEAST similar class: argmax, not argmin."
            else:
                hint = "the class with the HIGHEST cosine similarity, per image (dim=-1)."
            raise CheckFailed(f"classify: expected classes {expected.tolist()}, found {pred.tolist()}. Hint: {hint}")
    return cases.verdict("template-ensembled unit class embeddings, nearest class by cosine")


# =========================================================================== (e) training step
class TinyCLIP(nn.Module):
    """A grader-side CLIP-like model: linear encoder and heads, a learnable ``logit_scale``.

    ``forward(images, text) -> (image_emb (B, E), text_emb (B, E), exp(logit_scale))`` like the
    homework's CLIP, with ``text = {"features": (B, width)}``. ``visual`` plays a pretrained encoder
    that the harness keeps in eval mode (frozen BatchNorm statistics; the step must not change
    modes). The text head starts
    close to the image head, so that matching pairs are already aligned and the loss pushes
    ``logit_scale`` up, into the clamp.
    """

    def __init__(self, image_dim: int, width: int, embed_dim: int, seed: int, logit_scale: float):
        super().__init__()
        self.visual = nn.Sequential(nn.Flatten(), nn.Linear(image_dim, width))
        self.image_head = nn.Linear(width, embed_dim)
        self.text_head = nn.Linear(width, embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale)))
        g = _gen(seed)
        with torch.no_grad():
            for p in self.parameters():
                if p.dim():
                    p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            self.text_head.weight.copy_(self.image_head.weight + 0.2 * torch.randn(embed_dim, width, generator=g)
                                        / math.sqrt(width))
            self.text_head.bias.copy_(self.image_head.bias)

    def forward(self, images, text):
        img = F.normalize(self.image_head(self.visual(images)), dim=-1)
        txt = F.normalize(self.text_head(text["features"]), dim=-1)
        return img, txt, self.logit_scale.exp()


class StandInLoss(nn.Module):
    """The loss the step check hands to ``train_step``: deliberately not the homework's (2(e) grades the step,
    2(b) the loss), a scalar differentiable in both embeddings and the scale.

    ``log(scale) * (mean similarity of non-matching pairs - mean similarity of matching pairs)``: it pulls
    matching pairs together, pushes the others apart, and raises ``logit_scale = log(scale)`` by about its
    learning rate per step, so that the temperature reaches the clamp within the check's few steps.
    Records ``(scale, loss)`` of each call.
    """

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []  # (scale, loss) per call, detached

    def forward(self, image_emb, text_emb, scale):
        sim = image_emb @ text_emb.T
        n = len(sim)
        matching = sim.diagonal().mean()
        others = (sim.sum() - sim.diagonal().sum()) / max(n * n - n, 1)
        loss = torch.log(torch.as_tensor(scale)) * (others - matching)
        # no .item() here: the probe counts those
        self.calls.append((torch.as_tensor(scale).detach().clone(), loss.detach().clone()))
        return loss


@dataclass(frozen=True)
class StepCase:
    """A tiny batch and an SGD trajectory whose temperature hits the upper clamp (never the lower one)."""

    batch: int = 8
    image_shape: tuple[int, ...] = (3, 4, 4)
    text_dim: int = 10
    embed_dim: int = 8
    steps: int = 3
    lr: float = 0.05
    scale_lr: float = 8.0
    noise: float = 0.3
    momentum: float = 0.0
    weight_decay: float = 0.0
    logit_scale: float = 2.0
    seed: int = 2501
    check_lower_bound: bool = True


STEP = StepCase()


def _step_model(c: StepCase, logit_scale: float | None = None) -> TinyCLIP:
    return TinyCLIP(math.prod(c.image_shape), c.text_dim, c.embed_dim, c.seed + 1,
                    c.logit_scale if logit_scale is None else logit_scale)


def _step_batch(c: StepCase):
    """Images and text features that match them: the frozen encoder's features of the images, plus noise."""
    g = _gen(c.seed)
    images = torch.randn(c.batch, *c.image_shape, generator=g)
    with torch.no_grad():
        feats = _step_model(c).visual(images) + c.noise * torch.randn(c.batch, c.text_dim, generator=g)
    return images, {"features": feats}


def _leftover_grads(model: nn.Module, seed: int) -> None:
    """Gradients left over from a previous batch (a step must not add to them)."""
    g = _gen(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g)


def _param_groups(model: nn.Module, c: StepCase, lr: float | None = None) -> list[dict]:
    """Two groups, as CLIP trainings use: the networks, and the temperature with its own learning rate."""
    others = [p for n, p in model.named_parameters() if n != "logit_scale"]
    return [{"params": others, "lr": c.lr if lr is None else lr},
            {"params": [model.logit_scale], "lr": c.scale_lr if lr is None else lr}]


def _optimizer(model: nn.Module, c: StepCase, lr: float | None = None):
    return torch.optim.SGD(_param_groups(model, c, lr), momentum=c.momentum, weight_decay=c.weight_decay)


class _ItemCounter:
    """Counts host reads of tensor values (``.item()``, ``float()``, ``int()``, ``bool()`` as in ``if loss > x``,
    ``.tolist()``, ``.numpy()``) while active (outside the optimizer)."""

    def __init__(self):
        self.count, self.active = 0, False
        self._saved = {}

    def __enter__(self):
        for name in ("item", "__float__", "__int__", "__bool__", "tolist", "numpy"):
            orig = getattr(torch.Tensor, name)
            self._saved[name] = orig

            def wrapper(t, *a, _orig=orig, **k):
                if self.active:
                    self.count += 1
                return _orig(t, *a, **k)
            setattr(torch.Tensor, name, wrapper)
        self.active = True
        return self

    def __exit__(self, *exc):
        self.active = False
        for name, orig in self._saved.items():
            setattr(torch.Tensor, name, orig)


def _modes(model: nn.Module) -> list[tuple[str, bool]]:
    return [("model" + ("." + n if n else ""), m.training) for n, m in model.named_modules()]


def probe_step(sub: Submission, case: dict) -> dict:
    c = _as(StepCase, case)
    step = sub.module("dlcourse.clip.step")
    images, text = _step_batch(c)
    obs: dict = {}

    # the trajectory: leftover gradients, `steps` SGD steps, the frozen encoder in eval mode
    model, loss_fn = _step_model(c), StandInLoss()
    model.train()
    model.visual.eval()
    _leftover_grads(model, c.seed + 2)
    opt = _optimizer(model, c)
    scale_param = model.logit_scale
    inner_step = opt.step
    counter = _ItemCounter()

    def counted_step(*a, **k):  # the optimizer may call .item() itself; only the student's calls count
        counter.active = False
        try:
            return inner_step(*a, **k)
        finally:
            counter.active = True

    opt.step = counted_step
    modes_before = _modes(model)
    returned, states, calls = [], [], []
    error = None
    with counter:
        for _ in range(c.steps):
            loss_fn.calls.clear()
            try:
                returned.append(_describe(step.train_step(model, images, text, loss_fn, opt)))
            except Exception as e:  # noqa: BLE001 - the judge names the likely cause
                error = _error(e)
                break
            states.append({n: p.detach().clone() for n, p in model.named_parameters()})
            calls.append(list(loss_fn.calls))
    calls = [[(float(sc.double().reshape(-1)[0]) if sc.numel() else math.nan, float(v.double())) for sc, v in step_calls]
             for step_calls in calls]  # after the counter: these conversions are the probe's, not the student's
    obs.update(error=error, returned=returned, states=states, item_calls=counter.count, loss_calls=calls,
               modes_before=modes_before, modes_after=_modes(model),
               same_parameter=model.logit_scale is scale_param,
               is_parameter=isinstance(model.logit_scale, nn.Parameter),
               in_optimizer=any(p is model.logit_scale for grp in opt.param_groups for p in grp["params"]))

    # the clamp on its own: lr 0, a log-scale above the bound (and one below 0)
    clamps = {}
    for start in (6.0, -1.0) if c.check_lower_bound else (6.0,):
        m = _step_model(c, logit_scale=start)
        try:
            step.train_step(m, images, text, StandInLoss(), _optimizer(m, c, lr=0.0))
            clamps[str(start)] = float(m.logit_scale.detach().reshape(-1)[0])
        except Exception as e:  # noqa: BLE001 - reported to the judge
            clamps[str(start)] = _error(e)
    obs["clamps"] = clamps
    return obs


_STEP_MISTAKES = {
    "no zero_grad": "the gradients of earlier batches are added to this one's: call optimizer.zero_grad() (or "
                    "model.zero_grad()) at the start of every step.",
    "zero_grad at the end": "your first step added the gradients already in .grad (the harness may call "
                            "train_step with an earlier batch's gradients there): zero them at the START of the step.",
    "no step": "no update was applied: call optimizer.step() after loss.backward() (and do not zero the gradients "
               "between backward() and step()).",
    "clamp before step": "you clamp logit_scale before optimizer.step(), so the update can push it past ln 100: "
                         "clamp after the step.",
}


def _state_diff(found: dict, expected: dict) -> tuple[str, float]:
    worst, name = -1.0, ""
    for n, e in expected.items():
        f = found.get(n)
        err = math.inf if f is None or f.shape != e.shape else _rel_err(f, e)
        if err > worst:
            worst, name = err, n
    return name, worst


def judge_step(obs: dict, case: dict, key: dict) -> Verdict:
    c = _as(StepCase, case)
    if obs["error"]:
        hint = ""
        if "leaf Variable" in obs["error"] or "in-place operation" in obs["error"]:
            hint = (" Hint: change logit_scale in place only inside torch.no_grad() (an in-place change of a "
                    "Parameter that requires grad is refused otherwise).")
        raise CheckFailed(f"train_step raised {obs['error']} (on a model whose .grad held gradients of an earlier "
                          f"batch, with torch.optim.SGD).{hint}")
    cases = Cases()
    lower = c.check_lower_bound
    bounds = "[0, ln 100]" if lower else "at most ln 100"
    # the clamp is judged in its own case; the update is judged with the student's clamp (present or not)
    clamp_works = isinstance(obs["clamps"].get("6.0"), float) and math.isclose(
        obs["clamps"]["6.0"], key["clamps"]["6.0"], abs_tol=TOL_CLAMP)
    clamp = "clamped" if clamp_works else "unclamped"  # the key's trajectories with the clamp, and without it
    exp_states = key["states"][clamp]

    with cases("logit_scale stays the optimizer's Parameter"):
        if not obs["same_parameter"]:
            raise CheckFailed("your step assigned a new tensor to model.logit_scale: the optimizer still updates the "
                              "old Parameter, so the temperature stops learning (and a checkpoint saves the copy). "
                              "Hint: clamp the existing Parameter in place, with its in-place clamp_ inside "
                              "torch.no_grad().")

    with cases("update: zero_grad, forward, loss, backward, step", weight=2):
        for k, calls in enumerate(obs["loss_calls"]):
            expect(len(calls) > 0, f"step {k + 1}: loss_fn was never called; the step computes "
                   "loss_fn(image_emb, text_emb, scale) on the model's outputs.")
            before = c.logit_scale if k == 0 else obs["states"][k - 1]["logit_scale"].item()
            expect(math.isclose(calls[0][0], math.exp(before), rel_tol=1e-5),
                   f"step {k + 1}: loss_fn received scale {calls[0][0]:.4f}, expected the model's third output "
                   f"exp(logit_scale) = {math.exp(before):.4f}. Hint: pass loss_fn the three outputs of the model "
                   "as they are, the scale last.")
        for k, (found, expected) in enumerate(zip(obs["states"], exp_states)):
            name, err = _state_diff(found, expected)
            if err <= TOL_STEP:
                continue
            hint = "one optimizer.zero_grad(), one forward, one loss_fn call, one backward(), one optimizer.step() per call."
            if not obs["same_parameter"]:
                hint = ("your step replaced model.logit_scale (see above), so the optimizer's updates no longer reach "
                        "the model's temperature.")
            else:
                for mistake, m_states in key["mistakes"][clamp].items():
                    text = _STEP_MISTAKES[mistake]
                    if all(_state_diff(f, m)[1] <= TOL_STEP for f, m in zip(obs["states"], m_states)):
                        hint = text
                        break
            e, f = expected[name], found.get(name)
            d = _digits(err)
            raise CheckFailed(f"after step {k + 1} of {c.steps} (torch.optim.SGD, the temperature in its own parameter "
                              f"group; gradients of an earlier batch left in .grad) expected {name} = "
                              f"{_fmt(e, 3, d)}, found {_fmt(f, 3, d) if f is not None else 'no such parameter'}. "
                              f"Hint: {hint}")

    with cases(f"temperature clamp to {bounds}"):
        for start, value in obs["clamps"].items():
            if isinstance(value, str):
                raise CheckFailed(f"with logit_scale {start} your step raised {value}.")
            want = key["clamps"][start]
            if not math.isclose(value, want, abs_tol=TOL_CLAMP):
                if float(start) > MAX_LOGIT_SCALE:
                    hint = ("clamp it in place after optimizer.step() (clamp_, not clamp, whose result is a new "
                            "tensor), inside torch.no_grad().")
                else:
                    hint = ("the docstring's bounds are [0, ln 100] (CLIP's and open_clip's); the homework text "
                            "states the upper one (s <= 100), the grader takes the docstring's reading: "
                            "clamp_(0, MAX_LOGIT_SCALE), not clamp_(max=...).")
                raise CheckFailed(f"logit_scale set to {float(start):.1f} before a step with lr 0 should be "
                                  f"{want:.4f} after it (clamped to {bounds}), found {value:.4f}. Hint: {hint}")

    with cases("returns the detached loss tensor, no .item(), keeps module modes"):
        first = obs["returned"][0]
        if first["kind"] in ("float", "int"):
            raise CheckFailed(f"train_step returned a Python {first['kind']}; the contract is the detached 0-d loss "
                              "tensor (return loss.detach()): the trainer reads the losses once per epoch, and a "
                              ".item() in every step forces a host-device synchronisation.")
        expect(first["kind"] == "tensor" and first["value"].dim() == 0,
               f"train_step must return the loss as a 0-d tensor (loss.detach()), found "
               f"{'a tensor of shape ' + str(tuple(first['value'].shape)) if first['kind'] == 'tensor' else 'a ' + first['kind']}.")
        expect(not first["requires_grad"] and not first["grad_fn"],
               "train_step returned the loss still attached to the graph: return loss.detach() (an attached loss "
               "keeps the whole step's graph alive until the trainer drops it).")
        for k, (d, calls) in enumerate(zip(obs["returned"], obs["loss_calls"])):
            got = d["value"].item() if d.get("kind") == "tensor" and d["value"].numel() == 1 else math.nan
            want = calls[0][1] if calls else math.nan
            if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-7):
                hint = ("you return a loss computed after the update: return the one computed before "
                        "optimizer.step() (the one you backpropagated)."
                        if any(math.isclose(got, v, rel_tol=1e-6, abs_tol=1e-7) for _, v in calls[1:])
                        else "return the loss that loss_fn returned and you backpropagated, detached.")
                raise CheckFailed(f"step {k + 1}: expected the returned loss {want:.6f} (what loss_fn returned "
                                  f"before the update), found {got:.6f}. Hint: {hint}")
        expect(obs["item_calls"] == 0,
               f"your step reads tensor values on the host ({obs['item_calls']} times in {c.steps} steps: .item(), "
               "float(), .tolist(), .numpy(), or a tensor in an if): the contract is no host synchronisation inside "
               "the step; return loss.detach() and let the trainer read it once per epoch.")
        before, after = dict(obs["modes_before"]), dict(obs["modes_after"])
        changed = [(n, before[n], after.get(n)) for n in before if after.get(n) != before[n]]
        if changed:
            name, was, now = changed[0]
            call = "model.eval()" if was else "model.train()"
            raise CheckFailed(f"your step switched {name} from {'train' if was else 'eval'} to "
                              f"{'train' if now else 'eval'} mode ({call} inside train_step?): the harness owns "
                              "the modes (here model.visual stays in eval mode, as a pretrained encoder with frozen "
                              "BatchNorm statistics would, and the heads in train mode); leave them as they are.")
    return cases.verdict(f"one SGD update per call, temperature clamped to {bounds} in place, the detached loss "
                         "returned, modes untouched")


# =========================================================================== the checks
def checks(suffix: str = "", title: str = "", visibility: str = "visible", *, head: HeadCase = HEAD,
           loss: tuple[LossCase, ...] = LOSS_CASES, retrieval: RetrievalCase = RETRIEVAL,
           zero_shot: ZeroShotCase = ZERO_SHOT, step: StepCase = STEP) -> list[Check]:
    """The five checks of Problem 2 on the given inputs, half a point each; the hidden module calls
    this with its own inputs, suffix ``"-hidden"`` and visibility ``"after_due_date"``."""
    parts = [("2a", "(a) projection head", "head", asdict(head), 30),
             ("2b", "(b) contrastive loss", "loss", [asdict(c) for c in loss], 30),
             ("2c", "(c) similarity + top-k retrieval", "retrieval", asdict(retrieval), 30),
             ("2d", "(d) zero-shot classifier", "zero_shot", asdict(zero_shot), 30),
             ("2e", "(e) training step", "step", asdict(step), 60)]
    return [Check(cid + suffix, Q, name + title, 0.5, timeout=timeout, visibility=visibility,
                  probe=f"{_M}:probe_{fn}", judge=f"{_M}:judge_{fn}", key=f"{_KEYS}:{fn}", args={"case": case})
            for cid, name, fn, case, timeout in parts]


CHECKS = checks()
