"""Command line: ``asynclab run``, ``compare``, ``tune`` and ``quiz``.

Bad input exits with status 2 and one line naming the value and what is
allowed; a run that cannot go on (a sync run that lost a worker) exits 1 with
one line naming the worker.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

from .config import BACKEND_NAMES, Config
from .datasets import DATASETS
from .files import check_writable, write_whole
from .problems import PROBLEMS
from .server import StalledError, WorkerError
from .tuning import DEFAULT_LRS, METRICS


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class _UsageError(Exception):
    pass


def _experiment_flags(p, many_policies=False):
    p.add_argument("--policy", default="sync,async" if many_policies else "async",
                   help="sync, async, hogwild, allreduce, ssp:S, backup:B or local:H"
                        + (" (comma-separated list)" if many_policies else ""))
    p.add_argument("--backend", default="simulated", help=", ".join(BACKEND_NAMES))
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--gradients", type=int, default=1000,
                   help="budget: gradients computed by all workers together")
    p.add_argument("--problem", default="logistic", help=", ".join(PROBLEMS))
    p.add_argument("--features", type=int, help="problem size (parameters)")
    p.add_argument("--examples", type=int, help="number of training examples")
    p.add_argument("--nonzeros", type=int, help="sparse-logistic: features per example")
    p.add_argument("--feature-overlap", type=float, dest="feature_overlap",
                   help="sparse-logistic: share of each example's features from the hot pool")
    p.add_argument("--dataset", help="mlp, logistic: " + ", ".join(DATASETS))
    p.add_argument("--data-path", help="mnist, fashion-mnist: a directory of IDX files or an "
                                       ".npz file (nothing is downloaded)")
    p.add_argument("--hidden", help="mlp: hidden layer sizes, e.g. 64 or 128,64")
    p.add_argument("--activation", help="mlp: relu or tanh")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate")
    p.add_argument("--batch", type=int, default=32, help="examples per gradient")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--staleness-aware", action="store_true",
                   help="divide the learning rate by staleness + 1")
    p.add_argument("--momentum", type=float, default=0.0, help="heavy-ball momentum, in [0, 1)")
    p.add_argument("--compute", default="exp:1.0",
                   help="simulated compute time: const:MEAN, exp:MEAN or lognormal:MEAN:SIGMA")
    p.add_argument("--speeds", help="per-worker time multipliers, e.g. 1,1,3")
    p.add_argument("--straggler", help="PROB:FACTOR, e.g. 0.1:5")
    p.add_argument("--latency", default="0",
                   help="seconds per message, or a law drawn per message: exp:MEAN, ...")
    p.add_argument("--bandwidth", type=float, default=math.inf,
                   help="bytes per second of each worker's link")
    p.add_argument("--server-bandwidth", type=float, default=math.inf,
                   help="bytes per second of the server's shared link (default: unlimited)")
    p.add_argument("--overlap", nargs="?", const=True, default=False,
                   help="send and fetch in the background while computing (async, ssp:S, "
                        "hogwild)")
    p.add_argument("--apply-time", type=float, default=0.0,
                   help="simulated server seconds per gradient")
    p.add_argument("--delay", help="real backends: extra sleep per gradient (a distribution)")
    p.add_argument("--fail", help="WORKER:AFTER_GRADIENTS[,...]: kill workers mid-run")
    p.add_argument("--target-loss", type=float, help="report the time to reach this loss")
    p.add_argument("--target-accuracy", type=float,
                   help="report the time to reach this held-out accuracy, in (0, 1]")
    p.add_argument("--eval-points", type=int, default=100)
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--address", help="ray: cluster address (default: a local Ray)")
    p.add_argument("--shards", type=int, default=1, help="ray: parameter-server actors")
    p.add_argument("--ray-batch", type=int, default=1, help="ray: gradients per message")
    p.add_argument("--ray-nodes", type=int,
                   help="ray: a local cluster of a head and K worker nodes (round-robin)")
    p.add_argument("--fail-node", help="ray with --ray-nodes: NODE:GRADIENTS, lose that node "
                                       "once the server has received that many gradients")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


# flag (as argparse stores it) -> the problem's field it sets
PROBLEM_OPTIONS = {"features": "features", "examples": "examples", "nonzeros": "nonzeros",
                   "feature_overlap": "overlap", "dataset": "dataset", "data_path": "data_path",
                   "hidden": "hidden", "activation": "activation"}


def _config(args, policy) -> Config:
    from .problems import make_problem
    if args.overlap is not True and args.overlap is not False:
        raise ValueError(f"--overlap takes no value, got {args.overlap!r} (the sparse-logistic "
                         "problem's share of hot features is --feature-overlap)")
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
    return Config(problem=problem, policy=policy, backend=args.backend, workers=args.workers,
                  gradients=args.gradients, lr=args.lr, batch=args.batch, seed=args.seed,
                  staleness_aware=args.staleness_aware, momentum=args.momentum,
                  compute=args.compute, speeds=speeds,
                  straggler=args.straggler, latency=args.latency, bandwidth=args.bandwidth,
                  server_bandwidth=args.server_bandwidth, overlap=args.overlap,
                  apply_time=args.apply_time, delay=args.delay, fail=args.fail or (),
                  target_loss=args.target_loss, target_accuracy=args.target_accuracy,
                  eval_points=args.eval_points,
                  progress=args.progress, address=args.address, shards=args.shards,
                  ray_batch=args.ray_batch, ray_nodes=args.ray_nodes, fail_node=args.fail_node)


def _checked_config(args, policy) -> Config:
    """The Config, checked by its backend too; bad input becomes a usage error."""
    from .backends import check_config
    try:
        config = _config(args, policy)
        check_config(config)
    except (ValueError, ImportError) as err:
        raise _UsageError(str(err)) from None
    return config


def _json_summary(result):
    return result.to_dict()["summary"]


def _text_summary(result):
    s = result.summary
    unit = "simulated s" if s.backend == "simulated" else "s"
    lines = [
        f"{s.policy} on {s.backend}: {s.workers} workers, problem {s.problem}, seed {s.seed}",
        f"  time                {s.time:.4g} {unit}",
        f"  gradients / updates {s.gradients} / {s.updates}"
        + (f" ({s.dropped} dropped)" if s.dropped else ""),
        f"  loss                {s.initial_loss:.4g} -> {s.final_loss:.4g}"
        + ("  DIVERGED" if s.diverged else ""),
        f"  staleness           mean {s.mean_staleness:.3g}, max {s.max_staleness}",
        f"  time split          compute {s.compute_fraction:.1%}, "
        f"communication {s.comm_fraction:.1%}, idle {s.idle_fraction:.1%}",
        f"  gradients/s         {s.gradients_per_second:.4g}",
    ]
    if s.queue_fraction or s.overlap_fraction:
        lines.insert(-1, f"  idle split          waiting {s.wait_fraction:.1%}, "
                         f"queueing {s.queue_fraction:.1%}; communication hidden behind "
                         f"computing {s.overlap_fraction:.1%}")
    if s.final_accuracy is not None:
        lines.append(f"  held-out accuracy   {s.final_accuracy:.2%}")
    if s.time_to_target is not None or result.config.target_loss is not None:
        ttt = "never" if s.time_to_target is None else f"{s.time_to_target:.4g} {unit}"
        lines.append(f"  time to target      {ttt}")
    if result.config.target_accuracy is not None:
        tta = "never" if s.time_to_accuracy is None else f"{s.time_to_accuracy:.4g} {unit}"
        lines.append(f"  time to accuracy    {tta}")
    if s.failed_workers:
        lines.append(f"  failed workers      {', '.join(map(str, s.failed_workers))}")
    if s.nodes:
        lines.append("  nodes               " + "; ".join(
            f"{k}: workers {', '.join(map(str, workers))}" + (" (lost)" if k in s.lost_nodes
                                                             else "")
            for k, workers in enumerate(s.nodes)))
    return "\n".join(lines)


def _table(results):
    head = ("policy", "time", "updates", "final loss", "to target", "staleness", "idle",
            "grad/s")
    accuracy = any(r.summary.final_accuracy is not None for r in results.values())
    if accuracy:
        head += ("accuracy", "to accuracy")
    rows = []
    for r in results.values():
        s = r.summary
        ttt = "-" if s.time_to_target is None else f"{s.time_to_target:.4g}"
        row = (s.policy, f"{s.time:.4g}", str(s.updates), f"{s.final_loss:.4g}", ttt,
               f"{s.mean_staleness:.3g}", f"{s.idle_fraction:.0%}",
               f"{s.gradients_per_second:.4g}")
        if accuracy:
            row += (f"{s.final_accuracy:.2%}",
                    "-" if s.time_to_accuracy is None else f"{s.time_to_accuracy:.4g}")
        rows.append(row)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join(fmt.format(*row) for row in (head, *rows))


def _plot(results, path, target, target_accuracy, window=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plots
    n = len(results)
    curves = 2 if any(r.summary.final_accuracy is not None for r in results.values()) else 1
    fig, axes = plt.subplots(n + curves, 1, figsize=(9, 2.2 * n + 3 * curves),
                             layout="constrained")
    for ax, r in zip(axes, results.values()):
        plots.timeline(r, ax=ax, window=window)
    plots.convergence(results, ax=axes[n], target=target)
    if curves == 2:
        plots.convergence(results, ax=axes[n + 1], target=target_accuracy, metric="accuracy")
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
        raise _UsageError(f"cannot write {what} to {path!r}: {err.strerror or err}") from None


def _plot_format(path):
    """The image format ``--plot`` names by its extension (none: PNG)."""
    return os.path.splitext(path)[1][1:].lower() or "png"


def _check_plot(path):
    """Refuse a ``--plot`` path that cannot be written, before anything runs."""
    from matplotlib.backend_bases import FigureCanvasBase

    _usage_on_value_error(check_writable, path, "the plot")
    formats = FigureCanvasBase.get_supported_filetypes()
    if _plot_format(path) not in formats:
        raise _UsageError(f"cannot write the plot to {path!r}: its extension must name an "
                          f"image format ({', '.join(sorted(formats))})")


def _run(config):
    """Run one Config. What a backend can only find out when it starts (an
    optional package missing, a cluster address where nothing answers, too
    little shared memory) is reported like bad input: one line, exit 2."""
    from .backends.sharedmem import NotEnoughSharedMemory
    from .experiment import run
    try:
        return run(config)
    except (ImportError, NotEnoughSharedMemory) as err:
        raise _UsageError(str(err)) from None
    except ValueError as err:
        if config.backend == "simulated":    # everything was checked up front: a bug
            raise
        raise _UsageError(str(err)) from None


def _cmd_run(args):
    config = _checked_config(args, args.policy)
    if args.chrome_trace:
        from .chrome_trace import write
        _usage_on_value_error(check_writable, args.chrome_trace, "the trace")
    result = _run(config)
    if args.chrome_trace:
        _written("the trace", args.chrome_trace, lambda: write(result, args.chrome_trace))
    print(json.dumps(_json_summary(result)) if args.json else _text_summary(result))
    if args.chrome_trace and not args.json:
        print(f"trace written to {args.chrome_trace} (open it at https://ui.perfetto.dev)")


def _usage_on_value_error(check, *values):
    """``check(*values)``; its ValueError becomes a usage error (exit 2, one line)."""
    try:
        return check(*values)
    except ValueError as err:
        raise _UsageError(str(err)) from None


def _policies(args):
    from .policies import parse_policy_list
    return _usage_on_value_error(parse_policy_list, args.policy, "--policy")


def _check_jobs(args, configs):
    from .parallel import check_jobs
    _usage_on_value_error(check_jobs, args.jobs)
    if args.jobs > 1 and configs and configs[0].backend != "simulated":
        raise _UsageError(f"--jobs {args.jobs}: only simulated runs go to worker processes "
                          f"(the {configs[0].backend} backend measures wall-clock time, which "
                          "runs side by side would distort); use --jobs 1")


def _numbers(flag, text):
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise _UsageError(f"{flag} must be numbers separated by commas, got {text!r}") from None


def _cmd_compare(args):
    from .parallel import run_many
    configs = [_checked_config(args, p) for p in _policies(args)]
    _check_jobs(args, configs)
    window = None
    if args.window:
        from .plots import check_window
        window = _usage_on_value_error(check_window, args.window)
    if args.plot is not None:
        _check_plot(args.plot)
    if args.jobs > 1:
        results = dict(zip([str(c.policy) for c in configs], run_many(configs, jobs=args.jobs)))
    else:
        results = {str(c.policy): _run(c) for c in configs}
    if args.json:
        print(json.dumps([_json_summary(r) for r in results.values()]))
    else:
        print(_table(results))
    if args.plot:
        _plot(results, args.plot, args.target_loss, args.target_accuracy, window)
        if not args.json:
            print(f"plots written to {args.plot}")


def _cmd_tune(args):
    from . import tuning
    configs = [_checked_config(args, p) for p in _policies(args)]
    lrs = None if args.lrs is None else _numbers("--lrs", args.lrs)
    _check_jobs(args, configs)
    _usage_on_value_error(lambda: tuning.plan(configs, lrs=lrs, seeds=args.seeds,
                                              metric=args.metric))
    found = tuning.tune_all(configs, lrs=lrs, seeds=args.seeds, metric=args.metric,
                            jobs=args.jobs)
    if args.json:
        print(json.dumps({t.policy: t.to_dict() for t in found}))
        return
    print("\n\n".join(map(str, found)))
    print("\nbest: " + "; ".join(f"{t.policy} at lr {t.best_lr:g}" + (
        f" ({t.metric} {t.best.estimate.mean:.4g})" if t.reached else "") for t in found))


def _cmd_quiz(args):
    from .course import quiz
    if args.csv and not args.progress:
        raise _UsageError("--csv goes with --progress (the question list is JSON or text)")
    questions = quiz.list_questions(lesson=args.lesson)
    if not questions:
        lessons = sorted({q["lesson"] for q in quiz.list_questions()})
        raise _UsageError(f"no questions for lesson {args.lesson}; lessons with questions: "
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


def _jobs_flag(p):
    p.add_argument("--jobs", type=int, default=1,
                   help="simulated runs at once, in worker processes (default 1)")


def build_parser():
    parser = _Parser(prog="asynclab", description="Synchronous versus asynchronous SGD.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("run", help="run one experiment")
    _experiment_flags(p)
    p.add_argument("--chrome-trace", metavar="FILE",
                   help="write the trace to FILE for Perfetto or chrome://tracing")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("compare", help="run several policies on the same cluster")
    _experiment_flags(p, many_policies=True)
    p.add_argument("--plot", help="write timelines and loss curves to this PNG file")
    p.add_argument("--window", metavar="T0:T1", help="--plot: timelines from T0 to T1 seconds")
    _jobs_flag(p)
    p.set_defaults(func=_cmd_compare)
    p = sub.add_parser("tune", help="find each policy's best learning rate over several seeds")
    _experiment_flags(p, many_policies=True)
    p.add_argument("--lrs", help="learning rates to try, comma-separated (default: "
                                 + ",".join(f"{x:g}" for x in DEFAULT_LRS) + ")")
    p.add_argument("--seeds", type=int, default=3, help="K: seeds SEED .. SEED+K-1 (default 3)")
    p.add_argument("--metric", default="time_to_target",
                   help=f"what to minimise: {', '.join(METRICS)} (default time_to_target, "
                        "which needs --target-loss)")
    _jobs_flag(p)
    p.set_defaults(func=_cmd_tune)
    p = sub.add_parser("quiz", help="the course's quiz questions, and your progress")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true", help="list the questions")
    what.add_argument("--progress", action="store_true",
                      help="your answers so far ($ASYNCLAB_HOME), one row per question")
    p.add_argument("--lesson", type=int, help="only this lesson's questions")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--csv", action="store_true", help="--progress as CSV")
    p.set_defaults(func=_cmd_quiz)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        args.func(args)
    except _UsageError as err:
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
