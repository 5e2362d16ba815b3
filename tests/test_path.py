"""The path engine: which questions a respondent is asked, given their answers."""

from __future__ import annotations

from typing import Any

from consult.models import Option, Question, Section
from consult.services.answers import ParsedAnswer
from consult.services.path import (
    CONSENT,
    compute_path,
    first_incomplete,
    resume_step,
)


def section(key: str, position: int, kind: str = "standard") -> Section:
    return Section(key=key, position=position, kind=kind)


_ids = iter(range(1, 10_000))


def question(
    key: str,
    sec: Section,
    position: int,
    *,
    show_if: dict[str, Any] | None = None,
    special: bool = False,
    required: bool = False,
    demographic: str | None = None,
    type: str = "single",
) -> Question:
    q = Question(
        id=next(_ids),
        key=key,
        position=position,
        type=type,
        show_if=show_if,
        special_category=special,
        required=required,
        demographic=demographic,
        settings={},
    )
    q.section = sec
    q.options = [Option(code="x", kind="choice", position=1)]
    return q


def codes(*values: str) -> ParsedAnswer:
    return ParsedAnswer(codes=tuple(values))


MAIN = section("main", 1)
ABOUT = section("about_you", 2, "about_you")
SPECIAL = section("special", 3, "special")


def survey() -> list[Question]:
    return [
        question("safe", MAIN, 1, required=True),
        question("priorities", MAIN, 2, type="ranking"),
        question(
            "priorities_other",
            MAIN,
            3,
            show_if={"question": "priorities", "in": ["something_else"]},
        ),
        question("age_band", ABOUT, 4, demographic="age_band"),
        question("ethnic_group", SPECIAL, 5, special=True),
        question("religion", SPECIAL, 6, special=True),
    ]


def keys(path) -> list[str]:
    return [step.key for step in path.steps]


def test_questions_follow_section_order_then_position():
    late_section = section("late", 9)
    early_section = section("early", 0)
    qs = [
        question("b", late_section, 1),
        question("a", early_section, 7),
        question("c", late_section, 2),
    ]
    assert keys(compute_path(qs, {}, None)) == ["a", "b", "c"]


def test_a_condition_on_an_earlier_answer_adds_the_follow_up():
    qs = survey()
    without = compute_path(qs, {"priorities": codes("drugs")}, True)
    assert "priorities_other" not in without.question_keys
    assert [q.key for q in without.skipped] == ["priorities_other"]
    chosen = compute_path(qs, {"priorities": codes("drugs", "something_else")}, True)
    assert (
        chosen.question_keys.index("priorities_other")
        == chosen.question_keys.index("priorities") + 1
    )


def test_consent_step_sits_before_the_first_special_question_and_holds_them_back():
    path = compute_path(survey(), {}, None)
    assert keys(path) == ["safe", "priorities", "age_band", CONSENT]
    assert [q.key for q in path.pending_special] == ["ethnic_group", "religion"]
    # "Question 3 of about 5": the held-back questions count towards the estimate.
    assert path.estimated_total == 5
    assert path.question_number("age_band") == 3


def test_consent_given_asks_the_special_questions_after_the_consent_step():
    path = compute_path(survey(), {}, True)
    assert keys(path) == ["safe", "priorities", "age_band", CONSENT, "ethnic_group", "religion"]


def test_consent_declined_skips_special_questions_but_keeps_the_consent_step_to_change():
    path = compute_path(survey(), {}, False)
    assert keys(path) == ["safe", "priorities", "age_band", CONSENT]
    assert {q.key for q in path.skipped} == {"priorities_other", "ethnic_group", "religion"}


def test_under_16_never_sees_consent_or_special_questions_whatever_the_consent():
    for consent in (None, True, False):
        path = compute_path(survey(), {"age_band": codes("under_16")}, consent)
        assert keys(path) == ["safe", "priorities", "age_band"], consent
        assert path.under_16
        assert not path.has_consent_step


def test_a_question_can_name_its_own_under_16_codes():
    qs = survey()
    qs[3].settings = {"under_16_codes": ["age_0_15"]}
    assert compute_path(qs, {"age_band": codes("age_0_15")}, True).under_16
    assert not compute_path(qs, {"age_band": codes("under_16")}, True).under_16


def test_no_consent_step_when_every_special_question_is_hidden():
    qs = survey()
    qs[4].show_if = {"question": "safe", "answered": False}
    qs[5].show_if = {"question": "safe", "answered": False}
    path = compute_path(qs, {"safe": codes("x")}, None)
    assert not path.has_consent_step


def test_conditions_all_any_not_answered_not_in_and_numbers():
    a = question("a", MAIN, 1)
    grid = question("grid", MAIN, 2, type="grid")
    years = question("years", MAIN, 3, type="number")
    cond = {
        "all": [
            {"question": "a", "answered": True},
            {
                "any": [
                    {"question": "grid", "item": "burglary", "in": ["very"]},
                    {"question": "years", "gte": 10},
                ]
            },
            {"not": {"question": "a", "in": ["no"]}},
            {"question": "a", "not_in": ["maybe"]},
        ]
    }
    target = question("target", MAIN, 4, show_if=cond)
    qs = [a, grid, years, target]

    def shown(answers: dict[str, ParsedAnswer]) -> bool:
        return "target" in compute_path(qs, answers, None).question_keys

    assert shown({"a": codes("yes"), "years": ParsedAnswer(number=10)})
    assert shown({"a": codes("yes"), "grid": ParsedAnswer(items={"burglary": "very"})})
    assert not shown({"a": codes("yes"), "grid": ParsedAnswer(items={"mugging": "very"})})
    assert not shown({"a": codes("yes"), "years": ParsedAnswer(number=9)})
    assert not shown({"a": codes("no"), "years": ParsedAnswer(number=20)})
    assert not shown({"a": codes("maybe"), "years": ParsedAnswer(number=20)})
    assert not shown({"years": ParsedAnswer(number=20)})


def test_a_condition_never_looks_forward_or_at_a_dropped_answer():
    first = question("first", MAIN, 1)
    second = question("second", MAIN, 2, show_if={"question": "first", "in": ["yes"]})
    third = question("third", MAIN, 3, show_if={"question": "second", "answered": True})
    forward = question("forward", MAIN, 4, show_if={"question": "later", "answered": True})
    later = question("later", MAIN, 5)
    qs = [first, second, third, forward, later]
    # "second" still has a stale answer, but "first" no longer leads to it.
    path = compute_path(qs, {"first": codes("no"), "second": codes("x"), "later": codes("x")}, None)
    assert path.question_keys == ["first", "later"]


def test_a_malformed_condition_shows_the_question_rather_than_hiding_it():
    qs = [
        question("a", MAIN, 1, show_if={"question": 42}),
        question("b", MAIN, 2, show_if=["nonsense"]),
    ]
    assert compute_path(qs, {}, None).question_keys == ["a", "b"]


def test_stakeholder_layout_has_no_consent_step():
    org = section("about_organisation", 2, "about_organisation")
    qs = [question("safe", MAIN, 1), question("partner_type", org, 2, demographic="partner_type")]
    path = compute_path(qs, {}, None)
    assert keys(path) == ["safe", "partner_type"]


def test_first_incomplete_finds_a_missing_required_answer_then_the_consent():
    qs = survey()
    path = compute_path(qs, {}, None)
    assert first_incomplete(path, {}, None).key == "safe"
    answered = {"safe": codes("x")}
    assert first_incomplete(path, answered, None).kind == CONSENT
    declined = compute_path(qs, answered, False)
    assert first_incomplete(declined, answered, False) is None


def test_resume_step_carries_on_after_the_last_answer():
    qs = survey()
    answers = {"safe": codes("x"), "priorities": codes("drugs")}
    path = compute_path(qs, answers, None)
    assert resume_step(path, answers, None).key == "age_band"
    # A required question left empty earlier comes first.
    answers = {"priorities": codes("drugs"), "age_band": codes("16_64")}
    path = compute_path(qs, answers, None)
    assert resume_step(path, answers, None).key == "safe"
    # Everything done: nothing left but checking.
    answers = {"safe": codes("x"), "priorities": codes("drugs"), "age_band": codes("under_16")}
    path = compute_path(qs, answers, None)
    assert resume_step(path, answers, None) is None


def test_step_navigation():
    path = compute_path(survey(), {}, True)
    assert path.step_after("age_band").kind == CONSENT
    assert path.step_after(CONSENT, CONSENT).key == "ethnic_group"
    assert path.step_before("ethnic_group").kind == CONSENT
    assert path.step_before("safe") is None
    assert path.step_after("religion") is None
