"""The links the course website adds to its rendered pages (lessons/site.py).

* Glossary terms: every entry of glossary.md (``**Term** [09]. Definition``) gets an
  anchor, and the first use of each term on every other page links to it, with the
  definition's first sentence as a tooltip.
* Lesson tags: ``[09]`` and ``[02, 09]`` (the glossary's and cheat sheet's) link to
  the lessons; so do "Lesson 06" and "Lessons 03, 08" on the reference pages.
* Citations: every entry of references.md (``**Niu, Recht, Ré, Wright (2011).**``)
  gets an anchor, and "Niu et al. 2011", "Dean et al. (NIPS 2012)", "Thakur,
  Rabenseifner & Gropp 2005" and the like link to it.
* Sections: the h2 and h3 headings of a page, for its sidebar.

Only prose is touched: never code, outputs, math, quizzes, headings or existing links.
"""
from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString

GLOSSARY, REFERENCES = "glossary.html", "references.html"
LEFT_ALONE = {"a", "code", "pre", "math", "script", "style", "form", "button", "summary",
              "h1", "h2", "h3", "h4", "h5", "h6"}
TAGS = re.compile(r"\[(\d\d(?:,\s*\d\d)*)\]")
LESSON_NAMES = re.compile(r"\b(Lessons? )(\d\d(?:(?:,| and) \d\d)*)")
NAME = r"[A-Z][\w'’-]+"
CITATION = re.compile(rf"(?<![\w'’-])({NAME})"                       # the first author
                      rf"((?: et al\.)?(?:(?:,| and| &)\s+{NAME}(?: {NAME})?)*)"  # the others
                      r",?\s+(\(?)(?:[A-Z][A-Za-z]* )?((?:19|20)\d\d)(\)?)")  # (VENUE YEAR)
ENTRY = re.compile(rf"^\s*({NAME})[^()]*\(((?:19|20)\d\d)\)")


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def parse(html):
    return BeautifulSoup(html, "html.parser")


class Linker:
    """Built from the rendered glossary and references pages (each may be None)."""

    def __init__(self, lessons, glossary=None, references=None):
        self.lessons = lessons                   # {"09": "09_beyond_the_parameter_server.html"}
        self.terms = anchor_glossary(glossary) if glossary is not None else []
        self.works = anchor_references(references) if references is not None else {}

    def link(self, soup, name, roots):
        """Add the links to the prose under ``roots`` (elements of ``soup``), on page ``name``."""
        tags = LESSON_NAMES if name in (GLOSSARY, REFERENCES, "cheatsheet.html") else None
        texts = []
        for text in (t for root in roots for t in prose(root)):
            spans = self._lesson_tags(text, tags) + self._citations(text, name)
            texts += replace(soup, text, spans)
        if name not in (GLOSSARY, REFERENCES):      # not in the definitions, nor in titles
            self._terms(soup, texts)

    def _lesson_tags(self, text, names):
        spans = []
        for pattern in (TAGS,) + ((names,) if names else ()):
            for found in pattern.finditer(text):
                group = found.lastindex
                for number in re.finditer(r"\d\d", found.group(group)):
                    if number.group() in self.lessons:
                        start = found.start(group) + number.start()
                        spans.append((start, start + 2, self.lessons[number.group()], None))
        return spans

    def _citations(self, text, name):
        if name == REFERENCES:
            return []
        spans = []
        for found in CITATION.finditer(text):
            anchor = self.works.get((found.group(1), found.group(4)))
            if anchor:
                end = found.end() if found.group(3) or not found.group(5) else found.end() - 1
                spans.append((found.start(), end, f"{REFERENCES}#{anchor}", None))
        return spans

    def _terms(self, soup, texts):
        """Link the first use of each term among the text nodes ``texts`` (kept current)."""
        for pattern, href, title in self.terms:
            for at, text in enumerate(texts):
                found = pattern.search(text)
                if found:
                    texts[at:at + 1] = replace(
                        soup, text, [(found.start(), found.end(), href, title)], css="site-term")
                    break


def prose(root):
    """The text nodes under ``root`` that are prose (see LEFT_ALONE), in order."""
    return [t for t in root.find_all(string=True)
            if not any(p.name in LEFT_ALONE for p in t.parents)
            and not any("jp-OutputArea" in (p.get("class") or []) for p in t.parents)]


def replace(soup, text, spans, css=None):
    """Replace the text node ``text`` by itself with ``spans`` (start, end, href, title)
    made links; overlapping spans after the first are dropped. Returns the text nodes
    left outside the links (``[text]`` when there is nothing to link)."""
    pieces, at = [], 0
    for start, end, href, title in sorted(spans):
        if start < at:
            continue
        link = soup.new_tag("a", href=href)
        if css:
            link["class"] = css
        if title:
            link["title"] = title
        link.string = text[start:end]
        pieces += [NavigableString(text[at:start]), link]
        at = end
    if not pieces:
        return [text]
    pieces.append(NavigableString(text[at:]))
    text.replace_with(*pieces)
    return [piece for piece in pieces if isinstance(piece, NavigableString)]


def anchor_glossary(soup):
    """Give each entry of the glossary an id; returns [(pattern, href, title)], longest
    terms first (so that "Asynchronous SGD" is found before "Synchronous SGD")."""
    terms = []
    for strong in soup.select("p > strong:first-child"):
        entry = strong.parent
        if entry.contents[0] is not strong or strong.find("math"):
            continue                              # not a definition; or a formula (H_N)
        term = strong.get_text().strip()
        entry["id"] = f"term-{slug(term)}"
        definition = entry.get_text(" ", strip=True)[len(term):]
        definition = re.sub(r"^\s*\[[\d, ]+\]\.?\s*", "", definition)
        title = re.split(r"(?<=[.:])\s", definition, maxsplit=1)[0]
        for words in spellings(term):
            terms.append((term_pattern(words), f"{GLOSSARY}#{entry['id']}", title))
    return sorted(terms, key=lambda t: -len(t[0].pattern))


def spellings(term):
    """How a glossary term appears in prose: "Learning rate, tuned" as "learning rate",
    "Strong and weak scaling" also as "strong scaling" and "weak scaling"."""
    term = term.split(",")[0].strip()
    both = re.fullmatch(r"(\w+) and (\w+) (.+)", term)
    return [term] + ([f"{both.group(1)} {both.group(3)}", f"{both.group(2)} {both.group(3)}"]
                     if both else [])


def term_pattern(words):
    """Whole words, any case, singular or plural."""
    body = re.escape(words[:-1] if re.search(r"[^s]s$", words) else words)
    return re.compile(rf"(?<![\w-]){body}s?(?![\w-])", re.IGNORECASE)


def anchor_references(soup):
    """Give each entry of the references an id; returns {(first author, year): id}."""
    works = {}
    for strong in soup.select("li > strong:first-child"):
        found = ENTRY.match(strong.get_text())
        if found:
            anchor = f"ref-{slug(found.group(1))}-{found.group(2)}"
            strong.parent["id"] = anchor
            works[(found.group(1), found.group(2))] = anchor
    return works


def sections(soup):
    """[(level, id, title)] of the h2 and h3 headings with an id, in order."""
    return [(int(h.name[1]), h["id"], h.get_text().replace("¶", "").strip())
            for h in soup.find_all(["h2", "h3"]) if h.get("id")]
