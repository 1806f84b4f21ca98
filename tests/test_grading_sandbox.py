"""The grading sandbox: what a submission's code is refused, with which message, and that it costs
that check only. Each test writes a small student module that misbehaves, grades it with a probe
that calls it, then grades a well-behaved check to show the grader goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dlcourse
from dlcourse.grading import core, sandbox
from dlcourse.grading.core import Check, Submission, run_check

PROBES = '''
def probe_run(sub):
    return {"value": sub.module("dlcourse.pkg.mod").main()}

def judge_ok(obs):
    from dlcourse.grading.core import CheckFailed
    if obs["value"] != "ok":
        raise CheckFailed(f"expected 'ok', found {obs['value']!r}")
    return "fine"
'''


@pytest.fixture(scope="module")
def probe_check(tmp_path_factory):
    folder = tmp_path_factory.mktemp("probes")
    (folder / "sandbox_probes.py").write_text(PROBES)
    sys.path.insert(0, str(folder))
    yield Check("9x", "Problem 9", "sandbox", 1.0, probe="sandbox_probes:probe_run", judge="sandbox_probes:judge_ok",
                timeout=30)
    sys.path.remove(str(folder))


def student(tmp_path: Path, body: str) -> Submission:
    """A submission whose ``pkg/mod.py`` defines ``main()`` with ``body``."""
    pkg = tmp_path / "submission" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg.parent / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("def main():\n" + textwrap.indent(textwrap.dedent(body), "    "))
    return Submission(pkg.parent)


def assert_contained(probe_check, tmp_path, result, words, status=("error",)):
    assert result.status in status and result.score == 0, (result.status, result.message)
    for w in words:
        assert w in result.message, (w, result.message)
    ok = run_check(probe_check, student(tmp_path / "next", 'return "ok"'))  # the next check is unaffected
    assert ok.passed, ok.message


def test_a_well_behaved_probe_passes_and_its_scratch_folder_is_removed(probe_check, tmp_path):
    sub = student(tmp_path, '''
        import os, tempfile
        from pathlib import Path
        Path("notes.txt").write_text("scratch")          # the working folder is writable
        with tempfile.NamedTemporaryFile(dir=None) as f:  # and so is TMPDIR
            f.write(b"x")
        print("cwd", os.getcwd())
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert r.passed, r.message
    assert "cwd <scratch folder>" in r.output
    assert not list(Path(sandbox._base()).glob("probe-*"))  # every jail is gone
    assert any("seccomp" in layer or "audit hook" in layer for layer in r.sandbox), r.sandbox


def test_network_is_refused(probe_check, tmp_path):
    sub = student(tmp_path, '''
        import socket
        socket.create_connection(("127.0.0.1", 9), timeout=2)
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, ["your code tried to use the network", "no network while grading"])


def test_name_lookup_is_refused(probe_check, tmp_path):
    sub = student(tmp_path, '''
        import urllib.request
        return urllib.request.urlopen("http://example.com", timeout=2).read().decode()
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, ["your code tried to use the network"])


def test_writing_into_the_grader_is_refused(probe_check, tmp_path):
    target = Path(dlcourse.__file__).parent / "grading" / "pwned.py"
    sub = student(tmp_path, f'''
        open({str(target)!r}, "w").write("SCORE = 100")
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, [f"your code tried to write to {target}", "scratch folder"])
    assert not target.exists()


def test_writing_another_folder_or_fake_results_is_refused(probe_check, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "results.json").write_text('{"score": 0}')
    sub = student(tmp_path, f'''
        import json, os
        try:
            with open({str(results / "results.json")!r}, "w") as f:
                json.dump({{"score": 100, "tests": []}}, f)
        except PermissionError:
            pass  # a submission that catches the refusal still cannot write
        os.replace("fake.json" if os.path.exists("fake.json") else __file__, {str(results / "x.json")!r})
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, ["your code tried to write to", "results.json"])
    assert json.loads((results / "results.json").read_text()) == {"score": 0}
    assert sorted(p.name for p in results.iterdir()) == ["results.json"]


def test_a_huge_allocation_is_stopped_with_the_limit_in_the_message(probe_check, tmp_path):
    sub = student(tmp_path, '''
        import torch
        x = torch.empty(50 * 2**30, dtype=torch.uint8)  # 50 GB
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, [f"more than {sandbox.MEMORY_LIMIT_GIB:g} GiB of memory"],
                     status=("out of memory",))


def test_an_allocation_above_the_cap_that_would_fit_the_machine_is_stopped(probe_check, tmp_path):
    sub = student(tmp_path, '''
        import numpy as np
        x = np.empty(6 * 2**30, dtype=np.uint8)  # 6 GiB: fine for the machine, not for a probe
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, ["more than 4 GiB"], status=("out of memory",))


@pytest.mark.parametrize("body,words", [
    ("import os\nos.fork()\nreturn 'ok'", ["start a process (os.fork)"]),
    ("import os\nfor _ in range(10):\n    os.fork()\nreturn 'ok'", ["start a process (os.fork)"]),
    ("import subprocess\nsubprocess.run(['echo', 'hi'])\nreturn 'ok'", ["start a process (subprocess.Popen)"]),
    ("import os\nos.system('echo hi')\nreturn 'ok'", ["start a process (os.system)"]),
    ("import os\nos.execv('/bin/echo', ['echo', 'hi'])", ["start a process (os.exec)"]),
    ("import os\nos.posix_spawn('/bin/echo', ['echo'], {})\nreturn 'ok'", ["start a process (os.posix_spawn)"]),
])
def test_processes_are_refused(probe_check, tmp_path, body, words):
    r = run_check(probe_check, student(tmp_path, body))
    assert_contained(probe_check, tmp_path, r, words)


def test_ctypes_and_signals_to_the_grader_are_refused(probe_check, tmp_path):
    r = run_check(probe_check, student(tmp_path, "import ctypes\nctypes.CDLL(None).getpid()\nreturn 'ok'"))
    assert_contained(probe_check, tmp_path, r, ["your code tried to use ctypes.dlopen"])
    r = run_check(probe_check, student(tmp_path / "b", f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)"))
    assert_contained(probe_check, tmp_path / "b", r, [f"send a signal to process {os.getpid()}"])


def test_patching_the_graders_expect_changes_nothing(tmp_path):
    from conftest import reference_submission

    sub = reference_submission(tmp_path, "minimax", ["saddle.py", "steps.py", "convergence.py"], {"steps.py": [
        ("return x - eta * gx, y + eta * gy", "return x - eta * gx, y - eta * gy"),
        ("def gda_step(", "import dlcourse.grading.core as _c, dlcourse.grading.minimax as _m\n"
                         "_c.expect = _m.expect = lambda *a, **k: None\n_c.CheckFailed = _m.CheckFailed = Exception\n\n"
                         "def gda_step(")]}, count=1)
    check = {c.id: c for c in core.all_checks(["1"])}["1b"]
    r = run_check(check, sub)
    assert r.status in ("failed", "partial") and r.score < check.points and "gda_step(" in r.message, r.message


def test_reexporting_the_reference_scores_zero_and_says_why(tmp_path):
    root = tmp_path / "sub"
    (root / "minimax").mkdir(parents=True)
    for name in ("saddle", "steps", "convergence"):
        (root / "minimax" / f"{name}.py").write_text(f"from dlcourse.minimax.{name} import *  # noqa\n")
    results = core.grade(root, core.all_checks(["1"]))
    assert all(r.status == "failed" and r.score == 0 for r in results), [(r.status, r.message) for r in results]
    assert "your file minimax/saddle.py imports the reference implementation dlcourse.minimax.saddle, which is " \
           "not available while grading: the homework asks for your own code" in results[0].message


def test_using_the_reference_through_a_harness_module_says_which(tmp_path):
    root = tmp_path / "sub"
    (root / "minimax").mkdir(parents=True)
    try:  # the harness takes the parts it runs; by default it loads the reference's
        import dlcourse.parts  # noqa: F401

        harness, steal = "dlcourse.parts", "from dlcourse import parts\ngda_step = parts.reference('minimax').steps.gda_step\n"
    except ImportError:  # (before the harness took parts, dynamics imported the reference steps)
        harness, steal = "dlcourse.minimax.dynamics", "from dlcourse.minimax.dynamics import gda_step  # noqa\n"
    (root / "minimax" / "steps.py").write_text(steal + "\ndef gda_closed_form(x0, y0, eta, t):\n    return x0, y0\n")
    check = {c.id: c for c in core.all_checks(["1"])}["1b"]
    r = run_check(check, Submission(root))
    assert (r.status, r.score) == ("failed", 0), r.message
    assert f"your file minimax/steps.py uses {harness}, which loads the reference implementation " \
           "dlcourse.minimax." in r.message, r.message


def test_reading_the_reference_source_is_refused(probe_check, tmp_path):
    ref = Path(dlcourse.__file__).parent / "minimax" / "steps.py"
    sub = student(tmp_path, f'''
        ns = {{}}
        exec(open({str(ref)!r}).read(), ns)
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, [f"your code tried to read {ref}", "reference implementation"])


def test_the_answer_keys_cannot_be_imported_or_read(probe_check, tmp_path):
    root = tmp_path / "sub"
    (root / "minimax").mkdir(parents=True)
    (root / "minimax" / "steps.py").write_text("from dlcourse.grading.keys.minimax import gda as _expected\n\n"
                                               "def gda_step(game, x, y, eta):\n    return x, y\n")
    check = {c.id: c for c in core.all_checks(["1"])}["1b"]
    r = run_check(check, Submission(root))
    assert (r.status, r.score) == ("failed", 0), r.message
    assert "your file minimax/steps.py imports the answer keys dlcourse.grading.keys" in r.message, r.message
    key = Path(dlcourse.__file__).parent / "grading" / "keys" / "minimax.py"
    sub = student(tmp_path / "read", f"return open({str(key)!r}).read()[:10]")
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path / "read", r, [f"your code tried to read {key}", "of the answer keys"])


def test_a_probe_cannot_claim_to_have_passed():
    check = Check("9p", "Problem 9", "p", 1.0, probe="m:p", judge="m:j")
    assert core._parse_header(check, json.dumps({"status": "passed", "message": "trust me"}).encode()) is None
    assert core._parse_header(check, b"\x80garbage") is None
    assert core._parse_header(check, json.dumps({"status": "probed"}).encode())["status"] == "probed"


def test_the_check_server_never_imports_the_reference():
    code = ("import sys, importlib; [importlib.import_module(m) for m in sys.argv[1:]]; "
            "print('\\n'.join(m for m in sys.modules if m.startswith('dlcourse')))")
    out = subprocess.run([sys.executable, "-c", code, *core.PRELOAD], capture_output=True, text=True, check=True,
                         cwd=Path(dlcourse.__file__).parents[1]).stdout.split()
    assert "dlcourse.grading.core" in out
    assert not set(out) & set(sandbox.reference_modules()), out
    assert not any(m.startswith(sandbox.GRADER_ONLY) for m in out)  # nor the hidden checks or the answer keys


def _in_fresh_process(fn) -> str:
    """Run ``fn()`` in a forked process (the sandbox's kernel layers are irreversible); its return value."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(r)
        try:
            msg = str(fn())
        except BaseException as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}"
        os.write(w, msg.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return out


@pytest.mark.skipif(sandbox.platform.machine() not in sandbox._SECCOMP_ARCH, reason="seccomp filter: x86_64/aarch64")
def test_kernel_refuses_network_sockets_even_without_the_audit_hook():
    def fn():
        import socket

        monitor = sandbox.Monitor()
        sandbox._seccomp(sandbox._libc(), monitor)
        assert monitor.layers, "seccomp not installed"
        socket.socketpair()  # Unix sockets still work
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        return "socket created"

    assert _in_fresh_process(fn) == "PermissionError: [Errno 13] Permission denied"


def test_kernel_refuses_writes_outside_the_scratch_folder_where_mounts_can_be_private(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()

    def fn():
        monitor = sandbox.Monitor()
        libc = sandbox._libc()
        policy = sandbox.Policy(scratch=str(scratch), submission=str(tmp_path), memory_bytes=1 << 33, cpu_seconds=60)
        if not sandbox._namespaces(libc, policy, monitor):
            return "no mount namespace"
        sandbox._read_only_filesystem(libc, str(scratch), monitor)
        (scratch / "ok.txt").write_text("fine")
        dirfd = os.open(outside, os.O_RDONLY)
        os.open("x.txt", os.O_WRONLY | os.O_CREAT, dir_fd=dirfd)  # relative to a folder fd: the audit hook
        return "written"                                            # could not tell where this goes

    out = _in_fresh_process(fn)
    if out == "no mount namespace":
        pytest.skip("this kernel or container allows no private mount namespace")
    assert out == "OSError: [Errno 30] Read-only file system: 'x.txt'", out
    assert (scratch / "ok.txt").read_text() == "fine" and not (outside / "x.txt").exists()


def test_writes_that_slip_past_the_audit_hook_are_stopped_by_the_kernel(probe_check, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    sub = student(tmp_path, f'''
        import os
        fd = os.open({str(outside)!r}, os.O_RDONLY)
        os.close(os.open("planted.py", os.O_WRONLY | os.O_CREAT, dir_fd=fd))  # the hook sees only "planted.py"
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    if not any("read-only" in layer or "unprivileged uid" in layer for layer in r.sandbox):
        pytest.skip(f"no kernel-enforced write protection here (layers: {r.sandbox})")
    assert_contained(probe_check, tmp_path, r, ["your code raised", "Errno"])  # EROFS, or EACCES as another uid
    assert not (outside / "planted.py").exists()


def test_nothing_a_probe_plants_in_shared_tmp_survives_it(probe_check, tmp_path):
    name = f"dlcourse-planted-{os.getpid()}-{tmp_path.name}"
    sub = student(tmp_path, f'''
        import os
        fd = os.open("/tmp", os.O_RDONLY)
        try:
            os.close(os.open({name!r}, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
            print("planted")
        except OSError:
            pass  # read-only /tmp: nothing planted
        return "ok"
    ''')
    r = run_check(probe_check, sub)
    assert r.passed, r.message
    if not any("read-only" in layer or "unprivileged uid" in layer for layer in r.sandbox):
        (Path("/tmp") / name).unlink(missing_ok=True)
        pytest.skip(f"no kernel-enforced write protection here (layers: {r.sandbox})")
    if any("unprivileged uid" in layer for layer in r.sandbox) and not any("read-only" in x for x in r.sandbox):
        assert "planted" in r.output  # /tmp is writable for that uid: the grader removed the file afterwards
    assert not (Path("/tmp") / name).exists()


def test_restricting_the_reference_files_leaves_them_to_their_owner(tmp_path, monkeypatch):
    pkg = tmp_path / "gan"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "model.py").write_text("ANSWER = 1\n")
    (pkg / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    (pkg / "__pycache__" / "other.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / "gan.py").write_text("SECRET = 2\n")
    for p in tmp_path.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    monkeypatch.setattr(sandbox, "protected_paths", lambda: (
        str(pkg / "model.py"), str(pkg / "__pycache__" / "model."), str(tmp_path / "hidden")))
    changed = sandbox.restrict_reference_files()
    assert len(changed) == 4
    mode = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777 for p in tmp_path.rglob("*")}
    assert mode["gan/model.py"] == mode["gan/__pycache__/model.cpython-311.pyc"] == mode["hidden/gan.py"] == 0o600
    assert mode["hidden"] == 0o700 and mode["gan/__pycache__/other.cpython-311.pyc"] == 0o644


@pytest.mark.parametrize("machine_gib,cap_gib", [(None, 4.0), (24, 4.0), (3, 1.8), (1.5, 1.25)])
def test_memory_cap_follows_a_small_container(monkeypatch, machine_gib, cap_gib):
    monkeypatch.setattr(sandbox, "machine_memory", lambda: None if machine_gib is None else int(machine_gib * 2**30))
    assert sandbox.memory_cap() / 2**30 == pytest.approx(cap_gib, abs=1e-6)
    assert sandbox.memory_cap(1.0) <= 2**30  # an explicit smaller cap is kept


def test_printing_without_end_is_stopped_with_a_message(probe_check, tmp_path):
    sub = student(tmp_path, '''
        import os
        chunk = b"x" * (1 << 20)
        while True:
            os.write(1, chunk)
    ''')
    r = run_check(probe_check, sub)
    assert_contained(probe_check, tmp_path, r, ["printed) more than 256 MiB"])
    assert len(r.output) <= core.OUTPUT_CHARS


def test_with_a_uid_of_its_own_a_probe_cannot_read_root_only_files(probe_check, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the answers")
    os.chmod(secret, 0o600)
    os.chmod(tmp_path, 0o755)
    sub = student(tmp_path / "s", f"return open({str(secret)!r}).read()")
    r = run_check(probe_check, sub)
    if not any("unprivileged uid" in layer for layer in r.sandbox):
        pytest.skip(f"the probe runs under the grader's uid here (layers: {r.sandbox})")
    assert r.status == "error" and "Permission denied" in r.message and "the answers" not in r.message, r.message
