"""When progress shows: on a terminal, once the work has lasted PROGRESS_AFTER seconds;
never in --json output or a pipe; --progress/--no-progress force it. tune and
compare show one bar over their runs, not one per run."""
import errno
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time

import pytest

import asynclab
from asynclab import cli, cli_flags
from asynclab.cli import main

SMALL = ["--features", "20", "--examples", "200", "--gradients", "200"]
TUNE = [*SMALL, "--policy", "sync,async", "--lrs", "0.1,0.5,2", "--seeds", "2",
        "--target-loss", "0.6"]                  # 2 policies x 3 rates x 2 seeds = 12 runs


def decided(argv, terminal, monkeypatch):
    monkeypatch.setattr(cli, "_on_terminal", lambda: terminal)
    return cli._progress(cli_flags.parse(argv))


@pytest.mark.parametrize("command", ["run", "compare", "tune"])
def test_the_default_is_a_delayed_bar_on_a_terminal_only(command, monkeypatch):
    assert decided([command], True, monkeypatch) == cli_flags.PROGRESS_AFTER == 2.0
    assert decided([command], False, monkeypatch) is False           # a pipe or a file
    assert decided([command, "--json"], True, monkeypatch) is False
    for terminal in (True, False):
        assert decided([command, "--progress"], terminal, monkeypatch) is True
        assert decided([command, "--progress", "--json"], terminal, monkeypatch) is True
        assert decided([command, "--no-progress"], terminal, monkeypatch) is False


def test_a_config_takes_a_delay_in_seconds():
    assert asynclab.Config(progress=2.5).progress == 2.5
    assert asynclab.Config(progress=0).progress is True            # after 0 s: at once
    assert asynclab.Config(progress=True).progress is True
    with pytest.raises(ValueError, match="progress must be True, False or a number of seconds >= 0, got -1"):
        asynclab.Config(progress=-1)


def test_a_delayed_bar_stays_hidden_while_the_run_is_short(capsys):
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200), gradients=200)
    asynclab.run(config, progress=3600.0)            # appears only after an hour
    assert capsys.readouterr().err == ""
    asynclab.run(config, progress=True)
    assert "200/200" in capsys.readouterr().err


def test_a_delayed_bar_whose_quick_updates_outlasted_the_delay_is_drawn_at_the_end(capsys):
    """tqdm draws only on an update at least 0.1 s after its last drawing: work whose
    updates all came sooner (a fast tune) showed no bar even when it lasted the delay."""
    from asynclab.backends.base import new_bar
    bar = new_bar(1e-6, total=3, desc="quick", unit="run")
    time.sleep(0.01)                                 # past the delay
    for _ in range(3):
        bar.update(1)
    bar.close()
    assert "quick: 100%" in capsys.readouterr().err
    bar = new_bar(3600.0, total=3, desc="hidden", unit="run")
    bar.update(3)
    bar.close()
    assert capsys.readouterr().err == ""


def in_a_terminal(code, timeout=120):
    """Run ``python -c code`` with stdout and stderr on a pseudo-terminal; its output."""
    master, slave = pty.openpty()
    # 24 rows of 120 columns, as a terminal has (a new pty has 0 columns: no room for a bar)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError as err:            # EIO: the child closed the terminal
            if err.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=timeout) == 0
    return b"".join(chunks).decode(errors="replace")


def cli_code(argv, after=None):
    """Python that runs the command line, with the default bar's delay set to ``after``."""
    delay = "" if after is None else f"asynclab.cli_flags.PROGRESS_AFTER = {after!r}; "
    return f"import asynclab.cli; {delay}raise SystemExit(asynclab.cli.main({argv!r}))"


# Real workers that sleep 20 ms per gradient: 60 gradients on 2 workers last at least
# 0.6 s of wall-clock time, however fast the machine, well past a 0.2 s delay.
LONG = ["--backend", "thread", "--workers", "2", "--gradients", "60", "--delay", "const:0.02",
        "--features", "20", "--examples", "200"]


def test_on_a_terminal_a_bar_appears_once_the_work_has_lasted_the_delay():
    out = in_a_terminal(cli_code(["run", *LONG], after=0.2))
    assert "async (thread): 100%" in out and "60/60" in out
    assert "async on thread: 2 workers" in out                         # and the summary


def test_on_a_terminal_a_short_run_prints_no_bar():
    out = in_a_terminal(cli_code(["run", *SMALL]))                     # 2 s: never reached
    assert "async on simulated" in out and "%|" not in out


def test_on_a_terminal_json_output_has_no_bar():
    out = in_a_terminal(cli_code(["run", "--json", *SMALL], after=1e-6))
    assert "%|" not in out and out.lstrip().startswith("{")


def test_in_a_pipe_there_is_no_bar_unless_forced():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    quiet = subprocess.run([sys.executable, "-c", cli_code(["run", *SMALL], after=1e-6)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == "" and "async on simulated" in quiet.stdout
    forced = subprocess.run([sys.executable, "-c", cli_code(["run", "--progress", *SMALL])],
                            capture_output=True, text=True, env=env, timeout=120)
    assert "200/200" in forced.stderr and "%|" not in forced.stdout


@pytest.mark.parametrize("command, jobs", [("tune", "1"), ("tune", "2"), ("compare", "1")])
def test_tune_and_compare_show_one_bar_over_their_runs(command, jobs, capsys):
    extra = ["--tune"] if command == "compare" else []
    assert main([command, *TUNE, *extra, "--progress", "--json", "--jobs", jobs]) == 0
    err = capsys.readouterr().err
    assert "12 runs: 100%" in err and "12/12" in err
    assert "(simulated)" not in err                     # no bar of its own for any run


def test_on_a_terminal_tune_shows_its_one_bar_after_the_delay():
    out = in_a_terminal(cli_code(["tune", *TUNE], after=1e-6))
    assert "12 runs: 100%" in out and "(simulated)" not in out and "best: " in out


def test_run_many_shows_one_bar_and_keeps_each_configs_progress(capsys):
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200),
                             gradients=100, progress=True)
    results = asynclab.run_many([config, config.replace(policy="sync")], seeds=2)
    err = capsys.readouterr().err
    assert "4 runs: 100%" in err and "(simulated)" not in err
    assert [r.config.progress for r in results] == [True] * 4
    quiet = asynclab.run_many([config.replace(progress=False)] * 2)
    assert capsys.readouterr().err == ""
    assert quiet[0].history.loss == results[0].history.loss       # progress changes no number
