"""What the command line prints for people: a run's summary, ``compare``'s table,
``tune``'s text, and the reports of ``validate`` and ``calibrate``.

Every time carries its unit, simulated or wall-clock seconds
(:mod:`asynclab.durations`), in plain notation. A policy run with several
seeds (a :class:`~asynclab.tuning.Runs`) shows means over its seeds and the
95% intervals of its times; a single run is the same with one seed.
"""
from __future__ import annotations

import math

from .durations import clock, reading, seconds
from .runs import Runs
from .tuning import metric_value

__all__ = ["summary_text", "comparison_table", "tuning_text", "validation_text",
           "calibration_text"]

LABEL = 20      # width of the labels in a run's summary


def summary_text(result) -> str:
    """A run's summary: what was run (the settings used) and what it gave."""
    s, config = result.summary, result.config
    rows = [("problem", _problem_text(config.problem)),
            ("settings", ", ".join(_settings(config))),
            ("cluster", ", ".join(_cluster(config))),
            ("time", reading(s.time, s.backend)),
            ("gradients / updates", f"{s.gradients:,} / {s.updates:,}"
             + (f" ({s.dropped:,} dropped)" if s.dropped else "")),
            ("loss", f"{s.initial_loss:.4g} -> {s.final_loss:.4g}"
             + ("  DIVERGED" if s.diverged else "")),
            ("staleness", f"mean {s.mean_staleness:.3g}, max {s.max_staleness} updates"),
            ("time split", (f"compute {s.compute_fraction:.1%}, communication "
                            f"{s.comm_fraction:.1%}, idle {s.idle_fraction:.1%}"))]
    if s.queue_fraction or s.overlap_fraction:
        rows.append(("idle split", (f"waiting {s.wait_fraction:.1%}, queueing "
                                    f"{s.queue_fraction:.1%}; communication hidden behind "
                                    f"computing {s.overlap_fraction:.1%}")))
    rows.append(("gradients/s", f"{seconds(s.gradients_per_second)} per {clock(s.backend)}"))
    rows.append(("bytes sent", f"{s.bytes_sent:,.0f} (pushed {s.bytes_pushed:,.0f}, pulled "
                               f"{s.bytes_pulled:,.0f})"))
    if s.final_accuracy is not None:
        rows.append(("accuracy", f"validation {s.final_validation_accuracy:.2%}, "
                                 f"test {s.final_accuracy:.2%}"))
    if config.target_loss is not None:
        rows.append(("time to target", _reached(s.time_to_target, s.backend)
                     + f" (loss {config.target_loss:g})"))
    if config.target_accuracy is not None:
        rows.append(("time to accuracy", _reached(s.time_to_accuracy, s.backend)
                     + f" (validation accuracy {config.target_accuracy:g})"))
    if s.client_drift is not None:
        rows.append(("client drift", f"{s.client_drift:.4g} (local models' mean distance from "
                                     "their average, before it)"))
    if s.consensus_distance is not None:
        rows.append(("consensus distance", f"{s.consensus_distance:.4g} (workers' models' mean "
                                           "distance from their average)"))
    if s.failed_workers:
        rows.append(("failed workers", ", ".join(map(str, s.failed_workers))))
    if s.nodes:
        rows.append(("nodes", "; ".join(
            f"{k}: workers {', '.join(map(str, workers))}"
            + (" (lost)" if k in s.lost_nodes else "") for k, workers in enumerate(s.nodes))))
    head = f"{s.policy} on {s.backend}: {s.workers} workers, seed {s.seed}"
    return "\n".join([head] + [f"  {label:<{LABEL}}{text}" for label, text in rows])


def _reached(value, backend):
    return "never" if value is None else reading(value, backend)


def _problem_text(problem) -> str:
    text = problem.name
    if getattr(problem, "dataset", None):
        hidden = getattr(problem, "hidden", ())
        text += (f" (hidden {','.join(map(str, hidden))})" if hidden else "") + \
            f" on {problem.dataset}"
    text += f": {problem.dim:,} parameters, {problem.train_examples:,} training examples"
    return text + (f", {problem.test_examples:,} held out" if problem.test_examples else "")


def _settings(c):
    yield f"lr {c.lr:g}"
    yield f"batch {c.batch}"
    yield f"momentum {c.momentum:g}"
    yield f"budget {c.gradients:,} gradients"
    if c.staleness_aware:
        yield "staleness-aware steps"
    if c.policy.outer is not None:
        yield "outer lr {:g}, outer momentum {:g}".format(*c.policy.outer)
    if c.policy.gossip:
        yield f"topology {c.topology}"
    if not c.partition.iid:
        yield f"partition {c.partition}"


def _cluster(c):
    """The cluster's settings: the simulated times, and the communication set."""
    if c.backend == "simulated":
        yield f"compute {c.compute} s per gradient"
        if c.apply_time:
            yield f"server apply {c.apply_time:g} s"
    elif c.delay is not None:
        yield f"injected delay {c.delay} s per gradient"
    if c.straggler:
        yield f"stragglers {c.straggler[0]:g}:{c.straggler[1]:g}"
    if c.speeds:
        yield f"speeds {','.join(f'{x:g}' for x in c.speeds)}"
    number = isinstance(c.latency, (int, float))     # else a law, such as exp:0.05
    yield f"latency {c.latency:g} s" if number else f"latency {c.latency} s"
    if math.isfinite(c.bandwidth):
        yield f"bandwidth {c.bandwidth:g} B/s"
    if math.isfinite(c.server_bandwidth):
        yield f"server link {c.server_bandwidth:g} B/s"
    if c.overlap:
        yield "overlap"
    if c.compress.kind != "none":
        feedback = c.compress.error_feedback(c.error_feedback)
        yield f"compress {c.compress} (error feedback {'on' if feedback else 'off'})"
    if c.fail:
        yield "fail " + ",".join(f"{w}:{after}" for w, after in c.fail)


# -- compare's table --------------------------------------------------------------------------
def comparison_table(results: dict) -> str:
    """One row per policy, units on the line under the names, then notes."""
    runs = [r if isinstance(r, Runs) else Runs(r.config, (r,)) for r in results.values()]
    first = runs[0].results[0]
    unit = clock(first.summary.backend)
    several = any(len(r.results) > 1 for r in runs)
    columns = [("policy", "", lambda r: r.policy), ("lr", "", lambda r: f"{r.config.lr:g}")]
    if several:
        columns.append(("seeds", "", lambda r: str(len(r.results))))
    columns += [("time", unit, lambda r: _time_cell(r.estimate("time"))),
                ("updates", "", lambda r: f"{r.estimate('updates').mean:,.0f}"),
                ("final loss", "training", lambda r: _mean_cell(r.estimate("final_loss"), ".4g"))]
    targets = [("target_loss", "time_to_target", "to target"),
               ("target_accuracy", "time_to_accuracy", "to accuracy")]
    if first.summary.final_accuracy is not None:
        columns.append(("accuracy", "validation",
                        lambda r: _mean_cell(r.estimate("final_validation_accuracy"), ".1%")))
        columns.append(("accuracy", "test",
                        lambda r: _mean_cell(r.estimate("final_accuracy"), ".1%")))
    for setting, field, name in targets:
        if getattr(first.config, setting) is not None:
            columns.append((name, unit, lambda r, f=field: _time_cell(r.estimate(f))))
            if several:
                columns.append(("reached", "seeds", lambda r, f=field: _reached_cell(r, f)))
    for field, name in (("client_drift", "drift"), ("consensus_distance", "consensus")):
        if any(getattr(r.results[0].summary, field) is not None for r in runs):
            columns.append((name, "distance", lambda r, f=field: _mean_cell(r.estimate(f), ".3g")))
    columns += [("staleness", "updates", lambda r: f"{r.estimate('mean_staleness').mean:.3g}"),
                ("idle", "of time", lambda r: f"{r.estimate('idle_fraction').mean:.0%}"),
                ("gradients", f"per {unit}",
                 lambda r: seconds(r.estimate("gradients_per_second").mean))]
    rows = [[name for name, _, _ in columns], [u for _, u, _ in columns]]
    rows += [[cell(r) for _, _, cell in columns] for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(text.rjust(w) for text, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + _notes(runs, several))


def _time_cell(e):
    if e.n == 0:
        return "-"
    interval = f" [{seconds(e.low, 3)}, {seconds(e.high, 3)}]" if e.n > 1 else ""
    return seconds(e.mean) + interval


def _mean_cell(e, form):
    return "-" if e.n == 0 else format(e.mean, form)


def _reached_cell(runs, field):
    reached = sum(metric_value(r, field) is not None for r in runs.results)
    return f"{reached}/{len(runs.results)}"


def _notes(runs, several):
    notes = []
    if several:
        notes.append("Means over the seeds, and [the 95% interval] of each time (a time to "
                     "a target: over the seeds that reached it).")
    for r in runs:
        diverged = sum(x.summary.diverged for x in r.results)
        if diverged:
            notes.append(f"{r.policy}: {diverged} of {len(r.results)} runs diverged (their "
                         "losses are left out).")
        if r.tuning is not None:
            lrs = ", ".join(f"{row.lr:g}" for row in r.tuning.rows)
            edge = (": at the edge of the grid, try rates beyond it" if r.tuning.at_edge
                    else "")
            notes.append(f"{r.policy}: lr {r.config.lr:g} is the best of {lrs} by "
                         f"{r.tuning.metric}{edge}.")
    return notes


def tuning_text(tunings, backend) -> str:
    """``tune``'s text: the unit of its times, each policy's table of rates, and a last
    line with each policy's best rate."""
    unit = f"Times in {clock(backend)}.\n\n" if tunings[0].metric.startswith("time") else ""
    return unit + "\n\n".join(map(str, tunings)) + "\n\n" + _best_rates(tunings, backend)


def _best_rates(tunings, backend) -> str:
    """Each policy's best rate and its metric, with units."""
    parts = []
    for t in tunings:
        text = f"{t.policy} at lr {t.best_lr:g}"
        if t.best.momentum is not None:          # momentum was tuned with the rate
            text += f", momentum {t.best_momentum:g}"
        if t.reached:
            mean = t.best.estimate.mean
            value = reading(mean, backend) if t.metric.startswith("time") else f"{mean:.4g}"
            text += f", {t.metric.replace('_', ' ')} {value}"
        parts.append(text)
    return "best: " + "; ".join(parts)


# -- validate and calibrate ---------------------------------------------------------------------
GOAL = "a median |error| of at most 10% on a quiet machine, 15% on a busy one"


def validation_text(v) -> str:
    """``validate``'s report: the overheads calibration found, one row per cell, the
    median and largest |error|, and the cells not run."""
    load = " -> ".join("?" if x is None else f"{x:g}" for x in v.load_average)
    lines = [f"Real runs against the simulator: error = real time / simulated time - 1 "
             f"(load average {load})."]
    measured = [(b, n, o) for b, by_workers in v.overheads.items()
                for n, o in by_workers.items() if o.per_gradient or o.per_message]
    if measured:
        lines.append("Calibrated on a reference run per backend and number of workers (async, "
                     "seed 1): beyond the injected sleeps, a real worker spent")
        lines += [f"  {b:8} {n} workers: {o.per_gradient * 1e3:.3g} ms per gradient, "
                  f"{o.per_message * 1e3:.3g} ms per message, {o.apply_time * 1e3:.3g} ms per "
                  "apply" for b, n, o in measured]
    rows = [("backend", "policy", "workers", "overlap", "compute", "latency", "simulated",
             "real", "error", "uncalibrated", "staleness", "computing"),
            ("", "", "", "", "law", "law", "s", "wall-clock s", "", "error", "sim / real",
             "sim / real")]
    for cell in v.cells:
        c, sim, real = cell.config, cell.simulated, cell.real
        rows.append((cell.backend, str(c.policy), str(c.workers), "yes" if c.overlap else "no",
                     str(c.compute), str(c.latency), seconds(sim.time), seconds(real.time),
                     f"{cell.error:+.1%}", f"{cell.nominal_error:+.1%}",
                     f"{sim.mean_staleness:.2f} / {real.mean_staleness:.2f}",
                     f"{sim.compute_fraction:.0%} / {real.compute_fraction:.0%}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.append("")
    lines += ["  ".join(text.ljust(w) if i in (0, 1, 3, 4, 5) else text.rjust(w)
                        for i, (text, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    if v.cells:
        worst = v.worst
        lines += ["", f"median |error| {v.median_abs_error:.1%}, largest {v.max_abs_error:.1%} "
                      f"({worst.backend}, {worst.config.policy}, {worst.config.workers} workers"
                      f"{', overlap' if worst.config.overlap else ''}, compute "
                      f"{worst.config.compute}); goal: {GOAL}."]
    for fields, reason in v.skipped:
        where = ", ".join(f"{k} {val}" for k, val in fields.items())
        lines.append(f"skipped ({where}): {reason}")
    return "\n".join(lines)


def calibration_text(found, path, command_line) -> str:
    """``calibrate``'s report: what was fitted and why, then the Config as Python and as flags."""
    source, config = found.source, found.config
    load = source.get("load_average")
    lines = [f"Calibrated on {path}: {source['policy']} on {source['backend']}, "
             f"{source['workers']} workers, seed {source['seed']}, {source['gradients']:,} "
             f"gradients in {reading(source['time'], source['backend'])}"
             + (f" (load average {load[0]:g})." if load else "."),
             f"  compute   {config.compute} s per gradient: {found.compute.samples:,} gradients, "
             f"{found.compute.reason}"]
    if found.message is None:
        lines.append("  messages  none recorded: latency 0")
    else:
        lines.append(f"  messages  latency {config.latency} s: {found.message.samples:,} "
                     f"messages, {found.message.reason}")
    lines.append("  speeds    " + (", ".join(f"{x:g}" for x in config.speeds) if config.speeds
                                   else "1 for every worker (none off by more than 5% and "
                                        "3 standard errors of its mean)"))
    if found.between:
        lines.append(f"  between   {found.between * 1e3:.3g} ms per gradient between recorded "
                     "events, in the compute law's mean")
    if config.apply_time:
        lines.append(f"  apply     {config.apply_time * 1e3:.3g} ms per gradient at the server")
    lines += ["", "The simulated run that predicts it, in Python:", "  " + found.python,
              "and on the command line:", "  " + command_line,
              "To predict another run, change its seed, workers or gradients."]
    return "\n".join(lines)
