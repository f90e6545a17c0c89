"""Coding exercises: each worked solution passes its check, and the check catches
the mistakes a learner is likely to make, a function that raises, and a non-function."""
import numpy as np
import pytest

from asynclab.course import exercise


def solved(exercise_id):
    namespace = {}
    exec(exercise.get(exercise_id).solution, namespace)
    return next(v for k, v in namespace.items() if callable(v) and not k.startswith("__"))


@pytest.mark.parametrize("exercise_id", list(exercise.EXERCISES))
def test_each_worked_solution_agrees_with_the_engine(exercise_id, capsys):
    outcome = exercise.check(exercise_id, solved(exercise_id))
    assert outcome.ok and outcome.total >= 10
    assert capsys.readouterr().out.startswith(f"✓ Correct ({exercise_id})")


def topk_without_feedback(gradient, residual, k):
    """Top-k of the gradient alone: the residual is never added, nor kept."""
    keep = np.argsort(np.abs(gradient))[-k:]
    sent = np.zeros_like(gradient)
    sent[keep] = gradient[keep]
    return sent, residual


def topk_by_value(gradient, residual, k):
    """The k largest values, not magnitudes: large negative coordinates are left out."""
    corrected = gradient + residual
    keep = np.argsort(corrected)[-k:]
    sent = np.zeros_like(corrected)
    sent[keep] = corrected[keep]
    return sent, corrected - sent


@pytest.mark.parametrize("exercise_id, mistake, words", [
    ("02-sync-step", lambda times, message: max(times) + message, "engine gives"),
    ("02-sync-step", lambda times, message: sum(times) / len(times) + 2 * message, "engine gives"),
    ("04-staleness-aware", lambda lr, staleness: lr / max(staleness, 1), "staleness 1"),
    ("05-ssp-rule", lambda mine, slowest, bound: mine - slowest < bound, "engine gives True"),
    ("05-ssp-rule", lambda mine, slowest, bound: True, "engine gives False"),
    ("09-ring-time", lambda n, nbytes, latency, bandwidth: 2 * n * (latency + nbytes / n /
                                                                    bandwidth), "workers"),
    ("09-ring-time", lambda n, nbytes, latency, bandwidth: 2 * (n - 1) * (latency + nbytes /
                                                                          bandwidth), "workers"),
    ("10-heavy-ball", lambda w, v, g, lr, mu: (w - lr * g, v), "momentum 0.9"),
    ("11-topk-feedback", topk_without_feedback, "message 2"),
    ("11-topk-feedback", topk_by_value, "message 1"),
    ("12-outer-step", lambda w, v, d, lr, mu: (w - lr * (mu * v + d), mu * v + d),
     "outer_momentum 0.9, round 1"),                   # heavy ball, not Nesterov
    ("12-outer-step", lambda w, v, d, lr, mu: (w - d, v), "outer_lr 0.7"),
])
def test_a_plausible_mistake_is_caught_with_the_first_differing_case(exercise_id, mistake, words):
    outcome = exercise.check(exercise_id, mistake, show=False)
    assert not outcome.ok and outcome.passed < outcome.total
    assert words in str(outcome) and "Fix it and check again" in str(outcome)


def test_a_function_that_raises_or_a_non_function_is_feedback_not_a_crash():
    def stub(my_clock, slowest_clock, bound):
        raise NotImplementedError("write me")
    assert str(exercise.check("05-ssp-rule", stub, show=False)) == (
        "✗ Not yet (05-ssp-rule): your function raised NotImplementedError: write me")
    assert "pass your function itself" in str(exercise.check("05-ssp-rule", 3, show=False))


def test_unknown_exercise_names_the_choices():
    with pytest.raises(ValueError, match="unknown exercise 'x'; choose one of 02-sync-step"):
        exercise.show("x")


def test_show_and_solution_print_the_task_and_the_answer(capsys):
    exercise.show("05-ssp-rule")
    shown = capsys.readouterr().out
    assert "def may_start(my_clock, slowest_clock, bound):" in shown
    assert "return my_clock" not in shown                     # the answer stays hidden
    exercise.solution("05-ssp-rule")
    assert "return my_clock - slowest_clock <= bound" in capsys.readouterr().out
    listed = exercise.list_exercises(lesson=5)
    assert [e["id"] for e in listed] == ["05-ssp-rule"]


def test_the_other_common_momentum_convention_is_right_too():
    """PyTorch keeps v = mu v + g and steps lr v; others keep the step itself,
    s = mu s + lr g. With a constant lr both move the weights alike."""
    def step_form(params, step, gradient, lr, momentum):
        step = momentum * step + lr * gradient
        return params - step, step
    assert exercise.check("10-heavy-ball", step_form, show=False).ok


@pytest.mark.parametrize("exercise_id", list(exercise.EXERCISES))
def test_the_skeleton_as_given_is_not_yet_and_says_why(exercise_id):
    """The lesson stores the check of the untouched skeleton: feedback, never a crash."""
    namespace = {}
    exec(exercise.get(exercise_id).skeleton, namespace)
    skeleton = next(v for k, v in namespace.items() if callable(v) and not k.startswith("__"))
    outcome = exercise.check(exercise_id, skeleton, show=False)
    assert not outcome.ok and str(outcome).startswith(f"✗ Not yet ({exercise_id})")


def test_a_heavy_ball_that_returns_one_array_is_told_what_to_return():
    outcome = exercise.check("10-heavy-ball", lambda w, v, g, lr, mu: w - lr * g, show=False)
    assert str(outcome).startswith("✗ Not yet (10-heavy-ball): heavy_ball must return two "
                                   "arrays, new_params and new_velocity; it returned array(")


def test_a_heavy_ball_that_returns_numbers_is_told_their_shape():
    outcome = exercise.check("10-heavy-ball", lambda w, v, g, lr, mu: (0.0, 0.0), show=False)
    assert str(outcome).startswith("✗ Not yet (10-heavy-ball): heavy_ball must return "
                                   "new_params and new_velocity shaped like params")
