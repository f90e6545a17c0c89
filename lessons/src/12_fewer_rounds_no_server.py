# %% [markdown]
# # 12 · Fewer rounds, and no server
#
# Asynchronous SGD stops workers from waiting for each other, but every
# gradient still makes a round trip to the parameter server: one pull and one
# push. When messages are slow, or when every worker shares the server's one
# link, those round trips are the bill. This lesson tries three ways of
# sending fewer or cheaper messages, and races each against async, fairly.
#
# **By the end of this lesson you will be able to**
#
# 1. say what local SGD saves (communication rounds) and what it risks, and
#    measure rounds and time to a target accuracy against async;
# 2. write DiLoCo's outer step (exercise), say what the outer optimiser does,
#    and when DiLoCo is exactly local SGD;
# 3. run gossip without a server on a ring and on a complete graph, read the
#    consensus distance, and say when removing the server pays;
# 4. split the data non-IID among workers (`dirichlet:ALPHA`, `shards:K`),
#    measure client drift, and explain why more local steps can hurt;
# 5. state each of these comparisons as a paired ratio with its 95% interval,
#    on seeds other than those that tuned it.
#
# **Prerequisites:** lessons 03 (fair comparisons: tuned rates, fresh seeds,
# intervals), 05 (local SGD), 09 (the server's shared link) and 10 (the
# digits, validation accuracy, momentum).
#
# **Time:** about 50 minutes.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots
from asynclab.course import exercise, explore, quiz
from asynclab.runs import Paired

digits = asynclab.make_problem("logistic", dataset="digits")   # 64 pixels -> 10 classes
print(f"multinomial logistic regression on the digits: {digits.dim} parameters, "
      f"{digits.nbytes:,} bytes per message, {digits.train_examples} training images, "
      f"{digits.validation_examples} for validation")

# Every comparison below: each policy's learning rate and momentum tuned on seeds 0-2
# (by the time to a validation accuracy), then run again on five fresh seeds, 3-7,
# and set against async seed by seed.
MOMENTA = [0, 0.5, 0.9]
FAIR = dict(tune=True, momenta=MOMENTA, seeds=3, report_seeds=5,
            metric="time_to_accuracy")


def rounds_to(runs, target):
    """Mean over the seeds of the updates (communication rounds) applied when the
    validation accuracy first reached ``target`` (None if a seed never did)."""
    rounds = [r.history.updates_to(target, "validation_accuracy") for r in runs.results]
    return None if None in rounds else float(np.mean(rounds))


def table(runs, target, extra=()):
    """One line per policy: its tuned setting, rounds and time to the target, the
    paired ratio to async, and any extra summary figures."""
    for name, r in runs.items():
        s, rounds = r.summary, rounds_to(r, target)
        time = s.get("time_to_accuracy")
        line = (f"{name:15} lr {r.config.lr:<4g} momentum {r.config.momentum:<4g}"
                f"reached {0 if time is None else time.n}/5  "
                f"rounds {'-' if rounds is None else f'{rounds:.0f}':>5}  "
                f"time {'never' if time is None else f'{time} s':>24}")
        if r.paired is not None:
            line += f"  / async {r.paired.ratio if r.paired.ratio.n else '-'}"
        for field in extra:
            if field in s:
                line += f"  {field.replace('_', ' ')} {s[field]}"
        print(line)


# %% [markdown]
# ## Talking less often: local SGD
#
# Eight workers on islands: a gradient takes about 1 s (exponential), and a
# message between an island and the server takes **2 s**. Async pays a pull
# and a push, 4 s of messages, for every 1 s gradient. `local:8` (lesson 05)
# lets each worker take 8 SGD steps on its own copy and then averages the
# copies: one round of messages per 8 gradients per worker. Count a
# *communication round* as one update of the server: one per gradient under
# async, one per 64 gradients under `local:8` with 8 workers.
#
# The target: 96% accuracy on the validation images. Each policy gets its own
# learning rate and momentum from the same grid, and the race is run on fresh
# seeds.

# %%
islands = asynclab.Config(problem=digits, workers=8, gradients=800, compute="exp:1",
                          latency=2.0, target_accuracy=0.96, eval_points=17)
rounds = asynclab.compare(["async", "local:8", "diloco:8"], islands, lrs=[1, 3, 10],
                          baseline="async", **FAIR)
table(rounds, 0.96, extra=["final_validation_accuracy"])
print("a best rate at the edge of its grid:", {p: r.config.lr for p, r in rounds.items()
                                               if r.tuning.at_edge})

# %%
local_vs_async = rounds["local:8"].paired.ratio
print(f"local:8 needs {rounds_to(rounds['async'], 0.96) / rounds_to(rounds['local:8'], 0.96):.0f}"
      f"x fewer rounds than async to reach 96%")
print("local:8 is faster than async, the whole interval below 1:", local_vs_async.high < 1)

# %% [markdown]
# Async needed about 480 server updates, each a pull and a push, to reach
# 96%; `local:8` needed 5 rounds, 92x fewer, and got there in 98.58 s
# against async's 298.7 s: seed by seed, 0.3301 [0.2682, 0.4062] of async's
# time over the fresh seeds 3-7, the whole interval below 1. DiLoCo, its
# inner rate and momentum tuned the same way (its outer optimiser at the
# engine's defaults, below), did as well: 6 rounds, 0.3472 [0.2597, 0.4641] of async's
# time. Talking less did not cost accuracy here: all three end between 96%
# and 97% on the validation images.
#
# Async loses this race for one reason: on these islands a gradient costs
# 1 s of computing and 4 s of messages, and async pays that for every
# gradient, while `local:8` pays it once per 8 gradients of every worker.
# (With fast links async keeps its strengths of lessons 03-05; here the
# network decides.) Local SGD's tuner chose the grid's lowest rate, 1, with
# momentum 0.9: a step of about $\mathrm{lr} / (1 - \mu) = 10$ per local
# gradient, as large as the grid's top rate. Smaller steps were tried too,
# through the other momenta (lr 1 at momentum 0 moves 1 per gradient, lr 3
# at 0.5 moves 6), so the flagged edge does not hide a smaller step left
# untried.

# %%
quiz.ask("12-rounds-transfer")

# %% [markdown]
# ## DiLoCo: an optimiser for the rounds
#
# At the end of a round, local SGD's server subtracts the mean of the workers'
# displacements, $\delta = \mathrm{lr} \cdot \overline{u}$, from the weights.
# DiLoCo (Douillard et al. 2023) calls $\delta$ a *pseudo-gradient* and hands
# it to an optimiser of its own, the **outer optimiser**: SGD with Nesterov
# momentum,
#
# $$v \leftarrow \mu_{out} v + \delta, \qquad
#   w \leftarrow w - \eta_{out} (\delta + \mu_{out} v).$$
#
# The workers' own steps are the *inner* optimiser (here SGD with the tuned
# rate and momentum). The engine's defaults, $\eta_{out} = 0.7$ and
# $\mu_{out} = 0.9$, are the outer optimiser of OpenDiLoCo's published
# example (Jaghouar, Ong and Hagemann 2024, an open reproduction of DiLoCo:
# `SGD(lr=0.7, momentum=0.9, nesterov=True)` in its README), set for
# language models, not tuned for this problem. With $\eta_{out} = 1$ and
# $\mu_{out} = 0$ the outer step subtracts $\delta$ itself: DiLoCo is then
# local SGD, bit for bit.

# %%
same = dict(lr=0.3, momentum=0.0, seed=3)
local_run = asynclab.run(islands.replace(policy="local:8", **same))
identity = asynclab.run(islands.replace(policy="diloco:8", outer_lr=1, outer_momentum=0,
                                        **same))
print("diloco:8 with outer lr 1 and no outer momentum has local:8's weights, bit for bit:",
      np.array_equal(identity.params, local_run.params))
print("outer lr and momentum by default:", islands.replace(policy="diloco:8").policy.outer)

# %% [markdown]
# What does the outer momentum do? If the rounds kept producing the same
# $\delta$, the velocity would grow to $\delta / (1 - \mu_{out}) = 10\,\delta$
# and each outer step would move $0.7 \cdot 10\,\delta = 7\,\delta$: up to seven
# times as far as local SGD's round. At the same small inner rate (0.3, no
# inner momentum) on seeds 3-7:

# %%
slow = islands.replace(lr=0.3, momentum=0.0)
outer_runs = asynclab.compare(["local:8", "diloco:8"], slow, seeds=[3, 4, 5, 6, 7])
for name, r in outer_runs.items():
    print(f"{name:9} at lr 0.3: {r.summary['updates'].mean:.0f} rounds, final validation "
          f"accuracy {r.summary['final_validation_accuracy']}")
accuracy = {name: r.summary["final_validation_accuracy"] for name, r in outer_runs.items()}
print("DiLoCo ends higher, intervals apart:", accuracy["diloco:8"].low > accuracy["local:8"].high)
plots.convergence(outer_runs, x="updates", metric="validation_accuracy", target=0.96)
plt.show()

# %% [markdown]
# After the same 13 rounds at the same inner rate, DiLoCo's average model
# reaches 0.9448 [0.9403, 0.9494] on the validation images against local
# SGD's 0.917 [0.9099, 0.9241]. The rounds of a convex problem keep pointing
# the same way, and the outer momentum carries each round's pseudo-gradient
# into the next ones: DiLoCo moves further per round. Is that better than
# simply taking larger inner steps? Both were tuned above; seed by seed:

# %%
tuned_outer = Paired.of(rounds["diloco:8"], rounds["local:8"], "time_to_accuracy")
print(tuned_outer)
print("DiLoCo and local SGD, both tuned, told apart (interval excludes 1):",
      tuned_outer.ratio.high < 1 or tuned_outer.ratio.low > 1)

# %% [markdown]
# No: tuned, DiLoCo takes 1.052 [0.9653, 1.146] times local SGD's time, an
# interval that holds 1. Local SGD's tuner found the larger step by itself
# (rate 1 with momentum 0.9 on every worker), so on this small convex problem
# the outer optimiser is one more step-size knob. DiLoCo was made for
# language models, with AdamW inner steps and much longer rounds: on 8
# workers it matched fully synchronous training while communicating 500
# times less (Douillard et al. 2023, abstract).

# %%
quiz.ask("12-outer-identity")

# %% [markdown]
# ### Your turn: the outer step
#
# Write DiLoCo's outer step. The checker pushes rounds of two workers'
# updates through the engine's parameter server under `diloco:1`, gives your
# function the same pseudo-gradient, and compares the weights after every
# round.

# %%
exercise.show("12-outer-step")

# %%
def outer_step(params, velocity, delta, outer_lr, outer_momentum):
    ...  # return new_params, new_velocity


exercise.check("12-outer-step", outer_step)

# %%
quiz.ask("12-nesterov-transfer")

# %% [markdown]
# ## No server: gossip
#
# Now sixteen workers share the server's link, which is no faster than a
# worker's own (lesson 09's incast): at 52,000 bytes/s a message of 5,200
# bytes takes 0.1 s on either. Async needs the server's link twice per
# gradient, so sixteen workers together can never get more than 5 gradients
# per second through it.
#
# **Gossip** removes the server. Every worker keeps its own model. In
# D-PSGD (Lian et al. 2017) all workers average with their neighbours at
# every step, a barrier again; in its asynchronous form, AD-PSGD (Lian et
# al. 2018), which the engine runs, a worker averages its model with one
# neighbour's after each gradient, $x_i, x_j \leftarrow (x_i + x_j)/2$, then
# takes its own step, and nobody waits for anyone else.
# The exchange sends each model to the other, one message on each of the two
# workers' links, and no link is shared by everyone. On a **ring** worker i
# alternates between i+1 and i-1; on a **complete** graph it picks any other
# worker at random. The model we evaluate is the average of all the workers'
# models; how far they are from it is the **consensus distance**.

# %%
crowd = asynclab.Config(problem=digits, workers=16, gradients=800, compute="exp:1",
                        bandwidth=52_000, server_bandwidth=52_000, target_accuracy=0.95,
                        eval_points=17)
print(f"links of {crowd.bandwidth:,.0f} bytes/s: a message takes "
      f"{digits.nbytes / crowd.bandwidth:g} s; the server's link can carry "
      f"{crowd.server_bandwidth / (2 * digits.nbytes):g} async gradients (a pull and a push) "
      "per second")
ring = asynclab.compare(["async", "gossip"], crowd, lrs=[1, 3, 10], baseline="async",
                        **FAIR)
complete = asynclab.compare(["gossip"], crowd.replace(topology="complete"),
                            lrs=[1, 3, 10], **FAIR)["gossip"]
gossip = {"async": ring["async"], "gossip ring": ring["gossip"], "gossip complete": complete}
table(gossip, 0.95, extra=["consensus_distance", "gradients_per_second"])

# %%
complete_vs_async = Paired.of(complete, ring["async"], "time_to_accuracy")
complete_vs_ring = Paired.of(complete, ring["gossip"], "time_to_accuracy")
print(f"gossip complete / async: {complete_vs_async.ratio}")
print(f"gossip complete / gossip ring: {complete_vs_ring.ratio}")
print("gossip on a ring beats async, the whole interval below 1:",
      ring["gossip"].paired.ratio.high < 1)
# The tuned graphs ran at different rates, and a larger step spreads the models
# further too: compare the graphs' consensus distance at one setting, the ring's.
ring_setting = dict(lr=ring["gossip"].config.lr, momentum=ring["gossip"].config.momentum)
complete_same = asynclab.compare(["gossip"], crowd.replace(topology="complete", **ring_setting),
                                 seeds=list(ring["gossip"].seeds), jobs=2)["gossip"]
distance = {"ring": ring["gossip"].summary["consensus_distance"],
            "complete": complete_same.summary["consensus_distance"]}
print(f"consensus distance at the ring's setting (lr {ring_setting['lr']:g}, momentum "
      f"{ring_setting['momentum']:g}): ring {distance['ring']}, complete {distance['complete']}")
print("at the same setting the ring's models stay further apart, intervals apart:",
      distance["ring"].low > distance["complete"].high)

# %% [markdown]
# Async's sixteen workers get 4.959 gradients per second through the
# server's link, at its cap; gossip's exchanges use only the workers' own
# links and deliver 13.6 per second. Both need about the same number of
# updates to reach 95% (440 and 430 for gossip, 500 for async), so the
# throughput decides: gossip on a ring takes 0.2934 [0.2359, 0.3651] of
# async's time, on the complete graph 0.2895 [0.2259, 0.3711], over seeds
# 3-7. Without a server, async loses its one shared link and gossip does
# not have one. Lian et al. (2018) report the same kind of gain on real
# hardware: AD-PSGD's epochs on ResNet-50 and ImageNet were up to 4-8x
# faster than synchronous training's, on up to 128 GPUs in a network-sharing
# cluster (abstract).
#
# The two graphs differ where the lesson expects it, but read the table's
# consensus distances with care: 0.6215 on the complete graph against 4.141
# on the ring compares two rates as well as two graphs (the tuners chose lr 1
# and lr 3), and a larger step spreads the models further too. At one
# setting, the ring's, the complete graph's models stay 2.336 [2.127, 2.546]
# from their average against the ring's 4.141, the intervals apart: the
# graph alone makes a clear difference, smaller than the table's. The
# ring's looser agreement cost no measurable time here: the tuned complete
# graph took 0.9866 [0.818, 1.19] of the ring's time, an interval that
# holds 1. With many more workers on a ring, news from one side takes ever
# more exchanges to reach the other.
#
# A few seconds of one gossip run on the ring: every exchange shows as
# communication on the worker that started it and as a thin bar "sent in
# background" under its neighbour's lane, while the neighbour goes on
# computing; an exchange that finds a link busy queues.

# %%
seen = asynclab.run(crowd.replace(policy="gossip", lr=ring["gossip"].config.lr,
                                  momentum=ring["gossip"].config.momentum, seed=3))
plots.timeline(seen, window=(0, 6), max_workers=8)
plt.show()

# %%
quiz.ask("12-consensus")

# %% [markdown]
# ## Different data on every worker
#
# So far every worker drew its minibatches from all the training images.
# In federated learning each device holds its own data, and it is not a fair
# sample: one user writes mostly 1s and 7s. `partition=` gives each worker its
# own part of the training set: `dirichlet:ALPHA` draws each worker's label
# shares from a Dirichlet distribution (Hsu et al. 2019; small ALPHA: few
# labels per worker), and `shards:2` is McMahan et al.'s pathological split:
# sort the images by label, cut them into 16 shards, give each worker two.

# %%
skewed = islands.replace(partition="shards:2", target_accuracy=0.93)
parts = skewed.partition.parts(digits, skewed.workers, skewed.seed)
print("worker  images  digits held (and how many of each)")
for w, part in enumerate(parts):
    counts = np.bincount(digits.train_labels[part], minlength=10)
    held = ", ".join(f"{d}: {counts[d]}" for d in np.flatnonzero(counts))
    print(f"{w:6} {len(part):7}  {held}")

# %% [markdown]
# A shard of 67 images may cut across two labels, so some workers hold
# pieces of three or four digits; none holds more than four of the ten.
#
# With `local:H` this is **FedAvg** (McMahan et al. 2017). Between two
# averages each worker walks towards the best model *for its own digits*, and
# the local models drift apart. The summary's `client_drift` measures it: the
# local models' mean distance from their average just before it is taken,
# averaged over rounds. The same 32 local steps at the same rate (1, no
# momentum) on three splits of the data, seeds 3-7:

# %%
splits = ["iid", "dirichlet:1", "shards:2"]
drift_runs = asynclab.run_many([skewed.replace(policy="local:32", lr=1, partition=split)
                                for split in splits], seeds=[3, 4, 5, 6, 7])
drift = {}
for i, split in enumerate(splits):
    drift[split] = asynclab.Runs(drift_runs[5 * i].config, tuple(drift_runs[5 * i:5 * i + 5]))
    s = drift[split].summary
    print(f"{split:12} {s['updates'].mean:.0f} rounds, client drift {s['client_drift']}, "
          f"final validation accuracy {s['final_validation_accuracy']}, reached 93% on "
          f"{sum(r.summary.time_to_accuracy is not None for r in drift[split].results)}/5 seeds")
print("the shards' drift is above iid's, intervals apart:",
      drift["shards:2"].summary["client_drift"].low > drift["iid"].summary["client_drift"].high)

# %% [markdown]
# The same 4 rounds of 32 local steps: on iid data the local models stay
# 0.6126 apart before each average, and every seed reaches 93% (0.9443 at
# the end). Split by label, they drift about 5 times as far (2.912 on
# `dirichlet:1`, 3.149 on `shards:2`), their average fits the ten digits
# worse, and no seed reaches 93%. The rounds are the same; what they average
# is not.
#
# Does talking less still pay when the workers disagree? The same islands,
# the same 2 s messages, the shards split, a target of 93%: async against
# FedAvg with 4 and with 32 local steps, each tuned.

# %%
fedavg = asynclab.compare(["async", "local:4", "local:32"], skewed, lrs=[0.3, 1, 3],
                          baseline="async", **FAIR)
table(fedavg, 0.93, extra=["client_drift", "final_validation_accuracy"])

# %%
print("local:4 against async, interval below 1:", fedavg["local:4"].paired.ratio.high < 1)
never = fedavg["local:32"].summary.get("time_to_accuracy") is None
print("local:32 never reached 93% on any fresh seed:", never)
print("more local steps, more drift:", fedavg["local:32"].summary["client_drift"].low
      > fedavg["local:4"].summary["client_drift"].high)

# %% [markdown]
# With 4 local steps FedAvg still beats async on the split data: 103.6 s
# against 149.8 s to 93%, 0.6913 [0.5466, 0.8744] of async's time. With 32,
# no fresh seed reaches 93% (final validation accuracy 0.8451 [0.7901,
# 0.9002]), and its drift is the largest (6.994 against 5.092), although
# its tuned step per gradient, $\mathrm{lr} / (1 - \mu)$ = 3, is smaller than
# `local:4`'s 10. More local
# steps mean fewer rounds, and each round averages models that have walked
# further towards their own two digits: past some H, the rounds saved are
# paid for in accuracy. Async never lets one worker take 32 steps on its own
# digits: each update is one gradient, and the next comes from another
# worker. Karimireddy et al. (2020) named this *client drift* and correct it
# in SCAFFOLD: each local step adds an estimate of the difference between
# everyone's gradient and the worker's own.

# %%
quiz.ask("12-fedavg-steps")

# %%
quiz.ask("12-drift")

# %% [markdown]
# ## Explore
#
# The islands with the shards split, with messages of 1 s. Switch between
# async, local SGD, DiLoCo and gossip (a switch sets the rate the dashboard
# tuned for that policy); lower the latency until async catches up; raise
# the learning rate until local SGD's drift costs accuracy. Each change runs
# 480 gradients with one seed.

# %%
lab = explore(["policy", "workers", "latency", "lr", "x"],
              policies=("async", "local:8", "diloco:8", "gossip"), policy="local:8",
              problem=digits, partition="shards:2", workers=8, latency=1.0, lr=1,
              gradients=480, eval_points=25, x="updates")
lab

# %% [markdown]
# In code: from local SGD (lr 1) to DiLoCo, then to gossip, each at the rate
# the dashboard chose for it.

# %%
for policy in ("diloco:8", "gossip"):
    lab.redraw(policy=policy)
    print(lab.text())
    print(f"  validation accuracy {lab.result.summary.final_validation_accuracy:.3f}")

# %%
quiz.ask("12-gossip-transfer")

# %% [markdown]
# ## Summary
#
# - Async saves waiting, not messages: one pull and one push per gradient.
#   On slow links, local SGD saves the messages: with 2 s messages `local:8`
#   reached 96% in 92x fewer rounds and 0.3301 [0.2682, 0.4062] of async's
#   time, each policy at its tuned rate and momentum, on fresh seeds.
# - DiLoCo gives the rounds an optimiser of their own: Nesterov momentum on
#   the pseudo-gradient. At the same inner rate it moves further per round;
#   tuned, it was no faster than local SGD here (1.052 [0.9653, 1.146]). With
#   outer rate 1 and no outer momentum it is local SGD, bit for bit.
# - Gossip removes the server: each worker averages its model with a
#   neighbour's. When everyone shares one server link, it beats async
#   (0.2934 [0.2359, 0.3651] of its time on a ring). At the same rate and
#   momentum, the complete graph keeps the models closer together
#   (consensus distance) than the ring.
# - When each worker holds other labels, local models drift apart between
#   averages (client drift). A few local steps still paid (`local:4`, 0.6913
#   [0.5466, 0.8744] of async's time); 32 never reached the target.
#
# Next: the capstone, where these policies join the others as choices.
