# %% [markdown]
# # 01 · SGD on one worker: the baseline
#
# Before we spread training over many workers we need to know what one worker
# does, and how fast. Everything in the later lessons is compared with this.
#
# **By the end of this lesson you will be able to**
#
# 1. state what the loss and the gradient of a model are, and check a gradient numerically;
# 2. write stochastic gradient descent (SGD) in four lines and recognise it in `asynclab`;
# 3. explain how the learning rate decides between slow progress, fast progress and divergence;
# 4. say what the minibatch size trades: the noise of a step against its cost;
# 5. measure the one-worker baseline in simulated time.
#
# **Prerequisites:** lesson 00; derivatives and the gradient of a function of
# several variables; numpy arrays.
#
# **Time:** about 30 minutes.

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab.backends.base import worker_streams
from asynclab import plots
from asynclab.course import quiz, explore
from asynclab.plotstyle import readable_log_axis

# %% [markdown]
# ## Loss and gradient
#
# Our running example is **logistic regression**: 1000 examples with 50
# features each and a label 0 or 1. The model is a weight vector `w`; it
# predicts the probability of label 1 as $\mathrm{sigmoid}(x \cdot w)$. The **loss** is the
# mean over all examples of `-log(probability given to the true label)`: small
# when the model is confidently right, large when it is confidently wrong.
#
# Training starts from `w = 0`. Before running anything, predict the loss there:

# %%
quiz.ask("01-initial-loss")

# %%
problem = asynclab.Logistic(features=50, examples=1000)
w0 = problem.initial_params()
print(f"loss at w = 0: {problem.loss(w0):.4f}    ln 2 = {math.log(2):.4f}")

# %% [markdown]
# The **gradient** is the vector of partial derivatives of the loss with
# respect to each weight: the direction in which the loss grows fastest.
# `problem.gradient(w, examples)` computes it on any subset of the examples.
# A gradient formula is easy to get wrong, so check it against finite
# differences, `(loss(w + h e_i) - loss(w - h e_i)) / 2h`, at a random point:

# %%
rng = np.random.default_rng(0)
w = rng.standard_normal(problem.dim) * 0.1
everything = np.arange(problem.examples)
analytic = problem.gradient(w, everything)
h = 1e-6
numeric = np.array([(problem.loss(w + h * e) - problem.loss(w - h * e)) / (2 * h)
                    for e in np.eye(problem.dim)])
print("largest difference between the two:", f"{np.abs(analytic - numeric).max():.1e}")
print("gradient formula agrees with finite differences:",
      np.allclose(analytic, numeric, rtol=1e-5, atol=1e-8))

# %% [markdown]
# ## Stochastic gradient descent
#
# Gradient descent steps against the gradient: $w \leftarrow w - \mathrm{lr} \cdot \mathrm{gradient}(w)$,
# where `lr` is the **learning rate**. Computing the gradient on all the data
# at every step is expensive, so **stochastic** gradient descent estimates it
# on a small random **minibatch** (here 32 examples). That is the whole
# algorithm:

# %%
data_stream = worker_streams(seed=0, workers=1)[0][0]    # worker 0's minibatch generator
w = problem.initial_params()
for step in range(300):
    batch = problem.sample(data_stream, 32)
    w = w - 0.5 * problem.gradient(w, batch)
print(f"loss after 300 steps of hand-written SGD: {problem.loss(w):.4f}")

# %% [markdown]
# `asynclab.run` with one worker does exactly this. With the same seed it draws
# the same minibatches, and it ends with the same weights, bit for bit:

# %%
one = asynclab.run(problem=problem, workers=1, policy="sync", gradients=300, lr=0.5,
                   batch=32, seed=0)
print(f"loss after 300 steps of asynclab.run: {one.summary.final_loss:.4f}")
print("identical weights:", np.array_equal(one.params, w))

# %% [markdown]
# ## The learning rate
#
# Too small a learning rate crawls; a larger one makes faster progress but
# bounces around more near the minimum, where the minibatch noise of each step
# is scaled up with it; too large a one overshoots further at every step and
# the loss explodes. What do you expect to see past that limit?

# %%
quiz.ask("01-lr-too-large")

# %% [markdown]
# To see divergence cleanly we use a least-squares problem, whose loss is a
# quadratic bowl. (The logistic loss grows only linearly far from the
# minimum, so it misbehaves more quietly.) One worker, 200 steps, five
# learning rates:

# %%
bowl = asynclab.LeastSquares(features=50, examples=1000)
rates = [0.01, 0.1, 0.3, 0.6, 1.0]
sweep = [asynclab.run(problem=bowl, workers=1, policy="sync", gradients=200, lr=lr,
                      compute="const:1", seed=0) for lr in rates]
print(" lr     final loss   ended above its start")
for lr, r in zip(rates, sweep):
    s = r.summary
    print(f"{lr:4}   {s.final_loss:10.4g}   {s.final_loss > s.initial_loss}")
final = {lr: r.summary.final_loss for lr, r in zip(rates, sweep)}
print("lr 0.01 crawls (ends above lr 0.1):", final[0.01] > final[0.1])
print("lr 0.6 bounces (ends above lr 0.1):", final[0.6] > final[0.1])

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for lr, r in zip(rates, sweep):
    ax.plot(r.history.updates, r.history.loss, label=f"lr {lr}")
readable_log_axis(ax)
ax.set(ylim=(3e-3, 10), xlabel="steps", ylabel="loss (all data)")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# For a quadratic, gradient descent on all the data is stable only while
# $\mathrm{lr} < 2 / \lambda$, where $\lambda$ is the largest curvature (eigenvalue of $X^\top X / n$):
# along that direction each step multiplies the error by $1 - \mathrm{lr} \cdot \lambda$, which
# must stay between $-1$ and $1$. Before computing it, try the formula:

# %%
quiz.ask("01-stability-limit")

# %% [markdown]
# Minibatch noise lowers the limit a little:

# %%
X, y = bowl.data
curvature = np.linalg.eigvalsh(X.T @ X / len(y)).max()
print(f"largest curvature {curvature:.3g}: full-batch limit 2/λ = {2 / curvature:.3g}")
print("lr 0.6 is below the limit and converges:",
      sweep[3].summary.final_loss < sweep[3].summary.initial_loss)
print("lr 1.0 is below the full-batch limit, yet minibatch SGD diverges:",
      1.0 < 2 / curvature and sweep[4].summary.final_loss > sweep[4].summary.initial_loss)

# %% [markdown]
# **A preview: momentum.** A small rate is safe but crawls. *Heavy-ball
# momentum* keeps a velocity, $v \leftarrow \mu v + g$, and steps $w \leftarrow w - \mathrm{lr} \cdot v$: each
# step also carries on a share $\mu$ of the previous ones, so along a steady slope
# a rate $\mathrm{lr}$ moves like $\mathrm{lr} / (1 - \mu)$. With $\mu = 0.9$ the crawling rate 0.01
# behaves roughly like 0.1:

# %%
heavy = asynclab.run(problem=bowl, workers=1, policy="sync", gradients=200, lr=0.01,
                     momentum=0.9, compute="const:1", seed=0)
print(f"lr 0.01: final loss {final[0.01]:.4g} plain, {heavy.summary.final_loss:.4g} with "
      f"momentum 0.9 (lr 0.1 plain: {final[0.1]:.4g})")
print("momentum speeds up the small rate:", heavy.summary.final_loss < final[0.01])

# %% [markdown]
# Momentum returns in lesson 10, where asynchronous workers turn out to add
# some of it by themselves.

# %% [markdown]
# ## Minibatches
#
# A minibatch gradient is a noisy estimate of the full gradient. A larger batch
# averages more examples, so it is less noisy, but costs more to compute.

# %%
quiz.ask("01-minibatch")

# %% [markdown]
# First the noise: draw 200 minibatch gradients at `w = 0` for batches of 8
# and 128 and measure how far they stray from the full gradient. Averaging
# 16 times more examples should divide the spread by about $\sqrt{16} = 4$.

# %%
full = problem.gradient(w0, everything)
spread = {}
for size in (8, 128):
    draws = np.array([problem.gradient(w0, problem.sample(rng, size)) for _ in range(200)])
    spread[size] = np.sqrt(((draws - full) ** 2).sum(axis=1).mean())
print(f"spread of a batch-8 gradient:   {spread[8]:.3f}")
print(f"spread of a batch-128 gradient: {spread[128]:.3f}")
print(f"ratio: {spread[8] / spread[128]:.1f}   (sqrt(16) = 4)")

# %% [markdown]
# Now the cost. With the same number of examples processed (16,384), a larger
# batch takes fewer, better steps. Up to a point that pays off; beyond it, the
# steps are too few. A first look, at one learning rate (0.5) and one seed:

# %%
budget = 16384
batches = [8, 32, 128, 512]
by_batch = {b: asynclab.run(problem=problem, workers=1, policy="sync", gradients=budget // b,
                            batch=b, lr=0.5, seed=0) for b in batches}
print("batch   steps   loss after 16384 examples")
for b, r in by_batch.items():
    print(f"{b:5}   {r.summary.updates:5}   {r.summary.final_loss:.4f}")
losses = [r.summary.final_loss for r in by_batch.values()]
print("at lr 0.5, seed 0: best batch:", batches[int(np.argmin(losses))],
      "| the largest batch is worse than the best:", losses[-1] > min(losses))

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for b, r in by_batch.items():
    ax.plot(np.array(r.history.gradients) * b, r.history.loss, label=f"batch {b}")
readable_log_axis(ax)
ax.set(xlabel="examples processed", ylabel="loss (all data)")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# This comparison holds the rate fixed at 0.5 and uses one seed, so it is a
# first look, not a verdict on the best batch: lesson 02 shows that bigger
# batches want bigger rates, so the largest batch may do better at a larger
# rate.
#
# In the simulator a gradient takes the time you set with `compute=`, whatever
# the batch; on real hardware it grows with the batch. Either way the lesson
# holds: the batch size trades noise against cost, and bigger is not always
# better.

# %% [markdown]
# ## The baseline: one worker in simulated time
#
# Now the number every later lesson compares with. One worker computes its
# gradients one after another, so the run takes the sum of their times:

# %%
quiz.ask("01-baseline-time")

# %%
check = asynclab.run(problem=problem, workers=1, gradients=500, compute="const:0.2", lr=0.5)
print(f"500 gradients of exactly 0.2 s: {check.summary.time:.4g} simulated seconds")

# %% [markdown]
# With random compute times (exponential, mean 1 s) the time is the sum of the
# draws, about one second per gradient. The worker is never idle: there is no
# one to wait for. We also record the time it takes to reach a loss of 0.32:
# the time to a **target** loss is how the next lessons race one way of
# training against another.

# %%
baseline = asynclab.run(problem=problem, workers=1, policy="sync", gradients=1000, lr=0.5,
                        compute="exp:1", target_loss=0.32, seed=0)
b = baseline.summary
print(f"{b.gradients} gradients in {b.time:.4g} s: {b.gradients_per_second:.3g} gradients per second")
print(f"busy computing {b.compute_fraction:.0%} of the time, idle {b.idle_fraction:.0%}")
print(f"reached loss 0.32 after {b.time_to_target:.4g} s")

# %%
plots.convergence(baseline, x="time", target=0.32)
plt.show()

# %% [markdown]
# ## Explore
#
# One worker on the least-squares bowl. Move the learning rate up until the
# loss explodes, then change the batch size and the compute-time distribution:
# which settings change the *curve against updates*, and which only change the
# *time*? (Switch "loss against" between updates and time.)

# %%
lab = explore(["lr", "batch", "compute", "x"], workers=1, problem=bowl, gradients=200,
              lr=0.3, x="updates")
lab

# %% [markdown]
# The same, in code: past the stability limit the loss explodes.

# %%
lab.redraw(lr=1.5)
print(lab.text())

# %% [markdown]
# ## Summary
#
# - The loss measures how wrong the model is on all the data; the gradient
#   points where it grows fastest. Check gradients with finite differences.
# - SGD steps against a minibatch gradient: $w \leftarrow w - \mathrm{lr} \cdot g$. `asynclab.run`
#   with one worker is exactly that loop.
# - The learning rate must stay below a limit set by the curvature ($2/\lambda$ for
#   a quadratic, lower with minibatch noise); past it the loss explodes.
# - A larger minibatch gives a less noisy gradient (spread $\propto 1/\sqrt{\text{batch}}$) at a
#   higher cost per step; beyond some size, fewer steps lose more than better
#   steps gain.
# - One worker is never idle; its run takes the sum of its gradient times. It
#   reaches our target loss of 0.32 in the time printed above: the baseline.
# - Momentum carries a share of past steps into each new one, so a small
#   learning rate moves faster (lesson 10 returns to it).
#
# Next: **02 · Synchronous data-parallel SGD**: more workers, one barrier.
