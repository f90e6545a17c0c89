"""asynclab: synchronous and asynchronous SGD, on a simulated cluster and on real workers.

    >>> import asynclab
    >>> result = asynclab.run(policy="async", workers=4, gradients=400, seed=0)
    >>> result.summary.updates
    400
"""
from .config import Config
from .experiment import compare, run
from .policies import Policy, parse_policy
from .problems import MLP, LeastSquares, Logistic, Problem, SparseLogistic, make_problem
from .results import Event, History, Result, Summary, Trace
from .server import StalledError, WorkerError
from .timing import Distribution

__version__ = "0.1.0"

__all__ = [
    "Config", "run", "compare",
    "Policy", "parse_policy",
    "Problem", "LeastSquares", "Logistic", "SparseLogistic", "MLP", "make_problem",
    "Result", "Summary", "History", "Trace", "Event",
    "Distribution", "StalledError", "WorkerError",
]
