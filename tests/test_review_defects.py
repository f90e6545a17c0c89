"""Defects found in the review of the second edition (issue "Fair to synchronous SGD", part E),
each pinned by a test that failed before its fix."""
import json

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
