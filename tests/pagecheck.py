"""The conventions every HTML page keeps: it parses as valid HTML, has exactly
one <h1>, a <title> that starts with it, no duplicate ids, and `lang` and
`dir` on <html>. The test client runs this on every page a test fetches."""

from __future__ import annotations

import re
from collections import Counter

import html5lib
from html5lib.html5parser import ParseError

ERROR_PREFIXES = ("Error:", "خرابی:", "خطأ:", "ભૂલ:", "ਗਲਤੀ:", "Błąd:", "Khalad:", "ত্রুটি:")


def _text(element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def check_page(html: str) -> list[str]:
    problems: list[str] = []
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        document = parser.parse(html)
    except ParseError as error:
        line = getattr(parser, "errors", [])
        return [f"not valid HTML: {error} {line[:1]}"]
    root = document
    if root.tag != "html":
        return ["no <html> element"]
    if not root.get("lang"):
        problems.append("<html> has no lang")
    if root.get("dir") not in {"ltr", "rtl"}:
        problems.append("<html> has no dir of ltr or rtl")
    h1s = root.findall(".//h1")
    if len(h1s) != 1:
        problems.append(f"expected exactly one <h1>, found {len(h1s)}")
    titles = root.findall(".//title")
    if len(titles) != 1:
        problems.append("expected one <title>")
    elif h1s:
        title = _text(titles[0])
        for prefix in ERROR_PREFIXES:
            if title.startswith(prefix):
                title = title[len(prefix) :].strip()
                break
        heading = _text(h1s[0])
        if not heading or not title.startswith(heading):
            problems.append(f"<title> {title!r} does not start with the <h1> {heading!r}")
    ids = Counter(el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id"))
    duplicates = [i for i, n in ids.items() if n > 1]
    if duplicates:
        problems.append(f"duplicate ids: {', '.join(sorted(duplicates))}")
    return problems
