"""One stored lesson notebook as a page of the course website (lessons/site.py).

Its cells in JupyterLab's markup (nbconvert's HTML exporter with the template in
``site/lesson``), markdown with formulas as MathML and links to other lessons and
pages turned into links to their HTML; its stored outputs checked (executed, no
error, quiz ids in the bank) and replaced where the site says it better: a quiz by
its form (``site_quiz.py``), an exploration's figure with a note for a web reader.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from markupsafe import Markup
from nbconvert.exporters.html import HTMLExporter, contextfilter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from site_quiz import quiz_html

try:
    from latex2mathml.converter import convert as latex_to_mathml
except ImportError:
    sys.exit('site.py needs latex2mathml (formulas as MathML): pip install -e ".[site]"')

TEMPLATES = Path(__file__).resolve().parent / "site"
QUIZ_CALL = re.compile(r"""\bquiz\.ask\(\s*["']([^"']+)["']\s*\)""")
EXPLORE_CALL = re.compile(r"\bexplore\(")
TIME_STATED = re.compile(r"\b(?:about |around )?\d+(?:\s*[-–]\s*\d+)?\s*(?:minutes|min|hours?)\b",
                         re.IGNORECASE)
LOCAL_LINK = re.compile(r"^(?![a-z][a-z0-9+.-]*:|/|#)([^#?]+)\.(ipynb|md)(#.*)?$", re.IGNORECASE)
FOLD_LINES = 12                    # code cells longer than this are folded (show/hide)
# What a headless dashboard prints for a notebook reader; the site says it in its own words.
CODE_NOTE = re.compile(r"^\((?:static figure|stored frames): .*\)\n?", re.MULTILINE)


class BuildError(Exception):
    """Something in the lessons that the site cannot show; the message names the file."""


# -- markdown: math as MathML, links to lessons and pages as links to their HTML ------------------
class SiteRenderer(IPythonRenderer):
    def __init__(self, links, **options):
        super().__init__(escape=False, **options)
        self.links = links                        # local targets seen, checked after the build

    def block_math(self, body):
        return _mathml(body, "block")

    def inline_math(self, body):
        return _mathml(body, "inline")

    def link(self, text, url, title=None):
        local = LOCAL_LINK.match(url)
        if local:
            self.links.append(f"{local.group(1)}.{local.group(2)}")
            url = f"{local.group(1)}.html{local.group(3) or ''}"
        return super().link(text, url, title)


def _mathml(tex, display):
    try:
        return latex_to_mathml(tex, display=display)
    except Exception as err:                      # latex2mathml raises many kinds of errors
        raise BuildError(f"cannot typeset the formula {tex!r}: {err}") from None


def markdown(text, links):
    return MarkdownWithMath(renderer=SiteRenderer(links)).render(text)


class LessonExporter(HTMLExporter):
    """nbconvert's HTML exporter with the site's template and markdown."""

    def __init__(self, links):
        super().__init__(template_name="lesson", extra_template_basedirs=[str(TEMPLATES)],
                         exclude_input_prompt=True, exclude_output_prompt=True)
        self.links = links

    @contextfilter
    def markdown2html(self, context, source):
        return markdown(source, self.links)

    def from_notebook_node(self, nb, resources=None, **kw):
        return super().from_notebook_node(nb, dict(resources or {}, fold_lines=FOLD_LINES), **kw)


# -- what the site puts in place of stored outputs -------------------------------------------------
def html_output(text):
    return nbformat.v4.new_output("display_data", data={"text/html": text})


def figure_alt(cell):
    """A figure's description: the one stored with it, else what its cell printed first."""
    printed = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
    first = printed[0].strip().splitlines()[0] if printed else ""
    return f"Figure drawn by the code above{': ' + first if first else ''}"


def prepare(nb, name, questions, binder, render):
    """Check a stored notebook and put the site's versions of its outputs in place (in memory);
    ``render`` turns markdown into HTML."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        where = f"cell {index}"
        if cell.get("execution_count") is None:
            raise BuildError(f"{where} has no stored outputs (never executed): rebuild it "
                             f"with python lessons/build.py {name[:2]}")
        if any(o.output_type == "error" for o in cell.outputs):
            raise BuildError(f"{where} stored an error; fix the lesson and rebuild it")
        asked = QUIZ_CALL.findall(cell.source)
        unknown = [qid for qid in asked if qid not in questions]
        if unknown:
            raise BuildError(f"{where} asks quiz.ask({unknown[0]!r}), which is not in the "
                             "question bank (asynclab/course/quizbank)")
        if asked:
            if not QUIZ_CALL.sub("", cell.source).strip():
                cell.metadata["site_quiz"] = True   # its form, not its code (site/lesson)
            cell.outputs = [html_output("\n".join(quiz_html(questions[q], render)
                                                  for q in asked))]
            continue
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = CODE_NOTE.sub("", output.text)
        cell.outputs = [o for o in cell.outputs if o.output_type != "stream" or o.text]
        for output in cell.outputs:
            if "image/png" in output.get("data", {}):
                meta = output.setdefault("metadata", {}).setdefault("image/png", {})
                meta.setdefault("alt", figure_alt(cell))
        code = re.sub(r"#.*", "", cell.source)
        if EXPLORE_CALL.search(code) and any("image/png" in o.get("data", {})
                                            for o in cell.outputs):
            on_binder = (f'<a href="{binder}">on Binder</a>' if binder
                         else "on Binder (from the course's repository)")
            cell.outputs.append(html_output(
                '<p class="asynclab-live-note">A picture of the dashboard as the lesson left '
                'it: its sliders and menus work in the live notebook. Open this lesson in '
                f'JupyterLab, or {on_binder}, to move them and see the figure redrawn.</p>'))
    return nb


# -- pages --------------------------------------------------------------------------------------
def first_heading(text, fallback):
    found = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else fallback


def objectives(text, links):
    """The numbered list after "By the end of this lesson", as HTML ("" if none)."""
    found = re.search(r"By the end of this lesson[^\n]*\n+((?:\s*\d+\.\s.*\n?(?:[ \t]+\S.*\n?)*)+)",
                      text)
    return Markup(markdown(found.group(1), links)) if found else ""


def binder_link(binder, path=None):
    """``https://mybinder.org/v2/gh/OWNER/REPO/REF`` (opening ``path`` in JupyterLab)."""
    if not binder:
        return None
    owner_repo, _, ref = binder.partition("@")
    return (f"https://mybinder.org/v2/gh/{owner_repo}/{ref or 'main'}"
            + (f"?labpath={path.replace('/', '%2F')}" if path else ""))


def lesson_page(path, questions, binder, links):
    """``(page, contents entry)`` of one stored lesson; raises BuildError."""
    name = path.name
    try:
        nb = prepare(nbformat.read(path, as_version=4), name, questions,
                     binder_link(binder, f"lessons/{name}"), lambda text: markdown(text, links))
        body, _ = LessonExporter(links).from_notebook_node(nb)
    except (ValueError, nbformat.ValidationError) as err:       # not a readable notebook
        raise BuildError(f"cannot read it: {err}") from None
    intro = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    entry = dict(number=int(name[:2]), href=f"{path.stem}.html",
                 title=first_heading(intro, path.stem), time=_stated_time(intro),
                 objectives=objectives(intro, []),
                 questions=[q for c in nb.cells if c.cell_type == "code"
                            for q in QUIZ_CALL.findall(c.source)])
    live = dict(notebook=name, binder=binder_link(binder, f"lessons/{name}"))
    return dict(title=entry["title"], kind="jp-Notebook", content=body, live=live), entry


def _stated_time(text):
    found = TIME_STATED.search(text)
    return found.group(0) if found else None
