"""The course toolkit, built on the engine: quizzes, explorations, replays, the capstone.

    from asynclab.course import quiz, exercise, explore, replay

* :mod:`~asynclab.course.quiz` asks the questions of :mod:`~asynclab.course.questions`
  (data in ``quizbank/NN.json``), grades them and keeps a learner's progress.
* :func:`explore` (:mod:`~asynclab.course.explorations`): sliders that re-run the
  simulated cluster and redraw its timeline and loss curve; its controls, which of
  them apply and a policy's learning rate are in :mod:`~asynclab.course.controls`.
* :func:`replay` (:mod:`~asynclab.course.replays`): two runs side by side over time;
  headless, it stores an HTML animation (:mod:`~asynclab.course.animation`).
* :mod:`~asynclab.course.exercise`: short coding exercises, checked against the engine.
* :mod:`~asynclab.course.capstone`: the final exercise and its checker (the cluster in
  ``capstone_cluster``, its feedback in ``capstone_feedback``, the stored references in
  ``capstone_references``, re-tuned by ``python -m asynclab.course.tune_capstone``).
* :mod:`~asynclab.course.widgets`: what they share (the headless switch, figures as PNG).

Nothing in the engine (``asynclab`` outside this package) imports from here.

Importing it gives matplotlib the course's look (``asynclab.plotstyle.use_style``:
Okabe-Ito colours with a line style per series), so that the lessons' own plots
read without colour too; ``matplotlib.rcdefaults()`` undoes it. In IPython, figures
are shown as PNGs of twice their pixels (``asynclab.plotstyle.show_sharp_figures``),
sharp on high-DPI screens and on the course website.
"""
from ..plotstyle import show_sharp_figures, use_style
from . import capstone, exercise, quiz
from .explorations import Exploration, explore
from .replays import Replay, replay

__all__ = ["quiz", "exercise", "capstone", "explore", "Exploration", "replay", "Replay"]

use_style()
show_sharp_figures()
