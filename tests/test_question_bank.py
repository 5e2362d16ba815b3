"""The standard question bank: packaged content and the validator."""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from consult.question_bank import (
    BANK_LANGUAGES,
    DEMOGRAPHIC_VARIABLES,
    QUESTION_TYPES,
    SPECIAL_CATEGORY_VARIABLES,
    TOPICS,
    BankError,
    BankItem,
    QuestionBank,
    clear_bank_cache,
    default_bank_path,
    load_bank,
    load_benchmark_categories,
    validate_bank,
)

REPO = Path(__file__).resolve().parents[1]
BANK_JSON = REPO / "consult" / "data" / "question_bank.json"
CENSUS_CSV = REPO / "consult" / "data" / "leicester_census2021_margins.csv"

# Unicode blocks of each language's script.
ARABIC_BLOCKS = [(0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)]
SCRIPT_BLOCKS: dict[str, list[tuple[int, int]]] = {
    "gu": [(0x0A80, 0x0AFF)],  # Gujarati
    "pa": [(0x0A00, 0x0A7F)],  # Gurmukhi
    "bn": [(0x0980, 0x09FF)],  # Bengali
    "ur": ARABIC_BLOCKS,
    "ar": ARABIC_BLOCKS,
}
# Letters Urdu writes that Arabic does not, and the Arabic forms Urdu replaces.
URDU_ONLY_LETTERS = set("ٹڈڑںےہھیکگچپژ")
ARABIC_FORMS_NOT_URDU = set("يكهةى")
LATIN_LANGS = ("pl", "so")


def _raw() -> dict[str, Any]:
    with BANK_JSON.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return _raw()


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank()


@pytest.fixture(scope="module")
def census() -> dict[str, set[str]]:
    return load_benchmark_categories(CENSUS_CSV)


def _is_ward(item_key: str, what: str) -> bool:
    """Ward names are proper nouns, shown as written in every language."""
    return item_key == "area" and what.startswith("option ") and what != "option prefer_not_to_say"


def _strings(data: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(item key, what, texts by language) for every user-visible string."""
    for entry in data["items"]:
        key = entry["key"]
        yield key, "prompt", entry["prompt"]
        if "hint" in entry:
            yield key, "hint", entry["hint"]
        for option in entry.get("options", []):
            yield key, f"option {option['code']}", option["label"]
        for row in entry.get("items", []):
            yield key, f"row {row['code']}", row["label"]


def _in_blocks(ch: str, blocks: list[tuple[int, int]]) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in blocks)


# --------------------------------------------------------------------------- packaged bank


def test_packaged_bank_validates_against_census_categories(
    raw: dict[str, Any], census: dict[str, set[str]]
) -> None:
    assert validate_bank(raw) == []
    assert validate_bank(raw, census) == []


def test_load_bank_is_cached_and_reads_the_packaged_file(bank: QuestionBank) -> None:
    assert load_bank() is bank
    assert default_bank_path() == BANK_JSON.resolve()
    assert bank.version == 1
    assert bank.languages == BANK_LANGUAGES
    assert len(bank) == len(_raw()["items"]) >= 27


def test_translation_status_marks_machine_translations(bank: QuestionBank) -> None:
    assert bank.translation_status == {
        "en": "reviewed",
        **{lang: "machine" for lang in BANK_LANGUAGES if lang != "en"},
    }
    assert not bank.is_machine_translated("en")
    assert bank.is_machine_translated("so")


def test_required_items_are_present(bank: QuestionBank) -> None:
    wanted = {
        "safe_after_dark", "safe_day", "worry", "asb", "police_job", "police_council_dealing",
        "police_agree", "priorities", "priorities_other", "service_satisfaction", "comments",
        "victim_last_year", "contact_police", "years_in_area", "age_band", "sex",
        "gender_identity", "area", "tenure", "main_language", "english_proficiency", "ethnic_group",
        "religion",
        "disability", "sexual_orientation", "partner_type", "org_area_covered",
    }  # fmt: skip
    assert wanted <= set(bank.keys)


def test_keys_types_topics_and_codes(bank: QuestionBank) -> None:
    keys = [i.key for i in bank]
    assert len(keys) == len(set(keys))
    for item in bank:
        assert len(item.key) <= 40 and item.key == item.key.lower()
        assert item.type in QUESTION_TYPES
        assert item.topic in TOPICS
        codes = [o.code for o in item.options]
        assert len(codes) == len(set(codes)), item.key
        rows = [r.code for r in item.items]
        assert len(rows) == len(set(rows)), item.key
        # Codes must also be valid survey keys (consult.services.surveys.KEY_PATTERN).
        assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,59}", c) for c in codes + rows), item.key


def test_every_string_in_all_eight_languages(raw: dict[str, Any]) -> None:
    assert raw["languages"] == list(BANK_LANGUAGES)
    for key, what, texts in _strings(raw):
        assert set(texts) == set(BANK_LANGUAGES), (key, what)
        for lang in BANK_LANGUAGES:
            assert isinstance(texts[lang], str) and texts[lang].strip(), (key, what, lang)


def test_non_english_strings_are_translated(raw: dict[str, Any]) -> None:
    for key, what, texts in _strings(raw):
        if _is_ward(key, what):
            assert len(set(texts.values())) == 1, (key, what)  # the ward's own name
            continue
        for lang in BANK_LANGUAGES[1:]:
            assert texts[lang] != texts["en"], (key, what, lang)


def test_strings_are_written_in_each_languages_script(raw: dict[str, Any]) -> None:
    for key, what, texts in _strings(raw):
        if _is_ward(key, what):
            continue
        for lang, blocks in SCRIPT_BLOCKS.items():
            letters = [ch for ch in texts[lang] if ch.isalpha()]
            native = [ch for ch in letters if _in_blocks(ch, blocks)]
            assert native, (key, what, lang, texts[lang])
            # Letters from any other script are allowed only for "NHS"-style names.
            foreign = "".join(ch for ch in letters if not _in_blocks(ch, blocks))
            assert foreign in ("", "NHS"), (key, what, lang, foreign)
        for lang in LATIN_LANGS:
            letters = [ch for ch in texts[lang] if ch.isalpha()]
            non_latin = [ch for ch in letters if "LATIN" not in unicodedata.name(ch, "")]
            assert not non_latin, (key, what, lang, non_latin)


def test_urdu_and_arabic_are_not_mixed_up(raw: dict[str, Any]) -> None:
    for key, what, texts in _strings(raw):
        assert not set(texts["ar"]) & URDU_ONLY_LETTERS, (key, what, texts["ar"])
        assert not set(texts["ur"]) & ARABIC_FORMS_NOT_URDU, (key, what, texts["ur"])
        if what == "prompt":
            assert set(texts["ur"]) & URDU_ONLY_LETTERS, (key, texts["ur"])


def test_polish_uses_polish_letters_somewhere(raw: dict[str, Any]) -> None:
    polish = "".join(texts["pl"] for _, what, texts in _strings(raw) if what == "prompt")
    assert set(polish) & set("ąćęłńóśźż")


def test_text_falls_back_to_english() -> None:
    entry = copy.deepcopy(_raw()["items"][0])
    del entry["prompt"]["gu"]
    item = BankItem.from_dict(entry)
    assert item.text("prompt", "gu") == entry["prompt"]["en"]
    assert item.text("prompt", "xx") == entry["prompt"]["en"]
    assert item.text("prompt", "pa") == entry["prompt"]["pa"]
    assert item.text("hint", "pa") == ""
    assert item.options[0].text("zz") == entry["options"][0]["label"]["en"]
    with pytest.raises(ValueError):
        item.text("label", "en")


def test_bank_is_read_only_but_copies_are_editable(bank: QuestionBank) -> None:
    item = bank["safe_after_dark"]
    with pytest.raises(TypeError):
        item.prompt["en"] = "changed"
    with pytest.raises(TypeError):
        item.settings["top_n"] = 1
    copied = item.to_dict()
    copied["prompt"]["en"] = "changed"
    assert bank["safe_after_dark"].prompt["en"] != "changed"
    assert BankItem.from_dict(item.to_dict()) == item


def test_get_and_by_topic(bank: QuestionBank) -> None:
    assert bank.get("no_such_question") is None
    with pytest.raises(KeyError):
        bank["no_such_question"]
    grouped = bank.by_topic()
    assert list(grouped) == [t for t in TOPICS if t in grouped]
    assert sum(len(v) for v in grouped.values()) == len(bank)
    assert [i.key for i in grouped["feeling_safe"]][:2] == ["safe_after_dark", "safe_day"]
    assert {i.key for i in grouped["about_organisation"]} == {"partner_type", "org_area_covered"}


# --------------------------------------------------------------------------- content


def test_feeling_safe_codes(bank: QuestionBank) -> None:
    for key in ("safe_after_dark", "safe_day"):
        item = bank[key]
        assert item.option_codes == (
            "very_safe", "fairly_safe", "a_bit_unsafe", "very_unsafe", "never_walks_alone",
            "dont_know",
        )  # fmt: skip
        assert item.missing_codes == {"dont_know"}
    assert bank["safe_after_dark"].verified
    assert bank["police_job"].verified


def test_grids(bank: QuestionBank) -> None:
    worry = bank["worry"]
    assert worry.type == "grid" and len(worry.items) == 7
    assert worry.option_codes == (
        "very_worried", "fairly_worried", "not_very_worried", "not_at_all_worried", "dont_know",
    )  # fmt: skip
    asb = bank["asb"]
    assert asb.type == "grid" and len(asb.items) == 7
    assert asb.option_codes[:4] == (
        "very_big_problem", "fairly_big_problem", "not_very_big_problem", "not_a_problem",
    )  # fmt: skip
    assert len(bank["police_agree"].items) == 4
    assert "havent_used" in bank["service_satisfaction"].option_codes


def test_confidence_and_priorities(bank: QuestionBank) -> None:
    assert bank["police_job"].option_codes == (
        "excellent", "good", "fair", "poor", "very_poor", "dont_know",
    )  # fmt: skip
    assert bank["police_council_dealing"].option_codes[0] == "strongly_agree"
    assert bank["police_council_dealing"].option_codes[4] == "strongly_disagree"
    priorities = bank["priorities"]
    assert priorities.type == "ranking" and priorities.settings["top_n"] == 3
    assert len(priorities.options) == 13
    assert priorities.option_codes[-1] == "something_else"
    assert bank["priorities_other"].settings == {"max_length": 500}
    assert bank["comments"].type == "text" and bank["comments"].settings["max_length"] == 2000
    assert bank["years_in_area"].settings == {"min": 0, "max": 100}


def test_exclusive_and_missing_options(bank: QuestionBank) -> None:
    contact = bank["contact_police"]
    assert contact.type == "multiple"
    none = contact.option("none_of_these")
    assert none is not None and none.exclusive
    assert bank["victim_last_year"].option_codes == ("yes", "no", "prefer_not_to_say")
    for item in bank:
        for option in item.options:
            if option.code in ("dont_know", "prefer_not_to_say"):
                assert option.is_missing, (item.key, option.code)
                assert option.benchmark_category is None
            if item.type == "multiple" and option.code in ("prefer_not_to_say", "none_of_these"):
                assert option.exclusive, (item.key, option.code)


def test_demographic_questions_offer_prefer_not_to_say(bank: QuestionBank) -> None:
    demographic = [i for i in bank if i.demographic]
    assert {i.demographic for i in demographic} >= {
        "age_band", "sex", "gender_identity", "ethnic_group", "religion", "disability",
        "sexual_orientation", "tenure", "english_proficiency", "area", "partner_type",
    }  # fmt: skip
    for item in demographic:
        assert item.demographic in DEMOGRAPHIC_VARIABLES
        pnts = item.option("prefer_not_to_say")
        assert pnts is not None, item.key
        assert pnts.is_missing and pnts.benchmark_category is None
    for item in bank.by_topic()["about_you"]:
        assert item.demographic, item.key


def test_special_category_flags(bank: QuestionBank) -> None:
    special = {i.key for i in bank if i.special_category}
    assert special == {"ethnic_group", "religion", "disability", "sexual_orientation"}
    for item in bank:
        assert item.special_category == (item.demographic in SPECIAL_CATEGORY_VARIABLES)
    assert bank["ethnic_group"].hint is not None


def test_benchmark_categories_exist_in_census_csv(
    bank: QuestionBank, census: dict[str, set[str]]
) -> None:
    checked = 0
    for item in bank:
        if not item.demographic or item.demographic not in census:
            assert not item.benchmark_map, item.key
            continue
        allowed = census[item.demographic]
        used = set(item.benchmark_map.values())
        assert used <= allowed, (item.key, used - allowed)
        # Every population category is reachable from some answer ("Not answered"
        # is the Census's own non-response, matched by "Prefer not to say").
        assert allowed - {"Not answered"} <= used, (item.key, allowed - used)
        checked += 1
    assert checked == 9  # sex, age, ethnicity, religion, disability, tenure, English, SO, area


def test_specific_benchmark_mappings(bank: QuestionBank, census: dict[str, set[str]]) -> None:
    age = bank["age_band"].benchmark_map
    assert age["age_16_24"] == "16-24" and age["age_75_plus"] == "75+"
    assert bank["age_band"].option("under_16") is not None
    assert "under_16" not in age
    assert bank["sex"].benchmark_map == {"female": "Female", "male": "Male"}
    ethnic = bank["ethnic_group"]
    assert len([o for o in ethnic.options if not o.is_missing]) == 19
    assert ethnic.benchmark_map["asian_indian"] == "Asian, Asian British or Asian Welsh"
    assert ethnic.benchmark_map["white_british"] == "White"
    assert bank["religion"].benchmark_map["other_religion"] == "Other religion"
    disability = bank["disability"].benchmark_map
    assert disability == {
        "yes_a_lot": "Disabled under the Equality Act",
        "yes_a_little": "Disabled under the Equality Act",
        "no": "Not disabled under the Equality Act",
    }
    assert bank["sexual_orientation"].benchmark_map["other"] == "All other sexual orientations"
    area = bank["area"]
    assert area.type == "area"
    wards = [o for o in area.options if not o.is_missing]
    assert len(wards) == 21 == len(census["area"])
    names = {o.code: o.benchmark_category for o in wards}
    assert names["braunstone_park_rowley_fields"] == "Braunstone Park & Rowley Fields"
    assert names["humberstone_hamilton"] == "Humberstone & Hamilton"
    assert all(set(o.label.values()) == {o.benchmark_category} for o in wards)


def test_partner_types(bank: QuestionBank) -> None:
    assert set(bank["partner_type"].option_codes) == {
        "police", "council", "fire", "health", "probation", "voluntary", "housing", "business",
        "education", "faith", "other", "prefer_not_to_say",
    }  # fmt: skip
    assert set(bank["org_area_covered"].option_codes) == {
        "citywide", "several_wards", "one_ward", "outside_area",
    }  # fmt: skip


# --------------------------------------------------------------------------- validator


def _item(data: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in data["items"] if i["key"] == key)
    return found


def _option(data: dict[str, Any], key: str, code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(o for o in _item(data, key)["options"] if o["code"] == code)
    return found


def _set(key: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        _item(data, key)[field] = value

    return mutate


def _duplicate_key(data: dict[str, Any]) -> None:
    data["items"].append(copy.deepcopy(_item(data, "comments")))


def _duplicate_option(data: dict[str, Any]) -> None:
    options = _item(data, "police_job")["options"]
    options.append(copy.deepcopy(options[0]))


def _duplicate_row(data: dict[str, Any]) -> None:
    rows = _item(data, "worry")["items"]
    rows.append(copy.deepcopy(rows[0]))


def _drop_prompt_language(data: dict[str, Any]) -> None:
    del _item(data, "safe_day")["prompt"]["so"]


def _drop_option_language(data: dict[str, Any]) -> None:
    del _option(data, "religion", "sikh")["label"]["bn"]


def _blank_hint_language(data: dict[str, Any]) -> None:
    _item(data, "ethnic_group")["hint"]["ur"] = "  "


def _drop_row_language(data: dict[str, Any]) -> None:
    del _item(data, "asb")["items"][2]["label"]["ar"]


def _drop_top_n(data: dict[str, Any]) -> None:
    _item(data, "priorities")["settings"] = {}


def _drop_pnts(data: dict[str, Any]) -> None:
    item = _item(data, "tenure")
    item["options"] = [o for o in item["options"] if o["code"] != "prefer_not_to_say"]


def _bad_benchmark(data: dict[str, Any]) -> None:
    _option(data, "religion", "hindu")["benchmark_category"] = "Hinduism"


def _missing_not_flagged(data: dict[str, Any]) -> None:
    _option(data, "police_job", "dont_know")["is_missing"] = False


def _none_not_exclusive(data: dict[str, Any]) -> None:
    _option(data, "contact_police", "none_of_these")["exclusive"] = False


def _benchmark_on_missing(data: dict[str, Any]) -> None:
    _option(data, "sex", "prefer_not_to_say")["benchmark_category"] = "Female"


def _benchmark_without_demographic(data: dict[str, Any]) -> None:
    _option(data, "police_job", "good")["benchmark_category"] = "Female"


def _bad_code(data: dict[str, Any]) -> None:
    _option(data, "police_job", "fair")["code"] = "Fair Enough"


def _digit_code(data: dict[str, Any]) -> None:
    _option(data, "age_band", "age_16_24")["code"] = "16_24"


def _duplicate_demographic(data: dict[str, Any]) -> None:
    extra = copy.deepcopy(_item(data, "sex"))
    extra["key"] = "sex_again"
    data["items"].append(extra)


def _unknown_language_text(data: dict[str, Any]) -> None:
    _item(data, "comments")["prompt"]["fr"] = "Autre chose ?"


def _grid_options_on_text(data: dict[str, Any]) -> None:
    _item(data, "comments")["options"] = copy.deepcopy(_item(data, "police_job")["options"])


BAD_CASES: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("unknown type", _set("police_job", "type", "dropdown"), ["police_job", "dropdown"]),
    ("unknown topic", _set("police_job", "topic", "weather"), ["police_job", "weather"]),
    ("duplicate key", _duplicate_key, ["duplicate key", "comments"]),
    ("duplicate option code", _duplicate_option, ["police_job", "duplicate", "excellent"]),
    ("duplicate grid row", _duplicate_row, ["worry", "duplicate", "home_broken_into"]),
    ("prompt missing language", _drop_prompt_language, ["safe_day", "prompt", "'so'"]),
    ("label missing language", _drop_option_language, ["religion", "sikh", "'bn'"]),
    ("hint empty language", _blank_hint_language, ["ethnic_group", "hint", "'ur'"]),
    ("row missing language", _drop_row_language, ["asb", "rubbish_litter", "'ar'"]),
    ("unexpected language", _unknown_language_text, ["comments", "'fr'"]),
    ("grid without items", _set("worry", "items", []), ["worry", "grid without items"]),
    ("ranking without top_n", _drop_top_n, ["priorities", "top_n"]),
    ("top_n too large", _set("priorities", "settings", {"top_n": 99}), ["priorities", "99"]),
    ("bad max_length", _set("comments", "settings", {"max_length": 0}), ["comments", "max_length"]),
    ("min above max", _set("years_in_area", "settings", {"min": 5, "max": 1}), ["years_in_area"]),
    ("no prefer_not_to_say", _drop_pnts, ["tenure", "prefer_not_to_say"]),
    ("special flag missing", _set("religion", "special_category", False), ["religion", "special"]),
    ("special flag wrong", _set("tenure", "special_category", True), ["tenure", "special"]),
    ("unknown demographic", _set("tenure", "demographic", "shoe_size"), ["tenure", "shoe_size"]),
    ("duplicate demographic", _duplicate_demographic, ["sex_again", "'sex'"]),
    ("benchmark not in csv", _bad_benchmark, ["religion", "hindu", "Hinduism"]),
    ("missing option not flagged", _missing_not_flagged, ["police_job", "dont_know", "is_missing"]),
    ("none_of_these not exclusive", _none_not_exclusive, ["contact_police", "none_of_these"]),
    ("benchmark on non-answer", _benchmark_on_missing, ["sex", "prefer_not_to_say"]),
    ("benchmark without demographic", _benchmark_without_demographic, ["police_job", "good"]),
    ("bad code", _bad_code, ["police_job", "Fair Enough"]),
    ("code starting with a digit", _digit_code, ["age_band", "16_24", "letter"]),
    ("bad key", _set("comments", "key", "Comments Box"), ["Comments Box"]),
    ("long key", _set("comments", "key", "c" * 41), ["c" * 41, "40"]),
    ("options on text", _grid_options_on_text, ["comments", "no options"]),
    ("rows on single", _set("police_job", "items", [{"code": "x", "label": {}}]), ["police_job"]),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=name) for name, m, e in BAD_CASES],
)
def test_validator_catches(
    raw: dict[str, Any],
    census: dict[str, set[str]],
    mutate: Callable[[dict[str, Any]], None],
    expected: list[str],
) -> None:
    data = copy.deepcopy(raw)
    mutate(data)
    problems = validate_bank(data, census)
    assert problems, "the validator found nothing"
    assert any(all(part in p for part in expected) for p in problems), problems


def test_benchmark_check_only_when_categories_given(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    _bad_benchmark(data)
    assert validate_bank(data) == []
    assert validate_bank(data, {"religion": {"Hindu"}})
    # One flat collection of labels works too.
    flat = {c for cats in load_benchmark_categories().values() for c in cats}
    assert validate_bank(raw, flat) == []
    assert any("Hinduism" in p for p in validate_bank(data, flat))
    # A variable the benchmarks do not cover at all is named as such.
    census = load_benchmark_categories()
    del census["tenure"]
    problems = validate_bank(raw, census)
    assert problems and all("tenure" in p for p in problems)
    assert any("no benchmark categories" in p for p in problems)


def test_validator_rejects_wrong_shapes() -> None:
    assert validate_bank([]) == ["the bank must be a JSON object"]
    problems = validate_bank({"version": "1", "languages": [], "items": []})
    assert any("version" in p for p in problems)
    assert any("languages" in p for p in problems)
    assert any("items" in p for p in problems)
    problems = validate_bank(
        {
            "version": 1,
            "languages": ["en", "xx"],
            "translation_status": {"en": "done"},
            "items": [1],
        }
    )
    assert any("xx" in p for p in problems)
    assert any("'done'" in p for p in problems)
    assert any("item #0" in p for p in problems)


def test_load_bank_from_path_and_rejects_invalid(tmp_path: Path) -> None:
    good = tmp_path / "bank.json"
    good.write_text(json.dumps(_raw(), ensure_ascii=False), encoding="utf-8")
    loaded = load_bank(good)
    assert loaded.keys == load_bank().keys
    assert load_bank(str(good)) is loaded

    data = _raw()
    _drop_top_n(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(BankError) as caught:
        load_bank(bad)
    assert any("priorities" in p and "top_n" in p for p in caught.value.problems)

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(BankError):
        load_bank(broken)
    with pytest.raises(BankError):
        load_bank(tmp_path / "missing.json")
    clear_bank_cache()
    assert load_bank().keys == loaded.keys
