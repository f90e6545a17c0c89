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
# 1. state the stale-synchronous rule `ssp:S`, write it as code, and see it on
#    a timeline;
# 2. sweep the bound S and measure how waiting falls and staleness grows;
# 3. compare bounds fairly, each at its own tuned learning rate over several
#    seeds, and say which differences are larger than their 95% intervals;
# 4. use backup workers (`backup:B`) on a fixed cluster or as extra machines
#    (Chen et al. 2016), and say what each setting trades;
# 5. use local SGD (`local:H`) to reach a target with far fewer communication
#    rounds when messages are expensive.
#
# **Prerequisites:** lessons 02 (barriers, stragglers), 03 (tuned learning
# rates, seeds and 95% intervals) and 04 (staleness).
#
# **Time:** about 45 minutes.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots, plotstyle
from asynclab.course import exercise, explore, quiz

bowl = asynclab.LeastSquares()            # 100 features, 2000 examples
problem = asynclab.Logistic(features=50, examples=1000)
best_weights = np.linalg.lstsq(*bowl.data, rcond=None)[0]
print(f"the least-squares bowl's best loss: {bowl.loss(best_weights):.4f}")


def apart(a, b):
    """True if two estimates' 95% intervals do not overlap."""
    return a.high < b.low or b.high < a.low


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
    print(f"{policy}: gradients per worker {clocks.tolist()}, "
          f"waiting {r.summary.wait_fraction:.0%}")

# %% [markdown]
# Under `ssp:1` the three fast workers keep stopping (light grey) until
# worker 3 catches up; under async they run on and compute most of the
# gradients.

# %%
quiz.ask("05-ssp-wait")

# %% [markdown]
# ### Your turn: the admission rule
#
# Write the rule as a function. The checker runs the engine's own parameter
# server under `ssp:0`, `ssp:1` and `ssp:3`, and before every push asks your
# function whether each worker may start; it reports the first case where
# your answer and the engine's differ.

# %%
exercise.show("05-ssp-rule")

# %%
def may_start(my_clock, slowest_clock, bound):
    ...  # True or False


exercise.check("05-ssp-rule", may_start)

# %% [markdown]
# ## Sweeping the bound
#
# Now a cluster where waiting is expensive: 8 workers whose compute times are
# log-normal (mean 1 s, spread 0.5), and 10% of gradients straggle 4 times
# longer. First a learning rate that suits **two** asynchronous workers,
# tuned over four seeds (lesson 03's `tune`: every rate with every seed, the
# mean time to the target loss 0.01 and its 95% interval):

# %%
cluster = asynclab.Config(problem=bowl, workers=8, gradients=1000, compute="lognormal:1:0.5",
                          straggler=(0.1, 4), eval_points=251, target_loss=0.01)
two_workers = asynclab.tune(cluster.replace(policy="async", workers=2),
                            lrs=[0.05, 0.1, 0.15, 0.2, 0.3], seeds=4)
print(two_workers)
lr_for_two = two_workers.best_lr

# %% [markdown]
# Sweep S from 0 to 8, and async ($S = \infty$), with 8 workers at that rate, over
# 8 seeds. The time to target is split into two factors: how many updates the
# run needed to reach the loss, and how many updates per second it made.

# %%
bounds = ["ssp:0", "ssp:1", "ssp:2", "ssp:4", "ssp:8", "async"]


def same_weights(r):
    """On average, how many applied gradients were computed from the same weights
    (the same version) as a given applied gradient, itself included."""
    _, counts = np.unique([e.version for e in r.trace.of_kind("apply")], return_counts=True)
    return (counts ** 2).sum() / counts.sum()


def updates_to_target(runs):
    """Mean over the seeds of the updates applied when the loss first reached the target."""
    target = runs.config.target_loss
    return np.mean([r.history.updates_to(target) or np.inf for r in runs.results])


def show(table):
    print("policy    waiting   staleness: mean  largest   same weights   updates/s   "
          "updates to target   time to target: mean [95% interval]")
    for policy, runs in table.items():
        rs = runs.results
        print(f"{policy:7} {runs.estimate('wait_fraction').mean:8.0%} "
              f"{runs.estimate('mean_staleness').mean:14.2f} "
              f"{np.mean([r.summary.max_staleness for r in rs]):8.0f} "
              f"{np.mean([same_weights(r) for r in rs]):14.1f} "
              f"{np.mean([r.summary.updates / r.summary.time for r in rs]):11.2f} "
              f"{updates_to_target(runs):15.0f}   {runs.estimate('time_to_target')} s")


ssp = asynclab.compare(bounds, cluster.replace(lr=lr_for_two), seeds=8)
show(ssp)

# %%
labels = [p.replace("ssp:", "S=").replace("async", "async\n(S=∞)") for p in bounds]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), layout="constrained")
for ax, key, title in zip(axes, ("wait_fraction", "mean_staleness", "time_to_target"),
                          ("waiting (share of time)", "mean staleness (updates)",
                           "time to loss 0.01 (s), 95% interval")):
    e = [ssp[p].estimate(key) for p in bounds]
    ax.errorbar(range(len(bounds)), [x.mean for x in e], marker="o", capsize=3,
                yerr=None if key != "time_to_target" else
                [[x.mean - x.low for x in e], [x.high - x.mean for x in e]])
    ax.set_xticks(range(len(bounds)), labels)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    plotstyle.describe(ax, f"{title} for the bounds S=0, 1, 2, 4, 8 and async: "
                       + ", ".join(f"{x.mean:.3g}" for x in e))
plt.show()

# %%
time_at = {p: ssp[p].estimate("time_to_target") for p in bounds}
fastest = min(bounds, key=lambda p: time_at[p].mean)
print("waiting falls as S grows:",
      all(np.diff([ssp[p].estimate("wait_fraction").mean for p in bounds]) < 0))
print("mean staleness grows as S grows:",
      all(np.diff([ssp[p].estimate("mean_staleness").mean for p in bounds]) > 0))
print(f"fastest mean: {fastest}; ssp:0 takes {time_at['ssp:0'].mean / time_at[fastest].mean:.1f}x "
      f"as long, beyond the intervals: {apart(time_at['ssp:0'], time_at[fastest])}")
print(f"async takes {time_at['async'].mean / time_at[fastest].mean:.1f}x as long as {fastest}; "
      f"the intervals overlap: {not apart(time_at['async'], time_at[fastest])}")

# %% [markdown]
# Read the table from the top:
#
# - **Small S: waiting.** Under `ssp:0` the workers wait 60% of the time,
#   so the run makes well under half the updates per second of async. And
#   the workers that waited are released together: the *same weights*
#   column shows that under `ssp:0` a gradient was computed from the same
#   weights as about seven others. Applied one after another, such updates
#   act like one step several times larger and overshoot, so `ssp:0` needs
#   more updates than `ssp:4` (278 against 182), although its mean staleness
#   is lower.
# - **Large S: staleness.** Waiting vanishes, but with every worker
#   computing all the time more updates land while each gradient is
#   computed: the mean staleness grows towards 7 ($N - 1$, lesson 04) and the
#   largest to dozens of updates. At this rate async needs more updates
#   again (298).
# - **The verdict needs the intervals.** `ssp:0` is slower than the fastest
#   bound by more than the noise. Between the middle bounds and async, the
#   intervals overlap: the dip in the middle of the right-hand plot is within
#   what another 8 seeds could change.
#
# The parameter-server literature saw a clearer middle. Li et al. (OSDI
# 2014, Section 5.1), on sparse logistic regression: with no delay allowed the
# workers idled about 50% of the time, with a delay of 16 about 1.7%, but
# convergence per update degraded as the delay grew, and a delay of 8 was
# best overall. Ho et al. (2013) found SSP faster than both bulk-synchronous
# and fully asynchronous training on several problems.

# %%
quiz.ask("05-best-bound")

# %% [markdown]
# ### Each bound at its own rate
#
# 0.15 was tuned for two workers. A fair comparison tunes every bound for
# the 8-worker cluster: `compare(..., tune=True)` runs each policy at every
# rate of the grid with every seed and keeps its best rate (a smaller budget
# of 240 gradients is plenty at these rates, and an evaluation every 4
# gradients times the target finely).

# %%
quick = cluster.replace(gradients=240, eval_points=61)
tuned = asynclab.compare(["ssp:0", "ssp:1", "ssp:2", "ssp:4", "async"], quick, seeds=8,
                         tune=True, lrs=[0.04, 0.06, 0.08, 0.1])
print("policy   tuned lr   time to target: mean [95% interval]   updates to target")
for policy, runs in tuned.items():
    edge = "  (at the edge of the grid)" if runs.tuning.at_edge else ""
    print(f"{policy:7} {runs.config.lr:9g}   {str(runs.estimate('time_to_target')) + ' s':34}"
          f"{updates_to_target(runs):9.0f}{edge}")
best_tuned = {p: r.estimate("time_to_target") for p, r in tuned.items()}
print("no best rate at the edge of its grid:", not any(r.tuning.at_edge for r in tuned.values()))
print("ssp:0 slower than async, beyond the intervals:",
      apart(best_tuned["ssp:0"], best_tuned["async"]))
print("the mean time falls as S grows:", all(np.diff([e.mean for e in best_tuned.values()]) < 0))
print("from ssp:1 up, every bound within the intervals of async:",
      all(not apart(best_tuned[p], best_tuned["async"]) for p in ("ssp:1", "ssp:2", "ssp:4")))
print(f"every bound faster tuned than at {lr_for_two}:",
      all(best_tuned[p].mean < time_at[p].mean for p in best_tuned))

# %% [markdown]
# Tuned for 8 workers, every policy reaches the target several times sooner
# than at 0.15, and the picture changes. `ssp:0` still loses to its
# waiting, beyond the intervals. From `ssp:1` up the mean time keeps
# falling as S grows, but every bound's interval overlaps async's: the
# bound no longer makes a difference we can establish with 8 seeds. On this
# problem a bound buys nothing once the rate is tuned for the staleness; it
# may still help where the staleness itself hurts (a model that diverges on
# very stale gradients), or as a safeguard when the rate cannot be
# re-tuned. When you can re-tune, check whether plain async with a smaller
# step does as well.

# %%
quiz.ask("05-tuned-bound")

# %% [markdown]
# ## Backup workers: `backup:B`
#
# A synchronous step waits for its slowest gradient. Chen et al. (2016,
# *Revisiting distributed synchronous SGD*) proposed **backup workers**: run
# $N + b$ workers, and close each step as soon as N gradients have arrived;
# the b late ones are dropped when they come in. The update is still the
# average of N fresh gradients (staleness 0), and no worker runs ahead.
#
# In asynclab `backup:B` closes a step after $\text{workers} - B$ gradients. There
# are two ways to use it:
#
# - **on a fixed cluster**: 8 workers and `backup:B` average only $8 - B$
#   gradients per update: a smaller batch, on the same machines;
# - **as Chen et al. did**: $8 + B$ workers and `backup:B` average 8, as sync
#   on 8 does: the same batch, on B more machines.
#
# One more detail matters. A late worker is not interrupted: it finishes the
# gradient it is computing, which the server drops, and only then pulls the
# new weights (TensorFlow's `SyncReplicasOptimizer` behaves the same way).
# Dutta et al. (AISTATS 2018) analyse *K-sync SGD*, where the server waits
# for the first K of N workers and the others abandon their gradient, so
# every step starts afresh and its expected time is the K-th fastest of N
# fresh compute times. Without the interruption a step can take longer.
#
# Here compute times are exponential (mean 1 s) and 10% of gradients
# straggle 10 times longer: most steps of 8 contain a straggler. The target
# is a loss of 0.006, close to the best this problem allows (0.0048,
# printed at the top), so that the noise of an averaged update matters.

# %%
quiz.ask("05-backup")

# %% [markdown]
# Every setting is tuned over 8 seeds (the averaged policies around sync's
# best rate, async around smaller ones, lesson 04). Beside the measured time
# per step, the table shows the *fresh-start* step: the mean time until the
# quorum of fresh compute times is done, estimated from 100 000 draws of the
# same law.

# %%
stragglers = asynclab.Config(problem=bowl, compute="exp:1", straggler=(0.1, 10), gradients=400,
                             eval_points=101, target_loss=0.006)
settings = {  # name: (workers, policy)
    "sync": (8, "sync"), "backup:2": (8, "backup:2"), "backup:4": (8, "backup:4"),
    "10, backup:2": (10, "backup:2"), "12, backup:4": (12, "backup:4"), "async": (8, "async"),
}
draws = np.random.default_rng(0).exponential(1.0, (100_000, 12))
draws = np.where(np.random.default_rng(1).random(draws.shape) < 0.1, 10 * draws, draws)


def fresh_step(workers, quorum):
    """Mean time until ``quorum`` of ``workers`` fresh compute times are done."""
    return np.sort(draws[:, :workers], axis=1)[:, quorum - 1].mean()


backup = {}
for name, (workers, policy) in settings.items():
    lrs = [0.01, 0.02, 0.05, 0.1] if policy == "async" else [0.1, 0.2, 0.5, 1.0]
    tuning = asynclab.tune(stragglers.replace(workers=workers, policy=policy), lrs=lrs, seeds=8)
    runs = tuning.best_runs()
    quorum = workers - runs.config.policy.backups
    backup[name] = {
        "runs": runs, "workers": workers, "averaged": 1 if policy == "async" else quorum,
        "step": np.mean([r.summary.time / r.summary.updates for r in runs.results]),
        "fresh": np.nan if policy == "async" else fresh_step(workers, quorum),
        "dropped": runs.estimate("dropped").mean / runs.estimate("gradients").mean,
        "updates": updates_to_target(runs), "time": runs.estimate("time_to_target")}

print("setting        workers  averaged    lr   step: measured  fresh start   dropped   "
      "updates to target   time to target [95% interval]")
for name, m in backup.items():
    fresh = "-" if np.isnan(m["fresh"]) else f"{m['fresh']:.2f} s"
    print(f"{name:13} {m['workers']:7} {m['averaged']:8} {m['runs'].config.lr:5g} "
          f"{m['step']:12.2f} s {fresh:>12} {m['dropped']:9.0%} {m['updates']:14.1f}"
          f"       {m['time']} s")
print("no best rate at the edge of its grid:",
      not any(m["runs"].tuning.at_edge for m in backup.values()))

# %% [markdown]
# The fixed cluster's `backup:4` settled on a smaller rate than the others.
# Its tuning table shows why:

# %%
print(backup["backup:4"]["runs"].tuning)

# %%
quiz.ask("05-backup-batch")

# %%
names = [n for n in settings if n != "async"]
sync_time = backup["sync"]["time"]
ratios = [backup[n]["step"] / backup[n]["fresh"] for n in names[1:]]
print("every backup setting has shorter steps than sync:",
      all(backup[n]["step"] < backup["sync"]["step"] for n in names[1:]))
print(f"with backups, a step takes longer than its fresh-start estimate: "
      f"{all(r > 1 for r in ratios)} ({min(ratios):.1f}x to {max(ratios):.1f}x)")
print("every backup setting reaches the target sooner than sync, beyond the intervals:",
      all(apart(backup[n]["time"], sync_time) and backup[n]["time"].mean < sync_time.mean
          for n in names[1:]))
print(f"averaging 4 gradients instead of 8 needs "
      f"{backup['backup:4']['updates'] / backup['12, backup:4']['updates']:.1f}x the updates")
print("12 workers with backup:4 sooner than 8 with backup:4, beyond the intervals:",
      apart(backup["12, backup:4"]["time"], backup["backup:4"]["time"]) and
      backup["12, backup:4"]["time"].mean < backup["backup:4"]["time"].mean)
best = min(names, key=lambda n: backup[n]["time"].mean)
print(f"fastest averaged setting: {best}; tuned async within its interval:",
      not apart(backup[best]["time"], backup["async"]["time"]))

# %%
quiz.ask("05-backup-late")

# %% [markdown]
# What the tables say:
#
# - **Backups shorten the step.** Dropping the slowest gradients cuts the
#   time per step; the more backups, the shorter, in both settings.
# - **But not to the fresh-start order statistic.** Each backup step takes
#   well over its fresh-start estimate: a straggler that was dropped is
#   still computing when the next step starts, so that step has fewer
#   workers to choose from. Dutta et al.'s K-sync expected times assume the
#   late workers are interrupted; here they are a lower bound.
# - **Fixed cluster: batch for time.** `backup:4` on 8 workers averages 4
#   gradients per update. Each update is noisier, so at sync's rate some
#   seeds never settle below the target (the tuning table above); it needs a
#   smaller rate and about twice the updates. It costs no machines, and
#   throws away over a quarter of the gradients computed.
# - **Chen et al.'s setting: machines for time.** 12 workers with `backup:4`
#   keep sync's batch, its rate and its number of updates, with much shorter
#   steps, and reach the target sooner than the fixed cluster's `backup:4`
#   by more than the intervals. The price is four more machines, and the
#   dropped gradients they compute.
# - **Against sync and async.** Every backup setting reaches the target
#   sooner than sync by more than the intervals. Tuned async is as fast as
#   the best averaged setting here, within the intervals. Chen et al. found
#   synchronous SGD with backups faster *and* more accurate than async on
#   large neural networks, where staleness also hurt the final accuracy;
#   this least-squares problem has nothing for staleness to spoil at a small
#   enough step.

# %% [markdown]
# ## Local SGD: `local:H`
#
# When messages are expensive, talk less. In local SGD each worker takes H
# SGD steps on its own copy of the weights, then the server averages the
# workers' accumulated updates: one communication round per H gradients
# instead of per gradient. McMahan et al. (2017, federated averaging)
# report in their abstract 10-100x fewer communication rounds than
# synchronous SGD this way.
# `local:1` is plain sync.

# %%
quiz.ask("05-local-rounds")

# %%
r = asynclab.run(problem=problem, policy="local:8", workers=4, gradients=1024, eval_points=2)
print(f"local:8, 4 workers, 1024 gradients: {r.summary.updates} communication rounds")

# %% [markdown]
# Here every message (pull or push) takes 1 s, as long as a gradient. Each
# policy gets its own tuned learning rate over 8 seeds: averaging after many
# local steps tolerates a different rate than averaging every gradient.

# %%
slow_network = asynclab.Config(problem=problem, workers=8, gradients=512, compute="exp:1",
                               latency=1.0, eval_points=65, target_loss=0.31)
local = asynclab.compare(["sync", "local:4", "local:16", "local:32"], slow_network, seeds=8,
                         tune=True, lrs=[0.5, 1, 2, 4, 8])
print("policy     lr   rounds to target   gradients in them   communicating   "
      "time to target [95% interval]")
for policy, runs in local.items():
    rounds = updates_to_target(runs)
    gradients = rounds * 8 * runs.config.policy.local_steps
    print(f"{policy:8} {runs.config.lr:4g} {rounds:13.1f} {gradients:18.0f}"
          f" {runs.estimate('comm_fraction').mean:15.0%}       {runs.estimate('time_to_target')} s")
print("no best rate at the edge of its grid:", not any(r.tuning.at_edge for r in local.values()))
print()
print(local["sync"].tuning)

# %%
plots.convergence([local[p] for p in ("sync", "local:16", "local:32")], x="time", target=0.31)
plt.show()

# %%
local_time = {p: r.estimate("time_to_target") for p, r in local.items()}
fastest = min(local_time, key=lambda p: local_time[p].mean)
print(f"fastest: {fastest}, {local_time['sync'].mean / local_time[fastest].mean:.1f}x sooner than "
      f"tuned sync; beyond the intervals: {apart(local_time['sync'], local_time[fastest])}")
print(f"the two times behind that ratio, with their 95% intervals: sync {local_time['sync']} s, "
      f"{fastest} {local_time[fastest]} s")
print("rounds never increase with H:",
      all(np.diff([updates_to_target(r) for r in local.values()]) <= 0))
untuned = next(row.estimate for row in local["sync"].tuning.rows if row.lr == 1)
print(f"sync at lr 1, untuned: {untuned} s, {untuned.mean / local_time[fastest].mean:.1f}x "
      f"{fastest}'s time")

# %% [markdown]
# Local steps cut the rounds needed roughly in proportion to H, with a few
# more gradients in them: here a local step is nearly as useful as a
# synchronous one, and it costs no message. Communication falls from 43% of
# the time under sync to 8% under `local:16`. With every policy at its own
# tuned rate, `local:16` reaches the target 2.5x sooner than sync, and the
# two intervals are far apart. An untuned comparison would exaggerate the
# gap: at a rate of 1 (the second row of sync's tuning table) sync takes
# about twice as long, and local SGD looks 4.8x faster. Tuning sync
# narrowed the gap, but did not close it. At H = 32 a single round is more
# work than the target needs, and the time rises again. On data that
# differs from worker to worker (federated learning, the setting of McMahan
# et al.) the private copies also drift apart between averages, which
# limits H sooner.

# %% [markdown]
# ## Explore
#
# The 8 workers of the backup experiment on a smaller problem. Choose a
# policy (`ssp` uses the bound slider), change the straggler chance and
# slowdown, and watch waiting and the loss curve. Which policy copes best
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
#   Raising S trades waiting for staleness: on our 8-worker cluster the
#   waiting share fell steadily and the mean staleness rose steadily with S.
# - Compared fairly (each bound at its tuned rate, 8 seeds, 95% intervals),
#   the tightest bound ($S = 0$) lost to its waiting, and from $S = 1$ up the
#   bound made no measurable difference on this problem. Li et al. (2014)
#   and Ho et al. (2013) found an intermediate bound best on theirs.
# - Backup workers (Chen et al. 2016) close each synchronous step without the
#   B slowest gradients. On a fixed cluster they trade batch size for time;
#   as extra machines they keep the batch and cost hardware. Late workers
#   that are not interrupted make a step longer than the fresh-start order
#   statistic of Dutta et al.'s analysis.
# - Local SGD (McMahan et al. 2017) averages every H local steps: on our slow
#   network, each policy tuned, it reached the target with a fraction of the
#   communication rounds and well over twice as soon as sync, until one round
#   was more work than the target needed.
#
# Next: lock-free Hogwild! updates on sparse problems, on real threads and
# processes.
