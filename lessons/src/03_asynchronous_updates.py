# %% [markdown]
# # 03 · Asynchronous updates
#
# In lesson 02 the barrier made every worker wait for the slowest one, half
# the time with four workers. What if nobody waits?
#
# **By the end of this lesson you will be able to**
#
# 1. describe the asynchronous parameter server: each gradient is applied as it arrives;
# 2. read a timeline with no idle time at a barrier, and measure idle time and throughput;
# 3. watch a synchronous and an asynchronous run unfold side by side and see which
#    reaches a target loss first;
# 4. say what the main benefit of asynchronous updates is, and test four claims
#    about it by measurement;
# 5. name what asynchrony changes, including the price you will measure in lesson 04.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.course import quiz, explore, replay

problem = asynclab.Logistic(features=50, examples=1000)

# %% [markdown]
# ## The asynchronous parameter server
#
# Same server, same workers, same minibatches. One rule changes: the server
# applies each gradient **as soon as it arrives**, `w ← w − lr · g`, and the
# worker that sent it pulls the new weights and starts its next gradient at
# once. There is no barrier. This is how Downpour SGD trained large models
# across many machines (Dean et al., NIPS 2012).
#
# In `asynclab` synchronous and asynchronous SGD are the two ends of one
# setting, `bound`: how many steps a worker may run ahead of the slowest.
# Synchronous is `bound=0` with the gradients of a step averaged; asynchronous
# is `bound=inf`, each gradient applied alone.

# %%
print(repr(asynclab.parse_policy("sync")))
print(repr(asynclab.parse_policy("async")))

# %% [markdown]
# ## A timeline without a barrier
#
# Four workers, exponential compute times of mean 1 s and 0.05 s per message,
# the first 40 gradients under each policy:

# %%
settings = dict(problem=problem, workers=4, lr=0.5, compute="exp:1", latency=0.05, seed=0)
for policy in ("sync", "async"):
    r = asynclab.run(policy=policy, gradients=40, **settings)
    plots.timeline(r)
    plt.show()

# %% [markdown]
# Under sync, grey waiting fills the gaps while the slowest worker finishes.
# Under async every worker goes straight from one gradient to the next; the
# only gaps are its own messages. Before measuring it over a longer run,
# recall lesson 02:

# %%
quiz.ask("03-idle-fraction")

# %%
quiz.ask("03-throughput")

# %% [markdown]
# Now the full runs: 1000 gradients each, the same workers, seed and timing.

# %%
runs = asynclab.compare(["sync", "async"], gradients=1000, target_loss=0.31, eval_points=400,
                        **settings)
sync, async_ = runs["sync"], runs["async"]
print("policy   idle   communicating   computing   gradients per second")
for name, r in runs.items():
    s = r.summary
    print(f"{name:6}  {s.idle_fraction:5.1%}   {s.comm_fraction:12.1%}   {s.compute_fraction:8.1%}"
          f"   {s.gradients_per_second:10.3g}")

# %% [markdown]
# Without latency the synchronous workers would idle 1 − 1/H₄ = 52% of the
# time; here about half. The asynchronous workers hardly idle at all, so
# they deliver about twice as many gradients per second. Li et al. (OSDI
# 2014) saw the same on a real cluster: on sparse logistic regression, workers
# with no allowed delay idled about 50% of the time, and with a delay of 16
# about 1.7%.

# %% [markdown]
# ## Watching the race
#
# Give both policies the same work, 300 gradients, and watch them side by
# side. Which reaches a loss of 0.31 first? Press **Play**, or drag the time
# slider: both timelines and both loss curves advance together, on the same
# clock. (The dots on the target line mark when each run reaches it.)

# %%
short = asynclab.compare(["sync", "async"], gradients=300, eval_points=300, **settings)
race = replay(short["sync"], short["async"], target_loss=0.31,
              time=short["async"].history.time_to(0.31))
race

# %% [markdown]
# In code, the state at any moment: here, when the synchronous run finally
# reaches the target.

# %%
race.show_time(short["sync"].history.time_to(0.31))
print(race.text())
print(f"the same 300 gradients took sync {short['sync'].summary.time:.4g} s "
      f"and async {short['async'].summary.time:.4g} s")

# %% [markdown]
# ## What is the main benefit?

# %%
quiz.ask("03-main-benefit")

# %% [markdown]
# Each option is a claim we can test. Measure all four on the two runs above.
#
# **1. Communication overhead: waiting and communication idle time.** How
# many seconds of worker time each gradient costs *besides* computing it:
# waiting at the barrier and sending messages.

# %%
for name, r in runs.items():
    s = r.summary
    busy = r.trace.busy_time(s.workers)
    per_gradient = {kind: seconds.sum() / s.gradients for kind, seconds in busy.items()}
    print(f"{name:6} per gradient: computing {per_gradient['compute']:.2f} s, "
          f"waiting {per_gradient['wait']:.2f} s, "
          f"communicating {per_gradient['pull'] + per_gradient['push']:.2f} s")
overhead = {name: (1 - r.summary.compute_fraction) * r.summary.time * r.summary.workers
            / r.summary.gradients for name, r in runs.items()}
print(f"time not spent computing, per gradient: sync {overhead['sync']:.2f} s, "
      f"async {overhead['async']:.2f} s")
print("async cuts waiting and communication idle time:", overhead["async"] < overhead["sync"] / 5)

# %% [markdown]
# Every gradient still costs one pull and one push (0.1 s), but nobody waits
# for anyone: the overhead falls more than ten-fold. Workers submit their
# gradients independently instead of waiting for one another.
#
# **2. Memory.** What each worker holds and sends: a copy of the weights
# (50 numbers of 8 bytes) and one gradient of the same size, one pull and one
# push per gradient.

# %%
for name, r in runs.items():
    pulls, pushes = len(r.trace.of_kind("pull")), len(r.trace.of_kind("push"))
    print(f"{name:6}: each worker holds {r.params.nbytes} bytes of weights; "
          f"messages per gradient: {pulls / r.summary.gradients:.0f} pull, "
          f"{pushes / r.summary.gradients:.0f} push, {problem.nbytes} bytes each")

# %% [markdown]
# Identical. (The synchronous server keeps one more vector, the running sum of
# the step's gradients; no worker saves anything under either policy.)
#
# **3. Model complexity.** Both runs train the same model on the same loss:

# %%
print("same problem:", sync.config.problem == async_.config.problem)
print("same number of weights:", sync.params.shape, async_.params.shape)

# %% [markdown]
# **4. Input processing speed.** Does a worker compute a gradient faster
# under async? The simulator draws worker k's i-th compute time from worker
# k's own random stream, so we can compare gradient by gradient:

# %%
def compute_times(r, worker):
    return np.array([e.duration for e in r.trace.of_kind("compute") if e.worker == worker])


first_200 = [compute_times(r, 0)[:200] for r in (sync, async_)]
print("worker 0's first 200 gradients took the same time under both:",
      np.allclose(*first_200))
print(f"mean compute time per gradient: sync {np.mean(compute_times(sync, 0)):.2f} s, "
      f"async {np.mean(compute_times(async_, 0)):.2f} s")

# %% [markdown]
# Processing is exactly as fast. Asynchronous SGD gets more done per second
# only because its workers no longer wait: the answer is the first option,
# managing communication overhead.

# %% [markdown]
# ## What asynchrony changes, and what it costs

# %%
quiz.ask("03-what-changes")

# %% [markdown]
# With the same budget of 1000 gradients, async makes four times as many
# updates: each gradient is applied on its own. And while a worker computes,
# the others update the weights, so its gradient arrives **stale**: computed
# from weights a few updates old.

# %%
for name, r in runs.items():
    s = r.summary
    print(f"{name:6}: {s.updates:4} updates; a gradient missed {s.mean_staleness:.2f} updates "
          f"on average (at most {s.max_staleness})")

# %% [markdown]
# Staleness is the price of asynchrony: lesson 04 measures what it does to
# convergence.
#
# ## Explore
#
# Compare the policies on your own settings: the loss curve of your previous
# settings stays in grey. Try stragglers (sync suffers, async shrugs), many
# workers, high latency, or `ssp` with a staleness bound S between the two
# extremes.

# %%
lab = explore(policy="async", latency=0.05)
lab

# %% [markdown]
# In code: a straggler in every ten gradients, first async, then sync.

# %%
lab.redraw(straggler_prob=0.1, straggler_factor=10)
print(lab.text())
lab.redraw(policy="sync")
print(lab.text())

# %% [markdown]
# ## Summary
#
# - The asynchronous parameter server applies every gradient as it arrives;
#   nobody waits at a barrier. Sync and async are the two ends of one
#   setting, the staleness bound (0 and ∞).
# - Workers stop idling (half the time with 4 workers under sync, almost
#   never under async), so they deliver about twice the gradients per second
#   and reach the target loss several times sooner here.
# - The main benefit is **managing communication overhead**: workers submit
#   gradients independently instead of waiting for one another. Memory, model
#   and the speed of processing each gradient are unchanged: we measured them.
# - The price: gradients are computed on stale weights (about 3 updates old
#   with 4 workers).
#
# Next: **04 · The price of asynchrony**.
