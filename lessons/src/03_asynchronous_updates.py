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
#    and say how much of it overlap hides, for either policy, measuring each on runs
#    (and overlap on real threads too);
# 3. answer the course's question with an ablation: which of these parts gives
#    asynchrony its lead, each policy at its tuned learning rate and momentum,
#    reported on fresh seeds with 95% confidence intervals;
# 4. predict when asynchrony loses (equal compute times, the workers' own links), when
#    it delivers more gradients per second but reaches the target no sooner (a shared
#    link or overlap on their own), and when it wins (variable compute times);
# 5. test three other claims about asynchrony (memory, model complexity, input speed)
#    by measurement.
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
from asynclab.runs import Paired
from asynclab.stats import paired_ratio

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
# So what is the "communication overhead" of the course's question? In its
# sense, everything a worker spends not computing because it must exchange
# something with the others. Waiting at the barrier is part of it: a barrier
# *is* communication, the moment when every worker must hear that all the
# others are done. We take it apart and measure each part in turn:
#
# 1. **synchronisation**: waiting for the others (the barrier);
# 2. **transfer**: the bytes on the wire, $\text{latency} + \text{size} / \text{bandwidth}$ per message;
# 3. **contention**: queueing when many messages share one link;
# 4. **overlap**: how much of the transfer each policy can hide behind computation.
#
# Then an ablation measures which of them gives asynchrony its lead in a fair race.

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
    pairs = {law: {policy: asynclab.run(policy=policy, gradients=1000, eval_points=2,
                                        **{**settings, "latency": law})
                   for policy in ("sync", "async")} for law in (f"exp:{L}", L)}
    lead[L] = {law: pair["async"].summary.gradients_per_second
               / pair["sync"].summary.gradients_per_second for law, pair in pairs.items()}
    jitter = pairs[f"exp:{L}"]
    print(f"{L:4}  {per_gradient(jitter['sync'], 'transfer_fraction'):22.2f} s "
          f"{per_gradient(jitter['async'], 'transfer_fraction'):6.2f} s "
          f"{lead[L][f'exp:{L}']:17.2f}x {lead[L][L]:20.2f}x")
print("async's lead shrinks as latency grows:",
      lead[0.1]["exp:0.1"] > lead[0.3]["exp:0.3"] > lead[1.0]["exp:1.0"],
      lead[0.1][0.1] > lead[0.3][0.3] > lead[1.0][1.0])

# %% [markdown]
# Transfer costs both policies the same, about 2L seconds per gradient: one
# pull and one push. Without overlap async does nothing about it. So as
# latency grows, the part async removes (waiting) becomes a smaller share of
# what a gradient costs, and async's lead shrinks. With constant latency
# the lead falls from 1.93x to 1.37x. Jitter keeps more of it (1.62x at
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
# After each barrier the 8 synchronous workers all ask for the new
# parameters at once: 8 pulls crowd onto one link (the course calls such a
# burst *incast*, after the network term for many senders converging on one
# receiver's link), and they leave one after another, $s$ apart. The last
# worker starts computing $7s$ late, and a synchronous step takes
# $\max(2Ns,\ 1 + (N+1)s)$. Asynchronous workers start together too, but
# nothing brings them back together after that: they queue mostly when the
# link itself is full, at
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
# queue 3.9% and deliver 6.98, close to their ceiling of 7.27. Async delivers
# 1.27x the gradients per second with constant compute times, where the
# barrier alone cost nothing: that gain is contention avoided. (Whether it
# also reaches a target sooner, with stale gradients, is the ablation's
# question below.) At 4000 bytes per second the link itself
# is the bottleneck (5 gradients per second at most): async queues too, 25.0%
# of the time, and no policy moves more bytes than the link carries.
#
# Which messages queue? The trace records each wait for the link, and the
# message that follows it:

# %%
def queued_before(r):
    """Share of worker time spent queueing for the link just before a pull, and
    just before a push: {"pull": share, "push": share}."""
    events = sorted(r.trace.events, key=lambda e: (e.worker, e.start, e.end))
    seconds = {"pull": 0.0, "push": 0.0}
    for a, b in zip(events, events[1:]):
        if a.worker == b.worker and a.kind == "queue" and b.kind in seconds:
            seconds[b.kind] += a.duration
    return {kind: t / (r.summary.workers * r.summary.time) for kind, t in seconds.items()}


queues = {key: queued_before(r) for key, r in contention.items()}
print("link (B/s)  policy  queueing before a pull   before a push")
for (bandwidth, policy), q in queues.items():
    print(f"{bandwidth:10}  {policy:6} {q['pull']:17.1%} {q['push']:15.1%}")
print("sync's queueing at 8000 B/s is all before its pulls:",
      queues[8000, "sync"]["push"] < 1e-6 < queues[8000, "sync"]["pull"])

# %% [markdown]
# The synchronous queue is all in front of the pulls (12.1% of the time, and
# 0.0% before a push). The pull queue staggers the workers: each starts
# computing $s$ after the one before it, so with equal compute times their
# pushes reach the link $s$ apart too, and pass it without queueing. The
# step waits for the last worker, the one that queued longest for its pull.
#
# The asynchronous workers' 3.9% is almost all before a pull too (3.8%),
# and it lasts the whole run: a worker pulls as soon as its push is through,
# and now and then finds the link carrying another worker's message. At
# 4000 bytes per second the link never rests, and asynchronous messages
# queue as much before a push (12.4%) as before a pull (12.5%).
#
# The first seconds of the 8000 bytes per second runs; vermillion is
# queueing for the link:

# %%
for policy in ("sync", "async"):
    plots.timeline(contention[8000, policy], window=(0, 6))
    plt.show()

# %%
quiz.ask("03-incast")

# %% [markdown]
# ## 4. Overlap: hiding transfer behind computation
#
# Both policies can communicate while they compute, each in its own way.
#
# - **Async**, as Downpour SGD's workers did (Dean et al. 2012, Section 4.1):
#   with `overlap=True` a worker hands each push to a background sender and
#   starts its next gradient at once, on the parameters it holds; the sender
#   then fetches the newest parameters for the gradient after. With compute
#   time c and message time m a worker delivers a gradient every
#   $\max(c, 2m)$ seconds instead of every $c + 2m$.
# - **Sync**, as PyTorch's DistributedDataParallel (Li et al. 2020): a
#   gradient is computed by a forward pass $f$ and then a backward pass
#   $b$ (about $2c/3$), which produces the gradient layer by layer, last
#   layer first. With `overlap=True, buckets=K` the gradient is sent in K
#   parts, each as soon as the backward pass has produced it. Only the last
#   part, $\pi = \text{latency} + S/(K \cdot \text{bandwidth})$, is left to send when
#   the computation ends (as long as $\pi \le b/K$). The pull cannot be hidden:
#   the next forward pass needs the step's averaged parameters. A step takes
#   $f + \max(b + \pi,\ b/K + K\pi) + m$ instead of $c + 2m$.
#
# Four workers, constant compute times of 20 ms, and 10 ms per message
# (1 ms of latency, 9 ms for the 400 bytes), 400 gradients:

# %%
S = problem.nbytes
c, latency, m = 0.02, 0.001, 0.01                 # seconds per gradient; per message
K = 4                                             # buckets
f, b = c / 3, 2 * c / 3                           # forward and backward pass
part = latency + (m - latency) / K                # one bucket: its latency, a quarter of the bytes
fast = dict(problem=problem, workers=4, lr=0.5, seed=0, compute=f"const:{c}", latency=latency,
            bandwidth=S / (m - latency), eval_points=2)
variants = {"sync": dict(policy="sync"),
            "sync + 4 buckets": dict(policy="sync", overlap=True, buckets=K),
            "async": dict(policy="async"),
            "async + overlap": dict(policy="async", overlap=True)}
predicted = {"sync": c + 2 * m, "sync + 4 buckets": f + max(b + part, b / K + K * part) + m,
             "async": c + 2 * m, "async + overlap": max(c, 2 * m)}
hidden = {name: asynclab.run(gradients=400, **fast, **change) for name, change in variants.items()}
print("policy            ms per gradient  predicted   transfer   hidden   mean staleness")
for name, r in hidden.items():
    s = r.summary
    print(f"{name:16} {1e3 * s.time * s.workers / s.gradients:12.2f} {1e3 * predicted[name]:11.2f} "
          f"{s.transfer_fraction:10.1%} {s.overlap_fraction:8.1%} {s.mean_staleness:12.2f}")
speedup = {name: hidden[plain].summary.time / hidden[name].summary.time
           for name, plain in (("sync + 4 buckets", "sync"), ("async + overlap", "async"))}
print("overlap gains:", ", ".join(f"{name} {x:.2f}x" for name, x in speedup.items()))

# %% [markdown]
# Both policies hide transfer, as predicted: sync runs 1.20x faster with
# buckets, async 1.98x with its background sender. Async hides more because
# it hides the pull too: a synchronous worker must wait for the averaged
# parameters before its next forward pass, an asynchronous one computes on
# the parameters it holds. The
# price is in the last column: each gradient is computed on parameters
# fetched one of its gradients earlier, so it misses about 4 more updates
# (2.98 to 6.93; lesson 04 measures what staleness costs). Sync's buckets
# cost nothing of the kind: the same gradients, the same parameters, only
# sent earlier.
#
# The simulator is a model. Does it predict real workers? The same four
# Configs on real threads, with the 20 ms of compute injected as a sleep
# (`delay`), and the latency and bandwidth injected on each message, 80
# gradients each, beside the simulator's prediction for the same 80:

# %%
# NBVAL_IGNORE_OUTPUT
real_time, real_over_simulated = {}, {}
print("policy            simulated s   real s   real/simulated   hidden: real   simulated")
for name, change in variants.items():
    config = asynclab.Config(gradients=80, delay=f"const:{c}", **fast, **change)
    simulated = asynclab.run(config).summary
    real = asynclab.run(config, backend="thread").summary
    real_time[name], real_over_simulated[name] = real.time, real.time / simulated.time
    print(f"{name:16} {simulated.time:11.3f} {real.time:9.3f} {real.time / simulated.time:13.2f}"
          f" {real.overlap_fraction:15.0%} {simulated.overlap_fraction:11.0%}")

# %%
print("real within 0.9-2x of simulated, for all four:",
      all(0.9 <= x <= 2 for x in real_over_simulated.values()))
print("on real threads, overlap makes both policies faster:",
      real_time["sync + 4 buckets"] < real_time["sync"]
      and real_time["async + overlap"] < real_time["async"])
print("and async gains more from it than sync, as predicted:",
      real_time["async"] / real_time["async + overlap"]
      > real_time["sync"] / real_time["sync + 4 buckets"])

# %% [markdown]
# Real threads run a little slower than the model (the gradient's own
# arithmetic, thread switches and a busy machine add to the injected
# times), but overlap makes both policies faster on them too, async by more,
# as the simulator predicted.

# %%
quiz.ask("03-overlap")

# %% [markdown]
# ## Which part gives asynchrony its lead? An ablation
#
# Now race to a loss of 0.32, and add the parts one at a time. The baseline
# (row 1): 4 workers, constant compute times of 1 s, each with its own link
# (5 ms of latency, 0.1 s for the 400 bytes of a message). Rows 2-4 each
# change one thing of row 1: exponential compute times of mean 1 s; every
# message also crossing the server's one link, as fast as a worker's; overlap
# for both policies (sync in 4 buckets). Row 5 changes all three.
#
# Every row is a fair race. Each policy gets **its own** learning rate and
# momentum, tuned together on seeds 0-4 over a grid around its best (sync
# averages 4 gradients per update and takes a larger rate than async, whose
# gradients are stale): `compare(..., tune=True)` runs `asynclab.tune`, every
# pair of the grid with every seed. The chosen pair is then run again on
# **fresh** seeds 5-24: the best of a grid on the seeds that chose it is
# flattered, and the differences to find here are small enough to need
# twenty seeds. A seed gives both policies the same minibatches and compute
# times, so we compare them seed by seed: the ratio of async's time to
# sync's, its geometric mean and its 95% interval (`asynclab.runs.Paired`).
# Below 1, async is sooner.

# %%
baseline = asynclab.Config(problem=problem, workers=4, gradients=160, eval_points=40,
                           target_loss=0.32, compute="const:1", latency=0.005,
                           bandwidth=S / 0.1)
SYNC_LRS, ASYNC_LRS, MOMENTA = [1, 2, 4], [0.125, 0.25, 0.5, 1], [0, 0.5, 0.9]


def race(change):
    """Sync and async on the baseline with ``change``, each with its rate and momentum
    tuned on seeds 0-4 and reported on seeds 5-24: {policy: Runs}."""
    setting = baseline.replace(**change)
    buckets = dict(buckets=4) if setting.overlap else {}        # sync overlaps in buckets
    return {policy: asynclab.compare([policy], setting.replace(policy=policy, **extra),
                                     tune=True, lrs=lrs, momenta=MOMENTA, seeds=5,
                                     report_seeds=20)[policy]
            for policy, lrs, extra in (("sync", SYNC_LRS, buckets), ("async", ASYNC_LRS, {}))}


all_three = dict(compute="exp:1", server_bandwidth=S / 0.1, overlap=True)
rows = {"1 constant compute, own links": {},
        "2 variable compute (exp:1)": dict(compute="exp:1"),
        "3 a shared server link": dict(server_bandwidth=S / 0.1),
        "4 overlap for both": dict(overlap=True),
        "5 all three": all_three}
ablation = {name: race(change) for name, change in rows.items()}
paired = {name[0]: Paired.of(pair["async"], pair["sync"], "time_to_target")
          for name, pair in ablation.items()}


def interval(e, digits):
    """An Estimate as ``mean [low, high]``."""
    return f"{e.mean:.{digits}f} [{e.low:.{digits}f}, {e.high:.{digits}f}]"


print("                                 sync          async         time to loss 0.32, s"
      "                    async / sync")
print("row                             lr  momentum  lr  momentum  sync               async"
      "              time, 95% CI")
for name, pair in ablation.items():
    sync, asyn = pair["sync"], pair["async"]
    print(f"{name:30} {sync.config.lr:3g} {sync.config.momentum:6g} {asyn.config.lr:8g} "
          f"{asyn.config.momentum:6g}  {interval(sync.summary['time_to_target'], 1):18} "
          f"{interval(asyn.summary['time_to_target'], 1):18} "
          f"{interval(paired[name[0]].ratio, 2)}")
print(f"tuned on seeds {sync.tuning.seeds[0]}-{sync.tuning.seeds[-1]}, reported on seeds "
      f"{sync.seeds[0]}-{sync.seeds[-1]}; every seed reached the target:",
      not any(p.left_out for p in paired.values()))
print("no best rate or momentum at the edge of its grid:",
      not any(r.tuning.at_edge for pair in ablation.values() for r in pair.values()))

# %% [markdown]
# Why these verdicts? Async's time over sync's is the gradients it needs to
# reach the target over the gradients it delivers per second. The next table
# splits each row that way, with the mean staleness of async's gradients, and
# adds the same race with momentum held at 0 for both (each policy at its best
# rate at momentum 0 on the same tuning runs, then on the same fresh seeds).

# %%
def gradients_needed(runs):
    """Each seed's gradients (all workers together) until its loss first reached 0.32."""
    return [r.history.gradients[r.history.reached(0.32)] for r in runs.results]


def at_momentum_zero(runs):
    """The best rate at momentum 0 among the tuning runs, run again on the report seeds."""
    best = min((row for row in runs.tuning.rows if row.momentum == 0),
               key=lambda row: row.rank_key())
    config = runs.config.replace(lr=best.lr, momentum=0)
    return asynclab.compare([runs.policy], config, seeds=list(runs.seeds))[runs.policy]


needed, rate, zero = {}, {}, {}
print(f"{'async / sync, seeds 5-24':30} {'gradients needed':20} {'gradients/s':>11} "
      f"{'staleness':>10}   time at momentum 0")
for name, pair in ablation.items():
    sync, asyn, row = pair["sync"], pair["async"], name[0]
    needed[row] = paired_ratio(gradients_needed(asyn), gradients_needed(sync))
    rate[row] = (asyn.summary["gradients_per_second"].mean
                 / sync.summary["gradients_per_second"].mean)
    zero[row] = Paired.of(at_momentum_zero(asyn), at_momentum_zero(sync), "time_to_target")
    print(f"{name:30} {interval(needed[row], 2):20} {rate[row]:10.2f}x "
          f"{asyn.summary['mean_staleness'].mean:10.2f}   {interval(zero[row].ratio, 2)}")
ratio = {row: p.ratio for row, p in paired.items()}
print("time ratio = gradients needed / gradients per second, within 5% in every row:",
      all(abs(ratio[r].mean * rate[r] / needed[r].mean - 1) < 0.05 for r in ratio))

# %%
print("row 1, equal compute times: async later, the whole interval above 1:",
      ratio["1"].low > 1)
print("rows 2 and 5, variable compute times: async sooner, the whole interval below 1:",
      ratio["2"].high < 1 and ratio["5"].high < 1)
print("row 5's interval overlaps row 2's:", ratio["5"].high > ratio["2"].low)
print("rows 3 and 4: async delivers over 10% more gradients per second, yet its interval "
      "holds 1:", all(rate[r] > 1.1 and ratio[r].low < 1 < ratio[r].high for r in "34"))
print("async needs over 10% more gradients than sync in every row (mean ratio):",
      all(n.mean > 1.1 for n in needed.values()))
print("at momentum 0 for both, rows 3 and 4 would credit async (whole interval below 1):",
      all(zero[r].ratio.high < 1 for r in "34"))
print("every seed reached at momentum 0 too:", not any(z.left_out for z in zero.values()))

# %% [markdown]
# Read the tables row by row.
#
# 1. **Equal compute times, own links: async loses.** Both policies deliver
#    the same gradients per second (1.00x), but async needs 1.18 times as
#    many gradients, each applied alone and about 3 updates stale, so it
#    takes 1.18 [1.04, 1.34] of sync's time: the whole interval above 1.
# 2. **Variable compute times: synchronisation.** The barrier now waits for
#    the slowest of four at every step; async does not wait and delivers
#    1.84x the gradients per second. It still needs more of them (1.19x), but
#    reaches the target in 0.63 [0.55, 0.72] of sync's time. This is where
#    asynchrony's lead comes from.
# 3. **A shared server link: contention.** With equal compute times the
#    synchronous pulls queue after every barrier (part 3), and async's
#    messages do not come in bursts: 1.15x the gradients per second. But async
#    needs 1.18x the gradients, and reaches the target no sooner: 1.04
#    [0.92, 1.18], an interval that holds 1.
# 4. **Overlap for both.** Sync hides its push in buckets, async its push
#    *and* its pull: 1.13x the gradients per second, but async's gradients
#    are staler still (6.83 updates against 2.96), and it reaches the target
#    no sooner: 1.03 [0.88, 1.20].
# 5. **All three together:** 0.51 [0.45, 0.58] of sync's time. Its interval
#    overlaps row 2's: on top of variable compute times, the shared link and
#    overlap add little that twenty seeds can see.
#
# The split says why. Stale gradients make async need 1.13 to 1.19 times
# as many as sync in every row; it wins only where it delivers far more of
# them per second, and on this problem only uneven compute times make that
# much difference.
#
# The last column is a warning. With momentum held at 0 for both, rows 3
# and 4 would have credited async with a lead, 0.89 [0.86, 0.92] and 0.83
# [0.78, 0.89], and row 1 would have been a tie. Momentum speeds up sync's
# few large averaged steps more than it helps async, whose staleness already
# acts like momentum (lesson 10 measures it). A comparison that does not
# tune momentum flatters asynchrony.
#
# So asynchronous updates win by managing one part of the communication
# overhead above all: the waiting at the barrier, when compute times vary.
# Avoiding the bursts at a shared link and hiding the pull raise their
# gradients per second too, but gains of 1.13x to 1.15x do not pay here for
# stale gradients. What asynchrony does not remove is the transfer itself:
# each gradient still costs a pull and a push, and with overlap sync hides
# its transfer too (part 4).

# %% [markdown]
# How `tune` chose row 5's settings: every rate and momentum with every
# tuning seed, the geometric mean time to the target and its 95% interval.

# %%
for r in ablation["5 all three"].values():
    print(r.tuning)
    print()

# %% [markdown]
# On the tuning seeds momentum 0.5 helps sync (30.08 s at rate 2, against
# 40.56 s without) and async hardly (15.52 s at rate 0.25, against 16.28 s at
# rate 0.5 without); momentum 0.9 reaches the target on no seed within the
# budget, for either policy.
#
# Watch row 2's first fresh seed unfold: press **Play**, or drag the time
# slider. Both timelines and both loss curves advance on the same clock; the
# dots on the target line mark when each run reaches it.

# %%
sync_run, async_run = (ablation["2 variable compute (exp:1)"][policy].results[0]
                       for policy in ("sync", "async"))
duel = replay(sync_run, async_run, target_loss=0.32, time=async_run.history.time_to(0.32))
duel

# %% [markdown]
# In code, the state at any moment: here, when the synchronous run reaches
# the target.

# %%
duel.show_time(sync_run.history.time_to(0.32))
print(duel.text())
for r in (sync_run, async_run):
    s = r.summary
    print(f"{s.policy:5} (seed {s.seed}): idle {s.idle_fraction:.1%} over the whole run (its "
          f"timeline's title rounds it to {s.idle_fraction:.0%}): {waited(r):.1%} at a barrier, "
          f"{tail(r):.1%} at the end; {r.history.updates_to(0.32)} updates, "
          f"{r.history.gradients[r.history.reached(0.32)]} gradients to the target")

# %% [markdown]
# Two measures of idleness sit on this figure. The status line's "waited"
# counts time at a barrier or in a queue up to the slider's time; the
# timeline titles count idle time over the whole run, including its end,
# when finished workers wait for the last gradient.
#
# Note that async needed *more* gradients to reach the target than sync on
# this seed (52 against 40), each applied on its own and stale. It wins
# because it delivers them faster.

# %% [markdown]
# ## What is the main benefit?

# %%
quiz.ask("03-main-benefit")

# %% [markdown]
# The first option is what parts 1 to 4 and the ablation measured. Each of
# the others is a claim we can test too.
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
# 2 workers, the second one 3 times slower (`speeds=(1, 3)`), three rounds of
# 50 gradients per policy, the policies taking turns (so that a busy moment
# on the machine slows both); we time every gradient of the fast worker.

# %%
# NBVAL_IGNORE_OUTPUT
digits = asynclab.MLP(dataset="digits", hidden=(128,))
seconds = {"sync": [], "async": []}
for _ in range(3):
    for policy in ("sync", "async"):
        r = asynclab.run(problem=digits, policy=policy, backend="thread", workers=2,
                         speeds=(1, 3), gradients=50, batch=512, lr=0.1, eval_points=2)
        seconds[policy] += [e.duration for e in r.trace.of_kind("compute") if e.worker == 0]
for policy, times in seconds.items():
    print(f"{policy:5}: the fast worker computed {len(times)} of the 150 gradients, "
          f"in a median {np.median(times) * 1e3:.2f} ms each "
          f"(10th percentile {np.percentile(times, 10) * 1e3:.2f} ms)")

# %%
# Other programs on the machine only ever add time to a gradient: the 10th
# percentile is its time when little interrupted it.
per_gradient = np.percentile(seconds["async"], 10) / np.percentile(seconds["sync"], 10)
print("a gradient takes about as long under async (10th percentile within 0.7-1.4x of sync's):",
      0.7 <= per_gradient <= 1.4)
print("under sync the fast worker computed half the gradients, under async more:",
      len(seconds["sync"]) == 75 < len(seconds["async"]))

# %% [markdown]
# A gradient takes about as long under async as under sync: nobody
# processes examples much faster, and certainly not twice as fast. Async
# gets more gradients per second because the fast worker no longer waits for
# the slow one at every step, so it computes most of them.
#
# **Model complexity.** What a model can represent is set by its form: here
# the same 50 weights and the same logistic function under both policies.
# If asynchrony added to it, async would fit the data better than sync, and
# reach a higher held-out accuracy. As a yardstick, fit the model fully by
# hand (full-batch gradient descent to the minimum of the training loss, as
# in lesson 01). Then train the ablation's row 5 longer: each policy at its
# tuned rate and momentum, 800 gradients (five times the race's budget), on
# the fresh seeds 5-24, compared seed by seed. The validation set is held
# out from training; the test set is looked at only here.

# %%
every_example = np.arange(problem.examples)
w = problem.initial_params()
for step in range(1000):
    w = w - 4 * problem.gradient(w, every_example)
fitted = {part: problem.held_out(w, part)[1] for part in ("validation", "test")}
print(f"fully fitted, {w.size} weights: training loss {problem.loss(w):.4f}, validation "
      f"accuracy {fitted['validation']:.3f}, test accuracy {fitted['test']:.3f}")
longer = {policy: asynclab.compare([policy], tuned.config.replace(gradients=800),
                                   seeds=list(tuned.seeds))[policy]
          for policy, tuned in ablation["5 all three"].items()}
for policy, r in longer.items():
    s = r.summary
    print(f"{policy:5}: {r.results[0].params.size} weights; validation accuracy "
          f"{s['final_validation_accuracy']}, test accuracy {s['final_accuracy']} "
          f"(mean [95% CI], seeds {r.seeds[0]}-{r.seeds[-1]})")
for metric in ("final_validation_accuracy", "final_accuracy"):
    same = Paired.of(longer["async"], longer["sync"], metric).ratio
    print(f"seed-by-seed ratio async / sync: {same} ({metric}); holds 1, within ±2%:",
          same.low < 1 < same.high and 0.98 < same.low and same.high < 1.02)
print("both means below the fully fitted model's validation accuracy:",
      all(r.summary["final_validation_accuracy"].mean < fitted["validation"]
          for r in longer.values()))

# %% [markdown]
# Both policies end at the same accuracy: on the validation set 0.8812
# under sync and 0.8868 under async, a seed-by-seed ratio of 1.006 [0.996,
# 1.017], and the same on the test set. Both stay a little below the fully
# fitted model's 0.920 (SGD at a constant rate stops short of the minimum),
# and asynchrony does not lift them past it. It changes *when* the server
# applies a gradient, not *what* the model can represent. Saved time may let
# you afford a bigger model, but so would any other saving; the policy itself
# does not make the model more complex.
#
# So the answer is the first option: **managing communication overhead**.
# Asynchronous updates remove the waiting at the barrier (synchronisation):
# that is where their lead in time comes from, when compute times vary. They
# also avoid the bursts at a shared link (contention) and let workers compute
# while their messages travel, the pull included (overlap), which buys
# gradients per second but, on its own, did not buy time to the target
# here. They do not make a message smaller or faster (transfer), and where
# compute times are equal and links are the workers' own, they lose.

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

# %%
quiz.ask("03-where-async-wins")

# %% [markdown]
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
#   - **synchronisation**: async removes the waiting at the barrier. It
#     delivers no more gradients per second when every gradient takes the
#     same time (1.00x), and more when times vary (1.96x with exponential
#     times, 1.80x with stragglers);
#   - **transfer**: each gradient costs one pull and one push under both
#     policies; as messages get slower, async's lead shrinks;
#   - **contention**: at a shared server link the synchronous pulls after
#     each barrier queue (incast) and stagger the workers; async's stream
#     queues far less while the link has room, but once the link itself is
#     full async queues too;
#   - **overlap**: both policies can hide transfer, sync its push in buckets
#     (1.20x), async its push and its pull (1.98x), at the price of staleness.
# - The ablation, each policy at its tuned rate and momentum, reported on
#   20 fresh seeds: with equal compute times and own links async loses
#   (1.18 [1.04, 1.34] of sync's time); variable compute times give it its
#   lead (0.63 [0.55, 0.72]); a shared link or overlap alone raise its
#   gradients per second but not its time to the target (intervals holding
#   1); all three together 0.51 [0.45, 0.58]. Async needs more gradients
#   than sync in every row (stale ones): it wins only where it delivers many
#   more per second. Held at momentum 0, the race would have credited async
#   with contention and overlap too.
# - The main benefit is **managing communication overhead**, above all the
#   waiting at the barrier. Memory is not reduced, the model fits no better,
#   and each example is processed no faster: we tested all three.
# - The price: gradients are computed on stale weights.
#
# Next: **04 · The price of asynchrony**.
