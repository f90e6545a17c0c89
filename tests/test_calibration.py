"""Calibration (asynclab.calibration): what it reads from a saved run's trace, the
Config it prints, and the check that a calibrated simulation predicts another
real run (another seed, another number of workers)."""
import json
import math
import shlex

import pytest

import asynclab
from asynclab import Config
from asynclab.calibration import calibrate, load_run, python_text, saved_run
from asynclab.cli import _config, main
from asynclab.cli_flags import config_flags, parse
from asynclab.timing import Distribution

SMALL = dict(problem=asynclab.Logistic(features=20, examples=200), eval_points=2)


def simulated(**fields):
    return asynclab.run(Config(**dict(SMALL, **fields)))


def test_a_simulated_run_gives_back_the_laws_and_speeds_it_was_drawn_from():
    run = simulated(policy="async", workers=3, gradients=1500, compute="lognormal:0.02:0.4",
                    latency="exp:0.005", speeds=(1, 1, 3))
    found = calibrate(run)
    config = found.config
    assert config.compute.kind == "lognormal" and config.latency.kind == "exp"
    # Worker 2 computes about a fifth of the gradients (3 times slower), the others 600.
    assert config.compute.mean == pytest.approx(0.02, rel=0.06)
    assert config.compute.sigma == pytest.approx(0.4, rel=0.1)
    assert config.latency.mean == pytest.approx(0.005, rel=0.08)     # 3,000 messages
    assert config.speeds[:2] == (1.0, 1.0) and config.speeds[2] == pytest.approx(3, rel=0.1)
    assert found.message.samples == 2 * 1500 and found.compute.samples == 1500
    assert config.backend == "simulated" and config.apply_time == 0.0 and config.delay is None
    assert found.source == {"backend": "simulated", "policy": "async", "seed": 0, "workers": 3,
                            "gradients": 1500, "time": run.summary.time,
                            "load_average": found.source["load_average"]}


def test_workers_that_differ_by_noise_keep_speed_one():
    found = calibrate(simulated(policy="async", workers=4, gradients=400, compute="exp:0.02",
                                latency=0.005))
    assert found.config.speeds == ()          # exp noise: no worker is off by 3 errors
    assert found.config.latency == 0.005      # every message the same: a constant, a number


def test_constant_laws_stay_constant_and_the_apply_time_is_the_servers():
    found = calibrate(simulated(policy="sync", workers=2, gradients=100, compute="const:0.02",
                                latency=0.003, apply_time=0.001))
    config = found.config
    assert config.compute == Distribution("const", 0.02) and config.latency == 0.003
    assert config.apply_time == pytest.approx(0.001)
    assert asynclab.run(config).summary.time == pytest.approx(
        simulated(policy="sync", workers=2, gradients=100, compute="const:0.02", latency=0.003,
                  apply_time=0.001).summary.time)


def test_message_bytes_over_the_bandwidth_are_taken_off_the_latency():
    problem = SMALL["problem"]
    found = calibrate(simulated(policy="async", workers=2, gradients=100, compute="exp:0.02",
                                latency=0.002, bandwidth=problem.nbytes / 0.004))
    assert found.config.latency == pytest.approx(0.002)
    assert found.config.bandwidth == problem.nbytes / 0.004


def test_a_saved_run_is_plain_json_and_calibrates_as_the_result_does(tmp_path):
    run = simulated(policy="async", workers=2, gradients=100, compute="exp:0.02", latency=0.002)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(saved_run(run)))
    saved = load_run(path)
    assert saved["saved"]["message_bytes"] == SMALL["problem"].nbytes
    assert len(saved["trace"]) == len(run.trace) and saved["summary"]["time"] == run.summary.time
    assert Config.from_dict(saved["config"]) == run.config
    assert calibrate(saved) == calibrate(run)


@pytest.mark.parametrize("text, needle", [("{", "is not JSON"), ('{"config": {}}', "not a run saved"),
                                          ("[1, 2]", "not a run saved")])
def test_a_file_that_is_not_a_saved_run_is_refused_in_one_line(tmp_path, text, needle):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=needle):
        load_run(path)
    with pytest.raises(ValueError, match="cannot read the run"):
        load_run(tmp_path / "missing.json")


def test_allreduce_and_too_short_runs_are_refused():
    with pytest.raises(ValueError, match="allreduce"):
        calibrate(simulated(policy="allreduce", workers=2, gradients=40, compute="exp:0.02"))
    with pytest.raises(ValueError, match="at least 10"):
        calibrate(simulated(policy="async", workers=2, gradients=6, compute="exp:0.02"))


def test_the_printed_config_pastes_back_as_python_and_as_flags():
    found = calibrate(simulated(policy="ssp:1", workers=3, gradients=600, compute="exp:0.02",
                                latency="lognormal:0.004:0.5", speeds=(1, 2, 1), lr=0.2))
    config = found.config
    pasted = eval(found.python, {"asynclab": asynclab, "math": math})   # noqa: S307 (our text)
    assert pasted == config and python_text(pasted) == found.python
    assert "compute=" in found.python and "speeds=" in found.python
    assert _config(parse(["run", *config_flags(config)]), config.policy) == config


def test_a_calibrated_simulation_predicts_another_real_run():
    """Measure, calibrate, predict, check: a process run with injected laws (async,
    2 workers, seed 0) is calibrated; the simulation of a run with another seed and
    another number of workers (1, 4) predicts the real one within 15%, the
    issue's goal for a busy 2-core machine. The laws' numbers carry a sampling error
    (a compute law of CV 0.3 from 200 gradients: about 2%); the rest is load.
    A load spike can slow one real run by more than that (+30% seen at load 12),
    so a second pair (seeds 2, 3) is tried once before the prediction is called
    wrong; a model off by 15% misses both."""
    laws = dict(policy="async", delay="lognormal:0.02:0.3", latency="exp:0.005",
                backend="process", eval_points=2)
    misses = []
    for first, second in ((0, 1), (2, 3)):
        measured = asynclab.run(Config(**laws, workers=2, gradients=200, seed=first))
        found = calibrate(measured)
        assert found.config.compute.mean > 0.02     # the real gradient and the overshoot
        predicted = asynclab.run(found.config.replace(seed=second, workers=4, gradients=240))
        real = asynclab.run(Config(**laws, workers=4, gradients=240, seed=second))
        error = real.summary.time / predicted.summary.time - 1
        if abs(error) <= 0.15:
            return
        misses.append(error)
    pytest.fail(f"the calibrated simulation missed both real runs by {misses}")


def test_run_save_then_calibrate_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "run.json"
    assert main(["run", "--backend", "thread", "--workers", "2", "--gradients", "40", "--delay",
                 "const:0.002", "--latency", "0.001", "--eval-points", "2", "--save",
                 str(path)]) == 0
    assert f"run saved to {path}" in capsys.readouterr().out
    assert load_run(path)["config"]["backend"] == "thread"
    assert main(["calibrate", str(path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Calibrated on {path}: async on thread, 2 workers, seed 0, 40 gradients")
    assert "asynclab.Config(" in text and "latency=" in text
    command = next(line.strip() for line in text.splitlines()
                   if line.strip().startswith("asynclab run "))
    assert main(shlex.split(command)[1:] + ["--json"]) == 0       # the flags run as printed
    assert json.loads(capsys.readouterr().out)["backend"] == "simulated"
    assert main(["calibrate", str(path), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {"config", "python", "command_line", "compute", "message", "speeds", "apply_time",
            "source"} <= set(found)
    assert found["command_line"] == command
    # A sleep is never shorter than asked: every compute time is at least the 2 ms delay.
    assert found["compute"]["mean"] >= 0.002 and found["between_events"] >= 0


@pytest.mark.parametrize("argv, needle", [
    (["run", "--save", "/nonexistent/run.json"], "cannot write the run to '/nonexistent/run.json'"),
    (["calibrate", "/nonexistent/run.json"], "cannot read the run '/nonexistent/run.json'"),
])
def test_bad_paths_are_one_line_before_anything_runs(argv, needle, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and needle in err and len(err.strip().splitlines()) == 1
