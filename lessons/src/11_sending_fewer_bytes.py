# %% [markdown]
# # 11 · Sending fewer bytes
#
# Lesson 09 found where a slow link hurts: every byte of every gradient has to
# cross it, and asynchrony sends the same bytes, only spread out in time. This
# lesson attacks the bytes themselves. A worker can send a *compressed*
# gradient: only its largest coordinates (top-k), a few drawn at random
# (random-k), or every coordinate in a few bits (QSGD). What it leaves out it
# can remember and send later (error feedback). We count what a message costs,
# watch what the link does with it, measure what compression costs in
# accuracy, and race compressed synchronous SGD against asynchronous SGD at
# tuned settings.
#
# **By the end of this lesson you will be able to**
#
# 1. compute the bytes of a dense, top-k, random-k and QSGD message and the time a
#    link takes to carry it, and say why compressing the pushes to a parameter server
#    saves at most half of its bytes;
# 2. write top-k with error feedback (exercise) and explain, from a measurement, why
#    top-k needs error feedback and QSGD does not;
# 3. read bytes against accuracy for the three kinds of compressor;
# 4. race compressed synchronous SGD against asynchronous SGD at tuned rates and
#    momenta on fresh seeds, and say when compression beats asynchrony and when it
#    does not.
#
# **Prerequisites:** lessons 02 (a message takes its latency plus its size over the
# bandwidth), 03 (fair comparisons: tuned settings, seeds, intervals) and 09 (the
# server's link, the ring all-reduce).
#
# **Time:** about 45 minutes.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.compression import WorkerCompression, gathered_bytes, parse_compression
from asynclab.course import exercise, explore, quiz
from asynclab.plotstyle import readable_log_axis
from asynclab.runs import Paired, Runs
from asynclab.tuning import tune_all

model = asynclab.Logistic(features=50, examples=1000)
d, S = model.dim, model.nbytes          # 50 parameters, 8 bytes each

# %% [markdown]
# ## What a message costs
#
# A dense message is the whole vector: $S = 8d$ bytes for d parameters stored
# as 64-bit floats. A compressed message is charged by one rule, `asynclab`'s
# **byte rule**: a value costs 8 bytes, like a coordinate of the dense vector
# (so that ratios compare like with like), an index costs 4 bytes, and no
# encoding costs more than the dense vector.
#
# - **top-k** (`compress="topk:F"`) keeps the $k = \lceil F d \rceil$ coordinates of
#   largest magnitude: $12k$ bytes, a value and an index each.
# - **random-k** (`"randk:F"`) keeps k coordinates drawn at random. The
#   receiver draws the same ones from a seed it shares with the worker, so no
#   indices are sent: $8k$ bytes.
# - **QSGD** (`"qsgd:s"`, Alistarh et al. 2017) keeps every coordinate but
#   rounds its share of the vector's norm at random to one of s levels, up or
#   down so that on average it is exact: a sign and a level, $\lceil \log_2(2s+1) \rceil$
#   bits per coordinate, plus the norm (8 bytes).

# %%
forms = ["none", "topk:0.1", "topk:0.02", "randk:0.1", "qsgd:8", "qsgd:2"]
big = 1_000_000                      # a larger model: a million parameters
print(f"{'compress':10} {'bytes (d = 50)':>15} {'fewer':>7} {'bytes (d = 1,000,000)':>22} {'fewer':>7}")
for form in forms:
    c = parse_compression(form)
    print(f"{form:10} {c.nbytes(d):15,.0f} {S / c.nbytes(d):6.1f}x {c.nbytes(big):22,.0f} "
          f"{8 * big / c.nbytes(big):6.1f}x")

# %% [markdown]
# Top-k's saving, $8d / 12k = 2/(3F)$, grows without limit as F shrinks: Deep
# Gradient Compression (Lin et al. 2018) kept about 0.1% of the coordinates and
# reports 270x to 600x fewer bytes without losing accuracy. QSGD keeps all d
# coordinates; at the byte rule's fixed width that is two bits or more each
# (one level), so it saves at most 64 / 2 = 32x; with 8 levels it is five
# bits, 12.8x on the large model. (Alistarh et al. also code the levels with
# Elias integer codes, which go further when most levels are zero;
# `asynclab` charges the fixed width.)
#
# A link does the same with a compressed message as with any other: it takes
# latency + bytes / bandwidth. Here every worker's link moves a dense message in
# 2 s (plus 10 ms of latency), and a gradient takes exactly 1 s. A synchronous
# step through a parameter server is a pull of the new weights, the gradient,
# and a push. Only the push is compressed: the weights the server sends back
# are the model itself, which every worker needs whole.

# %%
B, latency = S / 2, 0.01                 # bytes per second: 2 s per dense message
slow = dict(problem=model, compute="const:1", bandwidth=B, latency=latency, eval_points=2)
print("compress    step (simulated)   pull + gradient + push   bytes pulled   bytes pushed")
steps, as_predicted, sent = 5, [], {}
for form in ("none", "topk:0.1", "qsgd:8"):
    r = asynclab.run(policy="sync", workers=4, gradients=4 * steps, compress=form, **slow)
    predicted = (latency + S / B) + 1 + (latency + parse_compression(form).nbytes(d) / B)
    step = r.summary.time / r.summary.updates
    sent[form] = r.summary.bytes_sent
    print(f"{form:10} {step:14.3f} s {predicted:20.3f} s {r.summary.bytes_pulled:14,.0f} "
          f"{r.summary.bytes_pushed:14,.0f}")
    as_predicted.append(np.isclose(step, predicted))
print("every step as predicted:", all(as_predicted))
print(f"bytes sent with qsgd:8: {sent['qsgd:8'] / sent['none']:.0%} of the dense run's "
      f"(never below half: the pulls are dense)")

# %% [markdown]
# The ring all-reduce of lesson 09 has no server and no pulls: all it sends
# is gradients, so all of it can shrink. But a ring adds up chunks as they
# travel, and a worker cannot add two compressed messages without decoding
# them. `asynclab` therefore does what SparCML (Renggli et al. 2019) does
# with sparse vectors: the workers **all-gather** their compressed messages,
# each passing one message on to its neighbour in each of $N - 1$ rounds,
# and every worker adds the N reconstructions up itself. A worker then sends
# $(N - 1)\,m$ bytes per step for messages of m bytes, against the dense ring's
# $2(N - 1) \cdot S/N$; the all-gather is used only when it sends fewer, $m N < 2S$, so
# it helps less and less as N grows.

# %%
qsgd8 = parse_compression("qsgd:8")
print(f"qsgd:8 on {d} parameters: {qsgd8.nbytes(d):.0f} bytes a message")
print("workers   dense ring: bytes a worker   all-gather: bytes a worker   used       "
      "step (simulated)   predicted")
ring_ok = []
for n in (2, 4, 8, 16, 32):
    m = gathered_bytes(qsgd8, d, n)
    dense = 2 * (n - 1) * S / n
    r = asynclab.run(policy="allreduce", workers=n, gradients=n * steps, compress="qsgd:8", **slow)
    step = r.summary.time / r.summary.updates
    predicted = 1 + ((n - 1) * (latency + m / B) if m is not None
                     else 2 * (n - 1) * (latency + S / (n * B)))
    gathered = (n - 1) * qsgd8.nbytes(d)
    print(f"{n:6} {dense:22,.0f} {gathered:28,.0f}   {'all-gather' if m else 'dense ring'} "
          f"{step:12.3f} s {predicted:12.3f} s")
    ring_ok.append(np.isclose(step, predicted) and
                   np.isclose(r.summary.bytes_pushed, steps * n * min(dense, gathered)))
print("every step and every byte count as predicted:", all(ring_ok))

# %%
quiz.ask("11-topk-bytes")

# %%
quiz.ask("11-server-half")

# %% [markdown]
# ## Top-k and error feedback
#
# Top-k is *biased*: it always sends the large coordinates and never the
# small ones, however long those small ones keep pointing the same way. The
# fix is old (1-bit SGD, Seide et al. 2014) and well understood (Stich et al.
# 2018; Karimireddy et al. 2019): **error feedback**. Each worker keeps a
# residual, everything it computed but did not send. Before compressing, it
# adds the residual to its new gradient; what it does not send of the sum
# becomes the new residual. Nothing is lost, only delayed: what was sent plus
# the residual is always the sum of the gradients.
#
# Write it, and the checker replays a run of the engine message by message:

# %%
exercise.show("11-topk-feedback")

# %%
def topk_feedback(gradient, residual, k):
    ...  # return sent, new_residual


outcome = exercise.check("11-topk-feedback", topk_feedback)

# %% [markdown]
# The engine's own worker compression keeps that promise to rounding error:

# %%
rng = np.random.default_rng(0)
gradients = rng.normal(size=(200, d))
worker = WorkerCompression(parse_compression("topk:0.02"), True, d, None)
sent_sum = sum(worker.send(g) for g in gradients)
gap = np.abs(sent_sum + worker.memory.residual - gradients.sum(axis=0)).max()
print(f"top-k of 1 coordinate in {d}, 200 gradients: largest |sent + residual - sum of "
      f"gradients| = {gap:.1e}")
print("conserved to 1e-12:", gap < 1e-12)

# %% [markdown]
# Now the same on the engine: synchronous SGD, 4 workers, 800 gradients, each
# push carrying **one** coordinate of 50 (`topk:0.02`), with and without error
# feedback, beside the uncompressed run.

# %%
feedback = asynclab.Config(problem=model, policy="sync", workers=4, gradients=800, lr=0.3,
                           compute="const:1", eval_points=41, target_loss=0.32)
runs = {"none": asynclab.run(feedback),
        "top-k, error feedback": asynclab.run(feedback, compress="topk:0.02"),
        "top-k, no error feedback": asynclab.run(feedback, compress="topk:0.02",
                                                 error_feedback=False)}
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
for name, r in runs.items():
    ax.plot(r.history.gradients, r.history.loss, label=name)
ax.axhline(0.32, color="black", linestyle=":", linewidth=1, label="target loss")
readable_log_axis(ax)
ax.set(xlabel="gradients computed", ylabel="loss (all data)")
ax.legend(frameon=False)
plt.show()
for name, r in runs.items():
    s = r.summary
    reached = "never" if s.time_to_target is None else f"after {s.time_to_target:.0f} s"
    print(f"{name:25} final loss {s.final_loss:.4f}, loss 0.32 {reached}, "
          f"{s.bytes_pushed:,.0f} bytes pushed")
final = {name: r.summary.final_loss for name, r in runs.items()}
print("with error feedback within 1% of uncompressed:",
      final["top-k, error feedback"] < 1.01 * final["none"])
print("without it, at least 0.05 behind:",
      final["top-k, no error feedback"] > final["top-k, error feedback"] + 0.05)

# %% [markdown]
# With error feedback, sending one coordinate in 50 per push costs nothing
# here: the residual makes every coordinate go out sooner or later. Without
# it, the coordinates that are never the largest are never sent, and the
# model settles short of the target.
#
# QSGD is the opposite case. It is *unbiased*: on average it sends the
# vector itself, so it needs no memory, and `asynclab` turns error feedback
# off for it by default. It should stay off: QSGD's error can be *larger*
# than the vector (in square norm, up to $\min(d/s^2, \sqrt{d}/s)$ times, Alistarh et al.
# 2017, Lemma 3.1: 3.5 for 50 parameters and 2 levels), and a residual that
# is larger than what it corrects grows from message to message.

# %%
for choice in (None, True):
    r = asynclab.run(feedback, compress="qsgd:2", error_feedback=choice)
    print(f"qsgd:2, error feedback {'off (the default)' if choice is None else 'on':18} "
          f"final loss {r.summary.final_loss:.4g}")

# %%
quiz.ask("11-feedback")

# %%
quiz.ask("11-qsgd-memory")

# %% [markdown]
# ## Bytes against accuracy
#
# How far can the bytes go down? Each form below trains the same model with
# a synchronous all-reduce of 8 workers for 320 gradients (40 steps), each at
# its own best learning rate and momentum (by final loss on seeds 0-2),
# reported on seeds 3-7.

# %%
bytes_forms = ["none", "topk:0.04", "topk:0.02", "randk:0.1", "qsgd:8", "qsgd:2"]
short = asynclab.Config(problem=model, policy="allreduce", workers=8, gradients=320,
                        compute="const:1", eval_points=2)
# jobs=1: these runs are short, and starting worker processes (about a second per
# batch on a busy 2-core machine) would cost more than it saves.
tunings = tune_all([short.replace(compress=f) for f in bytes_forms], lrs=(0.3, 1, 3),
                   momenta=(0, 0.5, 0.9), seeds=3, metric="final_loss", jobs=1)
fresh = (3, 4, 5, 6, 7)
reports = iter(asynclab.run_many([t.best_runs().config.replace(seed=s) for t in tunings
                                  for s in fresh], jobs=1))
trade = {f: Runs(t.best_runs().config, tuple(next(reports) for _ in fresh))
         for f, t in zip(bytes_forms, tunings)}
print("compress   bytes a message   lr   momentum   final loss [95% interval]   "
      "validation accuracy")
for f, r in trade.items():
    print(f"{f:10} {parse_compression(f).nbytes(d):12,.0f} {r.config.lr:7g} "
          f"{r.config.momentum:7g}   {str(r.summary['final_loss']):>26}   "
          f"{r.summary['final_validation_accuracy'].mean:.3f}")
print("no best setting at the edge of its grid:", not any(t.at_edge for t in tunings))
dense = trade["none"].summary["final_loss"]
kept = [f for f in bytes_forms[1:] if trade[f].summary["final_loss"].low <= dense.high]
behind = [f for f in bytes_forms[1:] if trade[f].summary["final_loss"].low > dense.high]
print("interval overlapping the dense run's:", ", ".join(kept))
print("interval wholly above it:", ", ".join(behind))

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
for i, family in enumerate(("none", "topk", "randk", "qsgd")):
    chosen = [f for f in bytes_forms if f.split(":")[0] == family]
    xs = [parse_compression(f).nbytes(d) for f in chosen]
    loss = [trade[f].summary["final_loss"] for f in chosen]
    ax.errorbar(xs, [e.mean for e in loss], yerr=[[e.mean - e.low for e in loss],
                                                   [e.high - e.mean for e in loss]],
                marker="osD^"[i], linestyle="-" if len(xs) > 1 else "none", capsize=3,
                label={"none": "dense", "topk": "top-k", "randk": "random-k",
                       "qsgd": "QSGD"}[family])
    for x, f, e in zip(xs, chosen, loss):
        ax.annotate(f, (x, e.mean), textcoords="offset points", xytext=(4, 4), fontsize=8)
ax.axhspan(dense.low, dense.high, color="grey", alpha=0.15, label="dense run's interval")
readable_log_axis(ax, "x")
ax.set(xlabel="bytes a message", ylabel="final loss after 320 gradients")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# Down to 24 bytes a message (top-k of 2 coordinates in 50, with error
# feedback) and 40 bytes (5-bit QSGD), a tenth of the dense vector or less,
# the final loss stays within the dense run's interval. Below, and for
# random-k already at 40 bytes, it ends above it, each kind for its own
# reason: top-k of a single coordinate needs 50 steps to send every
# coordinate once, more than the 40 steps the run has; QSGD with two levels
# adds noise that no residual corrects; random-k spends its bytes on
# coordinates drawn blindly, where top-k sends the largest.
#
# On large models the balance moves: QSGD at a fixed width saves at most
# 32x, while top-k keeps a fixed share of coordinates, and the gradients of deep
# networks are mostly small (Lin et al. 2018 kept about 0.1% of them).

# %%
quiz.ask("11-tradeoff")

# %% [markdown]
# ## Compression or asynchrony?
#
# Both are answers to a slow network, so race them, each policy with its
# own tuned learning rate and momentum (on seeds 0-2), reported on fresh
# seeds 3-7, 8 workers, to loss 0.33. That target lies on the steep part of
# the curve, where a run's time to reach it is sharp; near the level where the
# loss settles, minibatch noise decides when a run first dips below it.
#
# - **Slow links, even workers:** every gradient takes exactly 1 s and a
#   dense message 8 s on a worker's link (the server's own link is fast):
#   the bytes set the pace.
# - **Stragglers, fast links:** exponential compute times, one gradient in
#   ten ten times slower, jittered latency, and a message of 0.05 s.
#
# On the slow links we race synchronous SGD through the parameter server,
# the synchronous all-reduce and asynchronous SGD; with stragglers, the
# all-reduce and async. Each runs once without compression and once with
# `qsgd:8`. A race this short favours QSGD over top-k: QSGD's error is noise
# that averages out within a step, top-k's a delay of several steps. Each
# comparison gives every policy's time against async's, seed by seed
# (`baseline="async"`).

# %%
race = asynclab.Config(problem=model, workers=8, gradients=100, eval_points=41, target_loss=0.33)
settings = {
    "slow links": dict(compute="const:1", bandwidth=S / 8),
    "stragglers": dict(compute="exp:1", straggler=(0.1, 10), latency="exp:0.02",
                       bandwidth=S / 0.05),
}
raced = {"slow links": ["sync", "allreduce", "async"], "stragglers": ["allreduce", "async"]}
fair = dict(tune=True, lrs=(0.1, 0.3, 1, 3, 10), momenta=(0, 0.5, 0.9), seeds=3,
            report_seeds=5, baseline="async", jobs=1)     # short runs: see above
races = {(name, form): asynclab.compare(raced[name], race.replace(**setting, compress=form),
                                        **fair)
         for name, setting in settings.items() for form in ("none", "qsgd:8")}
for (name, form), runs in races.items():
    print(f"{name}, compress {form}: time to loss 0.33 on seeds 3-7 [95% interval]")
    for policy, r in runs.items():
        print(f"  {policy:9} lr {r.config.lr:<4g} momentum {r.config.momentum:<4g}"
              f"{str(r.summary['time_to_target']):>26} s  "
              f"{r.summary['gradients_per_second'].mean:5.2f} gradients/s")
print("no best setting at the edge of its grid:",
      not any(r.tuning.at_edge for runs in races.values() for r in runs.values()))


def against(name, a, b):
    """Seed by seed, the time of (policy, compress) a over that of b in setting ``name``."""
    return Paired.of(races[name, a[1]][a[0]], races[name, b[1]][b[0]], "time_to_target").ratio


names = {"sync": "sync", "allreduce": "all-reduce", "async": "async"}
pairs = {}
for name in settings:
    pairs[name] = {}
    for policy in raced[name]:
        if policy != "async":
            pairs[name][f"compressed {names[policy]} / async"] = against(
                name, (policy, "qsgd:8"), ("async", "none"))
            pairs[name][f"{names[policy]} / async"] = against(name, (policy, "none"),
                                                              ("async", "none"))
        pairs[name][f"compressed / plain {names[policy]}"] = against(
            name, (policy, "qsgd:8"), (policy, "none"))
for name, ratios in pairs.items():
    print(f"{name}: time ratios, seed by seed over seeds 3-7 (below 1: the first is faster)")
    for label, ratio in ratios.items():
        print(f"  {label:32} {ratio}")

# %%
slow_pairs, straggling = pairs["slow links"], pairs["stragglers"]
for policy in ("sync", "all-reduce"):
    print(f"slow links: compressed {policy} beats async, interval below 1:",
          slow_pairs[f"compressed {policy} / async"].high < 1)
print("slow links: plain sync against async, 1 inside the interval:",
      slow_pairs["sync / async"].low < 1 < slow_pairs["sync / async"].high)
print("slow links: compression speeds sync and the all-reduce up, intervals below 1:",
      slow_pairs["compressed / plain sync"].high < 1
      and slow_pairs["compressed / plain all-reduce"].high < 1)
print("stragglers: async beats the compressed all-reduce, interval above 1:",
      straggling["compressed all-reduce / async"].low > 1)
print("stragglers: compression changes the all-reduce's time by less than its interval "
      "(1 inside):", straggling["compressed / plain all-reduce"].low < 1
      < straggling["compressed / plain all-reduce"].high)

# %% [markdown]
# **Slow links, even workers.** The bytes set the pace, and asynchrony does
# not reduce them: an asynchronous worker sends a pull and a push of the full
# vector per gradient, only spread out in time. Uncompressed, sync through the
# server is not clearly faster than async (sync / async = 0.7079
# [0.4959, 1.011]: 1 is just inside). Compressed, it is (0.452
# [0.3286, 0.6217]): its pushes shrink tenfold, its pulls not at all
# (compressed / plain sync = 0.6385 [0.5354, 0.7613]). The all-reduce sends
# nothing but gradients; compression halves its time (0.4873
# [0.4087, 0.5811]), and the compressed all-reduce takes 0.3044
# [0.2213, 0.4187] of async's time. Compression speeds async up too (0.7025
# [0.5688, 0.8676]), like sync, through its pushes only.
#
# **Stragglers, fast links.** Now the messages are cheap and the barrier is
# what costs: every step waits for the slowest of 8 gradients, and one in ten
# is ten times slower. Compression has hardly any bytes to save: the
# compressed all-reduce takes 0.9831 [0.9383, 1.03] of the plain one's
# time. Async, which waits for nobody, wins by far: the compressed
# all-reduce needs 6.267 [3.743, 10.49] times async's time.
#
# So the two answer different problems: compression removes bytes,
# asynchrony removes waiting. They also combine: an asynchronous worker can
# compress its pushes.

# %%
quiz.ask("11-who-wins")

# %% [markdown]
# ## When compression beats asynchrony, and when it does not
#
# Compression wins when **bytes** are the bottleneck:
#
# - the links are slow for the model's size and the workers are even, so
#   time goes to moving gradients, not to waiting;
# - the policy sends only gradients, so that all of its traffic can shrink:
#   an all-reduce with few workers (the all-gather grows with N), or a
#   parameter server, where at most the push half can go;
# - training is long enough for error feedback's delay (top-k) or QSGD's
#   noise to wash out; the tighter the compression, the longer that takes.
#
# Asynchrony wins when **waiting** is the bottleneck: uneven or straggling
# workers, jittered latency, shared machines. Compression does nothing for a
# barrier, and on a fast link, or one where latency dominates (many small
# messages: compression shrinks the bytes, not the latency), there is little
# to save. Compression also costs arithmetic, which `asynclab` does not
# charge (a top-k of a large vector is a partial sort).

# %%
quiz.ask("11-what-first")

# %% [markdown]
# ## Explore
#
# The slow-link cluster of the race, with a compression control. Switch the
# all-reduce to `qsgd:8` and watch its communication shrink; then add
# stragglers and watch the barrier take the time back.

# %%
lab = explore(["policy", "compress", "straggler_prob", "bandwidth", "lr", "x"],
              policies=("allreduce", "sync", "async"), policy="allreduce", workers=8, lr=3.0,
              momentum=0.5, compute="const:1", bandwidth=S / 8, straggler_factor=10,
              problem=model, gradients=120, target_loss=0.33)
lab

# %% [markdown]
# In code: compress the all-reduce, add stragglers, then let async run with
# its own tuned rate.

# %%
for change in (dict(compress="qsgd:8"), dict(straggler_prob=0.1),
               dict(policy="async", lr=0.3, momentum=0.0)):
    lab.redraw(**change)
    print(lab.text())

# %% [markdown]
# ## Summary
#
# - A message costs latency + bytes / bandwidth. Dense: 8 bytes a parameter.
#   Top-k: 12 bytes a kept coordinate; random-k: 8 (the seed gives the
#   indices); QSGD: $\lceil \log_2(2s+1) \rceil$ bits a coordinate plus the norm. `bytes_sent`,
#   `bytes_pushed` and `bytes_pulled` count them on every backend.
# - Through a parameter server only the pushes shrink: the pulls are the
#   model, dense, so at most half the bytes go. An all-reduce sends only
#   gradients; compressed, its workers all-gather their messages, which pays
#   while $mN < 2S$.
# - Top-k is biased and needs error feedback, which delays what it leaves
#   out instead of dropping it (exactly: sent + residual = sum of the
#   gradients). QSGD is unbiased and should keep none: its error can
#   outgrow the vector.
# - Fewer bytes cost accuracy per gradient, differently for each compressor:
#   top-k (with error feedback) and 5-bit QSGD kept the dense run's loss with
#   a tenth of its bytes or less; random-k with as many bytes as QSGD, and
#   top-k and QSGD with fewer, fell behind.
# - On slow links with even workers, compression beat asynchrony; with
#   stragglers and fast links, asynchrony beat compression. Compression
#   removes bytes, asynchrony removes waiting; both measured at tuned rates and
#   momenta, on fresh seeds, against their intervals.
#
# Next: lesson 12, fewer rounds and no server at all (local steps, DiLoCo,
# gossip).
