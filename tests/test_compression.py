"""Compressed pushes (asynclab.compression): the byte rule, the compressors, the oracles
(topk:1 is none bit for bit; error feedback conserves what was computed), the
message times, bytes_sent on every backend, and bad input refused in one line."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import asynclab
from asynclab.backends import check_config
from asynclab.backends.simulated import Simulation
from asynclab.compression import (QSGD, Compression, RandK, WorkerCompression,
                                  gathered_bytes, parse_compression)
from asynclab.trace import COMPUTE, PUSH

SMALL = asynclab.Logistic(features=50, examples=500)
S = SMALL.nbytes                           # 400 bytes: 50 float64 parameters
VECTORS = arrays(np.float64, st.integers(1, 60),
                 elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False))


def config(**kw):
    return asynclab.Config(**{"problem": SMALL, "workers": 3, "gradients": 90, "lr": 0.5,
                              "seed": 4, "eval_points": 4, **kw})


# -- the forms and their bytes --------------------------------------------------------------
@pytest.mark.parametrize("spec, kind, text", [
    ("none", "none", "none"), ("topk:0.01", "topk", "topk:0.01"), ("topk:1", "topk", "topk:1"),
    ("randk:0.25", "randk", "randk:0.25"), ("qsgd:4", "qsgd", "qsgd:4"),
    ("qsgd:65536", "qsgd", "qsgd:65536")])
def test_forms_parse_and_print_as_written(spec, kind, text):
    parsed = parse_compression(spec)
    assert parsed.kind == kind and str(parsed) == text and parse_compression(parsed) is parsed
    assert str(config(compress=spec).compress) == text
    assert config(compress=spec).to_dict()["compress"] == text


@pytest.mark.parametrize("spec", ["topk:0", "topk:1.5", "topk:-0.1", "topk:nan", "topk:",
                                  "randk:0", "randk:2", "qsgd:0", "qsgd:1.5", "qsgd:-2",
                                  "qsgd:65537", "gzip", "top-k:0.1", "", "topk", 0.1, None])
def test_a_bad_form_is_one_line_naming_it_and_what_is_allowed(spec):
    with pytest.raises(ValueError) as err:
        config(compress=spec)
    message = str(err.value)
    assert message == ("compress must be none, topk:F or randk:F (F in (0, 1], the share of "
                       "coordinates sent), or qsgd:LEVELS (a whole number from 1 to 65536); "
                       f"got {spec!r}")


def test_what_compression_cannot_go_with_is_refused_in_one_line():
    with pytest.raises(ValueError, match="policy 'hogwild' writes each step into the shared"):
        config(policy="hogwild", compress="topk:0.1")
    with pytest.raises(ValueError, match="with overlap under 'sync': overlap sends that"):
        config(policy="sync", overlap=True, compress="qsgd:2")
    with pytest.raises(ValueError, match="with overlap under 'allreduce'"):
        config(policy="allreduce", overlap=True, compress="topk:0.1")
    with pytest.raises(ValueError, match="the ray backend does not model compress='topk:0.1'"):
        check_config(config(backend="ray", compress="topk:0.1"))
    with pytest.raises(ValueError, match="error_feedback must be True or False, got 'no'"):
        config(compress="topk:0.1", error_feedback="no")
    assert config(policy="async", overlap=True, compress="topk:0.1").overlap   # a whole push


@pytest.mark.parametrize("spec, dim, expected", [
    ("none", 50, 400),
    ("topk:0.1", 50, 5 * 12),           # k = 5 values of 8 bytes and indices of 4
    ("topk:0.01", 50, 12),              # k = ceil(0.5) = 1
    ("topk:0.5", 50, 25 * 12),
    ("topk:0.7", 50, 400),              # 35 x 12 = 420 > 400: the dense vector is fewer
    ("topk:1", 50, 400),
    ("randk:0.1", 50, 5 * 8),           # values only: the coordinates come from the seed
    ("randk:1", 50, 400),
    ("qsgd:1", 50, math.ceil(50 * 2 / 8) + 8),   # 3 values -> 2 bits each, plus the norm
    ("qsgd:2", 50, math.ceil(50 * 3 / 8) + 8),   # 5 values -> 3 bits
    ("qsgd:4", 50, math.ceil(50 * 4 / 8) + 8),   # 9 values -> 4 bits
    ("qsgd:7", 50, math.ceil(50 * 4 / 8) + 8),   # 15 values -> 4 bits
    ("qsgd:8", 50, math.ceil(50 * 5 / 8) + 8),   # 17 values -> 5 bits
    ("qsgd:65536", 1000, math.ceil(1000 * 18 / 8) + 8),   # 131,073 values -> 18 bits
])
def test_the_byte_rule(spec, dim, expected):
    assert parse_compression(spec).nbytes(dim) == expected


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 7, 8, 100, 65536])
def test_qsgd_bits_are_ceil_log2_of_its_values(levels):
    bits = math.ceil(math.log2(2 * levels + 1))
    assert Compression("qsgd", levels=levels).nbytes(10 ** 6) == math.ceil(10 ** 6 * bits / 8) + 8


@pytest.mark.parametrize("spec, workers, gathered", [
    ("topk:0.02", 4, 12), ("topk:0.04", 4, 24), ("topk:0.1", 4, 60), ("topk:0.1", 8, 60),
    ("topk:0.1", 16, None),          # 16 x 60 = 960 >= 800: the dense ring sends fewer
    ("topk:0.5", 4, None), ("topk:1", 2, None), ("qsgd:2", 8, 27), ("none", 4, None)])
def test_allreduce_all_gathers_only_when_that_sends_fewer_bytes(spec, workers, gathered):
    """(N - 1) m bytes a worker against the dense ring's 2 (N - 1) S / N."""
    assert gathered_bytes(parse_compression(spec), 50, workers) == gathered


# -- the compressors ------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(VECTORS, st.floats(0.01, 1.0))
def test_topk_keeps_exactly_the_k_largest_magnitudes(vector, fraction):
    compression = Compression("topk", fraction=fraction)
    k = compression.kept(len(vector))
    sent, nbytes = compression.compressor(len(vector)).compress(vector, None)
    assert nbytes == compression.nbytes(len(vector)) and k == max(1, math.ceil(fraction * len(vector)))
    kept = sent != 0
    assert np.array_equal(sent[kept], vector[kept]) and np.count_nonzero(kept) <= k
    kth_largest = np.sort(np.abs(vector))[-k]
    assert np.all(np.abs(vector[~kept]) <= kth_largest)     # nothing larger was left out
    assert np.all(np.abs(vector[kept]) >= kth_largest)


@settings(max_examples=60, deadline=None)
@given(VECTORS, st.floats(0.01, 1.0), st.integers(0, 2 ** 32 - 1))
def test_randk_keeps_k_coordinates_as_they_are(vector, fraction, seed):
    compression = Compression("randk", fraction=fraction)
    k = compression.kept(len(vector))
    sent, _ = RandK(k, 0).compress(vector, np.random.default_rng(seed))
    same = sent == vector
    assert np.all(same | (sent == 0)) and np.count_nonzero(same & (vector != 0)) <= k
    again, _ = RandK(k, 0).compress(vector, np.random.default_rng(seed))
    assert np.array_equal(sent, again)                   # the seed decides the coordinates


def test_qsgd_is_unbiased_and_sends_levels_of_the_norm():
    rng = np.random.default_rng(0)
    vector = rng.normal(size=20)
    norm, levels = np.linalg.norm(vector), 2
    draws = np.array([QSGD(levels, 0).compress(vector, rng)[0] for _ in range(20000)])
    grid = np.abs(draws) / norm * levels
    assert np.allclose(grid, np.round(grid)) and grid.max() <= levels   # 0, 1/s, ..., 1 of the norm
    assert np.all(np.sign(draws) * np.sign(vector) >= 0)
    error = draws.mean(axis=0) - vector            # standard error about norm / sqrt(20000)
    assert np.abs(error).max() < 5 * norm / np.sqrt(20000)
    assert np.array_equal(QSGD(3, 0).compress(np.zeros(4), rng)[0], np.zeros(4))


@pytest.mark.parametrize("spec", ["topk:0.1", "topk:0.5", "randk:0.2", "qsgd:8"])   # contractions
def test_error_feedback_conserves_what_was_computed(spec):
    """Oracle: what a worker sent plus its residual is the sum of its updates, to 1e-12."""
    rng = np.random.default_rng(1)
    worker = WorkerCompression(parse_compression(spec), True, 50, np.random.default_rng(2))
    updates = rng.normal(size=(200, 50)) * rng.uniform(0.1, 10, size=(200, 1))
    sent = np.array([worker.send(u) for u in updates])
    np.testing.assert_allclose(sent.sum(axis=0) + worker.memory.residual, updates.sum(axis=0),
                               rtol=0, atol=1e-12 * np.abs(updates).sum())
    assert np.abs(worker.memory.residual).max() > 0     # something was held back


def test_without_error_feedback_nothing_is_remembered_and_none_sends_the_update_itself():
    update = np.arange(5.0)
    worker = WorkerCompression(parse_compression("topk:0.2"), False, 5, None)
    assert worker.memory is None and np.array_equal(worker.send(update), [0, 0, 0, 0, 4])
    assert WorkerCompression(parse_compression("none"), True, 5, None).send(update) is update


@pytest.mark.parametrize("spec, expected", [("topk:0.1", True), ("randk:0.1", True),
                                            ("qsgd:2", False), ("none", False)])
def test_error_feedback_by_default_on_for_the_biased_compressors(spec, expected):
    compression = parse_compression(spec)
    assert compression.error_feedback(None) is expected
    assert compression.error_feedback(False) is False
    assert compression.error_feedback(True) is (spec != "none")


# -- oracles on the engine ------------------------------------------------------------------
@pytest.mark.parametrize("policy, extra", [
    ("sync", {}), ("async", dict(latency=0.05, bandwidth=4000)),
    ("allreduce", dict(latency="exp:0.02", bandwidth=2000)), ("local:3", {}),
    ("backup:1", dict(server_bandwidth=5000, bandwidth=8000)),
    ("ssp:1", dict(overlap=True, latency=0.1, momentum=0.5))])
def test_topk_1_is_none_bit_for_bit(policy, extra):
    """Oracle: every coordinate, kept (k = d), is the vector itself: the same
    parameters, losses, trace and bytes as without compression."""
    plain = asynclab.run(config(policy=policy, **extra))
    kept = asynclab.run(config(policy=policy, compress="topk:1", **extra))
    assert np.array_equal(plain.params, kept.params)
    assert plain.history.loss == kept.history.loss and plain.trace.rows == kept.trace.rows
    assert plain.summary.to_dict() == kept.summary.to_dict()


def test_error_feedback_conserves_the_gradients_of_a_sync_run(monkeypatch):
    """Oracle on the engine: each worker's gradients add up to what it sent plus
    its residual (to 1e-12), and sync's parameters moved by lr times the mean of
    what was sent, step by step."""
    seen = {}                   # id: (the worker's compression, its updates, what it sent)
    original = WorkerCompression.send

    def send(self, update):
        sent = original(self, update)
        _, updates, sents = seen.setdefault(id(self), (self, [], []))
        updates.append(update)
        sents.append(sent)
        return sent

    monkeypatch.setattr(WorkerCompression, "send", send)
    cfg = config(policy="sync", workers=3, gradients=90, compress="topk:0.05")
    simulation = Simulation(cfg)
    result = simulation.run()
    assert len(seen) == 3 and all(len(s[1]) == 30 for s in seen.values())
    total_sent = np.zeros(SMALL.dim)
    for worker, updates, sent in seen.values():
        np.testing.assert_allclose(np.sum(sent, axis=0) + worker.memory.residual,
                                   np.sum(updates, axis=0), rtol=0, atol=1e-12)
        total_sent += np.sum(sent, axis=0)
    moved = SMALL.initial_params() - result.params
    np.testing.assert_allclose(moved, cfg.lr * total_sent / 3, rtol=0, atol=1e-12)
    assert simulation.compressions[0].memory is not None


def test_error_feedback_is_what_makes_aggressive_top_k_converge():
    """Without it, top-k sends each step only the coordinates that are large now
    and never the rest: one coordinate in 50 leaves the loss far behind."""
    cfg = config(policy="sync", workers=4, gradients=800, lr=0.3, compute="const:1",
                 compress="topk:0.02", eval_points=21, target_loss=0.32)
    plain = asynclab.run(cfg.replace(compress="none")).summary
    fed = asynclab.run(cfg).summary
    dropped = asynclab.run(cfg.replace(error_feedback=False)).summary
    assert fed.final_loss < 1.01 * plain.final_loss and fed.final_loss < dropped.final_loss - 0.05
    assert fed.time_to_target == plain.time_to_target and dropped.time_to_target is None


def test_compression_draws_from_its_own_stream():
    """randk and QSGD leave every other stream alone: the same minibatches and
    compute times as the uncompressed run, and the same seed gives the same bits."""
    base = config(policy="async", compute="exp:1")
    plain = asynclab.run(base)
    for spec in ("randk:0.1", "qsgd:2"):
        a, b = asynclab.run(base.replace(compress=spec)), asynclab.run(base.replace(compress=spec))
        assert np.array_equal(a.params, b.params)
        computed = [(r.trace.of_kind(COMPUTE)) for r in (plain, a)]
        assert [(e.worker, e.start, e.end) for e in computed[0]] == \
               [(e.worker, e.start, e.end) for e in computed[1]]
        other_seed = asynclab.run(base.replace(compress=spec, seed=5))
        assert not np.array_equal(a.params, other_seed.params)


# -- messages: their times and bytes ---------------------------------------------------------
@pytest.mark.parametrize("spec", ["none", "topk:0.1", "randk:0.2", "qsgd:2"])
def test_a_compressed_push_takes_latency_plus_its_bytes_over_bandwidth(spec):
    """Sync, constant times: a step is a dense pull, the gradient, a compressed push."""
    latency, bandwidth, steps = 0.01, 4000.0, 10
    r = asynclab.run(config(policy="sync", workers=2, gradients=2 * steps, compute="const:1",
                            latency=latency, bandwidth=bandwidth, compress=spec))
    push = latency + parse_compression(spec).nbytes(50) / bandwidth
    assert r.summary.time == pytest.approx(steps * ((latency + S / bandwidth) + 1 + push))
    assert {round(e.duration, 12) for e in r.trace.of_kind(PUSH)} == {round(push, 12)}


def test_a_compressed_push_holds_the_servers_link_for_its_own_bytes():
    """Async saturating the server's link: a gradient costs (S + P) / server_bandwidth."""
    link = 2000.0
    for spec in ("none", "topk:0.1"):
        r = asynclab.run(config(policy="async", workers=8, gradients=400, compute="const:0.01",
                                server_bandwidth=link, compress=spec))
        cost = (S + parse_compression(spec).nbytes(50)) / link
        assert r.summary.gradients_per_second == pytest.approx(1 / cost, rel=0.02)


@pytest.mark.parametrize("spec, workers", [("topk:0.04", 4), ("qsgd:2", 8), ("topk:0.5", 4)])
def test_a_compressed_allreduce_step_takes_its_all_gather(spec, workers):
    """(N - 1)(latency + m / B) when the ring all-gathers m-byte messages; the
    dense ring's 2(N - 1)(latency + S/(N B)) when that sends fewer bytes."""
    latency, bandwidth, steps = 0.002, 5000.0, 5
    r = asynclab.run(config(policy="allreduce", workers=workers, gradients=workers * steps,
                            compute="const:1", latency=latency, bandwidth=bandwidth,
                            compress=spec))
    m = gathered_bytes(parse_compression(spec), 50, workers)
    ring = ((workers - 1) * (latency + m / bandwidth) if m is not None else
            2 * (workers - 1) * (latency + S / (workers * bandwidth)))
    assert r.summary.time == pytest.approx(steps * (1 + ring))
    sent = (workers - 1) * m if m is not None else 2 * (workers - 1) * S / workers
    assert r.summary.bytes_pushed == pytest.approx(steps * workers * sent)


@pytest.mark.parametrize("policy, pulls, pushes", [
    ("sync", 120, 120), ("async", 120, 120), ("ssp:1", 120, 120), ("backup:1", 120, 120),
    ("local:3", 40, 40), ("hogwild", 120, 120)])
def test_bytes_sent_counts_every_pull_and_push(policy, pulls, pushes):
    r = asynclab.run(config(policy=policy, workers=4, gradients=120, latency=0.01))
    s = r.summary
    assert s.bytes_pushed == pushes * S and s.bytes_pulled == pulls * S    # backup: dropped too
    assert s.bytes_sent == s.bytes_pushed + s.bytes_pulled
    compressed = asynclab.run(config(policy=policy, workers=4, gradients=120, latency=0.01,
                                     **({} if policy == "hogwild" else {"compress": "topk:0.1"})))
    if policy != "hogwild":
        assert compressed.summary.bytes_pushed == pushes * 60
        assert compressed.summary.bytes_pulled == s.bytes_pulled


def test_bytes_under_overlap_count_the_background_fetches():
    r = asynclab.run(config(policy="async", workers=3, gradients=60, overlap=True, latency=0.1,
                            compress="qsgd:2"))
    fetches = len(r.trace.of_kind("fetch"))
    assert r.summary.bytes_pushed == 60 * parse_compression("qsgd:2").nbytes(50)
    assert r.summary.bytes_pulled == (3 + fetches) * S      # each worker's first pull, then fetches


def test_the_cli_prints_the_bytes_and_the_compression(capsys):
    from asynclab.cli import main
    assert main(["run", "--policy", "sync", "--compress", "topk:0.1", "--gradients", "40"]) == 0
    out = capsys.readouterr().out
    assert "compress topk:0.1 (error feedback on)" in out
    assert "bytes sent          18,400 (pushed 2,400, pulled 16,000)" in out
    assert main(["run", "--compress", "qsgd:2", "--gradients", "40", "--json"]) == 0
    assert '"bytes_pushed": 1080.0' in capsys.readouterr().out
    assert main(["run", "--compress", "topk:0.1", "--no-error-feedback", "--gradients", "8"]) == 0
    assert "(error feedback off)" in capsys.readouterr().out


@pytest.mark.parametrize("args, needle", [
    (["--compress", "topk:0"], "compress must be none, topk:F or randk:F"),
    (["--compress", "topk:1.5"], "got 'topk:1.5'"),
    (["--compress", "qsgd:0"], "got 'qsgd:0'"),
    (["--compress", "zip"], "got 'zip'"),
    (["--policy", "hogwild", "--compress", "topk:0.1"], "policy 'hogwild' writes each step"),
    (["--backend", "ray", "--compress", "randk:0.5"], "does not model compress='randk:0.5'"),
    (["--error-feedback", "1"], "unrecognized arguments: 1"),
])
def test_bad_compression_on_the_command_line_exits_2_with_one_line(capsys, args, needle):
    from asynclab.cli import main
    code = main(["run", *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1, err


# -- real workers ----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["thread", "process"])
@pytest.mark.parametrize("policy, spec", [("sync", "topk:0.1"), ("local:2", "randk:0.2"),
                                          ("allreduce", "qsgd:2"),      # all-gathered
                                          ("allreduce", "topk:0.5")])   # the dense ring
def test_real_workers_send_what_the_simulated_ones_send(backend, policy, spec):
    """The same compressed messages from the same streams: sync-like policies end
    with the simulated parameters (to 1e-12) and the same bytes."""
    cfg = config(policy=policy, compress=spec, gradients=60)
    real, simulated = asynclab.run(cfg, backend=backend), asynclab.run(cfg)
    np.testing.assert_allclose(real.params, simulated.params, rtol=0, atol=1e-12)
    assert (real.summary.bytes_pushed, real.summary.bytes_pulled) == \
           (simulated.summary.bytes_pushed, simulated.summary.bytes_pulled)
    assert not np.allclose(real.params, asynclab.run(cfg.replace(compress="none")).params)


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_real_compressed_pushes_are_shorter_on_the_wire(backend):
    """Injected message times: a pull sleeps latency + S/B, a topk:0.1 push
    latency + 60/B (0.05 s against 0.0075 s here; generous bounds, the machine
    may be loaded)."""
    r = asynclab.run(config(policy="async", workers=2, gradients=16, compress="topk:0.1",
                            bandwidth=S / 0.05, backend=backend))
    pulls = [e.duration for e in r.trace.of_kind("pull")]
    pushes = [e.duration for e in r.trace.of_kind(PUSH)]
    assert np.median(pulls) >= 0.05 and np.median(pushes) < 0.5 * np.median(pulls)
    assert r.summary.bytes_pushed == 16 * 60 and r.summary.bytes_pulled == 16 * S


def test_a_background_sender_compresses_its_pushes():
    r = asynclab.run(config(policy="async", workers=2, gradients=20, overlap=True,
                            latency=0.002, compress="qsgd:2", backend="thread"))
    assert r.summary.bytes_pushed == 20 * 27 and r.summary.final_loss < r.summary.initial_loss
    assert r.trace.of_kind("send")
