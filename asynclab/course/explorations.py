"""Explorations: sliders and drop-downs that re-run a simulated experiment and redraw it.

    from asynclab.course import explore
    explore()                                     # every control, defaults in DEFAULTS
    explore(["workers", "lr"], policy="async")    # a few controls, other settings fixed
    explore(["workers"], speeds=(1, 1, 3))        # any Config field can be fixed

A change re-runs the simulated backend on a small problem and redraws the
worker timeline and the loss curve; the curve of the settings before the
change stays in dashed grey ("previous run"), so each change is compared with
the last; the summary line says what changed. The redraw is
a plain method, ``Exploration.redraw(**changes)``: tests, benchmarks and
headless notebooks call it without a front end.

Switching policy also sets the learning rate to that policy's own
(``Exploration.rate``), unless the same change sets ``lr``. Controls that the
run ignores under the current settings are disabled (``controls.inactive``).

The figure and its artists are made once; a redraw gives them new data and
skips what did not change (the timeline when only the loss curve's axis
changes; everything when nothing changed). Axes keep their limits while the
runs fit in them, so the rendered frame (axes, ticks, legends) is reused and
only the bars, the curves and the workers' axis are drawn again
(``widgets.Layers``): about half the cost of drawing a new figure
(benchmarks/bench_widgets.py measures both).
"""
from __future__ import annotations

import math

from ..config import Config
from ..experiment import run
from ..plots import Timeline
from ..plotstyle import GHOST, describe, readable_log_axis, series_style
from ..problems import Logistic
from .controls import SAME_RATE, TOOLTIPS, X_CHOICES, control, inactive, tuned_rate
from .widgets import Layers, css, image_widget, new_figure, panels, show_dashboard, steady

# Small enough that a run plus a redraw feels live (see benchmarks/bench_widgets.py).
PROBLEM = Logistic(features=50, examples=1000)
GRADIENTS = 1000
# Points on the loss curve: as smooth as a 640-pixel-wide figure shows. Each one
# evaluates the loss on all the data and the held-out set (about 65 us on the
# default problem); 100 of them would be a tenth of a redraw.
EVAL_POINTS = 50

DEFAULTS = {
    "workers": 4, "policy": "sync", "bound": 2, "compute": "exp:1",
    "straggler_prob": 0.0, "straggler_factor": 5.0, "latency": 0.0, "bandwidth": 1e6,
    "lr": 0.5, "batch": 32, "staleness_aware": False, "momentum": 0.0, "compress": "none",
    "x": "time",
}
ALL_CONTROLS = ("workers", "policy", "bound", "compute", "straggler_prob", "straggler_factor",
                "latency", "bandwidth", "lr", "x")
class Exploration:
    """One dashboard: its settings, the last run, and a figure redrawn on every change."""

    def __init__(self, controls=ALL_CONTROLS, policies=("sync", "async", "ssp"), rates=None,
                 **settings):
        known = set(DEFAULTS)
        unknown = [c for c in controls if c not in known]
        if unknown:
            raise ValueError(f"unknown control {unknown[0]!r}; choose from {', '.join(DEFAULTS)}")
        self.controls = tuple(controls)
        self.policies = tuple(policies)
        self.values = {**DEFAULTS, **{k: v for k, v in settings.items() if k in known}}
        # Each policy's learning rate (a drop-down value -> rate): ``rates``, and the
        # starting rate for the starting policy; the rest are tuned when first used.
        self.rates = {SAME_RATE.get(p, p): lr for p, lr in _checked(rates).items()}
        self.rates[SAME_RATE.get(self.values["policy"], self.values["policy"])] = self.values["lr"]
        fixed = {k: v for k, v in settings.items() if k not in known}
        fixed.setdefault("problem", PROBLEM)
        fixed.setdefault("gradients", GRADIENTS)
        fixed.setdefault("eval_points", EVAL_POINTS)
        try:
            self.base = Config(**fixed)
        except TypeError:
            bad = sorted(set(fixed) - set(Config.__dataclass_fields__))
            raise ValueError(f"unknown setting {bad[0]!r}; use a control ({', '.join(DEFAULTS)}) "
                             "or a field of asynclab.Config") from None
        self.figure = new_figure(8, 5.4)
        top, self._loss = panels(self.figure, [1.15, 1])
        self._timeline = Timeline(top, legend="all", title=False)   # the summary line says it
        self._ghost = self._loss.plot([], [], color=GHOST, linestyle="--", linewidth=1.4)[0]
        self._curve = self._loss.plot([], [], linewidth=1.6, **series_style(0))[0]
        self._target = self._loss.axhline(1.0, color="black", linestyle=":", linewidth=1,
                                          label="target loss", visible=False)
        readable_log_axis(self._loss)
        self._loss.set_ylabel("loss (all data)")
        self._shown = {}             # what the figure shows now, to skip what did not change
        self._limits = {}            # steady axis limits: "time", "updates", "gradients", "loss"
        self._legend_lines = None
        self._layers = Layers(self.figure, self._moving)
        self.result = self.previous = None
        self._before = None          # values of the previous run, for its grey curve's label
        self._widget = self._controls = None
        self._syncing = False
        self.redraw()

    # -- the plain redraw function ------------------------------------------------------------
    def config(self, values=None) -> Config:
        """The Config these settings stand for."""
        v = self.values if values is None else values
        policy = f"ssp:{v['bound']}" if v["policy"] == "ssp" else v["policy"]
        p, factor = v["straggler_prob"], v["straggler_factor"]
        return self.base.replace(
            workers=v["workers"], policy=policy, compute=v["compute"], lr=v["lr"],
            straggler=(p, factor) if p > 0 else None, latency=v["latency"],
            bandwidth=v["bandwidth"], batch=v["batch"], staleness_aware=v["staleness_aware"],
            momentum=v["momentum"], compress=v["compress"],
            speeds=self.base.speeds[:v["workers"]])

    def redraw(self, **changes):
        """Apply ``changes`` to the settings, re-run if needed, redraw; returns the Figure.

        Raises ValueError (and changes nothing) if the new settings are invalid.
        """
        values = {**self.values, **changes}
        unknown = set(changes) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown control {sorted(unknown)[0]!r}; "
                             f"choose from {', '.join(DEFAULTS)}")
        if values["x"] not in X_CHOICES:
            raise ValueError(f"x must be one of {', '.join(X_CHOICES)}, got {values['x']!r}")
        if "lr" not in changes and values["policy"] != self.values["policy"]:
            values["lr"] = self.rate(values["policy"], values)
        config = self.config(values)
        if self.result is None or config != self.result.config:
            result = run(config)
            if self.result is not None:
                self.previous, self._before = self.result, self.values
            self.result = result
        self.values = values
        changed = self._draw()
        if self._widget is not None:
            self._show_in_widgets(picture=changed)
        return self.figure

    def rate(self, policy, values=None) -> float:
        """The learning rate a switch to ``policy`` (a drop-down value) starts at: the
        exploration's starting rate for its starting policy, else the one ``rates``
        gave, else ``tuned_rate`` at the settings ``values`` (default: the current ones)
        of the first switch to it, kept for later switches. allreduce takes sync's."""
        key = SAME_RATE.get(policy, policy)
        if key not in self.rates:
            now = self.values if values is None else values
            self.rates[key] = tuned_rate(self.config({**now, "policy": key}))
        return self.rates[key]

    def _draw(self):
        """Give the figure's artists the current data; False if nothing changed."""
        x = self.values["x"]
        shown = {"result": self.result, "previous": self.previous, "x": x}
        if all(self._shown.get(k) is v for k, v in shown.items()):
            return False
        ax, r = self._loss, self.result
        if self._shown.get("result") is not self.result:
            self._timeline.update(r)
        runs = [r] if self.previous is None else [self.previous, r]
        self._curve.set_data(getattr(r.history, x), r.history.loss)
        self._curve.set(label=r.summary.policy, markevery=max(1, len(r.history.loss) // 8))
        if self.previous is not None:
            self._ghost.set_data(getattr(self.previous.history, x), self.previous.history.loss)
            self._ghost.set_label(f"before: {self._change_label()}")
        self._ghost.set_visible(self.previous is not None)
        target = r.config.target_loss
        if target is not None:
            self._target.set_ydata([target, target])
        self._target.set_visible(target is not None)
        self._set_limits(runs, x, target)
        ax.set_xlabel({"updates": "parameter updates", "gradients": "gradients computed",
                       "time": "time (simulated s)"}[x])
        # The legend stays beside the axes, the same from one run to the next (the
        # summary line names the run and what changed), so the frame is reused.
        lines = [line for line in (self._ghost, self._curve, self._target) if line.get_visible()]
        if lines != self._legend_lines:
            self._legend_lines = lines
            names = {self._ghost: "previous run", self._curve: "this run"}
            ax.legend(lines, [names.get(line, line.get_label()) for line in lines],
                      loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        describe(ax, f"Loss on all the data (log scale) against {ax.get_xlabel()}: "
                     f"{r.summary.policy} from {r.history.loss[0]:.3g} to {r.history.loss[-1]:.3g}"
                     + (f"; a grey dashed line shows the run before the last change "
                        f"({self._change_label()})" if self.previous is not None else "") + ".")
        self._shown = shown
        return True

    def _set_limits(self, runs, x, target):
        """Axes that keep their limits while the runs fit in them (``steady``), so that
        the frame is reused; the timeline and a loss curve over time share one axis."""
        top, ax, limits = self.figure.axes[0], self._loss, self._limits
        limits["time"] = steady(limits.get("time"), 0.0, max(r.summary.time for r in runs))
        if x != "time":
            limits[x] = steady(limits.get(x), 0.0, max(getattr(r.history, x)[-1] for r in runs))
        top.set_xlim(*limits["time"])
        ax.set_xlim(*limits[x])
        losses = [v for r in runs for v in r.history.loss if math.isfinite(v) and v > 0]
        losses += [target] if target else []
        limits["loss"] = steady(limits.get("loss"), min(losses), max(losses), log=True)
        ax.set_ylim(*limits["loss"])

    def _moving(self):
        """What changes from one redraw to the next (the rest is the reusable frame)."""
        return [*self._timeline.bars.values(), self._timeline.lost, self.figure.axes[0].yaxis,
                self._ghost, self._curve, self._target]

    def _change_label(self):
        changed = [k for k in DEFAULTS if k != "x" and self._before[k] != self.values[k]]
        return ", ".join(f"{k} {self._before[k]:g}" if isinstance(self._before[k], float)
                         else f"{k} {self._before[k]}" for k in changed) or "same settings"

    def text(self) -> str:
        """One line about the current run (numbers rounded so they print the same everywhere)."""
        s = self.result.summary
        staleness = f", mean staleness {s.mean_staleness:.3g}" if s.updates else ""
        return (f"{s.policy}, {s.workers} worker{'s' * (s.workers != 1)}, lr "
                f"{self.result.config.lr:.3g}: "
                f"{s.gradients} gradients in {s.time:.4g} s "
                f"({s.gradients_per_second:.3g} per s), {s.updates} updates, loss "
                f"{s.initial_loss:.3g} -> {s.final_loss:.3g}{' (diverged)' if s.diverged else ''}; "
                f"idle {s.idle_fraction:.0%}, communicating {s.comm_fraction:.0%}{staleness}")

    # -- widgets --------------------------------------------------------------------------------
    @property
    def widget(self):
        """The dashboard (built on first use): controls, the figure, a summary line."""
        if self._widget is None:
            import ipywidgets as w
            self._controls = {name: control(name, self.values[name], self.policies)
                              for name in self.controls}
            for name, widget in self._controls.items():
                widget.observe(lambda change, name=name: self._on_change(name, change["new"]),
                               names="value")
            self._image = image_widget(self.figure)
            self._summary = css(w.HTML(), "asynclab-summary")
            grid = w.GridBox(list(self._controls.values()),
                             layout=w.Layout(grid_template_columns="repeat(2, 390px)"))
            self._widget = css(w.VBox([grid, self._image, self._summary]), "asynclab-explore")
            self._show_in_widgets()
        return self._widget

    def _on_change(self, name, value):
        if self._syncing:
            return
        try:
            self.redraw(**{name: value})
        except ValueError as err:     # e.g. a policy that needs more workers
            self._summary.value = f"<b>Cannot run these settings:</b> {err}"

    def _show_in_widgets(self, picture=True):
        self._syncing = True          # setting a control from code must not redraw again
        off = inactive(self.values, self.result.config)
        try:
            for name, widget in self._controls.items():
                widget.value = self.values[name]
                widget.disabled = name in off
                widget.tooltip = off.get(name, TOOLTIPS.get(name))
        finally:
            self._syncing = False
        if picture:                   # the PNG is only made and sent when the figure changed
            self._image.value = self._layers.png()
        before = (f"<br>Dashed grey: the run before the last change ({self._change_label()})."
                  if self.previous is not None else "")
        self._summary.value = self.text() + before

    def _ipython_display_(self):
        show_dashboard(self, f"{self.text()}\n(static figure: the controls need a live "
                             "notebook; call .redraw(setting=value) to change it)")


def explore(controls=ALL_CONTROLS, **settings) -> Exploration:
    """A dashboard over the simulated cluster; display it (last line of a cell) to use it.

    ``controls`` names the settings that get a widget (see ``DEFAULTS``; ``batch``,
    ``staleness_aware``, ``momentum`` and ``compress`` are available too). Keywords set the starting value
    of a control or fix any other Config field (``problem``, ``gradients``,
    ``seed``, ``speeds``, ``target_loss``, ``eval_points``...). ``policies`` lists the policy
    drop-down's choices; ``"ssp"`` uses the staleness bound control. Switching policy
    sets the learning rate to the policy's own (``Exploration.rate``): ``lr`` is the
    starting policy's, ``rates`` (``{"sync": 2.0, ...}``) gives others, and the rest are
    tuned once, at the settings of the first switch to them (``controls.tuned_rate``).
    """
    return Exploration(controls, **settings)


def _checked(rates) -> dict:
    """``rates`` as a dict of policy -> learning rate, or a clear error."""
    if rates is None:
        return {}
    if not isinstance(rates, dict):
        raise ValueError(f"rates must map policies to learning rates, like "
                         f"{{'sync': 2.0}}, got {rates!r}")
    for policy, lr in rates.items():
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
            raise ValueError(f"rates[{policy!r}] must be a learning rate > 0, got {lr!r}")
    return rates
