"""A quiz of the question bank as a form on the course website (lessons/site.py).

The options are in the order the notebook shows them. Every text of the question
(question, options, explanations, the "otherwise" feedback) goes through the same
markdown and MathML typesetting as the lessons' prose, at build time; the form
carries the bank's data as that HTML for ``site/course.js``, which grades and
explains.
"""
from __future__ import annotations

import html
import json
import re

from asynclab.course.numeric import EXAMPLE
from asynclab.course.questions import option_order

KINDS = {"single": "choose one", "multiple": "choose all that apply", "numeric": "a number"}


def inline(render, text):
    """``text`` (markdown with $math$) as HTML without its paragraph."""
    out = render(text).strip()
    found = re.fullmatch(r"<p>(.*)</p>", out, re.DOTALL)
    return found.group(1) if found else out


def quiz_html(q, render):
    """The form for question ``q``; ``render`` turns markdown into HTML."""
    order = option_order(q)
    letters = q.letters()
    options = [{"letter": letters[shown], "text": inline(render, q.options[i].text),
                "explanation": inline(render, q.options[i].explanation),
                "correct": q.options[i].correct, "value": q.options[i].value}
               for shown, i in enumerate(order)]
    data = {"id": q.id, "kind": q.kind, "options": options, "tolerance": q.tolerance,
            "unit": q.unit, "otherwise": inline(render, q.otherwise) if q.otherwise else ""}
    if q.kind == "numeric":
        choices = ('<label>Your answer: <input type="text" inputmode="decimal" name="answer" '
                   f'placeholder="a number, {html.escape(EXAMPLE)}" autocomplete="off"></label>')
    else:
        kind_of_input = "radio" if q.kind == "single" else "checkbox"
        choices = "".join(f'<label><input type="{kind_of_input}" name="answer" value="{n}"> '
                          f'{o["letter"]}. {o["text"]}</label>'
                          for n, o in enumerate(options))
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return (f'<form class="asynclab-quiz asynclab-quiz-{q.id}" data-quiz="{q.id}">\n'
            f'<p class="asynclab-question"><b>{q.id}</b> ({KINDS[q.kind]}) '
            f'{inline(render, q.question)}</p>\n'
            f'<fieldset class="asynclab-choices"><legend>Your answer</legend>{choices}</fieldset>\n'
            '<p class="asynclab-buttons"><button type="submit" class="asynclab-check">Check</button> '
            '<button type="button" class="asynclab-reveal">Show solution</button></p>\n'
            '<div class="asynclab-feedback" aria-live="polite"></div>\n'
            f'<script type="application/json" class="asynclab-quiz-data">{payload}</script>\n'
            '</form>')
