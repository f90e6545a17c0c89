"""Re-tune the capstone's references and rewrite the file the check reads::

    python -m asynclab.course.tune_capstone [--jobs 2]

Sync and async on the capstone's cluster, every learning rate of the grid times
every momentum, on the tuning seeds (asynclab.course.capstone_references): 264 runs,
a couple of minutes with two jobs. Run it after changing the cluster, the grid or
anything in the engine that changes the runs (tests/test_capstone.py says when).
"""
from __future__ import annotations

import argparse

from ..parallel import check_jobs
from .capstone_references import PATH, write


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m asynclab.course.tune_capstone",
                                     description="Re-tune the capstone's references and "
                                                 f"rewrite {PATH.name}.")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args(argv)
    try:
        check_jobs(args.jobs)
    except ValueError as error:
        parser.error(str(error))          # one line, exit status 2
    data = write(jobs=args.jobs)
    for policy, tuning in data["tunings"].items():
        print(f"{policy}: lr {tuning['lr']:g}, momentum {tuning['momentum']:g}, "
              f"at the edge of the grid: {tuning['at_edge']}")


if __name__ == "__main__":
    main()
