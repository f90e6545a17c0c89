# %% [markdown]
# # 05 · The middle ground
#
# Synchronous SGD wastes time waiting for the slowest worker (lesson 02);
# asynchronous SGD never waits but pays with stale gradients (lesson 04).
# Between the two ends there are designs that keep some of each: a bound on
# staleness, backup workers that let a step close without the slowest, and
# local steps that talk to the server less often.
#
# **By the end of this lesson you will be able to**
#
# 1. state the stale-synchronous rule `ssp:S` and see it on a timeline;
# 2. sweep the bound S and measure how idle time falls and staleness grows;
# 3. explain why the time to a target loss can be lowest at an intermediate S,
#    and when it is not;
# 4. use backup workers (`backup:B`) to cut the time a synchronous step waits
#    for stragglers, and say what it costs;
# 5. use local SGD (`local:H`) to reach a target with far fewer communication
#    rounds when messages are expensive.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.course import quiz, explore

bowl = asynclab.LeastSquares()            # 100 features, 2000 examples; its best loss is about 0.005
problem = asynclab.Logistic(features=50, examples=1000)

# %% [markdown]
# ## Bounded staleness: `ssp:S`
#
# Stale Synchronous Parallel (Ho et al., NIPS 2013) counts each worker's
# completed steps, its *clock*. The rule: a worker may start its next step
# only while its clock is at most **S** ahead of the slowest worker's clock.
# Gradients are applied one by one as they arrive, as in async. `ssp:0` lets
# nobody run ahead; a very large S never blocks and is plain async.
#
# Four workers, one of them three times slower than the others, first under
# `ssp:1`, then `async`:

# %%
uneven = dict(problem=bowl, workers=4, speeds=(1, 1, 1, 3), compute="exp:1", lr=0.1, seed=0)
for policy in ("ssp:1", "async"):
    r = asynclab.run(policy=policy, gradients=40, **uneven)
    plots.timeline(r)
    plt.show()
    clocks = np.bincount([e.worker for e in r.trace.of_kind("compute")], minlength=4)
    print(f"{policy}: gradients per worker {clocks.tolist()}, idle {r.summary.idle_fraction:.0%}")

# %% [markdown]
# Under `ssp:1` the three fast workers keep stopping (grey) until worker 3
# catches up; under async they run on and compute most of the gradients.

# %%
quiz.ask("05-ssp-wait")

# %% [markdown]
# ## Sweeping the bound
#
# Now a cluster where waiting is expensive: 8 workers whose compute times are
# log-normal (mean 1 s, spread 0.5), and 10% of gradients straggle 4 times
# longer. The learning rate is 0.15, the best of a few we tried with **two**
# asynchronous workers:

# %%
cluster = dict(problem=bowl, gradients=2500, compute="lognormal:1:0.5", straggler=(0.1, 4),
               eval_points=200, target_loss=0.01)
for lr in (0.05, 0.1, 0.15, 0.2):
    times = [asynclab.run(policy="async", workers=2, lr=lr, seed=s, **cluster).summary.time_to_target
             for s in range(4)]
    print(f"2 async workers, lr {lr}: time to loss 0.01, mean of 4 seeds {np.mean(times):.3g} s")

# %% [markdown]
# Sweep S from 0 to 16, and async (S = ∞), with 8 workers at that learning
# rate. Each time is noisy, so every number is the **mean over 8 seeds**. The
# time to target is split into two factors: how many updates the run needed
# to reach the loss, and how many updates per second it made.

# %%
bounds = ["ssp:0", "ssp:1", "ssp:2", "ssp:4", "ssp:8", "ssp:16", "async"]


def updates_to(r, target):
    """Updates applied when the loss was first at or below ``target`` (inf if never)."""
    updates = r.history.updates_to(target)
    return np.inf if updates is None else updates


def same_weights(r):
    """On average, how many applied gradients were computed from the same weights
    (the same version) as a given applied gradient, itself included."""
    _, counts = np.unique([e.version for e in r.trace.of_kind("apply")], return_counts=True)
    return (counts ** 2).sum() / counts.sum()


def sweep(policies, seeds, **settings):
    """For each policy, the mean over ``seeds`` of what its runs measured."""
    table = {}
    for policy in policies:
        runs = [asynclab.run(policy=policy, seed=s, **settings) for s in seeds]
        target = runs[0].config.target_loss
        table[policy] = {
            "idle": np.mean([r.summary.idle_fraction for r in runs]),
            "staleness": np.mean([r.summary.mean_staleness for r in runs]),
            "largest": np.mean([r.summary.max_staleness for r in runs]),
            "same weights": np.mean([same_weights(r) for r in runs]),
            "rate": np.mean([r.summary.updates / r.summary.time for r in runs]),
            "updates": np.mean([updates_to(r, target) for r in runs]),
            "time": np.mean([r.summary.time_to_target or np.inf for r in runs]),
        }
    return table


def show(table):
    print("policy    idle   staleness: mean  largest   same weights   updates/s   "
          "updates to target   time to target")
    for policy, m in table.items():
        print(f"{policy:7} {m['idle']:6.0%} {m['staleness']:14.2f} {m['largest']:8.0f} "
              f"{m['same weights']:14.1f} {m['rate']:11.2f} {m['updates']:15.0f} "
              f"{m['time']:17.1f} s")


ssp = sweep(bounds, range(8), workers=8, lr=0.15, **cluster)
show(ssp)

# %%
labels = [p.replace("ssp:", "S=").replace("async", "async\n(S=∞)") for p in bounds]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), layout="constrained")
for ax, key, title in zip(axes, ("idle", "staleness", "time"),
                          ("idle fraction", "mean staleness (updates)", "time to loss 0.01 (s)")):
    ax.plot(range(len(bounds)), [ssp[p][key] for p in bounds], marker="o")
    ax.set_xticks(range(len(bounds)), labels)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
plt.show()

# %%
times = [ssp[p]["time"] for p in bounds]
best = bounds[int(np.argmin(times))]
print("idle falls as S grows:", all(np.diff([ssp[p]["idle"] for p in bounds]) < 0))
print("mean staleness grows as S grows:", all(np.diff([ssp[p]["staleness"] for p in bounds]) > 0))
print("fastest to the target:", best)
print(f"ssp:0 takes {ssp['ssp:0']['time'] / ssp[best]['time']:.1f}x as long, "
      f"async {ssp['async']['time'] / ssp[best]['time']:.1f}x")

# %% [markdown]
# Read the table from the top:
#
# - **Small S: waiting.** Under `ssp:0` the workers idle well over half the
#   time, so the run makes well under half the updates per second of async.
#   And the workers that waited are released together: the *same weights*
#   column shows that under `ssp:0` a gradient was computed from the same
#   weights as about seven others. Applied one after another, such updates
#   act like one step several times larger and overshoot, so `ssp:0` and
#   `ssp:1` need many more updates than `ssp:4`, although their mean
#   staleness is lower.
# - **Large S: staleness.** Idle time vanishes, but with every worker
#   computing all the time more updates land while each gradient is computed:
#   the mean staleness grows towards 7 (N − 1, lesson 04) and the largest to
#   dozens of updates. At this learning rate those stale updates undo part of
#   each other's progress, and the updates needed climb again.
# - **In between** both factors are moderate, and the time to target, the
#   ratio *updates needed ÷ updates per second*, is lowest.
#
# The parameter-server literature saw the same shape. Li et al. (OSDI 2014),
# on sparse logistic regression: with no delay allowed the workers idled
# about 50% of the time, with a delay of 16 about 1.7%, but convergence per
# update degraded as the delay grew, and a delay of 8 was best overall. Ho et
# al. (2013) found SSP faster than both bulk-synchronous and fully
# asynchronous training on several problems.

# %%
quiz.ask("05-best-bound")

# %% [markdown]
# ### Does the middle always win?
#
# The U appeared because 0.15 is a large step for 8 workers' worth of
# staleness (lesson 04: the stable learning rate shrinks as workers are
# added). Re-tune instead: the same sweep at a learning rate of 0.08, over 4
# seeds.

# %%
retuned = sweep(bounds, range(4), workers=8, lr=0.08, **cluster)
show(retuned)
fastest = min(retuned, key=lambda p: retuned[p]["time"])
print(f"at lr 0.08: async {retuned['async']['time']:.3g} s, the fastest bound "
      f"{fastest} {retuned[fastest]['time']:.3g} s; best at lr 0.15: {ssp[best]['time']:.3g} s")

# %% [markdown]
# With the smaller step async is as fast as any bound, and every policy
# beats its own time at 0.15. So a staleness bound is insurance, not magic:
# it keeps a run that uses a step size tuned for less staleness (fewer
# workers, or a single machine) from paying for it, without re-tuning. When
# you can re-tune, check whether plain async with a smaller step does as well.

# %% [markdown]
# ## Backup workers: `backup:B`
#
# A synchronous step waits for its slowest gradient. Chen et al. (2016,
# *Revisiting distributed synchronous SGD*) proposed running a few **backup
# workers**: the step closes as soon as N − B gradients have arrived, and the
# B late ones are dropped when they come in. The update is still the average
# of fresh gradients (staleness 0), and no worker runs ahead.
#
# Here 8 workers have exponential compute times and 10% of gradients
# straggle 10 times longer: most steps contain at least one straggler.

# %%
quiz.ask("05-backup")

# %%
stragglers = dict(problem=bowl, workers=8, gradients=4000, compute="exp:1", straggler=(0.1, 10),
                  eval_points=300, target_loss=0.01)


def measure(policy, lr, seeds=range(4)):
    runs = [asynclab.run(policy=policy, lr=lr, seed=s, **stragglers) for s in seeds]
    return {"step": np.mean([r.summary.time / r.summary.updates for r in runs]),
            "dropped": np.mean([r.summary.dropped / r.summary.gradients for r in runs]),
            "time": np.mean([r.summary.time_to_target or np.inf for r in runs])}


async_lrs = {lr: measure("async", lr) for lr in (0.05, 0.1, 0.15)}
async_lr = min(async_lrs, key=lambda lr: async_lrs[lr]["time"])
print("async alone, time to target by learning rate:",
      {lr: round(float(m["time"]), 1) for lr, m in async_lrs.items()})
backup = {policy: measure(policy, 0.5) for policy in ("sync", "backup:1", "backup:2", "backup:4")}
backup[f"async (lr {async_lr})"] = async_lrs[async_lr]
print("\npolicy            time per step   gradients dropped   time to target (mean of 4 seeds)")
for policy, m in backup.items():
    print(f"{policy:16} {m['step']:10.2f} s {m['dropped']:16.0%} {m['time']:19.1f} s")

# %% [markdown]
# The averaged policies use a learning rate of 0.5 (averaging eight gradients
# makes their steps less noisy); async uses the best of three smaller rates,
# since larger steps overshoot with 8 workers (lesson 04).
#
# Dropping the single slowest gradient of 8 nearly halves the time per step;
# dropping two or four cuts it further, at the price of throwing away a
# growing share of the computed gradients. The time to target follows the
# step time, and with four backups it comes close to async's. Chen et al.
# found synchronous SGD with a few backups faster *and* more accurate than
# async on large neural networks, where staleness also hurt the final
# accuracy; this least-squares problem has nothing for staleness to spoil at
# a small enough step.

# %%
times = {p: backup[p]["time"] for p in ("sync", "backup:1", "backup:2", "backup:4")}
print("each backup setting beats sync:",
      all(times[p] < times["sync"] for p in ("backup:1", "backup:2", "backup:4")))
print("more backups, sooner at the target:",
      times["backup:1"] > times["backup:2"] > times["backup:4"])

# %% [markdown]
## Local SGD: `local:H`
#
# When messages are expensive, talk less. In local SGD each worker takes H
# SGD steps on its own copy of the weights, then the server averages the
# workers' accumulated updates: one communication round per H gradients
# instead of per gradient. McMahan et al. (2017, federated averaging) needed
# 10-100x fewer communication rounds this way. `local:1` is plain sync.
#
# Here every message (pull or push) takes 1 s, as long as a gradient.

# %%
quiz.ask("05-local-rounds")

# %%
r = asynclab.run(problem=problem, policy="local:8", workers=4, gradients=1024, eval_points=2)
print(f"local:8, 4 workers, 1024 gradients: {r.summary.updates} communication rounds")

# %%
slow_network = dict(problem=problem, workers=8, gradients=1500, compute="exp:1", latency=1.0,
                    lr=1.0, eval_points=1501, target_loss=0.31)   # the loss after every push
print("policy     rounds to target   gradients in them   communicating   time to target")
local_results = {}
for policy in ["sync", "local:2", "local:4", "local:8", "local:16", "local:32", "local:64"]:
    runs = [asynclab.run(policy=policy, seed=s, **slow_network) for s in range(4)]
    rounds = np.mean([updates_to(r, 0.31) for r in runs])
    local_results[policy] = m = {
        "rounds": rounds, "gradients": rounds * 8 * runs[0].config.policy.local_steps,
        "comm": np.mean([r.summary.comm_fraction for r in runs]),
        "time": np.mean([r.summary.time_to_target for r in runs])}
    print(f"{policy:9} {m['rounds']:13.1f} {m['gradients']:18.0f} {m['comm']:15.0%} "
          f"{m['time']:15.1f} s")

# %% [markdown]
# Each doubling of H halves the rounds needed, with about the same number of
# gradients in them: here a local step is as useful as a synchronous one, and
# it costs no message. Communication falls from over 40% of the time to a
# few percent, and the target comes about three times sooner. At H = 64 a
# single round is already twice the work the target needs, and the time rises
# again. On data that differs from worker to worker (federated learning, the
# setting of McMahan et al.) the private copies also drift apart between
# averages, which limits H sooner.

# %%
fastest = min(local_results, key=lambda p: local_results[p]["time"])
print(f"rounds: sync {local_results['sync']['rounds']:.1f}, local:32 "
      f"{local_results['local:32']['rounds']:.1f} "
      f"({local_results['sync']['rounds'] / local_results['local:32']['rounds']:.0f}x fewer)")
print(f"fastest: {fastest}, {local_results['sync']['time'] / local_results[fastest]['time']:.1f}x "
      "sooner than sync | rounds never increase with H:",
      all(np.diff([m["rounds"] for m in local_results.values()]) <= 0))

# %% [markdown]
# ## Explore
#
# The 8 workers of the backup experiment on a smaller problem. Choose a
# policy (`ssp` uses the bound slider), change the straggler chance and
# slowdown, and watch idle time and the loss curve. Which policy copes best
# when stragglers are rare but extreme (chance 0.05, slowdown 20)?

# %%
lab = explore(["policy", "bound", "straggler_prob", "straggler_factor", "lr", "x"],
              policies=("sync", "backup:1", "backup:2", "ssp", "local:4", "async"),
              workers=8, policy="sync", straggler_prob=0.1, straggler_factor=10.0, lr=0.5,
              problem=problem, gradients=1000, compute="exp:1", latency=0.0, bandwidth=1e6)
lab

# %% [markdown]
# In code: the same dashboard with two backup workers, then with `ssp:2`.

# %%
lab.redraw(policy="backup:2")
print(lab.text())
lab.redraw(policy="ssp", bound=2, lr=0.2)
print(lab.text())

# %% [markdown]
# ## Summary
#
# - `ssp:S` lets the fastest worker run at most S steps ahead of the slowest.
#   Raising S trades idle time for staleness: on our 8-worker cluster the
#   idle fraction fell steadily and the mean staleness rose steadily with S.
# - At a step size tuned for two workers, the time to target was lowest at an
#   intermediate bound, as in Li et al. (2014); after re-tuning the step size
#   for 8 workers, async was as fast. A bound is insurance against staleness
#   your step size cannot tolerate.
# - Backup workers (Chen et al. 2016) close each synchronous step without the
#   B slowest gradients: shorter steps against stragglers, fresh averaged
#   updates, at the price of discarded work.
# - Local SGD (McMahan et al. 2017) averages every H local steps: on our slow
#   network it reached the target with up to 29 times fewer communication
#   rounds and about the same number of gradients, until one round was more
#   work than the target needed.
#
# Next: lock-free Hogwild! updates on sparse problems, on real threads and
# processes.
