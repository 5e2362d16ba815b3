"""Which fonts the browser really drew a page's text with, per element, read
through the DevTools protocol (`CSS.getPlatformFontsForNode`).

axe cannot see a missing glyph: a Gujarati page drawn as boxes, or Urdu drawn
in a Kufi face nobody reads it in, passes every automated accessibility rule.
This asks Chromium for the platform font it used for the text of each element
that holds characters of the language's script, and compares it with the Noto
family that covers that script."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page


@dataclass(frozen=True)
class Script:
    name: str
    ranges: tuple[tuple[int, int], ...]
    # The families that must draw the script's glyphs (the first is required).
    families: tuple[str, ...]

    def count(self, text: str) -> int:
        return sum(1 for ch in text if any(lo <= ord(ch) <= hi for lo, hi in self.ranges))


ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))

SCRIPTS: dict[str, Script] = {
    "gu": Script("Gujarati", ((0x0A80, 0x0AFF),), ("Noto Sans Gujarati",)),
    "pa": Script("Gurmukhi", ((0x0A00, 0x0A7F),), ("Noto Sans Gurmukhi",)),
    "bn": Script("Bengali", ((0x0980, 0x09FF),), ("Noto Sans Bengali",)),
    # Urdu readers expect Nastaliq; a letter Nastaliq lacks may come from the
    # Arabic faces that follow it in the stylesheet.
    "ur": Script(
        "Arabic (Urdu)",
        ARABIC_RANGES,
        ("Noto Nastaliq Urdu", "Noto Sans Arabic", "Noto Naskh Arabic"),
    ),
    "ar": Script("Arabic", ARABIC_RANGES, ("Noto Sans Arabic", "Noto Naskh Arabic")),
}
# The page's own Latin face: it draws embedded English words (a partnership's
# name), Latin digits and punctuation next to the script.
LATIN_FAMILIES = ("Noto Sans",)
# Faces fontconfig falls back to when the stylesheet names none that fits:
# named so a failure message says what went wrong.
KNOWN_FALLBACKS = (
    "DejaVu",
    "Liberation",
    "Noto Kufi Arabic",
    "FreeSans",
    "FreeSerif",
    "Noto Serif",
)
SKIPPED_ELEMENTS = {"HEAD", "TITLE", "SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "META"}


@dataclass
class FontReport:
    lang: str
    elements: int = 0
    script_chars: int = 0
    glyphs: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        used = ", ".join(f"{family} ({count})" for family, count in self.glyphs.most_common())
        return f"{self.lang}: {self.elements} elements, {self.script_chars} script characters; glyphs by font: {used}"


def _direct_text(node: dict[str, Any]) -> str:
    return "".join(
        child.get("nodeValue", "")
        for child in node.get("children") or []
        if child.get("nodeType") == 3
    )


def _lang_attribute(node: dict[str, Any]) -> str | None:
    attributes = node.get("attributes") or []
    for name, value in zip(attributes[::2], attributes[1::2], strict=True):
        if name == "lang":
            return value.split("-")[0].lower()
    return None


def _elements(node: dict[str, Any], lang: str):
    """(element, its language) for every element, the language inherited
    from the nearest `lang` attribute as the browser does for `:lang()`."""
    for child in node.get("children") or []:
        if child.get("nodeType") == 1:
            if child.get("nodeName") in SKIPPED_ELEMENTS:
                continue
            own = _lang_attribute(child) or lang
            yield child, own
            yield from _elements(child, own)
        elif child.get("nodeType") == 9 or child.get("contentDocument"):
            yield from _elements(child, lang)


def check_fonts(page: Page, lang: str) -> FontReport:
    """Every rendered element whose own text holds characters of its
    language's script must have them drawn by that script's Noto family
    (glyphCount > 0), and nothing in it by a face outside that family and the
    page's Latin face. The element's language is its own or inherited `lang`
    (the language switcher writes each name in itself), so a page is checked
    for every script on it; `lang` is the page's, counted in the report."""
    report = FontReport(lang)
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        document = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
        for element, element_lang in _elements(document["root"], "en"):
            script = SCRIPTS.get(element_lang)
            if script is None:
                continue
            text = " ".join(_direct_text(element).split())
            count = script.count(text)
            if not count:
                continue
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": element["nodeId"]})["fonts"]
            if not fonts:
                # Not rendered at all (display: none): nobody sees it.
                continue
            if element_lang == lang:
                report.elements += 1
                report.script_chars += count
            allowed = set(script.families) | set(LATIN_FAMILIES)
            label = f"<{element['nodeName'].lower()} lang={element_lang}> {text[:50]!r}"
            used = {font["familyName"]: font["glyphCount"] for font in fonts}
            for family, glyphs in used.items():
                report.glyphs[family] += glyphs
            if used.get(script.families[0], 0) <= 0:
                report.problems.append(
                    f"{label}: no {script.name} glyphs from {script.families[0]}; fonts used {used}"
                )
            strays = {family: glyphs for family, glyphs in used.items() if family not in allowed}
            if strays:
                kind = (
                    "fallback"
                    if any(family.startswith(KNOWN_FALLBACKS) for family in strays)
                    else "unexpected font"
                )
                report.problems.append(f"{label}: {kind} {strays} beside {used}")
    finally:
        cdp.detach()
    return report
