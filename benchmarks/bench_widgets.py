"""How long a dashboard takes to react: exploration redraws and replay frames.

    python benchmarks/bench_widgets.py [--repeat 5]

Each exploration redraw is what one slider change costs with the default
dashboard (4 workers, 1000 gradients on the small logistic problem): the
simulated run, the drawing and the PNG sent to the browser. The target is
under 0.2 s. Wall time depends on what else the machine runs, so CPU time of
this process is printed beside it.
"""
from __future__ import annotations

import argparse
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import asynclab  # noqa: E402
from asynclab.course.explorations import GRADIENTS, PROBLEM, explore  # noqa: E402
from asynclab.course.replays import replay  # noqa: E402

TARGET = 0.2   # seconds per redraw


def timed(action, repeat):
    """Median and worst wall and CPU seconds of ``action()`` over ``repeat`` calls."""
    wall, cpu = [], []
    for i in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        action(i)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), max(wall), statistics.median(cpu), max(cpu)


def report(name, figures):
    med, worst, cpu_med, cpu_worst = figures
    verdict = "ok" if med < TARGET else "SLOW"
    print(f"{name:<44} wall median {med:6.3f} s (max {worst:6.3f})   "
          f"cpu median {cpu_med:6.3f} s (max {cpu_worst:6.3f})   {verdict}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    n = args.repeat

    ex = explore()
    ex.widget                       # build the controls so the PNG is made too
    print(f"exploration defaults: {ex.text()}")
    report("explore: change workers (re-run + redraw)",
           timed(lambda i: setattr(ex._controls["workers"], "value", 5 + i % 2 * 3), n))
    report("explore: switch policy sync/async",
           timed(lambda i: setattr(ex._controls["policy"], "value",
                                   ("async", "sync")[i % 2]), n))
    report("explore: loss against updates/time (redraw)",
           timed(lambda i: setattr(ex._controls["x"], "value", ("updates", "time")[i % 2]), n))
    report("explore: run alone (no drawing)",
           timed(lambda i: asynclab.run(ex.config().replace(seed=i)), n))

    runs = asynclab.compare(["sync", "async"], problem=PROBLEM, gradients=GRADIENTS,
                            workers=4, lr=0.5)
    rp = replay(runs["sync"], runs["async"], frames=40, time=0)
    rp.widget
    report("replay: one Play step (frame)",
           timed(lambda i: setattr(rp.play, "value", (i * 7) % 40 + 1), n))


if __name__ == "__main__":
    main()
