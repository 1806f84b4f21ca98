"""Same seed, same run on the CPU: the process settings a trainer fixes before it computes anything.

A CPU training run of this package is a deterministic function of

* the code, the run's config (seed included) and the data,
* the **number of torch threads**, and
* the machine's numerics: the torch build (with its MKL and oneDNN) and the CPU instruction set
  its kernels dispatch to (``torch.backends.cpu.get_cpu_capability()``, e.g. AVX2 vs AVX-512).

The thread count is on the list because CPU kernels split work across threads and the split changes
the rounding: torch's batch-norm statistics of a ``(B, C)`` input (the generator's ``BatchNorm1d``
over ``(B, 12544)``) add one partial sum per thread, and element-wise kernels compute the last few
elements of each thread's chunk with scalar instead of vector code, which may round differently. With 1 and with 2 threads the
DCGAN's first step already gives different generator weights (``benchmarks/RESULTS.md``).

Three things can change the thread count, or the number of threads that really work, behind a run's
back; :func:`configure` removes each:

1. The **default thread count** comes from the environment (the CPUs the process may use,
   ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), and MKL may lower its own count at will
   (``MKL_DYNAMIC``, on by default). :func:`configure` sets the count explicitly with
   ``torch.set_num_threads``, which also turns MKL's dynamic adjustment off.
2. **OpenMP dynamic adjustment** (``OMP_DYNAMIC=true``): GNU OpenMP then sizes every parallel region
   by the machine's 15-minute load average (with 2 cores: 1 thread once it passes 0.9), so the same
   command computes differently on a busy and on an idle machine, while ``torch.get_num_threads()``
   still reports the full count. Not just other rounding: under load the DCGAN's losses were far off
   from the second step on, once ``nan`` (``benchmarks/RESULTS.md``). :func:`configure` calls
   ``omp_set_dynamic(0)`` in every OpenMP runtime loaded in the process. It is a run-time call, so it
   works after torch was imported (notebooks).
3. A **resume in another environment** (another ``--threads``, a notebook kernel whose thread count
   was changed, a container with fewer CPUs). The first call for a run folder records the thread count,
   the machine and a digest of the run's settings in ``<run>/reproducibility.json``; every later call
   for that folder and the same settings sets the recorded count again, also against an explicit
   ``--threads``, and says so on stderr when it differs from the one asked for. A record of other
   settings (a run that was killed before its first checkpoint, then replaced by another) is replaced.

Not needed, so not set (measured on the DCGAN step, ``benchmarks/RESULTS.md``):
``torch.use_deterministic_algorithms(True)`` and ``torch.backends.mkldnn.deterministic`` leave every
bit of the CPU step unchanged (they matter for kernels that use atomics, mostly on GPUs);
``MKL_CBWR`` gives other, not more reproducible, bits on one machine, costs time in its
``COMPATIBLE`` mode, and is read only when MKL starts.

Guarantee, with :func:`configure` called at the start of a run, before it computes anything (both
trainers do, so the CLI and the notebooks, which call ``train``, are covered): on one machine with one
torch build, two CPU runs with the same config, parts, data and thread count, each fresh or killed at
any moment and resumed (any number of times, in any thread environment: ``--threads``,
``OMP_NUM_THREADS``, ``OMP_DYNAMIC``, fewer CPUs), produce bit-identical weights, optimizer states,
RNG states and ``losses.csv``, whatever the machine's load, also beside other torch jobs
(``tests/test_gan_resume.py``, ``tests/test_reproducibility.py``, the stress runs of
``benchmarks/gan_reproducibility.py`` in ``benchmarks/RESULTS.md``). This holds for parts that draw
their randomness from torch's global generator only, as the homework's do. A run's thread count is the
one its first process records; runs with different thread counts are different runs (equivalent, not
identical).

Not guaranteed, by design of the libraries underneath:

* other machines or builds: another CPU instruction set or cache sizes (oneDNN and MKL choose kernels
  and blockings by them) or another torch/MKL/oneDNN version give other bits. A run resumed there
  continues correctly (same seed stream, same data order), but not bit for bit; :func:`configure`
  prints a note when the recorded machine differs;
* CUDA: GPU kernels (cuDNN algorithm choice, atomics in backward passes) are not covered here;
* code that calls MKL on views at odd offsets: MKL's GEMM results depend on where its operands start
  modulo 16 bytes. Every tensor torch allocates is 64-byte aligned, so the trainers never meet this.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

RECORD = "reproducibility.json"
_OPENMP_LIBS = ("libgomp", "libiomp5", "libomp")  # GNU, Intel and LLVM OpenMP runtimes


@dataclass(frozen=True)
class Machine:
    """What, besides the thread count, decides a CPU run's bits: the torch build and the CPU."""

    torch: str
    cpu_capability: str  # the instruction set torch's own kernels use, e.g. "AVX2"
    cpu: str  # model name: oneDNN and MKL also pick kernels by cache sizes


@dataclass(frozen=True)
class Settings:
    """What :func:`configure` fixed for this process."""

    threads: int
    machine: Machine
    openmp_runtimes: tuple[str, ...]  # paths of the runtimes whose dynamic adjustment was turned off


def configure(run_dir: str | os.PathLike | None = None, *, threads: int | None = None,
              run: dict | None = None, write: bool = True) -> Settings:
    """Fix this process's CPU thread settings for a reproducible run (see the module docstring).

    ``threads``: the count to use (default: the current ``torch.get_num_threads()``, i.e. the CLI's
    ``--threads`` or torch's default). ``run_dir``: the run folder; when it holds a record from an
    earlier call for the same run (the run is being resumed, or restarted after a kill before its
    first checkpoint), that record's thread count wins, so the run keeps the arithmetic it started
    with. ``run``: the settings that define the run (:attr:`dlcourse.runfolder.RunFolder.what`); a
    record made for other settings belongs to another run that left no checkpoint, and is replaced.
    With ``write`` (default) the record is written when the folder exists and has none of this run.

    Sets the process's torch thread count (a notebook keeps it after the call).
    """
    import torch

    machine = current_machine()
    asked = threads if threads is not None else torch.get_num_threads()
    digest = _digest(run) if run is not None else None
    record = _read_record(Path(run_dir)) if run_dir is not None else None
    if record is not None and digest is not None and record.get("run") != digest:
        record = None  # another run's leftover: this run starts with the count asked for
    chosen = asked
    if record is not None:
        chosen = int(record["threads"])
        if chosen != asked:
            _note(f"{run_dir} was started with {chosen} CPU thread(s); it continues with {chosen}, not {asked}, "
                  "so that it stays bit-identical to an uninterrupted run")
        started_on = Machine(**record["machine"])
        if started_on != machine:
            _note(f"{run_dir} was started on {_describe(started_on)}; this is {_describe(machine)}. The resumed run "
                  "is correct, but not bit-identical to one that ran on a single machine")
    if chosen < 1:
        from dlcourse.errors import ConfigError

        raise ConfigError(f"{chosen} CPU threads asked for: pass --threads N with N >= 1 (or leave it out)")
    torch.set_num_threads(chosen)  # also mkl_set_dynamic(0) in MKL builds
    runtimes = _disable_openmp_dynamic()
    settings = Settings(chosen, machine, runtimes)
    if write and run_dir is not None and record is None and Path(run_dir).is_dir():
        from dlcourse.io import write_json_atomic

        entry = {"threads": chosen, "machine": asdict(machine)}
        write_json_atomic(Path(run_dir) / RECORD, entry if digest is None else {**entry, "run": digest})
    return settings


def _digest(run: dict) -> str:
    """SHA-1 of a run's settings as canonical JSON (key order and tuples vs lists do not matter)."""
    return hashlib.sha1(json.dumps(run, sort_keys=True, default=str).encode()).hexdigest()


def current_machine() -> Machine:
    """This process's torch build and CPU, as recorded in ``reproducibility.json``."""
    import torch

    return Machine(torch=torch.__version__, cpu_capability=torch.backends.cpu.get_cpu_capability(),
                   cpu=_cpu_model())


def _read_record(run_dir: Path) -> dict | None:
    path = run_dir / RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        Machine(**record["machine"])
        if int(record["threads"]) < 1:
            raise ValueError(f"threads {record['threads']} < 1")
        if not isinstance(record.get("run", ""), str):
            raise TypeError(f"run {record['run']!r} is not a digest")
        return record
    except (ValueError, KeyError, TypeError) as e:
        from dlcourse.errors import DlcourseError

        raise DlcourseError(f"{path} is not a reproducibility record written by dlcourse ({type(e).__name__}: {e}); "
                            "delete it to resume with the current thread settings") from e


def _disable_openmp_dynamic() -> tuple[str, ...]:
    """``omp_set_dynamic(0)`` in every OpenMP runtime mapped into this process; returns their paths.

    An ICV of the calling thread: it governs the parallel regions that this thread starts, which
    are all of torch's intra-op parallelism when the run's ops are issued from this thread.
    """
    done = []
    for path in _openmp_paths():
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LAZY", 0))
            lib.omp_set_dynamic(0)
        except (OSError, AttributeError):
            continue
        done.append(path)
    return tuple(done)


def _openmp_paths() -> list[str]:
    """Paths of the loaded OpenMP runtimes (``/proc/self/maps``), else their usual names."""
    try:
        with open("/proc/self/maps") as f:
            fields = [line.split(None, 5) for line in f]
    except OSError:  # not Linux: ask the loader for libraries already loaded under their usual names
        suffix = ".dylib" if sys.platform == "darwin" else ".so"
        return [name + suffix for name in _OPENMP_LIBS]
    paths = {f[5].strip() for f in fields if len(f) == 6 and f[5].startswith("/")}
    return sorted(p for p in paths if os.path.basename(p).startswith(_OPENMP_LIBS))


def _cpu_model() -> str:
    """``"AMD EPYC (family 23, model 49)"``: virtual machines often hide the model name's generation."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if not line.strip():
                    break  # the first processor is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    name = fields.get("model name", platform.machine())
    return f"{name} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"


def _describe(m: Machine) -> str:
    return f"{m.cpu} ({m.cpu_capability}, torch {m.torch})"


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr, flush=True)
