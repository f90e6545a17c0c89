# %% [markdown]
# # 03 · Asynchronous updates and communication overhead
#
# In lesson 02 the barrier made every worker wait for the slowest one, half
# the time with four workers. What if nobody waits? And what exactly is the
# "communication overhead" that asynchronous updates are said to manage?
#
# **By the end of this lesson you will be able to**
#
# 1. describe the asynchronous parameter server: each gradient is applied as it arrives;
# 2. split communication overhead into its parts, synchronisation (waiting for
#    others), transfer (bytes on the wire), contention (queueing at a shared link),
#    and say how much of it overlap hides, measuring each on runs;
# 3. predict when asynchrony gains nothing (constant compute times, no overlap) and
#    when it gains (variable compute times, stragglers, a shared link, overlap);
# 4. compare two policies fairly: each at its tuned learning rate, over several seeds,
#    with 95% confidence intervals;
# 5. say what the main benefit of asynchronous updates is, and test three other
#    claims about it (memory, model complexity, input speed) by measurement.
#
# **Prerequisites:** lesson 02 (the barrier, $H_N$, stragglers, a message's latency plus
# size over bandwidth).
#
# **Time:** about 50 minutes.

# %%
# %matplotlib inline
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.course import quiz, explore, replay

problem = asynclab.Logistic(features=50, examples=1000)


def harmonic(n):
    """H_n = 1 + 1/2 + ... + 1/n."""
    return sum(1 / k for k in range(1, n + 1))


def per_gradient(r, fraction):
    """Worker-seconds per gradient spent in one of the Summary's fractions."""
    s = r.summary
    return getattr(s, fraction) * s.time * s.workers / s.gradients


def tail(r):
    """Share of worker time after each worker's last activity: it is done, and waits
    for the run's last gradient."""
    s = r.summary
    last = [max(e.end for e in r.trace.events if e.worker == w) for w in range(s.workers)]
    return sum(s.time - t for t in last) / (s.workers * s.time)


def waited(r):
    """Share of worker time spent at a barrier or in a queue (recorded waits)."""
    s = r.summary
    return sum(e.duration for e in r.trace.of_kind("wait", "queue")) / (s.workers * s.time)


# %% [markdown]
# ## The asynchronous parameter server
#
# Same server, same workers, same minibatches. One rule changes: the server
# applies each gradient **as soon as it arrives**, $w \leftarrow w - \mathrm{lr} \cdot g$, and the
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
first = {policy: asynclab.run(policy=policy, gradients=40, **settings)
         for policy in ("sync", "async")}
for r in first.values():
    plots.timeline(r)
    plt.show()
for name, r in first.items():
    print(f"{name:5}: idle {r.summary.idle_fraction:.1%} of the time (the title rounds it to "
          f"{r.summary.idle_fraction:.0%}): {waited(r):.1%} at a barrier, {tail(r):.1%} at the "
          f"end (done, while the last gradient is computed)")

# %% [markdown]
# Under sync, grey waiting fills the gaps while the slowest worker finishes
# each step. Under async every worker goes straight from one gradient to the
# next: until the end, its only gaps are its own messages. The async title
# still says idle 8%, and the printout says where it is: at the end of the
# run. Once the 40 gradients are handed out, the workers that finish first
# have nothing left to do while the last gradient is computed. On a long run
# that tail shrinks to nothing. Before measuring, recall lesson 02:

# %%
quiz.ask("03-idle-fraction")

# %%
quiz.ask("03-throughput")

# %% [markdown]
# Check your answers on long runs (4000 gradients) with free communication:

# %%
free = {policy: asynclab.run(policy=policy, gradients=4000, eval_points=2,
                             **{**settings, "latency": 0}) for policy in ("sync", "async")}
print(f"sync : idle {free['sync'].summary.idle_fraction:.2f} of the time, computing "
      f"{free['sync'].summary.compute_fraction:.2f} (1/H_4 = {1 / harmonic(4):.2f}, "
      f"with H_4 = {harmonic(4):.2f})")
print(f"async: {free['async'].summary.gradients_per_second:.2f} gradients per second "
      f"(4 workers x 1 per second = 4)")

# %% [markdown]
# ## Where the time goes
#
# Back to 0.05 s per message: 1000 gradients under each policy. A worker's
# time splits into four parts that add up to 100%: **computing**, **waiting**
# (at a barrier), **queueing** (for the server or its link) and **transfer**
# (its own messages on the wire).

# %%
runs = {policy: asynclab.run(policy=policy, gradients=1000, eval_points=2, **settings)
        for policy in ("sync", "async")}
print("policy  computing  waiting  queueing  transfer   gradients/s   per gradient: "
      "waiting  transfer")
for name, r in runs.items():
    s = r.summary
    print(f"{name:6} {s.compute_fraction:9.1%} {s.wait_fraction:8.1%} {s.queue_fraction:9.1%} "
          f"{s.transfer_fraction:9.1%} {s.gradients_per_second:12.2f}   "
          f"{per_gradient(r, 'wait_fraction'):20.2f} s {per_gradient(r, 'transfer_fraction'):7.2f} s")
for name, r in runs.items():
    messages = len(r.trace.of_kind("pull", "push"))
    print(f"{name:6}: {messages / r.summary.gradients:.0f} messages of {problem.nbytes} bytes "
          f"per gradient")

# %% [markdown]
# Read the table carefully. Async delivers twice the gradients per second,
# and all of that comes from the **waiting** column: 1.11 s per gradient
# under sync, nothing under async. The **transfer** per gradient is the same,
# 0.10 s: every gradient still costs one pull and one push of 400 bytes. As a
# *share* of the time, transfer even doubles under async (9.0% against 4.5%):
# the same seconds per gradient in a run half as long.
#
# So "communication overhead" needs taking apart. We measure its parts in turn:
#
# 1. **synchronisation**: waiting for the others (the barrier);
# 2. **transfer**: the bytes on the wire, $\text{latency} + \text{size} / \text{bandwidth}$ per message;
# 3. **contention**: queueing when many messages share one link;
# 4. **overlap**: how much of the transfer is hidden behind computation.

# %% [markdown]
# ## 1. Synchronisation: waiting for the others
#
# A barrier costs nothing if every worker takes the same time. Three clusters
# of 4 workers with 0.05 s per message, 2000 gradients each: constant compute
# times of 1 s; exponential compute times of mean 1 s; constant 1 s with a
# straggler (10 times slower) in one gradient of 20. The prediction: a
# synchronous step lasts the slowest worker's compute time plus two messages,
# and an asynchronous worker delivers a gradient every compute time plus two
# messages.

# %%
p, f = 0.05, 10
clusters = {"constant": dict(compute="const:1"),
            "exponential": dict(compute="exp:1"),
            "stragglers": dict(compute="const:1", straggler=(p, f))}
slowest = {"constant": 1, "exponential": harmonic(4),
           "stragglers": 1 + (f - 1) * (1 - (1 - p) ** 4)}
mean_compute = {"constant": 1, "exponential": 1, "stragglers": 1 + (f - 1) * p}
print("compute       sync/s   async/s   async/sync: measured  predicted   sync waiting")
gain = {}
for name, change in clusters.items():
    pair = {policy: asynclab.run(policy=policy, gradients=2000, eval_points=2,
                                 **{**settings, **change}) for policy in ("sync", "async")}
    rate = {policy: r.summary.gradients_per_second for policy, r in pair.items()}
    gain[name] = rate["async"] / rate["sync"]
    predicted = (slowest[name] + 0.1) / (mean_compute[name] + 0.1)
    print(f"{name:12} {rate['sync']:7.2f} {rate['async']:9.2f} {gain[name]:17.2f}x "
          f"{predicted:9.2f}x {pair['sync'].summary.wait_fraction:11.0%}")
print("constant compute times: async gains nothing:", f"{gain['constant']:.2f}" == "1.00")

# %% [markdown]
# With constant compute times the barrier releases everyone at once and
# nobody waits: async delivers exactly as many gradients per second, 1.00x.
# Variable compute times are what a barrier punishes. With exponential
# times a step waits for the slowest of four, on average $H_4 = 2.08$ s instead
# of 1 s, and async gains 1.96x; with stragglers every step that contains
# one waits for it, and async gains 1.80x.
#
# Li et al. (OSDI 2014, Section 5.1) saw the same on a real cluster: training
# sparse logistic regression, workers that had to wait for each other (a
# maximal delay of 0) spent about 50% of their time waiting, and about 1.7%
# when they could run up to 16 steps ahead; but the further ahead, the less
# each update was worth (lesson 05 comes back to this trade-off).

# %% [markdown]
# ## 2. Transfer: bytes on the wire
#
# Now make messages slower. Each message's latency is drawn from an
# exponential law of mean L (`latency="exp:L"`: *jitter*, because real networks
# do not deliver every message in the same time), with exponential compute
# times of mean 1 s; for comparison, the same mean latency held constant.

# %%
print("  L    transfer per gradient: sync   async    async/sync with jitter   constant latency")
lead = {}
for L in (0.1, 0.3, 1.0):
    pairs = {law: {policy: asynclab.run(policy=policy, gradients=2000, eval_points=2,
                                        **{**settings, "latency": law})
                   for policy in ("sync", "async")} for law in (f"exp:{L}", L)}
    lead[L] = {law: pair["async"].summary.gradients_per_second
               / pair["sync"].summary.gradients_per_second for law, pair in pairs.items()}
    jitter = pairs[f"exp:{L}"]
    print(f"{L:4}  {per_gradient(jitter['sync'], 'transfer_fraction'):22.2f} s "
          f"{per_gradient(jitter['async'], 'transfer_fraction'):6.2f} s "
          f"{lead[L][f'exp:{L}']:17.2f}x {lead[L][L]:20.2f}x")
print("async's lead shrinks as latency grows:",
      lead[0.1]["exp:0.1"] > lead[0.3]["exp:0.3"] > lead[1.0]["exp:1.0"])

# %% [markdown]
# Transfer costs both policies the same, about 2L seconds per gradient: one
# pull and one push. Without overlap async does nothing about it. So as
# latency grows, the part async removes (waiting) becomes a smaller share of
# what a gradient costs, and async's lead shrinks. With constant latency
# the lead falls from 1.88x to 1.36x. Jitter keeps more of it (1.61x at
# L = 1): a random message time is one more random delay that the barrier
# waits out for the slowest worker, and async does not.

# %%
quiz.ask("03-bytes")

# %% [markdown]
# ## 3. Contention: a shared server link
#
# So far every worker had its own path to the server. In a real cluster the
# server's network link is shared: every push and every pull crosses it, one
# message at a time (`server_bandwidth=`, bytes per second). Take 8 workers with
# constant compute times of 1 s (so that the barrier alone costs nothing), no
# latency, and a server link that moves one 400-byte message in $s = 0.05$ s
# (8000 bytes per second) or 0.1 s (4000).
#
# After each barrier the 8 synchronous workers all pull at once, and a second
# later they all push at once: a burst that queues (*incast*). A synchronous
# step then takes $\max(2Ns,\ 1 + (N+1)s)$. Asynchronous workers spread their
# messages out and queue only when the link itself is full, at
# $\text{server\_bandwidth} / (2 \times 400 \text{ bytes})$ gradients per second.

# %%
link = dict(settings, workers=8, compute="const:1", latency=0)
print("link (B/s)  policy  queueing   gradients/s   predicted (at most)   async/sync")
contention = {}
for bandwidth in (8000, 4000):
    s_msg = problem.nbytes / bandwidth
    predicted = {"sync": 8 / max(2 * 8 * s_msg, 1 + 9 * s_msg),
                 "async": min(8 / (1 + 2 * s_msg), bandwidth / (2 * problem.nbytes))}
    for policy in ("sync", "async"):
        contention[bandwidth, policy] = asynclab.run(
            policy=policy, gradients=2000, eval_points=2, server_bandwidth=bandwidth, **link)
    rates = {policy: contention[bandwidth, policy].summary.gradients_per_second
             for policy in ("sync", "async")}
    for policy in ("sync", "async"):
        queueing = contention[bandwidth, policy].summary.queue_fraction
        print(f"{bandwidth:10}  {policy:6} {queueing:9.1%} {rates[policy]:12.2f} "
              f"{predicted[policy]:14.2f}"
              + (f" {rates['async'] / rates['sync']:17.2f}x" if policy == "async" else ""))
print("with room on the link, sync queues and async hardly does:",
      contention[8000, "sync"].summary.queue_fraction
      > 3 * contention[8000, "async"].summary.queue_fraction)

# %% [markdown]
# At 8000 bytes per second the synchronous workers queue 12.1% of the time and
# deliver 5.52 gradients per second, as predicted; the asynchronous ones
# queue 3.9% and deliver 6.98, close to their ceiling of 7.27. Async gains
# 1.27x with constant compute times, where the barrier alone cost nothing:
# that gain is contention avoided. At 4000 bytes per second the link itself
# is the bottleneck (5 gradients per second at most): async queues too, 25.0%
# of the time, and no policy moves more bytes than the link carries.
#
# The first seconds of the 8000 bytes per second runs; vermillion is
# queueing for the link:

# %%
for policy in ("sync", "async"):
    plots.timeline(contention[8000, policy], window=(0, 6))
    plt.show()

# %% [markdown]
# The synchronous workers queue at every step, for their pulls after the
# barrier and again for their pushes. The asynchronous ones queue only at
# first, when all 8 start at the same moment; after a few gradients their
# messages are spread out and pass the link one by one.

# %% [markdown]
# ## 4. Overlap: hiding transfer behind computation
#
# Downpour SGD's workers did not wait for their messages: they pushed and
# fetched in the background while computing (Dean et al. 2012, Section 4.1).
# With `overlap=True` an asynchronous worker hands each push to a background
# sender and starts its next gradient at once, on the parameters it holds.
# With compute time c and message time m, a worker then delivers a gradient
# every $\max(c, 2m)$ seconds instead of every $c + 2m$. A synchronous worker
# cannot do this: it needs the step's averaged parameters before it can start.
#
# Constant compute times of 1 s and 0.25 s per message:

# %%
hide = dict(settings, compute="const:1", latency=0.25)
hidden = {"sync": asynclab.run(policy="sync", gradients=1000, eval_points=2, **hide),
          "async": asynclab.run(policy="async", gradients=1000, eval_points=2, **hide),
          "async + overlap": asynclab.run(policy="async", overlap=True, gradients=1000,
                                          eval_points=2, **hide)}
print("policy            gradients/s   transfer   hidden   mean staleness")
for name, r in hidden.items():
    s = r.summary
    print(f"{name:16} {s.gradients_per_second:11.2f} {s.transfer_fraction:10.1%} "
          f"{s.overlap_fraction:8.1%} {s.mean_staleness:12.2f}")
overlap_gain = (hidden["async + overlap"].summary.gradients_per_second
                / hidden["async"].summary.gradients_per_second)
print(f"overlap gains {overlap_gain:.2f}x (predicted (1 + 0.5) / max(1, 0.5) = 1.50x)")

# %% [markdown]
# Without overlap, async ties with sync here (constant compute times, as in
# part 1): both deliver 2.67 gradients per second and spend a third of the
# time on the wire. With overlap the transfer leaves the workers' time (0.1%
# is left) and shows up as *hidden* communication, 49.6% of the time: async
# gains 1.50x even with constant compute times. The price: a worker computes
# each gradient on parameters fetched one of its gradients earlier, so the
# other workers' updates in between are missed too, and the mean staleness
# rises from 2.99 to 6.97 updates (lesson 04 measures what staleness costs).

# %%
quiz.ask("03-overlap")

# %% [markdown]
# ## The race, fairly
#
# Which reaches a loss of 0.31 first? A fair race gives each policy **its own
# best learning rate**: synchronous SGD averages 4 gradients per step and
# tolerates a larger rate than asynchronous SGD, whose gradients are stale.
# So we tune each one (`asynclab.tune`, through `compare(..., tune=True)`) over
# a grid of six rates, 5 seeds each, on the setting of the timelines above.

# %%
race = asynclab.Config(problem=problem, workers=4, compute="exp:1", latency=0.05,
                       gradients=600, target_loss=0.31, eval_points=200)
tuned = asynclab.compare(["sync", "async"], race, seeds=5, tune=True,
                         lrs=[0.1, 0.2, 0.5, 1, 2, 5], jobs=2)
for runs_of_policy in tuned.values():
    print(runs_of_policy.tuning)
    print()
best = {name: t.config.lr for name, t in tuned.items()}
print("best rates:", best, "; one at the edge of the grid:",
      any(t.tuning.at_edge for t in tuned.values()))
print("median time to the target at the best rate, seeds 0-4:", ", ".join(
    f"{name} {np.median([r.summary.time_to_target for r in t.results]):.1f} s"
    for name, t in tuned.items()))

# %% [markdown]
# The best rates differ by a factor of four, as the batches of an update do.
# Picking the best of six rates on the same seeds flatters each policy a
# little, so run the race itself on 10 fresh seeds, each policy at its tuned
# rate:

# %%
fresh_seeds = list(range(5, 15))
fresh = asynclab.run_many([race.replace(policy=name, lr=lr) for name, lr in best.items()],
                          seeds=fresh_seeds)
times = {"sync": [r.summary.time_to_target for r in fresh[:10]],
         "async": [r.summary.time_to_target for r in fresh[10:]]}
estimates = {name: asynclab.stats.estimate(t) for name, t in times.items()}
for name, e in estimates.items():
    print(f"{name:5} at lr {best[name]:g}: time to loss 0.31, mean {e.mean:.1f} s, "
          f"95% CI [{e.low:.1f}, {e.high:.1f}]")
# A seed gives both policies the same minibatches and compute times: compare seed by seed.
sooner = asynclab.stats.estimate([s - a for s, a in zip(times["sync"], times["async"])])
per_seed = asynclab.stats.estimate([np.log(s / a) for s, a in zip(times["sync"], times["async"])])
print(f"async is sooner by {sooner.mean:.1f} s, 95% CI [{sooner.low:.1f}, {sooner.high:.1f}]; "
      f"ratio of the means {estimates['sync'].mean / estimates['async'].mean:.2f}x; "
      f"per seed {np.exp(per_seed.mean):.2f}x, 95% CI [{np.exp(per_seed.low):.2f}, "
      f"{np.exp(per_seed.high):.2f}]")
print("the difference is beyond its 95% interval (the interval excludes 0):", sooner.low > 0)
print("the two policies' intervals do not overlap:",
      estimates["sync"].low > estimates["async"].high)

# %% [markdown]
# Async reaches the target about twice as soon, and the difference is well
# beyond its confidence interval. Not "several times" sooner: 1.96x.
#
# Watch the first fresh seed unfold: press **Play**, or drag the time slider.
# Both timelines and both loss curves advance on the same clock; the dots on
# the target line mark when each run reaches it.

# %%
sync_run, async_run = fresh[0], fresh[10]
duel = replay(sync_run, async_run, target_loss=0.31, time=async_run.history.time_to(0.31))
duel

# %% [markdown]
# In code, the state at any moment: here, when the synchronous run reaches
# the target.

# %%
duel.show_time(sync_run.history.time_to(0.31))
print(duel.text())
for r in (sync_run, async_run):
    s = r.summary
    print(f"{s.policy:5}: idle {s.idle_fraction:.1%} over the whole run (its timeline's title "
          f"rounds it to {s.idle_fraction:.0%}): {waited(r):.1%} at a barrier, {tail(r):.1%} "
          f"at the end; {r.history.updates_to(0.31)} updates, "
          f"{r.history.gradients[r.history.reached(0.31)]} gradients to the target")

# %% [markdown]
# Two measures of idleness sit on this figure. The status line's "waited"
# counts time at a barrier or in a queue up to the slider's time; the
# timeline titles count idle time over the whole run, including its end,
# when finished workers wait for the last gradient. For async they differ
# only by that end: 0.0% waited, and the title's 1% is all tail.
#
# Note that async needed *more* gradients to reach the target than sync, each
# applied on its own and stale. It wins because it delivers them twice as fast.

# %% [markdown]
# ## What is the main benefit?

# %%
quiz.ask("03-main-benefit")

# %% [markdown]
# The first option is what parts 1 to 4 measured. Each of the others is a
# claim we can test too.
#
# **Memory.** Does asynchrony reduce memory? Measure it on real threads: the
# peak memory a whole run allocates (the server and 4 workers in one process,
# traced with Python's `tracemalloc`), on a sparse logistic regression with
# 250,000 weights, whose parameter vectors (2 MB each) dominate.

# %%
# NBVAL_IGNORE_OUTPUT
wide = asynclab.SparseLogistic(features=250_000, examples=1000)
wide.loss(wide.initial_params())                     # build its data before measuring


def peak_memory(policy):
    """Peak bytes a thread run allocates beyond what existed when it started."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    asynclab.run(problem=wide, policy=policy, backend="thread", workers=4, gradients=40,
                 lr=0.1, eval_points=2)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


memory = {policy: peak_memory(policy) for policy in ("sync", "async")}
for policy, peak in memory.items():
    print(f"{policy:5}: peak {peak / 1e6:.1f} MB, {peak / wide.nbytes:.1f} parameter vectors")

# %%
print(f"({wide.features:,} weights: {wide.nbytes / 1e6:.0f} MB per parameter vector)")
print("async uses no less memory than sync (at least 90% of it):",
      memory["async"] >= 0.9 * memory["sync"])

# %% [markdown]
# No saving. Under either policy every worker holds what a gradient needs:
# the parameters it read, its minibatch and its gradient. On threads the
# workers share the server's arrays: synchronous workers all read the same
# version of the parameters, asynchronous ones each a different version, which
# stays in memory until their gradient is done. So async's peak is, if
# anything, higher. (The synchronous server keeps one extra vector, the
# running sum of the step's gradients.)
#
# **Input processing speed.** Async's gradients per second, and so its
# examples per second, do double (32 examples per gradient, the runs of
# "Where the time goes"):

# %%
for name, r in runs.items():
    print(f"{name:6}: {r.summary.gradients_per_second * 32:.0f} examples per second")

# %% [markdown]
# Is each example processed faster? The simulator cannot tell us: it draws
# every compute time from the same law under both policies. Real threads
# can. An MLP on the digits (a real workload, 512 examples per gradient),
# 2 workers, the second one 3 times slower (`speeds=(1, 3)`), 200 gradients per
# policy; we time every gradient of the fast worker.

# %%
# NBVAL_IGNORE_OUTPUT
digits = asynclab.MLP(dataset="digits", hidden=(128,))
seconds = {}
for policy in ("sync", "async"):
    r = asynclab.run(problem=digits, policy=policy, backend="thread", workers=2, speeds=(1, 3),
                     gradients=200, batch=512, lr=0.1, eval_points=2)
    seconds[policy] = [e.duration for e in r.trace.of_kind("compute") if e.worker == 0]
    print(f"{policy:5}: the fast worker computed {len(seconds[policy])} of the 200 gradients, "
          f"in a median {np.median(seconds[policy]) * 1e3:.2f} ms each")

# %%
print("async does not compute a gradient faster (its median at least 70% of sync's):",
      np.median(seconds["async"]) >= 0.7 * np.median(seconds["sync"]))
print("under sync the fast worker computed half the gradients, under async more:",
      len(seconds["sync"]) == 100 < len(seconds["async"]))

# %% [markdown]
# A gradient takes no less time under async: nobody processes examples
# faster. (On a busy machine it can even take longer: async keeps both
# workers computing more of the time, and they compete for the cores.) Async
# gets more gradients per second because the fast worker no longer waits for
# the slow one at every step, so it computes most of them.
#
# **Model complexity.** The policy decides *when* the server applies a
# gradient; the model decides *what* a gradient is. Neither touches the
# other: any model can be trained under either policy, and no policy adds a
# weight or a layer. The same two policies on a second model, the MLP on the
# digits (64 hidden units, 800 gradients, the same cluster):

# %%
mlp = asynclab.MLP(dataset="digits", hidden=(64,))
for policy, lr in (("sync", 0.4), ("async", 0.1)):
    r = asynclab.run(policy=policy, gradients=800, eval_points=5,
                     **{**settings, "problem": mlp, "lr": lr})
    print(f"{policy:5}: {r.params.size} weights, held-out accuracy "
          f"{r.summary.final_accuracy:.3f}, {r.summary.gradients_per_second:.2f} gradients "
          f"per second")

# %% [markdown]
# Both train the same 4810-weight network to about the same accuracy, and
# async delivers gradients faster here too, because the waiting it removes
# belongs to the cluster, not to the model. Saved time may let you *afford*
# a bigger model, but so would any other saving; the policy does not make
# the model more complex.
#
# So the answer is the first option: **managing communication overhead**.
# Asynchronous updates remove the waiting at the barrier (synchronisation),
# avoid the bursts at the server's link (contention), and let workers hide
# their messages behind computation (overlap). They do not make a message
# smaller or faster (transfer).

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
# settings stays in grey. Try constant compute times (sync and async tie
# without overlap), stragglers (sync suffers, async shrugs), many workers,
# high latency, or `ssp` with a staleness bound S between the two extremes.

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
# - Communication overhead has parts, and asynchrony acts on some of them:
#   - **synchronisation**: async removes the waiting at the barrier. It gains
#     nothing when every gradient takes the same time (1.00x), and gains when
#     times vary (1.96x with exponential times, 1.80x with stragglers);
#   - **transfer**: each gradient costs one pull and one push under both
#     policies; as messages get slower, async's lead shrinks;
#   - **contention**: sync's bursts after each barrier queue at a shared
#     server link (incast); async's stream queues far less while the link
#     has room, but once the link itself is full async queues too (here
#     more than sync);
#   - **overlap**: async workers can hide their messages behind computation
#     (1.50x even with constant compute times), at the price of staleness.
# - Fairly compared (tuned rates, 10 fresh seeds, 95% intervals), async
#   reaches the target loss about twice as soon here (1.96x), not several
#   times sooner.
# - The main benefit is **managing communication overhead**. Memory is not
#   reduced, the model is untouched, and each example is processed no
#   faster: we tested all three.
# - The price: gradients are computed on stale weights.
#
# Next: **04 · The price of asynchrony**.
