# %% [markdown]
# # 06 · Hogwild!: lock-free updates
#
# Every policy so far goes through a parameter server that applies one update
# at a time: a lock around the weights. Niu, Recht, Ré and Wright (NIPS 2011)
# asked what happens if workers simply write into the shared weights
# themselves, with no lock at all. Their answer, **Hogwild!**, is fast and
# converges, *if* the problem is sparse.
#
# **By the end of this lesson you will be able to**
#
# 1. explain why a lock around the weights caps throughput, and measure the cap;
# 2. compute how often two sparse updates touch the same coordinate;
# 3. show how lock-free training degrades as updates overlap more;
# 4. run lock-based and lock-free training on real threads and processes and
#    read the measured speedups on your own machine.

# %%
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.course import quiz, explore

sparse = asynclab.SparseLogistic(features=10_000, nonzeros=10, examples=5000)

# %% [markdown]
# ## What a lock costs
#
# In `asynclab` the policy `hogwild` is async without the server: a worker
# reads the shared weights, computes a gradient, and subtracts `lr ·
# gradient` from the shared vector directly, touching only the coordinates
# its examples use. Under `async` every update instead queues at the server,
# which applies them one at a time.
#
# On the simulated cluster, let each apply hold the server for 0.05 s (think
# of it as the lock held while 1/20 of a gradient's compute time is spent
# writing). Each worker computes one example's gradient in 1 s on average.

# %%
print("workers   gradients per second      idle (waiting for the lock)")
print("          async (lock)  hogwild     async")
lock_rates = {}
for n in (1, 4, 16, 32, 64):
    runs = {policy: asynclab.run(problem=sparse, policy=policy, workers=n, gradients=4000, lr=1.0,
                                 batch=1, apply_time=0.05, eval_points=2)
            for policy in ("async", "hogwild")}
    lock_rates[n] = {p: r.summary.gradients_per_second for p, r in runs.items()}
    print(f"{n:5} {lock_rates[n]['async']:13.1f} {lock_rates[n]['hogwild']:10.1f} "
          f"{runs['async'].summary.idle_fraction:11.0%}")
print("the lock caps async at 1 / 0.05 s = 20 gradients per second:",
      max(r["async"] for r in lock_rates.values()) <= 20.0)

# %% [markdown]
# Below 20 workers the server keeps up and both policies scale alike. Beyond
# that, updates arrive faster than one lock can apply them: async workers
# spend most of their time queueing, while lock-free workers keep scaling.
# The longer the gradient compared with the time the lock is held, the later
# the cap bites: Niu et al. found locking schemes competitive only when a
# gradient took about a millisecond or more.
#
# But without a lock, two workers can read and write the same coordinate at
# the same time, and one write can overwrite the other. Why does Hogwild!
# still work?

# %%
quiz.ask("06-why-sparse")

# %% [markdown]
# ## Sparse updates rarely collide
#
# In `SparseLogistic` each example touches `nonzeros` of the `features`
# coordinates. With `overlap=0` they are spread over all 10 000 features; a
# fraction `overlap` of them instead comes from a small pool of 10 *hot*
# features that many examples share (think of a bias or a very common word).

# %%
quiz.ask("06-conflict-chance")

# %% [markdown]
# Measure it on the data: draw random pairs of examples (one example per
# gradient, as in Hogwild!) and pairs of minibatches of 8, and count how often
# the two share at least one coordinate.

# %%
def share_chance(problem, batch, pairs, seed=0):
    """Fraction of random pairs of minibatches that touch a common coordinate."""
    cols = problem.data[0]
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, problem.examples, (2, pairs, batch))
    a, b = cols[a].reshape(pairs, -1), cols[b].reshape(pairs, -1)
    return (a[:, :, None] == b[:, None, :]).any(axis=(1, 2)).mean()


overlaps = [0.0, 0.1, 0.2, 0.5, 1.0]
problems = {o: asynclab.SparseLogistic(features=10_000, nonzeros=10, examples=5000, overlap=o)
            for o in overlaps}
print("overlap   two examples share a coordinate   two minibatches of 8 do")
for o, p in problems.items():
    print(f"{o:7} {share_chance(p, 1, 20000):23.1%} {share_chance(p, 8, 2000):26.1%}")

# %% [markdown]
# With no hot features, two single-example updates collide about 1% of the
# time: almost every write lands on coordinates nobody else is touching. A
# tenth of the features from the hot pool already makes collisions ten times
# as common, and half makes them the rule. Minibatches multiply the chance:
# 80 coordinates against 80 collide about half the time even without hot
# features. That is why Hogwild! updates one example at a time.

# %% [markdown]
# ## When overlap grows
#
# A collision matters because the colliding update was computed from stale
# values of the shared coordinates. On the simulated cluster, train with 1,
# 16 and 64 lock-free workers (mean staleness 0, 15 and 63 updates), the same
# 5000 single-example gradients each time, and compare the final loss.

# %%
print("overlap   final loss after 5000 gradients")
print("          1 worker   16 workers   64 workers")
overlap_loss = {}
for o, p in problems.items():
    overlap_loss[o] = {n: asynclab.run(problem=p, policy="hogwild", workers=n, gradients=5000,
                                       lr=1.0, batch=1, eval_points=2).summary.final_loss
                       for n in (1, 16, 64)}
    print(f"{o:7} " + "".join(f"{overlap_loss[o][n]:11.3f}" for n in (1, 16, 64)))

# %%
calm, crowded = overlap_loss[0.0], overlap_loss[0.5]
print("overlap 0: 64 workers within 5% of one worker:", abs(calm[64] / calm[1] - 1) < 0.05)
print(f"overlap 0.5: 64 workers end {crowded[64] / crowded[1]:.1f}x as high as one worker")

# %% [markdown]
# With no overlap, 64 workers whose every gradient missed 63 updates end as
# low as a single worker: the updates they missed were on other coordinates,
# so their stale reads were in fact current. As overlap grows, the hot
# coordinates are read stale by nearly every update, and the run behaves like
# dense asynchronous SGD with high staleness (lesson 04): at overlap 0.5 the
# 64 workers end far above one worker. Niu et al.'s analysis says the same:
# the speedup is near linear when each update touches few coordinates and
# updates rarely overlap.
#
# The simulator models the staleness. It does not model *torn* writes, where
# two processes update the same coordinate at the same instant and one
# addition is lost; with rare collisions those are rarer still. Real
# processes can do that, which is where we go next.

# %%
quiz.ask("06-overlap")

# %% [markdown]
# ## On your machine: threads and processes
#
# Now the same two policies on real workers (lesson 07 looks inside the
# backends):
#
# - `backend="thread"`: one Python thread per worker in this process. Under
#   `async` they share one parameter server behind a lock; under `hogwild`
#   they write into one shared numpy array.
# - `backend="process"`: one OS process per worker. Under `hogwild` the
#   weights live in shared memory that every process writes into; under
#   `async` this notebook's process is the server and every update travels
#   to it and back.
#
# The problem has 100 000 features and 10 per example: a lock-free step
# writes 10 numbers, while the server replaces the whole 800 kB weight vector
# on every update. Each run measures gradients per second of wall-clock time
# with 1 and with 2 workers. Wall-clock numbers depend on your machine and on
# whatever else it is doing, so this cell's output differs from run to run.
# Before you run it, predict:

# %%
quiz.ask("06-threads-processes")

# %%
# NBVAL_IGNORE_OUTPUT
real = asynclab.SparseLogistic(features=100_000, nonzeros=10, examples=20_000)
per_worker = {"async": 1000, "hogwild": 10_000}     # gradients; lock-free steps are much shorter
rates = {}
for backend in ("thread", "process"):
    for policy in ("async", "hogwild"):
        for n in (1, 2):
            r = asynclab.run(problem=real, policy=policy, backend=backend, workers=n, lr=1.0,
                             batch=1, gradients=per_worker[policy] * n, eval_points=2)
            rates[backend, policy, n] = r.summary.gradients_per_second
print(f"{os.cpu_count()} CPU cores; load average over the last minute {os.getloadavg()[0]:.1f}\n")
print("backend   policy     1 worker     2 workers    speedup")
for backend in ("thread", "process"):
    for policy in ("async", "hogwild"):
        one, two = rates[backend, policy, 1], rates[backend, policy, 2]
        print(f"{backend:8}  {policy:8} {one:9.0f}/s {two:10.0f}/s {two / one:9.2f}x")
    print(f"{'':8}  lock-free over lock-based, 2 workers: "
          f"{rates[backend, 'hogwild', 2] / rates[backend, 'async', 2]:.0f}x\n")

# %% [markdown]
# How to read your numbers:
#
# - **Lock-free against lock-based**, on the same backend: Hogwild! makes many
#   times more gradients per second. Most of the gap is the work the lock
#   guards: the server rewrites all 100 000 weights per update, Hogwild!
#   writes 10.
# - **Threads** do not speed up here, and often slow down with a second
#   worker. Only one thread runs Python code at a time (the GIL), and a
#   10-coordinate step is almost all Python. Threads pay off when a step
#   spends its time inside numpy and BLAS, which release the GIL (lesson 07).
# - **Processes** each run their own interpreter. On an otherwise idle
#   machine with at least two cores, two Hogwild! processes approach twice
#   the rate of one (about 1.8-1.95x was measured on two idle cores when the
#   course was written; `python benchmarks/bench_backends.py` measures it on
#   yours). If the load average printed above is near or above your number
#   of cores, other programs are using them and the speedup shrinks.
# - The lock-based process run crosses process boundaries twice per update,
#   so its rate is far lower, and it barely scales.
#
# Niu et al. reported about 3x on 10 cores for an SVM on the RCV1 text data,
# where round-robin locking got *slower* than one core, and up to 9x on a
# graph-cut problem.

# %% [markdown]
# The losses are still comparable: lock-free updates on sparse data converge
# as well as locked ones. One more run of each, the same 2000 gradients on 2
# processes (real races, so the last digits vary):

# %%
# NBVAL_IGNORE_OUTPUT
for policy in ("async", "hogwild"):
    r = asynclab.run(problem=real, policy=policy, backend="process", workers=2, lr=1.0, batch=1,
                     gradients=2000, eval_points=2)
    print(f"{policy:8} loss {r.summary.initial_loss:.3f} -> {r.summary.final_loss:.3f} "
          f"in {r.summary.time:.2f} s")

# %% [markdown]
# ## Explore
#
# Lock-based and lock-free workers on the simulated cluster, with a server
# that holds its lock 0.1 s per update (compute takes 1 s). Add workers
# under `async` until they start queueing (grey), then switch to `hogwild`.
# The problem here has overlap 0.2; to try other overlaps, change `overlap=`
# and run the cell again.

# %%
lab = explore(["workers", "policy", "lr", "x"], policies=("async", "hogwild"), policy="async",
              workers=4, lr=0.3, batch=1, apply_time=0.1, gradients=1000, compute="exp:1",
              latency=0.0, bandwidth=1e6,
              problem=asynclab.SparseLogistic(features=2000, nonzeros=10, examples=2000,
                                              overlap=0.2))
lab

# %% [markdown]
# In code: 16 workers under each policy.

# %%
lab.redraw(workers=16)
print(lab.text())
lab.redraw(policy="hogwild")
print(lab.text())

# %% [markdown]
# ## Summary
#
# - A lock around the weights serialises updates: on the simulated cluster
#   async stopped at 1 / (lock time) = 20 gradients per second, while
#   lock-free Hogwild! kept scaling with the workers.
# - With sparse examples, two single-example updates rarely touch the same
#   coordinate (about 1% here); minibatches and shared *hot* features make
#   collisions common.
# - With no overlap, even 64 lock-free workers (staleness 63) ended as low as
#   one worker; as overlap grew they ended much higher, like dense async with
#   high staleness.
# - On real hardware, lock-free writes avoid the server's per-update cost;
#   processes can run them in parallel, threads cannot run Python in parallel
#   (the GIL). Your measured speedups are in the table above.
#
# Next: what threads, processes, BLAS and shared memory do on your machine,
# and how to make communication visible on one computer.
