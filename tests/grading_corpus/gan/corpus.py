"""Problem 3's grading corpus: legitimate submissions that must pass and single mistakes that must fail.

* ``VARIANTS``: folders next to this file, each a complete (or partial: missing files are the
  reference's) ``gan/`` submission written in another legitimate style, with the parts each must
  pass (and, for the one design choice the grader refuses, the part that must fail and why).
* ``ACCEPTED``: small patches of the reference (or of a variant) that stay correct.
* ``MISTAKES``: one plausible mistake each, as a patch of the reference or of a variant: the part
  must lose points in its visible and its hidden check, and the visible message must name the
  mistake (every word in ``words``). ``hidden_only`` mistakes pass the visible check by design (they
  fit the public inputs) and must fail the hidden one.

A patch maps a file name to ``[(old, new), ...]`` (each ``old`` must occur) or to a whole new text.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

PARTS = ("a", "b", "c", "d", "e")


@dataclass(frozen=True)
class Variant:
    folder: str
    about: str
    fails: dict[str, list[str]] = field(default_factory=dict)  # part -> words its message must hold


VARIANTS = [
    Variant("examples_port", "pytorch/examples' dcgan adapted: Sequential, in-place LeakyReLU, N(0, 0.02) init, "
                             "betas (0.5, 0.999), D then G with two backward calls into D"),
    Variant("tf_port", "the TensorFlow tutorial: ZeroPad2d((1, 2, 1, 2)) and F.pad 'same' padding, channels-last "
                       "flatten and reshape, BatchNorm eps 1e-3, TF's cropped 'same' transposed convolutions, "
                       "from_logits BCE written out, simultaneous step with backward(inputs=...)"),
    Variant("attributes", "layers as attributes, a Conv2dSame subclass, F.leaky_relu / F.dropout(training=...), "
                          "BatchNorm2d(256) after the reshaped dense layer, BCEWithLogitsLoss module, mean of D's "
                          "halves, D scoring cat([real, fake]) in one call"),
    Variant("sigmoid_d", "the one refused design choice: a final sigmoid in D with nn.BCELoss losses",
            fails={"a": ["sigmoid", "logits", "This part alone is charged"]}),
]

STEP_HEADER = '''import torch

from .losses import discriminator_loss, generator_loss


def train_step(generator, discriminator, opt_g, opt_d, real, noise):
'''


def step_file(body: str) -> str:
    """A whole gan/step.py whose train_step runs ``body``."""
    return STEP_HEADER + textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")


D_THEN_G = """
    fake = generator(noise)
    opt_d.zero_grad()
    d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = generator_loss(discriminator(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
"""

CONV1 = "nn.Conv2d(1, 64, kernel_size=5, stride=2, padding=2),  # -> (B, 64, 14, 14)\n"
D_ACT1 = CONV1 + "            nn.LeakyReLU(LEAKY_SLOPE),\n            nn.Dropout(DROPOUT),\n"
D_ACT2 = ("nn.Conv2d(64, 128, kernel_size=5, stride=2, padding=2),  # -> (B, 128, 7, 7)\n"
          "            nn.LeakyReLU(LEAKY_SLOPE),\n            nn.Dropout(DROPOUT),\n")
D_FORWARD = "return self.head(self.features(x).flatten(1)).squeeze(1)"
G_LAST = "nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False),  # -> (B, 1, 28, 28)\n"
G_BN128 = "            nn.BatchNorm2d(128),\n"
G_FORWARD = "return self.deconv(self.project(z).view(-1, 256, 7, 7))"
G_LOSS = "return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))"
D_REAL = "real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))"
D_FAKE = "fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))"
OPTS = ("    return (torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE),\n"
        "            torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE))")

ACCEPTED = [
    # (name, base, patches, part)
    ("nothing after G's dense layer", "reference",
     {"model.py": [("            nn.BatchNorm1d(7 * 7 * 256),\n            nn.LeakyReLU(LEAKY_SLOPE),\n", "")]}, "b"),
    ("LeakyReLU only after G's dense layer", "reference",
     {"model.py": [("            nn.BatchNorm1d(7 * 7 * 256),\n", "")]}, "b"),
    ("D's halves averaged", "reference", {"losses.py": [("    return real + fake\n", "    return (real + fake) / 2\n")]},
     "c"),
    ("channels-last flatten before D's dense layer, logits (B, 1)", "reference",
     {"model.py": [(D_FORWARD, "return self.head(self.features(x).permute(0, 2, 3, 1).flatten(1))")]}, "a"),
    ("dropout before LeakyReLU", "reference",
     {"model.py": [(D_ACT1, CONV1 + "            nn.Dropout(DROPOUT),\n            nn.LeakyReLU(LEAKY_SLOPE),\n")]}, "a"),
    ("F.binary_cross_entropy_with_logits -> manual softplus form", "reference",
     {"losses.py": [(G_LOSS, "return F.softplus(-fake_logits).mean()")]}, "c"),
    ("D then G, with the optimisers' zero_grad", "reference", {"step.py": step_file(D_THEN_G)}, "d"),
    ("fake not detached for D, where it does not matter (G's grads zeroed before G's backward)", "reference",
     {"step.py": step_file(D_THEN_G.replace("discriminator(fake.detach())", "discriminator(fake)")
                           .replace("d_loss.backward()", "d_loss.backward(retain_graph=True)"))}, "d"),
    ("G first, then D on new fakes", "reference", {"step.py": step_file("""
        opt_g.zero_grad()
        g_loss = generator_loss(discriminator(generator(noise)))
        g_loss.backward()
        opt_g.step()
        opt_d.zero_grad()
        d_loss = discriminator_loss(discriminator(real), discriminator(generator(noise).detach()))
        d_loss.backward()
        opt_d.step()
        return d_loss.detach(), g_loss.detach()
    """)}, "d"),
    ("D frozen during G's backward, unfrozen after", "reference", {"step.py": step_file("""
        fake = generator(noise)
        opt_d.zero_grad()
        d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
        d_loss.backward()
        opt_d.step()
        discriminator.requires_grad_(False)
        opt_g.zero_grad()
        g_loss = generator_loss(discriminator(fake))
        g_loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        return d_loss.detach(), g_loss.detach()
    """)}, "d"),
    ("losses computed inline (nn.BCEWithLogitsLoss), simultaneous with autograd.grad", "reference",
     {"step.py": step_file("""
        bce = torch.nn.BCEWithLogitsLoss()
        fake = generator(noise)
        d_real, d_fake = discriminator(real), discriminator(fake)
        d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        g_loss = bce(d_fake, torch.ones_like(d_fake))
        dg = torch.autograd.grad(d_loss, list(discriminator.parameters()), retain_graph=True)
        gg = torch.autograd.grad(g_loss, list(generator.parameters()))
        for p, g in zip(discriminator.parameters(), dg):
            p.grad = g
        for p, g in zip(generator.parameters(), gg):
            p.grad = g
        opt_d.step()
        opt_g.step()
        return d_loss.detach(), g_loss.detach()
    """)}, "d"),
]


@dataclass(frozen=True)
class Mistake:
    name: str
    base: str
    patches: dict
    part: str
    words: tuple[str, ...]
    hidden_only: bool = False


M = Mistake
MISTAKES = [
    # (a) discriminator
    M("LeakyReLU slope 0.01 (PyTorch's default)", "reference", {"model.py": [("from dlcourse.gan.spec import DROPOUT, LEAKY_SLOPE, NOISE_DIM", "from dlcourse.gan.spec import DROPOUT, NOISE_DIM\nLEAKY_SLOPE = 0.01")]},
      "a", ("slope 0.01", "negative_slope=0.01", "0.3")),
    M("LeakyReLU(0.2) kept from pytorch/examples", "examples_port", {"model.py": [
        ("nn.Conv2d(1, 64, 5, 2, 2),\n            nn.LeakyReLU(0.3, inplace=True)",
         "nn.Conv2d(1, 64, 5, 2, 2),\n            nn.LeakyReLU(0.2, inplace=True)")]},
      "a", ("LeakyReLU(0.2)", "pytorch/examples", "0.3")),
    M("ReLU in D", "reference", {"model.py": [(D_ACT1, CONV1 + "            nn.ReLU(),\n            nn.Dropout(DROPOUT),\n")]},
      "a", ("found ReLU", "LeakyReLU(0.3)")),
    M("Dropout 0.5", "reference", {"model.py": [("from dlcourse.gan.spec import DROPOUT, LEAKY_SLOPE, NOISE_DIM", "from dlcourse.gan.spec import LEAKY_SLOPE, NOISE_DIM\nDROPOUT = 0.5")]}, "a", ("Dropout(0.3)", "p=0.5")),
    M("no dropout", "reference", {"model.py": [("            nn.Dropout(DROPOUT),\n", "")]}, "a",
      ("0.0% zeroed", "add nn.Dropout(0.3)")),
    M("Dropout2d", "reference", {"model.py": [("nn.Dropout(DROPOUT)", "nn.Dropout2d(DROPOUT)")]}, "a",
      ("whole channels", "Dropout2d")),
    M("F.dropout without training=self.training", "attributes", {"model.py": [
        ("F.dropout(F.leaky_relu(self.c1(x), negative_slope=0.3), 0.3, training=self.training)",
         "F.dropout(F.leaky_relu(self.c1(x), negative_slope=0.3), 0.3)")]},
      "a", ("eval mode", "training=self.training")),
    M("BatchNorm in D", "reference", {"model.py": [(D_ACT2, D_ACT2.replace("  # -> (B, 128, 7, 7)\n",
                                                                         "\n            nn.BatchNorm2d(128),\n"))]},
      "a", ("no normalisation layer", "no BatchNorm")),
    M("sigmoid at D's end (with logit losses)", "reference", {"model.py": [(D_FORWARD, "return torch.sigmoid(self.head("
                                                                                      "self.features(x).flatten(1))).squeeze(1)")]},
      "a", ("sigmoid", "logits", "This part alone is charged")),
    M("3x3 kernel", "reference", {"model.py": [("nn.Conv2d(1, 64, kernel_size=5, stride=2, padding=2)",
                                                "nn.Conv2d(1, 64, kernel_size=3, stride=2, padding=1)")]},
      "a", ("5x5 kernel", "(3, 3)")),
    M("padding 1 (28 -> 13)", "reference", {"model.py": [("nn.Conv2d(1, 64, kernel_size=5, stride=2, padding=2)",
                                                          "nn.Conv2d(1, 64, kernel_size=5, stride=2, padding=1)")]},
      "a", ("(B, 64, 14, 14)", "(B, 64, 13, 13)")),
    M("D's convolutions without bias", "reference", {"model.py": [("stride=2, padding=2),", "stride=2, padding=2, bias=False),")]},
      "a", ("expected a bias",)),
    # (b) generator
    M("LeakyReLU slope 0.01 in G", "reference", {"model.py": [("from dlcourse.gan.spec import DROPOUT, LEAKY_SLOPE, NOISE_DIM", "from dlcourse.gan.spec import DROPOUT, NOISE_DIM\nLEAKY_SLOPE = 0.01")]}, "b",
      ("slope 0.01", "0.3")),
    M("ReLU in G (pytorch/examples)", "reference", {"model.py": [(G_BN128 + "            nn.LeakyReLU(LEAKY_SLOPE),\n",
                                                                  G_BN128 + "            nn.ReLU(True),\n")]},
      "b", ("found ReLU",)),
    M("bias in G's transposed convolutions", "reference", {"model.py": [("padding=2, bias=False)", "padding=2)")]}, "b",
      ("expected no bias", "bias=False")),
    M("bias in G's dense layer", "reference", {"model.py": [("nn.Linear(noise_dim, 7 * 7 * 256, bias=False)",
                                                             "nn.Linear(noise_dim, 7 * 7 * 256)")]}, "b", ("no bias", "bias=False")),
    M("sigmoid instead of tanh", "reference", {"model.py": [("nn.Tanh(),", "nn.Sigmoid(),")]}, "b",
      ("found sigmoid", "tanh, not sigmoid")),
    M("BatchNorm after the last layer", "reference", {"model.py": [(G_LAST, G_LAST + "            nn.BatchNorm2d(1),\n")]},
      "b", ("no BatchNorm after the last layer",)),
    M("missing BatchNorm after a transposed convolution", "reference", {"model.py": [(G_BN128, "")]}, "b",
      ("BatchNorm follows each transposed convolution",)),
    M("no output_padding", "reference", {"model.py": [("nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1",
                                                       "nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2")]},
      "b", ("(B, 64, 14, 14)", "(B, 64, 13, 13)", "output_padding=1")),
    # (c) losses and optimisers
    M("swapped labels", "reference", {"losses.py": [(D_REAL, D_REAL.replace("ones_like", "zeros_like")),
                                                    (D_FAKE, D_FAKE.replace("zeros_like", "ones_like"))]},
      "c", ("labels are swapped",)),
    M("saturating generator loss", "reference", {"losses.py": [(G_LOSS, "return -F.binary_cross_entropy_with_logits("
                                                                        "fake_logits, torch.zeros_like(fake_logits))")]},
      "c", ("saturating", "non-saturating")),
    M("generator label 0", "reference", {"losses.py": [(G_LOSS, G_LOSS.replace("ones_like", "zeros_like"))]}, "c",
      ("generator_loss", "label 1")),
    M("label smoothing 0.9", "reference", {"losses.py": [(D_REAL, D_REAL.replace("torch.ones_like(real_logits)",
                                                                                 "torch.full_like(real_logits, 0.9)"))]},
      "c", ("label smoothing",)),
    M("BCE summed over the batch", "reference", {"losses.py": [
        (D_REAL, D_REAL.replace("))", "), reduction='sum')")), (D_FAKE, D_FAKE.replace("))", "), reduction='sum')"))]},
      "c", ("summed over the batch",)),
    M("nn.BCELoss on logits (D returns logits)", "reference", {"losses.py": [
        (D_REAL, D_REAL.replace("_with_logits", "")), (D_FAKE, D_FAKE.replace("_with_logits", ""))]},
      "c", ("probabilities", "binary_cross_entropy_with_logits")),
    M("Adam's default lr 1e-3", "reference", {"losses.py": [("from dlcourse.gan.spec import LEARNING_RATE", "LEARNING_RATE = 1e-3")]}, "c",
      ("learning rate 1e-4", "default lr is 1e-3")),
    M("lr 2e-4 (pytorch/examples)", "reference", {"losses.py": [("from dlcourse.gan.spec import LEARNING_RATE", "LEARNING_RATE = 2e-4")]}, "c",
      ("learning rate 1e-4", "0.0002", "pytorch/examples")),
    M("optimisers swapped", "reference", {"losses.py": [(OPTS, OPTS.replace("generator.parameters()", "XX")
                                                         .replace("discriminator.parameters()", "generator.parameters()")
                                                         .replace("XX", "discriminator.parameters()"))]},
      "c", ("the other network",)),
    M("AdamW", "reference", {"losses.py": [(OPTS, OPTS.replace("Adam(", "AdamW("))]}, "c", ("AdamW",)),
    M("one Adam over both networks", "reference", {"losses.py": [(OPTS, "    opt = torch.optim.Adam(list(generator.parameters())"
                                                                        " + list(discriminator.parameters()), lr=LEARNING_RATE)\n"
                                                                        "    return opt, opt")]},
      "c", ("both networks'",)),
    M("sigmoid then BCE inside the loss (unstable for large logits)", "reference", {"losses.py": [
        (D_REAL, "real = F.binary_cross_entropy(torch.sigmoid(real_logits), torch.ones_like(real_logits))"),
        (D_FAKE, "fake = F.binary_cross_entropy(torch.sigmoid(fake_logits), torch.zeros_like(fake_logits))")]},
      "c", ("+-30", "binary_cross_entropy_with_logits"), hidden_only=True),
    M("swapped labels, with a sigmoid discriminator", "sigmoid_d", {"losses.py": [
        ("criterion(real, torch.ones_like(real)) + criterion(fake, torch.zeros_like(fake))",
         "criterion(real, torch.zeros_like(real)) + criterion(fake, torch.ones_like(fake))")]},
      "c", ("labels are swapped", "fixed probabilities", "reads your losses as taking probabilities")),
    # (d) one training step
    M("missing zero_grad (gradients accumulate)", "reference", {"step.py": step_file(
        D_THEN_G.replace("    opt_d.zero_grad()\n", "").replace("    opt_g.zero_grad()\n", ""))},
      "d", ("accumulate", "zero_grad")),
    M("no opt_g.step()", "reference", {"step.py": step_file(D_THEN_G.replace("    opt_g.step()\n", ""))}, "d",
      ("opt_g.step() was never called",)),
    M("model.eval() inside the step", "reference", {"step.py": step_file("generator.eval()\ndiscriminator.eval()\n"
                                                                         + textwrap.dedent(D_THEN_G))},
      "d", ("eval mode", "must not change module modes")),
    M("D scored in eval mode, switched back", "reference", {"step.py": step_file(D_THEN_G.replace(
        "    opt_d.step()\n", "    opt_d.step()\n    discriminator.eval()\n").replace(
        "    g_loss.backward()\n", "    discriminator.train()\n    g_loss.backward()\n"))},
      "d", ("ran a network in eval mode",)),
    M("fake not detached, where it matters", "reference", {"step.py": step_file("""
        opt_d.zero_grad()
        opt_g.zero_grad()
        fake = generator(noise)
        d_loss = discriminator_loss(discriminator(real), discriminator(fake))
        d_loss.backward(retain_graph=True)
        opt_d.step()
        g_loss = generator_loss(discriminator(fake))
        g_loss.backward()
        opt_g.step()
        return d_loss.detach(), g_loss.detach()
    """)}, "d", ("not detached", "fake.detach()")),
    M("both backward passes before both steps", "reference", {"step.py": step_file("""
        fake = generator(noise)
        d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
        g_loss = generator_loss(discriminator(fake))
        opt_d.zero_grad()
        opt_g.zero_grad()
        d_loss.backward()
        g_loss.backward()
        opt_d.step()
        opt_g.step()
        return d_loss.detach(), g_loss.detach()
    """)}, "d", ("PLUS that of generator_loss",)),
    M("G's loss backpropagated through D's pre-step graph", "reference", {"step.py": step_file("""
        fake = generator(noise)
        fake_logits = discriminator(fake)
        opt_d.zero_grad()
        d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = generator_loss(fake_logits)
        g_loss.backward()
        opt_g.step()
        return d_loss.detach(), g_loss.detach()
    """)}, "d", ("modified by an inplace operation", "after opt_d.step()")),
    M("fresh noise inside the step", "reference", {"step.py": step_file(D_THEN_G.replace(
        "fake = generator(noise)", "fake = generator(torch.randn_like(noise))"))}, "d", ("own noise", "randn")),
    M("returns .item() floats", "reference", {"step.py": step_file(D_THEN_G.replace(
        "return d_loss.detach(), g_loss.detach()", "return d_loss.item(), g_loss.item()"))}, "d",
      ("Python float", ".detach()")),
    M("returns losses attached to the graph", "reference", {"step.py": step_file(D_THEN_G.replace(
        "return d_loss.detach(), g_loss.detach()", "return d_loss, g_loss"))}, "d", ("requires_grad", ".detach()")),
    M("returns (g_loss, d_loss)", "reference", {"step.py": step_file(D_THEN_G.replace(
        "return d_loss.detach(), g_loss.detach()", "return g_loss.detach(), d_loss.detach()"))}, "d",
      ("discriminator first",)),
    M("prints the losses (host sync)", "reference", {"step.py": step_file(D_THEN_G.replace(
        "    return d_loss", "    print(f'd {d_loss.item():.3f}')\n    return d_loss"))}, "d", ("item", "host")),
    M("zero_grad between backward and step", "reference", {"step.py": step_file(D_THEN_G.replace(
        "    opt_g.zero_grad()\n", "").replace("    opt_g.step()\n", "    opt_g.zero_grad()\n    opt_g.step()\n"))},
      "d", ("had no gradient", "not between backward() and step()")),
    M("a new optimiser inside the step", "reference", {"step.py": step_file(D_THEN_G.replace(
        "    opt_d.zero_grad()\n", "    opt_d = torch.optim.SGD(discriminator.parameters(), lr=0.01)\n    opt_d.zero_grad()\n"))},
      "d", ("never called", "optimiser passed in")),
    M("labels sized for the public batch of 6", "reference", {"step.py": step_file("""
        bce = torch.nn.BCEWithLogitsLoss()
        ones, zeros = torch.ones(6), torch.zeros(6)
        fake = generator(noise)
        opt_d.zero_grad()
        d_loss = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = bce(discriminator(fake), ones)
        g_loss.backward()
        opt_g.step()
        return d_loss.detach(), g_loss.detach()
    """)}, "d", ("must be the same as input size",), hidden_only=True),
    M("sigmoid applied to D's logits in the step", "reference", {"step.py": step_file(D_THEN_G.replace(
        "discriminator_loss(discriminator(real), discriminator(fake.detach()))",
        "discriminator_loss(torch.sigmoid(discriminator(real)), torch.sigmoid(discriminator(fake.detach())))"))},
      "d", ("sigmoid(D(x))", "take logits")),
    # (e) samples
    M("generator ignores the noise", "reference", {"model.py": [(G_FORWARD, G_FORWARD.replace("self.project(z)",
                                                                                             "self.project(torch.zeros_like(z))"))]},
      "e", ("barely depend on the noise",)),
    M("fresh noise inside the generator", "reference", {"model.py": [(G_FORWARD, G_FORWARD.replace(
        "self.project(z)", "self.project(z + 0.1 * torch.randn_like(z))"))]}, "e", ("randomness of its own",)),
    M("batch size hard-coded in the generator", "reference", {"model.py": [(G_FORWARD, G_FORWARD.replace("-1, 256", "16, 256"))]},
      "e", ("never a fixed number",)),
]
