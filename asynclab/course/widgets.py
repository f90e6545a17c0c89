"""What quizzes, explorations and the replay share: the headless switch and figures as PNG.

Headless means there is no notebook front end to draw widgets: plain Python,
a terminal IPython, or any environment with ``ASYNCLAB_HEADLESS=1`` (CI and
nbval set it). Headless code paths print text and show static figures; they
never wait for a click.

Every widget carries CSS classes (``asynclab-quiz``, ``asynclab-check``, ...)
so browser tests and custom styles can find it; lessons/README.md lists them.
"""
from __future__ import annotations

import importlib.util
import io
import math
import os

from ..plotstyle import description

HEADLESS_ENV = "ASYNCLAB_HEADLESS"
DPI = 80          # figure pixels per inch: small PNGs keep notebooks light
STORED_SCALE = 2  # stored figures have twice the pixels of their size: sharp on high-DPI screens


def headless() -> bool:
    """True when widgets cannot be shown (see the module docstring)."""
    if os.environ.get(HEADLESS_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return True
    if importlib.util.find_spec("ipywidgets") is None:
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or getattr(shell, "kernel", None) is None


def css(widget, *classes):
    """Add CSS classes to an ipywidget and return it."""
    for name in classes:
        widget.add_class(name)
    return widget


# Fixed margins, with room on the right for the timeline's legend: a constrained
# layout would measure every label again on each redraw.
MARGINS = dict(left=0.13, right=0.75, top=0.94, bottom=0.09, hspace=0.5)


def new_figure(width, height):
    """A Figure outside pyplot: never auto-displayed, freed with its dashboard."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)          # render with Agg directly, every time
    return fig


def panels(fig, height_ratios):
    """Clear ``fig`` and stack one Axes per entry of ``height_ratios``."""
    fig.clear()
    return fig.subplots(len(height_ratios), 1, squeeze=False,
                        gridspec_kw=dict(MARGINS, height_ratios=height_ratios))[:, 0]


def image_widget(fig):
    """An Image widget for ``fig``'s PNGs, shown at their own pixel size (not stretched
    to the cell's width, which blurs them)."""
    import ipywidgets as w
    width, height = (round(x * DPI) for x in fig.get_size_inches())
    return css(w.Image(format="png", layout=w.Layout(width=f"{width}px", height=f"{height}px")),
               "asynclab-figure")


def png(fig, stored=False) -> bytes:
    """The figure drawn in full, as PNG bytes. Live redraws compress lightly (faster;
    the image is sent, not kept); ``stored=True`` compresses well and draws
    ``STORED_SCALE`` times the pixels, for notebook outputs shown at the figure's size
    (``stored_size``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if not isinstance(fig.canvas, FigureCanvasAgg):    # e.g. a figure made with pyplot
        FigureCanvasAgg(fig)
    if not stored:
        fig.canvas.draw()
        return _encode(fig, 1)
    dpi = fig.dpi
    fig.set_dpi(dpi * STORED_SCALE)
    try:
        fig.canvas.draw()
        return _encode(fig, 9)
    finally:
        fig.set_dpi(dpi)


def stored_size(fig) -> dict:
    """The size at which a stored PNG of ``fig`` is shown, in CSS pixels (IPython's
    ``width``/``height`` metadata, as its retina figures carry)."""
    width, height = (round(x * fig.dpi) for x in fig.get_size_inches())
    return {"width": width, "height": height}


def _encode(fig, level) -> bytes:
    """What ``fig``'s Agg canvas holds, as an RGB PNG (the figures are opaque)."""
    from PIL import Image
    buffer = io.BytesIO()
    Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba()
                     ).convert("RGB").save(buffer, format="png", compress_level=level)
    return buffer.getvalue()


class Layers:
    """A dashboard's figure rendered in two layers, as matplotlib's blitting animations
    do: the *frame* (axes, ticks, labels, legends that stay) is drawn once and kept
    as pixels; a redraw pastes it back and draws only the *moving* artists on top.

    ``moving()`` returns the artists that change from one redraw to the next (bars,
    curves, a title...); what a full draw puts above them in their Axes (spines,
    legends...) is drawn again on top, so the result is the same picture as
    drawing the whole figure. The frame is drawn again whenever what it shows
    changes: any axes' limits, scales, ticks, axis labels, or a title or legend
    that is not moving (tick labels are taken to follow from the ticks, as
    matplotlib's formatters make them, or to be fixed labels). An Axis (``ax.yaxis``) listed as moving takes its
    limits with it: list one only if everything drawn in its data coordinates
    moves too.
    """

    def __init__(self, fig, moving):
        self.fig, self.moving = fig, moving
        self._key = self._frame = None
        self._on_top = []

    def png(self) -> bytes:
        """The figure as it stands, as PNG bytes for a live widget."""
        canvas, moving = self.fig.canvas, self.moving()
        # The renderer is part of the key: a stored PNG drawn at another dpi in between
        # (png(stored=True)) leaves the kept frame at the wrong size.
        key = (self._frame_key(moving), tuple(map(id, moving)), canvas.get_renderer())
        if key != self._key:
            self._on_top = self._above(moving)  # positions are part of the frame: kept with it
        drawn = moving + self._on_top
        for artist in drawn:
            artist.set_animated(True)           # left out of canvas.draw()
        try:
            if key != self._key:
                canvas.draw()
                self._frame, self._key = canvas.copy_from_bbox(self.fig.bbox), key
            else:
                canvas.restore_region(self._frame)
            for ax in self.fig.axes:            # in the order of a full draw
                for artist in sorted((a for a in drawn if a.axes is ax),
                                     key=lambda a: a.get_zorder()):
                    self.fig.draw_artist(artist)
        finally:
            for artist in drawn:
                artist.set_animated(False)
        return _encode(self.fig, 1)

    def _above(self, moving):
        """Visible artists that a full draw puts above a moving one of the same Axes, and
        that reach into that Axes, where the moving ones are drawn (spines do; a legend
        beside it does not)."""
        renderer = self.fig.canvas.get_renderer()
        above = []
        for ax in self.fig.axes:
            mine = [a.get_zorder() for a in moving if a.axes is ax]
            if mine:
                above += [a for a in ax.get_children() if a.get_zorder() > min(mine)
                          and a.get_visible() and a is not ax.patch and a not in moving
                          and a.get_window_extent(renderer).overlaps(ax.bbox)]
        return above

    def _frame_key(self, moving):
        key = []
        for ax in self.fig.axes:
            legend = ax.get_legend()
            key.append((ax.get_position().bounds, ax.get_xlabel(), ax.get_ylabel(),
                        None if ax.title in moving else ax.title.get_text(),
                        None if legend is None or legend in moving else
                        tuple(t.get_text() for t in legend.get_texts())))
            for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
                if axis not in moving:      # its tick labels follow from these
                    key.append((limits, axis.get_scale(), tuple(axis.get_majorticklocs()),
                                tuple(axis.get_minorticklocs()),
                                getattr(axis.get_major_formatter(), "seq", None)))
        return tuple(key)


def steady(current, low, high, log=False):
    """Axis limits for data from ``low`` to ``high``: ``current`` while the data fit in
    it and fill at least a third of it, else new limits with a margin. Steady axes
    let a redraw reuse the rendered frame (``Layers``), and show a shorter run as
    shorter."""
    scale = math.log10 if log else float
    if current is not None:
        a, b = current
        if a <= low and high <= b and scale(high) - scale(low) >= (scale(b) - scale(a)) / 3:
            return current
    if log:
        return low / 1.25, max(high, low * 1.01) * 1.25
    return low, max(high, low + 1e-9) * 1.15


def show_dashboard(dashboard, note, html=None):
    """Display ``dashboard.widget`` in a live notebook; headless, print ``note`` and
    show ``dashboard.figure`` as it stands, or ``html(dashboard)`` (a stored web page
    version, e.g. an animation) if given."""
    if not headless():
        from IPython.display import display
        display(dashboard.widget)
        return
    print(note)
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    if get_ipython() is None:
        return
    if html is not None:
        display({"text/html": html(dashboard), "text/plain": note.splitlines()[-1]}, raw=True)
    else:                               # with its description as alt text, as figures have
        display(Image(data=png(dashboard.figure, stored=True), format="png"),
                metadata={"image/png": {"alt": description(dashboard.figure),
                                        **stored_size(dashboard.figure)}})
