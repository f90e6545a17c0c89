"""How long a dashboard takes to react: exploration redraws and replay frames,
against building and rendering a fresh figure of the same layout.

    python benchmarks/bench_widgets.py [--repeat 7]

Each exploration redraw is what one slider change costs with the default
dashboard (4 workers, 1000 gradients on the small logistic problem): the
simulated run, the update of the figure's artists and the PNG sent to the
browser. The baseline, measured in the same run, builds a new figure of the
same layout with the same runs (``plots.timeline`` and ``plots.convergence``
on fresh axes) and renders it to PNG: what a redraw would cost if it drew
again instead of updating (without even running the simulation).

Targets (issue 13): a redraw at most 0.1 s median and at most 0.5x the fresh
figure; replay frames the same. Wall time depends on what else the machine
runs, so CPU time of this process is printed beside it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import asynclab  # noqa: E402
from asynclab import plots  # noqa: E402
from asynclab.course.explorations import GRADIENTS, PROBLEM, explore  # noqa: E402
from asynclab.course.replays import replay  # noqa: E402
from asynclab.course.widgets import new_figure, panels, png  # noqa: E402

TARGET = 0.1        # seconds per redraw (median)
TARGET_RATIO = 0.5  # of a fresh figure of the same layout


def timed(action, repeat):
    """Median and worst wall and CPU seconds of ``action(i)`` over ``repeat`` calls."""
    wall, cpu = [], []
    for i in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        action(i)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), max(wall), statistics.median(cpu), max(cpu)


def report(name, figures, baseline=None):
    med, worst, cpu_med, cpu_worst = figures
    line = (f"{name:<46} wall median {med:6.3f} s (max {worst:6.3f})   "
            f"cpu median {cpu_med:6.3f} s (max {cpu_worst:6.3f})")
    if baseline is not None:
        ratio = med / baseline[0]
        ok = med <= TARGET and ratio <= TARGET_RATIO
        line += f"   {ratio:4.2f}x fresh   {'ok' if ok else 'SLOW'}"
    print(line)
    return figures


def fresh_exploration(result, previous):
    """A new figure of the exploration's layout with these runs, rendered to PNG."""
    fig = new_figure(8, 5.4)
    top, bottom = panels(fig, [1.15, 1])
    plots.timeline(result, ax=top)
    plots.convergence([previous, result], ax=bottom)
    return png(fig)


def fresh_replay(first, second):
    """A new figure of the replay's layout with these runs, rendered to PNG."""
    fig = new_figure(8, 6.2)
    axes = panels(fig, [1, 1, 1.2])
    plots.timeline(first, ax=axes[0])
    plots.timeline(second, ax=axes[1])
    plots.convergence([first, second], ax=axes[2])
    return png(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    n = args.repeat
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {n} repeats; "
          f"targets: median <= {TARGET} s and <= {TARGET_RATIO}x a fresh figure")

    ex = explore()
    ex.widget                       # build the controls so the PNG is made too
    print(f"exploration defaults: {ex.text()}")
    ex._controls["workers"].value = 8
    fresh = report("explore: fresh figure, same layout (baseline)",
                   timed(lambda i: fresh_exploration(ex.result, ex.previous), n))
    report("explore: workers back and forth 5/8 (re-run)",
           timed(lambda i: setattr(ex._controls["workers"], "value", 5 + i % 2 * 3), n), fresh)
    sweep = [2 + (3 * i) % 15 for i in range(n)]          # a new value every time: 2, 5, 8...
    report("explore: workers swept, new each time",
           timed(lambda i: setattr(ex._controls["workers"], "value", sweep[i]), n), fresh)
    report("explore: learning rate swept, new each time",
           timed(lambda i: setattr(ex._controls["lr"], "value", round(0.2 + 0.3 * i, 2)), n),
           fresh)
    report("explore: switch policy sync/async",
           timed(lambda i: setattr(ex._controls["policy"], "value",
                                   ("async", "sync")[i % 2]), n), fresh)
    report("explore: loss against updates/time (redraw)",
           timed(lambda i: setattr(ex._controls["x"], "value", ("updates", "time")[i % 2]), n),
           fresh)
    report("explore: run alone (no drawing)",
           timed(lambda i: asynclab.run(ex.config().replace(seed=i)), n))

    runs = asynclab.compare(["sync", "async"], problem=PROBLEM, gradients=GRADIENTS,
                            workers=4, lr=0.5)
    rp = replay(runs["sync"], runs["async"], frames=40, time=0)
    rp.widget
    fresh = report("replay: fresh figure, same layout (baseline)",
                   timed(lambda i: fresh_replay(runs["sync"], runs["async"]), n))
    report("replay: one Play step (frame)",
           timed(lambda i: setattr(rp.play, "value", (i * 7) % 40 + 1), n), fresh)


if __name__ == "__main__":
    main()
