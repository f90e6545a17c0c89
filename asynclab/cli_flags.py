"""What the command line accepts: its commands, their flags with help and defaults,
and the examples of ``asynclab --help`` (what each command does is asynclab.cli).

Every option has help text that shows its default; a switch is off unless
given. A bad command line is a UsageError: one line, exit 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys

from .buckets import DEFAULT_BACKWARD
from .config import BACKEND_NAMES, Config
from .datasets import DATASETS
from .gossip import TOPOLOGIES
from .outer import DEFAULT_OUTER_LR, DEFAULT_OUTER_MOMENTUM
from .problems import PROBLEMS, make_problem
from .tuning import DEFAULT_LRS, METRICS

PROGRESS_AFTER = 2.0     # seconds of work before the default bar appears (on a terminal)

EXAMPLES = """\
examples:
  asynclab run                           one run with the defaults, and what they were
  asynclab run --policy sync --workers 8 --lr 0.5 --target-loss 0.3
  asynclab compare --policy sync,async --tune --lrs 0.1,0.2,0.5,1,2,5 --target-loss 0.3
  asynclab tune --policy async --lrs 0.05,0.1,0.2,0.5,1 --seeds 5 --target-loss 0.3
  asynclab quiz --list --lesson 3

Each command's options and their defaults: asynclab COMMAND --help
"""


class Help(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout, and adds each option's default to its help
    unless the help already says it (a switch is off unless given)."""

    def _get_help_string(self, action):
        text = action.help or ""
        no_default = any(action.default is x for x in (None, False, argparse.SUPPRESS))
        if action.option_strings and "default" not in text and not no_default:
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", Help)
        super().__init__(*args, **kwargs)

    def error(self, message):
        if message.startswith("argument --overlap: ignored explicit argument"):
            refuse_overlap_value(message.split("argument", 2)[-1].strip(" '"))
        raise UsageError(f"{message} (see '{self.prog} --help')")


class UsageError(Exception):
    """Bad input on the command line: printed as one line, exit status 2."""


def refuse_overlap_value(value):
    raise UsageError(f"--overlap takes no value, got {value!r} (the sparse-logistic "
                     "problem's share of hot features is --feature-overlap)")


def _problem_defaults(field):
    """'least-squares 100, logistic 50, ...': each problem's default for ``field``."""
    found = []
    for name, kind in PROBLEMS.items():
        for f in dataclasses.fields(kind):
            if f.name == field and f.default not in (None, dataclasses.MISSING):
                value = f.default
                text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
                found.append((name, text))
    if len(found) == 1:                 # a field of one problem only
        return found[0][1]
    return ", ".join(f"{name} {text}" for name, text in found)


def experiment_flags(p, many_policies=False):
    """The flags that describe an experiment (run, compare, tune)."""
    def flag(name, metavar, text, **kwargs):
        p.add_argument(name, metavar=metavar, help=text, **kwargs)

    flag("--policy", "POLICY", "sync, async, hogwild, allreduce, gossip, ssp:S, backup:B, "
         "local:H or diloco:H" + (" (a comma-separated list)" if many_policies else ""),
         default="sync,async" if many_policies else "async")
    flag("--backend", "NAME", f"where the workers run: {', '.join(BACKEND_NAMES)} (simulated: a "
         "deterministic virtual clock; the others in real time)", default="simulated")
    flag("--workers", "N", "number of workers", type=int, default=4)
    flag("--gradients", "N", "budget: gradients computed by all workers together", type=int,
         default=1000)
    flag("--problem", "NAME", f"{', '.join(PROBLEMS)} (synthetic data, except mlp)",
         default="logistic")
    flag("--features", "N", "parameters of a synthetic problem (default: "
         f"{_problem_defaults('features')})", type=int)
    flag("--examples", "N", f"training examples (default: {_problem_defaults('examples')}; "
         "mlp: all of the data set)", type=int)
    flag("--nonzeros", "N", "sparse-logistic: features per example (default: "
         f"{_problem_defaults('nonzeros')})", type=int)
    flag("--feature-overlap", "SHARE", "sparse-logistic: share of each example's features "
         f"from the hot pool, in [0, 1] (default: {_problem_defaults('overlap')})", type=float,
         dest="feature_overlap")
    flag("--dataset", "NAME", f"{', '.join(DATASETS)} (default for mlp: digits; with --problem "
         "logistic: multinomial logistic regression on it)")
    flag("--data-path", "PATH", "mnist, fashion-mnist: a directory of IDX files or an .npz "
         "file (nothing is downloaded; default: none)")
    flag("--hidden", "SIZES", "mlp: hidden layer sizes, e.g. 64 or 128,64 (default: "
         f"{_problem_defaults('hidden')})")
    flag("--activation", "NAME", f"mlp: relu or tanh (default: "
         f"{_problem_defaults('activation')})")
    flag("--lr", "RATE", "learning rate", type=float, default=0.1)
    flag("--batch", "N", "examples per gradient", type=int, default=32)
    flag("--seed", "N", "seed of the minibatches and the simulated times: same seed, same "
         "numbers", type=int, default=0)
    p.add_argument("--staleness-aware", action="store_true",
                   help="divide the learning rate by staleness + 1")
    flag("--momentum", "BETA", "heavy-ball momentum, in [0, 1)", type=float, default=0.0)
    flag("--outer-lr", "RATE", "diloco:H: the outer optimiser's learning rate, > 0 (default: "
         f"{DEFAULT_OUTER_LR:g})", type=float)
    flag("--outer-momentum", "BETA", "diloco:H: the outer optimiser's Nesterov momentum, in "
         f"[0, 1) (default: {DEFAULT_OUTER_MOMENTUM:g})", type=float)
    flag("--topology", "NAME", f"gossip: whom a worker averages its model with, "
         f"{' or '.join(TOPOLOGIES)} (other policies ignore it)", default="ring")
    flag("--partition", "SPLIT", "which training examples each worker draws its minibatches "
         "from: iid, dirichlet:ALPHA or shards:K (the last two for classification problems)",
         default="iid")
    flag("--compute", "LAW", "simulated seconds per gradient: const:MEAN, exp:MEAN or "
         "lognormal:MEAN:SIGMA", default="exp:1.0")
    flag("--speeds", "LIST", "per-worker time multipliers, e.g. 1,1,3 (default: all 1)")
    flag("--straggler", "PROB:FACTOR", "a gradient takes FACTOR times longer with probability "
         "PROB, e.g. 0.1:5 (default: none)")
    flag("--latency", "SECONDS", "seconds per message, or a law drawn per message: "
         "const:MEAN, exp:MEAN or lognormal:MEAN:SIGMA", default="0")
    flag("--bandwidth", "BYTES_PER_S", "bytes per second of each worker's link (default: "
         "unlimited)", type=float, default=math.inf)
    flag("--server-bandwidth", "BYTES_PER_S", "bytes per second of the server's shared link "
         "(default: unlimited)", type=float, default=math.inf)
    p.add_argument("--overlap", action="store_true",
                   help="a switch, no value: communicate while computing. async, ssp:S and "
                        "hogwild send and fetch in the background; sync, backup:B, local:H "
                        "and allreduce send the gradient in --buckets parts during its "
                        "backward pass. The sparse-logistic problem's share of hot features "
                        "is --feature-overlap")
    flag("--buckets", "K", "with --overlap under sync, backup:B, local:H or allreduce: the "
         "parts a gradient is sent in", type=int, default=1)
    flag("--backward-fraction", "SHARE", "the backward pass's share of a gradient's compute "
         "time, in (0, 1] (default: 2/3)", type=float, default=DEFAULT_BACKWARD)
    flag("--compress", "FORM", "what a push carries: none, topk:F (the share F of largest "
         "coordinates), randk:F (a random share F) or qsgd:LEVELS (stochastic quantisation); "
         "pulls stay dense", default="none")
    p.add_argument("--error-feedback", action=argparse.BooleanOptionalAction,
                   help="with --compress: add what a message leaves out to the worker's next "
                        "one (--no-error-feedback: drop it) (default: on for topk and randk, "
                        "off for qsgd)")
    flag("--apply-time", "SECONDS", "simulated server seconds to apply one gradient",
         type=float, default=0.0)
    flag("--delay", "LAW", "real backends: an extra sleep per gradient, a law such as "
         "const:0.002 (default: none)")
    flag("--fail", "WORKER:AFTER", "kill WORKER after AFTER gradients; a comma-separated "
         "list, e.g. 1:200 (default: none)")
    flag("--target-loss", "LOSS", "report the time to reach this training loss (default: "
         "none)", type=float)
    flag("--target-accuracy", "SHARE", "report the time to reach this validation accuracy, in "
         "(0, 1] (default: none)", type=float)
    flag("--eval-points", "N", "how many times during the run the loss (and held-out "
         "accuracy) is measured", type=int, default=100)
    progress_flag(p)
    flag("--address", "ADDRESS", "ray: cluster address, auto or ray://HOST:10001 (default: a "
         "local Ray)")
    flag("--shards", "N", "ray: parameter-server actors", type=int, default=1)
    flag("--ray-batch", "N", "ray: gradients per message", type=int, default=1)
    flag("--ray-nodes", "K", "ray: start a local cluster of a head node (the parameter server) "
         "and K worker nodes, workers placed round-robin (default: one local Ray)", type=int)
    flag("--fail-node", "NODE:GRADIENTS", "ray with --ray-nodes: lose that node, not "
         "gracefully, once the server has received that many gradients (default: none)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def progress_flag(p):
    p.add_argument("--progress", action=argparse.BooleanOptionalAction,
                   help="a progress bar on stderr (default: on a terminal, once the work has "
                        f"lasted {PROGRESS_AFTER:g} s; never with --json or when output is "
                        "piped)")


def many_runs_flags(p):
    """The flags of the commands that run every policy many times: tune and compare."""
    p.add_argument("--seeds", metavar="K", type=int,
                   help="run each setting with seeds SEED .. SEED+K-1; means and 95%% "
                        "intervals over them (default: 3; compare without --tune: 1 run)")
    p.add_argument("--lrs", metavar="RATES",
                   help="learning rates to try, comma-separated (default: "
                        + ",".join(f"{x:g}" for x in DEFAULT_LRS) + ")")
    p.add_argument("--metric", metavar="NAME",
                   help=f"what tuning minimises: {', '.join(METRICS)} (default: "
                        "time_to_target, which needs --target-loss)")
    p.add_argument("--jobs", metavar="N", type=int, default=1,
                   help="simulated runs at once, in worker processes (same numbers)")
    p.add_argument("--momenta", metavar="LIST",
                   help="momenta to tune with every rate, comma-separated, each in [0, 1), "
                        "e.g. 0,0.5,0.9 (default: only --momentum)")


def fairness_flags(p):
    """compare's flags for a fair race: fresh report seeds and a paired baseline."""
    p.add_argument("--report-seeds", metavar="K_OR_LIST",
                   help="--tune: report each best setting on K other seeds, after the "
                        "tuning seeds, or on these comma-separated ones (default: as "
                        "many as the tuning seeds)")
    p.add_argument("--baseline", metavar="POLICY",
                   help="one of --policy: every other policy's time to target against it, "
                        "seed by seed: geometric mean ratio and 95%% interval (default: none)")


# flag (as argparse stores it) -> the problem's field it sets
PROBLEM_OPTIONS = {"features": "features", "examples": "examples", "nonzeros": "nonzeros",
                   "feature_overlap": "overlap", "dataset": "dataset", "data_path": "data_path",
                   "hidden": "hidden", "activation": "activation"}


def build_parser():
    parser = Parser(prog="asynclab", description="Synchronous versus asynchronous SGD, on a "
                    "simulated cluster or on real workers.", epilog=EXAMPLES)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser,
                                metavar="COMMAND")
    p = sub.add_parser("run", help="run one experiment",
                       description="Run one experiment and summarise it.")
    experiment_flags(p)
    p.add_argument("--chrome-trace", metavar="FILE",
                   help="write the trace to FILE for Perfetto or chrome://tracing "
                        "(default: none)")
    p.add_argument("--save", metavar="FILE",
                   help="write the run with its trace to FILE as JSON, for asynclab calibrate "
                        "(default: none)")
    p = sub.add_parser("compare", help="run several policies on the same cluster",
                       description="Run several policies on the same cluster. Without --tune "
                       "every policy runs at --lr; --tune races each at its own best rate.")
    experiment_flags(p, many_policies=True)
    many_runs_flags(p)
    fairness_flags(p)
    p.add_argument("--tune", action="store_true",
                   help="run each policy at its own best rate of --lrs (and --momenta) by "
                        "--metric, over --seeds seeds, then report it on fresh seeds (a fair "
                        "comparison)")
    p.add_argument("--plot", metavar="FILE",
                   help="write timelines and loss curves to this image file (default: none)")
    p.add_argument("--window", metavar="T0:T1",
                   help="--plot: timelines from T0 to T1 seconds (default: the whole run)")
    p = sub.add_parser("tune", help="find each policy's best learning rate over several seeds",
                       description="Run every learning rate with every seed, for each policy, "
                       "and rank the rates.")
    experiment_flags(p, many_policies=True)
    many_runs_flags(p)
    p.set_defaults(tune=True)            # tune always tunes (compare: with --tune)
    p = sub.add_parser("validate", help="how well the simulator predicts real runs",
                       description="Run a fixed matrix of experiments on real workers and on "
                       "the simulator, calibrated per backend by a reference run, and give "
                       "each run's error = real time / simulated time - 1.")
    p.add_argument("--backends", metavar="LIST", default="thread,process",
                   help="real backends to run the matrix on, comma-separated: thread, process, "
                        "ray")
    p.add_argument("--quick", action="store_true",
                   help="a smaller matrix: each policy once with 2 workers (under a minute on "
                        "threads and processes; Ray starts for every run)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    progress_flag(p)
    p = sub.add_parser("calibrate", help="the simulated Config that predicts a saved real run",
                       description="Fit the compute-time law, the message-time law and each "
                       "worker's speed to the trace of a run saved with asynclab run --save, "
                       "and print the simulated Config they make, as Python and as flags.")
    p.add_argument("result", metavar="RESULT",
                   help="a run saved with asynclab run --save FILE (its trace included)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p = sub.add_parser("quiz", help="the course's quiz questions, and your progress")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true", help="list the questions")
    what.add_argument("--progress", action="store_true",
                      help="your answers so far ($ASYNCLAB_HOME), one row per question")
    p.add_argument("--lesson", metavar="N", type=int,
                   help="only this lesson's questions (default: all)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON instead of text")
    form.add_argument("--csv", action="store_true", help="--progress as CSV")
    return parser


def config_flags(config) -> list:
    """The flags of ``asynclab run`` that make ``config``: those of the fields that
    differ from the defaults, and always --compute and --latency."""
    default, flags, problem = Config(), [], config.problem
    if problem.name != default.problem.name:
        flags += ["--problem", problem.name]
    dataset = getattr(problem, "dataset", None)
    plain = make_problem(problem.name, **({"dataset": dataset} if dataset else {}))
    fields = {f.name for f in dataclasses.fields(problem)}
    for flag, field in PROBLEM_OPTIONS.items():
        value = getattr(problem, field, None)
        if field not in fields or value is None or (
                value == getattr(plain, field) and field != "dataset"):
            continue
        flags += ["--" + flag.replace("_", "-"),
                  ",".join(map(str, value)) if isinstance(value, tuple) else str(value)]
    for field in dataclasses.fields(Config):
        name, value = field.name, getattr(config, field.name)
        if name in ("problem", "progress") or (
                value == getattr(default, name) and name not in ("compute", "latency")):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags += [flag] if value else []
        elif name in ("speeds", "straggler", "fail"):
            text = (",".join(map(str, value)) if name == "speeds" else
                    ":".join(map(str, value)) if name == "straggler" else
                    ",".join(f"{w}:{after}" for w, after in value))
            flags += [flag, text]
        else:
            flags += [flag, str(value)]
    return flags


def parse(argv):
    """The command line ``argv`` (None: sys.argv) as argparse's Namespace; a value
    after the switch --overlap is refused with a hint."""
    args, extra = build_parser().parse_known_args(argv)
    if extra:
        argv = sys.argv[1:] if argv is None else list(argv)
        after_overlap = [argv[i] for i in range(1, len(argv))
                         if argv[i - 1] == "--overlap" and argv[i] == extra[0]]
        if after_overlap:
            refuse_overlap_value(after_overlap[0])
        raise UsageError(f"unrecognized arguments: {' '.join(extra)} (see 'asynclab "
                         f"{args.command} --help')")
    return args
