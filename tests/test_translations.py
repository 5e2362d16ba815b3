"""The UI catalogues stay complete and usable: the .pot matches the code, every
catalogue translates every message (a fuzzy entry counts as untranslated,
because `pybabel compile` silently leaves it out and the page shows English),
compiles, keeps the placeholders, and the translation status of every
language is recorded for residents to read."""

from __future__ import annotations

import io
import json
import re
import shlex
from collections import Counter
from contextlib import chdir
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from consult.i18n import DEFAULT_LANGUAGE, LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
TRANSLATED = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
# %(name)s, %s, %% (Python), {name} (str.format), %{name} (GOV.UK Frontend's JavaScript).
PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[sdif]|%[sdif%]|%\{[A-Za-z_]\w*\}|\{[A-Za-z_]\w*\}")


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def message_ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


def extract_command(output: Path) -> list[str]:
    """The `pybabel extract` line of `make extract-messages`, writing elsewhere."""
    makefile = (ROOT / "Makefile").read_text()
    line = next(line for line in makefile.splitlines() if "pybabel extract" in line)
    words = shlex.split(line.strip())
    words = ["pybabel"] + words[words.index("extract") :]
    index = words.index("-o")
    words[index + 1] = str(output)
    return words


@pytest.fixture(scope="module")
def fresh_pot(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    output = tmp_path_factory.mktemp("pot") / "messages.pot"
    command = extract_command(output)
    assert command[1] == "extract" and "babel.cfg" in command, command
    with chdir(ROOT):
        CommandLineInterface().run(command)
    return read_catalog(output)


@pytest.fixture(scope="module")
def pot() -> Catalog:
    return read_catalog(TRANSLATIONS / "messages.pot")


def test_the_template_holds_every_string_in_the_code(fresh_pot: Catalog, pot: Catalog) -> None:
    in_code, in_pot = message_ids(fresh_pot), message_ids(pot)
    missing = sorted(map(str, in_code - in_pot))
    gone = sorted(map(str, in_pot - in_code))
    assert not missing and not gone, (
        "translations/messages.pot is stale: run `make extract-messages`, then translate.\n"
        f"in the code, not in the .pot: {missing}\nin the .pot, no longer in the code: {gone}"
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalogue_translates_every_message(pot: Catalog, lang: str) -> None:
    catalog = read_catalog(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    assert str(catalog.locale) == lang
    missing = sorted(map(str, message_ids(pot) - message_ids(catalog)))
    assert not missing, f"{lang}: not merged from the .pot (run `make extract-messages`): {missing}"
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(form.strip() for form in forms):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    # pybabel compile drops fuzzy entries without a word: residents would read English.
    assert not fuzzy, f"{lang}: fuzzy entries, left out of the compiled catalogue: {fuzzy[:5]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalogue_keeps_the_placeholders(lang: str) -> None:
    catalog = read_catalog(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    broken = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        wanted = placeholders(ids[-1])
        for form in strings:
            # A singular form may spell out "one" instead of %(num)s; no form may invent one.
            found = placeholders(form)
            if len(ids) > 1:
                if not set(found) <= set(wanted) | set(placeholders(ids[0])):
                    broken.append((ids[0], form))
            elif found != wanted:
                broken.append((ids[0], form))
    assert not broken, f"{lang}: placeholders differ from the English: {broken}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalogue_compiles_and_translates(lang: str) -> None:
    catalog = read_catalog(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    errors = [(message.id, error) for message, problems in catalog.check() for error in problems]
    assert not errors, f"{lang}: {errors}"
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = GNUTranslations(buffer)
    assert compiled.gettext("Continue") == catalog.get("Continue").string != "Continue"


def test_the_translation_status_of_every_language_is_recorded() -> None:
    status = json.loads((TRANSLATIONS / "status.json").read_text(encoding="utf-8"))
    assert set(status) == set(LANGUAGES), f"status.json languages: {sorted(status)}"
    assert status[DEFAULT_LANGUAGE]["status"] == "source"
    for code in TRANSLATED:
        entry = status[code]
        assert entry["status"] in {"machine", "reviewed"}, (code, entry)
        if entry["status"] == "reviewed":
            assert entry.get("reviewed_by"), f"{code}: reviewed, but by whom?"
        header = (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
        assert f"Translator-Status: {entry['status']}" in header, f"{code}: .po header disagrees"


def test_machine_drafted_languages_are_named_in_the_accessibility_statement(client) -> None:
    status = json.loads((TRANSLATIONS / "status.json").read_text(encoding="utf-8"))
    page = client.get("/accessibility?lang=ur").get_data(as_text=True)
    for code, entry in status.items():
        # Each name written in itself, marked with its language.
        named = f'<li lang="{code}" dir="{LANGUAGES[code].direction}">{LANGUAGES[code].native_name}</li>'
        assert (named in page) == (entry["status"] == "machine"), (code, entry["status"])


@pytest.mark.parametrize("lang", TRANSLATED)
def test_pages_are_shown_translated(client, lang: str) -> None:
    catalog = read_catalog(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    page = client.get(f"/accessibility?lang={lang}").get_data(as_text=True)
    for english in ("Accessibility statement", "Skip to main content", "Other ways to answer"):
        translated = catalog.get(english).string
        assert translated in page, f"{lang}: {english!r} shown untranslated (is the .mo compiled?)"
