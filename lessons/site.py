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
figure and say how to open the lesson live. Formulas, in prose and quizzes alike,
become MathML, which browsers draw without any script or font download. Every
page has a sidebar (the lessons, the reference pages, the page's sections) and a
search box (Pagefind's index, built into ``pagefind/``); glossary terms,
citations and ``[09]``-style lesson tags are linked (``site_links.py``); long code
cells are folded. Links are relative, so the site works from a sub-path.

The build stops (exit 1) with one line per notebook at fault if a quiz id is
not in the bank, a cell was never executed, a cell stored an error, or a link
points to a lesson or page that does not exist; pages over 3 MB are refused too.
"""
from __future__ import annotations

import argparse
import importlib.util
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

from asynclab.course.questions import bank

try:
    from latex2mathml.converter import convert as latex_to_mathml
except ImportError:
    sys.exit('site.py needs latex2mathml (formulas as MathML): pip install -e ".[site]"')

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))             # its parts beside it, also when loaded by a test
from site_links import GLOSSARY, REFERENCES, Linker, parse, sections  # noqa: E402
from site_quiz import quiz_html  # noqa: E402

ASSETS = HERE / "site"
DEFAULT_OUT = HERE.parent / "build" / "site"
MAX_PAGE_BYTES = 3_000_000
MARKER = ".asynclab-site"          # marks a folder this builder may wipe and rewrite
QUIZ_CALL = re.compile(r"""\bquiz\.ask\(\s*["']([^"']+)["']\s*\)""")
EXPLORE_CALL = re.compile(r"\bexplore\(")
TIME_STATED = re.compile(r"\b(?:about |around )?\d+(?:\s*[-–]\s*\d+)?\s*(?:minutes|min|hours?)\b",
                         re.IGNORECASE)
LOCAL_LINK = re.compile(r"^(?![a-z][a-z0-9+.-]*:|/|#)([^#?]+)\.(ipynb|md)(#.*)?$", re.IGNORECASE)
FOLD_LINES = 12                    # code cells longer than this are folded (show/hide)
# What a headless dashboard prints for a notebook reader; the site says it in its own words.
CODE_NOTE = re.compile(r"^\((?:static figure|stored frames): .*\)\n?", re.MULTILINE)
SEARCH_ASSETS = ("pagefind-ui.js", "pagefind-ui.css")     # what every page loads of the index


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
                page = dict(title=entry["title"], kind="site-page", live=None,
                            content=markdown(text, links[path.name]))
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
    add_links(pages, {f"{t['number']:02d}": t["href"] for t in toc})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ASSETS), autoescape=True)
    contents = env.get_template("contents.html.j2").render(
        lessons=toc, pages=references, binder=binder_link(binder))
    pages["index.html"] = dict(title="Contents", kind="site-contents", content=contents,
                               live=None, sections=[])
    return _write(out, env, pages, toc, references)


def add_links(pages, lessons):
    """Link glossary terms, citations and lesson tags in every page's prose, and note each
    page's sections (for its sidebar)."""
    trees = {name: parse(page["content"]) for name, page in pages.items()}
    linker = Linker(lessons, trees.get(GLOSSARY), trees.get(REFERENCES))
    for name, tree in trees.items():
        prose = tree.select(".jp-RenderedMarkdown") or [tree]
        linker.link(tree, name, prose)
        for anchor in tree.select("a.anchor-link"):   # the ¶ of a heading is not its text
            anchor["data-pagefind-ignore"] = ""
        pages[name]["content"] = str(tree)
        pages[name]["sections"] = sections(tree)


def _stated_time(text):
    found = TIME_STATED.search(text)
    return found.group(0) if found else None


def _write(out, env, pages, lessons, references):
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} is a file; --out must be a folder")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(f"{out} is not empty and was not made by this builder; "
                         "choose another --out")
    shutil.rmtree(out, ignore_errors=True)
    (out / "assets").mkdir(parents=True)
    (out / MARKER).write_text("made by lessons/site.py; rewritten on every build\n")
    for asset in ("site.css", "course.js", "site.js", "favicon.svg"):
        shutil.copy(ASSETS / asset, out / "assets" / asset)
    (out / "assets" / "pygments.css").write_text(HtmlFormatter().get_style_defs(".highlight"))
    template = env.get_template("page.html.j2")
    order = [lesson["href"] for lesson in lessons]
    weights = {}
    for name, page in pages.items():
        at = order.index(name) if name in order else None
        text = template.render(
            page, name=name, content=Markup(page["content"]), lessons=lessons,
            references=references,
            previous=lessons[at - 1] if at else None,
            next=lessons[at + 1] if at is not None and at + 1 < len(lessons) else None)
        (out / name).write_text(text, encoding="utf-8")
        weights[name] = len(text.encode())
    index_for_search(out)
    shared = sum(f.stat().st_size for f in (out / "assets").iterdir()) + sum(
        (out / "pagefind" / name).stat().st_size for name in SEARCH_ASSETS)
    heavy = [n for n, size in weights.items() if size + shared > MAX_PAGE_BYTES]
    if heavy:
        raise BuildError(f"{out / heavy[0]} weighs {(weights[heavy[0]] + shared) / 1e6:.2f} MB "
                         f"with its assets; the limit is {MAX_PAGE_BYTES / 1e6:g} MB")
    return {name: size + shared for name, size in weights.items()}


def index_for_search(out):
    """Pagefind's search index of the written pages, in ``out/pagefind/`` (the indexer is
    the ``pagefind`` package's binary; it reads the folder, nothing from the network)."""
    if importlib.util.find_spec("pagefind") is None:
        raise BuildError('the search index needs Pagefind: pip install -e ".[site]"')
    done = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(out), "--silent"],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not all((out / "pagefind" / n).is_file() for n in SEARCH_ASSETS):
        said = (done.stderr or done.stdout).strip().splitlines()
        raise BuildError(f"Pagefind could not index {out}: {said[-1] if said else 'no index'}")


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
