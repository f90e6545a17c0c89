# %% [markdown]
# # 04 · The price of asynchrony
#
# Asynchronous workers never wait, so they deliver more gradients per second
# (lesson 03). But each gradient is computed from weights that other workers
# have updated in the meantime. This lesson measures that price.
#
# **By the end of this lesson you will be able to**
#
# 1. define the staleness of a gradient and measure its distribution;
# 2. relate the mean staleness to the number of workers;
# 3. compare convergence per update and per second;
# 4. explain why asynchronous SGD diverges at learning rates one worker tolerates;
# 5. use a staleness-aware step size to restore stability.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.course import quiz, explore

problem = asynclab.Logistic(features=50, examples=1000)
bowl = asynclab.LeastSquares(features=50, examples=1000)

# %% [markdown]
# ## Staleness
#
# The server counts its updates: the weights have a **version**. A worker
# reads version v, computes, and by the time its gradient is applied the
# version is v'. Its **staleness** is v' − v: the number of updates its
# gradient did not see. One worker, or synchronous SGD, always has staleness 0.

# %%
quiz.ask("04-mean-staleness")

# %% [markdown]
# Measure it: asynchronous runs of 3000 gradients for 2 to 16 workers, with
# exponential compute times.

# %%
sizes = [2, 4, 8, 16]
stale = {n: asynclab.run(problem=problem, policy="async", workers=n, gradients=3000, lr=0.5,
                         eval_points=2, seed=0) for n in sizes}
print("  N   mean staleness   N - 1   95th percentile   largest")
for n, r in stale.items():
    s = r.trace.staleness()
    print(f"{n:3}   {s.mean():14.2f}   {n - 1:5}   {np.percentile(s, 95):15.0f}   {s.max():7}")

# %% [markdown]
# The mean is N − 1. The reason: while one worker computes a gradient, the
# other N − 1 keep working at the same average rate, so on average each of
# them lands one update in between. The distribution has a long tail: with
# exponential compute times, an unlucky slow gradient can miss several times
# N updates.

# %%
runs = {f"{n} workers": r for n, r in stale.items() if n in (4, 16)}
fig, ax = plt.subplots(figsize=(6, 3.2))
for label, r in runs.items():
    s = r.trace.staleness()
    ax.hist(s, bins=np.arange(s.max() + 2) - 0.5, alpha=0.6, label=f"{label} (mean {s.mean():.1f})")
ax.set(xlabel="staleness (updates missed)", ylabel="gradients", xlim=(-1, 60))
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# ## Per update and per second
#
# A stale gradient points where the loss was steepest a few updates ago, so
# it helps less than a fresh one. Yet asynchronous workers make many more
# updates per second. Which effect wins?

# %%
quiz.ask("04-per-update-per-second")

# %% [markdown]
# Race one worker (plain SGD, no staleness) against eight asynchronous
# workers, same learning rate, to a loss of 0.31:

# %%
one = asynclab.run(problem=problem, policy="sync", workers=1, gradients=1500, lr=0.5,
                   target_loss=0.31, eval_points=500, seed=0)
eight = asynclab.run(problem=problem, policy="async", workers=8, gradients=1500, lr=0.5,
                     target_loss=0.31, eval_points=500, seed=0)
for name, r in (("1 worker", one), ("8 async", eight)):
    when = r.summary.time_to_target
    updates = r.history.updates[r.history.time.index(when)]
    print(f"{name}: reached 0.31 after {updates} updates and {when:.3g} s "
          f"({r.summary.updates / r.summary.time:.3g} updates per second)")

# %%
fig, (by_update, by_time) = plt.subplots(1, 2, figsize=(10, 3.2))
for r, label in ((one, "1 worker"), (eight, "8 async workers")):
    by_update.plot(r.history.updates, r.history.loss, label=label)
    by_time.plot(r.history.time, r.history.loss, label=label)
by_update.set(xlabel="updates", ylabel="loss (all data)", yscale="log", xlim=(0, 300))
by_time.set(xlabel="time (simulated s)", yscale="log", xlim=(0, 300))
for ax in (by_update, by_time):
    ax.axhline(0.31, color="black", linestyle=":", linewidth=1)
    ax.legend(frameon=False)
plt.show()

# %% [markdown]
# Per update, the asynchronous run needs more: its stale updates are less
# useful. Per second it wins by far, because it makes about eight updates for
# every one the single worker makes. Lian et al. (NIPS 2015) proved when this
# holds in general: asynchronous SGD keeps a linear speedup as long as the
# number of workers (roughly the staleness) stays below about the square
# root of the number of iterations.

# %% [markdown]
# ## Divergence at high learning rates
#
# Staleness matters most when steps are large. On the least-squares bowl of
# lesson 01, try a range of learning rates for 1, 4 and 16 asynchronous
# workers. "D" means the loss ended above where it started: the run diverged.

# %%
quiz.ask("04-divergence")

# %%
rates = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8]
workers = [1, 4, 16]


def outcome(r):
    s = r.summary
    return "D" if s.diverged or s.final_loss > s.initial_loss else f"{s.final_loss:.3g}"


grid = {(n, lr): asynclab.run(problem=bowl, policy="async", workers=n, gradients=1000, lr=lr,
                              eval_points=20, seed=0) for n in workers for lr in rates}
print("final loss     " + "".join(f"lr {lr:<8}" for lr in rates))
for n in workers:
    print(f"{n:2} worker{'s' if n > 1 else ' '}    "
          + "".join(f"{outcome(grid[n, lr]):11}" for lr in rates))
largest = {n: max(lr for lr in rates if outcome(grid[n, lr]) != "D") for n in workers}
print("largest stable learning rate:", largest)

# %% [markdown]
# One worker is stable up to 0.5; four asynchronous workers diverge there,
# sixteen already at 0.3. When the weights pass the minimum, the gradients
# computed before that moment are still arriving and keep pushing the same
# way: with N workers about N − 1 stale updates act together, like one step
# several times larger. The more workers, the smaller the learning rate must
# be.

# %% [markdown]
# ## Staleness-aware step sizes
#
# Zhang et al. (IJCAI 2016) proposed dividing the learning rate by the
# staleness: a gradient that missed s updates is applied with `lr / (s + 1)`.
# Fresh gradients take full steps; stale ones, which point in outdated
# directions, count less. In `asynclab` it is one switch, `staleness_aware=True`.

# %%
quiz.ask("04-staleness-aware")

# %%
aware = {(n, lr): asynclab.run(problem=bowl, policy="async", workers=n, gradients=1000, lr=lr,
                               staleness_aware=True, eval_points=20, seed=0)
         for n in (4, 16) for lr in rates}
print("final loss, staleness-aware   " + "".join(f"lr {lr:<8}" for lr in rates))
for n in (4, 16):
    print(f"{n:2} workers                   " + "".join(f"{outcome(aware[n, lr]):11}"
                                                       for lr in rates))
print("16 workers at lr 0.3: plain", outcome(grid[16, 0.3]), "| staleness-aware",
      outcome(aware[16, 0.3]), "| one worker", outcome(grid[1, 0.3]))

# %% [markdown]
# With staleness-aware steps, sixteen asynchronous workers converge at every
# learning rate in the table, even 0.8 where a single worker diverges (their
# steps are divided by about 16, as the mean staleness is 15), and at 0.3
# they end close to one worker. The price is smaller steps for every stale
# gradient. Other remedies bound the staleness itself (stale-synchronous
# parallel, Ho et al. 2013: the fastest worker may be at most S steps ahead)
# or correct each stale gradient (DC-ASGD, Zheng et al. 2017).

# %% [markdown]
# ## Explore
#
# Eight asynchronous workers on the least-squares bowl, loss against updates.
# Raise the learning rate until the run diverges; then tick the
# staleness-aware step size. Try fewer workers, or `ssp` with a small
# staleness bound S.

# %%
lab = explore(["workers", "policy", "bound", "lr", "staleness_aware", "x"], policy="async",
              workers=8, problem=bowl, gradients=600, lr=0.2, x="updates")
lab

# %% [markdown]
# In code: the same dashboard at a learning rate of 0.5, plain and then
# staleness-aware.

# %%
lab.redraw(lr=0.5)
print(lab.text())
lab.redraw(staleness_aware=True)
print(lab.text())

# %% [markdown]
# ## Summary
#
# - A gradient's staleness is the number of updates applied between reading
#   the weights and applying the gradient. With N asynchronous workers its
#   mean is N − 1, with a long tail.
# - Stale updates make less progress each, but asynchronous workers make many
#   more of them: per second, eight asynchronous workers reached our target
#   about five times sooner than one.
# - The largest stable learning rate shrinks as workers are added: stale
#   updates overshoot together.
# - Dividing the step by (staleness + 1) (Zhang et al. 2016) restores
#   stability at the cost of smaller steps for stale gradients.
#
# Next lessons: bounding staleness (SSP), backup workers, local SGD, Hogwild!,
# and the same policies on real threads, processes and Ray.
