"""How asynclab's figures look, and what they say in words.

* One colour-blind-safe palette, Okabe & Ito's (2008), with a line style and a
  marker per series, so that lines differ in more than colour. What workers do
  has fixed colours that also differ in lightness: compute dark blue,
  communication orange, waiting light grey.
* Log axes labelled with plain numbers (0.3, not 3 x 10^-1), thinned at draw
  time so that no two labels overlap: decades first, then 5s, 2s and the rest,
  each only where there is room for it.
* A short text description of every figure (``description(fig)``), usable as
  alt text. In a notebook, every matplotlib Figure shown as PNG carries it in
  the output's metadata, ``output["metadata"]["image/png"]["alt"]`` (see
  ``show_alt_text``); nbval does not compare metadata.
"""
from __future__ import annotations

import math
import weakref

import matplotlib
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import Formatter, LogLocator

# Okabe & Ito, "Color Universal Design" (2008).
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
             "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "reddish purple": "#CC79A7"}
# Series in this order: the first pairs are the most distinct; yellow (hard on white) last.
SERIES_COLOURS = tuple(OKABE_ITO[name] for name in (
    "blue", "vermillion", "bluish green", "reddish purple", "orange", "sky blue", "black",
    "yellow"))
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)),
              (0, (8, 2, 1, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
GHOST = "0.55"        # a previous run, drawn behind the current one
MARKS_PER_LINE = 8    # markers per line: enough to tell lines apart, few enough to read them


def series_style(i, points=100) -> dict:
    """Colour, line style and marker of the ``i``-th series (of ``points`` points)."""
    k = i % len(SERIES_COLOURS)
    return dict(color=SERIES_COLOURS[k], linestyle=LINESTYLES[k], marker=MARKERS[k],
                markersize=5, markevery=max(1, points // MARKS_PER_LINE))


def use_style():
    """Make the palette and line styles matplotlib's defaults, for plots drawn with
    plain ``plt.plot`` too (the course toolkit does this when imported)."""
    from cycler import cycler
    matplotlib.rcParams["axes.prop_cycle"] = (cycler(color=SERIES_COLOURS)
                                              + cycler(linestyle=LINESTYLES))


# -- readable log axes ------------------------------------------------------------------
def readable_log_axis(ax, which="y"):
    """Log scale on ``ax``'s ``which`` axis with plain, non-overlapping labels."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_locator(LogLocator(base=10))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10))))
    axis.set_major_formatter(_LogLabels())
    axis.set_minor_formatter(_LogLabels())


def _priority(value):
    """Which labels matter most: decades, then 5s, 2s, 3s, then the other digits."""
    digit = round(value / 10 ** math.floor(math.log10(value) + 1e-9))
    return {1: 0, 5: 1, 2: 2, 3: 3}.get(digit, 4)


class _LogLabels(Formatter):
    """Labels of one log axis (major and minor ticks alike): a value is labelled only
    if its label keeps clear of every label of higher priority."""

    def format_ticks(self, values):
        kept = self._kept()
        return ["" if not _close_to_any(v, kept) else self(v) for v in values]

    def __call__(self, value, pos=None):
        return f"{value:g}"

    def _kept(self):
        axis = self.axis
        low, high = sorted(axis.get_view_interval())
        if not (low > 0 and high > low):
            return []
        ticks = [v for v in (*axis.get_majorticklocs(), *axis.get_minorticklocs())
                 if low * (1 - 1e-9) <= v <= high * (1 + 1e-9) and v > 0]
        vertical = axis.axis_name == "y"
        box = axis.axes.bbox
        pixels = box.height if vertical else box.width
        font = FontProperties(size=matplotlib.rcParams[f"{axis.axis_name}tick.labelsize"])
        font_px = font.get_size_in_points() * axis.figure.dpi / 72
        span = math.log10(high / low)

        def where(v):
            return math.log10(v / low) / span * pixels

        def size(v):        # the label's extent along the axis, in pixels, with a margin
            return 1.3 * font_px if vertical else (0.62 * len(self(v)) + 0.8) * font_px

        kept = []
        for v in sorted(ticks, key=lambda v: (_priority(v), v)):
            if all(abs(where(v) - where(k)) >= (size(v) + size(k)) / 2 for k in kept):
                kept.append(v)
        return kept


def _close_to_any(value, values):
    return any(math.isclose(value, v, rel_tol=1e-9) for v in values)


# -- descriptions (alt text) ------------------------------------------------------------
_descriptions = weakref.WeakKeyDictionary()     # Axes or Figure -> its description


def describe(artist, text):
    """Set the description of an Axes (one panel) or a whole Figure; returns ``artist``."""
    _descriptions[artist] = " ".join(text.split())
    return artist


def description(fig) -> str:
    """A short text description of ``fig``: the one set with ``describe``, else its
    panels' descriptions, each set by asynclab's plots or read from its labels."""
    if fig in _descriptions:
        return _descriptions[fig]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    texts = [_descriptions.get(ax) or _read_panel(ax) for ax in panels]
    if len(texts) == 1:
        return texts[0]
    return f"A figure of {len(texts)} panels. " + " ".join(
        f"Panel {i}: {text}" for i, text in enumerate(texts, 1))


def _read_panel(ax) -> str:
    """What a plain matplotlib panel shows, read from its title, labels and legend."""
    def scale(axis_scale):
        return " (log scale)" if axis_scale == "log" else ""
    y = (ax.get_ylabel() or "values") + scale(ax.get_yscale())
    x = (ax.get_xlabel() or "position") + scale(ax.get_xscale())
    text = f"{ax.get_title() + ': ' if ax.get_title() else ''}{y} against {x}."
    legend = ax.get_legend()
    names = [t.get_text() for t in legend.get_texts()] if legend else []
    if names:
        text += f" Series: {', '.join(names)}."
    return text


def show_alt_text(shell=None):
    """In IPython, attach ``description(fig)`` to every Figure shown as PNG, as the
    output's ``metadata["image/png"]["alt"]`` (idempotent; nothing outside IPython).

    It is a MIME-bundle formatter that returns only metadata, so it works whatever
    renders the PNG (matplotlib-inline registers that) and in whichever order the
    two are set up. A PNG formatter that writes its own metadata (the inline
    backend's ``"retina"`` format does) replaces this: ``show_sharp_figures`` keeps it."""
    shell = _shell(shell)
    if shell is None:
        return
    from matplotlib.figure import Figure
    shell.display_formatter.mimebundle_formatter.for_type(Figure, _alt_metadata)


def show_sharp_figures(shell=None):
    """In IPython, show every Figure as a PNG of twice its pixels, displayed at its size
    (``width``/``height`` metadata, as ``InlineBackend.figure_formats = ["retina"]``
    does), so that figures stay sharp on high-DPI screens, with its description as alt
    text. The course toolkit calls this; nothing outside IPython.

    It replaces the PNG formatter of the inline backend, so call it after the backend
    is set up (``%matplotlib inline``, or a first ``import matplotlib.pyplot``): setting
    the backend up again puts its own formatter back."""
    shell = _shell(shell)
    if shell is None:
        return
    show_alt_text(shell)
    from matplotlib.figure import Figure
    shell.display_formatter.formatters["image/png"].for_type(Figure, _sharp_png)


def _shell(shell):
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return None
        shell = get_ipython()
    return shell if hasattr(shell, "display_formatter") else None


def _alt_metadata(fig):
    return {}, {"image/png": {"alt": description(fig)}}


def _sharp_png(fig):
    from IPython.core.pylabtools import retina_figure
    # bbox_inches="tight" as the inline backend crops (its print_figure_kwargs default).
    shown = retina_figure(fig, base64=True, bbox_inches="tight")
    if shown is None:                 # an empty figure shows nothing, as inline does
        return None
    data, size = shown
    return data, {**size, "alt": description(fig)}
