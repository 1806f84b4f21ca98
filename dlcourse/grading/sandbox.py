"""The sandbox around one probe: what a submission's code can and cannot do while it is graded.

The grader runs each check's probe in its own process (:mod:`dlcourse.grading.core`). Before the
student's code is loaded, that process enters the sandbox (:func:`enter`), in layers; the
grader's process prepares it and cleans up after it (:class:`Jail`).

Enforced by the kernel, so no code in the process can undo them (Linux):

* **memory**: ``RLIMIT_DATA`` (private writable memory: what tensors and arrays allocate) of
  :data:`MEMORY_LIMIT_GIB` per process; a bigger allocation fails and the check reports "used more
  than N GiB". ``RLIMIT_AS`` is not used: importing torch alone maps ~3.5 GB of address space
  (~0.9 GB data), so an address-space cap would either stop correct code or stop nothing.
  Also ``RLIMIT_FSIZE`` (files up to 256 MiB), ``RLIMIT_CPU`` and no core dumps.
* **network**: a seccomp filter refuses every socket except Unix ones (and io_uring, which can
  open sockets), wherever seccomp exists; a private network namespace with no interfaces when
  the kernel lets us create one.
* **other processes**: the seccomp filter also refuses ptrace, reading or writing another
  process's memory, and signals to any process but the probe itself.
* **files and identity**, depending on what the machine allows (:func:`enter` takes the best):

  ========================================  ==================================================
  grader runs as                            the probe
  ========================================  ==================================================
  root, namespaces allowed (CAP_SYS_ADMIN)  every mount read-only but its scratch folder, and a
                                            uid/gid of its own; a folder above Python that other
                                            users cannot search (``/root``) is replaced, in its
                                            mount namespace, by one showing only Python
  root in a container without namespaces    a uid/gid of its own (Gradescope's images: Python is
  (Docker's default, Gradescope)            readable by other users)
  root, neither (Python under ``/root``     uid 0 without capabilities: writes are refused by
  and no namespaces)                        the audit hook only; the grader warns once
  a user allowed user namespaces            every mount read-only but its scratch folder
  a user without them                       **the audit hook only** (a student's own machine)
  ========================================  ==================================================

  With a uid of its own (no user's; one per grader process, its probes running one after another, each
  started only once nothing of the previous one is left) ``RLIMIT_NPROC`` caps
  its processes and threads at :data:`MAX_TASKS`, and it reads only what other users may read:
  Python, the packages, the submission's copy (read-only).
* after the probe: the grader kills every process left in the probe's process group (and, with
  a uid of its own, every process of that uid), removes files that uid left in ``/tmp``,
  ``/var/tmp`` and ``/dev/shm``, and removes the scratch folder.

Enforced inside the process (they give clear messages, and they stop honest mistakes and
casual attempts, but native code - or Python that rewrites the interpreter's state - could get
around them, which the kernel layers above then still contain):

* importing a **reference solution module** (every ``dlcourse`` module with solution markers,
  from :func:`reference_modules`), the hidden checks or the answer keys (:data:`GRADER_ONLY`) fails,
  and so does opening their files (and a students' copy's stored answer key); a submission that
  imports them scores 0 on that check with a message that says why;
* an audit hook (:pep:`578`) refuses, with a message: writing, renaming or deleting files outside
  the scratch folder; sockets, name lookups and connections; starting processes (``fork``,
  ``subprocess``, ``os.system``, ``exec``); loading native libraries or reading raw memory with
  ``ctypes``; walking the garbage collector; rewriting a function's ``__code__``.

Not guaranteed: that a submission cannot *read* files its uid may read - with a uid of its own,
what other users may read, the reference, the hidden checks and the keys included unless the autograder
makes them readable by root only (:func:`restrict_reference_files`); as uid 0 without
capabilities, every file root owns. Nor a memory cap across processes (the cap is per process;
with a uid of its own at most :data:`MAX_TASKS` of them), nor that a probe leaves the CPU cores to
others until its timeout. What a probe returns is data: the grader reads it with JSON and
``weights_only`` only, so a probe can lie about its own results (which needs the right answers)
but cannot run code in the grader or claim a verdict.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.abc
import itertools
import os
import platform
import shutil
import signal
import stat
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GIB = 1 << 30
#: Memory cap of each probe process (RLIMIT_DATA): ~0.9 GiB goes to torch itself, and the reference
#: passes every check under 1 GiB; lowered to 60 % of the machine's (or container's) memory when smaller.
MEMORY_LIMIT_GIB = 4.0
#: Largest file a probe may write (RLIMIT_FSIZE).
FILE_SIZE_LIMIT = 256 << 20
#: Processes + threads of a probe with a uid of its own (RLIMIT_NPROC).
MAX_TASKS = 64
#: Unprivileged uids/gids for probes when the grader is root (inside the 65536 ids a container maps).
UID_RANGE = range(61000, 65000)
#: Where a probe's leftovers may lie (world-writable folders).
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")
#: The reference package; a submission mirrors its layout below this name.
REFERENCE_PACKAGE = "dlcourse"
#: Package of the hidden checks (other inputs, extra cases): in the autograder, never in a student's copy.
HIDDEN_PACKAGE = "dlcourse.grading.hidden"
#: Package of the answer keys (the expected values the judges compare with): never in a student's copy,
#: which holds the visible checks' keys as data (:data:`ANSWER_KEY_FILE`) instead.
KEY_PACKAGE = "dlcourse.grading.keys"
#: The visible checks' keys as data, relative to the package folder (written by ``dlcourse release``).
ANSWER_KEY_FILE = "grading/answer_key.pt"
#: What the grader keeps from the probes besides the reference solution modules: the hidden checks and the keys.
GRADER_ONLY = (HIDDEN_PACKAGE, KEY_PACKAGE)


class SandboxViolation(PermissionError):
    """Student code tried something the sandbox refuses; the message says what and why."""


class ReferenceImportError(ImportError):
    """Student code imported a reference solution module (or the hidden checks, or the answer keys)."""


# ----------------------------------------------------------------------------------------- policy
@functools.cache
def reference_modules() -> tuple[str, ...]:
    """Names of the reference modules that hold solutions (``dlcourse.gan.model``, ...): blocked in probes."""
    from dlcourse import stubs

    return tuple(f"{REFERENCE_PACKAGE}." + ".".join(p.with_suffix("").parts) for p in stubs.solution_modules())


def _module_file(name: str) -> Path:
    return Path(__file__).resolve().parents[1].joinpath(*name.split(".")[1:]).with_suffix(".py")


@functools.cache
def protected_paths() -> tuple[str, ...]:
    """Files (and ``__pycache__`` prefixes) of the reference solution modules, the folders of the hidden checks
    and of the answer keys, and the stored answer key (:data:`ANSWER_KEY_FILE`, in a students' copy)."""
    out = []
    for name in reference_modules():
        f = _module_file(name)
        out += [str(f), str(f.parent / "__pycache__" / (f.stem + "."))]
    return (*out, *_grader_only_paths())


def _grader_only_paths() -> tuple[str, ...]:
    package = Path(__file__).resolve().parents[1]
    return (*(str(_module_file(p).with_suffix("")) for p in GRADER_ONLY), str(package / ANSWER_KEY_FILE))


@dataclass(frozen=True)
class Policy:
    """What the grader's process decided for one probe; sent to the probe's process."""

    scratch: str  # the only folder the probe may write
    submission: str | None  # the submission's (copied) folder; None: grading the reference itself
    memory_bytes: int
    cpu_seconds: int
    uid: int | None = None  # drop to this uid/gid (the grader is root), or stay
    blocked_modules: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()


@dataclass
class Monitor:
    """What happened inside the sandbox: the layers in force, and what the student's code was refused."""

    layers: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    reference_import: str | None = None

    def refuse(self, message: str, exc: type[Exception] = SandboxViolation):
        if len(self.refused) < 20 and message not in self.refused:
            self.refused.append(message)
        raise exc(message)


# ------------------------------------------------------------------------------- grader's side
def _readable_by_others(path: str | os.PathLike) -> bool:
    """Whether a user other than the owner can reach and read ``path`` (every folder above it searchable)."""
    p = Path(path).resolve()
    try:
        if not p.stat().st_mode & stat.S_IROTH:
            return False
        return all(q.stat().st_mode & stat.S_IXOTH for q in p.parents)
    except OSError:
        return False


def needed_paths(submission: str | None) -> list[str]:
    """What a probe must still read once it runs under a uid of its own: Python's library folders,
    torch's, numpy's and dlcourse's, and the submission's copy (its scratch folder is its own)."""
    import numpy
    import torch

    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths |= {os.path.dirname(torch.__file__), os.path.dirname(numpy.__file__), str(Path(__file__).parents[1]),
              *([submission] if submission else [])}
    return sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})


def _may_drop_privileges() -> bool:
    """Root on Linux: the probe gets a uid of its own (it falls back to uid 0 without capabilities if it
    cannot make Python reachable for that uid, see :func:`_expose`)."""
    return hasattr(os, "setresuid") and os.geteuid() == 0 and platform.system() == "Linux"


def _uids_in_use() -> set[int]:
    uids = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in status.read_text().splitlines():
                if line.startswith("Uid:"):
                    uids.add(int(line.split()[1]))
                    break
    return uids


_UID_COUNTER = itertools.count()
_OWN_UID: int | None = None


def _probe_uid() -> int:
    """This grader's uid for its probes: found free once, then reused - probes run one after another
    and :meth:`Jail.close` leaves no process and no file of that uid behind before the next starts."""
    global _OWN_UID
    if _OWN_UID is None:
        _OWN_UID = _free_uid()
    return _OWN_UID


def _free_uid() -> int:
    """An unprivileged uid no user and no running process has (the probe gets it to itself)."""
    import pwd

    busy = _uids_in_use()
    start = (os.getpid() * 7919) % len(UID_RANGE)
    for _ in range(len(UID_RANGE)):
        uid = UID_RANGE[(start + next(_UID_COUNTER)) % len(UID_RANGE)]
        if uid in busy:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise RuntimeError(f"no free uid in {UID_RANGE} for the grading sandbox")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie has ended: it waits for its parent to reap it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def _pids_of_uid(uid: int) -> list[int]:
    """Live processes (not zombies: those are dead, waiting to be reaped) with ``uid`` among their ids."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            zombie = False
            for line in status.read_text().splitlines():
                if line.startswith("State:"):
                    zombie = line.split()[1] in ("Z", "X")
                elif line.startswith("Uid:"):
                    if uid in map(int, line.split()[1:]) and not zombie:
                        pids.append(int(status.parent.name))
                    break
    return pids


def _copy_python_files(src: Path, dst: Path) -> None:
    """The ``.py`` files of a submission folder, read-only for the probe (symbolic links are not followed)."""
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"
                       and not os.path.islink(os.path.join(dirpath, d))]
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        os.chmod(dst / rel, 0o755)
        for name in filenames:
            path = Path(dirpath) / name
            if name.endswith(".py") and not path.is_symlink() and path.is_file():
                shutil.copyfile(path, dst / rel / name)
                os.chmod(dst / rel / name, 0o644)


_BASE: Path | None = None


def _base() -> Path:
    """This grader process's folder for jails: searchable (not listable) by the probes' uids."""
    global _BASE
    if _BASE is None or not _BASE.is_dir():
        _BASE = Path(tempfile.mkdtemp(prefix="dlcourse-grading-"))
        os.chmod(_BASE, 0o711)
        import atexit

        atexit.register(shutil.rmtree, _BASE, True)
    return _BASE


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the cgroup's limit (a container's), else the machine's."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            value = int(Path(path).read_text().split()[0])
            if value < 1 << 50:
                return value
    with contextlib.suppress(OSError, ValueError, StopIteration):
        line = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal:"))
        return int(line.split()[1]) * 1024
    return None


def memory_cap(gib: float = MEMORY_LIMIT_GIB) -> int:
    """The cap for one probe: ``gib``, or 60 % of :func:`machine_memory` (but 1.25 GiB at least) when that is smaller."""
    total = machine_memory()
    cap = int(gib * GIB)
    return cap if total is None else min(cap, max(int(0.6 * total), int(1.25 * GIB)))


_SHARED_COPIES: dict[Path, Path] = {}


@contextlib.contextmanager
def shared_copy(submission: str | os.PathLike | None):
    """While open, every :class:`Jail` of ``submission`` uses one read-only copy of it (made once)."""
    if submission is None:
        yield
        return
    root = Path(submission).resolve()
    copy = Path(tempfile.mkdtemp(prefix="submission-", dir=_base()))
    os.chmod(copy, 0o755)
    try:
        _copy_python_files(root, copy)
        _SHARED_COPIES[root] = copy
        yield
    finally:
        _SHARED_COPIES.pop(root, None)
        shutil.rmtree(copy, ignore_errors=True)


class Jail:
    """The grader's side of one probe's sandbox: scratch folder, submission copy, uid; cleanup afterwards.

    ::

        jail = Jail(submission_root, timeout=30)
        policy = jail.policy            # send to the probe's process, which calls enter(policy)
        ...                             # start it, wait for it
        jail.close(pid)                 # kill what it left running, remove its files
    """

    def __init__(self, submission: str | os.PathLike | None, *, timeout: float,
                 memory_gib: float = MEMORY_LIMIT_GIB):
        self.dir = Path(tempfile.mkdtemp(prefix="probe-", dir=_base()))
        os.chmod(self.dir, 0o711)
        self.scratch = self.dir / "work"
        self.scratch.mkdir(mode=0o700)
        self.submission = Path(submission).resolve() if submission is not None else None
        self.uid = _probe_uid() if self.submission is not None and _may_drop_privileges() else None
        if self.uid is not None:
            os.chown(self.scratch, self.uid, self.uid)
        copy = _SHARED_COPIES.get(self.submission) if self.submission is not None else None
        if self.submission is not None and copy is None:
            copy = self.dir / "submission"
            _copy_python_files(self.submission, copy)
        self.policy = Policy(
            scratch=str(self.scratch), submission=str(copy) if copy else None,
            memory_bytes=memory_cap(memory_gib), cpu_seconds=int(timeout) + 10, uid=self.uid,
            blocked_modules=(*reference_modules(), *GRADER_ONLY) if copy else (),
            protected=protected_paths() if copy else ())

    def unmap(self, text: str, shown_as: str | None = None) -> str:
        """``text`` with the copy's paths replaced by the student's own (or by ``shown_as``)."""
        if self.policy.submission and self.submission is not None:
            text = text.replace(self.policy.submission, str(self.submission) if shown_as is None else shown_as)
        return text.replace(str(self.scratch), "<scratch folder>")

    def close(self, pid: int | None) -> None:
        """Kill whatever the probe left running and remove whatever it wrote."""
        if pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # the probe made itself a process group leader
            deadline = time.monotonic() + 1.0
            while _alive(pid) and time.monotonic() < deadline:  # dead within a millisecond or two
                time.sleep(0.001)
        if self.uid is not None:
            for _ in range(50):  # processes may still be forking: kill until none is left
                pids = _pids_of_uid(self.uid)
                if not pids:
                    break
                for p in pids:
                    with contextlib.suppress(OSError):
                        os.kill(p, signal.SIGKILL)
                time.sleep(0.01)
            for top in SHARED_TMP:
                _remove_owned_by(Path(top), self.uid)
        shutil.rmtree(self.dir, ignore_errors=True)


def _remove_owned_by(top: Path, uid: int, depth: int = 3) -> None:
    """Remove what ``uid`` created in a world-writable folder (not following links)."""
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for e in entries:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_uid == uid:
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
        elif stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_IWOTH and depth > 1:
            _remove_owned_by(Path(e.path), uid, depth - 1)


# ---------------------------------------------------------------------------- probe's side
_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_NOATIME, _MS_NODIRATIME, _MS_BIND = 32, 1024, 2048, 4096
_MS_REC, _MS_PRIVATE, _MS_RELATIME, _MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
_MOUNT_FLAGS = {"nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC, "noatime": _MS_NOATIME,
                "nodiratime": _MS_NODIRATIME, "relatime": _MS_RELATIME, "strictatime": _MS_STRICTATIME}


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _namespaces(libc, policy: Policy, monitor: Monitor) -> bool:
    """Private network and mount namespaces where the kernel allows them; True when the mounts are private."""
    if os.geteuid() == 0:
        attempts = [(_CLONE_NEWNS | _CLONE_NEWNET, "network+mount"), (_CLONE_NEWNET, "network")]
    else:
        attempts = [(_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWNET, "user+network+mount")]
    for flags, what in attempts:
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(flags) != 0:
            continue
        if flags & _CLONE_NEWUSER:  # keep our own ids inside the new user namespace
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
        monitor.layers.append(f"private {what} namespace")
        return bool(flags & _CLONE_NEWNS)
    return False


def _mount(libc, source, target, flags, fstype=None, data=None) -> bool:
    def enc(s):
        return None if s is None else os.fsencode(s)

    return libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) == 0


def _expose(libc, needed: list[str], workdir: str, monitor: Monitor) -> None:
    """In a private mount namespace, make ``needed`` reachable for other users when a folder above one of
    them is not searchable (Python under ``/root``, mode 700): an empty tmpfs (mode 711) covers that
    folder and only the needed entries below it are bound back, so nothing else of it shows."""
    for i in range(8):  # outermost blocked folder first; folders further in come up again next round
        blocked = sorted({a for p in needed for a in Path(p).parents if not os.stat(a).st_mode & stat.S_IXOTH},
                         key=lambda a: len(a.parts))
        if not blocked:
            return
        top = blocked[0]
        save = Path(workdir) / f"view{i}"
        save.mkdir(mode=0o700)
        if not _mount(libc, str(top), str(save), _MS_BIND | _MS_REC):
            return
        if not _mount(libc, "tmpfs", str(top), _MS_NOSUID | _MS_NODEV, "tmpfs", "mode=711"):
            return
        for child in sorted({top / Path(p).relative_to(top).parts[0] for p in needed if top in Path(p).parents}):
            src = save / child.name
            if src.is_dir():
                child.mkdir()
            else:
                child.touch()
            _mount(libc, str(src), str(child), _MS_BIND | _MS_REC)
        libc.umount2(os.fsencode(str(save)), 2)  # MNT_DETACH: the full view of the folder is gone
        monitor.layers.append(f"{top} shown to the probe's uid with only what Python needs in it")


def _read_only_filesystem(libc, scratch: str, monitor: Monitor) -> None:
    """In a private mount namespace: every mount read-only except the scratch folder (a bind mount of itself)."""
    if not _mount(libc, None, "/", _MS_REC | _MS_PRIVATE) or not _mount(libc, scratch, scratch, _MS_BIND):
        return
    failed = []
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split() for line in f]
    for fields in reversed(mounts):  # children first, so a parent's remount never hides them
        point = fields[4].encode().decode("unicode_escape")
        if point == scratch or point.startswith(scratch + "/"):
            continue
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        for opt in fields[5].split(","):
            flags |= _MOUNT_FLAGS.get(opt, 0)
        if not _mount(libc, None, point, flags):
            failed.append(point)
    if "/" in failed:
        monitor.layers.append("read-only mounts FAILED for / (" + os.strerror(ctypes.get_errno()) + ")")
    else:
        monitor.layers.append("all mounts read-only except the scratch folder"
                              + (f" (not: {', '.join(failed)})" if failed else ""))


def _drop_capabilities(libc, monitor: Monitor) -> None:
    """Root without a uid to drop to: give up every capability (so the read-only mounts stay read-only)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable x 2 words: all zero
    for cap in range(64):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails harmlessly past the last capability)
    if libc.syscall(_SYSCALLS["capset"], header, data) == 0:
        monitor.layers.append("all capabilities dropped")


# Syscall numbers and the audit architecture, per machine (the seccomp filter needs them).
_SECCOMP_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SYSCALL_TABLE = {
    "x86_64": {"socket": 41, "ptrace": 101, "kill": 62, "tkill": 200, "tgkill": 234, "process_vm_readv": 310,
               "process_vm_writev": 311, "pidfd_send_signal": 424, "io_uring_setup": 425, "capset": 126},
    "aarch64": {"socket": 198, "ptrace": 117, "kill": 129, "tkill": 130, "tgkill": 131, "process_vm_readv": 270,
                "process_vm_writev": 271, "pidfd_send_signal": 424, "io_uring_setup": 425, "capset": 91},
}
_SYSCALLS = _SYSCALL_TABLE.get(platform.machine(), {})


def _seccomp(libc, monitor: Monitor) -> None:
    """A seccomp filter: no socket but Unix ones, no io_uring, no ptrace or cross-process memory access,
    signals to this process only (``kill`` with pid 0, our pid or our process group)."""
    machine = platform.machine()
    if machine not in _SECCOMP_ARCH:
        return
    nr = _SYSCALLS
    me = os.getpid()
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 13  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EACCES
    # (code, jump-if-true target label, jump-if-false target label, k); labels resolved below
    prog = [
        (ld, None, None, 4),  # arch
        (jeq, None, "allow", _SECCOMP_ARCH[machine]),
        (ld, None, None, 0),  # syscall number
        (jge, "deny", None, 0x40000000),  # x32 ABI numbers
        *[(jeq, "deny", None, nr[n]) for n in ("io_uring_setup", "ptrace", "process_vm_readv",
                                                 "process_vm_writev", "pidfd_send_signal", "tkill")],
        (jeq, "socket", None, nr["socket"]),
        (jeq, "kill", None, nr["kill"]),
        (jeq, "tgkill", None, nr["tgkill"]),
        (ret, None, None, allow),
        ("socket", ld, None, None, 16),  # args[0] (low 32 bits): the address family
        (jeq, "allow", "deny", 1),  # AF_UNIX
        ("kill", ld, None, None, 16),  # args[0]: the pid
        (jeq, "allow", None, 0),
        (jeq, "allow", None, me),
        (jeq, "allow", "deny", (-me) & 0xFFFFFFFF),
        ("tgkill", ld, None, None, 16),  # args[0]: the thread group
        (jeq, "allow", "deny", me),
        ("allow", ret, None, None, allow),
        ("deny", ret, None, None, deny),
    ]
    labels, insns = {}, []
    for ins in prog:
        if isinstance(ins[0], str):
            labels[ins[0]] = len(insns)
            ins = ins[1:]
        insns.append(ins)

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    arr = (SockFilter * len(insns))()
    for i, (code, jt, jf, k) in enumerate(insns):
        arr[i] = SockFilter(code, 0 if jt is None else labels[jt] - i - 1, 0 if jf is None else labels[jf] - i - 1, k)
    fprog = SockFprog(len(insns), arr)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        monitor.layers.append("seccomp: no network sockets, no ptrace, signals to itself only")


def _drop_privileges(uid: int, monitor: Monitor) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NPROC, (MAX_TASKS, MAX_TASKS))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    monitor.layers.append(f"unprivileged uid/gid {uid}, at most {MAX_TASKS} processes and threads")


def _limits(policy: Policy, monitor: Monitor) -> None:
    import resource

    done = []
    for res, value, what in ((resource.RLIMIT_DATA, policy.memory_bytes, f"memory {policy.memory_bytes / GIB:.3g} "
                              "GiB per process"), (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT,
                              f"files up to {FILE_SIZE_LIMIT >> 20} MiB"),
                             (resource.RLIMIT_CPU, policy.cpu_seconds, f"{policy.cpu_seconds} s of CPU"),
                             (resource.RLIMIT_CORE, 0, "no core dumps")):
        try:
            _, hard = resource.getrlimit(res)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(res, (value, value))
            done.append(what)
        except (ValueError, OSError):  # a limit this system does not support
            pass
    if done:
        monitor.layers.append(", ".join(done))


def enter(policy: Policy, load: Callable[[], object] = lambda: None) -> tuple[Monitor, object]:
    """Enter the sandbox (in the probe's process, before the student's code is loaded). Irreversible.

    ``load`` (the check's probe) is called once the reference is out of reach but before the process
    gives up its uid, so that the grader's own module loads where the student's code could not;
    returns the monitor and what ``load`` returned.
    """
    monitor = Monitor()
    with contextlib.suppress(OSError):
        os.setsid()  # a process group of its own: the grader kills all of it afterwards
    _limits(policy, monitor)
    untrusted = policy.submission is not None
    if untrusted:
        _block_reference(policy, monitor)
    loaded = load()
    if untrusted and platform.system() == "Linux":
        libc = _libc()
        private_mounts = _namespaces(libc, policy, monitor)
        uid = policy.uid
        if uid is not None:
            needed = needed_paths(policy.submission)
            if private_mounts and not all(_readable_by_others(p) for p in needed):
                _expose(libc, needed, str(Path(policy.scratch).parent), monitor)
            if not all(_readable_by_others(p) for p in needed):
                uid = None  # that uid could not even import the standard library
                os.chown(policy.scratch, 0, 0)
                monitor.layers.append("no uid of its own: Python is not readable by other users here")
        if private_mounts:
            _read_only_filesystem(libc, os.path.realpath(policy.scratch), monitor)
        if uid is not None:
            _drop_privileges(uid, monitor)
        elif os.geteuid() == 0:
            _drop_capabilities(libc, monitor)
        _seccomp(libc, monitor)
        del libc
    os.chdir(policy.scratch)
    for var in ("HOME", "TMPDIR", "TMP", "TEMP"):
        os.environ[var] = policy.scratch
    tempfile.tempdir = policy.scratch
    sys.dont_write_bytecode = True
    monitor.layers.append("scratch working folder (removed afterwards)")
    if untrusted:
        _audit(policy, monitor)
    return monitor, loaded


# ------------------------------------------------------------------ the reference, out of reach
def _is_blocked(name: str, blocked: tuple[str, ...]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in blocked)


def _purge(blocked: tuple[str, ...]) -> None:
    """Forget blocked modules, and modules holding something of theirs (a harness module that imported a part)."""
    for name in [n for n in sys.modules if n.startswith(REFERENCE_PACKAGE + ".")]:
        mod = sys.modules.get(name)
        if _is_blocked(name, blocked):
            del sys.modules[name]
        elif name.startswith(REFERENCE_PACKAGE + ".") and mod is not None:
            with contextlib.suppress(Exception):
                for v in vars(mod).values():
                    owner = getattr(v, "__name__", None) if isinstance(v, type(sys)) else getattr(v, "__module__", None)
                    if isinstance(owner, str) and _is_blocked(owner, blocked):
                        del sys.modules[name]
                        break


class _ReferenceBlocker(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: refuses the reference solution modules, the hidden checks and the answer keys."""

    def __init__(self, policy: Policy, monitor: Monitor):
        self.blocked = policy.blocked_modules
        self.root = policy.submission.rstrip("/") + "/" if policy.submission else None
        self.monitor = monitor

    def find_spec(self, name, path=None, target=None):
        if not _is_blocked(name, self.blocked):
            return None
        frames = []  # (file, module) of the importing code, innermost first
        f = sys._getframe(1)
        while f is not None:
            file = f.f_code.co_filename
            if not file.startswith("<frozen") and not file.endswith(("importlib/__init__.py", "sandbox.py")):
                frames.append((file, f.f_globals.get("__name__", "?")))
            f = f.f_back
        mine = [i for i, (file, _) in enumerate(frames) if self.root and file.startswith(self.root)]
        what = ("the hidden checks " + name if _is_blocked(name, (HIDDEN_PACKAGE,)) else
                "the answer keys " + name if _is_blocked(name, (KEY_PACKAGE,)) else
                f"the reference implementation {name}")
        if not mine:
            message = (f"the grader's probe imported {what} (a bug in the grader: probes must not use the "
                       "reference; please report it)")
        else:
            i = mine[0]
            file = frames[i][0][len(self.root):]
            via = frames[i - 1][1] if i > 0 else None
            if via and via.startswith(REFERENCE_PACKAGE + ".") and not _is_blocked(via, self.blocked):
                message = (f"your file {file} uses {via}, which loads {what}; that is not available while "
                           "grading: the homework asks for your own code.")
            else:
                message = (f"your file {file} imports {what}, which is not available while grading: the homework "
                           "asks for your own code.")
            message += (" Hint: import your own files relatively (`from .model import Generator`), as the "
                        "generated exercises do.")
        if self.monitor.reference_import is None:
            self.monitor.reference_import = message
        raise ReferenceImportError(message, name=name)


def _block_reference(policy: Policy, monitor: Monitor) -> None:
    _purge(policy.blocked_modules)
    sys.meta_path.insert(0, _ReferenceBlocker(policy, monitor))
    monitor.layers.append("reference solution modules, hidden checks and answer keys not importable")


# ------------------------------------------------------------------------------- audit hook
def _audit(policy: Policy, monitor: Monitor) -> None:
    """Install the audit hook (irrevocable). Everything it uses is bound here, not looked up later."""
    scratch = os.path.realpath(policy.scratch)
    protected = tuple(policy.protected)
    realpath, fspath, fsdecode = os.path.realpath, os.fspath, os.fsdecode
    isinstance_, str_, int_ = isinstance, str, int
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    refuse = monitor.refuse
    me = os.getpid()
    no_net = ("your code tried to use the network ({}): there is no network while grading, and the homework "
              "needs none.")
    no_proc = ("your code tried to start a process ({}): that is not allowed while grading; compute in this "
               "process.")

    def resolved(p):
        if isinstance_(p, int_) or p is None:
            return None  # an open file descriptor
        try:
            p = fspath(p)
            return realpath(p if isinstance_(p, str_) else fsdecode(p))
        except Exception:  # noqa: BLE001 - an odd argument: treat as outside
            return "?"

    def inside(rp):
        return rp == scratch or rp.startswith(scratch + "/") or rp in ("/dev/null",)

    def write(path, what="write to"):
        rp = resolved(path)
        if rp is not None and not inside(rp):
            refuse(f"your code tried to {what} {path!s}: while grading, code may only write in its scratch "
                   "folder (the current working folder, also $TMPDIR).")

    def on_open(args):
        path, mode, flags = args
        rp = resolved(path)
        if rp is None:
            return
        writes = (flags & write_flags) if isinstance_(flags, int_) else any(c in str_(mode or "") for c in "wax+")
        if writes and not inside(rp):
            write(path)
        for p in protected:
            if rp == p or rp.startswith(p if p.endswith(".") else p + "/"):
                refuse(f"your code tried to read {path!s}, a file of the reference implementation, of the hidden "
                       "checks or of the answer keys: that is not available while grading.", ReferenceImportError)

    def on_kill(args):
        pid = args[0]
        if pid not in (0, me, -me):
            refuse(f"your code tried to send a signal to process {pid}: not allowed while grading.")

    def on_setattr(args):
        if args[1] == "__code__":
            refuse("your code tried to replace a function's __code__: not allowed while grading.")

    def on_socket_new(args):
        if args[1] != 1:  # AF_UNIX
            refuse(no_net.format(f"socket family {args[1]}"))

    handlers = {
        "open": on_open,
        "os.remove": lambda a: write(a[0], "delete"), "os.rmdir": lambda a: write(a[0], "delete"),
        "os.mkdir": lambda a: write(a[0], "create the folder"), "os.rename": lambda a: (write(a[0], "move"),
                                                                                          write(a[1], "move to")),
        "os.link": lambda a: write(a[1], "link"), "os.symlink": lambda a: write(a[1], "link"),
        "os.chmod": lambda a: write(a[0], "change permissions of"), "os.chown": lambda a: write(a[0], "chown"),
        "os.truncate": lambda a: write(a[0], "truncate"), "os.utime": lambda a: write(a[0], "touch"),
        "os.setxattr": lambda a: write(a[0], "set attributes of"),
        "os.removexattr": lambda a: write(a[0], "remove attributes of"),
        "shutil.rmtree": lambda a: write(a[0], "delete"),
        "socket.__new__": on_socket_new,
        **{e: (lambda a, e=e: refuse(no_net.format(f"{e} {a[1] if len(a) > 1 else ''}".strip())))
           for e in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg")},
        **{e: (lambda a, e=e: refuse(no_net.format(f"{e.split('.', 1)[1]} {a[0]!r}")))
           for e in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                     "socket.gethostbyaddr", "socket.getnameinfo", "urllib.Request", "http.client.connect")},
        **{e: (lambda a, e=e: refuse(no_proc.format(e)))
           for e in ("os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
                     "subprocess.Popen", "os.startfile", "pty.spawn")},
        "os.kill": on_kill, "os.killpg": on_kill,
        **{e: (lambda a, e=e: refuse(f"your code tried to use {e}: loading native code or reading raw memory is "
                                     "not allowed while grading."))
           for e in ("ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.cdata/buffer",
                     "ctypes.PyObj_FromPtr", "ctypes.string_at", "ctypes.wstring_at")},
        **{e: (lambda a, e=e: refuse(f"your code tried to use {e}: not allowed while grading."))
           for e in ("gc.get_objects", "gc.get_referrers", "gc.get_referents")},
        "object.__setattr__": on_setattr,
    }
    get = handlers.get

    def hook(event, args):
        h = get(event)
        if h is not None:
            h(args)

    sys.addaudithook(hook)
    monitor.layers.append("audit hook: no writes outside the scratch folder, no network, no processes, no ctypes")


def memory_limit() -> int | None:
    """This process's memory cap in bytes (RLIMIT_DATA), or None when there is none."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return None
    soft = resource.getrlimit(resource.RLIMIT_DATA)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation refused by the memory cap (Python, numpy or torch's CPU allocator)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "Cannot allocate memory" in text
                                              or "not enough memory" in text)


def restrict_reference_files() -> list[str]:
    """Make the reference solution modules (with their bytecode), the hidden checks and the answer keys readable
    by their owner only: then a probe running under a uid of its own cannot read them even with native code.

    For an autograder that installs the package as root (``setup.sh`` calls it). Returns the paths changed.
    """
    changed = []
    for p in protected_paths():
        path = Path(p)
        targets = [path] if path.is_file() else sorted(path.parent.glob(path.name + "*")) if p.endswith(".") else \
            [path, *sorted(path.rglob("*"))] if path.is_dir() else []
        for t in targets:
            mode = t.stat().st_mode
            os.chmod(t, mode & ~0o077 | (0o100 if stat.S_ISDIR(mode) else 0))
            changed.append(str(t))
    return changed
