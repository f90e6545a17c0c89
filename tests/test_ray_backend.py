"""The Ray backend: same policies, same result, real actors (issue 5).

Starting Ray is slow, so most tests share one local Ray: a helper process
holds it (as a cluster would) and the tests connect to it. One test runs two
default runs in a subprocess, each starting its own Ray, to check that a run
finished or interrupted leaves no process, no file in HOME and no temporary
directory.
"""
import os
import secrets
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from helpers import interrupt, read_until, start_with_a_fresh_home

import asynclab
from asynclab import Config, StalledError, WorkerError
from asynclab.backends import ray as ray_backend
from asynclab.backends.ray_env import reload_auth

try:
    import ray
except ImportError:
    ray = None

NO_RAY = "Ray is not installed: pip install 'ray>=2.9'"


def ray_test(test):
    """Marks a test that starts or uses Ray; skipped without Ray."""
    return pytest.mark.ray(pytest.mark.skipif(ray is None, reason=NO_RAY)(test))


SMALL = asynclab.Logistic(features=50, examples=500)


def config(**fields):
    return Config(**{"backend": "ray", "lr": 0.5, "problem": SMALL, **fields})


def rows_of(result, kind, worker=None):
    return [e for e in result.trace.events
            if e.kind == kind and (worker is None or e.worker == worker)]


def descendants(root):
    """Pids of the live processes below ``root`` (Ray renames its workers, so
    their command lines say little; their ancestry does)."""
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":                   # zombies are gone already
            children.setdefault(int(fields[1]), []).append(int(pid))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pids):
    running = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    running.add(pid)
        except OSError:
            continue
    return running


# -- without starting Ray ------------------------------------------------------------------
def test_missing_ray_names_the_extra(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError) as err:
        asynclab.run(config())
    assert str(err.value) == "the ray backend needs Ray: pip install 'ray>=2.9'"


@pytest.mark.parametrize("fields, words", [
    (dict(shards=0), "shards must be at least 1, got 0"),
    (dict(shards=2.5), "shards must be a whole number, got 2.5"),
    (dict(shards=51), "shards must be at most the 50 parameters, got 51"),
    (dict(ray_batch=0), "ray_batch must be at least 1, got 0"),
    (dict(ray_batch=4, policy="sync"), "ray_batch=4 needs a policy that applies gradients"),
    (dict(policy="hogwild"), "policy 'hogwild' writes into shared memory"),
    (dict(policy="gossip"), "the ray backend does not model policy 'gossip'"),
    (dict(address="my-cluster"), "address must be None .* got 'my-cluster'"),
])
def test_bad_ray_options_are_refused_before_starting_ray(fields, words):
    with pytest.raises(ValueError, match=words):
        ray_backend.run(config(**fields))


@ray_test
def test_an_address_where_nothing_listens_fails_fast():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]       # bound, not listening: refused
        with pytest.raises(ValueError, match=f"no Ray cluster answers at address "
                                             f"'127.0.0.1:{port}'"):
            asynclab.run(config(address=f"127.0.0.1:{port}"))
    assert not ray.is_initialized()


# -- one shared Ray --------------------------------------------------------------------------
HOLD_RAY = textwrap.dedent("""
    import sys, ray
    from asynclab.backends.ray import ray_session
    with ray_session(ray, None, cpus=8, nbytes=0):
        print(ray.get_runtime_context().gcs_address, flush=True)
        sys.stdin.read()
""")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The address of a local Ray held by a helper process, with token auth."""
    if ray is None:
        pytest.skip(NO_RAY)
    auth = dict(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HOME=str(home), **auth)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_RAY], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, text=True)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in auth.items():
            mp.setenv(name, value)
        mp.setenv("HOME", str(home))
        try:
            address = holder.stdout.readline().strip()
            assert address, "the helper process could not start Ray"
            yield address
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)
    assert os.listdir(home) == []


@pytest.fixture(scope="module")
def connected(cluster):
    """This process connected to the shared Ray: runs use that connection."""
    reload_auth()
    ray.init(address=cluster, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@ray_test
def test_address_joins_a_cluster_and_leaves_it_running(cluster):
    assert not ray.is_initialized()
    result = asynclab.run(config(policy="async", workers=1, gradients=100, address=cluster))
    assert not ray.is_initialized()          # disconnected; the next tests reuse the cluster
    assert (result.summary.backend, result.summary.gradients) == ("ray", 100)


@ray_test
def test_sync_on_ray_is_sync_sgd_as_simulated(connected):
    # Each sync step averages every worker's next minibatch gradient at the same
    # parameters, so timing cannot change the result: the simulated run is an oracle.
    cfg = config(policy="sync", workers=3, gradients=120)
    result = asynclab.run(cfg)
    oracle = asynclab.run(cfg.replace(backend="simulated"))
    np.testing.assert_allclose(result.params, oracle.params, rtol=1e-12, atol=1e-14)
    s = result.summary
    assert (s.updates, s.gradients, s.dropped, s.max_staleness) == (40, 120, 0, 0)
    nbytes = cfg.problem.nbytes        # every gradient: one pull and one push of the vector
    assert (s.bytes_pushed, s.bytes_pulled) == (oracle.summary.bytes_pushed,
                                                oracle.summary.bytes_pulled) == (120 * nbytes,) * 2
    applies = rows_of(result, "apply")
    assert [e.version for e in applies].count(0) == 3 and {e.staleness for e in applies} == {0}
    # The barrier: nobody computes for step v + 1 before step v has closed.
    closed = {}
    for e in applies:
        closed[e.version] = max(closed.get(e.version, 0.0), e.end)
    for e in rows_of(result, "compute"):
        assert e.version == 0 or e.start >= closed[e.version - 1]
    assert set(result.summary.to_dict()) == set(oracle.summary.to_dict())
    assert {e.kind for e in result.trace.events} <= {"compute", "pull", "push", "wait", "apply"}
    assert result.history.loss[-1] < result.history.loss[0]


@ray_test
@pytest.mark.parametrize("policy, workers, shards", [("async", 1, 1), ("local:3", 1, 1),
                                                     ("sync", 2, 2)])
def test_mlp_with_momentum_on_ray_is_as_simulated(connected, policy, workers, shards):
    # One worker, or sync (timing cannot change it): the simulated run is an oracle.
    # With shards=2 each shard keeps the velocity of its slice.
    cfg = config(problem=asynclab.MLP(hidden=(8,)), policy=policy, workers=workers,
                 shards=shards, gradients=90, lr=0.05, momentum=0.9, eval_points=10,
                 target_accuracy=0.5)
    result = asynclab.run(cfg)
    oracle = asynclab.run(cfg.replace(backend="simulated"))
    np.testing.assert_allclose(result.params, oracle.params, rtol=1e-10, atol=1e-12)
    assert result.history.gradients == oracle.history.gradients
    np.testing.assert_allclose(result.history.accuracy, oracle.history.accuracy)
    np.testing.assert_allclose(result.history.validation_accuracy,
                               oracle.history.validation_accuracy)
    assert result.summary.final_accuracy == pytest.approx(oracle.summary.final_accuracy)
    assert result.summary.final_accuracy > 0.5 and result.summary.time_to_accuracy is not None


@ray_test
@pytest.mark.parametrize("features", [50, 20_000])
def test_small_and_large_messages_carry_the_same_numbers(connected, features):
    # Up to 100 KiB a message is pickled by asynclab; a larger one (20000
    # float64 = 160 kB) goes through Ray's object store and arrives read-only.
    from asynclab.backends.ray_actors import INLINE_BYTES, pack
    problem = asynclab.Logistic(features=features, examples=64)
    by_hand = problem.nbytes <= INLINE_BYTES
    assert isinstance(pack((np.zeros(features),), problem.nbytes), bytes) == by_hand
    cfg = config(problem=problem, policy="sync", workers=2, gradients=8)
    result = asynclab.run(cfg)
    oracle = asynclab.run(cfg.replace(backend="simulated"))
    np.testing.assert_allclose(result.params, oracle.params, rtol=1e-12, atol=1e-14)


@ray_test
def test_sharded_local_sgd_is_exact_too(connected):
    cfg = config(policy="local:3", workers=2, gradients=60, shards=2, eval_points=11)
    result = asynclab.run(cfg)
    oracle = asynclab.run(cfg.replace(backend="simulated"))
    np.testing.assert_allclose(result.params, oracle.params, rtol=1e-12, atol=1e-14)
    assert (result.summary.updates, result.summary.gradients) == (10, 60)
    assert result.summary.bytes_sent == oracle.summary.bytes_sent == 2 * 20 * cfg.problem.nbytes
    # Each update carries 3 gradients: the loss is evaluated every 6 gradients
    # (60 / (eval_points - 1)), at the same updates as on the simulated cluster.
    assert len(result.history.loss) == 11
    assert result.history.updates == oracle.history.updates
    np.testing.assert_allclose(result.history.loss, oracle.history.loss, atol=1e-12)


@ray_test
def test_sharded_diloco_on_non_iid_data_is_exact_too(connected):
    # DiLoCo's outer step is elementwise, so each shard applies it to its slice;
    # the client drift adds up the slices' squared distances before the root.
    cfg = config(policy="diloco:3", workers=2, gradients=60, shards=2, eval_points=11,
                 partition="shards:2", outer_lr=0.8, outer_momentum=0.5)
    result = asynclab.run(cfg)
    oracle = asynclab.run(cfg.replace(backend="simulated"))
    np.testing.assert_allclose(result.params, oracle.params, rtol=1e-12, atol=1e-14)
    assert result.summary.client_drift == pytest.approx(oracle.summary.client_drift, rel=1e-9)
    assert result.summary.client_drift > 0 and result.summary.updates == 10


@ray_test
def test_ssp_bound_holds_with_a_slow_worker(connected):
    bound = 1
    result = asynclab.run(config(policy=f"ssp:{bound}", workers=3, gradients=90,
                                 delay="const:0.002", speeds=(1, 1, 4)))
    applied = {w: sorted(e.end for e in rows_of(result, "apply", w)) for w in range(3)}
    for w in range(3):
        for clock, e in enumerate(rows_of(result, "compute", w)):
            # When w began its gradient number `clock`, every worker had pushed
            # at least clock - bound gradients.
            slowest = min(sum(t <= e.start for t in applied[u]) for u in range(3))
            assert clock - slowest <= bound
    assert rows_of(result, "wait"), "the fast workers never waited for the slow one"
    assert result.summary.gradients == 90 and min(result.trace.staleness()) >= 0


@ray_test
def test_async_goes_on_without_a_killed_worker(connected):
    # Worker 1's actor is killed with ray.kill after its 31st gradient; messages
    # carry 2 gradients and the parameters are split over 2 server actors.
    result = asynclab.run(config(policy="async", workers=3, gradients=200, ray_batch=2,
                                 shards=2, fail=((1, 31),)))
    s = result.summary
    assert s.failed_workers == (1,)
    assert s.gradients == 200                 # its unspent grant went back to the others
    assert s.updates == 200 - 1               # the gradient it died with was never pushed
    lost = rows_of(result, "fail", 1)[0].start
    assert len(rows_of(result, "compute", 1)) == 31
    assert all(e.start <= lost for e in result.trace.events if e.worker == 1)
    staleness = result.trace.staleness()
    assert staleness.min() >= 0 and staleness.max() >= 1
    assert s.final_loss < s.initial_loss


@ray_test
def test_a_worker_failing_after_zero_gradients_never_computes_on_ray(connected):
    result = asynclab.run(config(policy="async", workers=3, gradients=60, fail=((1, 0),)))
    assert result.summary.failed_workers == (1,) and result.summary.gradients == 60
    assert rows_of(result, "compute", 1) == []


@ray_test
def test_sync_stops_with_a_clear_error_when_a_worker_dies(connected):
    with pytest.raises(StalledError, match="worker 2 failed and policy 'sync' needs 3") as err:
        asynclab.run(config(policy="sync", workers=3, gradients=120, fail=((2, 10),)))
    partial = err.value.result
    assert partial.summary.failed_workers == (2,) and partial.summary.updates <= 10


@ray_test
def test_a_diverging_run_stops_early_and_says_so(connected):
    result = asynclab.run(config(policy="async", workers=1, gradients=5000, lr=1e4,
                                 problem=asynclab.LeastSquares(features=50, examples=500)))
    assert result.summary.diverged and result.summary.gradients < 5000
    assert not np.isfinite(result.history.loss[-1])


def _dies_once(marker):
    """A problem whose gradient kills its process, in the first worker only."""
    class DiesOnce(asynclab.Logistic):
        def gradient(self, w, idx):
            if not hasattr(self, "calls"):
                object.__setattr__(self, "calls", 0)
            object.__setattr__(self, "calls", self.calls + 1)
            if self.calls == 15:
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                    os._exit(1)                # an unannounced crash, not an exception
                except FileExistsError:
                    pass
            return super().gradient(w, idx)
    return DiesOnce(features=50, examples=500)


@ray_test
def test_backup_workers_cover_a_worker_that_crashes(connected, tmp_path):
    problem = _dies_once(str(tmp_path / "died"))
    result = asynclab.run(config(policy="backup:1", workers=3, gradients=150, problem=problem))
    s = result.summary
    assert len(s.failed_workers) == 1
    assert s.gradients >= 140 and s.updates >= 40
    assert s.final_loss < s.initial_loss


def _explodes():
    class Explodes(asynclab.Logistic):
        def gradient(self, w, idx):
            raise ArithmeticError("boom in the gradient")
    return Explodes(features=50, examples=500)


@ray_test
def test_a_worker_that_raises_fails_the_run_with_its_id_and_traceback(connected):
    with pytest.raises(WorkerError) as err:
        asynclab.run(config(policy="async", workers=2, gradients=50, problem=_explodes()))
    assert err.value.worker in (0, 1)
    assert str(err.value).startswith(f"worker {err.value.worker} failed:")
    assert "ArithmeticError: boom in the gradient" in err.value.traceback_text
    assert "in gradient" in err.value.traceback_text
    # Its actors are gone: every CPU of the cluster comes back.
    deadline = time.time() + 20
    while ray.available_resources().get("CPU") != ray.cluster_resources()["CPU"]:
        assert time.time() < deadline, "the failed run's actors still hold CPUs"
        time.sleep(0.1)


# -- a run's own Ray -----------------------------------------------------------------------------
DEFAULT_RUNS = textwrap.dedent("""
    import asynclab, sys
    problem = asynclab.Logistic(features=50, examples=500)
    r = asynclab.run(policy="ssp:2", backend="ray", workers=2, gradients=100, problem=problem)
    print("first run", r.summary.gradients, flush=True)
    asynclab.run(policy="async", backend="ray", workers=2, gradients=10**7, problem=problem,
                 delay="const:0.01", progress=True)
""")


@ray_test
def test_default_runs_start_and_stop_their_own_ray_and_leave_nothing(tmp_path):
    """One run to the end, then one interrupted with Ctrl-C (SIGINT)."""
    child, home, temp = start_with_a_fresh_home(DEFAULT_RUNS, tmp_path)
    try:
        assert child.stdout.readline() == "first run 100\n"
        read_until(child.stderr, "(ray)")      # the progress bar: the second run is going
        ray_processes = descendants(child.pid)
        assert len(ray_processes) >= 4          # GCS, raylet, 2 workers at least
        interrupt(child, timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    deadline = time.time() + 15
    while alive(ray_processes) and time.time() < deadline:
        time.sleep(0.2)
    assert alive(ray_processes) == set()
    assert os.listdir(home) == [] and os.listdir(temp) == []
    os.rmdir(temp)
