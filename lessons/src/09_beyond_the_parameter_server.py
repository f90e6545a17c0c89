# %% [markdown]
# # 09 · Beyond the parameter server
#
# Every lesson so far sent gradients to one parameter server. On a real
# cluster that server is a machine with one network link, like the workers'.
# This lesson counts the bytes that cross it, watches them queue, and then
# tries the three ways out that practice uses: shard the server, average the
# gradients without any server (ring all-reduce), and hide the transfer behind
# computation (overlap). It ends with the two laws that say how far any of
# this can scale.
#
# **By the end of this lesson you will be able to**
#
# 1. compute the bytes a parameter server's link carries per synchronous step
#    ($N \cdot S$ in each direction) and recognise the queue they form (incast);
# 2. derive the time of a ring all-reduce, $2(N-1)\,(\text{latency} + S/(NB))$, check it
#    against the simulator, and explain why it stays nearly flat as N grows;
# 3. model a server sharded over k machines, and compare it with the ring;
# 4. measure how overlap hides transfer behind computation: async's
#    background sender, and gradient buckets for sync and the ring, with the
#    closed form that says when more buckets help and when they hurt;
# 5. say, from fair races (every policy with overlap where it pays, rate and
#    momentum tuned, fresh seeds, 95% intervals), where asynchrony wins
#    (uneven, straggling workers) and where it does not (even workers and
#    fast links with overlap), and where the ring wins (one server link);
# 6. tell strong from weak scaling, and predict with Amdahl's law how a serial
#    part caps a speedup.
#
# **Prerequisites:** lessons 02 (barriers, $H_N$, a message's latency plus size
# over bandwidth), 03 (asynchronous updates, the server's link, tuned
# comparisons) and 08 (speedup curves, the server's ceiling).
#
# **Time:** about 45 minutes.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.course import exercise, explore, quiz
from asynclab.plotstyle import readable_log_axis
from asynclab.runs import Paired

# %% [markdown]
# ## One link for everyone
#
# A message (one push or one pull of the weights, S bytes) over a link of
# bandwidth B takes $\text{latency} + S / B$. Give every machine the same link:
# each worker has one, and so has the server (`server_bandwidth=B`), which
# carries one message at a time.
#
# A synchronous step starts at a barrier: all N workers pull the new weights
# at once, compute, and push their gradients. All N pulls leave through the
# server's one link, and all N pushes come back through it: $N \cdot S$ bytes each
# way per step, whatever the workers' own links could do. A burst of
# messages converging on one link at the same moment is called **incast**;
# which of these bursts actually queues, the trace below shows.
#
# The model below has 1,000 weights ($S$ = 8,000 bytes); its links move one
# message in 0.05 s plus 1 ms of latency, and every gradient takes exactly 1 s
# to compute (`compute="const:1"`), so only communication differs between runs.

# %%
model = asynclab.LeastSquares(features=1000, examples=200)
S = model.nbytes                 # bytes of one message: the weights, 8 bytes each
B = S / 0.05                     # bytes per second of every link: 0.05 s per message
latency, c = 0.001, 1.0          # seconds per message; seconds per gradient
links = dict(problem=model, compute="const:1", bandwidth=B, latency=latency, eval_points=2)
print(f"S = {S:,} bytes, B = {B:,.0f} bytes per second, S / B = {S / B} s per message")

# %%
quiz.ask("09-ingress")

# %%
sizes = [2, 4, 8, 16, 32, 64]
steps = 4


def step_time(result):
    """Seconds per synchronous step (an update averages one gradient per worker)."""
    return result.summary.time / result.summary.updates


server = {n: asynclab.run(policy="sync", workers=n, gradients=n * steps, server_bandwidth=B,
                          **links) for n in sizes}
s = S / B
print("workers   server link busy per step   sync step   max(2Ns + latency, c + (N+1)s + 2 latency)")
for n, r in server.items():
    predicted = max(2 * n * s + latency, c + (n + 1) * s + 2 * latency)
    print(f"{n:6} {2 * n * s:20.2f} s {step_time(r):16.3f} s {predicted:24.3f} s")
print("every step as predicted:", all(
    np.isclose(step_time(r), max(2 * n * s + latency, c + (n + 1) * s + 2 * latency))
    for n, r in server.items()))

# %% [markdown]
# With few workers a step is one gradient plus the queue of messages
# behind it, $c + (N+1)\,s$. Once the queue of pulls alone, $(N - 1)\,s$, is longer
# than a gradient (beyond about 21 workers here), the link never rests and a
# step lasts as long as the link needs for $2N$ messages: every worker added
# makes every step longer by two message times.
#
# The timeline of 8 workers shows where the time goes: after each barrier
# the pulls leave through the link one after another, so the last worker
# queues (vermillion) for seven message times before it can start
# computing. The workers start staggered, their pushes arrive staggered and
# pass without queueing, and the step waits for the last one. With 64
# workers the link never rests, and pushes queue too:

# %%
plots.timeline(server[8], window=(0, 2 * step_time(server[8])))
plt.show()


def queued_before(r):
    """Share of worker time spent queueing for the link just before a pull, and
    just before a push: {"pull": share, "push": share}."""
    events = sorted(r.trace.events, key=lambda e: (e.worker, e.start, e.end))
    seconds = {"pull": 0.0, "push": 0.0}
    for a, b in zip(events, events[1:]):
        if a.worker == b.worker and a.kind == "queue" and b.kind in seconds:
            seconds[b.kind] += a.duration
    return {kind: t / (r.summary.workers * r.summary.time) for kind, t in seconds.items()}


for n in (8, 64):
    queue = queued_before(server[n])
    print(f"{n} workers: queueing for the server's link {server[n].summary.queue_fraction:.0%} "
          f"of the time, {queue['pull']:.0%} before a pull, {queue['push']:.0%} before a push")

# %% [markdown]
# ## The ring all-reduce
#
# Synchronous SGD only needs every worker to end a step with the *average* of
# all gradients. A **ring all-reduce** computes it with no server at all
# (Patarasuk & Yuan 2009 showed that it sends as few bytes per worker as any
# all-reduce can). The workers form a ring, and each cuts its gradient into
# N chunks of $S/N$ bytes:
#
# - **reduce-scatter**, $N - 1$ rounds: in each round every worker sends one
#   chunk to its right-hand neighbour, which adds it to its own copy of that
#   chunk. After $N - 1$ rounds each worker holds one chunk summed over all N
#   workers.
# - **all-gather**, $N - 1$ more rounds: the summed chunks travel once more
#   around the ring until every worker has all of them.
#
# Every worker sends on its own link in every round, so the links work in
# parallel, and no link carries more than $2(N-1)$ chunks of $S/N$ bytes per
# step: less than $2S$, however many workers there are. The ring reached deep
# learning through Baidu's implementation (Gibiansky 2017), which Horovod
# (Sergeev & Del Balso 2018) then adopted; it became a common way to run
# synchronous training.
# `policy="allreduce"` is synchronous SGD with a ring instead of a server:
# the same weights as `sync`, step for step; only the time differs.
#
# Before you measure it, write down how long it takes. A round lasts one
# message of $S/N$ bytes on a worker's link.

# %%
exercise.show("09-ring-time")

# %%
def ring_time(workers, nbytes, latency, bandwidth):
    ...  # seconds


outcome = exercise.check("09-ring-time", ring_time)

# %% [markdown]
# The checker runs the simulator for a few random clusters and compares your
# answer with each step's measured communication time. Once it agrees, run
# the ring beside the server:

# %%
ring = {n: asynclab.run(policy="allreduce", workers=n, gradients=n * steps, **links)
        for n in sizes}
print("workers   sync step (server)   ring step   c + 2(N-1)(latency + S/(N B))   of which latency")
for n in sizes:
    predicted = c + 2 * (n - 1) * (latency + S / (n * B))
    print(f"{n:6} {step_time(server[n]):16.3f} s {step_time(ring[n]):11.3f} s "
          f"{predicted:18.3f} s {2 * (n - 1) * latency:20.3f} s")
print("every ring step as predicted:", all(
    np.isclose(step_time(r), c + 2 * (n - 1) * (latency + S / (n * B))) for n, r in ring.items()))
print(f"from 2 to 64 workers: the server's step grows {step_time(server[64]) / step_time(server[2]):.1f}x, "
      f"the ring's {step_time(ring[64]) / step_time(ring[2]):.2f}x")
print("same weights as sync with the same seed:",
      np.allclose(ring[8].params, server[8].params, rtol=1e-12, atol=1e-12))

# %% [markdown]
# The ring's bandwidth term, $\frac{2(N-1)}{N} \cdot \frac{S}{B}$, tends to $2S/B$: it stays nearly
# flat. What grows is its latency term: $2(N-1)$ rounds, each paying the
# latency once, 0.126 s of its step at 64 workers. With many workers and small
# messages the latency term dominates, which is why MPI libraries choose
# their all-reduce algorithm by message size. MPICH (Thakur, Rabenseifner &
# Gropp 2005) uses recursive doubling for short messages, about $\log_2 N$
# rounds of the whole vector, and for long ones Rabenseifner's algorithm: a
# reduce-scatter by recursive halving and an all-gather by recursive
# doubling, which send the ring's $\frac{2(N-1)}{N} \cdot S$ bytes per worker in about
# $2 \log_2 N$ rounds instead of $2(N-1)$.

# %%
quiz.ask("09-ring-flat")

# %% [markdown]
# ## A sharded server
#
# The other way out keeps the server but splits it: k server machines, each
# holding $1/k$ of the weights (Dean et al. 2012 sharded Downpour's server this
# way, Section 4.1). A worker sends each shard its slice, $S/k$ bytes, so each
# shard's link carries $N \cdot S/k$ bytes per step: k links together move N messages
# k times as fast as one.
#
# The simulator has one server link, so we model k shards as **one link k
# times as fast** (`server_bandwidth` $= kB$): a message holds it for $S/(kB)$,
# its share of the bytes, while it still moves at its worker's own pace B.
# Both move the same bytes per second through the server side; what the
# model leaves out is that a worker then talks to k machines (k latencies
# instead of one, paid in parallel).

# %%
shards = (1, 4, 16)
sharded = {(k, n): asynclab.run(policy="sync", workers=n, gradients=n * steps,
                                server_bandwidth=k * B, **links) for k in shards for n in sizes}
print("workers " + "".join(f"{f'{k} shard' + 's' * (k > 1):>12}" for k in shards)
      + f"{'N shards':>12}{'ring':>10}   (seconds per step)")
for n in sizes:
    full = asynclab.run(policy="sync", workers=n, gradients=n * steps, server_bandwidth=n * B, **links)
    print(f"{n:6} " + "".join(f"{step_time(sharded[k, n]):12.3f}" for k in shards)
          + f"{step_time(full):12.3f}{step_time(ring[n]):10.3f}")
print("one shard is the server above:",
      all(step_time(sharded[1, n]) == step_time(server[n]) for n in sizes))

# %% [markdown]
# With k shards the pulls after a barrier leave k times faster, so the
# queue that grows with N, $(N - 1)\,s/k$, is k times shorter, and the link
# saturates only k times later (beyond every size here for 4 and 16
# shards). A server sharded over as many machines as there are workers costs
# each worker a push and a pull of S bytes per step, $2S$, while the ring
# sends $\frac{2(N-1)}{N} \cdot S$: nearly the same traffic, and nearly the same step (the
# N shards are even a little faster at 64 workers here, because the ring
# pays 126 latencies per step and our shards two). The difference is the
# hardware: the sharded server needs up to N more machines (or shards living
# beside the workers), the ring none.
#
# Throughput puts the three side by side with the asynchronous server,
# whose gradients cross the same one link:

# %%
stream = {n: asynclab.run(policy="async", workers=n, gradients=max(200, 20 * n),
                          server_bandwidth=B, **links) for n in sizes}
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ax.plot(sizes, sizes, color="black", linestyle=":", label="ideal: N gradients per second")
curves = {"sync, one server link": [n / step_time(server[n]) for n in sizes],
          "async, one server link": [stream[n].summary.gradients_per_second for n in sizes],
          "sync, 4 shards": [n / step_time(sharded[4, n]) for n in sizes],
          "ring all-reduce": [n / step_time(ring[n]) for n in sizes]}
for name, values in curves.items():
    ax.plot(sizes, values, marker="o", label=name)
readable_log_axis(ax, "x")
readable_log_axis(ax, "y")
ax.set(xlabel="workers", ylabel="gradients per second")
ax.legend(frameon=False)
plt.show()
print(f"one server link caps sync and async alike at 1 / (2 S/B) = {1 / (2 * s):.0f} gradients "
      f"per second: sync {curves['sync, one server link'][-1]:.1f}, "
      f"async {curves['async, one server link'][-1]:.1f} at 64 workers")
print(f"the ring at 64 workers: {curves['ring all-reduce'][-1]:.1f} gradients per second")
print(f"while the link has room, 8 workers: sync {curves['sync, one server link'][2]:.2f}, "
      f"async {curves['async, one server link'][2]:.2f} gradients per second")

# %% [markdown]
# Asynchrony does not escape the link: each gradient still costs a pull and a
# push through it, so async saturates at the same 10 gradients per second. It
# spreads the messages out in time instead of sending them in a burst, which
# raises its gradients per second while the link has room to spare (with 8
# workers async delivers 6.78 gradients per second, sync 5.51), and stops
# helping once it has none. (More gradients per second is not yet a sooner
# target: lesson 03 races the two.)

# %%
quiz.ask("09-shards")

# %% [markdown]
# ## Overlap: hiding the transfer
#
# A worker that waits for its push and pull to finish before computing again
# spends $c + 2m$ per gradient, with $m$ the time of one message. Downpour SGD
# (Dean et al. 2012, Section 4.1) pushed and fetched in the background while
# the model replica kept computing; `overlap=True` does the same: a worker
# hands its push to a background sender and starts the next gradient at once
# on the weights it holds, and the sender fetches the newest weights for the
# gradient after. Then a worker needs $\max(c, 2m)$ per gradient.
#
# Four asynchronous workers, each with its own link (no shared server link),
# for three message times:

# %%
print("message   plain: gradients/s  transfer  staleness   overlap: gradients/s  transfer  "
      "hidden  staleness   N/(c+2m)  N/max(c,2m)")
as_predicted = []
for m in (0.2, 0.4, 0.8):
    here = dict(links, bandwidth=S / m, latency=0.0)
    plain = asynclab.run(policy="async", workers=4, gradients=400, **here).summary
    hidden = asynclab.run(policy="async", workers=4, gradients=400, overlap=True, **here).summary
    print(f"{m:5} s {plain.gradients_per_second:14.2f} {plain.transfer_fraction:11.0%} "
          f"{plain.mean_staleness:9.2f} {hidden.gradients_per_second:18.2f} "
          f"{hidden.transfer_fraction:11.0%} {hidden.overlap_fraction:7.0%} "
          f"{hidden.mean_staleness:9.2f} {4 / (c + 2 * m):11.2f} {4 / max(c, 2 * m):10.2f}")
    as_predicted += [np.isclose(plain.gradients_per_second, 4 / (c + 2 * m), rtol=0.01),
                     np.isclose(hidden.gradients_per_second, 4 / max(c, 2 * m), rtol=0.01)]
print("throughput within 1% of N/(c+2m) without overlap and N/max(c,2m) with it:",
      all(as_predicted))

# %% [markdown]
# While $2m \le c$ the transfer disappears entirely behind the next gradient;
# beyond, the link becomes the bottleneck and overlap still saves one
# compute time per gradient. The price is in the staleness column: a
# gradient is computed on weights fetched before the worker's previous
# gradient was applied, so it misses more updates (lesson 04).
#
# ### Buckets: overlap for sync and the ring
#
# A synchronous worker cannot compute its next gradient on the weights it
# holds: the next forward pass needs the step's average. It can still send
# *during* the backward pass. Backpropagation produces the gradient layer by
# layer, last layer first, so PyTorch's DistributedDataParallel groups it
# into buckets and starts each bucket's all-reduce as soon as its layers are
# done, while backpropagation continues into the earlier ones (Li et al.
# 2020). `overlap=True, buckets=K` does the same for `allreduce` and `sync`:
# a gradient's compute time c is a forward pass $f$ and a backward pass
# $b = 2c/3$ (about twice the forward pass), and the gradient goes in K equal
# parts, part k as soon as it is ready ($f + bk/K$) and the part before it
# has gone.
#
# On the ring each part is its own all-reduce of $S/K$ bytes,
# $\tau = 2(N-1)\,(\text{latency} + S/(KNB))$. With constant times a step takes
#
# $$f + \max\left(b + \tau,\ \frac{b}{K} + K\tau\right).$$
#
# While a part's all-reduce fits in the backward time between two parts
# ($\tau \le b/K$), only the last part is exposed, and more, smaller buckets
# help. Beyond, the link sets the pace, and each extra bucket adds its
# latency rounds. Through the server a part is one push,
# $\pi = \text{latency} + S/(KB)$; the pull of the new weights, $m$, comes after,
# unhidden: $f + \max(b + \pi,\ b/K + K\pi) + m$.
#
# Eight workers, the links above but 5 ms of latency per message, for
# 1 to 32 buckets:

# %%
n, delay = 8, 0.005                  # workers; seconds of latency per message
f, b = c / 3, 2 * c / 3              # forward and backward pass of a gradient
bucketed = dict(links, latency=delay, overlap=True)


def ring_part(k):
    """Seconds of one bucket's ring all-reduce: 2(N-1) rounds of S/(KN) bytes."""
    return 2 * (n - 1) * (delay + S / (k * n * B))


def push_part(k):
    """Seconds of one bucket's push to the server: S/K bytes."""
    return delay + S / (k * B)


def bucket_step(k, part, after=0.0):
    """f + max(b + part, b/K + K part), plus what comes after (sync's pull)."""
    return f + max(b + part, b / k + k * part) + after


pull = delay + S / B
print("buckets   ring: step  predicted  (part  b/K)      sync: step  predicted  (part  b/K)")
fits = []
for k in (1, 2, 4, 8, 16, 32):
    steps_of = {policy: step_time(asynclab.run(policy=policy, workers=n, gradients=n * steps,
                                               buckets=k, **bucketed))
                for policy in ("allreduce", "sync")}
    ring_k, sync_k = bucket_step(k, ring_part(k)), bucket_step(k, push_part(k), pull)
    print(f"{k:5} {steps_of['allreduce']:13.3f} {ring_k:9.3f}  ({ring_part(k):.3f} {b / k:.3f})"
          f" {steps_of['sync']:14.3f} {sync_k:9.3f}  ({push_part(k):.3f} {b / k:.3f})")
    fits += [np.isclose(steps_of["allreduce"], ring_k), np.isclose(steps_of["sync"], sync_k)]
print("every step as the closed form predicts:", all(fits))
best = {name: min((1, 2, 4, 8, 16, 32), key=lambda k: bucket_step(k, part(k), after))
        for name, part, after in (("ring", ring_part, 0), ("sync", push_part, pull))}
print(f"best number of buckets: ring {best['ring']}, sync {best['sync']}")

# %% [markdown]
# With one bucket nothing is hidden: the ring's step is $c + \tau$, as
# without overlap. Up to 8 buckets every ring part fits in its slice of the
# backward pass, and each doubling hides more; at 16 a part's all-reduce
# (0.075 s, 0.070 s of it the latency of its 14 rounds) no longer fits in
# $b/16 = 0.042$ s, and the step jumps from 1.081 s to 1.582 s. Sync pays one
# latency per part, not 14, so its buckets keep helping longer (best at 32
# here, 1.062 s: with no shared server link, a push is one message where a
# ring bucket is 14 rounds), but its pull, 0.055 s, is never hidden. That
# is why DDP's buckets are large (25 MB by default, Li et al. 2020): enough
# parts to overlap, few enough that latency does not dominate.

# %%
quiz.ask("09-overlap")

# %%
quiz.ask("09-buckets")

# %% [markdown]
# ## Where asynchrony still helps, and where all-reduce wins
#
# A ring is synchronous: every step waits for the slowest gradient, and its
# rounds wait for messages. The simulator runs the $2(N-1)$ rounds in lock
# step: a round ends when its slowest message has arrived. When a link's
# latency *varies* (jitter: `latency="exp:0.01"`, an exponential time of
# mean 10 ms per message), each round then lasts the longest of N draws,
# $H_N$ times the mean (lesson 02). Asynchronous workers each pay their own
# draws and wait for nobody.

# %%
jitter = {}
for n in (4, 16, 64):
    for law in (0.01, "exp:0.01"):
        setting = dict(links, latency=law, bandwidth=np.inf)      # latency only
        jitter["ring", n, law] = step_time(asynclab.run(policy="allreduce", workers=n,
                                                        gradients=n * 20, **setting)) - c
        jitter["async", n, law] = asynclab.run(policy="async", workers=n, gradients=n * 20,
                                               **setting).summary.gradients_per_second
print("workers   ring's communication per step: constant   jittered   2(N-1) H_N 10 ms"
      "   async gradients/s: constant   jittered")
close = []
for n in (4, 16, 64):
    expected = 2 * (n - 1) * sum(1 / k for k in range(1, n + 1)) * 0.01
    print(f"{n:6} {jitter['ring', n, 0.01]:30.3f} s {jitter['ring', n, 'exp:0.01']:9.3f} s "
          f"{expected:12.3f} s {jitter['async', n, 0.01]:24.2f} "
          f"{jitter['async', n, 'exp:0.01']:10.2f}")
    close += [abs(jitter["ring", n, "exp:0.01"] / expected - 1) < 0.1,
              abs(jitter["async", n, "exp:0.01"] / jitter["async", n, 0.01] - 1) < 0.02]
print("jittered rings within 10% of 2(N-1) H_N 10 ms; async within 2% of its constant-latency "
      "rate:", all(close))

# %% [markdown]
# Lock step is the simulator's simplification, and a pessimistic one. In a
# real ring (MPI's, NCCL's) a worker waits only for the chunk from its
# left-hand neighbour, since that is what it adds to and passes on: a late
# message delays the chunks that follow it round the ring, not every worker
# at once. A few lines of numpy give that ring's time from the same kind of
# draws:

# %%
def neighbour_ring(n, mean, steps=200, seed=0):
    """Mean seconds of the 2(N-1) rounds of a ring in which each worker sends its
    next chunk once its left-hand neighbour's has arrived (latency only, each
    message an exponential draw of this mean), over ``steps`` all-reduces."""
    rng = np.random.default_rng(seed)
    ready = np.zeros((steps, n))        # when each worker may send its next chunk
    for _ in range(2 * (n - 1)):
        arrived = ready + rng.exponential(mean, (steps, n))   # worker i's chunk at i + 1
        ready = np.maximum(ready, np.roll(arrived, 1, axis=1))
    return ready.max(axis=1).mean()


print("workers   constant latency   neighbour by neighbour   lock step (the simulator)")
for n in (4, 16, 64):
    jitter["neighbours", n] = neighbour_ring(n, 0.01)
    print(f"{n:6} {jitter['ring', n, 0.01]:16.3f} s {jitter['neighbours', n]:20.3f} s "
          f"{jitter['ring', n, 'exp:0.01']:22.3f} s")
print("waiting for the neighbour only: dearer than constant latency, cheaper than lock step:",
      all(jitter["ring", n, 0.01] < jitter["neighbours", n] < jitter["ring", n, "exp:0.01"]
          for n in (4, 16, 64)))

# %% [markdown]
# A real ring still pays for jitter, and more the more workers: a step
# ends when the slowest chain of messages round the ring has arrived. But
# it pays less than half of what lock step charges with 16 workers, and
# about a third with 64. Read the simulator's jittered rings as an upper
# bound.

# %% [markdown]
# Now three races to the same loss on a logistic regression (50 features,
# 400-byte messages), 8 workers. Each is fair:
#
# - every policy communicates in its faster way: with overlap (async's
#   background sender; 4 buckets for sync and the ring) if that raises its
#   gradients per second on a first run, and without if it does not;
# - every policy's learning rate and momentum are tuned together on seeds
#   0-4 (a grid around each one's best), then run again on fresh seeds 5-9;
# - the policies are compared seed by seed: a ratio of times with its 95%
#   interval (`asynclab.runs.Paired`), below 1 when the first is sooner.
#
# The settings:
#
# - **Uneven:** exponential compute times, one gradient in ten ten times
#   slower (stragglers), jittered latency `exp:0.05`, small messages
#   (0.01 s of bytes), a server link like the workers'.
# - **Even, fast links:** every gradient takes exactly 1 s; 1 ms of latency
#   and 0.05 s of bytes per message; the server's link as fast as it needs.
# - **Even, one server link:** every gradient takes exactly 1 s, big
#   messages (0.25 s of bytes), and a server link like the workers'.

# %%
logistic = asynclab.Logistic(features=50, examples=1000)
small = logistic.nbytes
race = asynclab.Config(problem=logistic, workers=8, gradients=120, eval_points=30,
                       target_loss=0.32)
settings = {
    "uneven": dict(compute="exp:1", straggler=(0.1, 10), latency="exp:0.05",
                   bandwidth=small / 0.01, server_bandwidth=small / 0.01),
    "even, fast links": dict(compute="const:1", latency=0.001, bandwidth=small / 0.05),
    "even, one server link": dict(compute="const:1", bandwidth=small / 0.25,
                                  server_bandwidth=small / 0.25)}
rates = {"sync": [1, 2, 4], "allreduce": [1, 2, 4], "async": [0.0625, 0.125, 0.25, 0.5, 1]}


def faster_way(config):
    """``config`` with overlap (4 buckets for sync and the ring) if that raises its
    gradients per second on a first run (seed 0, 200 gradients), else without; and
    the two rates."""
    plain = config.replace(overlap=False, buckets=1)
    overlapped = config.replace(overlap=True, buckets=1 if str(config.policy) == "async" else 4)
    rate = [asynclab.run(c, gradients=200, eval_points=2).summary.gradients_per_second
            for c in (plain, overlapped)]
    return (overlapped if rate[1] > rate[0] else plain), rate


races, first_rates = {}, {}
for name, setting in settings.items():
    races[name] = {}
    for policy in ("sync", "allreduce", "async"):
        config, first_rates[name, policy] = faster_way(race.replace(policy=policy, **setting))
        races[name][policy] = asynclab.compare([policy], config, tune=True, lrs=rates[policy],
                                               momenta=[0, 0.5, 0.9], seeds=5)[policy]
for name, runs in races.items():
    print(f"{name}: time to loss {race.target_loss} on seeds 5-9, geometric mean [95% CI]")
    for policy, r in runs.items():
        how = ("background sender" if policy == "async" else f"{r.config.buckets} buckets") \
            if r.config.overlap else "no overlap"
        without, with_overlap = first_rates[name, policy]
        print(f"  {policy:9} {how:17} (first run: {without:.3f} gradients/s without overlap, "
              f"{with_overlap:.3f} with)")
        print(f"  {'':9} lr {r.config.lr:<6g} momentum {r.config.momentum:<4g}"
              f"{str(r.summary['time_to_target']):>24} s   "
              f"{r.summary['gradients_per_second'].mean:.2f} gradients/s, mean staleness "
              f"{r.summary['mean_staleness'].mean:.1f}")
print("no best rate or momentum at the edge of its grid:",
      not any(r.tuning.at_edge for runs in races.values() for r in runs.values()))
paired = {(name, a, b): Paired.of(runs[a], runs[b], "time_to_target").ratio
          for name, runs in races.items()
          for a, b in (("async", "allreduce"), ("async", "sync"), ("allreduce", "sync"))}
for (name, a, b), ratio in paired.items():
    print(f"{name:22} {a} / {b}: {ratio.mean:.2f} [{ratio.low:.2f}, {ratio.high:.2f}]")


def fastest_at(tuning, momentum):
    """The Runs of the fastest rate at this momentum that reached on every tuning seed."""
    row = min((row for row in tuning.rows if row.momentum == momentum
               and row.ok == len(tuning.seeds)), key=lambda row: row.estimate.mean)
    return asynclab.Runs(tuning.runs[row.key][0].config, tuple(tuning.runs[row.key]))


print("async's fastest rate at momentum 0 and at 0.5, on the tuning seeds 0-4:")
twins = {}
for name, runs in races.items():
    at = {m: fastest_at(runs["async"].tuning, m) for m in (0, 0.5)}
    twins[name] = Paired.of(at[0.5], at[0], "time_to_target").ratio
    print(f"  {name:22} " + "   ".join(f"momentum {m:g}: lr {r.config.lr:g}, "
                                        f"{r.summary['time_to_target'].mean:.2f} s"
                                        for m, r in at.items())
          + f"   0.5 / 0: {twins[name].mean:.2f} [{twins[name].low:.2f}, {twins[name].high:.2f}]")

# %%
print("uneven: async sooner than the ring and than sync, whole intervals below 1:",
      paired["uneven", "async", "allreduce"].high < 1 and paired["uneven", "async", "sync"].high < 1)
print("even, fast links: async later than the ring and than sync, whole intervals above 1:",
      paired["even, fast links", "async", "allreduce"].low > 1
      and paired["even, fast links", "async", "sync"].low > 1)
print("even, one server link: the ring sooner than async and than sync, async not sooner "
      "than sync:", paired["even, one server link", "async", "allreduce"].low > 1
      and paired["even, one server link", "allreduce", "sync"].high < 1
      and paired["even, one server link", "async", "sync"].high > 1)
chose_half = [name for name, runs in races.items() if runs["async"].config.momentum == 0.5]
print(f"where async chose momentum 0.5 ({', '.join(chose_half)}), momentum 0 at twice the rate "
      "as fast within the noise (the interval holds 1):",
      all(twins[name].low <= 1 <= twins[name].high
          and fastest_at(races[name]["async"].tuning, 0).config.lr
          == 2 * races[name]["async"].config.lr for name in chose_half))

# %% [markdown]
# - **Uneven machines: async wins.** The ring and the synchronous server both
#   wait, every step, for the slowest of 8 gradients: async takes a quarter
#   of sync's time, 0.25 [0.11, 0.56], and a fifth of the ring's, 0.20
#   [0.11, 0.36]. The simulated ring also waits, in lock step, for the
#   slowest message of each of its 14 rounds, which charges it more for the
#   jitter than a real ring would pay (above): read its 0.20 as flattering
#   async, and sync's 0.25 as the comparison that does not depend on it.
#   (Buckets would cost the ring here, each one 14 more jittered rounds: on
#   the first run 0.736 gradients per second with 4 buckets against 1.053
#   without.)
# - **Even workers, fast links, overlap for all: async loses.** Nobody waits
#   at a barrier when every gradient takes the same time, and overlap hides
#   nearly all communication for every policy. Async still delivers a few
#   more gradients per second (7.95 against the ring's 7.72), but each is 14
#   updates stale, and it takes 1.38 [1.13, 1.68] of the ring's time (1.34
#   [1.10, 1.63] of sync's). The ring and sync nearly tie (the ring takes
#   0.97 of sync's time): with fast links the server is no bottleneck.
# - **Even workers, one server link: the ring wins.** Both server policies
#   push every byte through the server's one link, which caps them at the
#   same 2 gradients per second; the ring moves $\frac{2(N-1)}{N} \cdot S$ per
#   worker over 8 links in parallel: async takes 5.17 [3.35, 8.00] times the
#   ring's time. Async does not beat sync here either (1.43 [0.93, 2.22]):
#   a saturated link leaves no burst to avoid, and its gradients are stale.
#
# Async's tuned momentum is 0.5 in two of these races, although lesson 08
# found asynchronous workers best with none. The last lines of the
# printout show why this is no contradiction: at rates this small,
# momentum m at rate lr moves about like rate lr / (1 - m) without it
# (lesson 08), and each momentum-0.5 choice has a momentum-0 twin at
# twice its rate that is as fast within the noise (on the even, fast
# links the two tie exactly: the same evaluation point on every seed).
#
# So asynchrony wins where workers are uneven or straggle; it does not where
# workers are even and links are fast with overlap, nor where a saturated
# server link caps every server policy alike. A shared link that still has
# room raises async's gradients per second, but in lesson 03's fair race
# that alone did not bring the target sooner. Real clusters sit in between, which is
# why both designs are in use: all-reduce for dense models on uniform
# accelerators (Horovod, PyTorch DDP), parameter servers and asynchrony where
# machines are shared, uneven or unreliable, or updates are sparse.

# %%
quiz.ask("09-who-wins")

# %% [markdown]
# ## Strong and weak scaling
#
# "Does it scale?" asks one of two questions:
#
# - **Strong scaling:** a *fixed* job (here a fixed number of gradients) on
#   more workers. Does it finish sooner?
# - **Weak scaling:** the job *grows* with the workers (each worker keeps
#   its share). Does it take as long?
#
# The tables above were weak scaling: each step, every worker computed one
# gradient, so 64 workers did 64 times the work of one per step. The ring
# passed that test (its step grew little), the single server link failed it
# (its step grew with N).
#
# **Amdahl's law** (Amdahl 1967) answers the strong-scaling question: if a
# fraction $f$ of the one-worker time cannot be shared out, N workers take at
# least $f + (1 - f)/N$ of it, so
#
# $$\text{speedup}(N) = \frac{1}{f + (1 - f)/N} \le \frac{1}{f}.$$
#
# Give the
# server an apply time of 0.05 s per gradient (lesson 08): every gradient
# must pass through it one at a time, a serial part of $f = 0.05 / 1.05$ of
# the one-worker time. Then run a fixed 640 gradients on 1 to 64 workers:

# %%
apply_time = 0.05
job = dict(problem=model, compute="const:1", apply_time=apply_time, gradients=640, eval_points=2)
workers = [1, 2, 4, 8, 16, 32, 64]
strong = {policy: {n: asynclab.run(policy=policy, workers=n, **job).summary.time for n in workers}
          for policy in ("sync", "async")}
f = apply_time / (c + apply_time)
print(f"serial fraction f = {f:.4f}: no speedup can exceed 1/f = {1 / f:.0f}")
print("workers   sync speedup   Amdahl 1/(f + (1-f)/N)   async speedup   min(N, 1/f)")
for n in workers:
    amdahl = 1 / (f + (1 - f) / n)
    print(f"{n:6} {strong['sync'][1] / strong['sync'][n]:12.2f} {amdahl:18.2f} "
          f"{strong['async'][1] / strong['async'][n]:18.2f} {min(n, 1 / f):14.2f}")
sync_speedup = [strong["sync"][1] / strong["sync"][n] for n in workers]
print("sync follows Amdahl's law exactly:",
      np.allclose(sync_speedup, [1 / (f + (1 - f) / n) for n in workers]))
print("no speedup above 1/f:", all(strong[p][1] / strong[p][n] <= 1 / f * (1 + 1e-9)
                                   for p in strong for n in workers))

# %%
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ax.plot(workers, workers, color="black", linestyle=":", label="ideal: N")
ax.axhline(1 / f, color="black", linewidth=0.8, linestyle="--", label="Amdahl's cap 1/f")
for policy in ("sync", "async"):
    ax.plot(workers, [strong[policy][1] / strong[policy][n] for n in workers], marker="o",
            label=policy)
readable_log_axis(ax, "x")
readable_log_axis(ax, "y")
ax.set(xlabel="workers",
       ylabel="speedup of a fixed 640 gradients")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# Synchronous workers all push at the barrier, so the server applies the N
# gradients of a step one after another while everybody waits: the serial
# part adds to the parallel one, exactly Amdahl's picture. Asynchronous
# workers keep computing while the server applies other workers' gradients,
# so they get close to the same cap much sooner (20.36 at 32 workers, where
# sync has 12.92): the serial part overlaps the parallel one, but it still
# bounds the speedup.
#
# **Gustafson's law** (Gustafson 1988) is the weak-scaling answer: if each
# step's serial part stays the same while the parallel part grows with the
# machine, N workers do nearly N times the work per step (the "scaled
# speedup" $f + (1 - f)\,N$, with $f$ the serial share of a step *on N workers*).
# That is the ring's case: its communication per step barely grows. It is
# not the parameter server's: its link time per step grows with N, so its
# serial share heads to 1.

# %%
quiz.ask("09-amdahl")

# %%
quiz.ask("09-strong-weak")

# %% [markdown]
# ## Explore
#
# Sync with one server link, the ring, and async on the same cluster: links
# that move one message in 0.05 s (the server's too), compute exactly 1 s.
# Add workers and watch the server's queue (vermillion) grow while the ring's
# step stays put; then add stragglers and watch the ring wait.

# %%
explored = asynclab.Logistic(features=50, examples=1000)
lab = explore(["workers", "policy", "straggler_prob", "latency", "lr"],
              policies=("sync", "allreduce", "async"), workers=8, policy="sync", lr=1.0,
              compute="const:1", straggler_factor=10, problem=explored, gradients=400,
              bandwidth=explored.nbytes / 0.05, server_bandwidth=explored.nbytes / 0.05)
lab

# %% [markdown]
# In code: 16 workers on the server, the same on the ring, then the ring and
# async with a straggler chance of 0.1.

# %%
for change in (dict(workers=16), dict(policy="allreduce"), dict(straggler_prob=0.1),
               dict(policy="async", lr=0.2)):
    lab.redraw(**change)
    print(lab.text())

# %% [markdown]
# ## Summary
#
# - A parameter server's link carries $N \cdot S$ bytes each way per synchronous
#   step; beyond a few workers the step is as long as the link needs. The
#   burst after each barrier is the pulls (incast): they leave one by one and
#   stagger the workers, whose pushes then pass without queueing.
#   Asynchrony spreads the messages out but sends the same bytes through the
#   same link.
# - A ring all-reduce sends $2(N-1)$ chunks of $S/N$ per worker, over all links
#   at once: $2(N-1)\,(\text{latency} + S/(NB))$, nearly flat in N apart from its
#   latency term (MPICH uses Rabenseifner's algorithm for long messages: the
#   same bytes in fewer rounds). Under jitter the simulator's ring, whose
#   rounds run in lock step, is an upper bound: a real ring waits only for
#   each neighbour's chunk.
# - Sharding the server over k machines is one link k times as fast; with
#   as many shards as workers it moves about what the ring moves.
# - Overlap hides transfer behind computation. Async (Downpour's background
#   push and fetch): $\max(c, 2m)$ per gradient instead of $c + 2m$. Sync and
#   the ring (DDP's buckets during the backward pass):
#   $f + \max(b + \tau,\ b/K + K\tau)$, where more buckets help while one fits in
#   its slice of the backward pass and hurt beyond; sync's pull stays exposed.
# - Fair races (overlap where it pays, rate and momentum tuned, fresh seeds,
#   paired 95% intervals): uneven, straggling workers favour asynchrony
#   (0.25 of sync's time, 0.20 of the lock-step ring's); even workers with
#   fast links and overlap do not (async 1.38 of the ring's time); one
#   server link favours the ring over both server policies (async 5.17).
# - Strong scaling (a fixed job) is capped by the serial part (Amdahl);
#   weak scaling (a growing job) works while the serial part per step stays
#   fixed (Gustafson).
#
# Next: lesson 10, a neural network on real data: held-out accuracy against
# time for these policies, and momentum.
