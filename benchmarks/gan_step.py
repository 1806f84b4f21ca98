"""Problem 3: time of one DCGAN training step, dlcourse's trainer vs a naive PyTorch loop.

Both paths run the same networks and the same :func:`dlcourse.gan.step.train_step` (so the maths is
identical); they differ in everything around it:

* **dlcourse**: the training images live in one resident tensor on the device, batches are index
  slices of it, the noise of an epoch is drawn at once, losses go into a preallocated tensor and the
  host reads them once at the end (no per-step ``.item()``);
* **naive**: torchvision's ``FashionMNIST`` dataset with ``ToTensor`` + ``Normalize`` through a
  ``DataLoader`` (PIL decode, per-image transforms, collate, host-to-device copy every step), fresh
  noise every step and ``.item()`` on both losses every step (a host sync on a GPU).

On a CPU the step itself is compute-bound (convolutions' forward and backward), so the data path
matters little; ``--profile`` shows where the time goes and compares the achieved FLOP rate with
the cores' peak. On CUDA the syncs and copies of the naive loop matter far more, and ``--cuda-graph``
additionally times the trainer's CUDA path, the whole step replayed as one CUDA graph
(:mod:`dlcourse.gan.graphed`, Adam with ``capturable=True``).

    python benchmarks/gan_step.py --steps 20 --threads 2           # CPU
    python benchmarks/gan_step.py --steps 20 --profile             # + torch.profiler and FLOP count
    python benchmarks/gan_step.py --device cuda --cuda-graph       # GPU (needs CUDA)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from dlcourse.gan.losses import make_optimizers
from dlcourse.gan.model import Discriminator, Generator
from dlcourse.gan.spec import NOISE_DIM
from dlcourse.gan.step import train_step
from dlcourse.io import device_name


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fresh_models(device: torch.device, seed: int = 0):
    torch.manual_seed(seed)
    return Generator().to(device), Discriminator().to(device)


def time_dlcourse(steps: int, warmup: int, batch: int, device: torch.device) -> list[float]:
    """The trainer's inner loop on the CPU (dlcourse/gan/train.py): resident data, one host read at the end."""
    from dlcourse.data import fashion_mnist

    images, _ = fashion_mnist.tensors(train=True, limit=(steps + warmup) * batch)
    gen = torch.Generator().manual_seed(0)
    g, d = fresh_models(device)
    opt_g, opt_d = make_optimizers(g, d)
    perm = torch.randperm(len(images), generator=gen)
    noise = torch.randn(steps + warmup, batch, NOISE_DIM, generator=gen)
    hist = torch.zeros(steps + warmup, 2)
    times = []
    for i in range(steps + warmup):
        t0 = time.perf_counter()
        idx = perm[i * batch:(i + 1) * batch]
        hist[i, 0], hist[i, 1] = train_step(g, d, opt_g, opt_d, images[idx], noise[i])
        times.append(time.perf_counter() - t0)
    return times[warmup:]


def time_dlcourse_cuda(steps: int, warmup: int, batch: int, device: torch.device) -> float:
    """Mean seconds per step on CUDA without per-step syncs (one sync around the timed block)."""
    from dlcourse.data import fashion_mnist

    images, _ = fashion_mnist.tensors(train=True, limit=(steps + warmup) * batch)
    images = images.to(device)
    g, d = fresh_models(device)
    opt_g, opt_d = make_optimizers(g, d)
    perm = torch.randperm(len(images), device=device)
    noise = torch.randn(steps + warmup, batch, NOISE_DIM, device=device)
    hist = torch.zeros(steps + warmup, 2, device=device)
    for i in range(warmup):
        hist[i, 0], hist[i, 1] = train_step(g, d, opt_g, opt_d, images[perm[i * batch:(i + 1) * batch]], noise[i])
    sync(device)
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        hist[i, 0], hist[i, 1] = train_step(g, d, opt_g, opt_d, images[perm[i * batch:(i + 1) * batch]], noise[i])
    sync(device)
    return (time.perf_counter() - t0) / steps


def time_cuda_graph(steps: int, warmup: int, batch: int, device: torch.device) -> float:
    """The trainer's CUDA path: :class:`dlcourse.gan.graphed.GraphedStep` (warm-up, capture, replays).

    Timed per replay including what the trainer does around it: the index-select of the batch into
    the static buffer and the noise copy; one sync around the timed block.
    """
    from dlcourse.data import fashion_mnist
    from dlcourse.gan.graphed import GraphedStep

    images, _ = fashion_mnist.tensors(train=True, limit=(steps + warmup + 1) * batch)
    images = images.to(device)
    g, d = fresh_models(device)
    opt_g, opt_d = make_optimizers(g, d)
    step = GraphedStep(g, d, opt_g, opt_d, batch, device, step=train_step, warmup=max(3, warmup))
    perm = torch.randperm(len(images), device=device)
    noise = torch.randn(steps + step.warmup + 1, batch, NOISE_DIM, device=device)
    hist = torch.zeros(steps + step.warmup + 1, 2, device=device)
    for i in range(step.warmup + 1):  # eager warm-up steps, then the capture and the first replay
        hist[i, 0], hist[i, 1] = step(images, perm[i * batch:(i + 1) * batch], noise[i])
    sync(device)
    t0 = time.perf_counter()
    for i in range(step.warmup + 1, step.warmup + 1 + steps):
        hist[i, 0], hist[i, 1] = step(images, perm[i * batch:(i + 1) * batch], noise[i])
    sync(device)
    assert step.replays == steps + 1, "every timed step must be a graph replay"
    return (time.perf_counter() - t0) / steps


def time_naive(steps: int, warmup: int, batch: int, device: torch.device) -> list[float]:
    """The textbook loop: torchvision dataset + DataLoader + transforms, .item() every step."""
    from torch.utils.data import DataLoader
    from torchvision import transforms

    from dlcourse.data import fashion_mnist

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    loader = DataLoader(fashion_mnist.dataset(train=True, transform=tf), batch_size=batch, shuffle=True,
                        num_workers=0, drop_last=True)
    g, d = fresh_models(device)
    opt_g, opt_d = make_optimizers(g, d)
    times, log = [], []
    it = iter(loader)
    for _ in range(steps + warmup):
        t0 = time.perf_counter()
        real, _ = next(it)
        real = real.to(device)
        noise = torch.randn(batch, NOISE_DIM, device=device)
        d_loss, g_loss = train_step(g, d, opt_g, opt_d, real, noise)
        log.append((d_loss.item(), g_loss.item()))  # a host sync per step on a GPU
        times.append(time.perf_counter() - t0)
    return times[warmup:]


def step_flops(batch: int) -> int:
    """FLOPs of one training step (forward and backward of both networks), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    g, d = fresh_models(torch.device("cpu"))
    opt_g, opt_d = make_optimizers(g, d)
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    with FlopCounterMode(display=False) as counter:
        train_step(g, d, opt_g, opt_d, real, torch.randn(batch, NOISE_DIM))
    return counter.get_total_flops()


def profile_table(batch: int, steps: int = 3) -> str:
    """torch.profiler: the operators that take the CPU time of a few dlcourse steps."""
    from torch.profiler import ProfilerActivity, profile

    g, d = fresh_models(torch.device("cpu"))
    opt_g, opt_d = make_optimizers(g, d)
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    train_step(g, d, opt_g, opt_d, real, torch.randn(batch, NOISE_DIM))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            train_step(g, d, opt_g, opt_d, real, torch.randn(batch, NOISE_DIM))
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--cuda-graph", action="store_true", help="also time the step replayed as a CUDA graph")
    p.add_argument("--profile", action="store_true", help="torch.profiler table and FLOP rate (CPU)")
    p.add_argument("--json", help="write the results to this file")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    res = {"device": device_name(device), "batch": args.batch, "steps": args.steps,
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    # alternate the two paths twice so that drifting background load hits both alike
    naive, ours = [], []
    for _ in range(2):
        naive += time_naive(args.steps // 2, args.warmup, args.batch, device)
        if device.type == "cuda":
            ours.append(time_dlcourse_cuda(args.steps // 2, args.warmup, args.batch, device))
        else:
            ours += time_dlcourse(args.steps // 2, args.warmup, args.batch, device)
    res["naive_s_per_step"] = statistics.median(naive)
    res["dlcourse_s_per_step"] = statistics.median(ours)
    res["speedup"] = res["naive_s_per_step"] / res["dlcourse_s_per_step"]
    if args.cuda_graph:
        if device.type != "cuda":
            raise SystemExit("--cuda-graph needs --device cuda")
        res["cuda_graph_s_per_step"] = time_cuda_graph(args.steps, args.warmup, args.batch, device)
        res["cuda_graph_speedup_vs_naive"] = res["naive_s_per_step"] / res["cuda_graph_s_per_step"]
    print(f"device: {res['device']}  batch {args.batch}  threads {res['threads']}")
    print(f"naive loop   : {res['naive_s_per_step'] * 1e3:8.1f} ms/step  ({1 / res['naive_s_per_step']:.2f} steps/s)")
    print(f"dlcourse step: {res['dlcourse_s_per_step'] * 1e3:8.1f} ms/step  "
          f"({1 / res['dlcourse_s_per_step']:.2f} steps/s)  speedup {res['speedup']:.2f}x")
    if "cuda_graph_s_per_step" in res:
        print(f"CUDA graph   : {res['cuda_graph_s_per_step'] * 1e3:8.2f} ms/step  "
              f"speedup vs naive {res['cuda_graph_speedup_vs_naive']:.2f}x")
    if args.profile:
        flops = step_flops(args.batch)
        res["gflop_per_step"] = flops / 1e9
        res["achieved_gflops"] = flops / 1e9 / res["dlcourse_s_per_step"]
        print(f"FLOPs per step (torch.utils.flop_counter): {flops / 1e9:.1f} GFLOP -> "
              f"{res['achieved_gflops']:.1f} GFLOP/s achieved")
        if device.type == "cpu":
            print(profile_table(args.batch))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
