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
# 5. calibrate the simulator on a real run and check its prediction of
#    another one: measure, calibrate, predict, check;
# 6. lose a worker mid-run, see which policies survive, and read where the
#    survivors' time went.
#
# **Prerequisites:** lessons 03 (asynchronous updates, communication),
# 05 (`ssp:S`, backup workers) and 06 (threads and processes, Hogwild!).
#
# **Time:** about 40 minutes.
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


print(f"load average over the last minute {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
with threadpool_limits(limits=1, user_api="blas"):   # one BLAS thread per Python thread
    for function in (python_loop, numpy_products):
        one, two = best_time(function, 1), best_time(function, 2)
        print(f"{function.__name__:15} 1 thread {one:.3f} s, 2 threads {two:.3f} s: "
              f"{2 * one / two:.2f}x the work per second")

# %% [markdown]
# With two free cores, the pure-Python loop gains nothing from a second
# thread (about 1.0x, or less: the threads also fight over the GIL), while
# the matrix products come close to 2x because numpy released the GIL. If
# your machine is busy (a load average near or above its number of cores,
# printed first), both numbers drop: the second thread then finds no free
# core either.
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
per_worker = {small: 4000, large: 50}
print(f"load average over the last minute {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
print("problem            backend    1 worker      2 workers    speedup")
for name, problem in (("small steps", small), ("large steps", large)):
    for backend in ("thread", "process"):
        rate = {n: asynclab.run(problem=problem, policy="hogwild", backend=backend, workers=n,
                                gradients=per_worker[problem] * n, lr=0.1,
                                eval_points=2).summary.gradients_per_second for n in (1, 2)}
        print(f"{name:17}  {backend:8} {rate[1]:8.0f}/s {rate[2]:11.0f}/s {rate[2] / rate[1]:8.2f}x")

# %% [markdown]
# What to look for (on an otherwise idle machine with two cores): threads
# give no speedup on small steps and a clear one on large steps (1.77-1.79x
# in three runs of the benchmark below when the course was written);
# processes can speed up both, because each has its own interpreter. If
# other programs keep your cores busy, every speedup shrinks towards 1x or
# below (read the load average printed above the table): compare with
# `python benchmarks/bench_backends.py`, which measures the same kinds of
# rows with repeats and prints the load average.
# Processes cost more to start (each imports numpy and rebuilds the data, a
# fraction of a second) and to talk to, so for short runs threads on large
# steps can still win.

# %% [markdown]
# ## BLAS oversubscription
#
# numpy hands matrix products to a BLAS library, which starts its own
# threads, by default one per core. Several workers that each use a
# multi-threaded BLAS run more busy threads than there are cores: on two
# cores, two workers with two BLAS threads each make four.

# %%
quiz.ask("07-oversubscription")

# %%
# NBVAL_IGNORE_OUTPUT
for pool in threadpool_info():
    print(f"{pool['internal_api']}: {pool['num_threads']} threads ({pool['filepath']})")

# %% [markdown]
# Measure the four combinations of 1 or N workers (threads doing the matrix
# products above, N = your number of cores) and 1 or N BLAS threads each,
# in matrix products per second (best of 5):

# %%
# NBVAL_IGNORE_OUTPUT
cores = os.cpu_count()


def products_per_second(workers, blas_threads):
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return workers * 20 / best_time(numpy_products, workers, tries=5)


blas = {(w, b): products_per_second(w, b) for w in (1, cores) for b in (1, cores)}
print(f"load average over the last minute {os.getloadavg()[0]:.1f} on {cores} cores\n")
print(f"products per second   BLAS 1 thread each   BLAS {cores} threads each")
for w in (1, cores):
    print(f"{w} worker{'s' * (w > 1):1}           {blas[w, 1]:14.0f}/s {blas[w, cores]:20.0f}/s")
print(f"\none worker, {cores} BLAS threads against 1:    {blas[1, cores] / blas[1, 1]:.2f}x "
      "(BLAS uses the other cores)")
print(f"{cores} pinned workers against one:           {blas[cores, 1] / blas[1, 1]:.2f}x "
      "(the workers use them)")
print(f"oversubscribed against pinned, {cores} workers: {blas[cores, cores] / blas[cores, 1]:.2f}x "
      f"({cores * cores} busy threads against {cores}: the penalty itself)")
print(f"{cores} workers against 1, both with {cores} BLAS threads: "
      f"{blas[cores, cores] / blas[1, cores]:.2f}x")

# %% [markdown]
# Read the table in pairs that differ in one thing:
#
# - **One worker, 1 against N BLAS threads.** On an idle machine, one worker
#   with multi-threaded BLAS already does close to N times the products of a
#   pinned one: BLAS alone keeps every core busy.
# - **N pinned workers against one.** The workers keep the cores busy
#   instead, with about the same total.
# - **Oversubscribed against pinned, both N workers.** This is the penalty
#   of oversubscription itself: the same work on the same cores, with N x N
#   threads competing for N cores instead of N. On an idle two-core machine
#   it is small, under a tenth of the rate: the extra threads find no free
#   core, so the products take turns, and switching between threads and
#   refilling the caches costs a little.
# - **The last line** is a common comparison, and a misleading one: N
#   workers against one worker, both with multi-threaded BLAS. A
#   second worker adds almost nothing there, but not because
#   oversubscription is expensive: one worker had already used every core.
#   Comparing it with the pinned pair (close to N times one pinned worker)
#   mixes two effects.
#
# On a busy machine, multi-threaded BLAS can do much worse than this: its
# threads wait for each other inside every product, and when one of them is
# descheduled by another program the others wait too. If the load average
# printed above is near or above your number of cores, expect the
# multi-threaded column to collapse.
#
# That is why the thread and process backends wrap every run in
# `threadpool_limits(limits=1, user_api="blas")`, and restore the previous
# limits afterwards: one BLAS thread per worker, so the workers, not BLAS,
# decide how the cores are shared. The same applies outside asynclab: set
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
print(f"threads: computing {s.compute_fraction:.0%}, communicating {s.transfer_fraction:.0%}, "
      f"waiting {s.wait_fraction:.0%}, queueing for the server {s.queue_fraction:.0%}; "
      f"a push took {np.median(pushes) * 1000:.1f} ms (median)")
print(f"communicating within 10 points of the simulator's {simulated.summary.comm_fraction:.0%}:",
      abs(s.transfer_fraction - simulated.summary.comm_fraction) < 0.10)
plots.timeline(threads)
plt.show()

# %% [markdown]
# On real workers the summary splits the time the way the simulator does:
# computing, communicating (a worker's own messages: here the injected
# sleeps), waiting (at a barrier or a staleness bound) and queueing (for the
# server's lock), adding up to 1. The measured fractions should be close to
# the simulator's two thirds communicating and one third computing: each
# gradient costs a 4 ms pull, a 4 ms push and about 4 ms of compute. Sleeps
# overshoot a little, more on a busy machine, and the real gradient adds a
# fraction of a millisecond, so the check allows 10 points; a link that
# forgot the bytes (2 ms messages) would give a half, 17 points off. This
# is how to rehearse a slow network on a laptop: inject the message cost,
# then compare policies (lesson 05's local SGD, for instance) on real
# workers.

# %%
quiz.ask("07-pipe-share")

# %% [markdown]
# ## Measure, calibrate, predict, check
#
# The simulator is worth trusting only as far as it predicts real runs. A
# real worker spends more than the sleeps you inject: the real gradient, a
# sleep that overshoots, the lock or the pipe to the parent. Calibration
# measures that from a run's trace, in four steps:
#
# 1. **Measure**: a real run with injected laws (`delay=` for the compute
#    time, `latency=` for the messages).
# 2. **Calibrate**: `calibration.calibrate(run)` fits, from the trace, the
#    compute-time law (constant, exponential or lognormal, by maximum
#    likelihood), the message-time law and each worker's speed, and returns
#    the simulated Config they make.
# 3. **Predict**: simulate another run with that Config: another seed,
#    another number of workers.
# 4. **Check**: run it for real and compare the times.
#
# First on a case whose answer is known: a *simulated* run drawn from known
# laws (worker 2 three times slower) must give those laws back.

# %%
from asynclab import calibration

drawn = asynclab.run(problem=small, policy="async", workers=3, gradients=900,
                     compute="lognormal:0.02:0.4", latency="exp:0.005", speeds=(1, 1, 3),
                     eval_points=2)
known = calibration.calibrate(drawn)
print(known.python)
print("compute:", known.compute.reason)
print("messages:", known.message.reason)
found_vs_drawn = {"compute mean": (known.config.compute.mean, 0.02),
                  "compute spread": (known.config.compute.sigma, 0.4),
                  "latency mean": (known.config.latency.mean, 0.005),
                  "worker 2's speed": (known.config.speeds[2], 3)}
print("off by:", ", ".join(f"{name} {found / drawn - 1:+.1%}"
                           for name, (found, drawn) in found_vs_drawn.items()))
print("the laws' kinds found, and every figure within 7% of what was drawn:",
      (known.config.compute.kind, known.config.latency.kind) == ("lognormal", "exp")
      and all(abs(found / drawn - 1) < 0.07 for found, drawn in found_vs_drawn.values()))

# %% [markdown]
# The fit finds the lognormal law, its spread, the exponential latency and
# the slow worker, each within a few percent: they are estimates from a few
# hundred draws. The slow worker's speed is the farthest off: it is a ratio
# of two noisy means, and that worker computed the fewest gradients. Now
# for real: measure a run on processes, calibrate it, and predict a run
# with another seed and twice the workers.

# %%
# NBVAL_IGNORE_OUTPUT
laws = dict(problem=small, policy="async", latency=0.003, eval_points=2)
injected = "lognormal:0.01:0.3"     # the compute law: a sleep after every real gradient
measured = asynclab.run(backend="process", delay=injected, workers=2, gradients=120, seed=0,
                        **laws)
found = calibration.calibrate(measured)
print(found.python)
predicted = asynclab.run(found.config.replace(seed=1, workers=4, gradients=160))
as_injected = asynclab.run(compute=injected, workers=4, gradients=160, seed=1, **laws)
real = asynclab.run(backend="process", delay=injected, workers=4, gradients=160, seed=1, **laws)
error = real.summary.time / predicted.summary.time - 1
print(f"4 workers, seed 1: predicted {predicted.summary.time:.3f} s, real "
      f"{real.summary.time:.3f} s, error {error:+.1%} (with the laws as injected: "
      f"{real.summary.time / as_injected.summary.time - 1:+.1%})")
print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; within 15%, the goal "
      f"on a busy machine: {abs(error) <= 0.15}")
print("calibrated laws above the injected ones (compute mean, latency):",
      found.config.compute.mean > 0.01 and found.message.law.mean > 0.003)
print("the calibrated prediction closer than the laws as injected:",
      abs(real.summary.time / predicted.summary.time - 1)
      < abs(real.summary.time / as_injected.summary.time - 1))

# %% [markdown]
# Look at the calibrated laws: the compute law's mean is above the injected
# `0.01` s, by what a real gradient and the sleep's overshoot cost, and the
# latency is above the injected `0.003` s, by the pipe to the parent and the
# overshoot. The simulation with the laws as injected misses those costs and
# predicts a run that is too fast. The calibrated one comes closer, but it saw
# two workers: with four worker processes and the parent sharing your cores,
# each answer from the parent comes a little later, which a calibration on two
# workers cannot know. And on a busy machine other programs delay the workers
# at random moments, which no calibration can know in advance.
#
# `asynclab validate` runs this check over a fixed matrix of runs: every
# policy, 2 and 4 workers, constant and random laws, overlap on and off, on
# threads and processes, each against its simulation calibrated on a
# reference run with as many workers. It prints every run's error and their
# median (`--quick`: each policy once, in under a minute). From the
# command line, `asynclab run --backend process ... --save run.json` saves a
# run with its trace and `asynclab calibrate run.json` prints the
# calibrated Config, as Python and as flags.

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
# The same on processes, where the worker process really exits. Between a
# worker and this notebook's process (the server), the weights and the
# gradients travel through pipes and shared memory; the time a message
# spends on the way counts as communication, even with nothing injected.

# %%
# NBVAL_IGNORE_OUTPUT
lost = asynclab.run(policy="async", **dict(crash, backend="process"))
s, share = lost.summary, lost.summary.per_worker
died = next(e.start for e in lost.trace.of_kind("fail"))
alive = [w for w in range(s.workers) if w not in s.failed_workers]
print(f"worker 1 was lost {died:.3f} s into a run of {s.time:.3f} s ({died / s.time:.0%})\n")
print("share of the time        compute   communication   waiting   queueing")
print(f"mean of all 4 (summary)  {s.compute_fraction:7.0%} {s.transfer_fraction:15.0%} "
      f"{s.wait_fraction:9.0%} {s.queue_fraction:10.0%}")
print(f"the 3 survivors          {np.mean([share['compute'][w] for w in alive]):7.0%} "
      f"{np.mean([share['comm'][w] for w in alive]):15.0%} "
      f"{np.mean([share['wait'][w] for w in alive]):9.0%} "
      f"{np.mean([share['queue'][w] for w in alive]):10.0%}")
# Worker 1's shares of its own life, not of the run: it recorded nothing after `died`.
busy = {k: share[k][1] * s.time / died for k in ("compute", "comm", "queue")}
print(f"worker 1, while alive    {busy['compute']:7.0%} {busy['comm']:15.0%} "
      f"{max(0.0, 1 - sum(busy.values())):9.0%} {busy['queue']:10.0%}")

# %%
survivors_wait = np.mean([share["wait"][w] for w in alive])
print(f"process backend, async: {s.gradients} gradients, lost workers {list(s.failed_workers)}")
print("the summary's mean waiting share is above the survivors' (it counts worker 1's time "
      "after its loss):", s.wait_fraction > survivors_wait)
print("the survivors waited less than a quarter of the time:", survivors_wait < 0.25)
print("the survivors spent some of their time communicating through pipes:",
      all(share["comm"][w] > 0 for w in alive))
plots.timeline(lost)
plt.show()

# %%
quiz.ask("07-lost-time")

# %% [markdown]
# The X marks the moment worker 1 was lost; the others carry on. Read the
# fractions with the loss in mind. The summary, and the timeline's title,
# average over all four workers, and after its loss worker 1 records
# nothing, which the summary counts as waiting: that time is not a worker
# idling for its peers, it is a worker that is gone. The honest reading
# takes the survivors over the run and the lost worker over its own life:
# the survivors barely waited (asynchronous workers never wait for each
# other), spent a small share in pipes (communication, even without
# injected latency), and computed the rest.

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
# message) under sync, then async. With it, sync's communication share
# passes its waiting share (36% against 33%); async never waits, and
# communicates more than half of the time. (The two run at different
# rates, sync's set by hand, async's tuned quickly by the toolkit on the
# switch, and neither has its momentum tuned: read the shares, not a
# winner.)

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
# - One worker with a multi-threaded BLAS already uses every core. Several
#   such workers oversubscribe the cores; the penalty, measured against
#   pinned workers on the same cores, is small on an idle machine and can be
#   large on a busy one. Pin BLAS to one thread per worker with threadpoolctl
#   (the backends do).
# - The process backend shares weights, inboxes and counters in one shared
#   memory segment per run and removes it afterwards, also when a run fails.
# - Injected latency and bandwidth make communication measurable on one
#   machine; the measured share matches the simulator's formula
#   `latency + size / bandwidth` per message.
# - Calibration reads what real workers spend beyond the injected sleeps
#   from a run's trace; the calibrated simulation predicts other runs (another
#   seed, other workers), and `asynclab validate` measures how well.
# - On real workers the summary splits the time into computing,
#   communicating (injected sleeps, and time in pipes on processes), waiting
#   and queueing.
# - A lost worker stops synchronous SGD (`StalledError`), but not async,
#   `ssp:S` or sync with a backup worker. After a loss, averages over all
#   workers count the lost worker's remaining time as waiting: read the
#   survivors' shares instead.
#
# Next: hundreds to thousands of simulated workers, and the same experiment
# on Ray.
