"""Figures of a run (matplotlib). Every function returns the Figure it drew on.

Pass ``ax=`` to draw into an existing Axes (dashboards do); otherwise a new
Figure is made. Colours: compute is blue, communication orange, waiting grey,
queueing for the server or its link red, and each kind also has its own
hatch, so the timeline reads without colour.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from .results import BACKGROUND, COMMUNICATION, COMPUTE, FAIL, QUEUE, WAIT

STYLE = {  # kind -> (label, colour, hatch)
    COMPUTE: ("compute", "#1f77b4", ""),
    "comm": ("communication", "#ff7f0e", "//"),
    WAIT: ("idle (waiting)", "#bbbbbb", ".."),
    QUEUE: ("queue (server or its link)", "#d62728", "xx"),
    "background": ("overlapped communication", "#ff7f0e", ""),
}
OPTIONAL = (QUEUE, "background")   # in the legend only when the run has them


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def _as_list(results):
    if isinstance(results, dict):
        return list(results.values())
    return list(results) if isinstance(results, (list, tuple)) else [results]


def timeline(result, ax=None, until=None, max_workers=32, plain=False):
    """Gantt chart: one row per worker, what it was doing when.

    ``until`` draws only what happened up to that time (the replay uses it).
    Blank space is idle time in which the worker had nothing recorded.
    ``plain`` leaves out the hatches and bar outlines, which cannot be seen on
    bars a few pixels wide and triple the time of a redraw (dashboards state
    the idle and communication fractions in words instead). Under overlap, a
    worker's background messages (send, fetch) run on a thin second lane
    just below its own.
    """
    fig, ax = _axes(ax, (8, 0.4 * min(result.config.workers, max_workers) + 1.2))
    workers = min(result.config.workers, max_workers)
    bars = {key: [[] for _ in range(workers)] for key in STYLE}
    background = result.config.overlap      # leave room for the thin lane
    fails = []
    for w, kind, start, end, *_ in result.trace.rows:
        if not 0 <= w < workers or (until is not None and start >= until):
            continue
        if kind == FAIL:
            fails.append((w, start))
            continue
        key = "comm" if kind in COMMUNICATION else "background" if kind in BACKGROUND else kind
        if key in bars:
            stop = end if until is None else min(end, until)
            bars[key][w].append((start, stop - start))
    for key, (label, colour, hatch) in STYLE.items():
        lane = (0.25, 0.15) if key == "background" else (-0.4, 0.65 if background else 0.8)
        for w in range(workers):
            if bars[key][w]:
                ax.broken_barh(bars[key][w], (w + lane[0], lane[1]), facecolors=colour,
                               hatch=None if plain else hatch, edgecolor="white",
                               linewidth=0 if plain else 0.2)
    for w, t in fails:
        ax.plot([t], [w], marker="X", color="black", markersize=9)
    ax.set_ylim(workers - 0.5, -0.5)
    ax.set_yticks(range(workers))
    ax.set_yticklabels([f"worker {w}" for w in range(workers)])
    ax.set_xlim(0, max(result.summary.time if until is None else until, 1e-12))
    ax.set_xlabel(f"time ({_time_unit(result)})")
    s = result.summary
    ax.set_title(f"{s.policy}: {s.workers} workers, idle {s.idle_fraction:.0%} of the time")
    handles = [Patch(facecolor=c, hatch=h, edgecolor="white", label=lbl)
               for key, (lbl, c, h) in STYLE.items()
               if key not in OPTIONAL or any(bars[key])]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig


METRIC_LABELS = {"loss": ("loss (all data)", "target loss"),
                 "test_loss": ("loss (held-out data)", "target loss"),
                 "accuracy": ("accuracy (held-out data)", "target accuracy")}


def convergence(results, x="time", ax=None, target=None, until=None, log=None, metric="loss"):
    """``metric`` ("loss", "test_loss" or "accuracy") against ``x`` ("time",
    "updates" or "gradients") for one or more runs. The y axis is logarithmic
    for losses and linear for accuracy unless ``log`` says otherwise."""
    if x not in ("time", "updates", "gradients"):
        raise ValueError(f"x must be 'time', 'updates' or 'gradients', got {x!r}")
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_LABELS)}, got {metric!r}")
    fig, ax = _axes(ax, (6, 3.5))
    for r in _as_list(results):
        xs = np.asarray(getattr(r.history, x), dtype=float)
        ys = np.array([np.nan if v is None else v for v in getattr(r.history, metric)],
                      dtype=float)
        if until is not None:
            keep = np.asarray(r.history.time) <= until
            xs, ys = xs[keep], ys[keep]
        ax.plot(xs, ys, label=f"{r.summary.policy} ({r.summary.backend})"
                if r.summary.backend != "simulated" else r.summary.policy, linewidth=1.6)
    ylabel, target_label = METRIC_LABELS[metric]
    if target is not None:
        ax.axhline(target, color="black", linestyle=":", linewidth=1, label=target_label)
    if log if log is not None else metric != "accuracy":
        ax.set_yscale("log")
    unit = f" ({_time_unit(_as_list(results)[0])})" if x == "time" else ""
    ax.set_xlabel(("parameter updates" if x == "updates" else
                   "gradients computed" if x == "gradients" else "time") + unit)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    return fig


def staleness_histogram(results, ax=None):
    """How many updates each applied gradient missed, per run."""
    fig, ax = _axes(ax, (6, 3.5))
    runs = _as_list(results)
    top = max((int(r.trace.staleness().max(initial=0)) for r in runs), default=0)
    bins = np.arange(top + 2) - 0.5
    for r in runs:
        s = r.trace.staleness()
        ax.hist(s, bins=bins, alpha=0.6, label=f"{r.summary.policy} (mean {s.mean():.2f})"
                if len(s) else r.summary.policy)
    ax.set_xlabel("staleness (updates missed)")
    ax.set_ylabel("gradients")
    ax.legend(frameon=False)
    return fig


def utilisation(result, ax=None):
    """Stacked bars: the fraction of time each worker computed, communicated, idled."""
    fig, ax = _axes(ax, (6, 3))
    per = result.summary.per_worker
    workers = np.arange(len(per["compute"]))
    bottom = np.zeros(len(workers))
    for key, colour_key in (("compute", COMPUTE), ("comm", "comm"), ("idle", WAIT)):
        label, colour, hatch = STYLE[colour_key]
        ax.bar(workers, per[key], bottom=bottom, color=colour, hatch=hatch,
               edgecolor="white", label=label)
        bottom += np.asarray(per[key])
    ax.set_xticks(workers)
    ax.set_xlabel("worker")
    ax.set_ylabel("fraction of run time")
    ax.set_ylim(0, 1)
    ax.set_title(f"{result.summary.policy}: where the time went")
    ax.legend(frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def _time_unit(result):
    return "simulated s" if result.summary.backend == "simulated" else "s, wall clock"
