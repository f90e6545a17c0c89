"""Watching two runs unfold side by side: a Play button and a time slider.

    from asynclab.course import replay
    sync, async_ = asynclab.compare(["sync", "async"], workers=4).values()
    replay(sync, async_)                 # display it (last line of a cell)

Both timelines and the loss curves are drawn once, on one time axis;
a white curtain then hides everything after the slider's time, so moving the
slider (or pressing Play) fills them in together. The learner sees the
synchronous workers idle at barriers while the asynchronous ones keep
computing, and which run reaches the target loss first. ``Replay.show_time(t)``
is the plain function behind the slider (and moves it). Only the curtains, the
"now" lines and the clock move, so a frame redraws just those over the kept
picture of the runs (``widgets.Layers``).

The clock stops shortly after the race to the target loss is decided
(``replay_end``), not when the longer run ends. A timeline too long to draw bar by bar is drawn in slices of
time (``plots.READABLE``), which the curtain reveals like bars: a window that
follows the clock would need a new picture of the timelines for every frame,
which the stored animation (two pictures) cannot show.
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.patches import Rectangle

from ..plots import Timeline, convergence
from ..plotstyle import SERIES_COLOURS
from ..trace import QUEUE, WAIT
from .animation import INTERVAL_MS, animation_html
from .widgets import (STORED_SCALE, Layers, css, image_widget, new_figure, panels, png,
                      show_dashboard)

CURTAIN = 2.2     # z-order: above bars (1) and curves (2), below spines (2.5) and legends (5)
AFTER_TARGET = 1.5   # the clock ends at this multiple of the later run's time to the target


def default_target(runs):
    """A loss every finished run reaches: the worse final loss, plus a tenth of the way
    back to the start (None if every run diverged)."""
    finals = [r.summary.final_loss for r in runs if math.isfinite(r.summary.final_loss)]
    if not finals:
        return None
    worst = max(finals)
    return worst + 0.1 * (runs[0].summary.initial_loss - worst)


def replay_end(runs, reached) -> float:
    """The replay's last moment (seconds): ``AFTER_TARGET`` times the later of the runs'
    times to the target (``reached``), so the race is decided two thirds of the way
    along, but no later than the longer run's end. If a run never reaches the target
    (or there is none: every run diverged), or both start below it, the longer run's
    end: the whole race."""
    whole = max(r.summary.time for r in runs) or 1.0
    if any(t is None for t in reached) or not max(reached):
        return whole
    return min(AFTER_TARGET * max(reached), whole)


class Replay:
    """Two runs on one clock: the figure, the state at the slider's time, the widgets."""

    def __init__(self, first, second, target_loss=None, frames=40, time=None, end=None):
        self.runs = (first, second)
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise ValueError(f"frames must be a whole number of at least 1, got {frames!r}")
        self.frames = frames
        if target_loss is None:
            target_loss = first.config.target_loss
        if target_loss is None:
            target_loss = default_target(self.runs)
        self.target = target_loss
        self.reached = [None if target_loss is None else r.history.time_to(target_loss)
                        for r in self.runs]
        if end is None:
            end = replay_end(self.runs, self.reached)
        elif isinstance(end, bool) or not isinstance(end, (int, float)) or not (
                0 < end < math.inf):
            raise ValueError(f"end must be a number of seconds > 0, got {end!r}")
        self.end = float(end)
        self._waits = [np.array([(e.start, e.end) for e in r.trace.of_kind(WAIT, QUEUE)])
                       .reshape(-1, 2)
                       for r in self.runs]
        self.figure = new_figure(8, 6.2)
        self._draw()
        # Only the curtains, the "now" lines and the clock move: the runs are the frame.
        self._layers = Layers(self.figure, lambda: [*self._curtains, *self._now_lines,
                                                   self._title])
        self._widget = None
        self._moving_slider = False    # show_time sets the slider: it must not call back
        self.time = None
        self.show_time(self.end if time is None else time)

    def _draw(self):
        axes = panels(self.figure, [1, 1, 1.2])
        self._curtains, self._now_lines = [], []
        for ax, r in zip(axes[:2], self.runs):
            Timeline(ax).update(r, window=(0.0, self.end))
            ax.set_xlabel("")
        loss = axes[2]
        convergence(list(self.runs), x="time", ax=loss, target=self.target)
        for r, t, colour in zip(self.runs, self.reached, SERIES_COLOURS):
            if t is not None:
                loss.plot([t], [self.target], marker="o", markersize=8, color=colour,
                          linestyle="none", zorder=2.1)
        for ax in axes:
            ax.set_xlim(0, self.end)
            self._curtains.append(ax.add_patch(Rectangle(
                (0, 0), 0, 1, transform=ax.get_xaxis_transform(), facecolor="white",
                edgecolor="none", zorder=CURTAIN)))
            self._now_lines.append(ax.axvline(0, color="black", linewidth=1, zorder=CURTAIN + 0.1))
        self._title = loss.set_title("")

    # -- the plain function behind the slider -------------------------------------------------
    def show_time(self, t):
        """Reveal both runs up to time ``t`` (seconds) and move the slider to the frame
        nearest ``t``; returns the Figure."""
        t = min(max(float(t), 0.0), self.end)
        self.time = t
        for curtain, line in zip(self._curtains, self._now_lines):
            curtain.set_x(t)
            curtain.set_width(self.end - t)
            line.set_xdata([t, t])
        self._title.set_text(f"t = {t:.4g} of {self.end:.4g} s")
        if self._widget is not None:
            self._moving_slider = True
            try:
                self.slider.value = self.frame()     # Play follows the slider (linked)
            finally:
                self._moving_slider = False
            self._image.value = self._layers.png()
            self._status.value = self.text().replace("\n", "<br>")
        return self.figure

    def frame(self, t=None) -> int:
        """The slider's position (a Play step) nearest time ``t`` (default: the replay's)."""
        return round((self.time if t is None else t) / self.end * self.frames)

    def _on_slider(self, frame):
        if not self._moving_slider:
            self.show_time(frame / self.frames * self.end)

    def layers(self):
        """The figure for an animation outside Python (see :mod:`.animation`):
        ``(everything drawn, everything behind the curtain, boxes)``, two PNGs without
        the clock's line and title (``STORED_SCALE`` times the figure's pixels), and each
        axes' box in those pixels from the image's top-left corner,
        ``[left, top, right, bottom]``."""
        hidden = [*self._now_lines, self._title]
        for artist in hidden:
            artist.set_visible(False)
        try:
            pictures = []
            for start in (self.end, 0.0):
                for curtain in self._curtains:
                    curtain.set_x(start)
                    curtain.set_width(self.end - start)
                pictures.append(png(self.figure, stored=True))
            height = self.figure.bbox.height
            boxes = [[round(float(x) * STORED_SCALE, 2)       # in the stored PNGs' pixels
                      for x in (b.x0, height - b.y1, b.x1, height - b.y0)]
                     for b in (ax.get_window_extent() for ax in self.figure.axes)]
        finally:
            for artist in hidden:
                artist.set_visible(True)
            self.show_time(self.time)
        return pictures[0], pictures[1], boxes

    def state(self, t=None) -> list:
        """What each run had done by time ``t``, as plain dicts: updates applied, last
        loss evaluated, fraction of worker time spent waiting, target reached, finished."""
        t = self.time if t is None else t
        out = []
        for r, waits, reached in zip(self.runs, self._waits, self.reached):
            h = r.history
            i = int(np.searchsorted(h.time, t, side="right")) - 1
            clipped = np.minimum(waits, t)
            waited = float((clipped[:, 1] - clipped[:, 0]).sum())
            lived = min(t, r.summary.time)       # a finished run's share stops changing
            out.append({"policy": r.summary.policy, "updates": h.updates[max(i, 0)],
                        "loss": h.loss[max(i, 0)],
                        "idle": waited / (r.config.workers * lived) if lived > 0 else 0.0,
                        "reached": reached is not None and reached <= t,
                        "finished": t >= r.summary.time})
        return out

    def text(self, t=None) -> str:
        """The state at time ``t`` in words, and who reached the target first."""
        t = self.time if t is None else t
        lines = [f"t = {t:.4g} s: " + "; ".join(
            f"{s['policy']}: {s['updates']} updates, loss {s['loss']:.3g}, "
            f"waited {s['idle']:.0%} of the time{' (finished)' if s['finished'] else ''}"
            for s in self.state(t))]
        if self.target is not None:
            hits = [(when, r.summary.policy) for when, r in zip(self.reached, self.runs)
                    if when is not None and when <= t]
            if not hits:
                lines.append(f"Neither run has reached the target loss {self.target:.3g} yet.")
            else:
                when, who = min(hits)
                lines.append(f"{who} reached the target loss {self.target:.3g} first, "
                             f"at t = {when:.4g} s.")
        return "\n".join(lines)

    # -- widgets --------------------------------------------------------------------------------
    @property
    def widget(self):
        """Play button, time slider, the figure and a status line (built on first use)."""
        if self._widget is None:
            import ipywidgets as w
            frame = self.frame()
            self.play = css(w.Play(min=0, max=self.frames, step=1, value=frame, interval=INTERVAL_MS,
                                   description="Play", tooltip="play the two runs over time"),
                            "asynclab-play")
            self.slider = css(w.IntSlider(min=0, max=self.frames, value=frame, readout=False,
                                          description="time", continuous_update=True),
                              "asynclab-time")
            w.link((self.play, "value"), (self.slider, "value"))
            self.slider.observe(lambda change: self._on_slider(change["new"]), names="value")
            self._image = image_widget(self.figure)
            self._status = css(w.HTML(), "asynclab-status")
            self._widget = css(w.VBox([w.HBox([self.play, self.slider]), self._image,
                                       self._status]), "asynclab-replay")
            self.show_time(self.time)
        return self._widget

    def _ipython_display_(self):
        show_dashboard(self, f"{self.text()}\n(stored frames: Play and the time slider replay "
                             "them in a web page; a live notebook redraws them; call "
                             ".show_time(t) to move it)",
                       html=animation_html)


def replay(first, second, target_loss=None, frames=40, time=None, end=None) -> Replay:
    """Two Results side by side over time (usually a sync and an async run).

    ``target_loss`` defaults to the runs' Config target, else to ``default_target``;
    ``frames`` is the number of Play steps; ``time`` the moment shown first
    (default: the end); ``end`` the last moment (seconds; default ``replay_end``:
    1.5 times the later run's time to the target).
    """
    return Replay(first, second, target_loss=target_loss, frames=frames, time=time, end=end)
