"""Ray across nodes (issue 22, part 3): a local cluster of a head and K worker
nodes, and a node lost mid-run.

Starting a cluster takes 10-30 s, so most runs share one, held open by
local_cluster (a node that a run loses is replaced after it). One test runs a
subprocess whose two runs start their own cluster each: the command line
(sync losing a node: exit 1 and one line naming it) and a run interrupted with
Ctrl-C; nothing of either is left afterwards.
"""
import os
import textwrap
import threading
import time

import psutil
import pytest
from helpers import interrupt, read_until, start_with_a_fresh_home

import asynclab
from asynclab import Config
from asynclab.backends.ray_nodes import Placement, local_cluster

try:
    import ray
except ImportError:
    ray = None

NO_RAY = "Ray is not installed: pip install 'ray>=2.9'"
SMALL = asynclab.Logistic(features=50, examples=500)


def ray_test(test):
    return pytest.mark.ray(pytest.mark.skipif(ray is None, reason=NO_RAY)(test))


def config(**fields):
    return Config(**{"backend": "ray", "lr": 0.5, "problem": SMALL, "ray_nodes": 2, **fields})


def rows_of(result, kind, worker=None):
    return [e for e in result.trace.events
            if e.kind == kind and (worker is None or e.worker == worker)]


def descendants(pid=None):
    try:
        return set(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return set()


def names(processes):
    found = set()
    for p in processes:
        try:
            found.add(p.name())
        except psutil.NoSuchProcess:
            pass
    return found


def still_running(processes):
    running = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                running.append(p)
        except psutil.NoSuchProcess:
            pass
    return running


def wait_until_gone(processes, seconds=20):
    deadline = time.time() + seconds
    while still_running(processes) and time.time() < deadline:
        time.sleep(0.2)
    return still_running(processes)


# -- without starting Ray ------------------------------------------------------------------
@pytest.mark.parametrize("fields, words", [
    (dict(backend="simulated"), "ray_nodes starts a local Ray cluster: it needs backend='ray', "
                                "not 'simulated'"),
    (dict(ray_nodes=0), "ray_nodes must be at least 1, got 0"),
    (dict(ray_nodes=1.5), "ray_nodes must be a whole number, got 1.5"),
    (dict(ray_nodes=5, workers=4), r"ray_nodes must be at most workers \(4\)"),
    (dict(ray_nodes=9, workers=9), "ray_nodes must be at most 8 on one machine"),
    (dict(address="auto"), "ray_nodes starts a local cluster of its own; it cannot join the "
                           "cluster at address 'auto'"),
    (dict(ray_nodes=None, fail_node="0:5"), "fail_node '0:5' needs ray_nodes"),
    (dict(fail_node="2:5"), r"fail_node '2:5': NODE must be 0..1 \(the worker nodes of "
                            r"ray_nodes=2\) and GRADIENTS a whole number >= 0"),
    (dict(fail_node=(0, -1)), "GRADIENTS a whole number >= 0"),
    (dict(fail_node="0:inf"), "GRADIENTS a whole number >= 0"),
    (dict(fail_node="0:x"), "fail_node must look like NODE:GRADIENTS, got '0:x'"),
    (dict(fail_node="0:1000", gradients=1000), r"GRADIENTS must be less than gradients \(1000\)"),
])
def test_bad_node_options_are_one_clear_line(fields, words):
    with pytest.raises(ValueError, match=words):
        config(**fields)


def test_fail_node_reads_as_a_pair():
    assert config(fail_node="1:20").fail_node == (1, 20)
    assert config(fail_node=[0, 0]).fail_node == (0, 0)
    assert config(fail_node="1:20").to_dict()["fail_node"] == [1, 20]


def test_workers_go_round_robin_over_the_worker_nodes():
    placement = Placement(workers=5, nodes=2)
    assert placement.workers_on == ((0, 2, 4), (1, 3))
    assert [placement.node_of(w) for w in range(5)] == [0, 1, 0, 1, 0]
    assert placement.worker(3) == {"resources": {"asynclab_node_1": 1}}
    assert placement.server == {"resources": {"asynclab_head": 1}}
    assert placement.loss(0) == "node 0 was lost with workers 0, 2, 4"
    assert Placement(workers=3, nodes=3).loss(2) == "node 2 was lost with worker 2"
    one_node = Placement(workers=5)
    assert one_node.workers_on == () and one_node.server == {}


def test_a_run_on_one_node_says_nothing_of_nodes():
    summary = asynclab.run(problem=SMALL, gradients=20).summary
    assert summary.nodes == () and "nodes" not in summary.to_dict()


# -- one shared cluster ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """A head and 2 worker nodes with room for 4 workers and 2 shards; afterwards
    none of its processes runs, and nothing is left in HOME or the temp dir."""
    if ray is None:
        pytest.skip(NO_RAY)
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        for name in [n for n in os.environ if n.startswith("RAY_")]:
            mp.delenv(name)
        before = set(psutil.Process().children(recursive=True))
        with local_cluster(ray, 2, workers=4, shards=2) as cluster:
            temp_dir = os.environ["RAY_TMPDIR"]
            assert {"gcs_server", "raylet"} <= names(descendants() - before)
            yield cluster
            started = descendants() - before       # with the nodes that replaced lost ones
        assert not ray.is_initialized()
    assert wait_until_gone(started) == []
    assert not os.path.exists(temp_dir) and os.listdir(home) == []


@ray_test
def test_async_carries_on_without_the_lost_node(two_nodes):
    budget = 300
    result = asynclab.run(config(policy="async", workers=4, gradients=budget, shards=2,
                                 fail_node=(1, 100)))
    s = result.summary
    assert s.nodes == ((0, 2), (1, 3)) and s.lost_nodes == (1,)
    assert sorted(s.failed_workers) == [1, 3]
    # The lost workers computed until the loss, then nothing: the survivors
    # went on (the loss came after 100 of the 300 gradients had arrived).
    lost_workers_end = max(e.end for e in result.trace.events
                           if e.worker in (1, 3) and e.kind != "fail")
    for w in (1, 3):
        assert rows_of(result, "compute", w), f"worker {w} never computed: lost too early"
    after = [e for w in (0, 2) for e in rows_of(result, "compute", w)
             if e.start > lost_workers_end]
    assert len(after) >= 100
    # Gradients granted to a lost worker but never delivered go back to the budget;
    # the others may have spent it all before Ray reported the loss.
    assert budget - 2 <= s.gradients <= budget
    assert s.final_loss < s.initial_loss
    # The lost node was replaced for the next run.
    assert len([n for n in ray.nodes() if n["Alive"]]) == 3


@ray_test
def test_backup_carries_on_if_it_lost_at_most_b_workers(two_nodes):
    # Node 1 holds worker 1 of 3: backup:1 still gathers 2 gradients a step.
    # (Losing node 0, with workers 0 and 2, would stall it as it stalls sync:
    # the command-line test below.)
    s = asynclab.run(config(policy="backup:1", workers=3, gradients=240,
                            fail_node=(1, 30))).summary
    assert s.failed_workers == (1,) and s.lost_nodes == (1,)
    assert s.gradients >= 240 - 1 and s.updates >= 100
    assert s.final_loss < s.initial_loss


@ray_test
def test_a_held_cluster_refuses_a_run_it_has_no_room_for(two_nodes):
    with pytest.raises(ValueError, match="ray_nodes=1, but the local cluster held open has 2"):
        asynclab.run(config(ray_nodes=1))
    with pytest.raises(ValueError, match="room for 4 workers and 2 shards; this run needs 6"):
        asynclab.run(config(workers=6))


# -- a run's own cluster -------------------------------------------------------------------
OWN_CLUSTERS = textwrap.dedent("""
    import asynclab
    from asynclab.cli import main
    code = main(["run", "--backend", "ray", "--ray-nodes", "2", "--fail-node", "0:20",
                 "--policy", "sync", "--workers", "4", "--gradients", "400",
                 "--features", "50", "--examples", "500", "--json"])
    print("exit", code, flush=True)
    asynclab.run(policy="async", backend="ray", workers=2, ray_nodes=2, gradients=10**7,
                 problem=asynclab.Logistic(features=50, examples=500), delay="const:0.01",
                 progress=True)
""")


@ray_test
def test_own_clusters_stop_on_an_error_and_on_ctrl_c_and_leave_nothing(tmp_path):
    """The command line's sync run loses node 0 (exit 1, one line naming the node
    and its workers); a second run is interrupted with Ctrl-C (SIGINT)."""
    child, home, temp = start_with_a_fresh_home(OWN_CLUSTERS, tmp_path)
    seen = set()                       # every process below the child, while it runs

    def watch():
        while child.poll() is None:
            seen.update(descendants(child.pid))
            time.sleep(0.2)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert child.stdout.readline() == "exit 1\n"    # --json: nothing on stdout but this
        error = child.stderr.readline()
        assert error.startswith("asynclab: run failed: node 0 was lost with workers 0, 2: "
                                "worker "), error
        assert "policy 'sync' needs 4 gradients per step" in error
        read_until(child.stderr, "(ray)")       # the progress bar: the second run is going
        time.sleep(0.5)                         # the watcher sees the second cluster
        assert {"raylet", "gcs_server"} <= names(seen)
        interrupt(child, timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
        watcher.join()
    assert wait_until_gone(seen) == []
    assert os.listdir(home) == [] and os.listdir(temp) == []
    os.rmdir(temp)
