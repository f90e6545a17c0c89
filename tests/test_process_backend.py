"""The process backend's own promises: spawned workers that rebuild their
data, limit BLAS, report start-up failures, and leave nothing behind.

Policy behaviour shared with the thread backend is tested in
test_real_backends.py, faults in test_faults.py.
"""
import dataclasses
import multiprocessing
import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

import asynclab
from asynclab.backends import process
from asynclab.backends.sharedmem import SharedArrays


@dataclasses.dataclass(frozen=True)
class Picky(asynclab.Logistic):
    """Fails in a worker process unless BLAS is pinned to one thread and the
    data was rebuilt there (not received: the pickle carries only the recipe)."""

    def gradient(self, w, idx):
        threads = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
        if threads != {1}:
            raise AssertionError(f"BLAS threads in a worker: {threads}")
        return super().gradient(w, idx)

    def __setstate__(self, state):
        assert "data" not in state, "the data was pickled"
        self.__dict__.update(state)


def test_workers_rebuild_the_data_and_use_one_blas_thread_each():
    problem = Picky(features=50, examples=500)
    problem.data                                  # generated here; must not travel
    r = asynclab.run(problem=problem, backend="process", workers=2, gradients=100,
                     delay="const:0.0005")
    assert r.summary.gradients == 100 and {e.worker for e in r.trace.events} == {0, 1}


@dataclasses.dataclass(frozen=True)
class Unbuildable(asynclab.Logistic):
    @property
    def data(self):
        raise OSError("cannot build the data here")


def test_a_worker_that_cannot_start_is_reported_with_its_traceback():
    with pytest.raises(asynclab.WorkerError) as info:
        asynclab.run(problem=Unbuildable(features=10, examples=40), backend="process",
                     workers=2, gradients=10)
    assert info.value.worker in (0, 1)
    assert "OSError: cannot build the data here" in info.value.traceback_text


def test_segments_hold_the_parameters_for_each_policy_kind():
    lock_free = process._layout(asynclab.Config(policy="hogwild", workers=3))
    served = process._layout(asynclab.Config(policy="sync", workers=3))
    dim = asynclab.Config().problem.dim
    assert [name for name, *_ in lock_free] == ["board", "params"]
    assert dict((n, s) for n, _, s in served)["inbox"] == (3, dim)


def test_progress_bar_counts_the_budget(capsys):
    asynclab.run(problem=asynclab.Logistic(features=50, examples=500), backend="process",
                 workers=2, gradients=60, progress=True)
    err = capsys.readouterr().err
    assert "60/60" in err and "async (process)" in err


NOTEBOOK_CLASS = """
import dataclasses, asynclab

@dataclasses.dataclass(frozen=True)
class Mine(asynclab.Logistic):      # defined in __main__, as in a notebook cell
    pass

if __name__ == "__main__":
    try:
        asynclab.run(problem=Mine(features=10, examples=40), backend="process", workers=2)
    except asynclab.WorkerError as err:
        print(err.traceback_text.strip().splitlines()[-1])
"""


def test_a_problem_class_workers_cannot_import_is_reported_to_the_caller():
    done = subprocess.run([sys.executable, "-c", NOTEBOOK_CLASS], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.startswith("AttributeError: Can't get attribute 'Mine'"), done.stderr


def test_the_parent_stops_watching_a_pipe_its_worker_has_closed():
    """A worker closes its pipe a moment before its process ends. A closed
    pipe stays readable, so a parent that kept watching it would spin through
    its loop until the process ended, taking CPU from the workers still
    running. It must read the end of the pipe once, then wait on the process."""
    config = asynclab.Config(problem=asynclab.Logistic(features=10, examples=40),
                             backend="process", workers=1, gradients=10)

    class Running:                         # a worker process that has not ended yet
        exitcode = None

        def __init__(self):
            self.sentinel, self._write_end = os.pipe()

    block = SharedArrays.create(process._layout(config))
    parent = process._Parent(config, block)
    mine, theirs = multiprocessing.Pipe()
    proc = Running()
    parent.procs, parent.conns = [proc], [mine]
    theirs.send(("done", None, b""))
    theirs.close()
    reads = []
    recv = mine.recv

    def counting_recv():
        reads.append(1)
        return recv()

    mine.recv = counting_recv
    try:
        assert parent._poll(0.01) == [(0, "done", None)]
        for _ in range(3):
            assert parent._poll(0.01) == []
        assert parent.hung_up == {0}
        assert len(reads) == 2           # the message, then the end of the pipe: once
    finally:
        mine.close()
        block.close()
        os.close(proc.sentinel)
        os.close(proc._write_end)
