"""The command line explains itself: every option has help that shows its default,
the top-level help has examples, and every example (there and in the README) runs
as written."""
import argparse
import json
import re
import shlex
from pathlib import Path

import pytest

from asynclab import cli_flags
from asynclab.cli import main
from asynclab.cli_flags import EXAMPLES, build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def options(parser):
    return [a for a in parser._actions if a.option_strings and a.dest != "help"]


def test_every_command_is_there_with_its_options():
    found = commands()
    assert set(found) == {"run", "compare", "tune", "validate", "calibrate", "quiz"}
    assert sum(len(options(p)) for p in found.values()) > 100


@pytest.mark.parametrize("name", ["run", "compare", "tune", "validate", "calibrate", "quiz"])
def test_every_option_has_help_that_shows_its_default(name):
    parser = commands()[name]
    formatter = parser._get_formatter()
    for action in options(parser):
        flag = "/".join(action.option_strings)
        assert action.help and len(action.help) > 10, (name, flag)
        shown = formatter._expand_help(action)      # what --help prints, defaults filled in
        takes_value = action.nargs != 0
        if takes_value:                      # a value's default is shown, or "none"
            assert "default" in shown, (name, flag, shown)
        default = action.default
        if default is not None and default is not False:
            expected = "unlimited" if default == float("inf") else str(default)
            fraction = re.search(r"default: (\d+)/(\d+)\)", shown)    # 2/3 for 0.666...
            assert f"default: {expected}" in shown or (
                fraction and abs(int(fraction[1]) / int(fraction[2]) - default) < 1e-12), (
                name, flag, shown)


def test_defaults_that_depend_on_the_problem_are_each_problems_own():
    shown = {a.dest: commands()["run"]._get_formatter()._expand_help(a)
             for a in options(commands()["run"])}
    assert "logistic 50" in shown["features"] and "least-squares 100" in shown["features"]
    assert "logistic 1000" in shown["examples"] and "mlp: all of the data set" in shown["examples"]
    assert "(default: 10)" in shown["nonzeros"] and "(default: 64)" in shown["hidden"]


def test_the_flags_of_fewer_rounds_and_no_server_show_their_defaults():
    shown = {a.dest: commands()["compare"]._get_formatter()._expand_help(a)
             for a in options(commands()["compare"])}
    assert "diloco:H" in shown["policy"] and "gossip" in shown["policy"]
    assert "(default: 0.7)" in shown["outer_lr"] and "(default: 0.9)" in shown["outer_momentum"]
    assert "ring or complete" in shown["topology"] and "(default: ring)" in shown["topology"]
    assert "dirichlet:ALPHA or shards:K" in shown["partition"]
    assert "(default: iid)" in shown["partition"]


def test_compare_gives_the_outer_flags_to_its_diloco_policies_only(capsys):
    assert main(["compare", "--policy", "local:2,diloco:2", "--outer-lr", "1",
                 "--outer-momentum", "0", "--gradients", "40", "--json"]) == 0
    local, diloco = json.loads(capsys.readouterr().out)
    assert local["final_loss"] == diloco["final_loss"]       # outer (1, 0): local:H itself
    assert main(["run", "--policy", "local:2", "--outer-lr", "1"]) == 2
    assert "outer_lr = 1.0 sets the outer optimiser of diloco:H" in capsys.readouterr().err


def test_the_help_texts_print(capsys):
    for argv in (["--help"], ["run", "--help"], ["compare", "--help"], ["tune", "--help"],
                 ["validate", "--help"], ["calibrate", "--help"], ["quiz", "--help"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--workers N           number of workers (default: 4)" in out
    assert "--overlap             a switch, no value" in out
    assert "--backends LIST       real backends to run the matrix on" in out
    assert "(default: thread,process)" in out and "RESULT" in out
    assert "--compress FORM       what a push carries: none, topk:F" in out
    assert "(default: on for topk and randk, off for qsgd)" in " ".join(out.split())


def test_the_top_level_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and out.count("\n  asynclab ") >= 5


def example_lines(text):
    """The command lines that start with 'asynclab' in ``text`` (continuations joined,
    comments and trailing descriptions dropped)."""
    text = re.sub(r"\s*\\\n\s*", " ", text)      # a continued line, joined with one space
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("asynclab "):
            line = line.split("#")[0]
            found.append(re.split(r"\s{2,}", line.strip())[0])   # "  what it does" after it
    return found


@pytest.mark.parametrize("line", example_lines(EXAMPLES))
def test_every_help_example_runs_and_tunes_inside_its_grid(line, capsys):
    assert main(shlex.split(line)[1:]) == 0, line
    out = capsys.readouterr().out
    assert out
    if line.startswith(("asynclab tune", "asynclab compare")):
        assert "edge of the grid" not in out, out


def readme_examples():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Command line"):text.index("## Tests and benchmarks")]
    block = section.split("```")[1]
    lines = example_lines(block)
    # Inline examples in the prose, without placeholders such as DIR_OR_NPZ.
    for code in re.findall(r"`(asynclab [^`]+)`", section.replace("\n", " ")):
        if not re.search(r"\b[A-Z_]{3,}\b", code) and "--help" not in code:
            lines.append(code)
    return lines


def test_the_readme_has_the_examples_it_should():
    lines = readme_examples()
    assert len(lines) >= 8
    assert any(" --tune " in line for line in lines if line.startswith("asynclab compare"))


@pytest.mark.parametrize("line", readme_examples())
def test_every_readme_command_line_example_runs_as_written(line, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)               # where runs.png and run.json go
    code = main(shlex.split(line)[1:])
    out, err = capsys.readouterr()
    assert code == 0, (line, err)
    if line.startswith(("asynclab tune", "asynclab compare")):
        assert "edge of the grid" not in out, out
    if line.startswith("asynclab tune") and "--json" in line:
        assert not any(t["at_edge"] for t in json.loads(out).values()), out


def test_overlap_is_a_switch_and_a_value_after_it_is_refused_with_the_hint(capsys):
    parser = commands()["run"]
    overlap = next(a for a in options(parser) if a.dest == "overlap")
    assert overlap.nargs == 0 and "--overlap [" not in parser.format_usage()
    for argv in (["run", "--overlap", "0.3"], ["run", "--overlap=0.3"],
                 ["run", "--lr", "0.3", "--overlap", "0.3"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.strip() == ("asynclab: error: --overlap takes no value, got '0.3' (the "
                               "sparse-logistic problem's share of hot features is "
                               "--feature-overlap)"), err
    assert main(["run", "--bogus", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "asynclab: error: unrecognized arguments: --bogus 1 (see 'asynclab run --help')")


def test_tune_and_compare_share_their_many_runs_flags():
    shared = {a.dest for a in options(commands()["tune"])}
    compare = {a.dest for a in options(commands()["compare"])}
    assert {"seeds", "lrs", "metric", "jobs"} <= shared <= compare
    assert compare - shared == {"tune", "plot", "window", "report_seeds", "baseline"}
    assert cli_flags.many_runs_flags.__doc__


def test_the_readme_validate_and_calibrate_examples_run_in_order(tmp_path, monkeypatch, capsys):
    """The Command line section's second block, line by line in one folder (run --save
    writes the file calibrate reads). validate's matrix and reference shrink to one
    tiny run each here: the real matrix takes minutes (tests/test_validation.py)."""
    import asynclab
    from asynclab import validation
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Command line"):text.index("## Tests and benchmarks")]
    lines = example_lines(section.split("```")[3])
    assert [line.split()[1] for line in lines] == ["validate", "validate", "run", "calibrate"]
    tiny = asynclab.Config(problem=asynclab.Logistic(features=10, examples=100), workers=2,
                           gradients=12, compute="const:0.003", latency=0.001, eval_points=2)
    monkeypatch.setattr(validation, "matrix", lambda quick=False: validation.Matrix([tiny], []))
    monkeypatch.setattr(validation, "REFERENCE", tiny.replace(seed=1, gradients=24))
    monkeypatch.chdir(tmp_path)
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0, (line, capsys.readouterr().err)
    assert "asynclab.Config(" in capsys.readouterr().out
