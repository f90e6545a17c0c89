# %% [markdown]
# # 11 · Capstone: tune a cluster
#
# You have met every piece: barriers and stragglers, staleness, bounded
# staleness, backup workers, local SGD, lock-free updates, a saturated
# server and the limits of scaling. Now you are handed a cluster and a job,
# and you choose how to run it. An automatic check runs your choice on the
# simulated cluster and compares it with plain synchronous and asynchronous
# SGD, each at its best learning rate.
#
# **By the end of this lesson you will be able to**
#
# 1. read a cluster's description and estimate, before running anything,
#    which costs will dominate (barrier, server, network, staleness);
# 2. choose and tune a strategy (policy, learning rate, number of workers,
#    staleness-aware steps) that reaches a target loss faster than both
#    references, checked automatically;
# 3. explain in writing, with the measured numbers, why your strategy wins.

# %%
# %matplotlib inline
import asynclab
from asynclab.course import capstone, quiz, explore

print(capstone.describe())

# %% [markdown]
# ## Estimate first
#
# A few numbers from the description decide a lot. The server handles one
# push at a time, 0.2 s each. A worker's cycle under async is a pull
# (0.2 s), a gradient (1 s on average, plus the stragglers' extra), a push
# (0.2 s), and its turn at the server.

# %%
quiz.ask("11-server-capacity")

# %%
c = capstone.CLUSTER
chance, factor = c.straggler
mean_gradient = c.compute.mean * (1 + chance * (factor - 1))   # stragglers included
message = c.timing.message_time(c.problem.nbytes)
cycle = 2 * message + mean_gradient + c.apply_time
print(f"mean gradient time, stragglers included: {mean_gradient:.2f} s")
print(f"one async worker's cycle: {cycle:.2f} s, so {1 / cycle:.2f} pushes per second")
print(f"the server's capacity: {1 / c.apply_time:g} pushes per second, "
      f"reached by about {cycle / c.apply_time:.0f} workers")
print(f"a sync step pushes {c.workers} gradients: {c.workers * c.apply_time:.1f} s of server time "
      "on top of waiting for the slowest worker")

# %% [markdown]
# So with all 16 workers, asynchronous pushes arrive faster than the server
# can apply them, and synchronous steps spend seconds in the server's queue
# on top of their straggler wait. Keep that in mind.

# %%
quiz.ask("11-sync-cost")

# %% [markdown]
# ## The references
#
# The check compares your choice with synchronous and asynchronous SGD on
# all 16 workers, each at the best of 12 learning rates from 0.01 to 1
# (mean time to the target over 3 seeds; the course's tests re-tune them).
# Each line splits the time into *updates needed × seconds per update*.

# %%
for name, m in capstone.references().items():
    print(f"{m.label}: {m.time:.1f} s = {m.updates:.0f} updates x {m.per_update:.2f} s; "
          f"idle {m.idle:.0%}, mean staleness {m.staleness:.1f}")

# %% [markdown]
# Sync needs few updates, but each is expensive: its workers idle three
# quarters of the time. Async keeps the server saturated (one update per
# 0.2 s), but its gradients are 15 updates stale, so it needs hundreds of
# small steps.

# %% [markdown]
# ## Explore
#
# The cluster, on a dashboard: choose the policy (`ssp` uses the bound
# slider), the workers and the learning rate, and tick staleness-aware
# steps. The dotted line is the target loss; the summary line gives idle
# time and staleness. Each redraw is one seed; the check averages three.

# %%
lab = explore(["workers", "policy", "bound", "lr", "staleness_aware", "x"],
              policies=("sync", "async", "ssp", "backup:2", "backup:4", "local:4"),
              problem=c.problem, gradients=c.gradients, compute=str(c.compute),
              straggler_prob=chance, straggler_factor=float(factor), latency=c.latency,
              bandwidth=float(c.bandwidth), apply_time=c.apply_time, target_loss=c.target_loss,
              eval_points=c.eval_points, workers=16, policy="async", lr=0.0351)
lab

# %% [markdown]
# In code, the same dashboard with async on 6 workers:

# %%
lab.redraw(workers=6)
print(lab.text())

# %% [markdown]
# ## Your answer
#
# Write your strategy into `my_choice`: any of `policy`, `lr`, `workers`
# (1-16) and `staleness_aware`. Everything else is the cluster's and cannot
# be changed (the check says so if you try). Then run the check.
#
# The notebook comes with a worked answer filled in; replace it with your
# own and see whether you can do better.

# %%
my_choice = {"policy": "async", "workers": 6, "lr": 0.0811}
report = capstone.check(my_choice)

# %% [markdown]
# ## Why it wins (the worked answer)
#
# *A written explanation, as the capstone asks; write yours in the same way,
# with your own numbers.*
#
# The server can apply only 5 pushes per second, and one asynchronous
# worker pushes about every 2 seconds, so about 10 workers saturate it.
# With all 16, pushes queue at the server: the async reference makes no
# more updates per second than the server's 5, and the queue makes every
# gradient staler (mean 15 updates). Staleness that high forces a small
# learning rate (0.035), so it needs about 390 updates.
#
# With 6 workers the server is no longer the bottleneck and the staleness
# falls to 5. The learning rate can be more than twice as large (0.081),
# and the target is reached after about 150 updates. Each update takes
# longer on average (6 workers deliver fewer per second than a saturated
# server), but the product, updates × seconds per update, is 1.6 times
# smaller than the async reference's. Synchronous SGD needs only 23
# updates, but each costs over 6 s: waiting for the slowest of 16 workers,
# with 5% stragglers, and 16 pushes through the server.

# %%
quiz.ask("11-why-fewer")

# %% [markdown]
# ## Going further
#
# - Several other strategies also beat both references. Try backup workers
#   on fewer machines (for instance `{"policy": "backup:2", "workers": 8,
#   "lr": 0.433}`), or staleness-aware steps with a larger learning rate.
# - The check explains failures too: a learning rate too large for the
#   staleness is reported as diverged, with what to change.

# %%
attempt = capstone.check({"policy": "async", "lr": 0.2}, show=False)
print(attempt.lines[-2])
print(attempt.lines[-1])

# %% [markdown]
# ## Summary
#
# - Before tuning, estimate: the server's capacity against the workers'
#   demand, the cost of a barrier (the slowest of N plus the pushes of a
#   step), the message time, and how stale gradients will be.
# - Time to target = updates needed × seconds per update. Sync makes each
#   update expensive; async makes updates cheap but stale; a good strategy
#   keeps both factors moderate.
# - On this cluster the server saturates at about 10 workers: using fewer
#   workers, with a larger step, beat asynchronous SGD on all 16 by 1.6x and
#   synchronous SGD by 3.2x.
#
# That is the end of the course. `quiz.progress()` shows which questions
# you have answered.
