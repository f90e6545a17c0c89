"""Faults on real workers, and what is left behind after them (nothing).

A worker that raises, a worker lost mid-run (injected with ``fail`` or killed
from outside with SIGKILL), Ctrl-C or the Jupyter interrupt button (SIGINT to
the whole process group), a parent that dies, and a /dev/shm too small for
the run. Scenarios that signal a whole process group, or kill the process
running the run, run in a child Python so that pytest itself is never hit.
"""
import dataclasses
import json
import multiprocessing
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import asynclab
from asynclab.backends import sharedmem
from asynclab.backends.sharedmem import NotEnoughSharedMemory, leaked_segments
from asynclab.trace import COMPUTE, FAIL

SMALL = asynclab.Logistic(features=50, examples=500)
HERE = pathlib.Path(__file__).parent
LINUX = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")


@dataclasses.dataclass(frozen=True)
class Faulty(asynclab.Logistic):
    """Raises (in whichever worker gets there) after ``raise_after`` gradients;
    the message carries the moment, so a test can time the stop."""

    raise_after: int = 30

    def gradient(self, w, idx):
        calls = self.__dict__["calls"] = self.__dict__.get("calls", 0) + 1
        if calls > self.raise_after:
            raise ZeroDivisionError(f"injected fault at {time.time()!r}")
        return super().gradient(w, idx)


@dataclasses.dataclass(frozen=True)
class Marker(asynclab.Logistic):
    """Creates the file ``folder/<pid>`` once a process has computed
    ``after`` gradients: the run is under way, time to break something."""

    folder: str = ""
    after: int = 20

    def gradient(self, w, idx):
        calls = self.__dict__["calls"] = self.__dict__.get("calls", 0) + 1
        if calls == self.after:
            pathlib.Path(self.folder, str(os.getpid())).touch()
        return super().gradient(w, idx)


def wait_for_marker(folder, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        marks = list(pathlib.Path(folder).iterdir())
        if marks:
            return int(marks[0].name)
        time.sleep(0.01)
    raise AssertionError("the run never got under way")


# -- a worker raises -----------------------------------------------------------------
@pytest.mark.parametrize("backend,policy", [
    ("thread", "sync"), ("thread", "hogwild"), ("process", "sync"), ("process", "async"),
    ("thread", "gossip"), ("process", "gossip")])
def test_a_worker_that_raises_stops_the_run_and_names_itself(backend, policy):
    with pytest.raises(asynclab.WorkerError) as info:
        asynclab.run(problem=Faulty(features=50, examples=500), backend=backend, policy=policy,
                     workers=2, gradients=10**6, delay="const:0.001")
    caught = time.time()
    err = info.value
    raised = float(err.traceback_text.split("Error: injected fault at ")[1].split()[0])
    assert caught - raised < 2.0                      # every worker stopped within 2 s
    assert err.worker in (0, 1) and f"worker {err.worker} failed" in str(err)
    assert "ZeroDivisionError: injected fault" in err.traceback_text
    assert "in gradient" in err.traceback_text        # the worker's own traceback
    assert 0 < err.result.summary.gradients < 10**6   # what was done before the fault


# -- a worker is lost ---------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["thread", "process"])
@pytest.mark.parametrize("policy", ["async", "hogwild"])
def test_without_a_barrier_the_others_go_on_after_a_worker_fails(backend, policy):
    r = asynclab.run(problem=SMALL, backend=backend, policy=policy, workers=3, gradients=300,
                     delay="const:0.0003", fail="1:20")
    assert r.summary.failed_workers == (1,) and r.failed_workers == [1]
    assert r.summary.gradients == 300                 # the others took over its share
    mine = [e for e in r.trace.events if e.worker == 1]
    assert sum(e.kind == COMPUTE for e in mine) == 20
    lost = [e for e in mine if e.kind == FAIL]
    assert len(lost) == 1 and max(e.end for e in mine if e.kind == COMPUTE) <= lost[0].start


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_sync_stalls_with_an_error_naming_the_failed_worker(backend):
    with pytest.raises(asynclab.StalledError, match="worker 1 failed") as info:
        asynclab.run(problem=SMALL, backend=backend, policy="sync", workers=3, gradients=300,
                     delay="const:0.0003", fail="1:20")
    partial = info.value.result.summary
    # Worker 1 took part in 19 steps; the 20th closed without it and never will.
    assert partial.failed_workers == (1,) and partial.updates == 19


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_backup_workers_cover_a_failed_worker(backend):
    r = asynclab.run(problem=SMALL, backend=backend, policy="backup:1", workers=3,
                     gradients=120, delay="const:0.0003", fail="2:10")
    assert r.summary.failed_workers == (2,) and r.summary.gradients == 120


@LINUX
@pytest.mark.parametrize("policy", ["async", "sync", "gossip"])
def test_a_worker_process_killed_from_outside(policy, tmp_path):
    problem = Marker(features=50, examples=500, folder=str(tmp_path))
    killed = {}

    def killer():
        pid = wait_for_marker(tmp_path)
        names = {p.pid: p.name for p in multiprocessing.active_children()}
        killed["worker"] = int(names[pid].rsplit("-", 1)[1])
        os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    config = asynclab.Config(problem=problem, backend="process", policy=policy, workers=3,
                             gradients=3000, delay="const:0.001")
    if policy in ("sync", "gossip"):     # gossip: it may have died holding its model's lock
        with pytest.raises(asynclab.StalledError) as info:
            asynclab.run(config)
        thread.join(5)
        said = "was lost and policy 'gossip'" if policy == "gossip" else "failed"
        assert f"worker {killed['worker']} {said}" in str(info.value)
    else:
        r = asynclab.run(config)
        thread.join(5)
        assert r.summary.failed_workers == (killed["worker"],)
        assert r.summary.gradients >= 3000 - 1        # at most the one it was computing is lost


# -- Ctrl-C, a dead parent -------------------------------------------------------------
INTERRUPTED = """
import json, multiprocessing, os, sys, threading, time
sys.path.insert(0, {here!r})
import asynclab
from asynclab.backends.sharedmem import leaked_segments
from test_faults import Marker

if __name__ == "__main__":
    problem = Marker(features=50, examples=500, folder={folder!r})
    out = {{}}
    try:
        asynclab.run(problem=problem, backend={backend!r}, policy={policy!r}, workers=2,
                     gradients=10**7, delay="const:0.001")
    except KeyboardInterrupt as err:
        out["caught"] = time.time()
        out["partial"] = err.result.summary.gradients
    out["children"] = len(multiprocessing.active_children())
    out["threads"] = [t.name for t in threading.enumerate() if t.name.startswith("asynclab")]
    out["segments"] = leaked_segments(os.getpid())
    again = asynclab.run(problem=problem, backend={backend!r}, workers=2, gradients=40)
    out["again"] = again.summary.gradients
    print(json.dumps(out))
"""


def python(code, **kw):
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def children(pid):
    """Processes whose parent is ``pid``, as {pid: command line}."""
    out = {}
    for entry in os.listdir("/proc"):
        try:
            stat = pathlib.Path("/proc", entry, "stat").read_text()
            cmd = pathlib.Path("/proc", entry, "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if entry.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out[int(entry)] = cmd.replace(b"\0", b" ").decode()
    return out


def running(pid):
    try:
        return pathlib.Path("/proc", str(pid), "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@LINUX
@pytest.mark.parametrize("backend,policy", [("process", "sync"), ("process", "hogwild"),
                                            ("thread", "sync")])
def test_interrupt_stops_every_worker_and_the_session_stays_usable(backend, policy, tmp_path):
    child = python(INTERRUPTED.format(here=str(HERE), folder=str(tmp_path), backend=backend,
                                      policy=policy))
    try:
        wait_for_marker(tmp_path)
        workers = [p for p, cmd in children(child.pid).items() if "spawn_main" in cmd]
        sent = time.time()
        os.killpg(child.pid, signal.SIGINT)   # as the Jupyter interrupt button does
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err
    result = json.loads(out)
    assert result["caught"] - sent < 2.0
    assert result["partial"] > 0
    assert result["children"] == 0 and result["threads"] == [] and result["segments"] == []
    assert result["again"] == 40
    assert len(workers) == (2 if backend == "process" else 0)
    assert not any(running(p) for p in workers)
    assert "Traceback" not in err                 # workers ignored the SIGINT quietly


def execute(client, code, timeout=120):
    """Run one cell in a Jupyter kernel: (its stdout, the name of its error or None)."""
    msg_id = client.execute(code)
    out, error = [], None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except Exception:        # queue.Empty: nothing yet
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            error = content["ename"]
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out), error
    raise AssertionError(f"the kernel did not finish {code!r}")


def evaluate(client, expression, timeout=120):
    """The repr of ``expression`` evaluated in a Jupyter kernel, read from the shell
    channel's reply: unlike printed output (an IOPub stream message, which may arrive
    after the kernel reports idle on a busy machine), the reply carries it for sure."""
    msg_id = client.execute("", user_expressions={"value": expression})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            assert reply["content"]["status"] == "ok", reply["content"]
            value = reply["content"]["user_expressions"]["value"]
            assert value["status"] == "ok", value
            return value["data"]["text/plain"]
    raise AssertionError(f"the kernel did not evaluate {expression!r}")


@LINUX
@pytest.mark.parametrize("backend", ["process", "thread"])
def test_the_jupyter_interrupt_button_stops_the_run_and_the_kernel_stays_usable(backend,
                                                                                 tmp_path):
    manager = pytest.importorskip("jupyter_client.manager")
    home, marks = tmp_path / "home", tmp_path / "marks"
    home.mkdir()
    marks.mkdir()
    env = {**os.environ, "HOME": str(home), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "IPYTHONDIR": str(home / "ipython"), "MPLBACKEND": "Agg"}
    kernel, client = manager.start_new_kernel(kernel_name="python3", env=env)
    try:
        execute(client, f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
                        "import asynclab, multiprocessing, os, threading\n"
                        "from test_faults import Marker\n"
                        "from asynclab.backends.sharedmem import leaked_segments")
        msg_id = client.execute(
            f"problem = Marker(features=50, examples=500, folder={str(marks)!r})\n"
            "try:\n"
            f"    asynclab.run(problem=problem, backend={backend!r}, policy='sync', workers=2,\n"
            "                 gradients=10**7, delay='const:0.001')\n"
            "except KeyboardInterrupt as err:\n"
            "    partial = err.result\n"
            "    raise\n",
            stop_on_error=False)   # the kernel must not abort the requests that follow
        wait_for_marker(marks)
        kernel.interrupt_kernel()           # SIGINT to the kernel's process group
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = client.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        state = evaluate(client, "(partial.summary.gradients > 0,\n"
                                 " multiprocessing.active_children(),\n"
                                 " [t.name for t in threading.enumerate()\n"
                                 "  if t.name.startswith('asynclab')],\n"
                                 " leaked_segments(os.getpid()),\n"
                                 f" asynclab.run(problem=problem, backend={backend!r},\n"
                                 "              workers=2, gradients=40).summary.gradients)")
        assert state == "(True, [], [], [], 40)"
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)


ORPHANED = """
import sys
sys.path.insert(0, {here!r})
import asynclab
from test_faults import Marker

if __name__ == "__main__":
    asynclab.run(problem=Marker(features=50, examples=500, folder={folder!r}),
                 backend="process", policy={policy!r}, workers=2, gradients=10**7,
                 delay="const:0.001")
"""


@LINUX
@pytest.mark.parametrize("policy", ["sync", "hogwild"])
def test_workers_exit_and_shared_memory_goes_when_the_parent_dies(policy, tmp_path):
    child = python(ORPHANED.format(here=str(HERE), folder=str(tmp_path), policy=policy))
    try:
        wait_for_marker(tmp_path)
        helpers = list(children(child.pid))           # the workers and the resource tracker
        assert leaked_segments(child.pid)
        child.kill()
        child.wait(10)
    finally:
        child.kill()
        child.communicate()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (any(map(running, helpers)) or leaked_segments(child.pid)):
        time.sleep(0.05)
    assert len(helpers) == 3
    assert not any(map(running, helpers)) and leaked_segments(child.pid) == []


# -- /dev/shm too small ------------------------------------------------------------------
def test_too_little_shared_memory_is_a_clear_error_before_anything_starts(monkeypatch):
    monkeypatch.setattr(sharedmem, "free_bytes", lambda: 100)   # bytes
    with pytest.raises(NotEnoughSharedMemory, match=r"needs 0\.0 MB .* has only 0\.0 MB free"):
        asynclab.run(problem=SMALL, backend="process", policy="hogwild", workers=2, gradients=10)


SMALL_SHM = """
import asynclab, os
from asynclab.backends.sharedmem import NotEnoughSharedMemory
if __name__ == "__main__":
    try:
        asynclab.run(backend="process", policy="hogwild", workers=2, gradients=10, batch=2,
                     problem=asynclab.Logistic(features=300_000, examples=2))
    except NotEnoughSharedMemory as err:
        print("clear error:", err)
    print("left:", os.listdir("/dev/shm"))
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_a_real_one_megabyte_dev_shm_gives_the_error_not_a_bus_error():
    mount = "mount -t tmpfs -o size=1m tmpfs /dev/shm"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", mount], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot mount a private /dev/shm here")
    done = subprocess.run(["unshare", "-m", "sh", "-c", f'{mount} && "$0" -c "$1"',
                           sys.executable, SMALL_SHM], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "clear error: the process backend needs 2.3 MB" in done.stdout
    assert "left: []" in done.stdout


# -- the command line ----------------------------------------------------------------------
CLI = [sys.executable, "-m", "asynclab", "run", "--workers", "3", "--gradients", "200",
       "--features", "50", "--examples", "500", "--delay", "const:0.0003"]


def test_cli_lists_failed_workers_and_a_stalled_sync_run_exits_non_zero():
    done = subprocess.run([*CLI, "--backend", "process", "--fail", "1:20", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["failed_workers"] == [1] and summary["backend"] == "process"
    done = subprocess.run([*CLI, "--backend", "thread", "--policy", "sync", "--fail", "1:20"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "worker 1 failed" in done.stderr
    done = subprocess.run([*CLI, "--backend", "thread", "--policy", "hogwild", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout)["policy"] == "hogwild"


@LINUX
@pytest.mark.parametrize("problem", [SMALL, Faulty(features=50, examples=500)],
                         ids=["finished", "a worker raised"])
def test_a_gossip_run_on_processes_leaves_no_lock_behind(problem, monkeypatch):
    # Gossip's locks are multiprocessing locks: each a named semaphore in /dev/shm
    # until its last reference goes. The run lets go of them itself, before any
    # garbage collection, even while the exception of a failed run is held.
    from asynclab.backends import peers
    names, made = [], peers.PeerModels.__init__

    def remember(self, models, versions, locks):
        names.extend(lock._semlock.name for lock in locks if hasattr(lock, "_semlock"))
        made(self, models, versions, locks)

    monkeypatch.setattr(peers.PeerModels, "__init__", remember)
    import gc
    gc.disable()
    try:
        try:
            asynclab.run(problem=problem, backend="process", policy="gossip", workers=3,
                         gradients=300, delay="const:0.0003")
        except asynclab.WorkerError as err:
            held = err                               # a learner keeps the error around
            assert held.result.summary.gradients > 0
        assert len(names) == 3
        assert [n for n in names if os.path.exists(f"/dev/shm/sem.{n.lstrip('/')}")] == []
    finally:
        gc.enable()
