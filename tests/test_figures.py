"""Figures: the colour-blind-safe palette, readable log axes (no two tick labels
overlap on a rendered figure), legends that match what is drawn, zoomed timelines,
bands across seeds, text descriptions (alt text), and dashboards that redraw in
layers yet give the very pixels of a full draw."""
import base64
import io
import math
from collections import Counter

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

import asynclab
from asynclab import plots, plotstyle
from asynclab.plotstyle import description
from asynclab.course.explorations import PROBLEM, explore
from asynclab.course.replays import replay
from asynclab.course import widgets
from asynclab.course.widgets import new_figure, png, steady
from asynclab.stats import t_quantile
from asynclab.trace import time_per_slice

SMALL = dict(problem=PROBLEM, gradients=400)


@pytest.fixture(scope="module")
def runs():
    return asynclab.compare(["sync", "async", "ssp:2", "backup:1", "local:4"], workers=4,
                            latency=0.05, lr=0.5, **SMALL)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    matplotlib.pyplot.close("all")


# -- palette and styles ------------------------------------------------------------------------
def test_the_palette_is_okabe_ito_with_a_line_style_and_marker_per_series(runs):
    assert set(plotstyle.SERIES_COLOURS) == set(plotstyle.OKABE_ITO.values())
    assert plotstyle.OKABE_ITO["blue"] == "#0072B2" and plotstyle.OKABE_ITO["vermillion"] == \
        "#D55E00" and plotstyle.OKABE_ITO["bluish green"] == "#009E73"
    styles = [plotstyle.series_style(i) for i in range(8)]
    for key in ("color", "marker"):
        assert len({str(s[key]) for s in styles}) == 8            # colours, markers differ...
    assert len({str(s["linestyle"]) for s in styles}) == 8       # ...and so do the dashes
    fig = plots.convergence(runs)
    lines = [line for line in fig.axes[0].get_lines() if line.get_label() in runs]
    assert len(lines) == 5
    for i, line in enumerate(lines):                              # as drawn, series by series
        assert matplotlib.colors.to_hex(line.get_color()).upper() == styles[i]["color"]
        assert line.get_marker() == styles[i]["marker"]
    assert [line.get_linestyle() for line in lines[:4]] == ["-", "--", "-.", ":"]


def lightness(colour):
    r, g, b = matplotlib.colors.to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_what_workers_do_differs_in_lightness_too():
    compute, comm, wait = (plots.KINDS[k][1] for k in ("compute", "comm", "wait"))
    assert lightness(compute) + 0.15 < lightness(comm) < lightness(wait) - 0.15
    assert compute == plotstyle.OKABE_ITO["blue"] and comm == plotstyle.OKABE_ITO["orange"]


def test_use_style_makes_plain_plots_use_the_palette():
    saved = matplotlib.rcParams["axes.prop_cycle"]
    try:
        plotstyle.use_style()
        fig = new_figure(4, 3)
        ax = fig.subplots()
        first, second = ax.plot([1, 2]), ax.plot([2, 1])
        assert matplotlib.colors.to_hex(first[0].get_color()).upper() == \
            plotstyle.SERIES_COLOURS[0]
        assert second[0].get_linestyle() == "--"
    finally:
        matplotlib.rcParams["axes.prop_cycle"] = saved


# -- readable log axes ------------------------------------------------------------------------
def label_boxes(fig, axis_name="y"):
    """The rendered bounding boxes of every visible, non-empty tick label."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        axis = ax.yaxis if axis_name == "y" else ax.xaxis
        ticks = axis.get_major_ticks() + axis.get_minor_ticks()
        low, high = sorted(axis.get_view_interval())
        for tick in ticks:
            label = tick.label1
            if (label.get_visible() and label.get_text() and tick.get_loc() is not None
                    and low * (1 - 1e-9) <= tick.get_loc() <= high * (1 + 1e-9)):
                boxes.append((label.get_text(), label.get_window_extent(renderer)))
    return boxes


def assert_readable(fig, axis_name="y"):
    boxes = label_boxes(fig, axis_name)
    assert len(boxes) >= 2, [t for t, _ in boxes]
    for i, (a, box_a) in enumerate(boxes):
        assert "$" not in a                       # plain numbers, no typeset exponents
        for b, box_b in boxes[i + 1:]:
            assert not box_a.overlaps(box_b), f"tick labels {a!r} and {b!r} overlap"


@pytest.mark.parametrize("low, high, height", [
    (0.29, 0.7, 1.6), (0.005, 0.02, 1.2), (0.003, 10, 2.0), (1e-6, 1e3, 2.0),
    (0.05, 0.2, 0.9), (0.3, 0.34, 2.5), (0.008, 0.011, 1.5), (2, 900, 1.0)])
def test_log_axes_label_plain_numbers_that_never_overlap(low, high, height):
    fig = new_figure(5, height)
    ax = fig.subplots()
    ax.plot(np.linspace(0, 1, 50), np.geomspace(low, high, 50))
    plotstyle.readable_log_axis(ax)
    ax.set_ylim(low, high)
    assert_readable(fig)


def test_the_dashboard_log_axes_do_not_collide_either(runs):
    # Lessons 04 and 09 showed "0.01 0.009 0.008 ..." on top of each other.
    ex = explore(["workers", "lr"], policy="async", target_loss=0.35, **SMALL)
    for change in (dict(lr=5.0), dict(lr=0.02), dict(workers=16), dict(x="updates")):
        ex.redraw(**change)
        assert_readable(ex.figure)
    rp = replay(runs["sync"], runs["async"])
    assert_readable(rp.figure)


def test_a_log_x_axis_is_readable_too():
    fig = new_figure(4, 2)
    ax = fig.subplots()
    ax.plot([1, 2048], [1, 2])
    plotstyle.readable_log_axis(ax, which="x")
    assert_readable(fig, "x")


# -- legends match what is drawn ----------------------------------------------------------------
def test_timeline_legend_lists_exactly_the_kinds_drawn_and_nothing_is_hatched():
    quiet = asynclab.run(policy="async", workers=3, **SMALL)            # no messages, no waits
    fig = plots.timeline(quiet)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["compute"]
    busy = asynclab.run(policy="ssp:1", workers=3, latency=0.1, fail=[(2, 30)], **SMALL)
    fig = plots.timeline(busy)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["compute", "communication", "idle (waiting)", "worker lost"]
    drawn = [key for key, bars in zip(plots.KINDS, ax.patches) if len(bars.get_path())]
    assert len(drawn) == 3
    for figure in (fig, plots.utilisation(busy), plots.staleness_histogram([quiet, busy])):
        for artist in figure.findobj(matplotlib.patches.Patch):
            assert not artist.get_hatch()
        legend = figure.axes[0].get_legend()
        for handle in legend.legend_handles:
            assert not getattr(handle, "get_hatch", lambda: None)()


def test_a_timeline_zooms_into_a_window(runs):
    r = runs["sync"]
    fig = plots.timeline(r, window=(10, 30))
    ax = fig.axes[0]
    assert ax.get_xlim() == (10.0, 30.0)
    for bars in ax.patches[:3]:
        xs = bars.get_path().vertices[:, 0]
        if len(xs):
            assert xs.min() >= 10 and xs.max() <= 30
    whole = sum(len(b.get_path().vertices) for b in plots.timeline(r).axes[0].patches[:3])
    assert sum(len(b.get_path().vertices) for b in ax.patches[:3]) < whole
    assert "from 10 to 30 simulated s" in plotstyle.description(fig)
    for bad in [(30, 10), (5, 5), "5", (0, math.inf), "a:b"]:
        with pytest.raises(ValueError, match="window"):
            plots.timeline(r, window=bad)


def boxes(bars):
    """A bar collection's rectangles as (x0, x1, y0, y1) rows."""
    corners = bars.get_path().vertices.reshape(-1, 5, 2)
    return np.stack([corners[:, 0, 0], corners[:, 1, 0], corners[:, 0, 1], corners[:, 2, 1]], 1)


def test_time_per_slice_adds_up_each_workers_spans_within_each_slice():
    rng = np.random.default_rng(0)
    worker = rng.integers(0, 3, 200)
    start = rng.uniform(0, 50, 200)
    end = start + rng.exponential(2.0, 200)
    edges = np.array([0.0, 3.0, 10.0, 10.5, 40.0, 60.0])
    got = time_per_slice(worker, start, end, 3, edges)
    for w in range(3):
        for i in range(5):                    # the brute force: each span's part in the slice
            part = np.clip(np.minimum(end, edges[i + 1]) - np.maximum(start, edges[i]), 0, None)
            assert got[w, i] == pytest.approx(part[worker == w].sum(), abs=1e-9)


def test_a_long_timeline_is_drawn_in_slices_and_a_short_one_bar_by_bar():
    short = asynclab.run(policy="async", workers=4, **SMALL)               # about 100 a worker
    ax = plots.timeline(short).axes[0]
    assert len(boxes(ax.patches[0])) == len(short.trace.of_kind("compute"))
    long = asynclab.run(policy="sync", workers=2, latency=0.05, **SMALL)  # 200 a worker
    assert max(Counter(e.worker for e in long.trace.of_kind("compute")).values()) > plots.READABLE
    fig = plots.timeline(long)
    ax = fig.axes[0]
    compute = boxes(ax.patches[0])
    width = long.summary.time / plots.SLICES
    assert len(compute) <= 2 * plots.SLICES
    assert np.allclose(compute[:, 1] - compute[:, 0], width)
    assert ax.get_xlim() == (0.0, long.summary.time)
    # Each kind's area, over the row's height, is the time spent on it: nothing lost.
    busy = long.trace.busy_time(2)
    for bars, kinds in ((ax.patches[0], ("compute",)), (ax.patches[1], ("pull", "push")),
                        (ax.patches[2], ("wait",))):
        b = boxes(bars)
        area = ((b[:, 1] - b[:, 0]) * (b[:, 3] - b[:, 2])).sum()
        height = plots.ROW[1] - plots.ROW[0]
        assert area / height == pytest.approx(sum(busy[k].sum() for k in kinds), rel=1e-9)
    # Stacked within each row, never above it.
    for bars in ax.patches[:3]:
        b = boxes(bars)
        rows = np.round((b[:, 2] + b[:, 3]) / 2)
        assert (b[:, 2] >= rows + plots.ROW[0] - 1e-9).all()
        assert (b[:, 3] <= rows + plots.ROW[1] + 1e-9).all()
    assert f"in {plots.SLICES} slices of {width:.3g} simulated s" in plotstyle.description(fig)
    # Asked for: every bar (a window, or slices=0), or slices of one's choice.
    for every_bar in (plots.timeline(long, window=(0, long.summary.time)),
                      plots.timeline(long, slices=0)):
        assert len(boxes(every_bar.axes[0].patches[0])) == len(long.trace.of_kind("compute"))
        assert "slices" not in plotstyle.description(every_bar)
    ten = boxes(plots.timeline(long, slices=10).axes[0].patches[0])
    assert len(ten) == 20 and np.allclose(ten[:, 1] - ten[:, 0], long.summary.time / 10)
    for bad in (-1, 2.5, "10", True):
        with pytest.raises(ValueError, match="slices must be a whole number >= 0"):
            plots.timeline(long, slices=bad)


def test_dashboards_follow_the_same_rule_on_the_time_they_show(runs):
    ex = explore(workers=2, **SMALL)                                     # 200 gradients a worker
    assert "slices" in description(ex.figure.axes[0])
    ex.redraw(workers=8)
    assert "slices" not in description(ex.figure.axes[0])
    long = asynclab.compare(["sync", "async"], workers=2, lr=0.5, **SMALL)
    whole = replay(long["sync"], long["async"], end=long["sync"].summary.time)
    assert all("slices" in description(ax) for ax in whole.figure.axes[:2])
    early = replay(long["sync"], long["async"], end=40.0)               # fewer in view
    assert not any("slices" in description(ax) for ax in early.figure.axes[:2])


# -- confidence bands across seeds --------------------------------------------------------------
def test_convergence_draws_a_t_band_across_seeds():
    many = asynclab.compare(["sync"], workers=4, seeds=3, lr=0.5, **SMALL)
    fig = plots.convergence(many, x="updates")
    ax = fig.axes[0]
    band = ax.collections[0]
    line = ax.get_lines()[0]
    assert line.get_label() == "sync, lr 0.5, mean of 3 seeds"
    xs, mean = line.get_data()
    grid = np.linspace(0, min(r.history.updates[-1] for r in many["sync"].results), 101)
    curves = np.array([np.interp(grid, r.history.updates, r.history.loss)
                       for r in many["sync"].results])
    assert np.allclose(xs, grid) and np.allclose(mean, curves.mean(axis=0))
    i = 50
    half = t_quantile(0.975, 2) * curves[:, i].std(ddof=1) / math.sqrt(3)
    top = band.get_paths()[0].vertices[:, 1]
    assert np.isclose(top, mean[i] + half).any()
    assert "with a 95% band" in plotstyle.description(fig)


# -- descriptions and alt text -----------------------------------------------------------------
def test_every_figure_has_a_description(runs):
    described = {
        "timeline": plots.timeline(runs["sync"]),
        "convergence": plots.convergence(runs, target=0.35),
        "staleness": plots.staleness_histogram([runs["async"], runs["ssp:2"]]),
        "utilisation": plots.utilisation(runs["sync"]),
    }
    text = {k: plotstyle.description(f) for k, f in described.items()}
    assert text["timeline"].startswith("Timeline of sync on 4 workers, from 0 to ")
    assert "idle" in text["timeline"] and "compute in blue" in text["timeline"]
    assert "sync: from 0.693 to" in text["convergence"] and "target loss 0.35" in \
        text["convergence"]
    assert "async (mean" in text["staleness"]
    assert "computing (blue" in text["utilisation"]
    fig = Figure()
    ax = fig.subplots()
    ax.plot([1, 2], label="a")
    ax.set(xlabel="steps", ylabel="loss", yscale="log", title="my plot")
    ax.legend()
    assert plotstyle.description(fig) == ("my plot: loss (log scale) against steps. "
                                          "Series: a.")
    plotstyle.describe(fig, "  My own   words. ")
    assert plotstyle.description(fig) == "My own words."


def inline_shell():
    """An IPython shell's display formatter with what matplotlib-inline registers: the
    PNG of a Figure."""
    from IPython.core.formatters import DisplayFormatter

    class Shell:
        display_formatter = DisplayFormatter()

    shell = Shell()
    shell.display_formatter.formatters["image/png"].for_type(Figure, lambda f: png(f))
    return shell


def test_ipython_shows_every_figure_with_its_description_as_alt_text(runs):
    shell = inline_shell()
    plotstyle.show_alt_text(shell)
    fig = plots.timeline(runs["async"])
    data, metadata = shell.display_formatter.format(fig)
    assert data["image/png"][:4] == b"\x89PNG"
    assert metadata["image/png"] == {"alt": plotstyle.description(fig)}
    plotstyle.show_alt_text(shell)                    # idempotent
    assert shell.display_formatter.format(fig)[1] == metadata


def test_the_course_shows_figures_with_twice_their_pixels_at_their_size_with_alt_text(runs):
    shell = inline_shell()
    plotstyle.show_sharp_figures(shell)
    fig = plots.timeline(runs["async"])
    data, metadata = shell.display_formatter.format(fig)
    shown = metadata["image/png"]
    assert shown["alt"] == plotstyle.description(fig)
    width, height = Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).size
    assert 0 <= width - 2 * shown["width"] <= 1 and 0 <= height - 2 * shown["height"] <= 1


def test_a_stored_dashboard_figure_has_twice_its_pixels_and_live_redraws_stay_right():
    ex = explore(target_loss=0.4, **SMALL)
    ex.widget
    live = pixels(ex._layers.png())
    stored = pixels(png(ex.figure, stored=True))
    assert stored.shape[:2] == (2 * live.shape[0], 2 * live.shape[1])
    assert widgets.stored_size(ex.figure) == {"width": live.shape[1], "height": live.shape[0]}
    ex.redraw(workers=5)              # the kept frame was drawn before the stored PNG
    assert np.array_equal(pixels(ex._layers.png()), pixels(png(ex.figure)))


# -- dashboards: layers, skipped redraws, steady axes -------------------------------------------
def pixels(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_a_layered_redraw_gives_the_pixels_of_a_full_draw_and_reuses_the_frame(runs):
    ex = explore(target_loss=0.4, **SMALL)
    ex.widget
    frames = []
    draw = ex.figure.canvas.draw
    ex.figure.canvas.draw = lambda: (frames.append(1), draw())
    for change in (dict(workers=8), dict(workers=5), dict(workers=8), dict(policy="async"),
                   dict(lr=2.0), dict(x="updates"), dict(straggler_prob=0.3)):
        ex.redraw(**change)
        assert np.array_equal(pixels(ex._layers.png()), pixels(png(ex.figure))), change
    ex.figure.canvas.draw = draw
    assert len(frames) < 7 + 7        # each full draw above counts once; layers drew fewer
    rp = replay(runs["sync"], runs["async"], time=0)
    rp.widget
    for t in (0, rp.end / 3, rp.end):
        rp.show_time(t)
        assert np.array_equal(pixels(rp._layers.png()), pixels(png(rp.figure)))


def test_a_frame_is_drawn_once_while_the_axes_stay(runs):
    rp = replay(runs["sync"], runs["async"], time=0)
    rp.widget
    frames = []
    draw = rp.figure.canvas.draw
    rp.figure.canvas.draw = lambda: (frames.append(1), draw())
    for k in range(1, 6):
        rp.play.value = k
    assert frames == []                              # only the curtains and the clock moved
    ex = explore(**SMALL)
    ex.widget
    ex.redraw(workers=8)
    picture = ex._image.value
    ex.redraw(workers=8)                             # nothing changed: nothing drawn or sent
    assert ex._image.value is picture


def test_steady_limits_keep_the_axes_while_the_data_fit():
    first = steady(None, 0.0, 100.0)
    assert first == pytest.approx((0.0, 115.0))
    assert steady(first, 0.0, 60.0) is first                     # fits, fills half: kept
    assert steady(first, 0.0, 30.0) == pytest.approx((0.0, 34.5))    # under a third: new
    assert steady(first, 0.0, 200.0) == pytest.approx((0.0, 230.0))  # does not fit: new
    low, high = steady(None, 0.3, 0.7, log=True)
    assert low < 0.3 and high > 0.7
    assert steady((low, high), 0.31, 0.69, log=True) == (low, high)


def test_the_course_toolkit_gives_plain_plots_the_palette():
    import asynclab.course  # noqa: F401  (imported above as well: the style is set)
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()
    assert [c.upper() for c in cycle["color"]] == list(plotstyle.SERIES_COLOURS)
    assert len(set(map(str, cycle["linestyle"]))) == len(cycle["color"])
