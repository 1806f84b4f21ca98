"""Problem 3's answer keys: what the checks of :mod:`dlcourse.grading.gan` that compare values expect.

(a), (b) and (e) check what the homework states (layers, shapes, slopes, dropout, parameter counts,
sampling) and need no key; (c) compares the losses with BCE on fixed logits, (d) the updates of a
training step with the gradients of every accepted reading of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dlcourse.grading.gan import (
    FAKE_LOGITS,
    REAL_LOGITS,
    fixture_batches,
    fixture_nets,
    flat,
    standin_discriminator_loss,
    standin_generator_loss,
)


# =========================================================================== (c) losses
def _bce(x: torch.Tensor, label: float) -> torch.Tensor:
    """BCE on logits against a constant label, averaged over the batch."""
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, label))


def _bce_p(p: torch.Tensor, label: float) -> torch.Tensor:
    """BCE on probabilities (what ``nn.BCELoss`` computes, including its clamp of log at -100)."""
    return F.binary_cross_entropy(p, torch.full_like(p, label))


def _space(real: torch.Tensor, fake: torch.Tensor, loss) -> dict:
    """Both losses on ``real``/``fake`` (logits or probabilities, ``loss`` BCE in that space): values, gradients
    with respect to the inputs, and the values of the mistakes the judge names."""
    def d(r, f, label_r=1.0, label_f=0.0):
        return loss(r, label_r) + loss(f, label_f)

    r, f = real.clone().requires_grad_(), fake.clone().requires_grad_()
    d_grads = torch.autograd.grad(d(r, f), [r, f])
    (g_grad,) = torch.autograd.grad(loss(f, 1.0), [f])
    return {
        "d": {"value": d(real, fake).item(), "grads": [x.detach() for x in d_grads],
              "mistakes": {"labels swapped": d(real, fake, 0.0, 1.0).item(),
                           "label smoothing 0.9": d(real, fake, 0.9, 0.0).item(),
                           "real half only": loss(real, 1.0).item(), "fake half only": loss(fake, 0.0).item(),
                           "summed over the batch": (loss(real, 1.0) * len(real) + loss(fake, 0.0) * len(fake)).item()}},
        "g": {"value": loss(fake, 1.0).item(), "grads": [g_grad.detach()],
              "mistakes": {"label 0": loss(fake, 0.0).item()}},
    }


def losses(real=REAL_LOGITS, fake=FAKE_LOGITS, big_real=(), big_fake=(), nets: str = "linear", seed: int = 0) -> dict:
    """(c): BCE on the fixed logits (D: the sum of both halves; G: the non-saturating loss), on their sigmoids
    (the reading for a discriminator that ends in a sigmoid), and on the large logits when there are any."""
    real, fake = torch.tensor(real), torch.tensor(fake)  # float32, as the probe hands them over
    out = {"logits": _space(real.double(), fake.double(), _bce),
           "probabilities": _space(torch.sigmoid(real).double(), torch.sigmoid(fake).double(), _bce_p)}
    if big_real:
        br, bf = torch.tensor(big_real).double(), torch.tensor(big_fake).double()
        out["big"] = {"d": (_bce(br, 1.0) + _bce(bf, 0.0)).item(), "g": _bce(bf, 1.0).item()}
    return out


# =========================================================================== (d) the training step
def _bce_d(real_logits, fake_logits):
    return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)


def _bce_g(fake_logits):
    return _bce(fake_logits, 1.0)


#: The losses a step may use: the stand-ins the probe puts in place of the student's functions, or BCE
#: written into the step itself (the homework's; a step need not call the loss functions).
FAMILIES = {"stand-in": (standin_discriminator_loss, standin_generator_loss), "BCE": (_bce_d, _bce_g)}
D_READINGS = ("simultaneous", "mean of the halves", "G first", "G first, mean")
G_READINGS = ("simultaneous", "D first")


class _Step:
    """The quantities of one call from one state of the fixture networks, computed once each.

    ``modules``: one pair of fixture networks that every computation loads its parameters into (building
    them anew each time costs more than the tiny computations themselves).
    """

    def __init__(self, modules: tuple, g_params, d_params, real, noise, lr: float):
        self.modules, self.g_params, self.d_params, self.real, self.noise, self.lr = \
            modules, g_params, d_params, real, noise, lr
        self._memo: dict = {}

    def _once(self, key, fn):
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    def nets(self, g_params=None, d_params=None):
        """The fixture networks holding ``g_params``/``d_params`` (default: this state's), in training mode."""
        g, d = self.modules
        with torch.no_grad():
            for net, params in ((g, g_params or self.g_params), (d, d_params or self.d_params)):
                for p, v in zip(net.parameters(), params):
                    p.copy_(v)
        return g, d

    @staticmethod
    def grads(loss, net) -> list[torch.Tensor]:
        return [x.detach() for x in torch.autograd.grad(loss, list(net.parameters()), retain_graph=True)]

    def stepped(self, params, grads) -> list[torch.Tensor]:
        return [p - self.lr * g for p, g in zip(params, grads)]

    def d_grad(self, fam: str, g_params=None, d_params=None, name: str = "") -> tuple[list, float]:
        """D's gradient of its loss (family ``fam``) and the loss, at G ``g_params`` (default: this state's)."""
        def run():
            g, d = self.nets(g_params, d_params)
            loss = FAMILIES[fam][0](d(self.real), d(g(self.noise).detach()))
            return self.grads(loss, d), loss.item()
        return self._once(("D", fam, name), run)

    def g_grad(self, fam: str, d_params=None, name: str = "") -> tuple[list, float]:
        """G's gradient of its loss (family ``fam``) and the loss, at D ``d_params`` (default: this state's)."""
        def run():
            g, d = self.nets(None, d_params)
            loss = FAMILIES[fam][1](d(g(self.noise)))
            return self.grads(loss, g), loss.item()
        return self._once(("G", fam, name), run)

    def d_update(self, fam: str, reading: str, g_fam: str) -> tuple[list, float]:
        """D's gradient in this reading, and the loss that goes with it."""
        if reading.startswith("G first"):
            g_first = self.stepped(self.g_params, self.g_grad(g_fam)[0])
            grads, loss = self.d_grad(fam, g_params=g_first, name=f"after G ({g_fam})")
        else:
            grads, loss = self.d_grad(fam)
        if reading.endswith("mean") or reading == "mean of the halves":
            return self._once(("D/2", fam, reading, g_fam), lambda: [x / 2 for x in grads]), loss / 2
        return grads, loss

    def g_update(self, fam: str, reading: str, d_fam: str, d_reading: str) -> tuple[list, float]:
        """G's gradient in this reading (D first: at D after its update in ``d_reading``), and its loss."""
        if reading == "D first":
            d_first = self.stepped(self.d_params, self.d_update(d_fam, d_reading, fam)[0])
            return self.g_grad(fam, d_params=d_first, name=f"after D ({d_fam}, {d_reading})")
        return self.g_grad(fam)

    def mistakes(self, d_fam: str, g_fam: str, d_reading: str, g_reading: str) -> dict:
        """The gradients of the mistakes the judge names (first call only): a sigmoid on D's output before the
        losses, and each network's gradient polluted by the other network's loss."""
        def sigmoid_d():
            g, d = self.nets()
            return self.grads(FAMILIES[d_fam][0](torch.sigmoid(d(self.real)), torch.sigmoid(d(g(self.noise).detach()))), d)

        def sigmoid_g():
            g, d = self.nets()
            return self.grads(FAMILIES[g_fam][1](torch.sigmoid(d(g(self.noise)))), g)

        def leak_into_d():  # generator_loss's backward also filled D's .grad
            own = self.d_grad(d_fam)[0]
            g, d = self.nets()
            return [a + b for a, b in zip(own, self.grads(FAMILIES[g_fam][1](d(g(self.noise))), d))]

        def d_loss_on_g():  # discriminator_loss on fakes that were not detached: its backward reaches G
            g, d = self.nets()
            return self.grads(FAMILIES[d_fam][0](d(self.real), d(g(self.noise))), g)

        out = {"D": {"sigmoid: before the losses": self._once(("sig D", d_fam), sigmoid_d),
                     "leak: generator_loss": self._once(("leak D", d_fam, g_fam), leak_into_d)},
               "G": {"sigmoid: before the losses": self._once(("sig G", g_fam), sigmoid_g)}}
        into_g = self._once(("D loss on G", d_fam), d_loss_on_g)
        out["G"]["leak: discriminator_loss"] = self._once(
            ("leak G", d_fam, g_fam), lambda: [a + b for a, b in zip(self.g_grad(g_fam)[0], into_g)])
        if g_reading == "D first":
            out["G"]["leak: discriminator_loss (D first)"] = self._once(
                ("leak G, D first", d_fam, d_reading, g_fam),
                lambda: [a + b for a, b in zip(self.g_update(g_fam, g_reading, d_fam, d_reading)[0], into_g)])
        return out


def step(seed: int = 0, sizes=(6, 6), lr: float = 0.1) -> dict:
    """(d): every accepted reading of the step - D's loss and G's loss each from the stand-ins or BCE; D's
    update simultaneous, on the mean of its loss's halves, or after G's update (G first); G's simultaneous
    or after D's (D first) - followed call by call from the fixture networks, as *paths*.

    Each path holds, per call, both networks' gradients (:func:`~dlcourse.grading.gan.flat`), the losses that
    go with them (``d_loss``:
    ``sum``, ``mean``, ``G first``, ``G first, mean``; ``g_loss``: ``simultaneous``, ``D first``) and, on
    the first call, the gradients of the mistakes the judge names. The first call's values are shared
    between paths (one tensor, stored once).
    """
    g0, d0 = fixture_nets(seed)
    start = ([p.detach().clone() for p in g0.parameters()], [p.detach().clone() for p in d0.parameters()])
    batches = fixture_batches(seed, tuple(sizes))
    first = _Step((g0, d0), *start, *batches[0], lr)
    flats: dict[int, tuple[list, torch.Tensor]] = {}  # holds the lists too: their ids stay theirs

    def flat_once(grads: list) -> torch.Tensor:  # one vector per gradient, shared where the paths share it
        return flats.setdefault(id(grads), (grads, flat(grads)))[1]

    paths = []
    for d_fam in FAMILIES:
        for d_reading in D_READINGS:
            for g_fam in FAMILIES:
                for g_reading in G_READINGS:
                    if d_reading.startswith("G first") and g_reading == "D first":
                        continue  # each network's update after the other's: no step does both
                    g_params, d_params = start
                    calls = []
                    for k, (real, noise) in enumerate(batches):
                        at = first if k == 0 else _Step((g0, d0), g_params, d_params, real, noise, lr)
                        d_grads, _ = at.d_update(d_fam, d_reading, g_fam)
                        g_grads, _ = at.g_update(g_fam, g_reading, d_fam, d_reading)
                        d_sum, d_after_g = at.d_update(d_fam, "simultaneous", g_fam)[1], at.d_update(
                            d_fam, "G first", g_fam)[1]
                        call = {"D": flat_once(d_grads), "G": flat_once(g_grads),
                                "d_loss": {"sum": d_sum, "mean": d_sum / 2, "G first": d_after_g,
                                           "G first, mean": d_after_g / 2},
                                "g_loss": {"simultaneous": at.g_update(g_fam, "simultaneous", d_fam, d_reading)[1],
                                           "D first": at.g_update(g_fam, "D first", d_fam, d_reading)[1]}}
                        if k == 0 and d_fam == g_fam:  # mistakes are named when both losses are the same kind
                            call["mistakes"] = {net: {n: flat_once(g) for n, g in m.items()}
                                                for net, m in at.mistakes(d_fam, g_fam, d_reading, g_reading).items()}
                        calls.append(call)
                        g_params, d_params = at.stepped(g_params, g_grads), at.stepped(d_params, d_grads)
                    paths.append({"D": [d_fam, d_reading], "G": [g_fam, g_reading], "calls": calls})
    return {"paths": paths}
