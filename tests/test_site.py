"""The course website's builder (lessons/site.py), without a browser: what each page
holds, that it needs nothing from the network, and how it refuses bad lessons.
(tests/e2e/test_site.py opens the built site in Chromium.)"""
import base64
import importlib.util
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from asynclab.course.questions import get, option_order

bs4 = pytest.importorskip("bs4")
pytest.importorskip("latex2mathml")

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
BUILDER = LESSONS / "site.py"
GLOSSARY = """# Glossary

**Staleness** [04]. How many updates a gradient missed ($s = t - \\tau$); see
[lesson 04](04_price_of_asynchrony.ipynb) and the [references](references.md#Papers).

**Incast** [03, 09]. Many messages to one place at once.
"""
REFERENCES = """# References

## Papers

- **Dean, Corrado, Ng (2012).** *Large Scale Distributed Deep Networks.* Lessons 03, 04.

$$H_N = \\sum_{i=1}^N 1/i$$
"""


def load_builder():
    spec = importlib.util.spec_from_file_location("lesson_site", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lesson(number):
    return next(LESSONS.glob(f"{number:02d}_*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site from lessons 03 and 04 (quizzes of every kind, the replay, explorations)
    and two pages; returns (lessons folder, out folder)."""
    folder = tmp_path_factory.mktemp("lessons")
    for number in (3, 4):
        shutil.copy(lesson(number), folder)
    (folder / "glossary.md").write_text(GLOSSARY)
    (folder / "references.md").write_text(REFERENCES)
    (folder / "README.md").write_text("# Not a page of the site\n")
    out = tmp_path_factory.mktemp("site") / "site"
    load_builder().main(["--lessons", str(folder), "--out", str(out), "--binder", "me/asynclab"])
    return folder, out


def page(out, name):
    return bs4.BeautifulSoup((out / name).read_text(encoding="utf-8"), "html.parser")


def test_a_page_per_lesson_and_per_markdown_page_and_the_contents(site):
    folder, out = site
    names = sorted(p.name for p in out.glob("*.html"))
    assert names == sorted([lesson(3).stem + ".html", lesson(4).stem + ".html",
                            "glossary.html", "references.html", "index.html"])
    index = page(out, "index.html")
    toc = [a["href"] for a in index.select(".site-toc a")]
    assert toc == [lesson(3).stem + ".html", lesson(4).stem + ".html", "glossary.html",
                   "references.html"]
    assert "03 · Asynchronous updates" in index.get_text()
    assert "describe the asynchronous parameter server" in index.get_text()   # its objectives
    progress = index.select(".asynclab-progress")[0]["data-questions"].split()
    assert progress == re.findall(r'quiz\.ask\("([^"]+)"\)', (LESSONS / "src" / (
        lesson(3).stem + ".py")).read_text())


def test_quiz_cells_become_quizzes_built_from_the_bank(site):
    _, out = site
    stored = nbformat.read(lesson(3), as_version=4)
    asked = [qid for c in stored.cells if c.cell_type == "code"
             for qid in re.findall(r'quiz\.ask\("([^"]+)"\)', c.source)]
    html = page(out, lesson(3).stem + ".html")
    forms = html.select("form.asynclab-quiz")
    assert [f["data-quiz"] for f in forms] == asked
    assert "Answer in code" not in html.get_text()          # the stored text form is gone
    assert "quiz.ask" not in html.get_text()                # and so is the code that asked
    typeset = 0
    for form in forms:
        q = get(form["data-quiz"])
        data = json.loads(form.select_one("script.asynclab-quiz-data").string)
        shown = [q.options[i] for i in option_order(q)]
        assert [as_text(o["text"]) for o in data["options"]] == [as_text(o.text) for o in shown]
        assert [as_text(o["explanation"]) for o in data["options"]] == [
            as_text(o.explanation) for o in shown]
        assert [o["correct"] for o in data["options"]] == [o.correct for o in shown]
        assert [o["letter"] for o in data["options"]] == list(q.letters())
        assert (data["kind"], data["tolerance"], data["unit"]) == (q.kind, q.tolerance, q.unit)
        assert as_text(data["otherwise"]) == as_text(q.otherwise)
        question = form.select_one(".asynclab-question")
        assert as_text(str(question)).endswith(as_text(q.question))
        typeset += len(question.select("math")) + sum(
            bs4.BeautifulSoup(o["text"] + o["explanation"], "html.parser").select("math") != []
            for o in data["options"])
        if q.kind != "numeric":
            labels = [as_text(label.get_text(" ", strip=True)) for label in form.select("label")]
            assert labels == [as_text(f"{letter}. {o.text}")
                              for letter, o in zip(q.letters(), shown)]
    assert typeset >= 5          # lesson 03's formulas ($H_4$, $\\max(c, 2m)$...) are MathML


def as_text(text):
    """What a reader sees of ``text``: HTML (a page's) or markdown with $math$ (the bank's),
    with the math's characters and without markup or spacing."""
    if "<" in text:
        text = bs4.BeautifulSoup(text, "html.parser").get_text()
    else:
        text = re.sub(r"\\(?:times|mathrm|text|frac|cdot|dots|approx)", "", text)
        text = re.sub(r"[$`*{}\\]", "", text)
    return re.sub(r"[\s_^×·…≈]+", "", text).replace("−", "-")


def test_the_replay_animates_and_explorations_say_how_to_open_them_live(site):
    _, out = site
    html = page(out, lesson(3).stem + ".html")
    [animation] = html.select(".asynclab-replay-animation")
    assert animation.select_one("script:not([type])").string.strip()
    notes = html.select(".asynclab-live-note")
    assert len(notes) == 1 and "JupyterLab" in notes[0].get_text()
    binder = notes[0].a["href"]
    assert binder == ("https://mybinder.org/v2/gh/me/asynclab/main?labpath=lessons%2F"
                      + lesson(3).name)
    assert html.select_one(".site-live a")["href"] == binder


def test_every_figure_has_a_description(site):
    _, out = site
    for name in (lesson(3).stem + ".html", lesson(4).stem + ".html"):
        for img in page(out, name).select("img"):
            assert img.get("alt", "").strip(), img.get("class")


def test_markdown_pages_get_mathml_and_links_to_the_pages_they_name(site):
    _, out = site
    glossary = page(out, "glossary.html")
    assert glossary.select_one("math") is not None and "$" not in glossary.get_text()
    assert [a["href"] for a in glossary.select("main a:not(.anchor-link)")] == [
        lesson(4).stem + ".html", lesson(4).stem + ".html", "references.html#Papers",
        lesson(3).stem + ".html"]        # [04], lesson 04, the references, [03] (09: not built)
    references = page(out, "references.html")
    assert references.select_one('math[display="block"]') is not None
    assert references.find(id="Papers") is not None          # the anchor the glossary links to


def test_nothing_is_fetched_from_elsewhere_and_every_link_is_relative(site):
    _, out = site
    for path in out.glob("*.html"):
        html = page(out, path.name)
        for tag in html.select("script[src], link[href], img[src]"):
            url = tag.get("src") or tag.get("href")
            if url.startswith("data:"):
                continue
            assert not urlsplit(url).scheme and not url.startswith("/"), (path.name, url)
            assert (out / urlsplit(url).path).is_file(), (path.name, url)
        for a in html.select("a[href]"):
            url = urlsplit(a["href"])
            if url.scheme:
                assert url.scheme == "https", (path.name, a["href"])   # Binder, papers
            elif url.path:
                assert not url.path.startswith("/") and (out / url.path).is_file(), a["href"]
        inline = " ".join(str(t) for t in html.select("script, link, style"))
        assert "http://" not in inline.replace("http://www.w3.org/", "")  # namespaces: not fetched


def test_pages_stay_under_the_size_limit(site, tmp_path, monkeypatch):
    folder, out = site
    assert all(p.stat().st_size < 3_000_000 for p in out.glob("*.html"))
    builder = load_builder()
    monkeypatch.setattr(builder, "MAX_PAGE_BYTES", 100_000)
    with pytest.raises(builder.BuildError, match=r"weighs .* MB with its assets; the limit"):
        builder.build(folder, tmp_path / "site")


def test_every_page_has_a_sidebar_with_every_lesson_the_side_pages_and_its_sections(site):
    _, out = site
    lessons = [lesson(3).stem + ".html", lesson(4).stem + ".html"]
    for path in out.glob("*.html"):
        html = page(out, path.name)
        nav = html.select_one("nav.site-sidebar")
        hrefs = [a["href"] for a in nav.select("a")]
        assert hrefs[:3] == ["index.html"] + lessons, path.name
        assert hrefs[3:5] == ["glossary.html", "references.html"], path.name
        current = nav.select('a[aria-current="page"]')
        assert [a["href"] for a in current] == [path.name]
        headings = [h["id"] for h in html.select("main h2[id], main h3[id]")]
        assert [a["href"] for a in nav.select(".site-sections a")] == [f"#{h}" for h in headings]
    assert len(page(out, lessons[0]).select(".site-sections a")) >= 5


def test_every_page_has_a_search_box_over_an_index_built_offline(site):
    _, out = site
    assert (out / "pagefind" / "pagefind-entry.json").is_file()
    assert all(list((out / "pagefind" / part).iterdir()) for part in ("index", "fragment"))
    for path in out.glob("*.html"):
        html = page(out, path.name)
        assert html.select_one("header #site-search[role=search]") is not None
        scripts = [tag["src"] for tag in html.select("script[src]")]
        assert scripts == ["pagefind/pagefind-ui.js", "assets/site.js", "assets/course.js"]
        assert html.select_one("main[data-pagefind-body]") is not None
        assert html.select_one("nav.site-sidebar")["data-pagefind-ignore"] is not None


def test_glossary_terms_citations_and_lesson_tags_are_linked(site):
    _, out = site
    glossary = page(out, "glossary.html")
    assert glossary.find(id="term-staleness") and glossary.find(id="term-incast")
    references = page(out, "references.html")
    assert references.find(id="ref-dean-2012") is not None
    assert [a["href"] for a in references.select("#ref-dean-2012 a")] == [
        lesson(3).stem + ".html", lesson(4).stem + ".html"]             # "Lessons 03, 04"
    three = page(out, lesson(3).stem + ".html")
    terms = three.select("a.site-term")
    assert {a["href"] for a in terms} == {"glossary.html#term-staleness",
                                          "glossary.html#term-incast"}
    assert len(terms) == 2                                               # the first use only
    staleness = next(a for a in terms if a["href"].endswith("#term-staleness"))
    assert staleness["title"].startswith("How many updates a gradient missed")
    cited = [a for a in three.select('main a[href^="references.html#"]')]
    assert [a.get_text() for a in cited] == ["Dean et al., NIPS 2012", "Dean et al. 2012"]
    assert {a["href"] for a in cited} == {"references.html#ref-dean-2012"}
    for a in three.select("a.site-term, main a[href^='references.html#']"):
        assert not a.find_parent(["pre", "code", "h1", "h2", "h3", "form"])
        assert not a.find_parent(class_="jp-OutputArea")


def test_long_code_is_folded_short_code_shown_and_notes_speak_to_a_reader(site):
    _, out = site
    stored = nbformat.read(lesson(3), as_version=4)
    code = [c for c in stored.cells if c.cell_type == "code" and c.source.strip()
            and not re.fullmatch(r'quiz\.ask\("[^"]+"\)', c.source.strip())]
    html = page(out, lesson(3).stem + ".html")
    folded = html.select("details.site-code")
    load_builder()
    from site_lesson import FOLD_LINES         # beside site.py, on the path once it is loaded
    long = [c for c in code if len(c.source.rstrip().splitlines()) > FOLD_LINES]
    assert long and len(folded) == len(long)
    assert all(not d.has_attr("open") and "lines)" in d.summary.get_text() for d in folded)
    assert len(html.select(".jp-InputArea-editor")) == len(code)
    for name in (lesson(3).stem + ".html", lesson(4).stem + ".html"):
        prose = page(out, name)
        for code in prose.select(".jp-InputArea"):
            code.decompose()
        text = prose.get_text()
        assert ".redraw(" not in text and ".show_time(" not in text and "call ." not in text
    live = html.select_one(".site-live code").get_text()
    assert live == f".venv/bin/jupyter lab --allow-root lessons/{lesson(3).name}"


def test_figures_have_twice_the_pixels_of_their_size(site):
    _, out = site
    sized = 0
    for img in page(out, lesson(4).stem + ".html").select("main img[src^='data:image/png']"):
        width, height = png_size(img["src"])
        assert img.get("width") and img.get("height"), img["alt"]
        assert abs(width - 2 * int(img["width"])) <= 1 and abs(height - 2 * int(img["height"])) <= 1
        sized += 1
    assert sized >= 3


def png_size(uri):
    head = base64.b64decode(uri.split(",", 1)[1][:48])
    return struct.unpack(">II", head[16:24])


def test_a_site_without_pagefind_says_how_to_install_it(site, tmp_path, monkeypatch):
    folder, _ = site
    builder = load_builder()
    real = builder.importlib.util.find_spec
    monkeypatch.setattr(builder.importlib.util, "find_spec",
                        lambda name, *a: None if name == "pagefind" else real(name, *a))
    with pytest.raises(builder.BuildError, match=r"needs Pagefind: pip install -e \"\.\[site\]\""):
        builder.build(folder, tmp_path / "site")


# -- bad input ------------------------------------------------------------------------------------
def run_builder(*args):
    return subprocess.run([sys.executable, str(BUILDER), *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def write_lesson(folder, name, cells):
    folder.mkdir(exist_ok=True)
    nbformat.write(new_notebook(cells=[new_markdown_cell("# 98 · Probe")] + cells), folder / name)
    return folder / name


def test_an_unknown_quiz_id_stops_the_build_and_names_the_notebook(tmp_path):
    bad = write_lesson(tmp_path / "lessons", "98_probe.ipynb", [new_code_cell(
        'quiz.ask("98-no-such-question")', execution_count=1,
        outputs=[new_output("stream", name="stdout", text="[98-no-such-question]\n")])])
    result = run_builder("--lessons", bad.parent, "--out", tmp_path / "site")
    assert result.returncode == 1
    assert f"site.py: {bad}: cell 1 asks quiz.ask('98-no-such-question'), which is not in " \
           "the question bank" in result.stderr
    assert not (tmp_path / "site").exists()


def test_missing_stored_outputs_stop_the_build_and_every_bad_notebook_is_named(tmp_path):
    good = write_lesson(tmp_path / "lessons", "96_good.ipynb", [new_code_cell(
        "print(1)", execution_count=1, outputs=[new_output("stream", name="stdout", text="1\n")])])
    unknown = write_lesson(tmp_path / "lessons", "97_unknown.ipynb", [new_code_cell(
        'quiz.ask("97-nope")', execution_count=1)])
    never_run = write_lesson(tmp_path / "lessons", "98_probe.ipynb", [new_code_cell(
        'quiz.ask("03-main-benefit")'), new_code_cell("print(2)")])
    result = run_builder("--lessons", good.parent, "--out", tmp_path / "site")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"site.py: {unknown}: cell 1 asks quiz.ask('97-nope'), which is not in the question "
        "bank (asynclab/course/quizbank)",
        f"site.py: {never_run}: cell 1 has no stored outputs (never executed): rebuild it with "
        "python lessons/build.py 98"]


def test_a_link_to_a_missing_lesson_stops_the_build(tmp_path):
    folder = tmp_path / "lessons"
    write_lesson(folder, "98_probe.ipynb", [])
    (folder / "glossary.md").write_text("# Glossary\n\nSee [lesson 12](12_missing.ipynb).\n")
    result = run_builder("--lessons", folder, "--out", tmp_path / "site")
    assert result.returncode == 1
    assert f"{folder / 'glossary.md'}: links to 12_missing.ipynb" in result.stderr


def test_a_folder_it_did_not_make_is_never_wiped_and_bad_options_exit_2(tmp_path):
    folder = tmp_path / "lessons"
    write_lesson(folder, "98_probe.ipynb", [])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    result = run_builder("--lessons", folder, "--out", mine)
    assert result.returncode == 1 and "was not made by this builder" in result.stderr
    assert (mine / "thesis.tex").read_text() == "keep me"
    (tmp_path / "a-file").write_text("")
    on_a_file = run_builder("--lessons", folder, "--out", tmp_path / "a-file")
    assert on_a_file.returncode == 1 and "is a file; --out must be a folder" in on_a_file.stderr
    usage = run_builder("--binder", "not a repo")
    assert usage.returncode == 2 and "--binder must look like OWNER/REPO" in usage.stderr
    assert "Traceback" not in usage.stderr + result.stderr + on_a_file.stderr


def test_the_readme_gives_the_one_line_build_command_under_a_website_heading():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^#+ [^\n]*website[^\n]*\n(.*?)(?=^#+ |\Z)", readme,
                        re.MULTILINE | re.DOTALL | re.IGNORECASE)
    assert section, "README.md has a section whose heading contains 'website'"
    block = re.search(r"```\w*\n(.*?)```", section.group(1), re.DOTALL)
    assert block and len(block.group(1).strip().splitlines()) == 1
    assert "lessons/site.py" in block.group(1) and "mybinder.org/v2/gh/" in section.group(1)
