"""Short coding exercises, checked against the engine itself.

    from asynclab.course import exercise
    exercise.show("05-ssp-rule")              # the task and the function to write
    exercise.check("05-ssp-rule", may_start)  # runs your function where the engine decides
    exercise.solution("05-ssp-rule")          # a worked solution, once you have tried

Each exercise asks for one small function the engine already contains (a rule of
a policy, a formula of the timing model). ``check`` does not compare your code
with a hidden answer: it runs the engine and checks that your function predicts
what the engine does, case by case, and says where it does not. The worked
solution stays out of the notebook until you ask for it.
"""
from __future__ import annotations

import copy
import inspect
import textwrap
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import Config, LeastSquares, run
from ..backends import simulated
from ..backends.base import worker_streams
from ..compression import WorkerCompression, parse_compression
from ..policies import parse_policy
from ..server import ParameterServer


@dataclass(frozen=True)
class Exercise:
    id: str
    lesson: int
    title: str
    task: str                     # what to write, in the learner's terms
    skeleton: str                 # the function to complete
    cases: Callable               # fn -> list of (inputs in words, expected, got)
    solution: str                 # a worked solution (source code with comments)


@dataclass(frozen=True)
class Outcome:
    """What ``check`` found: how many cases matched, and the first that did not."""
    id: str
    passed: int
    total: int
    first_miss: str | None
    error: str | None = None

    @property
    def ok(self):
        return self.error is None and self.passed == self.total

    def __str__(self):
        if self.error is not None:
            return f"✗ Not yet ({self.id}): {self.error}"
        if self.ok:
            return f"✓ Correct ({self.id}): your function agrees with the engine in all " \
                   f"{self.total} cases."
        return (f"✗ Not yet ({self.id}): {self.passed} of {self.total} cases agree with the "
                f"engine. First difference: {self.first_miss}. Fix it and check again.")


# -- the exercises ----------------------------------------------------------------------------
def _sync_step_cases(fn):
    """A synchronous step on a simulated cluster with constant compute times."""
    rng = np.random.default_rng(2)
    out = []
    for _ in range(12):
        n = int(rng.integers(1, 7))
        times = tuple(float(x) for x in np.round(rng.uniform(0.2, 3.0, n), 2))
        message = float(np.round(rng.uniform(0.0, 0.5), 2))
        result = run(Config(problem=LeastSquares(features=5, examples=50), policy="sync",
                            workers=n, gradients=n, compute="const:1", speeds=times,
                            latency=message, eval_points=2))
        out.append((f"compute times {list(times)}, message time {message}",
                    result.summary.time, fn(list(times), message)))
    return out


def _staleness_aware_cases(fn):
    """Replay an asynchronous run's applies with the learner's step size; the engine
    (staleness_aware=True) must end with the same weights, apply by apply."""
    problem = LeastSquares(features=10, examples=200)
    lr, batch, n = 0.1, 4, 3
    result = run(Config(problem=problem, policy="async", staleness_aware=True, workers=n,
                        gradients=30, lr=lr, batch=batch, seed=0, eval_points=2))
    rngs, _ = worker_streams(0, n)
    versions = [problem.initial_params()]
    out = []
    for e in result.trace.of_kind("apply"):
        g = problem.gradient(versions[e.version], problem.sample(rngs[e.worker], batch))
        step = fn(lr, e.staleness)
        expected = lr / (e.staleness + 1)
        out.append((f"lr {lr}, staleness {e.staleness}", expected, step))
        versions.append(versions[-1] - expected * g)
    np.testing.assert_array_equal(result.params, versions[-1])   # the engine's own rule
    return out


def _ssp_cases(fn):
    """Drive the engine's parameter server under ssp:S and ask, before every push,
    whether each worker may start its next step."""
    rng = np.random.default_rng(5)
    out = []
    for bound in (0, 1, 3):
        n = 4
        server = ParameterServer(parse_policy(f"ssp:{bound}"), np.zeros(1), n, lr=0.1)
        for _ in range(25):
            for w in range(n):
                probe = copy.deepcopy(server)          # may_start parks a refused worker
                expected = probe.may_start(w)
                got = fn(server.clock[w], min(server.clock), bound)
                out.append((f"ssp:{bound}, worker clock {server.clock[w]}, slowest clock "
                            f"{min(server.clock)}", expected, got))
            ready = [w for w in range(n) if copy.deepcopy(server).may_start(w)]
            w = int(rng.choice(ready))
            server.push(w, np.zeros(1), server.version)
    return out


def _ring_cases(fn):
    """One synchronous step on a simulated cluster whose gradients are averaged by a
    ring all-reduce, with constant compute times of 1 s: the step's time minus 1 s."""
    rng = np.random.default_rng(9)
    out = []
    for _ in range(10):
        n = int(rng.integers(2, 9))
        features = int(rng.integers(10, 2000))
        latency = float(np.round(rng.uniform(0.0, 0.05), 3))
        bandwidth = float(rng.choice([1e4, 1e5, 1e6]))
        problem = LeastSquares(features=features, examples=50)
        result = run(Config(problem=problem, policy="allreduce", workers=n, gradients=n,
                            compute="const:1", latency=latency, bandwidth=bandwidth,
                            eval_points=2))
        out.append((f"{n} workers, {problem.nbytes} bytes, latency {latency} s, bandwidth "
                    f"{bandwidth:g} B/s", result.summary.time - 1.0,
                    fn(n, problem.nbytes, latency, bandwidth)))
    return out


def _heavy_ball_cases(fn):
    """Push a sequence of gradients through the engine's parameter server with momentum;
    the learner's step, applied to the same gradients, must move the weights alike."""
    rng = np.random.default_rng(4)
    out = []
    for momentum, lr in ((0.9, 0.1), (0.5, 0.3), (0.0, 0.2)):
        server = ParameterServer(parse_policy("async"), np.zeros(3), 1, lr=lr,
                                 momentum=momentum)
        params, velocity = np.zeros(3), np.zeros(3)
        for step in range(6):
            g = np.round(rng.normal(size=3), 3)
            server.push(0, g, server.version)
            returned = fn(params, velocity, g, lr, momentum)
            params, velocity = _two_arrays("heavy_ball", returned, ("new_params", "new_velocity"),
                                           3, "params (3 weights here)")
            for i in range(3):
                out.append((f"momentum {momentum}, lr {lr}, step {step + 1}, weight {i}",
                            float(server.params[i]), float(np.asarray(params)[i])))
    return out


def _topk_feedback_cases(fn):
    """Replay a one-worker run with compress="topk:0.3" (3 of 10 coordinates): its
    gradients go through the engine's own compression with error feedback and
    through the learner's function, coordinate by coordinate. The run's path
    confirms that the engine's workers sent exactly those messages."""
    problem, lr, batch, k = LeastSquares(features=10, examples=200), 0.05, 4, 3
    config = Config(problem=problem, policy="async", workers=1, gradients=8, lr=lr,
                    batch=batch, compress="topk:0.3", eval_points=2)
    path = simulated.run(config, record_path=True).path
    engine = WorkerCompression(parse_compression("topk:0.3"), True, problem.dim, None)
    rng, residual, out = worker_streams(0, 1)[0][0], np.zeros(problem.dim), []
    for step in range(len(path) - 1):
        gradient = problem.gradient(path[step], problem.sample(rng, batch))
        expected = engine.send(gradient)
        np.testing.assert_allclose(path[step] - lr * expected, path[step + 1], atol=1e-12)
        returned = fn(gradient.copy(), residual.copy(), k)
        sent, residual = (np.asarray(x, dtype=float) for x in _two_arrays(
            "topk_feedback", returned, ("sent", "new_residual"), problem.dim,
            f"the gradient ({problem.dim} coordinates here)"))
        out += [(f"message {step + 1}, coordinate {i}", float(expected[i]), float(sent[i]))
                for i in range(problem.dim)]
    out += [(f"the residual after {len(path) - 1} messages, coordinate {i}",
             float(engine.memory.residual[i]), float(residual[i])) for i in range(problem.dim)]
    return out


def _outer_cases(fn):
    """Rounds of two workers' updates through the engine's parameter server under
    diloco:1; the learner's outer step, given the same pseudo-gradient (what local:H
    would subtract), must move the weights alike."""
    rng = np.random.default_rng(13)
    out = []
    for outer_lr, momentum, lr in ((0.7, 0.9, 0.1), (0.5, 0.5, 0.3), (1.0, 0.0, 0.2)):
        policy = Config(policy="diloco:1", workers=2, lr=lr, outer_lr=outer_lr,
                        outer_momentum=momentum).policy
        server = ParameterServer(policy, np.zeros(3), 2, lr=lr)
        params, velocity = np.zeros(3), np.zeros(3)
        for round_ in range(5):
            updates = [np.round(rng.normal(size=3), 3) for _ in range(2)]
            for w, update in enumerate(updates):
                server.push(w, update, server.version)
            delta = lr * ((updates[0] + updates[1]) / 2)      # the round's pseudo-gradient
            returned = fn(params, velocity, delta, outer_lr, momentum)
            params, velocity = _two_arrays("outer_step", returned, ("new_params", "new_velocity"),
                                           3, "params (3 weights here)")
            for i in range(3):
                out.append((f"outer_lr {outer_lr}, outer_momentum {momentum}, round "
                            f"{round_ + 1}, weight {i}", float(server.params[i]),
                            float(np.asarray(params)[i])))
    return out


EXERCISES = {e.id: e for e in (
    Exercise(
        "02-sync-step", 2, "How long a synchronous step takes",
        "Every worker pulls the weights, computes one gradient and pushes it; the step "
        "ends when the last push has arrived. Given each worker's compute time for this "
        "step and the time of one message (pull or push), return the step's duration.",
        "def step_time(compute_times, message):\n    ...  # seconds\n",
        _sync_step_cases,
        textwrap.dedent("""\
            def step_time(compute_times, message):
                # Everyone waits at the barrier for the slowest worker, whose step is
                # one pull, its gradient and one push.
                return message + max(compute_times) + message
            """)),
    Exercise(
        "04-staleness-aware", 4, "The staleness-aware step size",
        "Zhang et al. (2016) divide the learning rate by the staleness so that old "
        "gradients move the weights less; the engine divides by the staleness plus one, so "
        "that a fresh gradient (staleness 0) keeps the full rate. Return the step size the "
        "server uses for a gradient with the given staleness (updates it missed).",
        "def step_size(lr, staleness):\n    ...\n",
        _staleness_aware_cases,
        textwrap.dedent("""\
            def step_size(lr, staleness):
                # staleness + 1, so that a fresh gradient (staleness 0) keeps lr.
                return lr / (staleness + 1)
            """)),
    Exercise(
        "05-ssp-rule", 5, "The stale-synchronous admission rule",
        "Under ssp:S a worker may start its next step only if it is at most S steps ahead "
        "of the slowest worker. Given the worker's clock (steps it has completed), the "
        "slowest worker's clock and S, return True if it may start, False if it must wait.",
        "def may_start(my_clock, slowest_clock, bound):\n    ...  # True or False\n",
        _ssp_cases,
        textwrap.dedent("""\
            def may_start(my_clock, slowest_clock, bound):
                # bound 0 is a barrier every step (sync); an infinite bound never waits
                # (async): SSP sits in between.
                return my_clock - slowest_clock <= bound
            """)),
    Exercise(
        "09-ring-time", 9, "How long a ring all-reduce takes",
        "N workers average their gradients (S bytes each) by a ring all-reduce: a "
        "reduce-scatter then an all-gather, each N - 1 rounds in which every worker sends "
        "S/N bytes to its neighbour over its own link (latency plus bytes over bandwidth). "
        "Return the seconds the whole all-reduce takes.",
        "def ring_time(workers, nbytes, latency, bandwidth):\n    ...  # seconds\n",
        _ring_cases,
        textwrap.dedent("""\
            def ring_time(workers, nbytes, latency, bandwidth):
                # 2(N - 1) rounds; in each, every worker sends one chunk of S/N bytes.
                rounds = 2 * (workers - 1)
                return rounds * (latency + nbytes / workers / bandwidth)
            """)),
    Exercise(
        "10-heavy-ball", 10, "One step of heavy-ball momentum",
        "Heavy-ball momentum keeps a velocity: each step adds the new gradient to the "
        "velocity, shrunk by the momentum, and moves the weights by the learning rate "
        "times the velocity. Given the weights, the velocity, a gradient, lr and the "
        "momentum, return the new weights and the new velocity (numpy arrays).",
        "def heavy_ball(params, velocity, gradient, lr, momentum):\n"
        "    ...  # return new_params, new_velocity\n",
        _heavy_ball_cases,
        textwrap.dedent("""\
            def heavy_ball(params, velocity, gradient, lr, momentum):
                # The velocity remembers past gradients, each older one shrunk by momentum.
                velocity = momentum * velocity + gradient
                return params - lr * velocity, velocity
            """)),
    Exercise(
        "11-topk-feedback", 11, "Top-k with error feedback",
        "A worker sends only the k coordinates of largest magnitude of its update (the "
        "others count as zeros) and remembers what it left out: before compressing, it "
        "adds that residual to the new gradient, and what it does not send of the sum "
        "becomes its new residual. Given the gradient, the residual and k, return the "
        "message it sends (a dense array, zeros where nothing is sent) and its new "
        "residual (numpy arrays).",
        "def topk_feedback(gradient, residual, k):\n    ...  # return sent, new_residual\n",
        _topk_feedback_cases,
        textwrap.dedent("""\
            import numpy as np

            def topk_feedback(gradient, residual, k):
                corrected = gradient + residual            # what it owes, this gradient included
                keep = np.argsort(np.abs(corrected))[-k:]  # the k largest magnitudes
                sent = np.zeros_like(corrected)
                sent[keep] = corrected[keep]
                return sent, corrected - sent              # nothing is lost, only delayed
            """)),
    Exercise(
        "12-outer-step", 12, "DiLoCo's outer step",
        "After a round of local steps the server has delta, the mean of the workers' "
        "displacements (what local:H would subtract from the weights: the pseudo-gradient). "
        "DiLoCo treats delta as a gradient for SGD with Nesterov momentum: the velocity "
        "gathers the pseudo-gradients (shrunk by outer_momentum), and the step adds "
        "outer_momentum times the new velocity to delta before scaling by outer_lr. Return "
        "the new weights and the new velocity (the velocity starts at zero).",
        "def outer_step(params, velocity, delta, outer_lr, outer_momentum):\n"
        "    ...  # return new_params, new_velocity\n",
        _outer_cases,
        textwrap.dedent("""\
            def outer_step(params, velocity, delta, outer_lr, outer_momentum):
                # Nesterov: the velocity remembers past rounds, and the step looks one
                # velocity ahead of the plain heavy-ball step.
                velocity = outer_momentum * velocity + delta
                return params - outer_lr * (delta + outer_momentum * velocity), velocity
            """)),
)}


# -- the learner's API -----------------------------------------------------------------------
def get(exercise_id) -> Exercise:
    try:
        return EXERCISES[exercise_id]
    except (KeyError, TypeError):
        raise ValueError(f"unknown exercise {exercise_id!r}; choose one of "
                         f"{', '.join(EXERCISES)}") from None


def show(exercise_id):
    """Print the task and the function to complete."""
    e = get(exercise_id)
    print(f"[{e.id}] {e.title}\n{textwrap.fill(e.task, 88)}\n\nWrite:\n"
          f"{textwrap.indent(e.skeleton, '    ')}\nThen: exercise.check({e.id!r}, "
          f"{e.skeleton.split('(')[0].split()[-1]})")


def check(exercise_id, function, show=True) -> Outcome:
    """Run ``function`` on the exercise's cases; print and return the Outcome."""
    e = get(exercise_id)
    outcome = _outcome(e, function)
    if show:
        print(outcome)
    return outcome


class _Raised(Exception):
    """The learner's function raised (kept apart from errors of the checker itself)."""


class _Unusable(Exception):
    """The learner's function returned something the checker cannot use (says what)."""


def _two_arrays(function, returned, names, size, like):
    """``returned`` if it is two arrays of ``size`` entries, else _Unusable saying what
    ``function`` must return: ``names``, the two, shaped like ``like``."""
    first, second = names
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
        raise _Unusable(f"{function} must return two arrays, {first} and {second}; "
                        f"it returned {_fmt(returned)}")
    if np.shape(returned[0]) != (size,) or np.shape(returned[1]) != (size,):
        raise _Unusable(f"{function} must return {first} and {second} shaped like {like}; "
                        f"it returned {_fmt(returned)}")
    return returned


def _guarded(function):
    def call(*args):
        try:
            return function(*args)
        except Exception as err:
            raise _Raised(f"{type(err).__name__}: {err}".rstrip(": ")) from err
    return call


def _outcome(e, function):
    if not callable(function):
        return Outcome(e.id, 0, 0, None, f"pass your function itself, got {function!r}")
    try:
        cases = e.cases(_guarded(function))
    except _Raised as err:               # say what the learner's code raised; do not crash
        return Outcome(e.id, 0, 0, None, f"your function raised {err}")
    except _Unusable as err:
        return Outcome(e.id, 0, 0, None, str(err))
    passed, first = 0, None
    for words, expected, got in cases:
        if _same(expected, got):
            passed += 1
        elif first is None:
            first = f"for {words} the engine gives {_fmt(expected)}, yours {_fmt(got)}"
    return Outcome(e.id, passed, len(cases), first)


def _same(expected, got):
    if isinstance(expected, (bool, np.bool_)):
        return isinstance(got, (bool, np.bool_)) and bool(got) == bool(expected)
    try:
        return bool(np.isclose(float(got), float(expected), rtol=1e-9, atol=1e-12))
    except (TypeError, ValueError):
        return False


def _fmt(x):
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


def solution(exercise_id):
    """Print a worked solution (try first: ``check`` tells you where yours differs)."""
    print(get(exercise_id).solution)


def list_exercises(lesson=None) -> list:
    return [{"id": e.id, "lesson": e.lesson, "title": e.title,
             "function": inspect.cleandoc(e.skeleton).splitlines()[0]}
            for e in EXERCISES.values() if lesson is None or e.lesson == lesson]
