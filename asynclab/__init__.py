"""asynclab: synchronous and asynchronous SGD, on a simulated cluster and on real workers.

    >>> import asynclab
    >>> result = asynclab.run(policy="async", workers=4, gradients=400, seed=0)
    >>> result.summary.updates
    400
"""
from .config import Config
from .experiment import compare, run
from .parallel import run_many
from .policies import Policy, parse_policy
from .problems import MLP, LeastSquares, Logistic, Problem, SparseLogistic, make_problem
from .results import History, Result, Summary
from .runs import Runs
from .server import StalledError, WorkerError
from .stats import Estimate
from .timing import Distribution
from .trace import Event, Trace
from .tuning import Tuning, tune

__version__ = "0.1.0"

__all__ = [
    "Config", "run", "run_many", "compare", "tune", "Tuning", "Runs", "Estimate",
    "Policy", "parse_policy",
    "Problem", "LeastSquares", "Logistic", "SparseLogistic", "MLP", "make_problem",
    "Result", "Summary", "History", "Trace", "Event",
    "Distribution", "StalledError", "WorkerError",
]
