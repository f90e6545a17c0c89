"""Command line: what ``asynclab run``, ``compare``, ``tune``, ``validate``,
``calibrate`` and ``quiz`` do (what they accept is asynclab.cli_flags, what they
print for people asynclab.cli_text).

Bad input exits with status 2 and one line naming the value and what is
allowed; a run that cannot go on (a sync run that lost a worker) exits 1 with
one line naming the worker.

Progress: by default a bar appears on stderr only on a terminal (stdout and
stderr both TTYs), never with --json, and only once the work has lasted
cli_flags.PROGRESS_AFTER seconds, so a short run prints none and a long one
shows how far it is. ``tune`` and ``compare`` show one bar over all their runs.
--progress shows it at once, wherever the output goes; --no-progress never.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import sys

from . import cli_flags
from .cli_flags import PROBLEM_OPTIONS, UsageError, parse
from .cli_text import (calibration_text, comparison_table, summary_text, tuning_text,
                       validation_text)
from .config import Config
from .files import check_writable, write_whole
from .server import StalledError, WorkerError
from .runs import Runs


def _on_terminal():
    return sys.stdout.isatty() and sys.stderr.isatty()


def _progress(args):
    """Config.progress: as --progress/--no-progress say, else a bar after PROGRESS_AFTER
    seconds on a terminal and none in --json output or a pipe (see the docstring)."""
    if args.progress is not None:
        return args.progress
    return cli_flags.PROGRESS_AFTER if not args.json and _on_terminal() else False


def _config(args, policy) -> Config:
    from .problems import make_problem
    options = {field: getattr(args, flag) for flag, field in PROBLEM_OPTIONS.items()
               if getattr(args, flag) is not None}
    try:
        problem = make_problem(args.problem, **options)
    except ValueError as err:
        # Options are fields in Python and flags here: name them as flags.
        message = str(err)
        for flag, field in PROBLEM_OPTIONS.items():
            if message.startswith(f"{field} does not apply"):
                message = "--" + flag.replace("_", "-") + message[len(field):]
        raise ValueError(message) from None
    speeds = ()
    if args.speeds:
        try:
            speeds = tuple(float(x) for x in args.speeds.split(","))
        except ValueError:
            raise ValueError(f"--speeds must be numbers separated by commas, got {args.speeds!r}")
    outer = dict(outer_lr=args.outer_lr, outer_momentum=args.outer_momentum)
    if not _diloco(policy) and any(_diloco(p) for p in args.policy.split(",")):
        outer = {}       # compare: the outer optimiser's flags are its diloco policies'
    return Config(problem=problem, policy=policy, backend=args.backend, workers=args.workers,
                  gradients=args.gradients, lr=args.lr, batch=args.batch, seed=args.seed,
                  staleness_aware=args.staleness_aware, momentum=args.momentum,
                  compute=args.compute, speeds=speeds,
                  straggler=args.straggler, latency=args.latency, bandwidth=args.bandwidth,
                  server_bandwidth=args.server_bandwidth, overlap=args.overlap,
                  buckets=args.buckets, backward_fraction=args.backward_fraction,
                  compress=args.compress, error_feedback=args.error_feedback,
                  apply_time=args.apply_time, delay=args.delay, fail=args.fail or (),
                  target_loss=args.target_loss, target_accuracy=args.target_accuracy,
                  eval_points=args.eval_points,
                  progress=_progress(args), address=args.address, shards=args.shards,
                  ray_batch=args.ray_batch, ray_nodes=args.ray_nodes, fail_node=args.fail_node,
                  partition=args.partition, topology=args.topology, **outer)


def _diloco(policy) -> bool:
    return isinstance(policy, str) and policy.startswith("diloco:")


def _checked_config(args, policy) -> Config:
    """The Config, checked by its backend too; bad input becomes a usage error."""
    from .backends import check_config
    try:
        config = _config(args, policy)
        check_config(config)
    except (ValueError, ImportError) as err:
        raise UsageError(str(err)) from None
    return config


def _plot(results, path, target, target_accuracy, window=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plots
    # A policy run with several seeds draws the timeline of its first seed.
    firsts = [getattr(r, "results", (r,))[0] for r in results.values()]
    n = len(results)
    curves = 2 if any(r.summary.final_accuracy is not None for r in firsts) else 1
    fig, axes = plt.subplots(n + curves, 1, figsize=(9, 2.2 * n + 3 * curves),
                             layout="constrained")
    for ax, r in zip(axes, firsts):
        plots.timeline(r, ax=ax, window=window)
    plots.convergence(results, ax=axes[n], target=target)
    if curves == 2:
        plots.convergence(results, ax=axes[n + 1], target=target_accuracy,
                          metric="validation_accuracy")
    try:
        _save(fig, path)
    finally:
        plt.close(fig)


def _save(fig, path):
    """Write ``fig`` to ``path`` whole or not at all (see asynclab.files)."""
    _written("the plot", path, lambda: write_whole(
        path, lambda f: fig.savefig(f, dpi=100, format=_plot_format(path)), binary=True))


def _written(what, path, write):
    """``write()``; an OSError while it writes (a full disk, say) is one line, exit 2."""
    try:
        return write()
    except OSError as err:
        raise UsageError(f"cannot write {what} to {path!r}: {err.strerror or err}") from None


def _plot_format(path):
    """The image format ``--plot`` names by its extension (none: PNG)."""
    return os.path.splitext(path)[1][1:].lower() or "png"


def _check_plot(path):
    """Refuse a ``--plot`` path that cannot be written, before anything runs."""
    from matplotlib.backend_bases import FigureCanvasBase

    _usage_on_value_error(check_writable, path, "the plot")
    formats = FigureCanvasBase.get_supported_filetypes()
    if _plot_format(path) not in formats:
        raise UsageError(f"cannot write the plot to {path!r}: its extension must name an "
                         f"image format ({', '.join(sorted(formats))})")


def _started(work, backend):
    """``work()``, which runs experiments. What a backend can only find out when it
    starts (an optional package missing, a cluster address where nothing
    answers, too little shared memory) is reported like bad input: one line, exit 2."""
    from .backends.sharedmem import NotEnoughSharedMemory
    try:
        return work()
    except (ImportError, NotEnoughSharedMemory) as err:
        raise UsageError(str(err)) from None
    except ValueError as err:
        if backend == "simulated":    # everything was checked up front: a bug
            raise
        raise UsageError(str(err)) from None


def _cmd_run(args):
    from .experiment import run
    config = _checked_config(args, args.policy)
    for path, what in ((args.chrome_trace, "the trace"), (args.save, "the run")):
        if path is not None:
            _usage_on_value_error(check_writable, path, what)
    result = _started(lambda: run(config), config.backend)
    if args.chrome_trace:
        from .chrome_trace import write
        _written("the trace", args.chrome_trace, lambda: write(result, args.chrome_trace))
    if args.save:
        from .calibration import saved_run
        text = json.dumps(saved_run(result))
        _written("the run", args.save, lambda: write_whole(args.save, lambda f: f.write(text)))
    print(json.dumps(result.to_dict()["summary"]) if args.json else summary_text(result))
    if args.chrome_trace and not args.json:
        print(f"trace written to {args.chrome_trace} (open it at https://ui.perfetto.dev)")
    if args.save and not args.json:
        print(f"run saved to {args.save} (calibrate the simulator on it: asynclab calibrate "
              f"{args.save})")


def _usage_on_value_error(check, *values):
    """``check(*values)``; its ValueError becomes a usage error (exit 2, one line)."""
    try:
        return check(*values)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _policies(args):
    from .policies import parse_policy_list
    return _usage_on_value_error(parse_policy_list, args.policy, "--policy")


def _many_runs(args):
    """The Configs (one per policy), the seeds, the rates to try and the metric, all
    checked: nothing runs before every run of the batch is known to be valid."""
    from . import limits, tuning
    from .parallel import check_jobs, seed_list
    configs = [_checked_config(args, p) for p in _policies(args)]
    _usage_on_value_error(check_jobs, args.jobs)
    if args.jobs > 1 and configs[0].backend != "simulated":
        raise UsageError(f"--jobs {args.jobs}: only simulated runs go to worker processes "
                         f"(the {configs[0].backend} backend measures wall-clock time, which "
                         "runs side by side would distort); use --jobs 1")
    lrs = None if args.lrs is None else _numbers("--lrs", args.lrs)
    momenta = None if args.momenta is None else _numbers("--momenta", args.momenta)
    metric = args.metric or "time_to_target"
    seeds = 3 if args.tune and args.seeds is None else args.seeds
    if args.tune:
        _usage_on_value_error(lambda: tuning.plan(configs, lrs=lrs, momenta=momenta,
                                                  seeds=seeds, metric=metric))
    else:
        _usage_on_value_error(lambda: limits.check_batch(configs if seeds is None else [
            c.replace(seed=s) for c in configs for s in seed_list(c, seeds)]))
    return configs, seeds, dict(lrs=lrs, momenta=momenta, metric=metric)


def _report_seeds(text):
    """--report-seeds: a count K, or seeds separated by commas."""
    if text is None:
        return None
    if not re.fullmatch(r"\d+(,\d+)*", text):
        raise UsageError("--report-seeds must be a count K or seeds separated by commas "
                         f"(whole numbers), got {text!r}")
    seeds = [int(x) for x in text.split(",")]
    return seeds if "," in text else seeds[0]


def _numbers(flag, text):
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"{flag} must be numbers separated by commas, got {text!r}") from None


def _cmd_compare(args):
    from .experiment import compare
    from .experiment import check_compare
    if not args.tune:
        for flag, value in (("--lrs", args.lrs), ("--metric", args.metric),
                            ("--momenta", args.momenta), ("--report-seeds", args.report_seeds)):
            if value is not None:
                raise UsageError(f"{flag} goes with --tune; without it every policy runs at "
                                 f"--lr {args.lr:g} and --momentum {args.momentum:g}")
    configs, seeds, tuning = _many_runs(args)
    fair = dict(report_seeds=_report_seeds(args.report_seeds), baseline=args.baseline)
    if args.baseline is not None and seeds is None:
        seeds = 3          # a paired ratio needs several seeds
    if args.tune or args.baseline is not None:
        _usage_on_value_error(lambda: check_compare(configs, seeds=seeds, tune=args.tune,
                                                    **tuning, **fair))
    window = None
    if args.window:
        from .plots import check_window
        window = _usage_on_value_error(check_window, args.window)
    if args.plot is not None:
        _check_plot(args.plot)
    base = next((c for c in configs if c.policy.outer), configs[0])   # with --outer-lr
    results = _started(lambda: compare(
        [str(c.policy) for c in configs], base, seeds=seeds, tune=args.tune,
        jobs=args.jobs, **(tuning if args.tune else {}), **fair), configs[0].backend)
    if args.json:
        print(json.dumps([r.to_dict() if isinstance(r, Runs) else r.to_dict()["summary"]
                          for r in results.values()]))
    else:
        print(comparison_table(results))
        paired = [str(r.paired) for r in results.values() if getattr(r, "paired", None)]
        if paired:
            print("\n".join(["", "paired, seed by seed:"] + paired))
    if args.plot:
        _plot(results, args.plot, args.target_loss, args.target_accuracy, window)
        if not args.json:
            print(f"plots written to {args.plot}")
    if len(configs) > 1 and not args.tune:     # the caveat, under the table
        sys.stdout.flush()
        print(f"asynclab: warning: every policy ran at the same untuned rate (--lr "
              f"{args.lr:g}), but each has its own best rate; for a fair comparison add "
              "--tune (with --target-loss)", file=sys.stderr)


def _cmd_tune(args):
    from . import tuning
    configs, seeds, settings = _many_runs(args)
    found = _started(lambda: tuning.tune_all(configs, seeds=seeds, jobs=args.jobs, **settings),
                     configs[0].backend)
    if args.json:
        print(json.dumps({t.policy: t.to_dict() for t in found}))
        return
    print(tuning_text(found, configs[0].backend))


def _cmd_validate(args):
    from .config import BACKEND_NAMES
    from .validation import matrix, validate
    backends = [b for b in args.backends.split(",") if b]
    real = [b for b in BACKEND_NAMES if b != "simulated"]
    wrong = [b for b in backends if b not in real]
    if not backends or wrong or len(set(backends)) < len(backends):
        raise UsageError(f"--backends must name real backends, each once, comma-separated: "
                         f"{', '.join(real)}; got {args.backends!r}")
    found = _started(lambda: validate(matrix(quick=args.quick), backends,
                                      progress=_progress(args)), backends[0])
    print(json.dumps(found.to_dict()) if args.json else validation_text(found))


def _cmd_calibrate(args):
    from .calibration import calibrate, load_run
    found = _usage_on_value_error(lambda: calibrate(load_run(args.result)))
    flags = ["asynclab", "run", *cli_flags.config_flags(found.config)]
    if args.json:
        print(json.dumps(dict(found.to_dict(), command_line=shlex.join(flags))))
    else:
        print(calibration_text(found, args.result, shlex.join(flags)))


def _cmd_quiz(args):
    from .course import quiz
    if args.csv and not args.progress:
        raise UsageError("--csv goes with --progress (the question list is JSON or text)")
    questions = quiz.list_questions(lesson=args.lesson)
    if not questions:
        lessons = sorted({q["lesson"] for q in quiz.list_questions()})
        raise UsageError(f"no questions for lesson {args.lesson}; lessons with questions: "
                         f"{', '.join(map(str, lessons))}")
    if args.progress:
        answers = quiz.progress(lesson=args.lesson)
        if args.csv:
            sys.stdout.write(answers.to_csv())
        else:
            print(json.dumps(answers.records(), indent=1) if args.json else repr(answers))
        return
    if args.json:
        print(json.dumps(questions, indent=1))
        return
    for q in questions:
        print(f"[{q['id']}] (lesson {q['lesson']}, {q['kind']}) {q['question']}")
        if q["kind"] != "numeric":    # a numeric question's options would give it away
            for i, option in enumerate(q["options"]):
                print(f"    {chr(ord('a') + i)}) {option['text']}")


COMMANDS = {"run": _cmd_run, "compare": _cmd_compare, "tune": _cmd_tune,
            "validate": _cmd_validate, "calibrate": _cmd_calibrate, "quiz": _cmd_quiz}


def main(argv=None):
    try:
        args = parse(argv)
        COMMANDS[args.command](args)
    except UsageError as err:
        print(f"asynclab: error: {err}", file=sys.stderr)
        return 2
    except (StalledError, WorkerError) as err:
        print(f"asynclab: run failed: {str(err).splitlines()[0]}", file=sys.stderr)
        if isinstance(err, WorkerError):
            print(err.traceback_text, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("asynclab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `asynclab quiz --list | head`): stop quietly.
        sys.stdout = open(os.devnull, "w")
        return 0
    return 0
