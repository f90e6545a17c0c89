"""Build the course website from the stored lesson notebooks, without executing them.

    python lessons/site.py                    # -> build/site/index.html, NN_*.html, ...
    python lessons/site.py --out DIR --binder OWNER/REPO[/REF]

Every ``lessons/NN_*.ipynb`` becomes ``NN_*.html`` with its stored outputs and
figures (nbconvert's HTML exporter, JupyterLab's cell markup, nothing fetched);
every ``lessons/*.md`` but README.md (glossary, references, cheat sheet)
becomes a page; ``index.html`` lists them with each lesson's objectives. Quiz
cells (``quiz.ask("ID")``) become quizzes answered on the page, built from the
question bank (asynclab/course/quizbank) and checked by ``site/course.js``;
replays play (their stored output is an animation); explorations keep their
figure and say how to open the lesson live. Formulas become MathML, which
browsers draw without any script or font download. Links are relative, so the
site works from a sub-path.

The build stops (exit 1) with one line per notebook at fault if a quiz id is
not in the bank, a cell was never executed, a cell stored an error, or a link
points to a lesson or page that does not exist; pages over 3 MB are refused too.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jinja2
import nbformat
from markupsafe import Markup
from nbconvert.exporters.html import HTMLExporter, contextfilter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from pygments.formatters import HtmlFormatter

from asynclab.course.questions import bank, option_order

try:
    from latex2mathml.converter import convert as latex_to_mathml
except ImportError:
    sys.exit('site.py needs latex2mathml (formulas as MathML): pip install -e ".[site]"')

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "site"
DEFAULT_OUT = HERE.parent / "build" / "site"
MAX_PAGE_BYTES = 3_000_000
MARKER = ".asynclab-site"          # marks a folder this builder may wipe and rewrite
QUIZ_CALL = re.compile(r"""\bquiz\.ask\(\s*["']([^"']+)["']\s*\)""")
EXPLORE_CALL = re.compile(r"\bexplore\(")
TIME_STATED = re.compile(r"\b(?:about |around )?\d+(?:\s*[-–]\s*\d+)?\s*(?:minutes|min|hours?)\b",
                         re.IGNORECASE)
LOCAL_LINK = re.compile(r"^(?![a-z][a-z0-9+.-]*:|/|#)([^#?]+)\.(ipynb|md)(#.*)?$", re.IGNORECASE)


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
        super().__init__(template_name="lesson", extra_template_basedirs=[str(ASSETS)],
                         exclude_input_prompt=True, exclude_output_prompt=True)
        self.links = links

    @contextfilter
    def markdown2html(self, context, source):
        return markdown(source, self.links)


# -- what the site puts in place of stored outputs -------------------------------------------------
def quiz_html(q):
    """A quiz answered on the page: options in the order the notebook shows them, and
    the bank's data for site/course.js (which grades and explains)."""
    order = option_order(q)
    letters = q.letters()
    options = [{"letter": letters[shown], "text": q.options[i].text,
                "explanation": q.options[i].explanation, "correct": q.options[i].correct,
                "value": q.options[i].value} for shown, i in enumerate(order)]
    data = {"id": q.id, "kind": q.kind, "options": options, "tolerance": q.tolerance,
            "otherwise": q.otherwise}
    kind = {"single": "choose one", "multiple": "choose all that apply",
            "numeric": "a number"}[q.kind]
    if q.kind == "numeric":
        choices = ('<label>Your answer: <input type="text" inputmode="decimal" name="answer" '
                   'placeholder="a number, e.g. 2.5 or 5/2" autocomplete="off"></label>')
    else:
        kind_of_input = "radio" if q.kind == "single" else "checkbox"
        choices = "".join(f'<label><input type="{kind_of_input}" name="answer" value="{n}"> '
                          f'{o["letter"]}. {html.escape(o["text"])}</label>'
                          for n, o in enumerate(options))
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return (f'<form class="asynclab-quiz asynclab-quiz-{q.id}" data-quiz="{q.id}">\n'
            f'<p class="asynclab-question"><b>{q.id}</b> ({kind}) {html.escape(q.question)}</p>\n'
            f'<fieldset class="asynclab-choices"><legend>Your answer</legend>{choices}</fieldset>\n'
            '<p class="asynclab-buttons"><button type="submit" class="asynclab-check">Check</button> '
            '<button type="button" class="asynclab-reveal">Show solution</button></p>\n'
            '<div class="asynclab-feedback" aria-live="polite"></div>\n'
            f'<script type="application/json" class="asynclab-quiz-data">{payload}</script>\n'
            '</form>')


def html_output(text):
    return nbformat.v4.new_output("display_data", data={"text/html": text})


def figure_alt(cell):
    """A figure's description: the one stored with it, else what its cell printed first."""
    printed = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
    first = printed[0].strip().splitlines()[0] if printed else ""
    return f"Figure drawn by the code above{': ' + first if first else ''}"


def prepare(nb, name, questions, binder):
    """Check a stored notebook and put the site's versions of its outputs in place (in memory)."""
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
            cell.outputs = [html_output("\n".join(quiz_html(questions[q]) for q in asked))]
            continue
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
                '<p class="asynclab-live-note">A static figure: its controls need a live '
                f'notebook. Open this lesson in JupyterLab, or {on_binder}, to move them.</p>'))
    return nb


# -- pages -------------------------------------------------------------------------------------------
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


def default_binder():
    """OWNER/REPO of this checkout on GitHub ($GITHUB_REPOSITORY or the origin remote)."""
    if os.environ.get("GITHUB_REPOSITORY"):
        return os.environ["GITHUB_REPOSITORY"]
    origin = subprocess.run(["git", "remote", "get-url", "origin"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip()
    found = re.search(r"github\.com[:/]([\w.-]+/[\w.-]+?)(?:\.git)?$", origin)
    return found.group(1) if found else None


def lesson_page(path, questions, binder, links):
    """``(page, contents entry)`` of one stored lesson; raises BuildError."""
    name = path.name
    try:
        nb = prepare(nbformat.read(path, as_version=4), name, questions,
                     binder_link(binder, f"lessons/{name}"))
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
    return (entry["title"], "jp-Notebook", Markup(body), live), entry


def build(lessons_dir=HERE, out=DEFAULT_OUT, binder=None):
    """Write the site into ``out``; returns ``{page name: bytes}``. Raises BuildError with
    one line per file at fault (every lesson is checked before any page is written)."""
    lessons_dir, out = Path(lessons_dir), Path(out)
    notebooks = sorted(lessons_dir.glob("[0-9][0-9]_*.ipynb"))
    documents = sorted(p for p in lessons_dir.glob("*.md") if p.name != "README.md")
    if not notebooks:
        raise BuildError(f"{lessons_dir}: no lesson notebooks (NN_name.ipynb)")
    questions = bank()
    pages, links, toc, references, problems = {}, {}, [], [], []
    for path in notebooks + documents:
        links[path.name] = []
        try:
            if path.suffix == ".ipynb":
                page, entry = lesson_page(path, questions, binder, links[path.name])
                toc.append(entry)
            else:
                text = path.read_text(encoding="utf-8")
                entry = dict(href=f"{path.stem}.html", title=first_heading(text, path.stem))
                page = (entry["title"], "site-page", Markup(markdown(text, links[path.name])),
                        None)
                references.append(entry)
        except BuildError as err:
            problems.append(f"{path}: {err}")
            continue
        pages[entry["href"]] = page
    known = {p.name for p in notebooks + documents}
    for source, targets in links.items():
        missing = [t for t in targets if Path(t).name not in known]
        if missing:
            problems.append(f"{lessons_dir / source}: links to {missing[0]}, which is neither "
                            "a lesson nor a page of the site")
    if problems:
        raise BuildError("\n".join(problems))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ASSETS), autoescape=True)
    contents = env.get_template("contents.html.j2").render(
        lessons=toc, pages=references, binder=binder_link(binder))
    pages["index.html"] = ("Contents", "site-contents", Markup(contents), None)
    return _write(out, env, pages, [dict(href=t["href"], title=t["title"]) for t in toc])


def _stated_time(text):
    found = TIME_STATED.search(text)
    return found.group(0) if found else None


def _write(out, env, pages, sequence):
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} is a file; --out must be a folder")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(f"{out} is not empty and was not made by this builder; "
                         "choose another --out")
    shutil.rmtree(out, ignore_errors=True)
    (out / "assets").mkdir(parents=True)
    (out / MARKER).write_text("made by lessons/site.py; rewritten on every build\n")
    for asset in ("site.css", "course.js", "favicon.svg"):
        shutil.copy(ASSETS / asset, out / "assets" / asset)
    (out / "assets" / "pygments.css").write_text(HtmlFormatter().get_style_defs(".highlight"))
    template = env.get_template("page.html.j2")
    order = [page["href"] for page in sequence]
    weights = {}
    for name, (title, kind, content, live) in pages.items():
        at = order.index(name) if name in order else None
        text = template.render(
            title=title, kind=kind, content=content, live=live,
            previous=sequence[at - 1] if at else None,
            next=sequence[at + 1] if at is not None and at + 1 < len(sequence) else None)
        (out / name).write_text(text, encoding="utf-8")
        weights[name] = len(text.encode())
    shared = sum(f.stat().st_size for f in (out / "assets").iterdir())
    heavy = [n for n, size in weights.items() if size + shared > MAX_PAGE_BYTES]
    if heavy:
        raise BuildError(f"{out / heavy[0]} weighs {(weights[heavy[0]] + shared) / 1e6:.2f} MB "
                         f"with its assets; the limit is {MAX_PAGE_BYTES / 1e6:g} MB")
    return {name: size + shared for name, size in weights.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where the site goes (default {DEFAULT_OUT})")
    parser.add_argument("--lessons", type=Path, default=HERE,
                        help="the folder of stored notebooks and pages (default: lessons/)")
    parser.add_argument("--binder", default=None,
                        help="OWNER/REPO[@REF] on GitHub for 'open on Binder' links "
                             "(default: $GITHUB_REPOSITORY or the origin remote, if on GitHub)")
    args = parser.parse_args(argv)
    if args.binder is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+(@[\w./-]+)?", args.binder):
        parser.error(f"--binder must look like OWNER/REPO or OWNER/REPO@REF, got {args.binder!r}")
    start = time.perf_counter()
    try:
        weights = build(args.lessons, args.out, args.binder or default_binder())
    except BuildError as err:
        for line in str(err).splitlines():
            print(f"site.py: {line}", file=sys.stderr)
        sys.exit(1)
    for name, size in weights.items():
        print(f"{name}: {size / 1e6:.2f} MB with its assets")
    print(f"{len(weights)} pages in {args.out}, the heaviest {max(weights.values()) / 1e6:.2f} MB "
          f"(limit {MAX_PAGE_BYTES / 1e6:g} MB), built in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
