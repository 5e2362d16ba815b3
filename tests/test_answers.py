"""Parsing posted values into answers and storing them (the API the resident
pages and the officer paper-entry screen share)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_respond_support import build_survey
from werkzeug.datastructures import MultiDict

from consult.extensions import db
from consult.models import Answer, Question, Response, Survey
from consult.services import ServiceError
from consult.services.answers import (
    EMPTY,
    AnswerInvalid,
    AnswerTampered,
    ParsedAnswer,
    as_stored,
    form_values,
    load_answers,
    normalise_number,
    parse_answer,
    store_answer,
)
from consult.services.content import SurveyTexts
from consult.services.responses import start_response


@pytest.fixture
def quick(app):
    build_survey(app)
    build_survey(app, "other")
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug="quick")).one()
        questions = {q.key: q for q in survey.questions}
        yield survey, questions, SurveyTexts(survey)
        db.session.remove()


def parse(question: Question, data: dict, texts=None) -> ParsedAnswer:
    return parse_answer(question, MultiDict(data), "en", texts)


def test_single_choice(quick):
    _, q, _texts = quick
    assert parse(q["safe"], {"safe": "unsafe"}).codes == ("unsafe",)
    with pytest.raises(AnswerInvalid) as missing:
        parse(q["safe"], {})
    assert missing.value.errors[0].message == "Select an answer"
    assert missing.value.errors[0].field_id == "safe-very_safe"
    with pytest.raises(AnswerTampered):
        parse(q["safe"], {"safe": "burglary"})
    with pytest.raises(AnswerTampered):
        parse(q["safe"], MultiDict([("safe", "unsafe"), ("safe", "very_safe")]))
    # An optional question left blank is "no answer".
    assert parse(q["age_band"], {}) is EMPTY


def test_multiple_choice_with_an_exclusive_option(quick):
    _, q, texts = quick
    both = MultiDict([("contact", "online"), ("contact", "phoned")])
    assert parse(q["contact"], both).codes == ("phoned", "online")  # option order, not click order
    assert parse(q["contact"], {"contact": "none_of_these"}).codes == ("none_of_these",)
    with pytest.raises(AnswerInvalid) as mixed:
        parse(q["contact"], MultiDict([("contact", "phoned"), ("contact", "none_of_these")]), texts)
    assert "None of these" in mixed.value.errors[0].message
    assert mixed.value.errors[0].field_id == "contact-none_of_these"
    with pytest.raises(AnswerTampered):
        parse(q["contact"], MultiDict([("contact", "phoned"), ("contact", "carrier_pigeon")]))


def test_multiple_choice_limit(quick):
    _, q, _texts = quick
    q["contact"].settings = {"max_choices": 1}
    with pytest.raises(AnswerInvalid) as too_many:
        parse(q["contact"], MultiDict([("contact", "phoned"), ("contact", "online")]))
    assert too_many.value.errors[0].message == "Select up to 1 answers"


def test_grid(quick):
    _, q, texts = quick
    answer = parse(q["worry"], {"worry-burglary": "very_worried", "worry-mugging": "dont_know"})
    assert dict(answer.items) == {"burglary": "very_worried", "mugging": "dont_know"}
    with pytest.raises(AnswerInvalid) as missing:
        parse(q["worry"], {"worry-burglary": "very_worried"}, texts)
    assert [(e.item, e.field_id) for e in missing.value.errors] == [
        ("mugging", "worry-mugging-very_worried")
    ]
    assert "Being mugged" in missing.value.errors[0].message
    with pytest.raises(AnswerTampered):
        parse(
            q["worry"], {"worry-burglary": "very_worried", "worry-mugging": "x", "worry-arson": "x"}
        )
    with pytest.raises(AnswerTampered):
        parse(q["worry"], {"worry-burglary": "furious", "worry-mugging": "dont_know"})
    q["worry"].required = False
    assert dict(parse(q["worry"], {"worry-mugging": "not_worried"}).items) == {
        "mugging": "not_worried"
    }


def test_ranking(quick):
    _, q, texts = quick
    answer = parse(q["priorities"], {"priorities-rank-1": "drugs", "priorities-rank-2": "asb"})
    assert answer.codes == ("drugs", "asb")
    # A gap closes up: the order is what counts.
    assert parse(
        q["priorities"], {"priorities-rank-1": "drugs", "priorities-rank-3": "asb"}
    ).codes == (
        "drugs",
        "asb",
    )
    with pytest.raises(AnswerInvalid) as twice:
        parse(q["priorities"], {"priorities-rank-1": "drugs", "priorities-rank-2": "drugs"}, texts)
    assert "Drugs" in twice.value.errors[0].message
    assert twice.value.errors[0].field_id == "priorities-rank-2"
    with pytest.raises(AnswerTampered):
        parse(
            q["priorities"],
            {
                f"priorities-rank-{n}": code
                for n, code in enumerate(["drugs", "asb", "burglary", "something_else"], 1)
            },
        )
    with pytest.raises(AnswerTampered):
        parse(q["priorities"], {"priorities-rank-one": "drugs"})
    with pytest.raises(AnswerTampered):
        parse(q["priorities"], {"priorities-rank-1": "arson"})
    assert parse(q["priorities"], {}) is EMPTY


def test_text_strips_control_characters_and_enforces_the_limit(quick):
    _, q, _texts = quick
    answer = parse(q["priorities_other"], {"priorities_other": " Street\x00 lights\r\nplease\x1b "})
    assert answer.text == "Street lights\nplease"
    assert parse(q["priorities_other"], {"priorities_other": "x" * 50}).text == "x" * 50
    with pytest.raises(AnswerInvalid) as long:
        parse(q["priorities_other"], {"priorities_other": "x" * 51})
    assert long.value.errors[0].message == "Your answer must be 50 characters or fewer"
    assert parse(q["priorities_other"], {"priorities_other": "\x00\x01  "}) is EMPTY


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12.0), (" 7 ", 7.0), ("١٢", 12.0), ("০৯", 9.0), ("૧૦૦", 100.0), ("0", 0.0)],
)
def test_number_accepts_digits_from_any_script(quick, raw, expected):
    _, q, _texts = quick
    assert parse(q["years"], {"years": raw}).number == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("twelve", "Enter a number, like 5"),
        ("nan", "Enter a number, like 5"),
        ("inf", "Enter a number, like 5"),
        ("1e5", "Enter a number, like 5"),
        ("4.5", "Enter a whole number, like 5"),
        ("101", "Enter a number between 0 and 100"),
        ("-1", "Enter a number between 0 and 100"),
        ("9" * 400, "Enter a number, like 5"),
    ],
)
def test_number_refuses_what_is_not_a_number_in_range(quick, raw, message):
    _, q, _texts = quick
    with pytest.raises(AnswerInvalid) as bad:
        parse(q["years"], {"years": raw})
    assert bad.value.errors[0].message == message
    assert bad.value.errors[0].field_id == "years"


def test_decimal_numbers_when_allowed(quick):
    _, q, _texts = quick
    q["years"].settings = {"integer": False, "min": 0}
    assert parse(q["years"], {"years": "2,5"}).number == 2.5
    assert parse(q["years"], {"years": "1,250.5"}).number == 1250.5
    with pytest.raises(AnswerInvalid) as low:
        parse(q["years"], {"years": "-3"})
    assert low.value.errors[0].message == "Enter a number of 0 or more"
    assert normalise_number("١٬٢٣٤") == "1234"


def test_store_answer_follows_the_storage_contract_and_replaces(quick):
    survey, q, _texts = quick
    response = start_response(survey, "en")
    db.session.flush()

    def rows(key: str):
        return db.session.execute(
            sa.select(Answer.item_code, Answer.option_code, Answer.rank, Answer.number, Answer.text)
            .where(Answer.response_id == response.id, Answer.question_id == q[key].id)
            .order_by(Answer.item_code, Answer.rank, Answer.option_code)
        ).all()

    store_answer(response, q["safe"], parse(q["safe"], {"safe": "unsafe"}))
    store_answer(response, q["safe"], parse(q["safe"], {"safe": "very_safe"}))
    assert rows("safe") == [("", "very_safe", None, None, None)]
    store_answer(
        response,
        q["contact"],
        parse(q["contact"], MultiDict([("contact", "phoned"), ("contact", "online")])),
    )
    assert rows("contact") == [("", "online", None, None, None), ("", "phoned", None, None, None)]
    store_answer(
        response,
        q["worry"],
        parse(q["worry"], {"worry-burglary": "very_worried", "worry-mugging": "dont_know"}),
    )
    assert rows("worry") == [
        ("burglary", "very_worried", None, None, None),
        ("mugging", "dont_know", None, None, None),
    ]
    store_answer(
        response,
        q["priorities"],
        parse(q["priorities"], {"priorities-rank-1": "drugs", "priorities-rank-2": "asb"}),
    )
    assert rows("priorities") == [("", "drugs", 1, None, None), ("", "asb", 2, None, None)]
    store_answer(response, q["years"], parse(q["years"], {"years": "12"}))
    assert rows("years") == [("", "", None, 12.0, None)]
    store_answer(
        response,
        q["priorities_other"],
        parse(q["priorities_other"], {"priorities_other": "Lights"}),
    )
    assert rows("priorities_other") == [("", "", None, None, "Lights")]
    # An empty answer removes what was there.
    store_answer(response, q["contact"], EMPTY)
    assert rows("contact") == []
    loaded = load_answers(response, q.values())
    assert loaded["priorities"].codes == ("drugs", "asb")
    assert dict(loaded["worry"].items) == {"burglary": "very_worried", "mugging": "dont_know"}
    assert loaded["years"].number == 12.0
    assert "contact" not in loaded


def test_an_answer_as_stored_is_what_reading_it_back_gives(quick):
    # responses.with_answer builds the next page's path from as_stored instead of
    # reading every answer again; the two must never differ.
    survey, q, _texts = quick
    response = start_response(survey, "en")
    db.session.flush()
    posted = {
        "safe": {"safe": "unsafe"},
        # Ticked in another order than the options': read back in the options' order.
        "contact": MultiDict([("contact", "online"), ("contact", "phoned")]),
        "worry": {"worry-mugging": "dont_know", "worry-burglary": "very_worried"},
        "priorities": {"priorities-rank-1": "drugs", "priorities-rank-2": "asb"},
        "years": {"years": "12"},
        "priorities_other": {"priorities_other": "Lights"},
    }
    expected = {}
    for key, values in posted.items():
        parsed = parse(q[key], values)
        store_answer(response, q[key], parsed)
        expected[key] = as_stored(q[key], parsed)
    assert expected["contact"].codes == ("phoned", "online")
    assert load_answers(response, q.values()) == expected
    assert as_stored(q["contact"], EMPTY) == EMPTY


def test_form_values_round_trip(quick):
    _, q, _texts = quick
    samples = {
        "safe": {"safe": "unsafe"},
        "contact": MultiDict([("contact", "phoned"), ("contact", "online")]),
        "worry": {"worry-burglary": "very_worried", "worry-mugging": "dont_know"},
        "priorities": {"priorities-rank-1": "drugs", "priorities-rank-2": "asb"},
        "years": {"years": "12"},
        "priorities_other": {"priorities_other": "Lights"},
    }
    for key, data in samples.items():
        parsed = parse(q[key], data)
        assert (
            parse(
                q[key],
                MultiDict([(k, v) for k, vs in form_values(q[key], parsed).items() for v in vs]),
            )
            == parsed
        )


def test_store_refuses_another_surveys_question_and_a_submitted_response(quick):
    survey, q, _texts = quick
    other = db.session.scalars(sa.select(Survey).filter_by(slug="other")).one()
    foreign = next(x for x in other.questions if x.key == "safe")
    response = start_response(survey, "en")
    db.session.flush()
    with pytest.raises(AnswerTampered):
        store_answer(response, foreign, parse(foreign, {"safe": "unsafe"}))
    response.status = "submitted"
    with pytest.raises(ServiceError):
        store_answer(response, q["safe"], parse(q["safe"], {"safe": "unsafe"}))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0
    assert db.session.get(Response, response.id).status == "submitted"
