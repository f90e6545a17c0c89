# %% [markdown]
# # 08 · Scaling out
#
# Two cores cannot show what happens with a thousand workers, but the
# simulated cluster can: its clock is virtual, so a thousand workers cost
# only the arithmetic of their gradients. This lesson draws speedup curves up
# to 2048 workers, finds where they bend and why, and then runs the same code
# on Ray, the way it would run on a real cluster.
#
# **By the end of this lesson you will be able to**
#
# 1. measure throughput speedup (gradients per second) for hundreds to
#    thousands of simulated workers;
# 2. explain the three bends: the barrier (H_N), a single parameter server,
#    and how sharding the server moves its limit;
# 3. measure the speedup in *time to a target loss* and explain why it bends
#    much earlier than throughput;
# 4. run an experiment on Ray (a local Ray here) and point it at a real
#    cluster.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab.course import quiz, explore

tiny = asynclab.Logistic(features=20, examples=200)   # cheap gradients: we only count time here

# %% [markdown]
# ## Throughput: gradients per second
#
# Each worker computes a gradient in an exponential time of mean 1 s, so one
# worker makes 1 gradient per second and N perfect workers N per second.
# Each run lasts about 40 gradients per worker, and the rate counts the
# gradients applied in the middle of the run (from 20% to 80% of its
# duration), away from the start, where everybody begins at once, and the
# end, where the budget runs out.
#
# Three set-ups:
#
# - `sync`: every step waits for the slowest of N workers;
# - `async`, one server that needs 1 ms to apply an update (`apply_time`):
#   it applies updates one at a time;
# - `async`, the server split into 4 shards, each applying its quarter of
#   the weights in parallel: modelled as 0.25 ms per update.

# %%
quiz.ask("08-sync-rate")

# %%
def steady_rate(r):
    """Gradients per second applied between 20% and 80% of the run's duration."""
    ends = np.array([e.end for e in r.trace.of_kind("apply")])
    low, high = 0.2 * r.summary.time, 0.8 * r.summary.time
    return ((ends >= low) & (ends < high)).sum() / (high - low)


setups = {"sync": dict(policy="sync"),
          "async, 1 server": dict(policy="async", apply_time=0.001),
          "async, 4 shards": dict(policy="async", apply_time=0.00025)}
sizes = [1, 4, 16, 64, 256, 1024, 2048]
rates = {name: [steady_rate(asynclab.run(problem=tiny, workers=n, gradients=max(400, 40 * n),
                                         lr=0.01, eval_points=2, **setup)) for n in sizes]
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
ax.axhline(1000, color="C1", linewidth=0.8, linestyle="--")
ax.text(1.2, 1100, "one server: 1000 updates/s", color="C1")
ax.set(xscale="log", yscale="log", xlabel="workers", ylabel="gradients per second (speedup)")
ax.legend(frameon=False)
plt.show()

# %%
sync_error = max(abs(r / (n / h) - 1) for r, n, h in zip(rates["sync"], sizes, harmonic))
print(f"sync within {sync_error:.0%} of N / H_N (40 steps of a random maximum: within 10%):",
      sync_error < 0.1)
one_server = rates["async, 1 server"]
print(f"async, 1 server, at 2048 workers: {one_server[-1]:.0f} per second (at most 1000):",
      one_server[-1] <= 1000 * 1.001)
print(f"4 shards at 2048 workers: {rates['async, 4 shards'][-1] / one_server[-1]:.1f}x one server")

# %% [markdown]
# Three curves, three reasons to bend:
#
# - **sync** follows N / H_N. Each step waits for the slowest of N workers,
#   whose expected time is the harmonic number H_N ≈ ln N + 0.58 (lesson 02),
#   so 2048 workers do the work of about 250: the curve keeps rising, but
#   ever more slowly.
# - **async with one server** is ideal until the workers together deliver
#   more updates per second than the server can apply. Beyond 1000 workers
#   the server is busy all the time, updates queue, and adding workers adds
#   nothing.
# - **sharding the server** splits each update into parallel slices and
#   moves the ceiling up fourfold. This is why Downpour SGD sharded its
#   parameter server over many machines (Dean et al., NIPS 2012). How far
#   scaling goes then depends on the ratio of computation to communication:
#   their 42M-parameter model peaked at 2.2x on 8 machines, while a
#   1.7B-parameter model, with far more computation per byte, reached more
#   than 12x on 81.

# %%
quiz.ask("08-server-bend")

# %% [markdown]
# ## Time to a target loss
#
# Throughput is not the goal; a trained model is. Take a least-squares
# problem with 100 features and only 150 examples: its curvature differs
# about 75-fold between directions, so reaching a loss of 0.004 (the best
# possible is about 0.002) takes many steps. For N = 1 to 256 workers, run
# sync and async, each with the best learning rate from a small grid (lesson
# 04: the right step size depends on the staleness), and measure the time to
# that loss.

# %%
bowl = asynclab.LeastSquares(features=100, examples=150)
target = 0.004


def updates_to(r):
    updates = r.history.updates_to(target)
    return np.inf if updates is None else updates


def best_run(policy, workers, rates, gradients, eval_points):
    """The run with the shortest time to the target, over the learning rates ``rates``."""
    runs = [asynclab.run(problem=bowl, policy=policy, workers=workers, lr=lr, gradients=gradients,
                         target_loss=target, eval_points=eval_points) for lr in rates]
    return min(runs, key=lambda r: r.summary.time_to_target or np.inf)


scaling = {}
for n in [1, 4, 16, 64, 256]:
    scaling[n] = {
        "sync": best_run("sync", n, (0.2, 0.4, 0.6), gradients=100 * n, eval_points=101),  # every step
        "async": best_run("async", n, (0.2, 0.1, 0.05, 0.02, 0.01, 0.005), gradients=3000,
                          eval_points=3001)}      # the loss after every update
base = scaling[1]["async"].summary.time_to_target
print("workers   policy   best lr   updates to target   time to target   speedup over 1 worker")
for n, runs in scaling.items():
    for policy, r in runs.items():
        t = r.summary.time_to_target
        print(f"{n:6}    {policy:6} {r.config.lr:8} {updates_to(r):14} {t:16.1f} s {base / t:13.1f}x")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ns = list(scaling)
ax.plot(ns, ns, color="black", linestyle=":", label="ideal")
for policy in ("sync", "async"):
    ax.plot(ns, [base / scaling[n][policy].summary.time_to_target for n in ns], marker="o",
            label=policy)
ax.set(xscale="log", yscale="log", xlabel="workers", ylabel="speedup in time to loss 0.004")
ax.legend(frameon=False)
plt.show()

# %%
async_speedup = {n: base / scaling[n]["async"].summary.time_to_target for n in ns}
sync_speedup = {n: base / scaling[n]["sync"].summary.time_to_target for n in ns}
print(f"async: {async_speedup[16]:.1f}x with 16 workers, {async_speedup[256]:.1f}x with 256")
print("async's best learning rate never rises with more workers:",
      all(np.diff([scaling[n]["async"].config.lr for n in ns]) <= 0))
print(f"sync: at most {max(sync_speedup.values()):.1f}x")

# %% [markdown]
# The time-to-target curves bend long before the throughput curves:
#
# - **async**: with more workers every gradient is staler, so the best
#   learning rate falls (0.2 for one worker, 0.005 for 256), and many more
#   updates are needed for the same progress. Speed still comes from the
#   sheer number of updates per second, but the speedup is far from N. Lian
#   et al. (NIPS 2015) proved the same shape: asynchronous SGD keeps a linear
#   speedup only while the number of workers stays below about the square
#   root of the number of iterations.
# - **sync** barely gains at all here. More workers average more gradients,
#   but averaging only removes noise; this problem is limited by its
#   curvature, which caps the step size, so even exact gradients need a
#   dozen or more steps. The updates needed stop falling after a few workers,
#   while each step waits for the slowest of more of them.
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
    print(f"{policy:6} on Ray: {s.gradients} gradients in {s.time:.2f} s "
          f"({s.gradients_per_second:.0f} per second), communicating {s.comm_fraction:.0%}, "
          f"loss {s.final_loss:.4f}")

# %% [markdown]
# Each gradient here is a remote call to the server actor and back, which
# costs far more than the 2 ms of work: expect a large communicating share
# and a few hundred gradients per second on a laptop.
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
# grey queueing appear; compare sync, whose barrier costs grow instead.

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
# - Simulated, sync's throughput follows N / H_N (2048 workers do the work
#   of about 250); async is ideal until a single server saturates
#   (1 / apply time updates per second); sharding the server raises that
#   ceiling.
# - The speedup in time to a target loss bends much earlier: staleness
#   forces async to smaller steps, and sync's bigger batches stop reducing
#   the steps a problem needs.
# - The same experiment runs on Ray with `backend="ray"`: a local Ray by
#   default, a real cluster with `address=`. Synchronous runs compute the
#   same weights as on the simulator.
#
# Next: the capstone. You get a cluster's description and pick the strategy
# that reaches a target loss fastest.
