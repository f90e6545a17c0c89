"""Defects found in the review of the second edition (issue "Fair to synchronous SGD", part E),
each pinned by a test that failed before its fix."""
import json
import re

import numpy as np
import pytest

import asynclab
from asynclab.cli import main

SMALL = asynclab.Logistic(features=50, examples=500)


# 5. Config(staleness_aware="False") became True and progress="no" stayed a string.
@pytest.mark.parametrize("field", ["staleness_aware", "overlap"])
@pytest.mark.parametrize("value", ["False", "no", "", 2, 0.5, None, [True]])
def test_a_boolean_field_takes_only_a_boolean(field, value):
    with pytest.raises(ValueError, match=f"^{field} must be True or False, got "):
        asynclab.Config(problem=SMALL, **{field: value})


@pytest.mark.parametrize("field", ["staleness_aware", "overlap"])
@pytest.mark.parametrize("value, meaning", [(True, True), (False, False), (1, True), (0, False),
                                            (np.bool_(True), True)])
def test_a_boolean_field_keeps_its_meaning(field, value, meaning):
    config = asynclab.Config(problem=SMALL, **{field: value})
    assert getattr(config, field) is meaning


@pytest.mark.parametrize("value", ["False", "no", "", None, [True], -1])
def test_progress_takes_a_boolean_or_seconds_never_a_string(value):
    with pytest.raises(ValueError, match="^progress must be True, False or a number of seconds"):
        asynclab.Config(problem=SMALL, progress=value)


@pytest.mark.parametrize("value, meaning", [(True, True), (False, False), (np.bool_(False), False),
                                            (0, True), (2.5, 2.5)])
def test_progress_keeps_its_meaning(value, meaning):
    assert asynclab.Config(problem=SMALL, progress=value).progress == meaning


# 7. On the simulated backend a tiny bandwidth or a huge latency made time infinite,
# fractions NaN and the Chrome trace invalid JSON: such values are refused up front.
@pytest.mark.parametrize("change", [dict(bandwidth=1e-310), dict(server_bandwidth=1e-310),
                                    dict(latency=1e308), dict(compute="const:1e306"),
                                    dict(apply_time=1e308),
                                    dict(policy="allreduce", bandwidth=1e-310)])
def test_a_run_whose_time_would_be_infinite_is_refused(change):
    with pytest.raises(ValueError, match="simulated seconds, more than the 1e\\+15"):
        asynclab.Config(problem=SMALL, gradients=100, **change)


def test_a_slow_but_finite_network_still_runs_and_its_trace_is_valid_json(tmp_path):
    result = asynclab.run(problem=SMALL, gradients=40, workers=2, bandwidth=1e-3, eval_points=3)
    assert np.isfinite(result.summary.time) and result.summary.time > 1e5
    fractions = [result.summary.compute_fraction, result.summary.transfer_fraction,
                 result.summary.wait_fraction, result.summary.queue_fraction]
    assert all(np.isfinite(fractions)) and abs(sum(fractions) - 1) < 1e-9
    path = result.to_chrome_trace(tmp_path / "t.json")
    assert json.loads(open(path, encoding="utf-8").read())["traceEvents"]


def test_the_command_line_refuses_an_infinite_run_in_one_line(capsys):
    assert main(["run", "--bandwidth", "1e-310", "--gradients", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "simulated seconds" in err and "bandwidth" in err


# 4. A data file whose training and test images differ in shape failed at the first
# evaluation with a matmul traceback (exit 1, 38 lines): it is refused when it loads.
def _mismatched_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mismatched.npz"
    np.savez(path, x_train=rng.integers(0, 256, (12, 4, 3), dtype=np.uint8),
             y_train=np.arange(12, dtype=np.uint8) % 10,
             x_test=rng.integers(0, 256, (5, 4, 4), dtype=np.uint8),
             y_test=np.arange(5, dtype=np.uint8))
    return path


def test_training_and_test_images_of_different_shapes_are_refused_at_load(tmp_path):
    path = _mismatched_file(tmp_path)
    with pytest.raises(ValueError, match=f"^data file '{path}': training images are 4x3 but "
                                         "test images are 4x4; both sets need images of one "
                                         "size$"):
        asynclab.MLP(dataset="mnist", data_path=str(path)).data


def test_the_command_line_refuses_mismatched_images_in_one_line(capsys, tmp_path):
    path = _mismatched_file(tmp_path)
    code = main(["run", "--problem", "mlp", "--dataset", "mnist", "--data-path", str(path),
                 "--gradients", "20"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "training images are 4x3 but test images are 4x4" in err


# 6. MLP(seed=-1) raised scikit-learn's InvalidParameterError when its data loaded, and
# make_problem("logistic", seed=-1) failed inside the run: every problem's seed is checked
# when the problem is made.
@pytest.mark.parametrize("make", [
    lambda seed: asynclab.MLP(seed=seed),
    lambda seed: asynclab.make_problem("logistic", seed=seed),
    lambda seed: asynclab.make_problem("logistic", dataset="digits", seed=seed),
    lambda seed: asynclab.SparseLogistic(seed=seed),
    lambda seed: asynclab.LeastSquares(seed=seed),
], ids=["mlp", "logistic", "logistic-digits", "sparse-logistic", "least-squares"])
@pytest.mark.parametrize("seed", [-1, 1.5, "3", None, True])
def test_a_problem_seed_is_a_whole_number_at_least_zero(make, seed):
    with pytest.raises(ValueError, match=f": seed must be a whole number >= 0, got "
                                         f"{re.escape(repr(seed))}$"):
        make(seed)


def test_any_whole_seed_at_least_zero_makes_a_problem_whose_data_loads():
    for seed in (0, np.int64(7), 2**32, 2**70):
        mlp = asynclab.MLP(hidden=(4,), seed=seed)
        assert mlp.validation_examples == mlp.test_examples == 359
        assert asynclab.Logistic(features=3, examples=8, seed=seed).held_out(np.zeros(3))


# 8. MLP(hidden=(10**9,)) was refused on the grounds of "the problem's data": the
# message now names the parameter vector, its size and what is allowed.
def test_a_huge_parameter_vector_is_named_as_such():
    with pytest.raises(ValueError) as info:
        asynclab.Config(problem=asynclab.MLP(hidden=(10**9,)))
    message = str(info.value)
    assert message == ("the parameter vector of problem 'mlp' has 75,000,000,010 parameters, "
                       "6e+11 bytes as float64, more than a run may take (at most 536,870,912 "
                       "parameters, 4.29e+09 bytes); use smaller hidden layers")
    with pytest.raises(ValueError, match="^the parameter vector of problem 'logistic' has "
                                         "1,000,000,000 parameters, .*; use fewer features$"):
        asynclab.Config(problem=asynclab.Logistic(features=10**9, examples=1), batch=1)
