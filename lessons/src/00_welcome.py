# %% [markdown]
# # 00 · Welcome: how this course works
#
# This course is about one question from distributed training: **when do
# asynchronous gradient updates beat synchronous ones, and what do they cost?**
# You will answer it by running experiments, not by taking our word for it.
#
# **By the end of this lesson you will be able to**
#
# 1. say how a lesson is organised and what the *simulated cluster* is;
# 2. check that your set-up works, and run and reproduce a first experiment;
# 3. answer a quiz question with the widgets and in code, try again after a wrong
#    answer, and see your progress;
# 4. find the coding exercises and check your own function against the engine;
# 5. say what makes a comparison of two training methods fair;
# 6. use an exploration: controls that re-run an experiment and redraw it.
#
# **Prerequisites:** basic Python (running a notebook cell, calling a function).
# No distributed-systems background is needed.
#
# **Time:** about 25 minutes.

# %% [markdown]
# ## How the course works
#
# Each lesson is a notebook in `lessons/`. It starts with objectives,
# prerequisites and a time estimate, explains one idea at a time in short
# paragraphs, and backs every claim with an experiment you run in the notebook.
# Explorations let you change the settings and watch what happens; quiz
# questions and coding exercises check your understanding. A summary closes
# the lesson.
#
# | lesson | what you learn |
# | --- | --- |
# | 00 Welcome | how the course works: experiments, quizzes, exercises, fair comparisons |
# | 01 SGD on one worker | loss, gradient, learning rate, minibatches: the baseline |
# | 02 Synchronous data-parallel SGD | the barrier, the slowest of N workers ($H_N$), stragglers, message costs, strong and weak scaling |
# | 03 Asynchronous updates and communication overhead | no barrier; waiting, transfer, contention and overlap measured; the sync/async race |
# | 04 The price of asynchrony | staleness, progress per update and per second, divergence, staleness-aware steps |
# | 05 The middle ground | bounded staleness (SSP), backup workers, local SGD |
# | 06 Hogwild! | lock-free updates to shared parameters, sparse collisions |
# | 07 Real engines on your machine | threads and processes, the GIL, BLAS threads, shared memory, a lost worker |
# | 08 Scaling out | many simulated workers, the same experiment on Ray |
# | 09 Beyond the parameter server | overlap, a shared link, ring all-reduce, scaling laws |
# | 10 A neural network on real data | an MLP on handwritten digits: accuracy, staleness, momentum |
# | 11 Sending fewer bytes | compressed gradients: top-k, random-k, QSGD, error feedback |
# | 12 Fewer rounds, and no server | local SGD, DiLoCo, gossip, data split unevenly over workers |
# | 13 Capstone | choose and tune a strategy for a described cluster |
#
# Three pages go with the lessons: the [glossary](glossary.md) (every term the
# course uses), the [references](references.md) (the papers quoted, with links)
# and a one-page [cheat sheet](cheatsheet.md) of the update policies and their
# trade-offs. The whole course is also a website, built from these notebooks
# (`python lessons/site.py`, see the README): there every lesson, the glossary,
# the references and the cheat sheet are pages, and the quizzes work in the
# page without a Python kernel.
#
# The experiments run on a **simulated cluster**. The workers compute *real*
# gradients of a real training problem with numpy, but how long each gradient
# and each message takes is drawn from a model you choose, on a virtual clock.
# Times are therefore in *simulated seconds*: the same on every machine,
# however busy it is. Later lessons run the same policies on real threads,
# processes and Ray, where time is the wall clock.
#
# Run the cells from top to bottom (Shift+Enter). Start with the set-up.

# %%
# %matplotlib inline
import sys

import matplotlib.pyplot as plt

import asynclab
from asynclab import plots
from asynclab.course import exercise, explore, quiz
from asynclab.plotstyle import describe
from asynclab.stats import paired_ratio

print("Python 3.10 or newer:", sys.version_info >= (3, 10))
print("asynclab imported from the course package:", asynclab.run is not None)

# %% [markdown]
# ## A first experiment
#
# `asynclab.run` trains a model and returns a `Result`. Here four workers train
# a small logistic-regression model (50 features, 1000 examples) with
# asynchronous SGD: 400 gradients in total, each taking an exponentially
# distributed time of mean 1 simulated second.

# %%
problem = asynclab.Logistic(features=50, examples=1000)
first = asynclab.run(problem=problem, policy="async", workers=4, gradients=400, lr=0.5,
                     compute="exp:1", seed=0)
s = first.summary
print(f"{s.gradients} gradients computed, {s.updates} updates applied")
print(f"simulated time: {s.time:.4g} s ({s.gradients_per_second:.3g} gradients per second)")
print(f"loss: {s.initial_loss:.4f} at the start, {s.final_loss:.4f} at the end")

# %% [markdown]
# The *timeline* shows what each worker did and when, one row per worker. Here
# a worker computes its gradients back to back, about a hundred of them, with
# no gap between one and the next: over the whole run (top) they merge into
# one long bar. Zoom into the first 8 seconds (bottom, `window=(0, 8)`) and
# mark where each gradient ends (a white line), and each bar is one gradient:
# short ones and long ones, as exponential compute times are. (The figures of
# later lessons add communication and waiting.)

# %%
fig, (whole, zoom) = plt.subplots(2, 1, figsize=(8, 5), layout="constrained")
plots.timeline(first, ax=whole)
plots.timeline(first, ax=zoom, window=(0, 8))
computed = first.trace.of_kind("compute")
early = [e for e in computed if e.end <= 8]
zoom.vlines([e.end for e in early], [e.worker - 0.4 for e in early],
            [e.worker + 0.4 for e in early], color="white", linewidth=1.5)
zoom.set_title("the first 8 s: a white line marks the end of each gradient")
describe(zoom, f"Timeline of the first 8 simulated s, one row per worker: {len(early)} "
               "gradients in blue, each ended by a white line, some far longer than others.")
plt.show()
print("gradients per worker over the run:",
      [sum(e.worker == k for e in computed) for k in range(4)])
print(f"gradients finished in the first 8 s: {len(early)}")

# %% [markdown]
# ## Quizzes
#
# A quiz question appears as widgets: choose an option and press **Check**.
#
# - A **wrong** answer is marked ✗ and explains only the option you chose, so
#   you can think again: press **Try again**.
# - A **right** answer is marked ✓ and explains every option, the wrong ones
#   included.
# - **Show solution** gives the answer and every explanation at once, without
#   counting as an answer: use it when you are stuck.
#
# Right and wrong are said in words and marks, never by colour alone. The
# options appear shuffled (in the same order every time you open a question),
# and their letters A, B, C... follow the order you see. Try this one:

# %%
quiz.ask("00-simulated-time")

# %% [markdown]
# ## Reproducible runs
#
# The compute times of the first experiment were random. Before you run it
# again with the same `seed`, predict what you will get:

# %%
quiz.ask("00-same-seed")

# %% [markdown]
# Now run it again, compare every number of the loss history and of the
# trace, and run it once more with another seed:

# %%
again = asynclab.run(problem=problem, policy="async", workers=4, gradients=400, lr=0.5,
                     compute="exp:1", seed=0)
other_seed = asynclab.run(problem=problem, policy="async", workers=4, gradients=400, lr=0.5,
                          compute="exp:1", seed=1)
print("same seed, identical loss history:", again.history.loss == first.history.loss)
print("same seed, identical trace:", again.trace.rows == first.trace.rows)
print("seed 1 gives another run:", other_seed.trace.rows != first.trace.rows,
      f"(it takes {other_seed.summary.time:.4g} s instead of {s.time:.4g} s)")

# %% [markdown]
# ## Answering in code
#
# Without a notebook front end (a terminal, or CI) `quiz.ask` prints the
# question instead, with its options lettered in the order shown, and you
# answer in code with `quiz.answer(id, choice)`: a letter for a single choice,
# a list of letters for "choose all that apply", a number for a numeric
# question. The feedback is the widget's, and `answer` returns `True` or
# `False`.
#
# The run above has settled the question you just predicted, so here is the
# flow in code on that question: first a wrong answer (the tempting one about
# racing workers), which explains only that choice, then a second try.

# %%
quiz.answer("00-same-seed", "D")

# %%
quiz.answer("00-same-seed", "C")

# %% [markdown]
# Now a question of your own, with the widget or in code:

# %%
quiz.ask("00-gradients-in-time")

# %% [markdown]
# Your answers are saved on your machine (in `~/.asynclab/progress.json`, or
# under `$ASYNCLAB_HOME` if you set it), so you can see what you have done.
# What counts as an answer?

# %%
quiz.ask("00-answering")

# %%
quiz.progress(lesson=0)

# %% [markdown]
# The table already counts the demonstration above: one question answered
# and solved.

# %% [markdown]
# ## Coding exercises
#
# Some lessons ask you to write one small function that the engine also
# contains: a rule of a policy or a formula of the timing model. It takes
# three steps:
#
# - `exercise.show(id)` prints the task and the function to complete;
# - you write the function in the next cell;
# - `exercise.check(id, your_function)` runs the engine on many cases and
#   says whether your function predicts what the engine does, and if not,
#   the first case where it differs.
#
# `exercise.solution`, given the exercise's id, prints a worked solution. Ask
# for it only after you have tried: `check` already tells you where your function goes wrong. These
# are the exercises of the course:

# %%
for e in exercise.list_exercises():
    print(f"lesson {e['lesson']:02d}  {e['id']:20}  {e['title']}")

# %% [markdown]
# ## A fair comparison
#
# The course compares training methods, and a comparison is easy to get
# wrong. The later lessons hold every comparison to five rules:
#
# 1. **Each method at its own tuned learning rate and momentum.** Methods
#    tolerate different learning rates; one rate for all favours whichever it
#    happens to suit. Momentum (previewed in lesson 01) changes which rate is
#    best, so the two are tuned together: `asynclab.tune` tries every pair of
#    a grid and keeps the best.
# 2. **Tuning reads validation data, never the test data.** Where a lesson
#    scores a model on held-out examples, the settings are chosen on one set
#    of them (validation) and the result is reported on another (test); a
#    setting chosen on the test data has been fitted to it, and its score there
#    flatters it.
# 3. **Several seeds.** One run is one draw of random compute times and
#    minibatches. The two seeds above already differ by several seconds.
# 4. **Fresh seeds for the report.** The best of a grid, judged on the seeds
#    that chose it, looks better than it is: among many settings, one is
#    likely to have been lucky on those seeds. So the chosen setting is run
#    again on other seeds, and those runs are reported
#    (`asynclab.compare(..., tune=True)` does both).
# 5. **A confidence interval.** Over the report seeds, give the mean with its
#    95% interval, and call a difference real only when it is large compared
#    with the intervals (or when the interval of the seed-by-seed ratio of the
#    two methods' times leaves out 1).
#
# Here is the first experiment tuned over three learning rates and three
# momenta, with five seeds each. Each row is one pair: the time to reach a
# loss of 0.4 over the seeds that reached it, its 95% interval, how many seeds
# reached it and how many diverged. For times the mean is the *geometric*
# mean (the n-th root of the product of n times: the typical time, pulled up
# less by one slow seed than the plain mean), and the interval is computed on
# the logarithms of the times, so it never goes below zero and is as wide in
# ratio above the mean as below. A dash means that no seed reached the target
# at all: in those pairs the rate and the momentum together make steps too
# large for this problem, and their loss never came down to 0.4 (the lowest
# it went is printed below the table). You will read tables like this one in every
# lesson that compares.

# %%
tuning = asynclab.tune(problem=problem, policy="async", workers=4, gradients=400,
                       compute="exp:1", target_loss=0.4, lrs=[0.1, 0.5, 2.0],
                       momenta=[0, 0.5, 0.9], seeds=5)
print(tuning)
ranked = sorted((row for row in tuning.rows if row.ok), key=lambda row: row.rank_key())
best, runner_up = ranked[0].estimate, ranked[1].estimate
print(f"best: lr {tuning.best_lr:g}, momentum {tuning.best_momentum:g}; "
      f"its interval overlaps the runner-up's: {best.high >= runner_up.low}")
times = [[r.summary.time_to_target for r in tuning.runs[row.key]] for row in ranked[:2]]
lead = paired_ratio(*times)
print(f"best / runner-up, seed by seed: {lead}; holds 1: {lead.low <= 1 <= lead.high}")
missed = [row for row in tuning.rows if not row.ok]
lowest = min(min(r.history.loss) for row in missed for r in tuning.runs[row.key])
print("pairs no seed brought to 0.4:",
      ", ".join(f"lr {row.lr:g} with momentum {row.momentum:g}" for row in missed),
      f"| the lowest loss any of their runs reached: {lowest:.3f}")

# %% [markdown]
# The best pair wins on these five seeds, but its interval overlaps the
# runner-up's, and the seed-by-seed ratio of their times, 0.8469 [0.6916,
# 1.037], holds 1: five seeds cannot tell the two apart, and part of its lead
# may be luck on these very seeds. That is what rules 4 and 5 are for: the
# course's comparisons run each chosen setting again on fresh seeds, and
# compare on those (lessons 01 and 02 are the first to do it).

# %%
quiz.ask("00-fair-comparison")

# %% [markdown]
# A fair comparison costs many runs. Count them for a comparison of your own,
# with numbers you will not find above:

# %%
quiz.ask("00-runs-of-a-fair-comparison")

# %% [markdown]
# ## Explorations
#
# An exploration is a small dashboard: each control is a setting of the
# experiment; every change re-runs it on the simulated cluster and redraws the
# worker timeline and the loss curve. The curve of the settings *before* your
# change stays on the plot, dashed and grey, so you always compare with the
# last run. Try more workers, or the synchronous policy:

# %%
dashboard = explore(["workers", "policy", "compute"], policy="async", gradients=400)
dashboard

# %% [markdown]
# In a live notebook the controls sit above the figure. Run headless, or read
# on the course's website, you see only the figure the dashboard started
# with, as the lesson left it. Every dashboard can also be driven from code:
# its `redraw` method takes the same settings as the controls, re-runs the
# experiment and returns the new figure. The next cell sets eight workers
# instead of four, as moving the *workers* slider to 8 would, and prints the
# run in words:

# %%
dashboard.redraw(workers=8)
print(dashboard.text())
dashboard.figure

# %% [markdown]
# ## Summary
#
# - Lessons are notebooks: objectives, prerequisites, time, short
#   explanations, experiments, explorations, quizzes, exercises, a summary.
#   The glossary, references and cheat sheet sit beside them, and the whole
#   course is also a website.
# - The simulated cluster computes real gradients on a virtual clock; a run is
#   a function of its settings and its `seed`, reproducible bit for bit.
# - `quiz.ask(id)` shows a question; a wrong answer explains your choice and
#   lets you try again, a right one (or Show solution) explains every option.
#   `quiz.answer(id, choice)` does the same in code, with letters in the order
#   shown; `quiz.progress()` shows what you have done.
# - `exercise.show(id)` and `exercise.check(id, fn)` pose and check a coding
#   exercise; ask `exercise.solution` only after you have tried.
# - A fair comparison tunes each method's learning rate and momentum
#   together, on validation data, over several seeds; reports the chosen
#   setting on fresh seeds; and weighs the difference against its confidence
#   interval. Times are summarised by their geometric mean, with an interval
#   computed on the log scale.
# - `explore(...)` gives controls that re-run and redraw an experiment; its
#   `redraw(...)` does the same from code.
#
# Next: **01 · SGD on one worker**, the baseline every distributed run is
# compared with.
