# %% [markdown]
# # 10 · A neural network on real data
#
# Every lesson so far trained a linear model on synthetic data: a bowl-shaped
# (convex) loss with one minimum. Real training is a neural network on real
# examples, with a loss full of flat regions and saddles, judged by how well it
# classifies examples it has never seen. This lesson asks the course's question
# again on such a workload: a small multilayer perceptron (MLP) on scanned
# handwritten digits.
#
# **By the end of this lesson you will be able to**
#
# 1. train a neural network with `asynclab` and read its held-out accuracy
#    against time;
# 2. compare synchronous, asynchronous, stale-synchronous and local SGD on it
#    fairly: each at its tuned learning rate, over seeds, with intervals;
# 3. recognise what staleness does to a non-convex problem (a silent collapse
#    rather than a blow-up) and repair it with staleness-aware steps;
# 4. write a heavy-ball momentum step, measure the momentum that asynchrony
#    adds by itself (about $1 - 1/N$), and lower explicit momentum as workers
#    are added.
#
# **Prerequisites:** lessons 03-05 (asynchronous updates, staleness and
# staleness-aware steps, SSP and local SGD) and `asynclab.tune` (lesson 03).
# Knowing what a layer and a ReLU are helps; the lesson recalls what it needs.
#
# **Time:** about 45 minutes.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import asynclab
from asynclab import plots, stats
from asynclab.course import exercise, explore, quiz
from asynclab.implicit_momentum import Quadratic, measure_implicit_momentum
from asynclab.plotstyle import describe

mlp = asynclab.MLP(dataset="digits", hidden=(64,))    # 64 pixels -> 64 ReLU units -> 10 classes

# %% [markdown]
# ## The data and the network
#
# scikit-learn ships 1,797 scanned digits of 8x8 pixels (Alpaydin and Kaynak
# 1998), so nothing is downloaded. `asynclab` keeps a stratified quarter of
# them aside as the **test set**: the network never trains on those, and its
# accuracy on them, the **held-out accuracy**, says how well it generalises.
# The network has one hidden layer of 64 ReLU units ($\max(0, z)$) and a
# softmax output over the ten classes; its weights are one flat vector, sent
# between workers and server like any other problem's.

# %%
data = mlp.data
print(f"{mlp.train_examples + mlp.test_examples:,} images: training examples "
      f"{mlp.train_examples}, test examples {mlp.test_examples}, pixels {mlp.features}")
print(f"parameters {mlp.dim} ({mlp.nbytes} bytes per message); "
      f"chance accuracy with ten classes: {1 / 10:.0%}")
fig, axes = plt.subplots(1, 10, figsize=(8, 1.1))
for ax, image, label in zip(axes, data.X_test, data.y_test):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(str(label), fontsize=9)
    ax.axis("off")
describe(fig, "The first ten test images, 8 by 8 grey pixels each, dark strokes on white, "
              "titled with their labels: " + ", ".join(map(str, data.y_test[:10])) + ".")
plt.show()

# %%
quiz.ask("10-held-out")

# %% [markdown]
# ## Four policies, each at its best learning rate
#
# The cluster: 8 workers whose gradients take 1 s on average (exponential),
# 0.25 s per message, and a budget of 700 gradients. The goal: 95% held-out
# accuracy. Each policy gets its own best rate from the same grid, judged by
# the mean time to 95% over three seeds (`metric="time_to_accuracy"`).

# %%
cluster = asynclab.Config(problem=mlp, workers=8, compute="exp:1", latency=0.25,
                          gradients=700, target_accuracy=0.95, eval_points=36)
policies = ["sync", "async", "ssp:2", "local:4"]
tuned = asynclab.compare(policies, cluster, seeds=3, tune=True, lrs=[0.1, 0.2, 0.5, 1, 2],
                         metric="time_to_accuracy")
print(tuned["sync"].tuning)
print(tuned["async"].tuning)
best_lr = {name: r.config.lr for name, r in tuned.items()}
print("tuned rates:", best_lr, "| any at the edge of the grid:",
      any(r.tuning.at_edge for r in tuned.values()))

# %% [markdown]
# Choosing the rate on seeds 0-2 and then quoting those same runs would flatter
# every policy a little (the rate that got lucky wins). So the race itself runs
# five fresh seeds, 3-7, at each policy's tuned rate.

# %%
fresh = range(3, 8)
results = asynclab.run_many([cluster.replace(policy=p, lr=best_lr[p]) for p in policies],
                            seeds=fresh)
runs = {p: asynclab.Runs(results[5 * i].config, tuple(results[5 * i:5 * i + 5]))
        for i, p in enumerate(policies)}
print("policy   lr   reached  time to 95% (s), mean [95% CI]  final accuracy [95% CI]   "
      "idle  communicating")
for name, r in runs.items():
    s = r.summary
    print(f"{name:8} {r.config.lr:<4g} {s['time_to_accuracy'].n}/5      "
          f"{str(s['time_to_accuracy']):30}  {str(s['final_accuracy']):24}  "
          f"{s['idle_fraction'].mean:4.0%}  {s['comm_fraction'].mean:13.0%}")

# %%
plots.convergence(runs, x="time", metric="accuracy", target=0.95)
plt.show()

# %%
t = {name: r.summary["time_to_accuracy"] for name, r in runs.items()}
print(f"async reaches 95% {t['sync'].mean / t['async'].mean:.1f}x sooner than sync; "
      f"beyond the 95% intervals: {t['async'].high < t['sync'].low}")
print(f"local:4 reaches 95% {t['sync'].mean / t['local:4'].mean:.1f}x sooner than sync; "
      f"beyond the 95% intervals: {t['local:4'].high < t['sync'].low}")
print(f"ssp:2 against async: {t['ssp:2'].mean / t['async'].mean:.1f}x the time; "
      f"intervals overlap: {t['ssp:2'].low <= t['async'].high}")

# %% [markdown]
# On the network, as on the linear models, asynchronous SGD wins the race:
# 64.4 s to 95% on average, 2.8x sooner than synchronous SGD's 178.9 s, and
# the intervals do not overlap. Sync's workers idle 53% of the time, waiting
# at every barrier for the slowest of 8 exponential workers (lesson 02);
# async's idle 2% and spend a third of their time sending (a pull and a push
# of 0.25 s for every gradient of about 1 s). Local SGD (`local:4`) also
# beats sync, 1.8x, beyond the intervals: one pull and one push per 4
# gradients cut its communicating share to 6%, and its workers idle a little
# less (43%). SSP with a bound of 2 took 1.5x async's time, but its interval
# overlaps async's: five seeds cannot tell them apart. All four end near 96%
# held-out accuracy; what differs is how soon they get there.
#
# The tuned rates differ by a factor of five: 1 for sync and local SGD, 0.2
# for async and SSP. One shared rate would have handicapped one side: at 0.2
# no synchronous seed reached 95% within the budget, and at 1 no asynchronous
# one did (the tables above).

# %%
quiz.ask("10-tuned-rates")

# %% [markdown]
# ## Staleness on a non-convex loss
#
# In lesson 04, a learning rate too large for the staleness made the
# least-squares loss blow up: the run *diverged*. Try the same on the
# network: asynchronous SGD at a learning rate of 0.5 with 4 and 32 workers
# (mean staleness 3 and 31), plain and with staleness-aware
# steps ($\mathrm{lr} / (\text{staleness} + 1)$, lesson 04), three seeds each. A hidden unit
# is **dead** when its ReLU outputs 0 for every test image: its gradient is
# then 0 too, so nothing ever revives it.

# %%
def dead_units(result):
    """Hidden ReLUs that output 0 for every test image."""
    (W1, b1), _ = mlp.network.unpack(result.params)
    return int((np.maximum(data.X_test @ W1 + b1, 0).max(axis=0) == 0).sum())


stale_base = asynclab.Config(problem=mlp, policy="async", gradients=800, eval_points=17)
settings = [(n, 0.5, aware) for n in (4, 32) for aware in (False, True)]
settings += [(32, 0.1, False), (32, 0.1, True)]
results = asynclab.run_many([stale_base.replace(workers=n, lr=lr, staleness_aware=aware)
                             for n, lr, aware in settings], seeds=3)
stale = {key: results[3 * i:3 * i + 3] for i, key in enumerate(settings)}
print("workers  lr    steps            final accuracy [95% CI]   training loss  dead units  "
      "diverged")
for (n, lr, aware), rs in stale.items():
    accuracy = stats.estimate([r.summary.final_accuracy for r in rs])
    loss = np.mean([r.summary.final_loss for r in rs])
    dead = np.mean([dead_units(r) for r in rs])
    print(f"{n:7}  {lr:<4}  {'staleness-aware' if aware else 'plain':15}  {str(accuracy):24}  "
          f"{loss:13.3f}  {dead:10.1f}  {sum(r.summary.diverged for r in rs)}/3")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
shown = [(4, 0.5, False), (32, 0.5, False), (32, 0.5, True)]
plots.convergence([asynclab.Runs(stale[k][0].config, tuple(stale[k])) for k in shown],
                  x="gradients", metric="accuracy", ax=ax)
labels = [f"{n} workers, lr {lr}, {'staleness-aware' if aware else 'plain'}"
          for n, lr, aware in shown]
ax.legend(ax.get_lines(), labels, frameon=False)
ax.set_ylim(0, 1.02)        # an accuracy: the bands of 3 seeds would reach below 0
ends = [np.mean([r.summary.final_accuracy for r in stale[k]]) for k in shown]
describe(ax, "Held-out accuracy against gradients computed, mean of 3 seeds with 95% bands: "
             + "; ".join(f"{label}, ending at {end:.2f}" for label, end in zip(labels, ends)))
plt.show()

# %%
collapsed = stale[32, 0.5, False]
print("32 plain workers at lr 0.5: accuracy", [round(r.summary.final_accuracy, 3)
                                               for r in collapsed],
      "| training loss", [round(r.summary.final_loss, 3) for r in collapsed],
      f"| ln 10 = {np.log(10):.3f}")
print("flagged as diverged:", any(r.summary.diverged for r in collapsed))

# %% [markdown]
# With 4 workers, a rate of 0.5 is fine: about 98% held-out accuracy. With
# 32 workers the same rate wrecks the network: 29% on average, and the seed
# that ends at 0.102 has a training loss of 2.317, about $\ln 10 = 2.303$, the
# loss of a network that cannot tell the images apart and spreads its bets
# over the ten classes. On average over the 3 seeds, 61 of the 64 hidden
# units are dead. Yet none of these runs was flagged as diverged: the loss
# never became infinite.
#
# That is how staleness fails on a non-convex problem. On the least-squares
# bowl, stale steps that overshoot make the loss grow without limit. Here,
# about 31 stale updates pushing the same way move the hidden units' inputs
# below zero for every image; a dead ReLU has zero gradient, so no later step
# brings it back, and the loss settles on a plateau instead of blowing up.
# Watch the held-out accuracy, not only for NaN.
#
# Staleness-aware steps keep 32 workers training at lr 0.5 (94%), because a
# gradient that missed 31 updates moves the weights a thirty-second as far.
# At the smaller rate 0.1, which plain async tolerates, they slow training:
# the training loss ends at 0.632 against 0.191 in the same budget. Held-out
# accuracy is lower on average too (89% against 93%), but over 3 seeds at
# one untuned rate the two intervals overlap.

# %%
quiz.ask("10-collapse")

# %%
quiz.ask("10-staleness-aware-cost")

# %% [markdown]
# ## Momentum
#
# Momentum SGD (the *heavy ball*, Polyak 1964) keeps a velocity: each step
# adds the new gradient to the velocity, shrunk by the momentum $\mu$, and moves
# the weights by the learning rate times the velocity. With $\mu = 0.9$ a
# gradient keeps pushing for many steps after it arrived; in a steady slope
# the weights move $\mathrm{lr} / (1 - \mu)$ per gradient, ten times $\mathrm{lr}$. It is the default
# of most deep-learning recipes. In `asynclab` the server applies it,
# `momentum=0.9`. Write it yourself first:

# %%
exercise.show("10-heavy-ball")

# %%
def heavy_ball(params, velocity, gradient, lr, momentum):
    ...  # return new_params, new_velocity


exercise.check("10-heavy-ball", heavy_ball)

# %% [markdown]
# ### Asynchrony begets momentum
#
# Mitliagkas, Zhang, Hadjis and Ré (2016) showed that asynchrony *itself*
# behaves like momentum. With N asynchronous workers the gradient applied now
# was computed a few updates ago, and in expectation the updates follow
#
# $$w_{t+1} - w_t = \mu\,(w_t - w_{t-1}) - \eta\,\nabla f(w_t)$$
#
# with an implicit momentum $\mu \approx 1 - 1/N$. `asynclab.implicit_momentum.measure_implicit_momentum` fits $\mu$ on the
# mean path of 200 seeds of a noise-free quadratic, where staleness alone
# shapes the path.

# %%
quadratic = asynclab.Config(problem=Quadratic(features=10, examples=200), policy="async",
                            gradients=160, lr=0.1, eval_points=2)
print("policy  workers  implicit momentum (fitted)  1 - 1/N")
mu, _ = measure_implicit_momentum(quadratic.replace(policy="sync", workers=4), seeds=range(3))
print(f"sync    {4:7}  {mu:26.3f}  (no staleness: 0)")
implicit = {}
for n in (2, 4, 8):
    implicit[n], _ = measure_implicit_momentum(quadratic.replace(workers=n), seeds=range(200))
    print(f"async   {n:7}  {implicit[n]:26.3f}  {1 - 1 / n:7.3f}")
print("within 0.04 of 1 - 1/N:", all(abs(implicit[n] - (1 - 1 / n)) < 0.04 for n in implicit))

# %% [markdown]
# The fit finds 0.503, 0.733 and 0.845 for 2, 4 and 8 workers, close to
# $1 - 1/N$ = 0.5, 0.75 and 0.875 (for 4 and 8 workers a little low, for 2 a
# hair above: the mean of 200 paths keeps some noise, which tends to pull
# the fitted $\mu$ towards 0), and 0 for sync, whose gradients are never stale.
# Why $1 - 1/N$: with N workers the next update is a given worker's with
# probability $1/N$, so the delay of a gradient is geometric, and a sum of
# past gradients weighted geometrically is what a heavy ball's velocity is.

# %%
quiz.ask("10-implicit-momentum")

# %% [markdown]
# ### What it implies: less explicit momentum as workers grow
#
# If asynchrony already supplies momentum, explicit momentum adds to it. On
# the digits, with 1, 4 and 16 asynchronous workers, try $\mu$ = 0, 0.5 and 0.9
# at the same effective step, $\mathrm{lr} / (1 - \mu) = 0.2$ (so lr 0.2, 0.1 and 0.02):
# the weights move as far per gradient in each case, and only the momentum
# differs. Three seeds each; the time to 95% is the mean over the seeds that
# reached it.

# %%
momentum_base = asynclab.Config(problem=mlp, policy="async", gradients=600, eval_points=31,
                                target_accuracy=0.95)
lr_for = {mu: round(0.2 * (1 - mu), 6) for mu in (0.0, 0.5, 0.9)}    # lr / (1 - mu) = 0.2
print("learning rate for each momentum:", lr_for)
grid = [(n, mu) for n in (1, 4, 16) for mu in (0.0, 0.5, 0.9)]
results = asynclab.run_many([momentum_base.replace(workers=n, momentum=mu, lr=lr_for[mu])
                             for n, mu in grid], seeds=3)
by_momentum = {key: results[3 * i:3 * i + 3] for i, key in enumerate(grid)}
print("time to 95% (s), mean [95% CI] over the seeds that reached")
print("workers  momentum 0                momentum 0.5              momentum 0.9")
reach = {}
for n in (1, 4, 16):
    cells = []
    for mu in (0.0, 0.5, 0.9):
        times = [r.summary.time_to_accuracy for r in by_momentum[n, mu]
                 if r.summary.time_to_accuracy is not None]
        e = reach[n, mu] = stats.estimate(times)
        cells.append(f"{len(times)}/3: {e.mean:.0f} [{e.low:.0f}, {e.high:.0f}]" if times
                     else "0/3: never")
    print(f"{n:7}  " + "".join(f"{c:26}" for c in cells))
print("one worker: the three intervals overlap:",
      max(reach[1, mu].low for mu in (0.0, 0.5, 0.9)) <= min(reach[1, mu].high
                                                             for mu in (0.0, 0.5, 0.9)))
print("momentum 0.9 reached 95% on every seed:",
      {n: all(r.summary.time_to_accuracy is not None for r in by_momentum[n, 0.9])
       for n in (1, 4, 16)})
print(f"implicit momentum of 16 asynchronous workers, 1 - 1/16 = {1 - 1 / 16:.4f}")

# %% [markdown]
# With one worker the three momenta reach 95% within each other's intervals
# (205, 186 and 195 s): at the same effective step, heavy-ball momentum
# mostly acts like a larger step, $\mathrm{lr} / (1 - \mu)$. With 4 workers momentum 0.9
# is the slowest (78 s against 57 and 53, though the intervals overlap), and
# with 16 workers it never reaches 95% within 600 gradients, while momentum 0
# and 0.5 get there in about 25 s. Sixteen asynchronous workers already carry
# an implicit momentum of $1 - 1/16 = 0.9375$; explicit momentum adds to it,
# and 0.9 on top is far too much. Mitliagkas et al. conclude in their
# abstract that momentum must be tuned together with the degree of
# asynchrony, and suggest that under high asynchrony even a negative
# explicit momentum can help.

# %%
quiz.ask("10-lower-momentum")

# %% [markdown]
# ## Explore
#
# The network on 8 asynchronous workers. Raise the momentum until training
# stalls, then lower the number of workers and see it work again; tick
# staleness-aware steps; try `sync` with a large learning rate. The curve is
# the training loss (log scale); a network stuck at chance sits near
# $\ln 10 \approx 2.3$. Each change runs 600 gradients with one seed.

# %%
lab = explore(["workers", "policy", "lr", "momentum", "staleness_aware", "x"],
              policies=("sync", "async", "ssp", "local:4"), problem=mlp, gradients=600,
              eval_points=25, policy="async", workers=8, lr=0.1, x="gradients")
lab

# %% [markdown]
# In code: momentum 0.9 on the 8 workers, then the same on 2.

# %%
for change in ({"momentum": 0.9}, {"workers": 2}):
    lab.redraw(**change)
    print(lab.text())
    print(f"  held-out accuracy {lab.result.summary.final_accuracy:.3f}")

# %% [markdown]
# ## Summary
#
# - Held-out accuracy on a test quarter the network never trains on is the
#   honest measure of a classifier; on digits, ten classes, guessing is 10%.
# - Each policy at its own tuned rate, tuned on three seeds and raced on five
#   fresh ones: async reached 95% 2.8x sooner than sync and local SGD 1.8x
#   sooner, both beyond the 95% intervals; SSP could not be told apart from
#   async. Sync's tuned rate was five times async's.
# - On a non-convex loss, too large a step for the staleness does not blow
#   up: it can kill the ReLUs and leave the network guessing, with a finite
#   loss that no divergence check flags. Staleness-aware steps prevent it, at
#   the cost of slower progress where the rate was already safe.
# - Asynchrony begets momentum: N asynchronous workers act like a heavy ball
#   with momentum about $1 - 1/N$ (measured 0.503, 0.733, 0.845 for 2, 4, 8).
#   Lower the explicit momentum as workers are added: 0.9 was harmless on one
#   worker and fatal on 16.
#
# Next: lesson 11, the capstone: choose and tune a strategy for a described
# cluster training this network.
