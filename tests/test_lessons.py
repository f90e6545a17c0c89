"""The lessons: notebooks match their sources, follow the course's shape, and the
build runs them in a clean environment and writes nothing when a cell fails.

(nbval checks the stored outputs themselves: pytest --nbval lessons/.)
"""
import json
import os
import re
from pathlib import Path

import pytest
from helpers import load_build

from asynclab.course import questions

jupytext = pytest.importorskip("jupytext")
pytest.importorskip("nbclient")

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
SOURCES = sorted((LESSONS / "src").glob("[0-9][0-9]_*.py"))


def notebook(source):
    return json.loads((LESSONS / f"{source.stem}.ipynb").read_text(encoding="utf-8"))


def test_every_source_has_its_notebook_and_lessons_00_to_04_exist():
    numbers = [s.name[:2] for s in SOURCES]
    assert numbers[:5] == ["00", "01", "02", "03", "04"]
    stored = sorted(p.stem for p in LESSONS.glob("[0-9][0-9]_*.ipynb"))
    assert stored == [s.stem for s in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_notebook_was_rebuilt_from_its_current_source(source):
    expected = [(c.cell_type, c.source) for c in jupytext.read(source).cells]
    stored = [(c["cell_type"], "".join(c["source"])) for c in notebook(source)["cells"]]
    assert stored == expected, "run: python lessons/build.py " + source.name[:2]


QUESTIONS_PER_LESSON = 5         # at least; the course has at least 60 (issue 14)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_lesson_shape_objectives_prerequisites_time_quizzes_exploration_summary(source):
    text = source.read_text(encoding="utf-8")
    lesson = int(source.name[:2])
    first = text.split("# %%\n")[0]
    assert first.startswith(f"# %% [markdown]\n# # {lesson:02d} · ")
    assert "By the end of this lesson" in first
    assert re.search(r"\*\*Prerequisites:\*\* \S", first), "a Prerequisites line"
    assert re.search(r"\*\*Time:\*\* about \d+ minutes", first), "a Time line"
    assert "## Summary" in text
    asked = re.findall(r'quiz\.ask\("([^"]+)"\)', text)
    assert len(asked) >= QUESTIONS_PER_LESSON
    bank = [q.id for q in questions.bank().values() if q.lesson == lesson]
    assert sorted(asked) == sorted(bank), "each of the lesson's questions is asked once"
    assert "explore(" in text or "replay(" in text
    assert "exercise.solution(" not in text, "worked solutions stay out of the notebook"
    titles = [line for cell in notebook(source)["cells"] if cell["cell_type"] == "markdown"
              for line in "".join(cell["source"]).splitlines() if line.startswith("# ")]
    assert len(titles) == 1, f"one title (H1) per lesson, got {titles}"


def test_the_bank_has_at_least_60_questions_and_every_option_explained():
    bank = list(questions.bank().values())
    assert len(bank) >= 60
    for q in bank:
        assert all(o.explanation.strip() for o in q.options), q.id


def test_every_exercise_is_posed_in_its_lesson():
    from asynclab.course import exercise
    for e in exercise.EXERCISES.values():
        source = next(s for s in SOURCES if int(s.name[:2]) == e.lesson)
        text = source.read_text(encoding="utf-8")
        assert f'exercise.check("{e.id}"' in text, f"{e.id} is not checked in {source.name}"


def test_lesson_03_has_the_course_question_and_the_replay():
    text = next(s for s in SOURCES if s.name.startswith("03")).read_text(encoding="utf-8")
    assert 'quiz.ask("03-main-benefit")' in text and "replay(" in text


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_stored_outputs_are_complete_clean_and_small(source):
    nb = notebook(source)
    size = (LESSONS / f"{source.stem}.ipynb").stat().st_size
    assert size < 1_500_000
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert cell["execution_count"] is not None
        for out in cell["outputs"]:
            assert out["output_type"] != "error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), out
            assert "image/svg+xml" not in out.get("data", {})
    # Only outputs that depend on the machine may be ignored by nbval: wall-clock
    # runs on real workers and what the machine reports about itself. Everything
    # the simulator computes is compared.
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if "NBVAL_IGNORE_OUTPUT" in text:
            assert any(marker in text for marker in MACHINE_DEPENDENT), text[:300]


MACHINE_DEPENDENT = ('backend="thread"', 'backend="process"', 'backend="ray"',
                     '("thread", "process")', "ray_session", "threadpool_", "free_bytes",
                     "best_time(")


def test_build_runs_in_a_clean_headless_environment(tmp_path, monkeypatch):
    build = load_build()
    source = tmp_path / "98_probe.py"
    source.write_text(
        "# %%\nimport os\n"
        f"print(os.environ['HOME'] != {str(Path.home())!r})\n"
        "print(os.environ['ASYNCLAB_HEADLESS'], os.environ.get('MPLBACKEND') == 'Agg')\n"
        "print(os.environ['ASYNCLAB_HOME'].startswith(os.path.dirname(os.environ['HOME'])))\n")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = dict(os.environ)
    with build.clean_environment() as root:
        target = build.build(source, root, out_dir=tmp_path)
    assert not root.exists() and dict(os.environ) == before
    outputs = json.loads(target.read_text())["cells"][0]["outputs"]
    out = "".join("".join(o["text"]) for o in outputs)
    assert out == "True\n1 False\nTrue\n"


def test_a_failing_cell_writes_nothing_and_cleans_up(tmp_path):
    build = load_build()
    source = tmp_path / "97_broken.py"
    source.write_text("# %%\nprint('start')\n\n# %%\nraise RuntimeError('boom')\n")
    with pytest.raises(Exception, match="boom"):
        with build.clean_environment() as root:
            build.build(source, root, out_dir=tmp_path)
    assert not root.exists()
    assert not (tmp_path / "97_broken.ipynb").exists()


def test_build_rejects_unknown_lessons_with_usage_exit_2(capsys):
    build = load_build()
    with pytest.raises(SystemExit) as stop:
        build.main(["99"])
    assert stop.value.code == 2 and "no source for lesson 99" in capsys.readouterr().err


def test_the_lessons_readme_lists_every_lesson_with_its_time_and_the_readme_every_title():
    listed = (LESSONS / "README.md").read_text(encoding="utf-8")
    course = (LESSONS.parent / "README.md").read_text(encoding="utf-8")
    for source in SOURCES:
        first = source.read_text(encoding="utf-8").split("# %%\n")[0]
        time = re.search(r"\*\*Time:\*\* (about \d+ minutes)", first).group(1)
        assert f"| `{source.stem}.ipynb` | {time} |" in listed, source.stem
        title = re.search(r"^# # (\d\d · [^:\n]+)", first, re.M).group(1).replace(" · ", " ")
        assert f"| {title}" in course, f"README's course table lacks {title!r}"
