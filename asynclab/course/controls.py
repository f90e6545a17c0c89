"""An exploration's controls: a widget per setting, which settings a run ignores, and
the learning rate a policy starts at.

* ``control(name, value, policies)``: the ipywidget for one setting, labelled
  with what it means.
* ``inactive(values, config)``: the settings the run ignores under these
  values, each with the reason. The dashboard disables their controls and
  shows the reason as the control's tooltip. The offered controls that can
  mean nothing are the staleness bound (unless the policy is ``ssp``), the
  straggler slowdown (at a straggler chance of 0) and staleness-aware steps
  (no applied gradient is stale).
* ``tuned_rate(config)``: the rate a policy starts at when an exploration
  switches to it and no rate was given for it: tuned once, on the run's
  budget and seed, over ``RATES``.
"""
from __future__ import annotations

from ..tuning import DEFAULT_LRS, tune
from .widgets import css

COMPUTE_CHOICES = [("exponential, mean 1 s", "exp:1"), ("constant, 1 s", "const:1"),
                   ("log-normal, mean 1 s (heavy tail)", "lognormal:1:1")]
X_CHOICES = ("time", "updates", "gradients")
COMPRESS_CHOICES = [("none: the dense vector", "none"), ("top-k, 10% of coordinates", "topk:0.1"),
                    ("top-k, 2% of coordinates", "topk:0.02"), ("random-k, 10%", "randk:0.1"),
                    ("QSGD, 8 levels (5 bits)", "qsgd:8"), ("QSGD, 2 levels (3 bits)", "qsgd:2")]
TOOLTIPS = {"bound": "how many steps a worker may run ahead of the slowest (used by the ssp "
                     "policy)",
            "momentum": "heavy-ball momentum applied by the server"}
# The grid a policy's default rate is tuned on: 1-2-5 steps over the learning-rate
# slider's range, 0.01 to 10.
RATES = DEFAULT_LRS
# A policy whose updates are another's takes that one's rate: allreduce computes
# sync's parameters (to 1e-12), only its time differs.
SAME_RATE = {"allreduce": "sync"}


def _choices(options, value):
    """A drop-down's options, plus ``value`` if code chose one that is not among them."""
    pairs = [o if isinstance(o, tuple) else (str(o), o) for o in options]
    return pairs + ([(str(value), value)] if value not in [v for _, v in pairs] else [])


def control(name, value, policies):
    """The widget for one setting, with a label that says what it means (and CSS classes
    ``asynclab-control``, ``asynclab-control-NAME``)."""
    import ipywidgets as w
    style = {"description_width": "150px"}
    layout = w.Layout(width="380px")
    common = dict(value=value, style=style, layout=layout, tooltip=TOOLTIPS.get(name))
    slider = dict(common, continuous_update=False)
    make = {
        "workers": lambda: w.IntSlider(min=1, max=16, description="workers", **slider),
        "policy": lambda: w.Dropdown(options=_choices(policies, value), description="policy",
                                     **common),
        "bound": lambda: w.IntSlider(min=0, max=16, description="ssp: bound S", **slider),
        "compute": lambda: w.Dropdown(options=_choices(COMPUTE_CHOICES, value),
                                      description="compute time", **common),
        "straggler_prob": lambda: w.FloatSlider(min=0, max=0.5, step=0.05,
                                                description="straggler chance", **slider),
        "straggler_factor": lambda: w.FloatSlider(min=1, max=20, step=1,
                                                  description="straggler slowdown (x)", **slider),
        "latency": lambda: w.FloatSlider(min=0, max=1, step=0.05, description="latency (s)",
                                         **slider),
        "bandwidth": lambda: w.FloatLogSlider(base=10, min=1, max=6, step=0.25,
                                              description="bandwidth (B/s)", readout_format=".2g",
                                              **slider),
        "lr": lambda: w.FloatLogSlider(base=10, min=-2, max=1, step=0.1, readout_format=".3g",
                                       description="learning rate", **slider),
        "batch": lambda: w.SelectionSlider(options=[1, 2, 4, 8, 16, 32, 64, 128, 256],
                                           description="minibatch size", **slider),
        "staleness_aware": lambda: w.Checkbox(description="staleness-aware step size",
                                              indent=False, value=value, layout=layout),
        "momentum": lambda: w.FloatSlider(min=0, max=0.95, step=0.05, description="momentum",
                                          **slider),
        "compress": lambda: w.Dropdown(options=_choices(COMPRESS_CHOICES, value),
                                       description="compress pushes", **common),
        "x": lambda: w.Dropdown(options=X_CHOICES, description="loss against", **common),
    }
    return css(make[name](), "asynclab-control", f"asynclab-control-{name}")


def inactive(values, config) -> dict:
    """The settings among ``values`` (an exploration's) that the run of ``config``
    (their Config) ignores, each with the reason: ``{name: reason}``."""
    off = {}
    if values["policy"] != "ssp":
        off["bound"] = f"only the policy ssp uses the bound; {config.policy} does not"
    elif config.workers == 1:
        off["bound"] = "one worker has no other worker to run ahead of"
    if not values["straggler_prob"]:
        off["straggler_factor"] = "no gradient straggles at a straggler chance of 0"
    if config.policy.aggregate:
        off["staleness_aware"] = (f"{config.policy} applies only gradients computed on the "
                                  "current parameters: none is stale")
    elif config.workers == 1 and not config.overlap:
        off["staleness_aware"] = "one worker's gradients are never stale"
    return off


def tuned_rate(config) -> float:
    """The learning rate of ``RATES`` with the lowest final loss for ``config`` (its
    policy, budget and seed; ``asynclab.tune`` with metric ``final_loss`` and one
    seed, so a rate that diverges never wins). Only the final loss is evaluated."""
    return tune(config.replace(eval_points=2), lrs=RATES, seeds=1, metric="final_loss").best_lr
