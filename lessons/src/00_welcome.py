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
# 3. answer a quiz question with the widgets and in code, and see your progress;
# 4. use an exploration: controls that re-run an experiment and redraw it.

# %% [markdown]
# ## How the course works
#
# Each lesson is a notebook in `lessons/`. It starts with objectives, explains
# one idea at a time in short paragraphs, and backs every claim with an
# experiment you run in the notebook. Explorations let you change the
# settings and watch what happens; quiz questions check your understanding and
# explain every option, the wrong ones included. A summary closes the lesson.
#
# | lesson | topic |
# | --- | --- |
# | 00 | this welcome |
# | 01 | SGD on one worker: the baseline |
# | 02 | synchronous data-parallel SGD: barriers, stragglers, communication |
# | 03 | asynchronous updates: the parameter server without a barrier |
# | 04 | the price of asynchrony: staleness, divergence, staleness-aware steps |
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
from asynclab.course import quiz, explore

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
# The *timeline* shows what each worker did and when: blue bars are gradient
# computations. (The figures of later lessons add communication and waiting.)

# %%
plots.timeline(first)
plt.show()

# %% [markdown]
# The compute times are random, but drawn from generators seeded by `seed`.
# Run the same experiment again and compare every number of the loss history:

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
# ## Quizzes
#
# A quiz question appears as widgets: choose an option and press **Check**. The
# feedback says in words whether you are right (marked ✓ or ✗, never by colour
# alone) and explains *every* option. Try this one:

# %%
quiz.ask("00-simulated-time")

# %% [markdown]
# Without a notebook front end (a terminal, or CI) `quiz.ask` prints the
# question instead, and you answer in code with `quiz.answer(id, choice)`: a
# letter for a single choice, a list of letters for "choose all that apply", a
# number for a numeric question. The feedback is the same as the widget's and
# `answer` returns `True` or `False`.
#
# Here is an answer in code, deliberately wrong, to show what the feedback
# looks like. (This is the practice question; the real ones are yours.)

# %%
quiz.answer("00-gradients-in-time", 5)

# %% [markdown]
# Now answer it yourself, with the widget or in code:

# %%
quiz.ask("00-gradients-in-time")

# %% [markdown]
# Reproducibility, as you saw above, is a property worth being sure of:

# %%
quiz.ask("00-same-seed")

# %% [markdown]
# Your answers are saved on your machine (in `~/.asynclab/progress.json`, or
# under `$ASYNCLAB_HOME` if you set it), so you can see what you have done:

# %%
quiz.ask("00-answering")

# %%
quiz.progress(lesson=0)

# %% [markdown]
# `quiz.solution(id)` shows the answer and all explanations without counting as
# an attempt: use it after you have tried.

# %% [markdown]
# ## Explorations
#
# An exploration is a small dashboard: each control is a setting of the
# experiment; every change re-runs it on the simulated cluster and redraws the
# worker timeline and the loss curve. The curve of the settings *before* your
# change stays on the plot in grey, so you always compare with the last run.
# Try more workers, or the asynchronous policy:

# %%
dashboard = explore(["workers", "policy", "compute"], policy="async", gradients=400)
dashboard

# %% [markdown]
# (Without a front end you see the starting figure and a note instead of the
# controls.) Every dashboard can also be driven from code: `redraw` takes the
# same settings as the controls and returns the new figure. Eight workers
# instead of four:

# %%
dashboard.redraw(workers=8)
print(dashboard.text())
dashboard.figure

# %% [markdown]
# ## Summary
#
# - Lessons are notebooks: objectives, short explanations, experiments,
#   explorations, quizzes, a summary.
# - The simulated cluster computes real gradients on a virtual clock; a run is
#   a function of its settings and its `seed`, reproducible bit for bit.
# - `quiz.ask(id)` shows a question; `quiz.answer(id, choice)` answers it in
#   code with the same feedback; `quiz.progress()` shows what you have done.
# - `explore(...)` gives controls that re-run and redraw an experiment; its
#   `redraw(...)` does the same from code.
#
# Next: **01 · SGD on one worker**, the baseline every distributed run is
# compared with.
