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
import os

HEADLESS_ENV = "ASYNCLAB_HEADLESS"
DPI = 80          # figure pixels per inch: small PNGs keep notebooks light


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
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=DPI)


def panels(fig, height_ratios):
    """Clear ``fig`` and stack one Axes per entry of ``height_ratios``."""
    fig.clear()
    return fig.subplots(len(height_ratios), 1, squeeze=False,
                        gridspec_kw=dict(MARGINS, height_ratios=height_ratios))[:, 0]


def plain_log_labels(ax):
    """Label a log-scaled y axis with plain numbers (0.3, not 3 x 10^-1): typesetting
    the exponents on every redraw costs more than drawing the curves."""
    from matplotlib.ticker import FormatStrFormatter
    for axis_format in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
        axis_format(FormatStrFormatter("%.2g"))


def image_widget(fig):
    """An Image widget for ``fig``'s PNGs, shown at their own pixel size (not stretched
    to the cell's width, which blurs them)."""
    import ipywidgets as w
    width, height = (round(x * DPI) for x in fig.get_size_inches())
    return css(w.Image(format="png", layout=w.Layout(width=f"{width}px", height=f"{height}px")),
               "asynclab-figure")


def png(fig, stored=False) -> bytes:
    """The figure as PNG bytes. Live redraws compress lightly (faster; the image is
    sent, not kept); ``stored=True`` compresses well, for notebook outputs."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 9 if stored else 1})
    return buffer.getvalue()


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
    else:
        display(Image(data=png(dashboard.figure, stored=True), format="png"))
