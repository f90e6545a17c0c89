"""Validation (asynclab.validation): the matrix, the twins, the arithmetic of the
errors and the JSON shape. No timing threshold: real runs here check structure only."""
import json
import math
from types import SimpleNamespace

import pytest

import asynclab
from asynclab import Config
from asynclab.timing import Distribution
from asynclab.validation import (LAWS, OVERLAPPED, POLICIES, REFERENCE, Cell, Matrix,
                                 Overheads, Validation, as_real, matrix, reference, twin,
                                 validate)


def cell_of(config):
    return (str(config.policy), config.workers, config.overlap, config.compute.kind)


def test_the_full_matrix_has_every_policy_worker_count_and_law_with_overlap_on_and_off():
    m = matrix()
    run = {cell_of(c) for c in m.configs}
    for policy in POLICIES:
        for workers in (2, 4):
            for compute, _ in LAWS.values():
                assert (policy, workers, False, Distribution.parse(compute).kind) in run
    for policy in OVERLAPPED:
        for workers in (2, 4):
            assert (policy, workers, True, "exp") in run
    assert m.skipped == [] and len(m.configs) == 38
    assert all(c.gradients == 30 * c.workers and c.eval_points == 2 for c in m.configs)


def test_sync_and_allreduce_overlap_in_four_buckets():
    cells = [c for c in matrix().configs if c.overlap and str(c.policy) in ("sync", "allreduce")]
    assert len(cells) == 4 and all(c.buckets == 4 for c in cells)


def test_the_quick_matrix_runs_each_policy_once_and_async_with_overlap():
    m = matrix(quick=True)
    assert [str(c.policy) for c in m.configs] == list(POLICIES) + ["async"]
    assert all(c.workers == 2 and c.gradients == 40 for c in m.configs)
    assert [c.overlap for c in m.configs] == [False] * len(POLICIES) + [True]
    assert {c.compute.kind for c in m.configs} == {"const", "exp"}


def test_a_twin_adds_the_overheads_to_the_laws_means_and_keeps_their_shape():
    config = Config(policy="sync", compute="lognormal:0.02:0.5", latency="exp:0.005",
                    apply_time=0.001)
    shifted = twin(config, Overheads(per_gradient=0.001, per_message=0.0005, apply_time=2e-5))
    assert shifted.backend == "simulated" and shifted.delay is None
    assert shifted.compute == Distribution("lognormal", 0.021, 0.5)
    assert shifted.latency == Distribution("exp", 0.0055)
    assert shifted.apply_time == pytest.approx(0.00102)
    assert twin(config) == config                     # the laws as injected
    constant = twin(Config(compute="const:0.02", latency=0.005), Overheads(0.001, 0.001, 0))
    assert constant.compute == Distribution("const", 0.021) and constant.latency == 0.006
    real = as_real(config, "thread")
    assert real.backend == "thread" and real.delay == config.compute


def summary(time, staleness=0.0):
    fractions = {f"{k}_fraction": 0.25 for k in ("compute", "wait", "queue", "transfer")}
    return SimpleNamespace(time=time, mean_staleness=staleness, overlap_fraction=0.0,
                           **fractions)


def test_errors_their_median_and_largest_and_the_json_shape():
    config = Config(compute="const:0.02", latency=0.005)
    cells = [Cell(config, "thread", summary(1.0), summary(t), nominal_time=0.9)
             for t in (1.1, 0.95, 1.02, 0.7)]
    v = Validation(cells, [({"policy": "sync"}, "not yet")],
                   {"thread": {4: Overheads(1e-3, 2e-4, 0)}}, (1.0, 2.0))
    assert [c.error for c in cells] == pytest.approx([0.1, -0.05, 0.02, -0.3])
    assert v.median_abs_error == pytest.approx((0.05 + 0.1) / 2)
    assert v.max_abs_error == pytest.approx(0.3) and v.worst is cells[3]
    assert cells[0].nominal_error == pytest.approx(1.1 / 0.9 - 1)
    d = json.loads(json.dumps(v.to_dict()))
    assert set(d) == {"cells", "median_abs_error", "max_abs_error", "skipped", "overheads",
                      "load_average"}
    first = d["cells"][0]
    assert {"backend", "policy", "workers", "overlap", "simulated_time", "real_time", "error",
            "nominal_error", "simulated_staleness", "real_staleness", "simulated_fractions",
            "real_fractions"} <= set(first)
    assert first["error"] == pytest.approx(0.1) and first["compute"] == "const:0.02"
    assert d["skipped"] == [{"policy": "sync", "reason": "not yet"}]
    assert d["overheads"]["thread"] == {"4": {"per_gradient": 1e-3, "per_message": 2e-4,
                                              "apply_time": 0}}


def test_validate_runs_each_config_on_each_backend_against_its_twin():
    small = Config(problem=asynclab.Logistic(features=10, examples=100), policy="sync",
                   workers=2, gradients=12, compute="const:0.005", latency=0.001, eval_points=2)
    v = validate([small, small.replace(policy="async")], ("thread",), calibrate=False)
    assert [(c.backend, str(c.config.policy)) for c in v.cells] == [("thread", "sync"),
                                                                     ("thread", "async")]
    for cell in v.cells:
        assert cell.real.backend == "thread" and cell.simulated.backend == "simulated"
        assert cell.real.gradients == cell.simulated.gradients == 12
        assert cell.nominal_time == cell.simulated.time      # not calibrated
        assert math.isfinite(cell.error) and cell.real.time > 0
    assert v.overheads == {"thread": {2: Overheads(0.0, 0.0, 0.0)}} and v.skipped == []


def test_cells_a_backend_refuses_are_skipped_with_its_reason_before_anything_runs():
    config = Config(policy="allreduce", compute="exp:0.02", latency="exp:0.001", workers=2,
                    gradients=4)
    v = validate(Matrix([config], []), ("ray",), calibrate=False)
    assert v.cells == [] and len(v.skipped) == 1
    fields, reason = v.skipped[0]
    assert fields["backend"] == "ray" and "ray backend does not model" in reason


def test_the_reference_runs_are_not_cells():
    assert REFERENCE.seed == 1 and str(REFERENCE.policy) == "async" and REFERENCE.workers == 2
    assert all(c.seed == 0 for c in matrix().configs)
    four = reference(4)
    assert (four.workers, four.gradients, four.seed) == (4, 120, 1)


def test_the_command_line_prints_the_table_or_the_json(capsys, monkeypatch):
    from asynclab import validation
    from asynclab.cli import main
    tiny = Config(problem=asynclab.Logistic(features=10, examples=100), workers=2, gradients=12,
                  compute="const:0.003", latency=0.001, eval_points=2)
    monkeypatch.setattr(validation, "matrix", lambda quick=False: Matrix([tiny], []))
    monkeypatch.setattr(validation, "REFERENCE", tiny.replace(seed=1, gradients=24))
    assert main(["validate", "--backends", "thread"]) == 0
    text = capsys.readouterr().out
    assert "error = real time / simulated time - 1" in text and "median |error|" in text
    assert "thread   async" in text and "per gradient" in text
    assert main(["validate", "--backends", "thread", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found["cells"]) == 1 and found["cells"][0]["backend"] == "thread"
    assert found["overheads"]["thread"]["2"]["per_gradient"] > 0    # a real gradient takes time
    for bad in ("simulated", "thread,thread", "", "thread,gpu"):
        assert main(["validate", "--backends", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("asynclab: error: --backends must name real backends") \
            and len(err.strip().splitlines()) == 1
