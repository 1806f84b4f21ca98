"""The DCGAN training step replayed as one CUDA graph: the trainer's fast path on a GPU.

One step of this small network launches a few hundred tiny kernels, so on a GPU their launch
overhead, not the arithmetic, sets the speed (on an H200: 4.1 ms per eager step against 1.2 ms
replayed; ``benchmarks/RESULTS.md``). A CUDA graph records the kernels of one step once and replays
them with a single launch. What that needs, and how it is met here:

* **static inputs**: the batch and the noise are copied into buffers the graph was recorded with
  (an index-select straight into the image buffer, no temporary);
* **no host synchronisation inside the step**: the training step (the student's or the reference's,
  whichever the trainer was given) returns tensors and never calls ``.item()``. A step that does
  cannot be recorded: the trainer then says so once and runs every step eagerly (slower, same
  result);
* **Adam with** ``capturable=True``: its step counters live on the GPU, so a replay advances them
  (:func:`set_capturable`);
* **warm-up before capture**: the first ``warmup`` steps run eagerly on a side stream. They are real
  training steps on real batches (nothing is thrown away); they create Adam's state and let cuDNN
  pick its algorithms. Recording itself executes nothing.

Dropout stays random in every replay: PyTorch's CUDA generator advances its Philox offset per replay.
A batch of another size (the last, partial batch of an epoch) runs eagerly; the graph is unaffected.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dlcourse.gan.spec import IMAGE_SHAPE, NOISE_DIM


def set_capturable(optimizer: torch.optim.Optimizer, flag: bool) -> None:
    """Put an Adam optimiser in or out of capturable mode, moving its step counters to match.

    Capturable Adam keeps each parameter's ``step`` on the parameter's device (a replayed graph must
    update it); the default mode keeps it on the CPU. Moving the counters lets a checkpoint written
    in either mode resume in either (a GPU run resumed on a CPU, or the reverse).
    """
    for group in optimizer.param_groups:
        group["capturable"] = flag
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and torch.is_tensor(state.get("step")):
                state["step"] = state["step"].to(p.device if flag else torch.device("cpu"))


class GraphedStep:
    """A training ``step`` for full batches of ``batch_size``, captured once and replayed.

    ``step(images, idx, noise)`` with the resident training images ``(N, 1, 28, 28)``, the batch's
    indices ``idx`` ``(batch_size,)`` (int64, same device) and ``noise`` ``(batch_size, 100)`` updates
    both networks and returns ``(d_loss, g_loss)``, 0-d tensors. After capture they are the graph's
    output buffers, overwritten by the next replay: copy them (``hist[i] = d_loss``) before calling again.
    ``active`` turns false when the step could not be recorded; the caller then runs it eagerly.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, opt_g: torch.optim.Adam,
                 opt_d: torch.optim.Adam, batch_size: int, device: torch.device, *, step: Callable,
                 warmup: int = 3, quiet: bool = False) -> None:
        if torch.device(device).type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA device, got {device}")
        self.nets = (generator, discriminator, opt_g, opt_d)
        for opt in (opt_g, opt_d):
            set_capturable(opt, True)
        self.batch_size, self.device, self.warmup, self.step = batch_size, torch.device(device), warmup, step
        self.real = torch.zeros(batch_size, *IMAGE_SHAPE, device=self.device)
        self.noise = torch.zeros(batch_size, NOISE_DIM, device=self.device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.losses: tuple[torch.Tensor, torch.Tensor] | None = None
        self.eager_steps = 0
        self.replays = 0
        self.active = True
        self.quiet = quiet
        self._side = torch.cuda.Stream(self.device)

    def _eager(self, real: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One ordinary step on the side stream (warm-up before capture)."""
        main = torch.cuda.current_stream(self.device)
        self._side.wait_stream(main)
        with torch.cuda.stream(self._side):
            out = self.step(*self.nets, real, noise)
        main.wait_stream(self._side)
        self.eager_steps += 1
        return out

    def _capture(self) -> bool:
        """Record one step; ``False`` (and eager steps from now on) when the step cannot be recorded."""
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.losses = self.step(*self.nets, self.real, self.noise)
        except RuntimeError as e:  # e.g. .item() or print(tensor) inside the step: a host sync while capturing
            self.active = False
            for opt in self.nets[2:]:
                set_capturable(opt, False)
            if not self.quiet:
                print(f"note: the training step cannot be replayed as a CUDA graph ({str(e).splitlines()[0]}); "
                      "running it eagerly (slower, same results). A step that returns tensors and never calls "
                      ".item() can be graphed.", flush=True)
            return False
        self.graph = graph
        return True

    def __call__(self, images: torch.Tensor, idx: torch.Tensor, noise: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        if len(idx) != self.batch_size:
            raise ValueError(f"the graph was built for batches of {self.batch_size}, got {len(idx)}; "
                             "run partial batches with train_step")
        if self.graph is None and self.eager_steps < self.warmup:
            return self._eager(images[idx], noise)
        torch.index_select(images, 0, idx, out=self.real)
        self.noise.copy_(noise)
        if self.graph is None and not self._capture():  # recording runs nothing: do this step eagerly
            return self.step(*self.nets, images[idx], noise)
        self.graph.replay()
        self.replays += 1
        return self.losses
