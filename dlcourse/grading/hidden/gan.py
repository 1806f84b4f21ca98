"""Hidden checks of Problem 3 (DCGAN): the other 2.5 of its 5 points, shown after the due date.

Each part (a)-(e) is judged exactly as by its visible check in :mod:`dlcourse.grading.gan`, on
inputs a student never sees (other seeds, batch sizes, images with an exact ``-1`` background like
FashionMNIST's, a learning rate and a last batch of another size), plus extra cases:

* (a) each logit depends on its own image only (eval mode);
* (b) the generator traced in training mode (BatchNorm on batch statistics);
* (c) logits of +-30, where a sigmoid followed by a logarithm rounds to 0 or 1 in float32 (the
  stub's docstring asks for BCE on logits "for numerical stability"); other networks for Adam;
* (d) three calls, the last on a smaller batch (the end of an epoch);
* (e) each image depends on its own noise vector only (eval mode), and large noise stays finite.
"""

from __future__ import annotations

import math

import torch

from dlcourse.grading import gan
from dlcourse.grading.core import Cases, Check, CheckFailed, Submission, expect

# secret inputs (this module never ships to students)
_D_SEED, _G_SEED, _STEP_SEED, _SAMPLE_SEED = 7, 13, 11, 5


def _background_images(n: int, gen: torch.Generator) -> torch.Tensor:
    """Images in [-1, 1] whose background is exactly -1, like scaled FashionMNIST."""
    x = torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1
    return torch.where(torch.rand(n, 1, 28, 28, generator=gen) < 0.45, torch.full_like(x, -1.0), x)


# --------------------------------------------------------------------------- (a)

def probe_discriminator(sub: Submission) -> dict:
    gen = torch.Generator().manual_seed(_D_SEED)
    x, x_train = _background_images(24, gen), _background_images(24, gen)
    obs = gan.probe_discriminator_on(sub, x, x_train, seed=_D_SEED)
    d = gan.new_network(sub, "Discriminator").eval()
    with torch.no_grad():
        obs["singles"] = [d(x[i:i + 1]).detach().clone() for i in range(4)]
    return obs


@gan.single_threaded
def judge_discriminator(obs: dict) -> str:
    msg = gan.judge_discriminator_obs(obs)
    y = obs["eval"]["output"].reshape(len(obs["x"]), -1)
    for i, single in enumerate(obs["singles"]):
        expect(torch.allclose(single.reshape(-1), y[i], rtol=1e-4, atol=1e-5),
               f"in eval mode image {i}'s logit depends on the other images in its batch ({y[i].tolist()} in a "
               f"batch of {len(y)}, {single.reshape(-1).tolist()} alone). Hint: flatten per image, "
               "x.flatten(1), and mix nothing across the batch.")
    return msg + "; each logit depends on its own image only"


# --------------------------------------------------------------------------- (b)

def probe_generator(sub: Submission) -> dict:
    # batch 16 as in the visible check: working for every batch size is (e)'s business
    z = torch.randn(16, gan.NOISE_DIM, generator=torch.Generator().manual_seed(_G_SEED))
    return gan.probe_generator_on(sub, z, train=True)


@gan.single_threaded
def judge_generator(obs: dict) -> str:
    return gan.judge_generator_obs(obs) + " (training mode)"


# --------------------------------------------------------------------------- (c)

_REAL = torch.tensor([1.25, -2.5, 0.75, -0.25, 4.0, -1.5, 2.25, 0.5, -3.0, 1.0])
_FAKE = torch.tensor([-1.75, 0.5, 2.75, -3.5, 0.25, -0.75, 1.5, -2.0, 3.25, -0.5])
_BIG_REAL = torch.tensor([30.0, -30.0, 25.0, -20.0])
_BIG_FAKE = torch.tensor([-30.0, 30.0, 20.0, -25.0])


def _tiny_nets():
    torch.manual_seed(_STEP_SEED)
    return (torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 5)),
            torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 1)))


def probe_losses(sub: Submission) -> dict:
    obs = gan.probe_losses_on(sub, _REAL, _FAKE)
    losses = sub.module("dlcourse.gan.losses")
    obs["big"] = {"real": _BIG_REAL, "fake": _BIG_FAKE}
    for key, fn_name, args in (("d", "discriminator_loss", (_BIG_REAL, _BIG_FAKE)),
                               ("g", "generator_loss", (_BIG_FAKE,))):
        fn = getattr(losses, fn_name, None)
        try:
            obs["big"][key] = gan._call_loss(fn, *args) if fn else {"error": f"no function {fn_name}"}
        except NotImplementedError as e:
            obs["big"][key] = {"error": f"NotImplementedError: {e}"}
    gen, disc = _tiny_nets()
    try:
        opts = losses.make_optimizers(gen, disc)
        ok = isinstance(opts, (tuple, list)) and len(opts) == 2
        obs["opts"] = ([gan._describe_optimizer(o, {"generator": gen, "discriminator": disc}) for o in opts]
                       if ok else {"type": type(opts).__name__})
    except NotImplementedError:
        obs["opts"] = None
    return obs


def _stable(obs: dict, key: str, name: str, want: float, accepted: tuple[float, ...]) -> str:
    """Logits of +-30, judged once the loss is right on ordinary logits (so one mistake costs one case)."""
    if obs["reading"] == "probabilities":
        return ""
    found = gan._loss_value(obs["big"][key], name)
    ok = math.isfinite(found) and any(gan._close(found, k * want) for k in accepted)
    expect(ok, f"{name} is right on ordinary logits but not on logits as large as +-30: expected {want:.6f}, found "
               f"{found:.6f}. Hint: a sigmoid rounds to exactly 0 or 1 in float32 once |logit| > 17, and its "
               "logarithm then gives inf (or nn.BCELoss's clamp, 100): compute BCE from the logits with "
               "F.binary_cross_entropy_with_logits.")
    return ", also for logits of +-30"


def judge_d_loss(obs: dict) -> str:
    msg = gan.judge_d_loss(obs)
    real, fake = obs["big"]["real"].double(), obs["big"]["fake"].double()
    return msg + _stable(obs, "d", "discriminator_loss", (gan.bce(real, 1.0) + gan.bce(fake, 0.0)).item(), (1.0, 0.5))


def judge_g_loss(obs: dict) -> str:
    msg = gan.judge_g_loss(obs)
    return msg + _stable(obs, "g", "generator_loss", gan.bce(obs["big"]["fake"].double(), 1.0).item(), (1.0,))


@gan.single_threaded
def judge_losses(obs: dict):
    cases = Cases()
    found = {}
    for name, judge in (("discriminator_loss", judge_d_loss), ("generator_loss", judge_g_loss),
                        ("make_optimizers", gan.judge_optimizers)):
        with cases(name):
            found[name] = judge(obs)
    return cases.verdict("; ".join(f"{k}: {v}" for k, v in found.items()))


# --------------------------------------------------------------------------- (d)

def probe_step(sub: Submission) -> dict:
    return gan.probe_step_on(sub, seed=_STEP_SEED, sizes=(5, 5, 4), lr=0.08)


@gan.single_threaded
def judge_step(obs: dict) -> str:
    return gan.judge_step_obs(obs)


# --------------------------------------------------------------------------- (e)

def probe_samples(sub: Submission) -> dict:
    return gan.probe_samples_on(sub, seed=_SAMPLE_SEED, train_sizes=(5, 48), n=24)


@gan.single_threaded
def judge_samples(obs: dict) -> str:
    msg = gan.judge_samples_obs(obs)
    for i, single in enumerate(obs["singles"], start=1):
        expect(isinstance(single, torch.Tensor) and tuple(single.shape) == (1, 1, 28, 28),
               "in eval mode a single noise vector should give one image (1, 1, 28, 28).")
        err = (single[0] - obs["y1"][i]).abs().max().item()
        if err > 1e-4:
            raise CheckFailed(f"in eval mode image {i} changes with the other noise vectors in its batch (by up to "
                              f"{err:.3g}). Hint: in eval mode each image should depend on its own noise only "
                              "(BatchNorm uses its running statistics there).")
    expect(bool(torch.isfinite(obs["large"]).all()), "noise vectors 50 times larger give NaN or inf images.")
    return msg + "; each image depends on its own noise only"


def _check(part: str, title: str, name: str) -> Check:
    return Check(f"3{part}-h", gan.QUESTION, f"({part}) {title}, hidden cases", 0.5,
                 probe=f"{__name__}:probe_{name}", judge=f"{__name__}:judge_{name}", timeout=60,
                 visibility="after_due_date")


CHECKS = [
    _check("a", "discriminator", "discriminator"),
    _check("b", "generator", "generator"),
    _check("c", "BCE losses and Adam", "losses"),
    _check("d", "training step", "step"),
    _check("e", "samples", "samples"),
]
