"""One register per language, throughout: a resident addressed as "Pan/Pani"
in one sentence is not addressed as "ty" in the next (or in the same hint).

Polish is written in the formal register (Pan/Pani with third-person verbs,
"Proszę …" for instructions, first-person button labels such as "Wysyłam moje
odpowiedzi"). The other languages use their polite pronoun throughout (Urdu
آپ, Punjabi ਤੁਸੀਂ, Gujarati તમે, Bengali আপনি); Arabic addresses the
individual resident in the singular and the community (the "You said, we
did" pages) in the plural."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from consult.question_bank import default_bank_path

ROOT = Path(__file__).resolve().parents[1]
UI_STRINGS = ROOT / "translations" / "ui_strings.json"

# Informal (ty) forms: possessives, pronouns, second-person verbs and the
# imperatives the catalogue used to mix with Pan/Pani.
POLISH_INFORMAL = re.compile(
    r"\b(?:Tw[oó]j\w*|Twoj\w*|Twoi\w*|Ci[eę]|Ciebie|Tobie|Tob[aą]"
    r"|[Mm]o[żz]esz|[Cc]hcesz|[Mm]asz|[Mm]usisz|[Zz]gadzasz|[Jj]este[sś]|[Ww]y[sś]lesz"
    r"|[Oo]trzymasz|[Ww]r[oó]cisz|[Cc]zujesz|Tobie"
    r"|Wybierz|Wpisz|Zaznacz|Odznacz|Wr[oó][cć]|Sprawd[zź]|Spr[oó]buj|Poczekaj|Przeczytaj"
    r"|Zapisz|Skr[oó][cć]|Usu[nń]|Por[oó]wnaj|Powiedz|Odpowiadaj|Odpowiedz|Kontynuuj"
    r"|Przejd[zź]|Zacznij|Otrzymaj|Wypowiedz|Zachowaj|Skontaktuj|Podaj|U[zż]yj|Wejd[zź]"
    r"|Od[sś]wie[zż])\b"
)
# Arabic: the second person plural addressed to one resident outside the
# community-wide feedback pages.
ARABIC_PLURAL_TO_ONE = re.compile(r"(?:إجاباتكم|لمشاركتكم|رمزكم|منطقتكم)")
URDU_INFORMAL = re.compile(r"(?:^|\s)(?:تم|تمہار\w*|تجھ\w*|تیر[اےی])(?:\s|$)")
BENGALI_INFORMAL = re.compile(r"তুমি|তোমা|তুই|তোর")
PUNJABI_INFORMAL = re.compile(r"ਤੂੰ|ਤੇਰ[ਾੇੀ]|ਤੈਨੂੰ")


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))


def _ui(language: str) -> Iterator[tuple[str, str]]:
    for msgid, translations in json.loads(UI_STRINGS.read_text(encoding="utf-8")).items():
        for text in _texts(translations.get(language)):
            yield msgid, text


def _bank(language: str) -> Iterator[tuple[str, str]]:
    bank = json.loads(default_bank_path().read_text(encoding="utf-8"))
    for item in bank["items"]:
        for field in ("prompt", "hint"):
            text = (item.get(field) or {}).get(language)
            if text:
                yield f"{item['key']}.{field}", text
        for option in item.get("options") or []:
            text = (option.get("label") or {}).get(language)
            if text:
                yield f"{item['key']}.{option['code']}", text


def _demo(language: str) -> Iterator[tuple[str, str]]:
    from consult.services.seed import SECTION_TITLES, SURVEY_INTRO, SURVEY_TITLE

    yield "demo title", SURVEY_TITLE[language]
    yield "demo intro", SURVEY_INTRO[language]
    for key, titles in SECTION_TITLES.items():
        yield f"demo section {key}", titles[language]


def test_polish_interface_and_question_bank_are_formal_throughout():
    informal = [
        f"{where}: {text}  <- {POLISH_INFORMAL.search(text).group(0)}"
        for where, text in [*_ui("pl"), *_bank("pl"), *_demo("pl")]
        if POLISH_INFORMAL.search(text)
    ]
    assert not informal, "informal Polish (use Pan/Pani):\n" + "\n".join(informal)
    # And the formal address is really there, not just avoided everywhere.
    assert sum("Pan/Pani" in text or "Pana/Pani" in text for _w, text in _ui("pl")) >= 20


def test_other_languages_keep_one_register():
    problems = []
    for language, pattern in (
        ("ur", URDU_INFORMAL),
        ("bn", BENGALI_INFORMAL),
        ("pa", PUNJABI_INFORMAL),
        ("ar", ARABIC_PLURAL_TO_ONE),
    ):
        for where, text in [*_ui(language), *_bank(language)]:
            if pattern.search(text):
                problems.append(f"{language} {where}: {text}")
    assert not problems, "\n".join(problems)
