"""Property-based fuzzing of the command line: whatever the arguments, `asynclab`
answers with a result (exit 0), a failed run (exit 1, one line), or bad input
(exit 2, one line naming the value), never a traceback, and never starts a run
that would take hours or all memory.

The grammar below draws each flag's value from small valid values, malformed
text, negative numbers and absurd sizes. Valid draws stay small so that the
runs they start finish in a blink; absurd ones must be refused before running.
Extend FLAGS when you add a flag.
"""
import atexit
import contextlib
import io
import json
import math
import shutil
import tempfile
import time
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asynclab
from asynclab import limits, validation
from asynclab.calibration import saved_run
from asynclab.cli import main
from asynclab.validation import Matrix

JUNK = st.sampled_from(["", "x", "-", "nan", "inf", "-inf", "1e999", "0x10", "1:2:3", ":",
                        "exp:", "const:0", "1,,2", "ß", "--json", "1_0"])
# ("1_0" is ten to Python's int and float: underscores are accepted, and a junk
# value must stay as small as the valid draws; "1_000" seeds once made a minute-long
# compare of 2,000 runs, which the limits rightly allow.)
HUGE = st.sampled_from(["1000000000", "1e12", str(2 ** 63), "99999999999999999999"])
NEGATIVE = st.sampled_from(["-1", "-0.5", "-1e9", "0"])


OUT = tempfile.mkdtemp(prefix="asynclab-fuzz-")     # where --chrome-trace may write
atexit.register(shutil.rmtree, OUT, True)


def number(valid):
    return st.one_of(valid, JUNK, HUGE, NEGATIVE)


def ints(low, high):
    return number(st.integers(low, high).map(str))


def floats(low, high):
    return number(st.floats(low, high, allow_nan=False).map(lambda x: f"{x:.4g}"))


# flag -> strategy of its value (None: a switch without a value; a strategy that draws
# None gives the flag alone)
FLAGS = {
    "--policy": st.one_of(st.sampled_from(["sync", "async", "hogwild", "ssp:2", "backup:1",
                                           "local:3", "allreduce", "ssp:", "backup:9",
                                           "local:0", "sync,async", "sync,sync", ",",
                                           "diloco:2", "diloco:0", "diloco:", "gossip",
                                           "local:2,diloco:2", "gossip,async"]), JUNK),
    # fewer rounds, no server: diloco's outer optimiser, gossip's graph, data partitions
    "--outer-lr": floats(0.01, 2.0),
    "--outer-momentum": floats(0, 0.99),
    "--topology": st.one_of(st.sampled_from(["ring", "complete", "star"]), JUNK),
    "--partition": st.one_of(st.sampled_from(["iid", "dirichlet:0.5", "dirichlet:0", "shards:2",
                                              "shards:0", "shards:1.5", "shards:99999",
                                              "dirichlet", "dirichlet:inf"]), JUNK),
    "--backend": st.one_of(st.just("simulated"), JUNK),
    "--workers": ints(1, 6),
    "--gradients": ints(1, 150),
    "--problem": st.one_of(st.sampled_from(["least-squares", "logistic", "sparse-logistic",
                                            "mlp"]), JUNK),
    "--dataset": st.one_of(st.sampled_from(["digits", "mnist", "fashion-mnist", "cifar"]), JUNK),
    "--data-path": st.one_of(st.sampled_from(["/nonexistent/mnist.npz", "/tmp", "."]), JUNK),
    "--hidden": st.one_of(st.sampled_from(["8", "16,8", "4,4,4", "0", "8,0", "8,", "x"]), HUGE,
                          NEGATIVE, JUNK),
    "--activation": st.one_of(st.sampled_from(["relu", "tanh", "sigmoid"]), JUNK),
    "--momentum": floats(0, 0.99),
    "--target-accuracy": floats(0.01, 1.0),
    "--features": ints(1, 40),
    "--examples": ints(1, 300),
    "--lr": floats(1e-3, 2.0),
    "--batch": ints(1, 64),
    "--seed": ints(0, 5),
    "--compute": st.one_of(st.sampled_from(["exp:1", "const:0.5", "lognormal:1:0.5",
                                            "lognormal:1:-1", "exp:1e300"]), JUNK),
    "--speeds": st.one_of(st.sampled_from(["1,2", "1,1,3", "0,1", "a,b"]), JUNK),
    "--straggler": st.one_of(st.sampled_from(["0.1:5", "2:5", "0.1:0.5"]), JUNK),
    "--latency": st.one_of(floats(0, 1.0), st.sampled_from(
        ["exp:0.05", "lognormal:0.1:1", "const:0.2", "exp:-1", "exp:0", "normal:1"])),
    "--bandwidth": floats(1.0, 1e9),
    "--server-bandwidth": floats(1.0, 1e9),
    "--overlap": st.one_of(st.none(), st.none(), st.sampled_from(["0.3", "1", "x"])),
    "--buckets": ints(1, 8),
    "--backward-fraction": floats(0.01, 1.0),
    "--feature-overlap": floats(0, 1.0),
    "--apply-time": floats(0, 0.5),
    "--compress": st.one_of(st.sampled_from(["none", "topk:0.1", "topk:1", "randk:0.5",
                                             "qsgd:2", "topk:0", "topk:1.5", "qsgd:0",
                                             "qsgd:1.5", "randk:", "gzip"]), JUNK),
    "--error-feedback": None,
    "--no-error-feedback": None,
    "--fail": st.one_of(st.sampled_from(["0:5", "1:0", "9:1", "0:x", "1:inf", "nan:1"]), JUNK),
    # ray only: on the simulated backend these are refused before anything starts
    "--ray-nodes": ints(1, 3),
    "--fail-node": st.one_of(st.sampled_from(["0:5", "1:0", "9:1", "0:x", "nan:1"]), JUNK),
    "--target-loss": floats(0.01, 1.0),
    "--eval-points": ints(2, 50),
    "--staleness-aware": None,
    "--json": None,
    # tune, compare and run's exports; fair comparisons (--momenta, --report-seeds, --baseline)
    "--lrs": st.one_of(st.sampled_from(["0.1,1", "0.5", "1,0.1,0.1", "", ",", "0,1", "-1",
                                        "1e9", "a,b", "nan"]), JUNK),
    "--seeds": ints(1, 3),
    "--metric": st.one_of(st.sampled_from(["time_to_target", "final_loss", "time_to_accuracy",
                                           "accuracy"]), JUNK),
    "--jobs": number(st.sampled_from(["1", "2"])),
    "--momenta": st.one_of(st.sampled_from(["0,0.5,0.9", "0", "0.5", "0.9,0", "0,1", "-0.1",
                                            "1", ",", "0.5,0.5", "a,b"]), JUNK),
    "--report-seeds": st.one_of(st.sampled_from(["1", "2", "0", "3,4", "0,1", "-1", "1,x",
                                                 "2,2"]), JUNK, HUGE),
    "--baseline": st.one_of(st.sampled_from(["sync", "async", "ssp:2", "hogwild", "sync,async",
                                             "x"]), JUNK),
    "--tune": None,
    "--progress": None,
    "--no-progress": None,
    "--window": st.one_of(st.sampled_from(["0:10", "10:5", "3:3", "-1:1", "0:inf"]), JUNK),
    # Only paths under OUT (or impossible ones): a junk name would be a file in the cwd.
    "--chrome-trace": st.sampled_from([f"{OUT}/t.json", OUT, f"{OUT}/no/t.json", "",
                                       "/nonexistent/t.json"]),
    "--plot": st.sampled_from([f"{OUT}/p.png", OUT, f"{OUT}/no/p.png", "", f"{OUT}/p.foo",
                               "/nonexistent/p.png"]),
    "--save": st.sampled_from([f"{OUT}/r.json", OUT, f"{OUT}/no/r.json", "",
                               "/nonexistent/r.json"]),
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(["run", "compare", "tune"]))
    chosen = draw(st.lists(st.sampled_from(sorted(FLAGS)), max_size=7, unique=True))
    argv = [command]
    if command == "tune":      # a small grid and problem unless the draw says otherwise
        argv += ["--features", "10", "--examples", "100", "--gradients", "40", "--lrs", "0.1,1",
                 "--seeds", "1"]
    for flag in chosen:
        argv.append(flag)
        value = None if FLAGS[flag] is None else draw(FLAGS[flag])
        if value is not None:
            argv.append(value)
    # Keep runs that are valid small: the default budget and sizes are small already,
    # but an unbounded --gradients default must not meet a huge --workers unnoticed.
    return argv


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=command_lines())
def test_any_command_line_gets_an_answer_or_one_line(argv):
    answers(argv)


def answers(argv):
    """Run ``argv``; check it answered (0), failed a run (1) or refused bad input (2)
    as the module docstring says."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    seconds = time.perf_counter() - start
    out, err = out.getvalue(), err.getvalue()
    assert "Traceback" not in err, (argv, err)
    assert code in (0, 1, 2), (argv, code, err)
    if code == 2:
        assert out == "" and len(err.strip().splitlines()) == 1, (argv, err)
        assert err.startswith("asynclab: error: "), (argv, err)
    # What is not a progress bar (which --progress may ask for, on stderr).
    said = [line for line in err.replace("\r", "\n").splitlines() if line and "%|" not in line]
    if code == 1:
        assert said[0].startswith("asynclab: run failed: "), (argv, err)
    elif code == 0 and argv[0] == "compare":    # at most the caveat of an untuned comparison
        assert len(said) <= 1 and all(s.startswith("asynclab: warning: ") for s in said), err
    # Nothing the grammar allows is big: a run that took long was not refused in time.
    assert seconds < 30, (argv, seconds)


@pytest.mark.parametrize("args, needle", [
    (["--gradients", "1000000000"], "gradients must be at most"),
    (["--batch", "100000"], "batch must be at most the problem's 1000 examples"),
    (["--examples", "1000000000"], "the problem's data in bytes"),
    (["--workers", "1000000"], "workers must be at most 100000"),
    (["--gradients", "5000000", "--batch", "1000", "--features", "1000"],
     "gradients x batch x parameters"),
    (["--backend", "thread", "--latency", "3600"], "latency must be at most 60 s"),
    (["--backend", "thread", "--bandwidth", "1"],          # 400 bytes a message: 400 s
     "message time (latency + 400 bytes / bandwidth 1) must be at most 60 s"),
    (["--backend", "process", "--latency", "59", "--bandwidth", "100"],
     "message time (latency + 400 bytes / bandwidth 100) must be at most 60 s"),
    (["--backend", "thread", "--policy", "allreduce", "--workers", "64", "--latency", "1"],
     "allreduce step time (2(N-1) = 126 ring rounds) must be at most 60 s"),
    (["--problem", "mlp", "--hidden", "1000000000"], "the parameter vector of problem 'mlp' has "
     "75,000,000,010 parameters"),
    (["--problem", "mlp", "--hidden", "4096,4096", "--gradients", "5000000"],
     "gradients x batch x parameters"),
    (["--problem", "mlp", "--batch", "1080"], "batch must be at most the problem's 1079 examples"),
    (["--policy", "allreduce", "--workers", "100000", "--features", "5000"],
     "allreduce: workers x parameters"),
    (["--policy", "allreduce", "--workers", "5000", "--features", "10", "--gradients",
      "1000000", "--latency", "exp:0.01"], "allreduce with a latency law"),
    (["--policy", "sync", "--overlap", "--buckets", "11", "--features", "10"],
     "buckets must be at most the problem's 10 parameters, got 11"),
    (["--policy", "sync", "--overlap", "--buckets", "1000", "--gradients", "1000000",
      "--features", "1000"],
     "gradients x buckets (messages sent)"),
    (["--backend", "thread", "--policy", "sync", "--overlap", "--buckets", "1000", "--latency",
      "0.1", "--features", "1000"], "a gradient's 1000 bucket messages must be at most 60 s"),
])
def test_absurd_sizes_are_refused_before_anything_runs(capsys, args, needle):
    start = time.perf_counter()
    code = main(["run", *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1, err
    assert time.perf_counter() - start < 5      # refused, not attempted


def test_an_mlp_costs_all_its_parameters_per_example_and_its_pixels_in_memory():
    import asynclab
    mlp = asynclab.MLP(hidden=(64,))
    assert limits.cost_per_example(mlp) == mlp.dim == 64 * 64 + 64 + 64 * 10 + 10
    # Training, validation and test images.
    assert limits.data_bytes(mlp) == 8 * (1079 + 359 + 359) * 64 + 8 * mlp.dim


def test_the_work_limit_is_about_a_quarter_of_an_hour_or_more():
    # The limits are budgets in multiply-adds at about 1e9 a second (see limits.py).
    assert 15 * 60 <= limits.MAX_WORK / 1e9 <= 4 * 3600
    assert math.isfinite(limits.MAX_DATA_BYTES)


# -- validate and calibrate ------------------------------------------------------------------
def _saved(name, **fields):
    """A small simulated run saved as ``asynclab run --save`` saves it, in OUT."""
    path = f"{OUT}/{name}"
    run = asynclab.run(asynclab.Config(**dict(SMALL, **fields)))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(saved_run(run), f)
    return path


SMALL = dict(problem=asynclab.Logistic(features=10, examples=100), workers=2, gradients=40,
             compute="exp:0.01", latency="exp:0.001", eval_points=2)
SAVED = st.sampled_from([_saved("async.json"), _saved("allreduce.json", policy="allreduce"),
                         _saved("short.json", gradients=4), f"{OUT}/missing.json", OUT, "",
                         __file__, f"{OUT}/p.png"])
CHECK_FLAGS = {
    "--backends": st.one_of(st.sampled_from(["thread", "simulated", "thread,thread", ",",
                                             "thread,simulated", "process,process", "gpu"]),
                            JUNK),
    "--quick": None,
    "--json": None,
    "--progress": None,
    "--no-progress": None,
}
TINY = Matrix([asynclab.Config(**dict(SMALL, compute="const:0.002", latency=0.0005))], [])


@st.composite
def check_lines(draw):
    if draw(st.booleans()):
        argv = ["calibrate", draw(SAVED)] + (["--json"] if draw(st.booleans()) else [])
        extra = draw(st.sampled_from([[], [], ["--quick"], ["x"]]))
        return argv + extra
    argv = ["validate"]
    flags = draw(st.lists(st.sampled_from(sorted(CHECK_FLAGS)), max_size=4, unique=True))
    if "--backends" not in flags:
        argv += ["--backends", "thread"]  # the default adds process runs (the README's example has it)
    for flag in flags:
        argv.append(flag)
        if CHECK_FLAGS[flag] is not None:
            argv.append(draw(CHECK_FLAGS[flag]))
    return argv


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=check_lines())
def test_validate_and_calibrate_get_an_answer_or_one_line(argv):
    # validate's matrix and reference shrink to one tiny run each (its real matrix takes
    # minutes); what is checked is the command line around them.
    with mock.patch.object(validation, "matrix", lambda quick=False: TINY), \
            mock.patch.object(validation, "REFERENCE", TINY.configs[0].replace(seed=1)):
        answers(argv)
