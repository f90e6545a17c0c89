"""No stored interval goes outside what its quantity can be (course issue, part 8).

Every 95% interval a lesson prints, ``mean [low, high]``, is of a quantity that
cannot be negative: a time, a rate, a ratio of times, a loss, an accuracy, a
staleness or a distance. So no low end is below zero (a signed difference would have
to say so), and an accuracy's high end is at most 1 (100%). The intervals come from
asynclab.stats and asynclab.runs, which choose the scale per quantity; this test
reads what the lessons actually stored.
"""
import json
import re
from pathlib import Path

import pytest

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
INTERVAL = re.compile(rf"(?P<mean>{NUMBER})(?P<unit>%?)\s*\[\s*(?P<low>{NUMBER})\s*%?,\s*"
                      rf"(?P<high>{NUMBER})\s*%?\]")


def intervals(text):
    """(label before it, mean, low, high, in percent) of every interval in ``text``."""
    for line in text.splitlines():
        end = 0                   # the label is what stands between it and the last one
        for m in INTERVAL.finditer(line):
            label = line[max(end, m.start() - 40):m.start()].lower()
            end = m.end()
            yield (label, float(m["mean"]), float(m["low"]), float(m["high"]),
                   m["unit"] == "%")


def stored_text(notebook):
    out = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for o in cell.get("outputs", []):
            out.append("".join(o.get("text", "")))
            out.append("".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


def out_of_range(text):
    """What is wrong with the intervals of ``text``, one line each."""
    bad = []
    for label, mean, low, high, percent in intervals(text):
        if not low <= high:
            bad.append(f"{label!r}: [{low:g}, {high:g}] is upside down")
        if low < 0 and "difference" not in label:
            bad.append(f"{label!r}: a low end of {low:g} for a quantity that cannot be negative")
        accuracy = "accura" in label and "time" not in label      # not a time to accuracy
        if accuracy and high > (100 if percent else 1):
            bad.append(f"{label!r}: an accuracy's interval reaches {high:g}")
    return bad


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_stored_interval_leaves_its_quantitys_range(notebook):
    bad = out_of_range(stored_text(notebook))
    assert not bad, "\n".join(bad)


def test_the_lessons_store_intervals_and_the_check_sees_what_matters():
    assert sum(len(list(intervals(stored_text(nb)))) for nb in NOTEBOOKS) > 200
    found = list(intervals("time 29.45 [25.68, 33.76] s  accuracy 0.96 [0.95, 1.02]"))
    assert [(m, lo, hi) for _, m, lo, hi, _ in found] == [(29.45, 25.68, 33.76),
                                                         (0.96, 0.95, 1.02)]
    assert len(out_of_range("time 29.45 [25.68, 33.76] s  accuracy 0.96 [0.95, 1.02]")) == 1
    assert out_of_range("time 3.1 [-1.2, 7.4] s")
    assert out_of_range("accuracy 96% [94%, 101%]")
    assert not out_of_range("time_to_accuracy of a / b: 1.05 [0.96, 1.15]; accuracy 96% [94%, 98%]")
    assert not out_of_range("seed-by-seed difference 0.4 [-0.1, 0.9] s")
