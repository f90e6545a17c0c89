"""Backends: where workers run and how time passes.

A backend is a function ``run(config) -> Result``. All of them use the same
policy rules (:class:`asynclab.server.ParameterServer`) and produce the same
trace, history and summary; they differ only in the clock (virtual or
wall-clock) and in where a worker's code executes.
"""
from importlib import import_module

# Backend name -> module holding its run(config). Imported on first use, so
# an optional dependency (Ray) is only needed by the backend that uses it.
BACKENDS = {
    "simulated": "asynclab.backends.simulated",
    "thread": "asynclab.backends.thread",
    "process": "asynclab.backends.process",
    "ray": "asynclab.backends.ray",
}


def _module(name):
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return import_module(BACKENDS[name])


def get_backend(name):
    """The run function of backend ``name``."""
    return _module(name).run


def check_config(config):
    """Run the checks only ``config.backend`` needs, if it has any (ValueError)."""
    check = getattr(_module(config.backend), "check_config", None)
    if check is not None:
        check(config)
