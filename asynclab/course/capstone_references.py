"""The capstone's references: sync and async on all 16 workers, each at its own learning
rate and momentum, tuned once and stored as data.

Tuning both policies over ``LEARNING_RATES`` x ``MOMENTA`` on ``TUNING_SEEDS``, by
the time to the target validation accuracy, takes 2 x 11 x 4 x 3 = 264 runs of the
cluster: a few minutes on two cores, too long for every check. So it is done by a
script, whose output is stored next to this module (``capstone_references.json``)::

    python -m asynclab.course.tune_capstone     # re-tunes and rewrites the file (jobs=2)

The file holds every row of both tunings (``asynclab.Tuning.to_dict``) and the
cluster and grid they were tuned for (``fingerprint()``); ``choices()`` refuses a
file tuned for another cluster or grid. tests/test_capstone.py re-runs each best
setting and its neighbours in the grid and checks the stored rows against them.
The check runs the references on other seeds (asynclab.course.capstone), so the
tuning seeds never judge the setting they chose.
"""
from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import Config
from ..tuning import tune_all
from .capstone_cluster import CLUSTER

LEARNING_RATES = tuple(float(f"{x:.3g}") for x in np.geomspace(0.02, 2.0, 11))
MOMENTA = (0.0, 0.5, 0.9, 0.95)
TUNING_SEEDS = (0, 1, 2)
POLICIES = ("sync", "async")         # on all of the cluster's workers
METRIC = "time_to_accuracy"          # reads the validation set (asynclab.results)
PATH = Path(__file__).with_name("capstone_references.json")


def fingerprint() -> dict:
    """What the tuning depends on: the cluster's settings that differ from Config's
    defaults, the grid, the seeds and the metric (as text, for JSON)."""
    defaults = Config()
    cluster = {f.name: str(getattr(CLUSTER, f.name)) for f in dataclasses.fields(Config)
               if f.name != "policy" and getattr(CLUSTER, f.name) != getattr(defaults, f.name)}
    return {"cluster": cluster, "learning_rates": list(LEARNING_RATES),
            "momenta": list(MOMENTA), "seeds": list(TUNING_SEEDS), "metric": METRIC}


def tune_references(jobs=2) -> dict:
    """{policy: asynclab.Tuning} for each reference policy, every run in one batch."""
    tunings = tune_all([CLUSTER.replace(policy=p) for p in POLICIES], lrs=LEARNING_RATES,
                       momenta=MOMENTA, seeds=list(TUNING_SEEDS), metric=METRIC, jobs=jobs)
    return dict(zip(POLICIES, tunings))


def write(path=PATH, jobs=2) -> dict:
    """Tune the references and store the result at ``path``; return what was written."""
    data = {"fingerprint": fingerprint(),
            "tunings": {p: t.to_dict() for p, t in tune_references(jobs).items()}}
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


@lru_cache(maxsize=None)
def stored() -> dict:
    """The stored tunings, {policy: Tuning.to_dict()}; ValueError if the file was tuned
    for another cluster, grid or seeds than this module's."""
    data = json.loads(PATH.read_text(encoding="utf-8"))
    if data["fingerprint"] != fingerprint():
        raise ValueError(f"{PATH.name} was tuned for another cluster or grid; re-tune it: "
                         "python -m asynclab.course.tune_capstone")
    return data["tunings"]


def choices() -> dict:
    """{name: the reference as a choice}: {"policy", "lr", "momentum"} at its tuned best."""
    return {p: {"policy": p, "lr": t["lr"], "momentum": t["momentum"]}
            for p, t in stored().items()}
