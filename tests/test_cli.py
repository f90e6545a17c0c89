import json
import subprocess
import sys

import pytest

import asynclab
from asynclab.cli import main

FIELDS = {"policy", "backend", "workers", "problem", "seed", "time", "updates", "gradients",
          "final_loss", "initial_loss", "mean_staleness", "max_staleness", "idle_fraction",
          "comm_fraction", "compute_fraction", "gradients_per_second", "diverged",
          "failed_workers"}
SMALL = ["--features", "20", "--examples", "200", "--gradients", "200"]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_json_has_the_contract_fields(capsys):
    code, out, _ = run_cli(capsys, "run", "--policy", "ssp:2", "--backend", "simulated",
                           "--workers", "3", "--problem", "logistic", "--lr", "0.5",
                           "--seed", "7", "--compute", "lognormal:1:0.5", "--latency", "0.1",
                           "--bandwidth", "1e6", "--straggler", "0.1:4", "--json", *SMALL)
    assert code == 0
    summary = json.loads(out)
    assert FIELDS <= set(summary)
    assert summary["policy"] == "ssp:2" and summary["workers"] == 3 and summary["seed"] == 7
    assert summary["gradients"] == 200 and summary["comm_fraction"] > 0


def test_old_command_lines_keep_every_old_field_and_value(capsys, request):
    """Summaries written by the engine before issue 11 (tests/golden, the first five,
    on the problem that was the default then: --features 1000 --examples 2000):
    without the new flags, every field they had keeps its value; the new fractions
    are added. The last five are the same command lines on today's default problem
    (logistic, 50 features, 1,000 examples), written when it became the default."""
    cases = json.loads((request.path.parent / "golden" / "cli_summaries.json").read_text())
    for case in cases:
        code, out, _ = run_cli(capsys, "run", "--json", *case["args"])
        summary = json.loads(out)
        assert code == 0
        for key, value in case["summary"].items():
            if key == "per_worker":
                assert {k: summary[key][k] for k in value} == value, case["args"]
            else:
                assert summary[key] == value, (case["args"], key)
        assert {"wait_fraction", "queue_fraction", "transfer_fraction",
                "overlap_fraction"} <= set(summary)


@pytest.mark.parametrize("args, needle", [
    (["--policy", "sync", "--buckets", "4"], "buckets = 4 needs overlap=True"),
    (["--policy", "async", "--overlap", "--buckets", "2"], "not 'async': async, ssp:S and"),
    (["--policy", "sync", "--overlap", "--backward-fraction", "0"],
     "backward_fraction must be in (0, 1], got 0.0"),
    (["--policy", "sync", "--overlap", "--buckets", "0"], "buckets must be at least 1, got 0"),
    (["--policy", "sync", "--overlap", "--buckets", "51"],
     "buckets must be at most the problem's 50 parameters, got 51"),
    (["--server-bandwidth", "0"], "server_bandwidth must be greater than 0, got 0.0"),
    (["--server-bandwidth", "-5"], "server_bandwidth must be greater than 0"),
    (["--latency", "exp:-1"], "latency must be a number of seconds >= 0, or a law"),
    (["--latency", "fast"], "got 'fast'"),
    (["--overlap", "0.3"], "--overlap takes no value"),
    (["--feature-overlap", "0.3"], "--feature-overlap does not apply to problem 'logistic'"),
])
def test_bad_communication_input_exits_2_with_one_line(capsys, args, needle):
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2 and out == "" and needle in err, err
    assert len(err.strip().splitlines()) == 1


def test_allreduce_with_backups_is_refused():
    with pytest.raises(ValueError, match="a ring all-reduce averages every worker's gradient"):
        asynclab.Config(policy=asynclab.Policy("allreduce", bound=0, aggregate=True, ring=True,
                                               backups=1), workers=3)


def test_run_is_reproducible_from_the_command_line(capsys):
    a = run_cli(capsys, "run", "--json", *SMALL)[1]
    b = run_cli(capsys, "run", "--json", *SMALL)[1]
    c = run_cli(capsys, "run", "--json", "--seed", "1", *SMALL)[1]
    assert a == b != c


def test_text_summary_is_readable(capsys):
    code, out, _ = run_cli(capsys, "run", "--policy", "sync", "--target-loss", "0.5", *SMALL)
    assert code == 0
    assert "sync on simulated" in out and "time to target" in out and "idle" in out


def summary_rows(out):
    """{label: text} of a run's text summary (labels fill a fixed-width column)."""
    from asynclab.cli_text import LABEL
    return {line[2:2 + LABEL].strip(): line[2 + LABEL:] for line in out.splitlines()[1:]}


def test_text_summary_says_what_was_run_and_gives_times_with_units(capsys):
    args = ["run", "--policy", "ssp:2", "--lr", "0.3", "--batch", "16", "--latency",
            "exp:0.05", "--straggler", "0.1:5", "--target-loss", "0.5", *SMALL]
    code, out, _ = run_cli(capsys, *args)
    rows = summary_rows(out)
    assert code == 0
    assert rows["settings"] == "lr 0.3, batch 16, momentum 0, budget 200 gradients"
    assert rows["problem"] == "logistic: 20 parameters, 200 training examples, 50 held out"
    assert rows["cluster"] == ("compute exp:1 s per gradient, stragglers 0.1:5, "
                               "latency exp:0.05 s")
    summary = json.loads(run_cli(capsys, *args, "--json")[1])
    from asynclab.durations import reading
    assert rows["time"] == reading(summary["time"], "simulated") == "88.37 simulated s (1 min 28 s)"
    assert rows["time to target"] == reading(summary["time_to_target"], "simulated") + (
        " (loss 0.5)")
    assert rows["gradients/s"].endswith(" per simulated s")
    assert "e+" not in out and "e-" not in out    # plain numbers, no exponents


def test_a_long_simulated_time_reads_in_hours(capsys):
    code, out, _ = run_cli(capsys, "run", "--compute", "const:100", *SMALL)
    assert code == 0 and summary_rows(out)["time"] == "5,000 simulated s (1 h 23 min)"


def test_the_default_problem_is_the_lessons_logistic_problem(capsys):
    """The default a newcomer meets (50 features, 1,000 examples) is the one the lessons
    use, from the command line and from Python alike, and it learns: held-out
    accuracy near what a fully fitted model gets (89.6%; with 1,000 features it
    was 74.8%)."""
    assert asynclab.Config().problem == asynclab.Logistic(features=50, examples=1000)
    assert asynclab.make_problem("logistic") == asynclab.Config().problem
    summary = json.loads(run_cli(capsys, "run", "--json")[1])
    assert summary == asynclab.run().to_dict()["summary"]
    assert summary["problem"] == "logistic" and summary["final_accuracy"] > 0.85


def test_compare_prints_a_table_and_writes_plots(capsys, tmp_path):
    png = tmp_path / "cmp.png"
    code, out, _ = run_cli(capsys, "compare", "--policy", "sync,async,backup:1", "--plot",
                           str(png), *SMALL)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["policy", "lr", "time"]
    assert [l.split()[0] for l in lines[2:5]] == ["sync", "async", "backup:1"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_table_columns_carry_units(capsys):
    code, out, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--target-loss", "0.6",
                           *SMALL)
    names, units = out.splitlines()[:2]

    def unit_of(name):     # the text under the column's name (columns are right-aligned)
        end = names.index(name) + len(name)
        return units[:end].split("  ")[-1].strip()
    assert unit_of("time") == "simulated s" and unit_of("to target") == "simulated s"
    assert unit_of("staleness") == "updates" and unit_of("gradients") == "per simulated s"
    assert unit_of("final loss") == "training" and unit_of("accuracy") == "validation"


def test_compare_json_is_a_list_of_summaries(capsys):
    code, out, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--json", *SMALL)
    assert [s["policy"] for s in json.loads(out)] == ["sync", "async"]


@pytest.mark.parametrize("args, needle", [
    (["--workers", "0"], "workers must be at least 1, got 0"),
    (["--lr", "-0.1"], "lr must be greater than 0, got -0.1"),
    (["--policy", "fastest"], "unknown policy 'fastest'"),
    (["--policy", "ssp:x"], "unknown policy 'ssp:x'"),
    (["--problem", "mnist"], "unknown problem 'mnist'"),
    (["--compute", "normal:1"], "bad distribution 'normal:1'"),
    (["--compute", "exp:-1"], "bad distribution 'exp:-1'"),
    (["--straggler", "0.5"], "straggler must look like PROB:FACTOR, got '0.5'"),
    (["--fail", "7:10"], "fail '7:10'"),
    (["--backend", "gpu"], "unknown backend 'gpu'"),
    (["--workers", "two"], "invalid int value: 'two'"),
    (["--policy", "backup:4"], "allowed: B < workers"),
])
def test_bad_input_exits_2_with_one_line(capsys, args, needle):
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "Traceback" not in err


def test_sync_that_loses_a_worker_exits_1_naming_it(capsys):
    code, _, err = run_cli(capsys, "run", "--policy", "sync", "--fail", "1:20", *SMALL)
    assert code == 1 and "worker 1" in err and len(err.strip().splitlines()) == 1


def test_async_survives_a_lost_worker_and_lists_it(capsys):
    code, out, _ = run_cli(capsys, "run", "--policy", "async", "--fail", "1:20", "--json",
                           *SMALL)
    assert code == 0 and json.loads(out)["failed_workers"] == [1]


def test_console_script_and_module_entry_point():
    for cmd in ([sys.executable, "-m", "asynclab"],):
        done = subprocess.run([*cmd, "run", "--workers", "0"], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2 and "workers must be at least 1" in done.stderr
        done = subprocess.run([*cmd, "run", "--json", *SMALL], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and json.loads(done.stdout)["gradients"] == 200


def test_quiz_list_json_is_the_bank_without_answers(capsys):
    code, out, _ = run_cli(capsys, "quiz", "--list", "--json")
    questions = json.loads(out)
    assert code == 0 and len(questions) >= 15
    ids = [q["id"] for q in questions]
    assert len(ids) == len(set(ids))
    for q in questions:
        assert {"id", "lesson", "kind", "question", "options"} <= set(q)
        assert q["kind"] in ("single", "multiple", "numeric")
        assert all(set(o) >= {"text", "explanation"} and o["explanation"] for o in q["options"])
    main_benefit = [q for q in questions
                    if q["question"].startswith("What is the main benefit of Asynchronous")]
    assert len(main_benefit) == 1 and main_benefit[0]["lesson"] == 3


def test_quiz_list_for_a_lesson_without_questions_is_a_usage_error(capsys):
    code, out, err = run_cli(capsys, "quiz", "--list", "--lesson", "99")
    assert code == 2 and "no questions for lesson 99" in err


def test_broken_pipe_is_quiet():
    done = subprocess.run(f"'{sys.executable}' -m asynclab quiz --list --json | head -c 10",
                          shell=True, capture_output=True, text=True, timeout=60)
    assert done.stderr == ""


@pytest.mark.parametrize("args, needle", [
    (["--backend", "ray", "--policy", "sync", "--ray-batch", "3"], "ray_batch=3 needs a policy"),
    (["--backend", "ray", "--address", "not an address"], "address must be"),
    (["--backend", "ray", "--policy", "hogwild"], "the ray backend allows"),
    (["--ray-nodes", "2"], "ray_nodes starts a local Ray cluster: it needs backend='ray'"),
    (["--backend", "ray", "--ray-nodes", "2", "--address", "auto"],
     "ray_nodes starts a local cluster of its own"),
    (["--backend", "ray", "--ray-nodes", "0"], "ray_nodes must be at least 1, got 0"),
    (["--backend", "ray", "--ray-nodes", "x"], "argument --ray-nodes: invalid int value: 'x'"),
    (["--backend", "ray", "--ray-nodes", "20", "--workers", "20"], "ray_nodes must be at most 8"),
    (["--backend", "ray", "--fail-node", "0:5"], "fail_node '0:5' needs ray_nodes"),
    (["--backend", "ray", "--ray-nodes", "2", "--fail-node", "2:5"], "NODE must be 0..1"),
    (["--backend", "ray", "--ray-nodes", "2", "--fail-node", "1:1000"],
     "GRADIENTS must be less than gradients (1000)"),
])
def test_backend_specific_bad_input_exits_2_before_anything_starts(capsys, args, needle):
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_a_missing_optional_package_is_one_line(capsys, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_ray)
    code, _, err = run_cli(capsys, "run", "--backend", "ray", *SMALL)
    assert code == 2 and "pip install 'ray>=2.9'" in err
    assert len(err.strip().splitlines()) == 1


MLP_ARGS = ["--problem", "mlp", "--dataset", "digits", "--hidden", "16,8", "--activation",
            "tanh", "--gradients", "600", "--lr", "0.1", "--momentum", "0.5"]


def test_mlp_run_reports_accuracy(capsys):
    code, out, _ = run_cli(capsys, "run", "--json", "--target-accuracy", "0.5", *MLP_ARGS)
    summary = json.loads(out)
    assert code == 0 and summary["problem"] == "mlp" and summary["final_accuracy"] > 0.5
    assert summary["time_to_accuracy"] > 0 and summary["final_validation_accuracy"] > 0.5
    code, out, _ = run_cli(capsys, "run", "--target-accuracy", "0.5", *MLP_ARGS)
    assert (f"accuracy            validation {summary['final_validation_accuracy']:.2%}, "
            f"test {summary['final_accuracy']:.2%}") in out
    from asynclab.durations import reading
    assert (f"time to accuracy    {reading(summary['time_to_accuracy'], 'simulated')} "
            "(validation accuracy 0.5)") in out
    code, out, _ = run_cli(capsys, "run", "--json", "--problem", "logistic", "--dataset",
                           "digits", "--gradients", "300", "--lr", "0.5")
    assert json.loads(out)["problem"] == "logistic" and json.loads(out)["final_accuracy"] > 0.8


def test_compare_on_a_classifier_adds_accuracy_to_the_table_and_the_plot(capsys, tmp_path):
    png = tmp_path / "cmp.png"
    code, out, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--plot", str(png),
                           "--target-accuracy", "0.5", *MLP_ARGS)
    head, units = out.splitlines()[:2]
    assert code == 0 and head.split().count("accuracy") >= 3 and "to accuracy" in head
    assert "validation" in units and "test" in units
    import matplotlib.image
    height = matplotlib.image.imread(png).shape[0]
    run_cli(capsys, "compare", "--policy", "sync,async", "--plot", str(png), "--problem",
            "least-squares", *SMALL)
    assert height > matplotlib.image.imread(png).shape[0]     # one more panel: accuracy


# -- tune, jobs, windows -----------------------------------------------------------------------
TUNE = ["--features", "20", "--examples", "200", "--gradients", "300", "--target-loss", "0.45"]


def test_tune_json_has_each_policys_best_rate_and_every_row(capsys):
    import asynclab
    code, out, err = run_cli(capsys, "tune", "--policy", "sync,async", "--lrs", "0.1,0.5,2",
                             "--seeds", "2", "--json", *TUNE)
    assert code == 0, err
    found = json.loads(out)
    assert set(found) == {"sync", "async"}
    for policy, t in found.items():
        assert [row["lr"] for row in t["rows"]] == [0.1, 0.5, 2.0]
        for row in t["rows"]:
            assert {"lr", "mean", "ci_low", "ci_high", "ok"} <= set(row) and row["ok"] <= 2
        assert t["lr"] in (0.1, 0.5, 2.0) and t["seeds"] == [0, 1]
        config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200),
                                 gradients=300, target_loss=0.45)
        same = asynclab.tune(config, policy=policy, lrs=[0.1, 0.5, 2], seeds=2)
        assert t == same.to_dict()                 # the command line is the library
    _, again, _ = run_cli(capsys, "tune", "--policy", "sync,async", "--lrs", "0.1,0.5,2",
                          "--seeds", "2", "--json", "--jobs", "2", *TUNE)
    assert json.loads(again) == found              # same seeds, same numbers, in parallel too


def test_tune_text_names_the_best_rates_and_seeds_start_at_seed(capsys):
    code, out, _ = run_cli(capsys, "tune", "--policy", "async", "--lrs", "0.5,2", "--seeds", "2",
                           "--seed", "4", *TUNE)
    assert code == 0 and "seeds 4, 5" in out and out.strip().splitlines()[-1].startswith(
        "best: async at lr ")


def test_tune_text_gives_the_unit_of_its_times(capsys):
    code, out, _ = run_cli(capsys, "tune", "--policy", "async", "--lrs", "0.5,2", "--seeds", "2",
                           "--json", *TUNE)
    best = json.loads(out)["async"]
    mean = next(row["mean"] for row in best["rows"] if row["lr"] == best["lr"])
    code, out, _ = run_cli(capsys, "tune", "--policy", "async", "--lrs", "0.5,2", "--seeds", "2",
                           *TUNE)
    from asynclab.durations import reading
    assert code == 0 and out.startswith("Times in simulated s.\n")
    assert out.strip().splitlines()[-1] == (f"best: async at lr {best['lr']:g}, time to target "
                                            f"{reading(mean, 'simulated')}")
    code, out, _ = run_cli(capsys, "tune", "--policy", "async", "--lrs", "0.5,2", "--seeds", "2",
                           "--metric", "final_loss", *TUNE)
    assert code == 0 and not out.startswith("Times") and ", final loss 0." in out


def test_compare_in_parallel_prints_the_same_table(capsys, tmp_path):
    _, serial, _ = run_cli(capsys, "compare", "--policy", "sync,async", *SMALL)
    _, parallel, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--jobs", "2", *SMALL)
    assert serial == parallel
    png = tmp_path / "zoom.png"
    code, _, _ = run_cli(capsys, "compare", "--policy", "sync", "--plot", str(png),
                         "--window", "10:20", *SMALL)
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, needle", [
    (["tune", "--lrs", "", "--target-loss", "0.4"], "lrs must be a non-empty list"),
    (["tune", "--lrs", "0.1,-2", "--target-loss", "0.4"], "lr must be greater than 0, got -2.0"),
    (["tune", "--lrs", "0,1", "--target-loss", "0.4"], "lr must be greater than 0, got 0.0"),
    (["tune", "--lrs", "a,b", "--target-loss", "0.4"], "--lrs must be numbers separated by commas"),
    (["tune", "--seeds", "0", "--target-loss", "0.4"], "seeds must be at least 1, got 0"),
    (["tune", "--jobs", "0", "--target-loss", "0.4"], "jobs must be at least 1, got 0"),
    (["compare", "--jobs", "-1"], "jobs must be at least 1, got -1"),
    (["tune", "--metric", "accuracy", "--target-loss", "0.4"], "unknown metric 'accuracy'"),
    (["tune"], "metric 'time_to_target' needs a target"),
    (["tune", "--backend", "thread", "--jobs", "2", "--target-loss", "0.4"],
     "only simulated runs go to worker processes"),
    (["compare", "--window", "5:1", "--plot", "x.png"], "window must have finite T0 < T1"),
    (["compare", "--window", "5", "--plot", "x.png"], "window must look like T0:T1"),
    (["run", "--chrome-trace", "/nonexistent-dir/t.json"], "cannot write the trace"),
    (["compare", "--plot", "/nonexistent-dir/x.png"],
     "cannot write the plot to '/nonexistent-dir/x.png': its folder does not exist"),
    (["compare", "--policy", ","], "--policy must name at least one policy, got ','"),
    (["compare", "--policy", "sync,async,sync"], "--policy lists 'sync' twice"),
    (["tune", "--policy", "", "--target-loss", "0.4"], "--policy must name at least one"),
    (["tune", "--policy", "ssp:1,ssp:1", "--target-loss", "0.4"], "lists 'ssp:1' twice"),
])
def test_bad_tune_and_export_input_exits_2_with_one_line(capsys, args, needle):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_a_plot_that_cannot_be_written_is_refused_before_running(capsys, tmp_path, monkeypatch):
    import asynclab.parallel
    monkeypatch.setattr(asynclab.parallel, "_run_one", lambda config: pytest.fail("it ran"))
    code, out, err = run_cli(capsys, "compare", "--plot", str(tmp_path / "x.foo"), *SMALL)
    assert code == 2 and out == "" and "its extension must name an image format (" in err
    assert len(err.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_a_plot_that_fails_while_written_is_one_line_and_leaves_nothing(
        capsys, tmp_path, monkeypatch):
    import errno
    from matplotlib.figure import Figure

    def disk_full(fig, f, **kwargs):
        f.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", disk_full)
    png = tmp_path / "cmp.png"
    code, _, err = run_cli(capsys, "compare", "--policy", "sync", "--plot", str(png), *SMALL)
    assert code == 2 and err.strip() == (f"asynclab: error: cannot write the plot to "
                                         f"{str(png)!r}: No space left on device")
    assert not list(tmp_path.iterdir())


# -- fair comparisons: momenta, report seeds, a paired baseline ---------------------------------

def test_tune_momenta_json_carries_each_policys_rate_and_momentum(capsys):
    code, out, err = run_cli(capsys, "tune", "--policy", "sync,async", "--lrs", "0.5,2",
                             "--momenta", "0,0.5", "--seeds", "2", "--json", *TUNE)
    assert code == 0, err
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200),
                             gradients=300, target_loss=0.45)
    for policy, t in json.loads(out).items():
        same = asynclab.tune(config, policy=policy, lrs=[0.5, 2], momenta=[0, 0.5], seeds=2)
        assert t == same.to_dict()                 # the command line is the library
        assert (t["lr"], t["momentum"]) == (same.best_lr, same.best_momentum)
        assert [(row["lr"], row["momentum"]) for row in t["rows"]] == [
            (0.5, 0.0), (2.0, 0.0), (0.5, 0.5), (2.0, 0.5)]
    code, text, _ = run_cli(capsys, "tune", "--policy", "sync", "--lrs", "0.5,2", "--momenta",
                            "0,0.5", "--seeds", "2", *TUNE)
    header = next(line for line in text.splitlines() if line.split()[:1] == ["lr"])
    assert code == 0 and header.split()[:3] == ["lr", "momentum", "mean"]
    assert ", momentum " in text.strip().splitlines()[-1]


def test_compare_with_a_baseline_gives_paired_ratios(capsys):
    code, out, err = run_cli(capsys, "compare", "--policy", "sync,async", "--baseline", "sync",
                             "--json", *TUNE)
    assert code == 0, err
    entries = json.loads(out)
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200),
                             gradients=300, target_loss=0.45)
    same = asynclab.compare("sync,async", config, seeds=3, baseline="sync")
    assert entries == [r.to_dict() for r in same.values()]
    assert "paired" not in entries[0] and entries[1]["paired"]["baseline"] == "sync"
    assert {"lr", "momentum", "seeds"} <= set(entries[1])
    code, text, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--baseline", "sync",
                            *TUNE)
    assert code == 0 and text.strip().splitlines()[-1].startswith(
        "time_to_target of async / sync: ")


@pytest.mark.parametrize("args, needle", [
    (["tune", "--momenta", "0,1"], "momenta must each be in [0, 1), got 1.0"),
    (["tune", "--momenta", "-0.5"], "momenta must each be in [0, 1), got -0.5"),
    (["tune", "--momenta", "a"], "--momenta must be numbers separated by commas, got 'a'"),
    (["tune", "--momenta", ","], "momenta must be a non-empty list"),
    (["compare", "--momenta", "0,0.5"], "--momenta goes with --tune"),
    (["compare", "--report-seeds", "3"], "--report-seeds goes with --tune"),
    (["compare", "--tune", "--report-seeds", "1,x"], "--report-seeds must be a count K or seeds"),
    (["compare", "--baseline", "ssp:2"], "baseline 'ssp:2' must be one of the policies "
                                         "compared: sync, async"),
    (["compare", "--baseline", "bogus"], "unknown policy 'bogus'"),
])
def test_bad_fairness_input_exits_2_with_one_line(capsys, args, needle):
    code, out, err = run_cli(capsys, *args, "--target-loss", "0.4")
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_compare_baseline_needs_a_target(capsys):
    code, out, err = run_cli(capsys, "compare", "--baseline", "sync")
    assert code == 2 and "needs a target: set target_loss (--target-loss)" in err


# -- compare: fair comparisons, the warning, units ------------------------------------------
def test_compare_warns_in_one_line_when_policies_share_an_untuned_rate(capsys):
    code, out, err = run_cli(capsys, "compare", "--policy", "sync,async", *SMALL)
    assert code == 0 and len(err.splitlines()) == 1
    assert err.startswith("asynclab: warning: every policy ran at the same untuned rate "
                          "(--lr 0.1)") and "--tune" in err
    code, out, err = run_cli(capsys, "compare", "--policy", "sync,async", "--json", *SMALL)
    assert code == 0 and len(json.loads(out)) == 2 and "warning" in err   # stdout stays JSON
    code, _, err = run_cli(capsys, "compare", "--policy", "sync,async", "--seeds", "2", *SMALL)
    assert code == 0 and "untuned rate" in err              # several seeds, still one rate
    for args in (["--policy", "async"],
                 ["--tune", "--lrs", "0.5,1", "--seeds", "2", "--target-loss", "0.6"]):
        code, _, err = run_cli(capsys, "compare", *args, *SMALL)
        assert code == 0 and err == "", args


def test_compare_tune_is_the_library_compare(capsys):
    code, out, err = run_cli(capsys, "compare", "--policy", "sync,async", "--tune", "--lrs",
                             "0.1,0.5,2", "--seeds", "2", "--json", *TUNE)
    assert code == 0, err
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200),
                             gradients=300, target_loss=0.45)
    same = asynclab.compare(["sync", "async"], config, seeds=2, tune=True, lrs=[0.1, 0.5, 2])
    assert json.loads(out) == json.loads(json.dumps([r.to_dict() for r in same.values()]))
    found = {r["policy"]: r for r in json.loads(out)}
    assert found["sync"]["tuning"]["lr"] == found["sync"]["lr"]
    assert found["async"]["seeds"] == [2, 3] and found["async"]["summary"]["time"]["n"] == 2
    assert found["async"]["tuning"]["seeds"] == [0, 1]      # tuned on 0, 1; reported on 2, 3
    _, again, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--tune", "--lrs",
                          "0.1,0.5,2", "--seeds", "2", "--json", "--jobs", "2", *TUNE)
    assert again == out                           # in worker processes: the same numbers


def test_compare_tune_text_shows_each_policys_rate_means_and_intervals(capsys):
    code, out, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--tune", "--lrs",
                           "0.1,0.5", "--seeds", "3", *TUNE)
    lines = out.splitlines()
    names = lines[0].split()
    assert code == 0 and names[:3] == ["policy", "lr", "seeds"] and "reached" in names
    config = asynclab.Config(problem=asynclab.Logistic(features=20, examples=200),
                             gradients=300, target_loss=0.45)
    same = asynclab.compare(["sync", "async"], config, seeds=3, tune=True, lrs=[0.1, 0.5])
    for line, (policy, runs) in zip(lines[2:4], same.items()):
        cells = line.split()
        assert cells[:3] == [policy, f"{runs.config.lr:g}", "3"]
        time = runs.summary["time"]
        from asynclab.durations import seconds
        assert f"{seconds(time.mean)} [{seconds(time.low, 3)}, {seconds(time.high, 3)}]" in line
    assert "Means over the seeds" in out
    edge = [f"{p}: lr {r.config.lr:g} is the best of 0.1, 0.5 by time_to_target: at the edge"
            for p, r in same.items() if r.tuning.at_edge]
    assert edge and all(note in out for note in edge)


def test_compare_with_seeds_runs_each_policy_at_its_lr_with_every_seed(capsys):
    code, out, _ = run_cli(capsys, "compare", "--policy", "sync,async", "--seeds", "3",
                           "--lr", "0.5", "--json", *SMALL)
    runs = json.loads(out)
    assert code == 0 and [r["lr"] for r in runs] == [0.5, 0.5]
    assert all(r["seeds"] == [0, 1, 2] and "tuning" not in r for r in runs)


def test_real_backends_say_their_times_are_wall_clock_seconds(capsys):
    code, out, _ = run_cli(capsys, "run", "--backend", "thread", "--workers", "2",
                           "--gradients", "40", "--features", "20", "--examples", "200")
    rows = summary_rows(out)
    assert code == 0 and "wall-clock s" in rows["time"] and "simulated" not in out
    assert rows["gradients/s"].endswith("per wall-clock s")


@pytest.mark.parametrize("args, needle", [
    (["compare", "--lrs", "0.1"], "--lrs goes with --tune; without it every policy runs at --lr"),
    (["compare", "--metric", "final_loss"], "--metric goes with --tune"),
    (["compare", "--tune"], "metric 'time_to_target' needs a target"),
    (["compare", "--seeds", "0"], "seeds must be at least 1, got 0"),
    (["compare", "--tune", "--seeds", "0", "--target-loss", "0.4"], "seeds must be at least 1"),
    (["compare", "--tune", "--lrs", "a", "--target-loss", "0.4"], "--lrs must be numbers"),
    (["compare", "--tune", "--metric", "speed", "--target-loss", "0.4"], "unknown metric"),
    (["compare", "--seeds", "20000"], "seeds must be at most 10,000"),
    (["run", "--seeds", "2"], "unrecognized arguments: --seeds 2"),
    (["run", "--tune"], "unrecognized arguments: --tune"),
    (["run", "--progress=1"], "ignored explicit argument '1'"),
    (["tune", "--tune"], "unrecognized arguments: --tune"),
])
def test_bad_fair_comparison_input_exits_2_with_one_line(capsys, args, needle):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
