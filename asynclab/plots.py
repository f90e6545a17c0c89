"""Figures of a run (matplotlib). Every function returns the Figure it drew on.

Pass ``ax=`` to draw into an existing Axes (dashboards do); otherwise a new
Figure is made. Each panel gets a short text description
(``plotstyle.description(fig)``), which notebooks attach to the PNG as alt
text. The look (Okabe-Ito colours, a line style and marker per series, plain
log-axis labels that never overlap) is in :mod:`asynclab.plotstyle`.

A timeline draws each kind of activity as one collection of bars; the
``Timeline`` object keeps them, so a dashboard updates their data instead of
drawing again (as matplotlib's animation examples do). Queueing for the server
or its link has its own colour; under overlap, a worker's background messages
(send, fetch) run on a thin second lane just below its row. A long run would
be a barcode of bars too thin to see: a timeline whose busiest row holds more
than ``READABLE`` gradients is drawn in ``SLICES`` slices of time instead, each
slice of a row filled with the share of it spent on each activity.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FixedLocator, MaxNLocator

from .config import parse_pair
from .plotstyle import (OKABE_ITO, SERIES_COLOURS, describe, readable_log_axis, series_style,
                        show_alt_text)
from .stats import t_quantile
from .trace import BACKGROUND, COMMUNICATION, COMPUTE, FAIL, QUEUE, WAIT, time_per_slice

# What a worker does -> (legend label, colour). The colours also differ in lightness.
KINDS = {
    COMPUTE: ("compute", OKABE_ITO["blue"]),
    "comm": ("communication", OKABE_ITO["orange"]),
    WAIT: ("idle (waiting)", "#D0D0D0"),
    QUEUE: ("queueing", OKABE_ITO["vermillion"]),
    "background": ("sent in background", OKABE_ITO["orange"]),
}
DRAWN_AS = {COMPUTE: (COMPUTE,), "comm": COMMUNICATION, WAIT: (WAIT,),  # -> trace kinds
            QUEUE: (QUEUE,), "background": BACKGROUND}
KIND_WORDS = {COMPUTE: "compute in blue", "comm": "communication in orange",
              WAIT: "waiting in light grey", QUEUE: "queueing for the server in vermillion",
              "background": "background messages in orange on a thin lane below each row"}
OPTIONAL = (QUEUE, "background")   # in a legend only when the run has them
# Rows: bars span ROW around a worker's row; under overlap the background lane takes
# the bottom of it.
ROW, LANE = (-0.4, 0.4), 0.25
MAX_WORKERS = 32      # rows a timeline shows at most
# A row of more gradients than READABLE has bars of a few pixels at most (about
# 400 pixels of axes in a dashboard): such a timeline is drawn in SLICES slices.
READABLE, SLICES = 120, 60

show_alt_text()       # in IPython: every Figure shown carries its description as alt text


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def _as_list(results):
    if isinstance(results, dict):
        return list(results.values())
    return list(results) if isinstance(results, (list, tuple)) else [results]


def check_window(window) -> tuple:
    """``(t0, t1)`` from a pair or ``"T0:T1"``; ValueError unless finite with t1 > t0."""
    t0, t1 = parse_pair("window", window, "T0:T1 (seconds, T0 < T1)")
    if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
        raise ValueError(f"window must have finite T0 < T1 (seconds), got {window!r}")
    return t0, t1


class Timeline:
    """The artists of a Gantt chart on one Axes: one row per worker, what it was doing
    when. Made once; ``update`` gives them the data of a run.

    The legend lists the kinds of activity the run shows (``legend="all"``: every
    kind, so that a dashboard's legend stays put from run to run; False: none).
    """

    def __init__(self, ax, legend=True, title=True):
        self.ax, self.legend, self.title = ax, legend, title
        ax.set_axisbelow(True)         # ticks point outwards: nothing to draw over the bars
        # One compound path per kind: every bar of that kind in a single draw call.
        self.bars = {key: ax.add_patch(PathPatch(
            _boxes(*np.zeros((3, 0)), *ROW), facecolor=colour, edgecolor="none", linewidth=0,
            antialiased=True)) for key, (label, colour) in KINDS.items()}
        self.lost = ax.plot([], [], linestyle="none", marker="X", color="black",
                            markersize=9, label="worker lost")[0]
        self._rows = self._shown = None

    def update(self, result, until=None, window=None, max_workers=MAX_WORKERS, slices=None):
        """Show ``result`` from ``window``'s t0 to t1 (default: the whole run), and
        only what happened before ``until``; returns the Axes. ``slices``: how many
        slices of time to draw each row in (0: every bar; default: ``SLICES`` if a
        row shows more than ``READABLE`` gradients, else every bar)."""
        if window is not None:
            t0, t1 = check_window(window)
        else:
            t0, t1 = 0.0, result.summary.time if until is None else until
        stop = t1 if until is None else min(t1, until)
        workers = min(result.config.workers, max_workers)
        columns = list(zip(*result.trace.rows))[:4] or [(), (), (), ()]
        w, kind, start, end = (np.asarray(c, dtype=t) for c, t in zip(columns, (int, str,
                                                                              float, float)))
        seen = (w >= 0) & (w < workers) & (start < stop) & (end >= t0)
        spans = {}
        for key, kinds in DRAWN_AS.items():
            pick = seen & np.isin(kind, kinds)
            spans[key] = (w[pick], np.maximum(start[pick], t0), np.minimum(end[pick], stop))
        lost = seen & (kind == FAIL)
        overlap = result.config.overlap
        lanes = {key: ((LANE, ROW[1]) if key == "background" else
                       (ROW[0], LANE) if overlap else ROW) for key in KINDS}
        if slices is None:
            busiest = np.bincount(spans[COMPUTE][0], minlength=1).max()
            slices = SLICES if busiest > READABLE else 0
        elif isinstance(slices, bool) or not isinstance(slices, int) or slices < 0:
            raise ValueError(f"slices must be a whole number >= 0 (0: every bar), got {slices!r}")
        slices = slices if t1 > t0 else 0
        if slices:
            edges = np.linspace(t0, t1, slices + 1)
            paths = _sliced(spans, lanes, workers, edges)
        else:
            paths = {key: _boxes(*spans[key], *lanes[key]) for key in KINDS}
        for key, bars in self.bars.items():
            bars.set_path(paths[key])
        self.lost.set_data(start[lost], w[lost])
        ax = self.ax
        if workers != self._rows:
            self._rows = workers
            ax.set_ylim(workers - 0.5, -0.5)
            ax.yaxis.set_major_locator(FixedLocator(range(workers)) if workers <= 8 else
                                       MaxNLocator(nbins=8, integer=True))
            ax.set_ylabel("worker")
            ax.yaxis.set_label_coords(-0.07, 0.5)    # fixed: no need to measure the labels
        ax.set_xlim(t0, t1 if t1 > t0 else t0 + 1e-12)
        ax.set_xlabel(f"time ({_time_unit(result)})")
        s = result.summary
        more = f" (first {workers} shown)" if workers < s.workers else ""
        if self.title:
            ax.set_title(f"{s.policy}: {s.workers} workers{more}, idle {s.idle_fraction:.0%} "
                         "of the time")
        lost = bool(lost.any())
        present = [key for key in KINDS if len(paths[key])]
        shown = tuple(key for key in KINDS if key in present
                      or (self.legend == "all" and key not in OPTIONAL))
        shown += ("lost",) if lost else ()
        if self.legend and shown != self._shown:
            self._shown = shown
            handles = [Patch(facecolor=KINDS[k][1], label=KINDS[k][0]) for k in shown
                       if k in KINDS] + ([self.lost] if lost else [])
            ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5),
                      frameon=False)
        describe(ax, f"Timeline of {s.policy} on {s.workers} workers{more}, from {t0:.4g} to "
                     f"{t1:.4g} {_time_unit(result)}, one row per worker: "
                     + ", ".join(KIND_WORDS[k] for k in present)
                     + (f"; in {slices} slices of {(t1 - t0) / slices:.3g} {_time_unit(result)}, "
                        "each filled with the share of it spent on each" if slices else "")
                     + ("; an X marks a lost worker" if lost else "")
                     + f". The workers were idle {s.idle_fraction:.0%} of the run.")
        return ax


def _boxes(w, start, end, low, high):
    """One Path of rectangles for workers' spans (start, end), from ``low`` to ``high``
    around each worker's row (numbers, or arrays with one entry per span)."""
    corners = np.empty((len(w), 5, 2))
    corners[:, :, 0] = np.stack([start, end, end, start, start], axis=1)
    corners[:, :, 1] = np.stack([w + low, w + low, w + high, w + high, w + low], axis=1)
    codes = np.tile([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY],
                    len(w))
    return Path(corners.reshape(-1, 2), codes.astype(Path.code_type))


def _sliced(spans, lanes, workers, edges):
    """Paths for each kind's spans (``{kind: (worker, start, end)}``) as slices of time
    between ``edges``: in each slice of a worker's lane, one box per kind whose height
    is the share of the slice spent on it, stacked in the order of KINDS."""
    width = np.diff(edges)
    filled = {}              # lane -> share of each (worker, slice) stacked so far
    paths = {}
    for key in KINDS:
        low, high = lanes[key]
        share = time_per_slice(*spans[key], workers, edges) / width
        below = filled.get((low, high), np.zeros_like(share))
        filled[low, high] = np.minimum(below + share, 1.0)
        w, i = np.nonzero(share > 0)
        paths[key] = _boxes(w, edges[i], edges[i + 1], low + (high - low) * below[w, i],
                            low + (high - low) * filled[low, high][w, i])
    return paths


def timeline(result, ax=None, until=None, window=None, max_workers=MAX_WORKERS, slices=None):
    """Gantt chart: one row per worker, what it was doing when.

    ``window=(t0, t1)`` zooms into that time span (seconds); ``until`` draws only
    what happened up to that time. Blank space is idle time in which the worker
    had nothing recorded. A row of more than ``READABLE`` gradients would be a
    barcode: the whole run is then drawn in ``SLICES`` slices of time, each filled
    with the share of it spent on each activity. ``slices`` sets their number (0:
    every bar); a ``window`` shows every bar unless ``slices`` is given.
    """
    workers = min(result.config.workers, max_workers)
    fig, ax = _axes(ax, (8, 0.4 * workers + 1.2))
    if slices is None and window is not None:
        slices = 0
    Timeline(ax).update(result, until=until, window=window, max_workers=max_workers,
                        slices=slices)
    return fig


def _label(item):
    r = item.results[0] if hasattr(item, "results") else item
    label = r.summary.policy
    if r.config.policy.gossip:
        label += f" ({r.config.topology})"
    if not r.config.partition.iid:
        label += f", {r.config.partition}"
    if r.summary.backend != "simulated":
        label += f" ({r.summary.backend})"
    if hasattr(item, "results"):
        label += f", lr {r.config.lr:g}, mean of {len(item.results)} seeds"
    return label


METRIC_LABELS = {"loss": ("loss (all data)", "target loss"),
                 "test_loss": ("loss (test data)", "target loss"),
                 "accuracy": ("accuracy (test data)", "target accuracy"),
                 "validation_loss": ("loss (validation data)", "target loss"),
                 "validation_accuracy": ("accuracy (validation data)", "target accuracy")}


def convergence(results, x="time", ax=None, target=None, until=None, log=None, level=0.95,
                metric="loss"):
    """``metric`` against ``x`` ("time", "updates" or "gradients") for one or more
    runs: "loss" (training), "test_loss" or "accuracy" (the test set),
    "validation_loss" or "validation_accuracy" (the validation set, which
    ``target_accuracy`` refers to). The y axis is logarithmic for losses and
    linear for accuracies unless ``log`` says otherwise.

    ``results`` may hold Results or ``Runs`` (one setting over several seeds, from
    ``compare(..., seeds=k)``): a Runs is drawn as its mean curve with a ``level``
    confidence band across seeds (the t-interval at each point; on a log axis a
    band reaching below zero is cut at the lowest seed's loss).
    """
    if x not in ("time", "updates", "gradients"):
        raise ValueError(f"x must be 'time', 'updates' or 'gradients', got {x!r}")
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_LABELS)}, got {metric!r}")
    log = not metric.endswith("accuracy") if log is None else log
    ylabel, target_label = METRIC_LABELS[metric]
    fig, ax = _axes(ax, (6, 3.5))
    items = _as_list(results)
    said = []
    for i, item in enumerate(items):
        runs = item.results if hasattr(item, "results") else [item]
        xs, mean, low, high = _curve(runs, x, until, level, metric)
        label = _label(item)
        ax.plot(xs, mean, label=label, linewidth=1.6, **series_style(i, len(xs)))
        if low is not None:
            ax.fill_between(xs, low, high, color=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                            alpha=0.2, linewidth=0)
        if len(mean):
            said.append(f"{label}: from {mean[0]:.3g} to {mean[-1]:.3g}"
                        + (f" with a {level:.0%} band" if low is not None else ""))
    if target is not None:
        ax.axhline(target, color="black", linestyle=":", linewidth=1, label=target_label)
    if log:
        readable_log_axis(ax)
    unit = f" ({_time_unit(_first(items))})" if x == "time" else ""
    xlabel = ("parameter updates" if x == "updates" else
              "gradients computed" if x == "gradients" else "time") + unit
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    describe(ax, f"{ylabel[0].upper() + ylabel[1:]}{' (log scale)' if log else ''} against "
                 f"{xlabel}. " + "; ".join(said) + "."
                 + (f" A dotted line marks the {target_label} {target:.3g}." if target else ""))
    return fig


def _first(items):
    return items[0].results[0] if hasattr(items[0], "results") else items[0]


def _curve(runs, x, until, level, metric="loss"):
    """x values, the mean of ``metric`` and its band (None for one run) of runs' histories.
    Several runs are interpolated onto one grid up to the shortest run's end, the range
    every seed covers."""
    curves = []
    for r in runs:
        xs = np.asarray(getattr(r.history, x), dtype=float)
        loss = np.array([np.nan if v is None else v for v in getattr(r.history, metric)],
                        dtype=float)
        if until is not None:
            keep = np.asarray(r.history.time) <= until
            xs, loss = xs[keep], loss[keep]
        curves.append((xs, loss))
    if len(curves) == 1:
        return curves[0][0], curves[0][1], None, None
    end = min(xs[-1] for xs, _ in curves if len(xs)) if all(len(c[0]) for c in curves) else 0
    grid = np.linspace(0.0, end, 101)
    losses = np.array([np.interp(grid, xs, loss) for xs, loss in curves])
    n = len(curves)
    mean = losses.mean(axis=0)
    half = t_quantile(0.5 + level / 2, n - 1) * losses.std(axis=0, ddof=1) / math.sqrt(n)
    low = mean - half
    if not metric.endswith("accuracy"):   # a log axis: a band below zero stops at the lowest seed
        low = np.where(low > 0, low, losses.min(axis=0))
    return grid, mean, low, mean + half


def staleness_histogram(results, ax=None):
    """How many updates each applied gradient missed, per run."""
    fig, ax = _axes(ax, (6, 3.5))
    runs = _as_list(results)
    top = max((int(r.trace.staleness().max(initial=0)) for r in runs), default=0)
    bins = np.arange(top + 2) - 0.5
    said = []
    for i, r in enumerate(runs):
        s = r.trace.staleness()
        style = series_style(i)
        label = f"{r.summary.policy} (mean {s.mean():.2f})" if len(s) else r.summary.policy
        ax.hist(s, bins=bins, histtype="stepfilled", alpha=0.25, color=style["color"])
        ax.hist(s, bins=bins, histtype="step", color=style["color"],
                linestyle=style["linestyle"], linewidth=1.6, label=label)
        said.append(label)
    ax.set_xlabel("staleness (updates missed)")
    ax.set_ylabel("gradients")
    ax.legend(frameon=False)
    describe(ax, "Histogram of staleness, the updates each applied gradient missed: "
                 + "; ".join(said) + ".")
    return fig


def utilisation(result, ax=None):
    """Stacked bars: the fraction of time each worker computed, communicated, idled."""
    fig, ax = _axes(ax, (6, 3))
    per = result.summary.per_worker
    workers = np.arange(len(per["compute"]))
    bottom = np.zeros(len(workers))
    for key, kind in (("compute", COMPUTE), ("comm", "comm"), ("idle", WAIT)):
        label, colour = KINDS[kind]
        ax.bar(workers, per[key], bottom=bottom, color=colour, edgecolor="white",
               linewidth=0.5, label=label)
        bottom += np.asarray(per[key])
    ax.set_xticks(workers)
    ax.set_xlabel("worker")
    ax.set_ylabel("fraction of run time")
    ax.set_ylim(0, 1)
    s = result.summary
    ax.set_title(f"{s.policy}: where the time went")
    ax.legend(frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    describe(ax, f"Stacked bars, one per worker of {s.policy}: the fraction of the run spent "
                 f"computing (blue, {s.compute_fraction:.0%} on average), communicating "
                 f"(orange, {s.comm_fraction:.0%}) and idle (light grey, "
                 f"{s.idle_fraction:.0%}).")
    return fig


def _time_unit(result):
    return "simulated s" if result.summary.backend == "simulated" else "s, wall clock"
