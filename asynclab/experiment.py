"""Running experiments: ``run`` one Config, ``compare`` several policies."""
from __future__ import annotations

from .backends import get_backend
from .config import Config


def run(config: Config | None = None, /, **changes):
    """Run one experiment and return its :class:`~asynclab.results.Result`.

    Either pass a Config, or keyword fields of Config, or both (the keywords
    override the Config's fields)::

        run(policy="sync", workers=8, gradients=4000, seed=1)
    """
    if config is None:
        config = Config(**changes)
    elif changes:
        config = config.replace(**changes)
    return get_backend(config.backend)(config)


def compare(policies, config: Config | None = None, /, **changes):
    """Run the same experiment under several policies: ``{policy: Result}``.

    ``policies`` is a list such as ``["sync", "async", "ssp:2"]`` or one
    comma-separated string ``"sync,async,ssp:2"``.
    """
    if isinstance(policies, str):
        policies = [p for p in policies.split(",") if p]
    base = config.replace(**changes) if config is not None else Config(**changes)
    return {str(p): run(base, policy=p) for p in policies}
