"""Problem 3: are same-seed ``dlcourse gan train`` runs bit-identical on the default CPU path?

One uninterrupted reference run, then ``--runs`` more runs of the same command, each compared bit for
bit with the reference: every tensor of ``checkpoint.pt`` (both networks, both Adam states, the RNG
states) and ``losses.csv`` byte for byte. A share of the runs (``--kill-share``) is SIGKILLed at a
random moment (uniform over 5-85 % of the latest whole run's wall time, so kills land before the
first checkpoint, mid-epoch and during saves) and then resumed with ``--resume``; the others run
uninterrupted, which tests plain same-seed repeatability. ``--beside-torch`` runs a concurrent
2-thread torch job (convolutions and matrix products) for the whole benchmark, like a notebook or a
book build beside the training.

Every run is a real ``python -m dlcourse.cli gan train`` process of this tree (``--code DIR``: of
another source tree, e.g. an older commit, for before/after comparisons) with the CLI's default
threads unless ``--threads`` is given. ``--env KEY=VALUE`` adds environment variables for every
training process, ``--resume-env KEY=VALUE`` for the resumed ones only (a resume in another
environment, e.g. ``OMP_NUM_THREADS=1``).

    nice -n 5 python benchmarks/gan_reproducibility.py --runs 12                 # the default path
    nice -n 5 python benchmarks/gan_reproducibility.py --runs 12 --beside-torch
    nice -n 5 python benchmarks/gan_reproducibility.py --runs 4 --kill-share 1 --resume-env OMP_NUM_THREADS=1
    nice -n 5 python benchmarks/gan_reproducibility.py --cost --rounds 3        # step time of each setting

Prints one line per run (kind, kill time, identical or the first differing ``losses.csv`` row) and a
summary with the machine (``dlcourse.io.device_name()``), the load average before and after, and the
counts; exits 1 when any run differed. ``--cost`` instead times the training step (batch 64) under
each reproducibility setting in alternating child processes and reports whether each setting changes
the bits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

BESIDE = """
import torch
torch.set_num_threads(2)
a = torch.randn(384, 384)
x = torch.randn(16, 64, 28, 28)
w = torch.randn(64, 64, 5, 5)
while True:
    for _ in range(20):
        a = torch.tanh(a @ a)
    torch.nn.functional.conv2d(x, w, padding=2).sum()
"""


def train_cmd(args: argparse.Namespace, out: Path, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "dlcourse.cli", "gan", "train", "--epochs", str(args.epochs), "--subset",
           str(args.subset), "--seed", str(args.seed), "--device", "cpu", "--quiet", "--out", str(out)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if resume:
        cmd.append("--resume")
    return cmd


REPO = Path(__file__).resolve().parents[1]


def run_env(args: argparse.Namespace, resume: bool = False) -> dict:
    """The training processes' environment: this tree (or ``--code``) first on the path, plus ``--env``."""
    env = dict(os.environ)
    code = str(Path(args.code).resolve() if args.code else REPO)
    env["PYTHONPATH"] = os.pathsep.join([code, *filter(None, [os.environ.get("PYTHONPATH")])])
    for item in args.env + (args.resume_env if resume else []):
        key, _, value = item.partition("=")
        env[key] = value
    return env


def train(args: argparse.Namespace, out: Path, resume: bool = False, kill_after: float | None = None) -> tuple[bool, float]:
    """Run one training process; SIGKILL it after ``kill_after`` s. Returns (was killed, seconds)."""
    t0 = time.monotonic()
    # cwd outside any checkout: `python -m` puts the cwd first on sys.path, ahead of PYTHONPATH
    proc = subprocess.Popen(train_cmd(args, out, resume), env=run_env(args, resume), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=out.parent)
    try:
        output = proc.communicate(timeout=kill_after)[0]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        return True, time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"training failed ({proc.returncode}):\n{output}")
    return False, time.monotonic() - t0


def fingerprint(out: Path) -> dict:
    """Per-tensor SHA-1 of checkpoint.pt (networks, Adam states, RNG states) and losses.csv's rows."""
    ckpt = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    hashes = {}

    def walk(prefix: str, obj) -> None:
        if isinstance(obj, torch.Tensor):
            hashes[prefix] = hashlib.sha1(obj.reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()
        elif isinstance(obj, dict):
            for k in sorted(obj, key=str):
                walk(f"{prefix}.{k}", obj[k])
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(f"{prefix}.{i}", v)

    for key in ("generator", "discriminator", "opt_g", "opt_d", "rng"):
        walk(key, ckpt[key])
    rows = (out / "losses.csv").read_text().splitlines()
    return {"epoch": ckpt["epoch"], "tensors": hashes, "losses": rows}


def compare(ref: dict, got: dict) -> dict:
    """Which tensors differ, and the first differing losses.csv row (epoch, step, reference, this run)."""
    tensors = sorted(k for k in ref["tensors"] if ref["tensors"][k] != got["tensors"].get(k))
    first = None
    for a, b in zip(ref["losses"], got["losses"]):
        if a != b:
            first = {"reference": a, "this run": b}
            break
    if first is None and len(ref["losses"]) != len(got["losses"]):
        first = {"reference": f"{len(ref['losses'])} rows", "this run": f"{len(got['losses'])} rows"}
    return {"identical": not tensors and first is None and ref["epoch"] == got["epoch"],
            "differing_tensors": len(tensors), "first_differing_loss_row": first}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- cost of the reproducibility settings: step time side by side -----------------------------------

#: (label, extra environment, what the child process sets up before timing)
COST_VARIANTS = [
    ("default (no settings: the trainer before reproducibility.configure)", {}, ""),
    ("reproducibility.configure()", {}, "configure"),
    ("configure() + torch.use_deterministic_algorithms(True)", {}, "configure,det"),
    ("configure() + torch.backends.mkldnn.deterministic = True", {}, "configure,mkldnn"),
    ("configure() + MKL_CBWR=COMPATIBLE", {"MKL_CBWR": "COMPATIBLE"}, "configure"),
    ("configure() + MKL_CBWR=AUTO,STRICT", {"MKL_CBWR": "AUTO,STRICT"}, "configure"),
    ("1 thread (tests/test_gan_resume.py)", {}, "threads1"),
]


def cost_child(setup: str, steps: int, warmup: int) -> None:
    """Time ``steps`` DCGAN training steps (batch 64) after ``setup``; print times and a weights hash."""
    from dlcourse import reproducibility
    from dlcourse.data import fashion_mnist
    from dlcourse.gan.losses import make_optimizers
    from dlcourse.gan.model import NOISE_DIM, Discriminator, Generator
    from dlcourse.gan.step import train_step

    options = set(filter(None, setup.split(",")))
    if "threads1" in options:
        torch.set_num_threads(1)
    if "configure" in options:
        reproducibility.configure()
    if "det" in options:
        torch.use_deterministic_algorithms(True)
    if "mkldnn" in options:
        torch.backends.mkldnn.deterministic = True
    total = steps + warmup
    images, _ = fashion_mnist.tensors(train=True, limit=total * 64)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    g, d = Generator(), Discriminator()
    opt_g, opt_d = make_optimizers(g, d)
    perm = torch.randperm(len(images), generator=gen)
    noise = torch.randn(total, 64, NOISE_DIM, generator=gen)
    times = []
    for i in range(total):
        t0 = time.perf_counter()
        train_step(g, d, opt_g, opt_d, images[perm[i * 64:(i + 1) * 64]], noise[i])
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    h = hashlib.sha1()
    for t in [*g.state_dict().values(), *d.state_dict().values()]:
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    print(json.dumps({"times": times, "hash": h.hexdigest()[:12], "threads": torch.get_num_threads()}))


def cost(args: argparse.Namespace) -> int:
    """Alternate the variants (one child process each) for ``--rounds`` rounds; median ms per step."""
    import statistics

    from dlcourse.io import device_name

    times: dict[str, list[float]] = {label: [] for label, _, _ in COST_VARIANTS}
    hashes: dict[str, set[str]] = {label: set() for label, _, _ in COST_VARIANTS}
    load_before = loadavg()
    for _ in range(args.rounds):
        for label, env, setup in COST_VARIANTS:
            out = subprocess.run([sys.executable, __file__, "--cost-child", setup, "--steps", str(args.steps)],
                                 env={**run_env(args), **env}, capture_output=True, text=True, check=True,
                                 cwd=tempfile.gettempdir())
            result = json.loads(out.stdout.strip().splitlines()[-1])
            times[label] += result["times"]
            hashes[label].add(result["hash"])
    base = statistics.median(times[COST_VARIANTS[0][0]])
    default_hash = hashes[COST_VARIANTS[0][0]]
    rows = []
    base_min = min(times[COST_VARIANTS[0][0]])
    # on a shared machine the median carries the other jobs' load; the minimum is the least disturbed step
    print(f"| setting | median ms / step ({args.rounds} x {args.steps}) | vs default | min ms / step | vs default "
          f"| weights after {args.steps + 2} steps |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for label, _, _ in COST_VARIANTS:
        med, low = statistics.median(times[label]), min(times[label])
        same = ("same bits as default" if hashes[label] == default_hash else
                "other bits" if len(hashes[label]) == 1 else "DIFFER between rounds")
        rows.append({"setting": label, "ms_per_step": round(1000 * med, 1), "ratio": round(med / base, 3),
                     "min_ms_per_step": round(1000 * low, 1), "min_ratio": round(low / base_min, 3),
                     "bits": same, "hashes": sorted(hashes[label])})
        print(f"| {label} | {1000 * med:.1f} | {med / base:.2f}x | {1000 * low:.1f} | {low / base_min:.2f}x | {same} |")
    summary = {"device": device_name(), "torch": torch.__version__, "rounds": args.rounds, "steps": args.steps,
               "load_before": load_before, "load_after": loadavg()}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=12, help="runs compared with the reference (default 12)")
    p.add_argument("--kill-share", type=float, default=0.5, help="share of runs SIGKILLed then resumed")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--subset", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="--threads for the trainer (default: the CLI's)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the training processes (repeatable)")
    p.add_argument("--resume-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the resumed processes only, e.g. OMP_NUM_THREADS=1")
    p.add_argument("--code", default=None, metavar="DIR",
                   help="run the trainer from this source tree (PYTHONPATH), e.g. an older commit's")
    p.add_argument("--beside-torch", action="store_true", help="run a 2-thread torch job beside the runs")
    p.add_argument("--random-seed", type=int, default=None, help="seed of the kill times (default: random)")
    p.add_argument("--keep", action="store_true", help="keep the run folders (printed)")
    p.add_argument("--json", type=Path, default=None, help="write the raw results here")
    p.add_argument("--cost", action="store_true",
                   help="instead: time the training step under each reproducibility setting")
    p.add_argument("--rounds", type=int, default=3, help="--cost: rounds over the settings")
    p.add_argument("--steps", type=int, default=8, help="--cost: timed steps per child (after 2 warm-up)")
    p.add_argument("--cost-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cost_child is not None:
        cost_child(args.cost_child, args.steps, warmup=2)
        return 0
    if args.cost:
        return cost(args)

    from dlcourse.io import device_name

    rnd = random.Random(args.random_seed)
    root = Path(tempfile.mkdtemp(prefix="gan_repro_"))
    beside = None
    if args.beside_torch:
        beside = subprocess.Popen([sys.executable, "-c", BESIDE], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    results, load_before = [], loadavg()
    try:
        _, ref_seconds = train(args, root / "reference")
        run_seconds = ref_seconds  # the latest whole run's wall time: kills are placed within it
        ref = fingerprint(root / "reference")
        print(f"reference run: {ref_seconds:.1f} s, {len(ref['losses']) - 1} steps, load {loadavg()}", flush=True)
        for i in range(args.runs):
            out = root / f"run{i:02d}"
            record = {"run": i, "load_at_start": loadavg()}
            if rnd.random() < args.kill_share:
                kill_at = rnd.uniform(0.05, 0.85) * run_seconds
                killed, seconds = train(args, out, kill_after=kill_at)
                if not killed:
                    run_seconds = seconds
                done = json.loads((out / "metrics.json").read_text())["epochs_done"] if (
                    out / "metrics.json").exists() else 0
                record.update(kind="killed+resumed" if killed else "kill came too late", kill_at_s=round(kill_at, 1),
                              epochs_checkpointed_at_kill=done,
                              # dlcourse.reproducibility's record (thread count) was written before the kill
                              threads_recorded_at_kill=(out / "reproducibility.json").exists())
                train(args, out, resume=True)
            else:
                record["kind"] = "uninterrupted"
                _, run_seconds = train(args, out)
            record.update(compare(ref, fingerprint(out)))
            record["load_at_end"] = loadavg()
            results.append(record)
            extra = (f" kill at {record['kill_at_s']} s (epochs checkpointed {record['epochs_checkpointed_at_kill']}"
                     f"{', threads recorded' if record['threads_recorded_at_kill'] else ''})"
                     if "kill_at_s" in record else "")
            verdict = ("identical" if record["identical"] else
                       f"DIFFERS: {record['differing_tensors']} tensors, first loss row {record['first_differing_loss_row']}")
            print(f"run {i:2d} {record['kind']:>15s}{extra}: {verdict}  (load {record['load_at_end']})", flush=True)
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if beside is not None:
            beside.kill()
            beside.wait()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    differ = [r for r in results if not r["identical"]]
    summary = {
        "device": device_name(), "torch": torch.__version__, "threads": args.threads or "CLI default",
        "env": args.env, "resume_env": args.resume_env, "code": args.code or "this tree",
        "beside_torch": args.beside_torch, "epochs": args.epochs, "subset": args.subset,
        "runs": len(results), "killed_and_resumed": sum(r["kind"] == "killed+resumed" for r in results),
        "differing": len(differ), "differing_uninterrupted": sum(r["kind"] == "uninterrupted" for r in differ),
        "load_before": load_before, "load_after": loadavg(), "reference_seconds": round(ref_seconds, 1),
    }
    print(json.dumps(summary))
    if args.keep:
        print(f"run folders kept in {root}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": results}, indent=1))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
