"""A run's trace in Chrome's Trace Event Format: valid, complete, one track per worker."""
import json
import os
import stat
from collections import Counter

import pytest

import asynclab
from asynclab import chrome_trace
from asynclab.cli import main

PROBLEM = asynclab.Logistic(features=10, examples=100)


@pytest.fixture(scope="module")
def run():
    # Latency, a busy server and a lost worker: every kind of record is there.
    return asynclab.run(problem=PROBLEM, policy="ssp:1", workers=3, gradients=60, latency=0.1,
                        apply_time=0.05, fail=[(2, 10)], seed=3)


def load(result, tmp_path):
    path = tmp_path / "trace.json"
    assert result.to_chrome_trace(path) == str(path)
    return json.loads(path.read_text())


def complete_events(data):
    return [e for e in data["traceEvents"] if e["ph"] == "X"]


def test_the_format_has_the_required_keys_and_microsecond_times(run, tmp_path):
    data = load(run, tmp_path)
    assert data["displayTimeUnit"] == "ms" and "microseconds" in data["otherData"]["time"]
    for e in data["traceEvents"]:
        assert e["ph"] in ("X", "M") and {"name", "ph", "pid", "tid"} <= set(e)
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
    events = complete_events(data)
    for e in events:
        assert {"ts", "dur", "cat", "args"} <= set(e) and e["dur"] >= 0
        assert set(e["args"]) >= {"version", "staleness"}
    # Times are microseconds of the run's seconds.
    last = max(e["ts"] + e["dur"] for e in events)
    assert last == pytest.approx(run.summary.time * 1e6, rel=1e-9)


def test_every_trace_record_is_exported_once(run, tmp_path):
    events = complete_events(load(run, tmp_path))
    exported = Counter((e["name"], round(e["ts"], 3), round(e["dur"], 3), e["args"]["version"],
                        e["args"]["staleness"]) for e in events)
    recorded = Counter((kind, round(start * 1e6, 3), round((end - start) * 1e6, 3), version,
                        staleness) for _, kind, start, end, version, staleness in run.trace.rows)
    assert exported == recorded and len(events) == len(run.trace)
    assert {"compute", "pull", "push", "wait", "apply", "fail"} <= {e["name"] for e in events}


def test_one_track_per_worker_and_the_server_on_its_own(run, tmp_path):
    data = load(run, tmp_path)
    names = {e["tid"]: e["args"]["name"] for e in data["traceEvents"]
             if e["name"] == "thread_name"}
    assert sorted(names.values()) == ["server", "worker 0", "worker 1", "worker 2"]
    by_name = {v: k for k, v in names.items()}
    for e in complete_events(data):
        if e["name"] in ("apply", "drop"):
            assert e["tid"] == by_name["server"] and "worker" in e["args"]
        else:
            assert names[e["tid"]].startswith("worker ")
    rows = {(w, kind, start) for w, kind, start, *_ in run.trace.rows}
    for e in complete_events(data):                 # each worker's events on its own track
        if e["name"] not in ("apply", "drop"):
            worker = int(names[e["tid"]].split()[1])
            assert (worker, e["name"], pytest.approx(e["ts"] / 1e6)) in [
                (w, k, s) for w, k, s in rows if w == worker and k == e["name"]]


def test_events_on_one_track_never_overlap(run, tmp_path):
    tracks = {}
    for e in complete_events(load(run, tmp_path)):
        tracks.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in tracks.values():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end - 1e-6 * max(1.0, abs(end))


def test_overlapping_events_of_one_worker_go_to_an_extra_track():
    # Lock-free Hogwild! applies at the same instant, and a worker may overlap itself
    # when communication runs beside compute: the export stacks them on extra lanes.
    assert chrome_trace._lanes([(0, 2), (1, 3), (2, 4), (3.5, 5)]) == [0, 1, 0, 1]
    assert chrome_trace._lanes([(0, 0), (0, 0), (0, 1)]) == [0, 0, 0]
    r = asynclab.run(problem=PROBLEM, policy="async", workers=2, gradients=10)
    r.trace.record(0, "compute", 0.0, r.summary.time)     # a made-up overlap
    names = [e["args"]["name"] for e in chrome_trace.events(r) if e["name"] == "thread_name"]
    assert names == ["worker 0", "worker 0 (2)", "worker 1", "server"]


def test_an_unwritable_path_is_one_clear_error_and_leaves_nothing(run, tmp_path):
    with pytest.raises(ValueError, match="its folder does not exist"):
        run.to_chrome_trace(tmp_path / "missing" / "t.json")
    with pytest.raises(ValueError, match="it is a directory"):
        run.to_chrome_trace(tmp_path)
    with pytest.raises(ValueError, match="give a file name"):
        run.to_chrome_trace("")
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_trace_and_refuses_bad_paths(capsys, tmp_path):
    path = tmp_path / "run.json"
    code = main(["run", "--features", "10", "--examples", "100", "--gradients", "40",
                 "--latency", "0.1", "--chrome-trace", str(path)])
    out, err = capsys.readouterr()
    assert code == 0 and f"trace written to {path}" in out
    data = json.loads(path.read_text())
    assert len(complete_events(data)) > 40
    for bad, needle in ((tmp_path / "no" / "x.json", "its folder does not exist"),
                        (tmp_path, "it is a directory")):
        code = main(["run", "--gradients", "10", "--chrome-trace", str(bad)])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1


def test_a_trace_file_gets_the_permissions_the_umask_gives(run, tmp_path):
    old = os.umask(0o022)
    try:
        path = chrome_trace.write(run, tmp_path / "t.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644     # mkstemp's files were 0600
    assert os.listdir(tmp_path) == ["t.json"]
