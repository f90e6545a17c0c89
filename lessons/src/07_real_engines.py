# %% [markdown]
# # 07 · Real engines on your machine
#
# The simulated cluster gives the same numbers on every computer. Real
# workers do not: they compete for your cores, for the Python interpreter and
# for memory. This lesson runs the policies on real threads and processes and
# measures what decides their speed on one machine.
#
# **By the end of this lesson you will be able to**
#
# 1. explain when threads run in parallel in Python (the GIL, and numpy
#    releasing it) and when you need processes;
# 2. recognise BLAS oversubscription and prevent it with threadpoolctl;
# 3. say what the process backend shares through shared memory, and check
#    that a run leaves nothing behind;
# 4. inject latency and bandwidth limits to make communication visible on
#    one machine, and compare with the simulator's prediction;
# 5. lose a worker mid-run and see which policies survive.
#
# Cells that measure wall-clock time print different numbers on every run
# and every machine; the text says what to look for.

# %%
# %matplotlib inline
import os
import threading
import time

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import asynclab
from asynclab.backends import sharedmem
from asynclab import plots
from asynclab.course import quiz, explore

print(f"this machine has {os.cpu_count()} CPU cores")

# %% [markdown]
# ## Threads and the GIL
#
# CPython runs Python code in one thread at a time: a thread must hold the
# *global interpreter lock* (GIL) to execute bytecode. Code inside numpy's
# large operations (and BLAS, which numpy calls for matrix products) releases
# the GIL while it works, so that part of two threads can run on two cores at
# once.
#
# Test it: run a function in one thread, then two threads each running it
# (twice the work). If the threads run in parallel, the two take as long as
# the one; if they are serialised, twice as long. (Best of 3 tries, to filter
# out other programs.)

# %%
quiz.ask("07-gil")

# %%
# NBVAL_IGNORE_OUTPUT
def python_loop():
    total = 0
    for i in range(1_000_000):
        total += i * i


matrix = np.random.default_rng(0).standard_normal((500, 500))


def numpy_products():
    for _ in range(20):
        matrix @ matrix


def best_time(function, threads, tries=3):
    """Fastest of ``tries`` wall-clock runs of ``function`` in that many threads at once."""
    best = float("inf")
    for _ in range(tries):
        pool = [threading.Thread(target=function) for _ in range(threads)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        best = min(best, time.perf_counter() - start)
    return best


with threadpool_limits(limits=1, user_api="blas"):   # one BLAS thread per Python thread
    for function in (python_loop, numpy_products):
        one, two = best_time(function, 1), best_time(function, 2)
        print(f"{function.__name__:15} 1 thread {one:.3f} s, 2 threads {two:.3f} s: "
              f"{2 * one / two:.2f}x the work per second")

# %% [markdown]
# With two free cores, the pure-Python loop gains nothing from a second
# thread (about 1.0x, or less: the threads also fight over the GIL), while
# the matrix products come close to 2x because numpy released the GIL. If
# your machine is busy, both numbers drop.
#
# For training, the same holds per gradient: the thread backend speeds up
# steps that spend their time inside numpy and BLAS, not steps that are
# mostly Python. Measure it with lock-free workers (no server in the way) on
# a small problem (50 features: a step is mostly Python) and a large one
# (100 000 features, 256 examples: a step is a long numpy and BLAS computation), on
# threads and on processes.

# %%
# NBVAL_IGNORE_OUTPUT
small = asynclab.Logistic(features=50, examples=1000)
large = asynclab.Logistic(features=100_000, examples=256)   # as in benchmarks/bench_backends.py
per_worker = {small: 4000, large: 100}
print("problem            backend    1 worker      2 workers    speedup")
for name, problem in (("small steps", small), ("large steps", large)):
    for backend in ("thread", "process"):
        rate = {n: asynclab.run(problem=problem, policy="hogwild", backend=backend, workers=n,
                                gradients=per_worker[problem] * n, lr=0.1,
                                eval_points=2).summary.gradients_per_second for n in (1, 2)}
        print(f"{name:17}  {backend:8} {rate[1]:8.0f}/s {rate[2]:11.0f}/s {rate[2] / rate[1]:8.2f}x")

# %% [markdown]
# What to look for (on an otherwise idle machine with two cores): threads
# give no speedup on small steps and a clear one on large steps (about 1.8x
# was measured when the course was written); processes can speed up both,
# because each has its own interpreter. If other programs keep your cores
# busy, every speedup shrinks towards 1x or below: compare with
# `python benchmarks/bench_backends.py`, which measures the same rows with
# repeats and prints the load average. Processes cost more to
# start (each imports numpy and rebuilds the data, a fraction of a second)
# and to talk to, so for short runs threads on large steps can still win.

# %% [markdown]
# ## BLAS oversubscription
#
# numpy hands matrix products to a BLAS library, which starts its own
# threads, by default one per core. Two workers that each use a
# multi-threaded BLAS on a two-core machine run four busy threads on two
# cores.

# %%
quiz.ask("07-oversubscription")

# %%
# NBVAL_IGNORE_OUTPUT
for pool in threadpool_info():
    print(f"{pool['internal_api']}: {pool['num_threads']} threads ({pool['filepath']})")

# %% [markdown]
# Run two workers doing matrix products, first with BLAS at its default (or
# at least 2 threads each), then limited to one thread each with
# threadpoolctl:

# %%
# NBVAL_IGNORE_OUTPUT
for blas_threads in (max(2, os.cpu_count()), 1):
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        one, two = best_time(numpy_products, 1, tries=2), best_time(numpy_products, 2, tries=2)
    print(f"BLAS with {blas_threads} thread{'s' * (blas_threads > 1)} each: 1 worker {one:.3f} s, "
          f"2 workers {two:.3f} s "
          f"-> {2 * one / two:.2f}x the work per second")

# %% [markdown]
# With one BLAS thread per worker, two workers should do close to twice the
# work per second; with BLAS threads on top of the workers, the threads
# preempt each other and thrash the caches, and the gain shrinks or turns
# into a loss (0.75x was measured on a two-core machine like this one when
# the course was written). That is why the thread and process backends wrap
# every run in `threadpool_limits(limits=1, user_api="blas")`, and restore
# the previous limits afterwards. The same applies outside asynclab: set
# `OMP_NUM_THREADS=1` (or use threadpoolctl) when you run several numeric
# processes side by side.

# %% [markdown]
# ## Shared memory
#
# Processes do not share Python objects. The process backend creates one
# `multiprocessing.shared_memory` segment per run, and every worker maps it
# as numpy arrays:
#
# - a small *board* of counters (gradients computed, updates written) and the
#   stop flag, each worker writing only its own slots, so no lock is needed;
# - under `hogwild`, the weight vector itself, read and written by everyone;
# - under the lock-based policies, an *inbox* and an *outbox* per worker: the
#   parent (the parameter server) writes the current weights into a worker's
#   inbox before it starts a step and reads its gradient from its outbox.
#
# On Linux, segments live in `/dev/shm`, a memory filesystem that is often
# small in containers (64 MB in Docker by default). Writing past its free
# space kills a process with a bus error instead of raising an exception, so
# the backend checks the free space first:

# %%
# NBVAL_IGNORE_OUTPUT
free = sharedmem.free_bytes()
print("free shared memory:", "not a filesystem here" if free is None else f"{free / 2**20:.0f} MB")
print(f"a 100 000-feature weight vector needs {large.nbytes / 2**20:.2f} MB")

# %% [markdown]
# Segments are named `asynclab_<process id>_<random>`, and the parent
# removes its segment when the run ends, even when it fails.
# `sharedmem.leaked_segments(pid)` lists the names in `/dev/shm` that start
# with `asynclab_<pid>_` (`ls /dev/shm` in a terminal shows them too). Check
# that a run, and a run that fails, leave nothing behind:

# %%
def my_segments():
    return sharedmem.leaked_segments(os.getpid())


asynclab.run(problem=small, policy="hogwild", backend="process", workers=2, gradients=200,
             eval_points=2)
print("segments left after a run:", len(my_segments()))
try:
    asynclab.run(problem=small, policy="sync", backend="process", workers=2, gradients=200,
                 fail=((0, 5),), eval_points=2)
except asynclab.StalledError as err:
    print("the second run stopped:", err)
print("segments left after a failed run:", len(my_segments()))

# %% [markdown]
# ## Making communication visible
#
# On one machine a "message" between a worker and the server costs next to
# nothing. The real backends can inject what a network would cost: with
# `latency=` (seconds per message) and `bandwidth=` (bytes per second), every
# pull and push sleeps for `latency + size / bandwidth`, the same formula the
# simulator uses.

# %%
quiz.ask("07-message-time")

# %%
network = dict(problem=asynclab.Logistic(features=1000, examples=1000), latency=0.002,
               bandwidth=4e6)
message = asynclab.Config(**network).timing.message_time(network["problem"].nbytes)
print(f"one message of {network['problem'].nbytes} bytes: {message * 1000:.1f} ms")
simulated = asynclab.run(policy="async", workers=2, gradients=200, compute="const:0.004",
                         eval_points=2, **network)
print(f"simulated, 4 ms per gradient: communicating {simulated.summary.comm_fraction:.0%}, "
      f"computing {simulated.summary.compute_fraction:.0%} of the time")

# %% [markdown]
# Now on real threads, with an injected compute time of 4 ms per gradient
# (`delay=`, a sleep after the real gradient) so that computing and
# communicating are both visible:

# %%
# NBVAL_IGNORE_OUTPUT
threads = asynclab.run(policy="async", backend="thread", workers=2, gradients=200,
                       delay="const:0.004", eval_points=2, **network)
s = threads.summary
pushes = [e.duration for e in threads.trace.of_kind("push")]
print(f"threads: communicating {s.comm_fraction:.0%}, computing {s.compute_fraction:.0%}, "
      f"idle {s.idle_fraction:.0%}; a push took {np.median(pushes) * 1000:.1f} ms (median)")
plots.timeline(threads)
plt.show()

# %% [markdown]
# The measured fractions should be close to the simulator's two thirds
# communicating and one third computing: each gradient costs a 4 ms pull, a
# 4 ms push and about 4 ms of compute. Sleeps overshoot a little, more on a
# busy machine, and the real gradient adds a fraction of a millisecond. This
# is how to rehearse a slow network on a laptop: inject the message cost,
# then compare policies (lesson 05's local SGD, for instance) on real
# workers.

# %% [markdown]
# ## Losing a worker
#
# Real workers crash. `fail=((1, 20),)` kills worker 1 right after its 20th
# gradient (on threads and processes it really stops; the gradient it was
# holding is never pushed). Which policies can finish without it?

# %%
quiz.ask("07-lost-worker")

# %%
crash = dict(problem=small, backend="thread", workers=4, gradients=400, lr=0.5,
             fail=((1, 20),), delay="const:0.002", eval_points=5)
for policy in ("async", "ssp:2", "backup:1", "sync"):
    try:
        r = asynclab.run(policy=policy, **crash)
        print(f"{policy:8} finished: {r.summary.gradients} gradients, lost workers "
              f"{list(r.summary.failed_workers)}")
    except asynclab.StalledError as err:
        print(f"{policy:8} stalled after {err.result.summary.updates} updates: {err}")

# %% [markdown]
# Asynchronous and stale-synchronous workers never wait for a particular
# worker: the server forgets the lost one and the others compute the rest of
# the budget (Downpour SGD survived failed replicas the same way; Dean et al.
# 2012). `ssp:2` stops counting the lost worker's clock, so it cannot hold
# the others back. Synchronous SGD needs all four gradients for every step:
# after the loss no step can close, and the run stops with `StalledError`
# (instead of waiting forever). One backup worker makes sync tolerant: each
# step needs only three.
#
# The same on processes, where the worker process really exits:

# %%
r = asynclab.run(policy="async", **{**crash, "backend": "process"})
print(f"process backend, async: {r.summary.gradients} gradients, lost workers "
      f"{list(r.summary.failed_workers)}")
plots.timeline(r)
plt.show()

# %% [markdown]
# The X marks the moment worker 1 was lost; the others carry on.

# %% [markdown]
# ## Explore
#
# On the simulated cluster, make communication expensive: raise the latency
# (seconds per message) and lower the bandwidth (bytes per second; this
# problem's messages are 400 bytes). How large does the orange share get
# before sync's barriers stop being the main cost? Which policy suffers most?

# %%
lab = explore(["workers", "policy", "latency", "bandwidth", "x"], policies=("sync", "async", "ssp"),
              workers=4, policy="sync", latency=0.2, bandwidth=1e6, lr=0.5, compute="exp:1",
              problem=small, gradients=1000)
lab

# %% [markdown]
# In code: a slow link (400 bytes at 1000 bytes per second: 0.4 s more per
# message) under sync, then async.

# %%
lab.redraw(bandwidth=1000.0)
print(lab.text())
lab.redraw(policy="async")
print(lab.text())

# %% [markdown]
# ## Summary
#
# - Python threads run Python code one at a time (the GIL); only the time
#   spent inside numpy and BLAS overlaps. Processes run in parallel but cost
#   more to start and to talk to.
# - A multi-threaded BLAS inside each of several workers oversubscribes the
#   cores; pin BLAS to one thread per worker with threadpoolctl (the
#   backends do).
# - The process backend shares weights, inboxes and counters in one shared
#   memory segment per run and removes it afterwards, also when a run fails.
# - Injected latency and bandwidth make communication measurable on one
#   machine; the measured share matches the simulator's formula
#   `latency + size / bandwidth` per message.
# - A lost worker stops synchronous SGD (`StalledError`), but not async,
#   `ssp:S` or sync with a backup worker.
#
# Next: hundreds to thousands of simulated workers, and the same experiment
# on Ray.
