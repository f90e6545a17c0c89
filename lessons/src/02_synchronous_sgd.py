# %% [markdown]
# # 02 · Synchronous data-parallel SGD
#
# One worker computes one gradient at a time. With N workers we can compute N
# gradients at once, average them, and take one step: **synchronous
# data-parallel SGD**. This lesson measures what that buys and what it costs.
#
# **By the end of this lesson you will be able to**
#
# 1. describe a synchronous step: pull, compute, push, average, barrier;
# 2. show that synchronous SGD with N workers is SGD with an N-times larger minibatch;
# 3. derive why a step lasts as long as the slowest worker (H_N for exponential
#    compute times), and measure it;
# 4. predict how stragglers stretch every step;
# 5. compute a message's time as latency plus size over bandwidth;
# 6. find, by measurement, where adding workers stops helping.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab.backends.base import worker_streams
from asynclab import plots
from asynclab.course import quiz, explore

problem = asynclab.Logistic(features=50, examples=1000)


def harmonic(n):
    """H_n = 1 + 1/2 + ... + 1/n."""
    return sum(1 / k for k in range(1, n + 1))


# %% [markdown]
# ## One synchronous step
#
# A **parameter server** holds the weights. In every step each worker **pulls**
# the current weights, **computes** a gradient on its own minibatch, and
# **pushes** it back. The server waits until all N gradients have arrived,
# averages them and applies one update. Only then may the workers start the
# next step: that waiting point is the **barrier**.
#
# The timeline shows it: blue is computing, orange communicating (here 0.1 s
# per message), grey waiting at the barrier.

# %%
few = asynclab.run(problem=problem, policy="sync", workers=4, gradients=24, lr=0.5,
                   compute="exp:1", latency=0.1, seed=0)
plots.timeline(few)
plt.show()
print(f"{few.summary.updates} steps in {few.summary.time:.3g} s; the workers were idle "
      f"{few.summary.idle_fraction:.0%} of the time")

# %%
quiz.ask("02-barrier")

# %% [markdown]
# ## Synchronous SGD is large-batch SGD
#
# Averaging N gradients of b examples each is the gradient of the N·b examples
# together. So synchronous SGD makes exactly the steps that one worker would
# make with a minibatch N times larger. Check it: four workers with 8 examples
# each against a hand-written loop over the four workers' minibatches joined
# into one batch of 32.

# %%
sync4 = asynclab.run(problem=problem, policy="sync", workers=4, batch=8, gradients=4 * 100,
                     lr=0.5, seed=0)
streams = worker_streams(seed=0, workers=4)[0]
w = problem.initial_params()
for step in range(100):
    joined = np.concatenate([problem.sample(streams[k], 8) for k in range(4)])
    w = w - 0.5 * problem.gradient(w, joined)
print("same weights as one worker with batch 32 (up to rounding):",
      np.allclose(sync4.params, w, rtol=1e-10, atol=1e-12))

# %% [markdown]
# ## The barrier: every step waits for the slowest worker
#
# If each gradient takes a random time, a step takes the **maximum** of N
# draws. With 4 workers and exponential compute times of mean 1 s, how long
# is a step on average? Try it before reading on.

# %%
quiz.ask("02-step-time")

# %% [markdown]
# **Derivation.** Take N independent exponential times of mean 1 (rate 1).
# The first of N to finish is the minimum of N exponentials, itself
# exponential with rate N: it comes after 1/N on average. Exponential times
# have no memory, so the N−1 workers still computing are as good as freshly
# started: the next one finishes after a further 1/(N−1) on average, and so
# on, down to the last, 1 more. Adding the gaps:
#
# $$E[\max] = \frac1N + \frac1{N-1} + \dots + \frac12 + 1 = H_N \approx \ln N + 0.577.$$
#
# For N = 4: H₄ = 25/12 ≈ 2.083 s, more than twice the mean of one gradient.
#
# **Measurement.** Run 800 synchronous steps for each N and divide the time by
# the number of steps. (We evaluate the loss only twice: we are timing, not
# training.)

# %%
sizes = [1, 2, 4, 8, 16]
timed = {n: asynclab.run(problem=problem, policy="sync", workers=n, gradients=800 * n,
                         compute="exp:1", eval_points=2, seed=0) for n in sizes}
print("  N    H_N    measured step   idle: measured  1 - 1/H_N")
for n, r in timed.items():
    step = r.summary.time / r.summary.updates
    print(f"{n:3}  {harmonic(n):5.3f}   {step:8.3f}       {r.summary.idle_fraction:9.2f}"
          f"  {1 - 1 / harmonic(n):9.2f}")
errors = [abs(r.summary.time / r.summary.updates / harmonic(n) - 1) for n, r in timed.items()]
print(f"largest relative difference from H_N: {max(errors):.1%} (within 5%: {max(errors) < 0.05})")

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ns = np.arange(1, 17)
ax.plot(ns, [harmonic(n) for n in ns], label="H_N (derived)")
ax.plot(ns, np.log(ns) + 0.5772, linestyle=":", label="ln N + 0.577")
ax.plot(sizes, [r.summary.time / r.summary.updates for r in timed.values()], "o",
        label="measured")
ax.set(xlabel="workers N", ylabel="mean step time (s)")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# A worker computes for 1 s on average and then waits for the others, so it
# is idle a fraction 1 − 1/H_N of the time: half the time with 4 workers, 70%
# with 16. The table shows the measurement agreeing.

# %% [markdown]
# ## Stragglers
#
# Real clusters have **stragglers**: now and then a gradient takes far longer
# (a busy machine, a slow disk, garbage collection). Model it: each gradient,
# with probability p, takes f times longer. To isolate the effect, make the
# normal compute time exactly 1 s. A synchronous step is then slow whenever
# *any* of its N workers straggles, which happens with probability
# 1 − (1 − p)^N, so
#
# $$E[\text{step}] = 1 + (f - 1)\,(1 - (1 - p)^N).$$

# %%
p, f = 0.05, 10
print("  N   P(some worker straggles)   step: predicted  measured")
for n in (1, 4, 16):
    r = asynclab.run(problem=problem, policy="sync", workers=n, gradients=3000 * n,
                     compute="const:1", straggler=(p, f), eval_points=2, seed=0)
    chance = 1 - (1 - p) ** n
    print(f"{n:3}   {chance:18.2f}   {1 + (f - 1) * chance:14.2f}  "
          f"{r.summary.time / r.summary.updates:8.2f}")

# %% [markdown]
# One straggler in twenty gradients costs one worker 45% on average, but it
# stretches a 16-worker synchronous step six-fold: with many workers almost
# every step has a straggler, and everyone waits for it.

# %%
slow = asynclab.run(problem=problem, policy="sync", workers=8, gradients=8 * 12,
                    compute="const:1", straggler=(p, f), seed=1)
plots.timeline(slow)
plt.show()

# %% [markdown]
# ## Communication: latency plus size over bandwidth
#
# Every message costs a fixed **latency** plus its size divided by the
# **bandwidth**. A synchronous step sends two per worker, a pull and a push,
# and no worker can skip them.

# %%
quiz.ask("02-message-time")

# %% [markdown]
# Our model has 50 weights of 8 bytes, 400 bytes. With a latency of 0.05 s
# and a bandwidth of 4000 bytes per second a message takes
# 0.05 + 400/4000 = 0.15 s, and with compute fixed at 1 s a step takes
# 1 + 2 × 0.15 = 1.3 s:

# %%
latency, bandwidth = 0.05, 4000
message = latency + problem.nbytes / bandwidth
talk = asynclab.run(problem=problem, policy="sync", workers=4, gradients=400, compute="const:1",
                    latency=latency, bandwidth=bandwidth, eval_points=2)
pulls = [e.duration for e in talk.trace.of_kind("pull")]
print(f"model size {problem.nbytes} bytes -> one message {message:.3g} s; "
      f"measured pulls last {min(pulls):.3g} to {max(pulls):.3g} s")
print(f"step time: predicted {1 + 2 * message:.3g} s, "
      f"measured {talk.summary.time / talk.summary.updates:.3g} s")
print(f"time spent communicating: {talk.summary.comm_fraction:.0%} "
      f"(predicted {2 * message / (1 + 2 * message):.0%})")

# %% [markdown]
# ## Where adding workers stops helping
#
# The time to reach a target loss is *(steps needed) × (time per step)*.
#
# - **Steps needed** fall as N grows, because each step averages more
#   examples and is less noisy, but only until the total batch is big enough
#   (lesson 01): after that, extra gradients per step are wasted.
# - **Time per step** grows with N: the barrier waits for the slowest of N
#   (H_N), and communication adds a fixed cost per step.
#
# To see both we give each worker a small, noisy minibatch of 4 examples,
# add 0.05 s of latency, and time how long each cluster size takes to reach a
# loss of 0.33 (at most 400 steps; the median over three seeds).

# %%
target = 0.33
sizes = [1, 2, 4, 8, 16, 32]


def race(n, seed):
    r = asynclab.run(problem=problem, policy="sync", workers=n, gradients=400 * n, batch=4,
                     lr=0.5, latency=0.05, target_loss=target, eval_points=401, seed=seed)
    when = r.summary.time_to_target
    if when is None:
        return np.inf, np.inf
    return when, r.history.updates[r.history.time.index(when)]


print("  N   steps to target   gradients to target   step time (H_N + 2 x 0.05)   time to target")
best = {}
for n in sizes:
    times, steps = np.median([race(n, seed) for seed in range(3)], axis=0)
    per_step = 2 * 0.05 + harmonic(n)
    best[n] = times
    if np.isinf(times):
        print(f"{n:3}   not within 400 steps")
    else:
        print(f"{n:3}   {steps:10.0f}   {steps * n:15.0f}   {per_step:23.2f}   {times:18.0f} s")
fastest = min(best, key=best.get)
print(f"fastest: {fastest} workers; 32 workers are slower than that: {best[32] > best[fastest]}")

# %% [markdown]
# A single worker with such a small batch is too noisy to reach the target
# in 400 steps at all. Up to about 8 workers, more workers cut the steps
# needed much faster than the step time grows. From 8 to 32 workers the
# steps needed hardly fall while every step gets longer, and the *gradients*
# needed (steps × N) grow several-fold: the extra workers compute gradients
# that no longer buy progress, and the time to target flattens, then grows.
# Where exactly the sweet spot lies depends on the problem, the batch and the
# communication cost; that there is one does not.

# %%
quiz.ask("02-more-workers")

# %% [markdown]
# ## Explore
#
# Synchronous SGD on the simulated cluster. Add workers and watch the grey
# waiting grow; add stragglers (chance and slowdown); add latency, or lower
# the bandwidth (the model is 400 bytes); switch the compute time from
# exponential to constant.

# %%
lab = explore(["workers", "compute", "straggler_prob", "straggler_factor", "latency",
               "bandwidth", "x"], policy="sync")
lab

# %% [markdown]
# In code: 8 workers with one straggler (10× slower) in ten gradients.

# %%
lab.redraw(workers=8, straggler_prob=0.1, straggler_factor=10)
print(lab.text())

# %% [markdown]
# ## Summary
#
# - A synchronous step: every worker pulls, computes and pushes; the server
#   averages N gradients; a barrier holds everyone until the last arrives.
# - That is SGD with an N-times larger minibatch, step for step.
# - A step lasts as long as the slowest worker: for exponential compute
#   times, H_N ≈ ln N + 0.577 times the mean, so workers idle 1 − 1/H_N of
#   the time (half, with 4 workers).
# - A straggler in any worker stretches the whole step:
#   E[step] = 1 + (f−1)(1 − (1−p)^N) grows quickly with N.
# - A message costs latency + size/bandwidth; a step pays two per worker.
# - Adding workers helps while a bigger total batch still cuts the steps
#   needed faster than the barrier and communication lengthen each step; past
#   that point it stops helping, and then hurts.
#
# Next: **03 · Asynchronous updates**: what happens if nobody waits?
