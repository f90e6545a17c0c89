"""A replay as a stored HTML animation: what a headless notebook keeps of ``replay(a, b)``.

A live notebook shows the replay as widgets that redraw the figure on every
frame. A page without a kernel (the course website, a trusted notebook opened
without running it) gets this instead: two pictures of the figure (the runs
complete, and with nothing drawn yet), every axes' pixel box, and the status
line of every frame, animated by a few lines of JavaScript (``replay.js``) that
add a Play button and a time slider. A page that runs no script shows a third
picture, the figure at the replay's time, and its status line. The three
pictures, at twice the figure's pixels, add about 360 kB to a notebook. The HTML
is deterministic (no random ids, the same bytes on every run but for the
PNGs), so nbval can compare it; lessons/nbval-sanitize.cfg masks the PNGs,
whose bytes depend on the machine's fonts.
"""
from __future__ import annotations

import base64
import html
import json
from importlib import resources

from .widgets import png, stored_size

INTERVAL_MS = 400          # one frame per Play step, as the live widget's Play does


def _data_uri(png_bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def animation_html(replay) -> str:
    """The replay as a self-contained <div>: the figure and the status line at the replay's
    time (what a page that runs no script shows: JupyterLab strips scripts from an
    untrusted notebook), then the frames' data and the script that adds Play and the time
    slider."""
    full, empty, boxes = replay.layers()
    now = png(replay.figure, stored=True)
    size = stored_size(replay.figure)        # the PNGs have more pixels: shown at this size
    times = [k / replay.frames * replay.end for k in range(replay.frames + 1)]
    data = {"frames": replay.frames, "interval": INTERVAL_MS, "boxes": boxes,
            "first": replay.frame(),
            "texts": [replay.text(t) for t in times],
            "start": {"fraction": replay.time / replay.end, "text": replay.text()},
            "full": _data_uri(full), "curtain": _data_uri(empty)}
    names = " and ".join(r.summary.policy for r in replay.runs)
    alt = (f"Worker timelines of {names} and their loss curves against time, "
           f"revealed up to the time on the slider")
    script = resources.files("asynclab.course").joinpath("replay.js").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<div class="asynclab-replay-animation">\n'
        f'<img class="asynclab-figure" width="{size["width"]}" height="{size["height"]}" '
        f'alt="{html.escape(alt)}" src="{_data_uri(now)}">\n'
        f'<pre class="asynclab-status" style="white-space: pre-wrap">'
        f'{html.escape(replay.text())}</pre>\n'
        f'<script type="application/json" class="asynclab-replay-data">{payload}</script>\n'
        f'<script>\n{script}</script>\n'
        '</div>')
