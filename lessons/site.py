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
citations and ``[09]``-style lesson tags are linked; long code cells are folded.
Links are relative, so the site works from a sub-path. Its parts sit beside it:
``site_lesson.py`` (a notebook as a page), ``site_quiz.py`` (a quiz as a form),
``site_links.py`` (the links and sections), and ``site/`` (templates and assets).

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
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from asynclab.course.questions import bank

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))             # its parts beside it, also when loaded by a test
from site_lesson import BuildError, binder_link, first_heading, lesson_page, markdown  # noqa: E402
from site_links import GLOSSARY, REFERENCES, Linker, parse, sections  # noqa: E402

ASSETS = HERE / "site"
DEFAULT_OUT = HERE.parent / "build" / "site"
MAX_PAGE_BYTES = 3_000_000
MARKER = ".asynclab-site"          # marks a folder this builder may wipe and rewrite
SEARCH_ASSETS = ("pagefind-ui.js", "pagefind-ui.css")     # what every page loads of the index
IMAGE = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
IMAGE_KEPT = "data:asynclab-kept,"


def default_binder():
    """OWNER/REPO of this checkout on GitHub ($GITHUB_REPOSITORY or the origin remote)."""
    if os.environ.get("GITHUB_REPOSITORY"):
        return os.environ["GITHUB_REPOSITORY"]
    origin = subprocess.run(["git", "remote", "get-url", "origin"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip()
    found = re.search(r"github\.com[:/]([\w.-]+/[\w.-]+?)(?:\.git)?$", origin)
    return found.group(1) if found else None


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
    images = []                          # set aside while parsing: most of a page's bytes

    def set_aside(found):
        images.append(found.group())
        return f"{IMAGE_KEPT}{len(images) - 1}"

    trees = {name: parse(IMAGE.sub(set_aside, page["content"])) for name, page in pages.items()}
    linker = Linker(lessons, trees.get(GLOSSARY), trees.get(REFERENCES))
    for name, tree in trees.items():
        prose = tree.select(".jp-RenderedMarkdown") or [tree]
        linker.link(tree, name, prose)
        for anchor in tree.select("a.anchor-link"):   # the ¶ of a heading is not its text
            anchor["data-pagefind-ignore"] = ""
        pages[name]["content"] = re.sub(rf"{IMAGE_KEPT}(\d+)",
                                        lambda found: images[int(found.group(1))], str(tree))
        pages[name]["sections"] = sections(tree)


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
