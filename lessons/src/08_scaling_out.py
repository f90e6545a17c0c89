# %% [markdown]
# # 08 · Scaling out
#
# Two cores cannot show what happens with a thousand workers, but the
# simulated cluster can: its clock is virtual, so a thousand workers cost
# only the arithmetic of their gradients. This lesson draws speedup curves up
# to 1024 workers, finds where they bend and why, and then runs the same code
# on Ray, the way it would run on a real cluster.
#
# **By the end of this lesson you will be able to**
#
# 1. measure throughput speedup (gradients per second) for hundreds to
#    thousands of simulated workers;
# 2. explain the three bends: the barrier ($H_N$), a single parameter server
#    that applies one update at a time, and how sharding the server moves
#    its limit;
# 3. measure the speedup in *time to a target loss*, each policy at its
#    tuned learning rate over several seeds, and explain why it bends much
#    earlier than throughput;
# 4. run an experiment on Ray (a local Ray here), watch it lose a node, and
#    point it at a real cluster.
#
# **Prerequisites:** lessons 02 ($H_N$), 03 (the parameter server, tuned
# comparisons with confidence intervals) and 04 (staleness and the learning
# rate); lesson 07 helps for the Ray part.
#
# **Time:** about 35 minutes.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab.course import explore, quiz
from asynclab.plotstyle import readable_log_axis

tiny = asynclab.Logistic(features=20, examples=200)   # cheap gradients: we only count time here

# %% [markdown]
# ## Throughput: gradients per second
#
# Each worker computes a gradient in an exponential time of mean 1 s, so one
# worker makes 1 gradient per second and N perfect workers N per second.
# The rate counts the gradients applied in the middle 60% of a run's
# applies, away from the start, where everybody begins at once, and the
# end, where the budget runs out. Synchronous runs last at least 40 steps
# (each step is one random maximum, so they need more of them);
# asynchronous ones about 10 gradients per worker.
#
# The server needs 4 ms to apply a gradient (`apply_time`), one at a time,
# whatever the policy. Three set-ups:
#
# - `sync`: every step waits for the slowest of N workers, and the server
#   applies the step's N gradients as they arrive;
# - `async`, one server: it applies each gradient as it arrives;
# - `async`, the server split into 4 shards, each applying its quarter of
#   the weights in parallel: modelled as 1 ms per gradient.

# %%
quiz.ask("08-sync-rate")

# %%
def steady_rate(r):
    """Gradients per second applied in the middle 60% of the run's applies."""
    ends = np.sort([e.end for e in r.trace.of_kind("apply")])
    first, last = len(ends) // 5, 4 * len(ends) // 5
    return (last - first) / (ends[last] - ends[first])


apply_time = 0.004                       # seconds per gradient on one server
setups = {"sync": dict(policy="sync", apply_time=apply_time, per_worker=40, least=3000),
          "async, 1 server": dict(policy="async", apply_time=apply_time, per_worker=10, least=1000),
          "async, 4 shards": dict(policy="async", apply_time=apply_time / 4, per_worker=10,
                                  least=1000)}
sizes = [1, 4, 16, 64, 256, 1024]
rates = {name: [steady_rate(asynclab.run(problem=tiny, workers=n, lr=0.01, eval_points=2,
                                         policy=setup["policy"], apply_time=setup["apply_time"],
                                         gradients=max(setup["least"], setup["per_worker"] * n)))
                for n in sizes]
         for name, setup in setups.items()}
harmonic = [sum(1 / k for k in range(1, n + 1)) for n in sizes]

print("workers   sync    N / H_N   async, 1 server   async, 4 shards   (gradients per second)")
for i, n in enumerate(sizes):
    print(f"{n:6} {rates['sync'][i]:8.1f} {n / harmonic[i]:9.1f} {rates['async, 1 server'][i]:13.1f} "
          f"{rates['async, 4 shards'][i]:17.1f}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ax.plot(sizes, sizes, color="black", linestyle=":", label="ideal: N")
for name, values in rates.items():
    ax.plot(sizes, values, marker="o", label=name)
ax.axhline(1 / apply_time, color="C1", linewidth=0.8, linestyle="--")
ax.text(1.2, 1.1 / apply_time, f"one server: {1 / apply_time:.0f} updates/s", color="C1")
readable_log_axis(ax, "x")
readable_log_axis(ax, "y")
ax.set(xlabel="workers", ylabel="gradients per second (speedup)")
ax.legend(frameon=False)
plt.show()

# %%
sync_error = max(abs(r / (n / h) - 1) for r, n, h in zip(rates["sync"], sizes, harmonic))
print(f"sync within {sync_error:.0%} of N / H_N (random maxima, and 4 ms per gradient at the "
      "server: within 10%):", sync_error < 0.1)
one_server, shards = rates["async, 1 server"], rates["async, 4 shards"]
print(f"async, 1 server, at 1024 workers: {one_server[-1]:.0f} per second "
      f"(at most 1 / {apply_time} = {1 / apply_time:.0f}):", one_server[-1] <= 1.001 / apply_time)
print(f"4 shards at 1024 workers: {shards[-1]:.0f} per second (at most {4 / apply_time:.0f}), "
      f"{shards[-1] / one_server[-1]:.1f}x one server")

# %% [markdown]
# Three curves, three reasons to bend:
#
# - **sync** follows $N / H_N$. Each step waits for the slowest of N workers,
#   whose expected time is the harmonic number $H_N \approx \ln N + 0.58$ (lesson 02),
#   so 1024 workers do the work of about 136: the curve keeps rising, but
#   ever more slowly. The server's 4 ms per gradient costs sync little:
#   sync sends it at most 136 gradients per second, about half of the 250
#   it can apply, and most of them arrive while slower workers are still
#   computing.
# - **async with one server** is ideal until the workers together deliver
#   more gradients per second than the server can apply, 1 / 4 ms = 250.
#   Beyond about 250 workers the server is busy all the time, updates
#   queue, and adding workers adds nothing.
# - **sharding the server** splits each update into parallel slices and
#   moves the ceiling up fourfold, to 1000 per second: at 1024 workers the
#   four shards deliver 4.0x what one server does.
#
# Downpour SGD (Dean et al., NIPS 2012, Section 4.1) sharded its parameter
# server this way: with 10 shards, for example, each stores and updates a
# tenth of the weights. The paper's often-quoted speedups, 2.2x on 8 machines for a
# 42M-parameter speech model and more than 12x on 81 machines for a
# 1.7B-parameter model (Figure 3), measure something else: *model
# parallelism*, one model replica whose layers are split over that many
# machines, not parameter-server sharding. They show the same law from
# another side: the more computation per byte exchanged, the further the
# scaling goes.

# %%
quiz.ask("08-server-bend")

# %%
quiz.ask("08-dean-figure")

# %% [markdown]
# ## Time to a target loss
#
# Throughput is not the goal; a trained model is. Take a least-squares
# problem with 100 features and only 150 examples: its curvature differs
# about 75-fold between directions, so reaching a loss of 0.004 (the best
# possible is about 0.002) takes many steps. For N = 1 to 64 workers, tune
# sync and async over three learning rates around each one's best (lesson
# 04: the right step size depends on the staleness), each rate with 5
# seeds, and measure the time to that loss. A best rate at the edge of its
# grid would be flagged; none is.

# %%
bowl = asynclab.LeastSquares(features=100, examples=150)
X, y = bowl.data
curvature = np.linalg.eigvalsh(X.T @ X / bowl.examples)   # the loss's Hessian, exactly
lowest = bowl.loss(np.linalg.lstsq(X, y, rcond=None)[0])
print(f"curvature from {curvature.min():.3f} to {curvature.max():.2f}, "
      f"{curvature.max() / curvature.min():.0f}-fold; the lowest possible loss: {lowest:.4f}")

# %%
target = 0.004
ns = [1, 4, 16, 64]
grids = {"sync": {1: (0.1, 0.2, 0.4), 4: (0.2, 0.4, 0.8), 16: (0.4, 0.6, 0.8), 64: (0.4, 0.6, 0.8)},
         "async": {1: (0.1, 0.2, 0.4), 4: (0.05, 0.1, 0.2), 16: (0.02, 0.05, 0.1),
                   64: (0.01, 0.02, 0.05)}}
sync_steps = {1: 200, 4: 100, 16: 50, 64: 40}      # budgets that every tuned run outlasts


def setting(policy, n):
    """The loss is evaluated after every step (sync) or every update (async)."""
    if policy == "sync":
        return asynclab.Config(problem=bowl, policy="sync", workers=n, target_loss=target,
                               gradients=sync_steps[n] * n, eval_points=sync_steps[n] + 1)
    return asynclab.Config(problem=bowl, policy="async", workers=n, target_loss=target,
                           gradients=1200, eval_points=1201)


tuned = {(policy, n): asynclab.tune(setting(policy, n), lrs=grids[policy][n], seeds=5)
         for policy in grids for n in ns}
one_worker = tuned["async", 1].best.estimate          # sync and async are the same with 1 worker


def speedup(policy, n):
    """Time to target of 1 worker over that of n, with the range the two 95% intervals allow."""
    t = tuned[policy, n].best.estimate
    return one_worker.mean / t.mean, one_worker.low / t.high, one_worker.high / t.low


def updates_needed(tuning):
    """Mean updates to the target over the seeds, at the tuned rate."""
    return np.mean([r.history.updates_to(target) for r in tuning.runs[tuning.best_lr]])


print("workers  policy  best lr  updates  time to target: mean [95% interval]   speedup [range]")
for n in ns:
    for policy in grids:
        tuning = tuned[policy, n]
        mean, low, high = speedup(policy, n)
        print(f"{n:6}   {policy:6} {tuning.best_lr:7g} {updates_needed(tuning):8.0f} "
              f"{str(tuning.best.estimate):>28} s {mean:10.2f}x [{low:.2f}, {high:.2f}]")
print("every best rate inside its grid, reached by all 5 seeds:",
      all(not t.at_edge and t.best.ok == 5 for t in tuned.values()))

# %%
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ax.plot(ns, ns, color="black", linestyle=":", label="ideal")
for policy in grids:
    mean, low, high = np.array([speedup(policy, n) for n in ns]).T
    ax.errorbar(ns, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, label=policy)
readable_log_axis(ax, "x")
readable_log_axis(ax, "y")
ax.set(xlabel="workers",
       ylabel="speedup in time to loss 0.004 (range from the 95% intervals)")
ax.legend(frameon=False)
plt.show()

# %%
print(f"async: {speedup('async', 16)[0]:.1f}x with 16 workers, {speedup('async', 64)[0]:.1f}x "
      f"with 64; the whole range at 64 is below 64 / 4:", speedup("async", 64)[2] < 64 / 4)
print("async's best learning rate falls as workers are added:",
      all(np.diff([tuned["async", n].best_lr for n in ns]) < 0))
print(f"sync: at most {max(speedup('sync', n)[0] for n in ns[1:]):.2f}x; no range above 1x:",
      all(speedup("sync", n)[1] < 1 for n in ns[1:]))
print("sync with 64 workers is slower than one worker, the whole range below 1x:",
      speedup("sync", 64)[2] < 1)

# %% [markdown]
# The time-to-target curves bend long before the throughput curves:
#
# - **async**: with more workers every gradient is staler, so the best
#   learning rate falls (0.2 for one worker, 0.02 for 64), and many more
#   updates are needed for the same progress. Speed still comes from the
#   sheer number of updates per second, but the speedup is far from N:
#   7.2x with 64 workers. Lian et al. (NIPS 2015) proved a *sufficient*
#   condition that fits this shape: asynchronous SGD keeps a linear speedup
#   as long as the staleness (about the number of workers) stays below
#   about the square root of the number of iterations. Beyond it their
#   guarantee says nothing; it does not prove a slowdown.
# - **sync** does not gain at all here, and with 64 workers it is even
#   slower than one worker (0.73x), beyond the intervals. More workers
#   average more gradients, but averaging only removes noise; this problem
#   is limited by its curvature, which caps the step size, so even exact
#   gradients need a dozen or more steps. The steps needed stop falling
#   after a few workers (from 70 with one worker to 20 with 16 and 19 with
#   64), while each step waits for the slowest of more of them.
#
# So "how many workers" has two answers: how many the hardware can keep
# busy (the throughput curve), and how many the optimisation can use (the
# time-to-target curve). The second is usually smaller.

# %%
quiz.ask("08-sync-no-speedup")

# %% [markdown]
# ## The same experiment on Ray
#
# [Ray](https://www.ray.io) runs Python objects (*actors*) on the machines
# of a cluster. `backend="ray"` makes the parameter server one actor and each
# worker another; they talk by remote calls, and time is the wall clock.
# Any of the experiments above runs there by adding `backend="ray"`.
#
# Starting Ray takes several seconds, so this lesson starts one local Ray,
# runs a synchronous and an asynchronous experiment on it, and shuts it down.
# (`asynclab.run(backend="ray")` on its own starts a private local Ray and
# stops it after the run; `ray_session` keeps one for several runs, in a
# temporary directory that is removed afterwards.)

# %%
# NBVAL_IGNORE_OUTPUT
import ray

from asynclab.backends.ray import ray_session

on_ray = dict(problem=bowl, workers=2, gradients=400, lr=0.2, eval_points=20,
              delay="const:0.002")     # 2 ms of injected work per gradient
with ray_session(ray, None, cpus=3, nbytes=3 * bowl.nbytes):
    ray_runs = asynclab.compare(["sync", "async"], backend="ray", **on_ray)
print("Ray still running after the block:", ray.is_initialized())
for policy, r in ray_runs.items():
    s = r.summary
    per_gradient = 1000 * s.time * s.workers / s.gradients     # ms of one worker's time
    print(f"{policy:6} on Ray: {s.gradients} gradients in {s.time:.2f} s "
          f"({s.gradients_per_second:.0f} per second), loss {s.final_loss:.4f}; per gradient "
          f"{per_gradient:.2f} ms: computing {s.compute_fraction * per_gradient:.2f}, "
          f"communicating {s.comm_fraction * per_gradient:.2f}, "
          f"waiting {s.idle_fraction * per_gradient:.2f}")

# %% [markdown]
# Each gradient here is a remote call to the server actor and back. The
# printout measures where each worker's time went, in milliseconds per
# gradient: computing (the 2 ms of injected work plus the gradient itself)
# and communicating (the remote calls). A remote call costs on the order of
# a millisecond on one machine: not negligible next to 2 ms of work, which is
# why the Ray backend can send several gradients per call (`ray_batch`).
#
# The numbers are wall-clock and change from run to run, but the arithmetic
# is the same as on the simulator. Synchronous SGD averages the same
# minibatches in the same steps whatever the clock says, so its final
# weights match the simulated run exactly:

# %%
simulated = asynclab.run(policy="sync", **on_ray)
print(f"sync, simulated: {simulated.summary.updates} updates; on Ray: "
      f"{ray_runs['sync'].summary.updates} updates")
print("same final weights on Ray as on the simulator:",
      np.allclose(ray_runs["sync"].params, simulated.params, rtol=1e-9, atol=1e-12))
print("Ray shut down again:", not ray.is_initialized())

# %% [markdown]
# ### Losing a machine
#
# On a real cluster, machines fail. `ray_nodes=2` starts a small local
# cluster of Ray *nodes*, each with its own processes as separate machines
# would have: a head node that holds the parameter server, and two worker
# nodes with the workers dealt out round-robin (worker w on node w % 2).
# `fail_node=(1, 150)` removes node 1 without warning (every process on it is
# killed) once the server has received 150 gradients. Starting the cluster
# takes a while (10-30 s).

# %%
# NBVAL_IGNORE_OUTPUT
lost = asynclab.run(policy="async", backend="ray", ray_nodes=2, fail_node=(1, 150),
                    problem=bowl, workers=4, gradients=600, lr=0.2, eval_points=20,
                    delay="const:0.002")
s = lost.summary
for node, workers in enumerate(s.nodes):
    print(f"node {node}: workers {workers}" + ("  <- lost" if node in s.lost_nodes else ""))
print("failed workers:", sorted(s.failed_workers))
gone = max(e.end for e in lost.trace.events if e.worker in s.failed_workers and e.kind != "fail")
after = sum(1 for e in lost.trace.events if e.kind == "compute" and e.start > gone)
print(f"after the loss the other workers computed {after} gradients; "
      f"{s.gradients} of 600 in all, loss {s.initial_loss:.4f} -> {s.final_loss:.4f}")

# %% [markdown]
# Ray noticed the lost node by its missed health checks and reported the
# workers on it dead; the run dropped them, like any failed worker. Asynchronous
# SGD waits for nobody, so the two survivors simply carried on with the rest of
# the budget. Synchronous SGD could not: its barrier needs a gradient from every
# worker, so the same loss stops it with a `StalledError` that names the node
# and its workers. Backup workers (`backup:2` here) would let it carry on.

# %% [markdown]
# ### Pointing it at a real cluster
#
# On a real cluster, start Ray on every machine (each needs Python, numpy and
# the same Ray version):
#
# ```
# ray start --head --port=6379                # on the head machine
# ray start --address=HEAD_IP:6379            # on each of the other machines
# ```
#
# then pass the cluster's address; asynclab ships its own code to the
# cluster and spreads the worker actors over the machines, one CPU each:
#
# ```python
# asynclab.run(policy="async", workers=64, backend="ray", address="auto")    # on a cluster machine
# asynclab.run(policy="async", workers=64, backend="ray",
#              address="ray://HEAD_IP:10001")                               # from your laptop (Ray Client)
# ```
#
# or from a shell: `asynclab run --backend ray --address auto --workers 64`.
# With an address, asynclab connects and leaves the cluster running when the
# run ends. The trace of a multi-machine run assumes the machines' clocks
# agree.

# %%
quiz.ask("08-cluster")

# %% [markdown]
# ## Explore
#
# Up to 16 simulated workers with a server that needs 0.1 s per update
# (so it saturates at 10 workers). Add workers under async and watch the
# queueing (vermillion) appear; compare sync, whose barrier costs grow instead.

# %%
lab = explore(["workers", "policy", "lr", "x"], policies=("sync", "async", "ssp"), workers=4,
              policy="async", lr=0.5, apply_time=0.1, problem=asynclab.Logistic(features=50,
              examples=1000), gradients=1000, compute="exp:1", latency=0.0, bandwidth=1e6)
lab

# %% [markdown]
# In code: 16 workers under async, then under sync.

# %%
lab.redraw(workers=16)
print(lab.text())
lab.redraw(policy="sync")
print(lab.text())

# %% [markdown]
# ## Summary
#
# - Simulated, sync's throughput follows $N / H_N$ (1024 workers do the work
#   of about 136); async is ideal until a single server saturates
#   ($1 / \text{apply time}$ updates per second); sharding the server raises that
#   ceiling, fourfold with four shards.
# - The speedup in time to a target loss, at tuned learning rates over 5
#   seeds, bends much earlier: staleness forces async to smaller steps (7.2x
#   with 64 workers), and sync's bigger batches stop reducing the steps a
#   problem needs (no speedup at all).
# - The same experiment runs on Ray with `backend="ray"`: a local Ray by
#   default, a real cluster with `address=`. Synchronous runs compute the
#   same weights as on the simulator.
# - When a node of the cluster is lost (`ray_nodes`, `fail_node`), async
#   carries on without its workers; sync stops, unless backup workers cover them.
#
# Next: lesson 09, beyond the parameter server: what the network does to
# these curves (a shared link, incast), the ring all-reduce, overlap, and
# the laws of strong and weak scaling.
