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
# 4. measure how overlap hides transfer behind computation;
# 5. say, from tuned races over several seeds, where asynchrony still wins
#    (stragglers, jitter) and where all-reduce wins (even compute, big
#    messages);
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
# way per step, whatever the workers' own links could do. Many senders
# converging on one receiver at the same moment is called **incast**.
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
# pass without queueing, and the step waits for the last one.

# %%
plots.timeline(server[8], window=(0, 2 * step_time(server[8])))
plt.show()
queued = {n: server[n].summary.queue_fraction for n in (8, 64)}
print(f"time queueing for the server's link: {queued[8]:.0%} with 8 workers, "
      f"{queued[64]:.0%} with 64")

# %% [markdown]
# ## The ring all-reduce
#
# Synchronous SGD only needs every worker to end a step with the *average* of
# all gradients. A **ring all-reduce** computes it with no server at all
# (Thakur, Rabenseifner & Gropp 2005; Patarasuk & Yuan 2009). The workers
# form a ring, and each cuts its gradient into N chunks of $S/N$ bytes:
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
# step: less than $2S$, however many workers there are. Horovod (Sergeev &
# Del Balso 2018) brought the ring to deep learning frameworks, and it became
# a common way to run synchronous training.
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
# their all-reduce algorithm by message size, the ring for long messages
# and algorithms with fewer rounds for short ones (Thakur et al. 2005).

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

# %% [markdown]
# Asynchrony does not escape the link: each gradient still costs a pull and a
# push through it, so async saturates at the same 10 gradients per second. It
# spreads the messages out in time instead of sending them in a burst, which
# helps while the link has room to spare, and stops helping once it has none.

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
# A ring cannot be overlapped this way in the simulator (its step is a
# barrier: `overlap=True` is refused for `allreduce`). Real frameworks
# overlap *within* the backward pass instead: PyTorch's
# DistributedDataParallel groups gradients into buckets and starts the
# all-reduce of a bucket as soon as its layers' gradients are ready, while
# backpropagation continues into earlier layers (Li et al. 2020).

# %%
try:
    asynclab.Config(policy="allreduce", overlap=True)
except ValueError as err:
    print(err)

# %%
quiz.ask("09-overlap")

# %% [markdown]
# ## Where asynchrony still helps, and where all-reduce wins
#
# A ring is synchronous: every step waits for the slowest gradient, and every
# one of its $2(N-1)$ rounds waits for the slowest message of that round. When
# a link's latency *varies* (jitter: `latency="exp:0.01"`, an exponential
# time of mean 10 ms per message), each round lasts the longest of N draws,
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
# Now two races, each to the same loss on a logistic regression (50
# features), 8 workers, every policy at its own tuned learning rate over
# 5 seeds. Sync and the ring share their weights step for step (the same
# rate suits both); async tunes its own.
#
# - **Uneven:** exponential compute times, one gradient in ten ten times
#   slower (stragglers), jittered latency `exp:0.05`, small messages
#   (0.01 s each).
# - **Even:** every gradient takes exactly 1 s, big messages (0.25 s each),
#   and a server link like the workers'.

# %%
logistic = asynclab.Logistic(features=50, examples=1000)
race = asynclab.Config(problem=logistic, workers=8, gradients=400, eval_points=51,
                       target_loss=0.31)
settings = {
    "uneven": dict(compute="exp:1", straggler=(0.1, 10), latency="exp:0.05",
                   bandwidth=logistic.nbytes / 0.01, server_bandwidth=logistic.nbytes / 0.01),
    "even": dict(compute="const:1", bandwidth=logistic.nbytes / 0.25,
                 server_bandwidth=logistic.nbytes / 0.25)}
grid = (0.1, 0.2, 0.5, 1, 2, 4, 8)
races = {name: asynclab.compare(["sync", "allreduce", "async"], race.replace(**setting),
                                seeds=5, tune=True, lrs=grid, jobs=2)
         for name, setting in settings.items()}
for name, runs in races.items():
    print(f"{name}: time to loss 0.31, mean [95% interval] over 5 seeds, at the tuned rate")
    for policy, r in runs.items():
        print(f"  {policy:9} lr {r.config.lr:<4g} {str(r.summary['time_to_target']):>26} s   "
              f"{r.summary['gradients_per_second'].mean:.2f} gradients/s, mean staleness "
              f"{r.summary['mean_staleness'].mean:.1f}"
              + ("   (best rate at the grid's edge)" if r.tuning.at_edge else ""))
print("no best rate at the edge of the grid:",
      not any(r.tuning.at_edge for runs in races.values() for r in runs.values()))


def beats(runs, a, b):
    """How many times sooner ``a`` reaches the target than ``b``, and whether the
    two 95% intervals are apart."""
    ta, tb = runs[a].summary["time_to_target"], runs[b].summary["time_to_target"]
    return tb.mean / ta.mean, ta.high < tb.low


for name, a, b in (("uneven", "async", "allreduce"), ("uneven", "async", "sync"),
                   ("even", "allreduce", "async"), ("even", "allreduce", "sync")):
    ratio, apart = beats(races[name], a, b)
    print(f"{name}: {a} {ratio:.1f}x sooner than {b}; the intervals do not overlap: {apart}")

# %% [markdown]
# Each setting has a clear winner, well beyond the intervals:
#
# - **Uneven machines:** async wins. The ring and the synchronous server both
#   wait, every step, for the slowest of 8 gradients, and the ring waits
#   again for the slowest message of each of its 14 rounds.
# - **Even compute, big messages:** the ring wins. Nobody waits at the
#   barrier when every gradient takes the same time, and the ring moves
#   $\frac{2(N-1)}{N} \cdot S$ per worker over 8 links in parallel, while both server
#   policies push every byte through the server's one link, async included.
#
# Real clusters sit in between, which is why both designs are in use:
# all-reduce for dense models on uniform accelerators (Horovod, PyTorch
# DDP), parameter servers and asynchrony where machines are shared, uneven
# or unreliable, or updates are sparse.

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
#   step; beyond a few workers the step is as long as the link needs, and
#   the burst of pulls and pushes queues (incast). Asynchrony spreads the
#   messages out but sends the same bytes through the same link.
# - A ring all-reduce sends $2(N-1)$ chunks of $S/N$ per worker, over all links
#   at once: $2(N-1)\,(\text{latency} + S/(NB))$, nearly flat in N apart from its
#   latency term.
# - Sharding the server over k machines is one link k times as fast; with
#   as many shards as workers it moves about what the ring moves.
# - Overlap hides transfer behind computation (Downpour's background push and
#   fetch, DDP's buckets): $\max(c, 2m)$ per gradient instead of $c + 2m$.
# - Uneven machines and jitter favour asynchrony; even compute and big
#   messages favour the ring. Both measured at tuned learning rates over
#   5 seeds, far beyond the intervals.
# - Strong scaling (a fixed job) is capped by the serial part (Amdahl);
#   weak scaling (a growing job) works while the serial part per step stays
#   fixed (Gustafson).
#
# Next: lesson 10, a neural network on real data: held-out accuracy against
# time for these policies, and momentum.
