"""Explorations and the replay without a front end: the plain redraw functions,
the widgets' wiring and CSS hooks, and the headless display paths."""
import math

import pytest

import asynclab
from asynclab.course import controls, explorations, widgets
from asynclab.course.controls import inactive
from asynclab.plotstyle import description
from asynclab.course.explorations import DEFAULTS, PROBLEM, Exploration, explore
from asynclab.course.replays import AFTER_TARGET, Replay, default_target, replay, replay_end

SMALL = dict(problem=PROBLEM, gradients=400)


@pytest.fixture(scope="module")
def sync_async():
    runs = asynclab.compare(["sync", "async"], workers=4, lr=0.5, **SMALL)
    return runs["sync"], runs["async"]


# -- headless -------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("0", False),
                                             ("", False), ("false", False)])
def test_headless_follows_the_variable_and_needs_a_kernel(monkeypatch, value, expected):
    class Kernel:
        kernel = object()

    monkeypatch.setenv(widgets.HEADLESS_ENV, value)
    monkeypatch.setattr("IPython.get_ipython", lambda: Kernel())
    assert widgets.headless() is expected
    monkeypatch.setattr("IPython.get_ipython", lambda: None)       # plain Python
    assert widgets.headless() is True


# -- explorations ---------------------------------------------------------------------------
def test_settings_map_to_a_config():
    ex = explore(workers=3, policy="ssp", bound=5, straggler_prob=0.2, straggler_factor=4,
                 latency=0.1, bandwidth=1000, lr=0.3, speeds=(1, 2, 3), **SMALL)
    c = ex.result.config
    assert (c.workers, str(c.policy), c.straggler, c.latency, c.bandwidth, c.lr) == (
        3, "ssp:5", (0.2, 4.0), 0.1, 1000.0, 0.3)
    assert c.speeds == (1, 2, 3) and c.problem == PROBLEM and c.gradients == 400
    ex.redraw(workers=2, straggler_prob=0.0)
    assert ex.result.config.speeds == (1, 2) and ex.result.config.straggler is None


def test_redraw_reruns_only_when_the_run_changes_and_keeps_the_previous_curve():
    ex = explore(**SMALL)
    first = ex.result
    assert ex.previous is None and len(ex.figure.axes) == 2
    ex.redraw(x="updates")
    assert ex.result is first                       # only the axis changed
    assert ex.figure.axes[1].get_xlabel() == "parameter updates"
    ex.redraw(workers=8)
    assert ex.previous is first and ex.result.summary.workers == 8
    labels = [line.get_label() for line in ex.figure.axes[1].lines]
    assert labels[0] == "before: workers 4" and labels[1] == "sync"
    ex.redraw(policy="async")
    assert ex.result.summary.updates == 400 and "async, 8 workers" in ex.text()


def test_redraw_matches_a_direct_run_bit_for_bit():
    ex = explore(workers=6, policy="async", lr=0.2, **SMALL)
    direct = asynclab.run(ex.config())
    assert ex.result.history.loss == direct.history.loss
    assert ex.text() == explore(workers=6, policy="async", lr=0.2, **SMALL).text()


def test_momentum_is_a_control_and_a_network_on_digits_can_be_explored():
    mlp = asynclab.MLP(hidden=(16,))
    ex = explore(("workers", "lr", "momentum"), problem=mlp, gradients=300, policy="async",
                 momentum=0.5, lr=0.1)
    assert ex.result.config.momentum == 0.5 and ex.result.summary.final_accuracy > 0.5
    ex.redraw(momentum=0.9)
    assert ex.result.history.loss == asynclab.run(ex.config()).history.loss
    assert ex.previous.config.momentum == 0.5
    assert ex.figure.axes[1].lines[0].get_label() == "before: momentum 0.5"
    slider = ex.widget.children[0].children[2]
    assert slider.description == "momentum" and slider.value == 0.9
    assert explore(**SMALL).result.config.momentum == 0.0          # off unless asked for


def test_bad_settings_are_clear_errors_and_change_nothing():
    ex = explore(**SMALL)
    before = dict(ex.values)
    with pytest.raises(ValueError, match="learning rate|lr must be"):
        ex.redraw(lr=-1)
    with pytest.raises(ValueError, match="unknown control 'speed'"):
        ex.redraw(speed=2)
    with pytest.raises(ValueError, match="x must be one of time, updates, gradients"):
        ex.redraw(x="seconds", workers=2)
    assert ex.values == before
    with pytest.raises(ValueError, match="unknown control 'wrkers'"):
        Exploration(("wrkers",))
    with pytest.raises(ValueError, match="unknown setting 'colour'"):
        explore(colour="red")


def test_dashboard_widgets_redraw_on_change_and_carry_css_hooks():
    ex = explore(("workers", "policy", "lr", "x"), **SMALL)
    box = ex.widget
    assert "asynclab-explore" in box._dom_classes
    workers = ex._controls["workers"]
    assert {"asynclab-control", "asynclab-control-workers"} <= set(workers._dom_classes)
    assert workers.description == "workers" and not workers.continuous_update
    picture = ex._image.value
    assert picture[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex._image.layout.width == f"{round(ex.figure.get_size_inches()[0] * widgets.DPI)}px"
    workers.value = 8
    assert ex.result.summary.workers == 8 and ex._image.value != picture
    assert "sync, 8 workers" in ex._summary.value
    ex.redraw(policy="async")                         # from code: the drop-down follows
    assert ex._controls["policy"].value == "async"


def test_values_chosen_in_code_appear_in_the_drop_downs():
    ex = explore(("policy", "compute"), policy="ssp:3", compute="exp:2", **SMALL)
    ex.widget
    assert ex._controls["policy"].value == "ssp:3" and ex._controls["compute"].value == "exp:2"
    assert ex.result.config.compute.mean == 2.0


def test_a_setting_the_engine_refuses_is_reported_in_the_dashboard():
    ex = explore(("workers", "policy"), policies=("sync", "backup:2"), workers=2, **SMALL)
    ex.widget
    ex._controls["policy"].value = "backup:2"            # needs more than 2 workers
    assert "Cannot run these settings" in ex._summary.value and "backup:2" in ex._summary.value
    assert ex.result.summary.policy == "sync"


# Which controls a run ignores: by policy, at a straggler chance of 0, with one worker.
OFF = [(dict(policy="sync"), {"bound", "straggler_factor", "staleness_aware"}),
       (dict(policy="allreduce"), {"bound", "straggler_factor", "staleness_aware"}),
       (dict(policy="backup:1"), {"bound", "straggler_factor", "staleness_aware"}),
       (dict(policy="local:4"), {"bound", "straggler_factor", "staleness_aware"}),
       (dict(policy="async"), {"bound", "straggler_factor"}),
       (dict(policy="hogwild"), {"bound", "straggler_factor"}),
       (dict(policy="ssp"), {"straggler_factor"}),
       (dict(policy="ssp:3"), {"bound", "straggler_factor"}),      # its own bound
       (dict(policy="ssp", straggler_prob=0.2), set()),
       (dict(policy="async", straggler_prob=0.2, workers=1), {"bound", "staleness_aware"}),
       (dict(policy="ssp", workers=1), {"bound", "straggler_factor", "staleness_aware"}),
       (dict(policy="async", workers=1, overlap=True), {"bound", "straggler_factor"})]


@pytest.mark.parametrize("settings, off", OFF)
def test_the_controls_a_run_ignores_are_named_and_changing_them_changes_nothing(settings, off):
    ex = explore(**{**SMALL, "gradients": 120, **settings})
    reasons = inactive(ex.values, ex.result.config)
    assert set(reasons) == off and all(reasons.values())
    other = {"bound": 0 if ex.values["bound"] else 5, "straggler_factor": 2.0,
             "staleness_aware": not ex.values["staleness_aware"]}
    for name in off:                       # the oracle: the same run, bit for bit
        changed = asynclab.run(ex.config({**ex.values, name: other[name]}))
        assert changed.history.loss == ex.result.history.loss, name
        assert changed.history.time == ex.result.history.time, name


def test_the_dashboard_disables_the_controls_that_do_not_apply_and_says_why():
    ex = explore(("policy", "bound", "straggler_prob", "straggler_factor", "staleness_aware"),
                 policy="async", **SMALL)
    ex.widget
    controls = ex._controls
    assert controls["bound"].disabled and "only the policy ssp" in controls["bound"].tooltip
    assert controls["straggler_factor"].disabled and not controls["staleness_aware"].disabled
    controls["policy"].value = "ssp"
    assert not controls["bound"].disabled and controls["bound"].tooltip.startswith("how many")
    assert controls["staleness_aware"].disabled is False
    controls["straggler_prob"].value = 0.1
    assert not controls["straggler_factor"].disabled
    ex.redraw(policy="sync")                                       # from code too
    assert controls["staleness_aware"].disabled and controls["bound"].disabled
    assert "none is stale" in controls["staleness_aware"].tooltip


def test_switching_policy_takes_that_policys_rate_tuned_once(monkeypatch):
    ex = explore(policy="sync", lr=0.5, workers=4, **SMALL)
    tuned = []
    monkeypatch.setattr(explorations, "tuned_rate",
                        lambda config: tuned.append(config) or controls.tuned_rate(config))
    ex.redraw(policy="async")
    [config] = tuned
    assert str(config.policy) == "async" and config.workers == 4
    expected = asynclab.tune(config, lrs=controls.RATES, seeds=1, metric="final_loss").best_lr
    assert ex.values["lr"] == ex.result.config.lr == expected == ex.rate("async")
    assert expected != 0.5 and "lr 0.5" in ex._change_label()
    assert f"async, 4 workers, lr {expected:.3g}:" in ex.text()
    ex.redraw(policy="sync")                    # the starting policy: its starting rate
    assert ex.values["lr"] == 0.5
    ex.redraw(lr=2.0)                           # the learner's own choice stands...
    ex.redraw(workers=8)
    assert ex.result.config.lr == 2.0
    ex.redraw(policy="async")                   # ...until the next switch: tuned once, kept
    assert ex.values["lr"] == expected and len(tuned) == 1
    ex.redraw(policy="sync", lr=1.0)            # a rate set with the switch wins
    assert ex.result.config.lr == 1.0
    ex.redraw(policy="allreduce")               # sync's updates, sync's rate
    assert ex.values["lr"] == 0.5 and len(tuned) == 1


def test_switching_policy_moves_the_rate_slider_and_rates_can_be_given():
    ex = explore(("policy", "lr"), policies=("sync", "async", "ssp"), policy="async", lr=0.2,
                 rates={"sync": 1.0, "ssp": 0.3}, **SMALL)
    ex.widget
    ex._controls["policy"].value = "sync"
    assert ex._controls["lr"].value == 1.0 == ex.result.config.lr
    ex._controls["policy"].value = "ssp"
    assert ex._controls["lr"].value == 0.3 and str(ex.result.config.policy) == "ssp:2"
    ex._controls["lr"].value = 0.5
    assert ex.result.config.lr == 0.5
    ex._controls["policy"].value = "async"
    assert ex._controls["lr"].value == 0.2
    for bad, words in (({"sync": 0}, r"rates\['sync'\] must be a learning rate > 0"),
                       ({"sync": "fast"}, "must be a learning rate > 0"),
                       ([0.1], "rates must map policies to learning rates")):
        with pytest.raises(ValueError, match=words):
            explore(rates=bad, **SMALL)


def test_a_tuned_rate_that_cannot_run_is_refused_and_changes_nothing():
    ex = explore(("workers", "policy"), policies=("sync", "backup:2"), workers=2, **SMALL)
    with pytest.raises(ValueError, match="backup:2"):
        ex.redraw(policy="backup:2")            # needs more than 2 workers
    assert ex.values["policy"] == "sync" and "backup:2" not in ex.rates
    ex.redraw(workers=4, policy="backup:2")
    assert ex.rates["backup:2"] == ex.result.config.lr


def test_explore_headless_display_prints_and_does_not_block(capsys):
    explore(**SMALL)._ipython_display_()
    out = capsys.readouterr().out
    assert out.startswith("sync, 4 workers, lr 0.5: 400 gradients in") and "static figure" in out


# -- replay ---------------------------------------------------------------------------------
def test_default_target_is_reached_by_both_runs(sync_async):
    target = default_target(sync_async)
    for r in sync_async:
        assert r.history.time_to(target) is not None
    diverged = asynclab.run(policy="async", workers=8, lr=50.0, problem=asynclab.LeastSquares(
        features=10, examples=100), gradients=400)
    assert diverged.summary.diverged and default_target([diverged, diverged]) is None


def test_replay_state_follows_the_time(sync_async):
    sync, async_ = sync_async
    rp = replay(sync, async_, time=0, end=sync.summary.time)     # the whole of both runs
    start = rp.state()
    assert [s["updates"] for s in start] == [0, 0] and not any(s["reached"] for s in start)
    end = rp.state(rp.end)
    assert [s["updates"] for s in end] == [sync.summary.updates, async_.summary.updates]
    assert end[0]["idle"] > 0.3 and end[1]["idle"] == 0.0
    assert end[0]["idle"] == pytest.approx(sync.trace.busy_time(4)["wait"].sum() / (4 * rp.end))
    rp.show_time(10 * rp.end)
    assert rp.time == rp.end                           # clamped


def test_a_finished_runs_share_of_waiting_stops_changing():
    quick, slow = (asynclab.run(policy="sync", workers=4, compute=f"exp:{mean}", gradients=200,
                                problem=asynclab.LeastSquares(features=10, examples=100))
                   for mean in (1, 3))
    rp = replay(quick, slow, time=0)
    done = quick.summary.time
    assert done < rp.end
    waits = quick.trace.busy_time(4)["wait"].sum() / (4 * done)
    at_its_end, at_the_end = rp.state(done)[0]["idle"], rp.state(rp.end)[0]["idle"]
    assert waits > 0.2 and at_its_end == pytest.approx(waits) and at_the_end == at_its_end


def test_replay_names_the_run_that_reaches_the_target_first(sync_async):
    sync, async_ = sync_async
    target = 0.4
    rp = replay(sync, async_, target_loss=target)
    t_sync, t_async = sync.history.time_to(target), async_.history.time_to(target)
    assert t_async < t_sync                           # the lesson's claim, measured
    assert "async reached the target loss 0.4 first" in rp.text(rp.end)
    assert "Neither run has reached" in rp.text(t_async / 2)
    between = rp.state((t_async + t_sync) / 2)
    assert [s["reached"] for s in between] == [False, True]


def test_replay_widgets_play_drives_the_slider_and_the_picture(sync_async):
    rp = replay(*sync_async, frames=10, time=0)
    box = rp.widget
    assert "asynclab-replay" in box._dom_classes and "asynclab-play" in rp.play._dom_classes
    assert rp.play.max == rp.slider.max == 10
    picture = rp._image.value
    rp.play.value = 5
    assert rp.slider.value == 5 and rp.time == pytest.approx(rp.end / 2)
    assert rp._image.value != picture and "t = " in rp._status.value


def test_the_replay_ends_shortly_after_the_later_run_reaches_the_target(sync_async):
    sync, async_ = sync_async
    rp = replay(sync, async_, target_loss=0.4)
    later = sync.history.time_to(0.4)
    assert async_.history.time_to(0.4) < later < sync.summary.time / 3     # decided early
    assert rp.end == pytest.approx(AFTER_TARGET * later)
    for ax in rp.figure.axes:
        assert ax.get_xlim() == pytest.approx((0, rp.end))
    assert rp.time == rp.end and [s["reached"] for s in rp.state()] == [True, True]
    # A run that never reaches the target: both runs in full; so without any target.
    assert replay_end([sync, async_], [later, None]) == sync.summary.time
    assert replay_end([sync, async_], [None, None]) == sync.summary.time
    assert replay_end([sync, async_], [0.0, 0.0]) == sync.summary.time   # both start below it
    # Reached late: no later than the longer run's end.
    assert replay_end([sync, async_], [0.9 * sync.summary.time, 1.0]) == sync.summary.time
    assert replay(sync, async_, end=12.5).end == 12.5
    for bad in (0, -1, math.inf, "10", True):
        with pytest.raises(ValueError, match="end must be a number of seconds > 0"):
            replay(sync, async_, end=bad)


def test_show_time_moves_the_slider_and_play_to_the_nearest_frame(sync_async):
    rp = replay(*sync_async, frames=10, time=0)
    rp.widget
    picture = rp._image.value
    t = 0.43 * rp.end
    rp.show_time(t)
    assert rp.slider.value == rp.play.value == 4 == rp.frame()
    assert rp.time == t                        # the picture shows t itself, not frame 4's time
    assert rp._image.value != picture and rp._status.value == rp.text().replace("\n", "<br>")
    rp.show_time(rp.end)
    assert rp.slider.value == 10 and rp.time == rp.end
    rp.slider.value = 3                        # and the slider still drives the picture
    assert rp.time == pytest.approx(0.3 * rp.end)


def test_replay_checks_frames_and_prints_its_state_headless(sync_async, capsys):
    with pytest.raises(ValueError, match="frames must be a whole number of at least 1"):
        Replay(*sync_async, frames=0)
    replay(*sync_async)._ipython_display_()
    out = capsys.readouterr().out
    assert "stored frames" in out and "reached the target loss" in out


def test_defaults_cover_every_control():
    assert set(DEFAULTS) >= {"workers", "policy", "bound", "compute", "straggler_prob",
                             "straggler_factor", "latency", "bandwidth", "lr"}
    assert not math.isinf(DEFAULTS["bandwidth"])


def test_headless_inside_ipython_shows_the_figure_as_a_png(monkeypatch, capsys):
    shown, metadata = [], []
    monkeypatch.setenv(widgets.HEADLESS_ENV, "1")
    monkeypatch.setattr("IPython.get_ipython", lambda: object())
    monkeypatch.setattr("IPython.display.display",
                        lambda obj, **kwargs: (shown.append(obj), metadata.append(kwargs)))
    ex = explore(**SMALL)
    ex._ipython_display_()
    assert "static figure" in capsys.readouterr().out
    assert len(shown) == 1 and shown[0].data[:4] == b"\x89PNG"
    alt = metadata[0]["metadata"]["image/png"]["alt"]       # the figure's alt text
    assert alt == description(ex.figure) and alt.startswith("A figure of 2 panels.")
    assert "Timeline of sync on 4 workers" in alt and "Loss on all the data" in alt


def test_live_display_shows_the_widget(monkeypatch):
    class Kernel:
        kernel = object()

    shown = []
    monkeypatch.setenv(widgets.HEADLESS_ENV, "0")
    monkeypatch.setattr("IPython.get_ipython", lambda: Kernel())
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    ex = explore(("workers",), **SMALL)
    ex._ipython_display_()
    assert shown == [ex.widget]
