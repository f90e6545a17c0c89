"""A run's trace in Chrome's Trace Event Format, for Perfetto and chrome://tracing.

    result.to_chrome_trace("run.json")      # then open it at https://ui.perfetto.dev

Every trace record becomes one *complete* event (``"ph": "X"``) with its
start ``ts`` and duration ``dur`` in microseconds (of simulated time on the
simulated backend), its kind as name and category, and ``version`` and
``staleness`` in ``args``. Each worker has its own track (a thread, ``tid``,
of one process); the server's applies and drops have their own track, named
``server``, with the sending worker in ``args``. Events on one track never
overlap: when a worker does two things at once (lock-free writers, overlapped
communication), the later one goes to an extra track ``worker N (2)``, the
way a viewer would have to stack them anyway.
"""
from __future__ import annotations

import json

from .files import check_writable, write_whole
from .trace import APPLY, DROP

SERVER_KINDS = (APPLY, DROP)
MICROSECONDS = 1e6


def _lanes(rows):
    """Give each (start, end) a lane 0, 1, ... so that intervals in one lane never
    overlap (greedy interval partitioning, earliest start first); lanes in input order."""
    ends, lanes = [], [0] * len(rows)
    for i in sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1])):
        start, end = rows[i][0], rows[i][1]
        lane = next((k for k, free in enumerate(ends) if free <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        ends[lane] = end
        lanes[i] = lane
    return lanes


def events(result) -> list:
    """The trace as a list of Trace Event Format dicts (metadata events first)."""
    rows = result.trace.rows
    tracks = {}                # worker number, or "server" -> indices of its rows
    for index, (worker, kind, *_) in enumerate(rows):
        tracks.setdefault("server" if kind in SERVER_KINDS else worker, []).append(index)
    tid_of, names = [0] * len(rows), []           # names[tid]: the track's label
    for track in sorted(tracks, key=lambda t: (t == "server", t if t != "server" else 0)):
        indices = tracks[track]
        lanes = _lanes([(rows[i][2], rows[i][3]) for i in indices])
        first = len(names)
        label = "server" if track == "server" else f"worker {track}"
        names += [label if lane == 0 else f"{label} ({lane + 1})" for lane in range(max(lanes) + 1)]
        for i, lane in zip(indices, lanes):
            tid_of[i] = first + lane
    s = result.summary
    out = [{"name": "process_name", "ph": "M", "pid": 0, "tid": 0,
            "args": {"name": f"asynclab {s.policy} on {s.backend}, {s.workers} workers"}}]
    for tid, name in enumerate(names):
        out.append({"name": "thread_name", "ph": "M", "pid": 0, "tid": tid, "args": {"name": name}})
        out.append({"name": "thread_sort_index", "ph": "M", "pid": 0, "tid": tid,
                    "args": {"sort_index": tid}})
    for (worker, kind, start, end, version, staleness), tid in zip(rows, tid_of):
        args = {"version": version, "staleness": staleness}
        if kind in SERVER_KINDS:
            args["worker"] = worker
        out.append({"name": kind, "cat": kind, "ph": "X", "pid": 0, "tid": tid,
                    "ts": start * MICROSECONDS,
                    "dur": max(end * MICROSECONDS - start * MICROSECONDS, 0.0),
                    "args": args})
    return out


def to_dict(result) -> dict:
    unit = "simulated seconds" if result.summary.backend == "simulated" else "seconds"
    return {"traceEvents": events(result), "displayTimeUnit": "ms",
            "otherData": {"asynclab": result.config.to_dict(),
                          "time": f"ts and dur are microseconds of {unit}"}}


def write(result, path) -> str:
    """Write ``result``'s trace to ``path`` as JSON (whole or not at all); return the path."""
    path = check_writable(path, "the trace")
    return write_whole(path, lambda f: json.dump(to_dict(result), f, allow_nan=False))
