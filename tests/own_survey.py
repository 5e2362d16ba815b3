"""A survey an officer built: their own questions of every type plus the
bank's age, sex and ward questions, answered by 40 residents skewed to older
men (nobody aged 16-24, two wards of 21 answered, "in person" never ticked),
with free text in Urdu and Polish and answers a spreadsheet would run as
formulas. The expected figures in the tests are worked out by hand from the
pattern below, with men weighted 0.5 and women 2 (see `HAND_WEIGHTS`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from conftest import PASSWORD

from consult.extensions import db
from consult.models import Answer, Partnership, Response, Role, Survey, User
from consult.services.accounts import create_partnership, create_user
from consult.services.benchmarks import import_benchmarks
from consult.services.surveys import add_bank_question, add_question, add_section, create_survey

SLUG = "own-questions"
URDU = "سڑک کی روشنی بہت خراب ہے"
POLISH = "Oświetlenie ulic jest za słabe, proszę to naprawić"
FORMULA = '=HYPERLINK("http://evil.example","click")'
MINUS = "-too dark near the park"
BENCHMARKS = """variable,category,population_share,base,source
sex,Female,0.51,1000,test census
sex,Male,0.49,1000,test census
age_band,16-24,0.20,1000,test census
age_band,25-34,0.19,1000,test census
age_band,35-44,0.18,1000,test census
age_band,45-54,0.15,1000,test census
age_band,55-64,0.12,1000,test census
age_band,65-74,0.09,1000,test census
age_band,75+,0.07,1000,test census
area,Abbey,0.5,1000,test census
area,Castle,0.3,1000,test census
area,Thurncourt,0.2,1000,test census
"""


def _scale(codes: list[str], missing: tuple[str, ...] = ()) -> list[dict]:
    return [
        {
            "code": c,
            "label": {"en": c.replace("_", " ").capitalize()},
            "is_missing": c in missing,
        }
        for c in codes
    ]


def build_own_survey(partnership: str = "north-csp") -> int:
    """Call inside an app context; returns the survey id."""
    p = db.session.scalars(sa.select(Partnership).filter_by(slug=partnership)).first()
    if p is None:
        p = create_partnership(partnership, "North Community Safety Partnership")
    for role in (Role.OFFICER, Role.VIEWER):
        email = f"{role.value}@{partnership}.example"
        if db.session.scalars(sa.select(User).filter_by(email=email)).first() is None:
            create_user(email, PASSWORD, partnership=p, role=role)
    import_benchmarks(p, BENCHMARKS, note="test")
    survey = create_survey(
        p, slug=SLUG, title={"en": "Our own questions"}, languages=["en", "ur", "pl"]
    )
    about = add_section(survey, "about", {"en": "About you"})
    add_bank_question(survey, about, "age_band")
    add_bank_question(survey, about, "sex")
    add_bank_question(survey, about, "area")
    main = add_section(survey, "main", {"en": "Your views"})
    add_question(
        survey,
        main,
        key="feel_safe",
        type="scale",
        prompt={"en": "How safe do you feel in the town centre?"},
        options=_scale(
            ["very_safe", "fairly_safe", "a_bit_unsafe", "very_unsafe", "dont_know"], ("dont_know",)
        ),
        settings={"positive": ["very_safe", "fairly_safe"], "positive_label": "Feel safe"},
    )
    add_question(
        survey,
        main,
        key="contact",
        type="multiple",
        prompt={"en": "How have you contacted us?"},
        options=_scale(["phoned", "online", "in_person", "none"]),
    )
    add_question(
        survey,
        main,
        key="services",
        type="grid",
        prompt={"en": "How good are these?"},
        options=_scale(["good", "ok", "poor", "dont_know"], ("dont_know",)),
        items=[
            {"code": "parks", "label": {"en": "Parks"}},
            {"code": "lighting", "label": {"en": "Street lighting"}},
        ],
    )
    add_question(
        survey,
        main,
        key="prio",
        type="ranking",
        prompt={"en": "What should come first?"},
        settings={"top_n": 2},
        options=_scale(["asb", "burglary", "speeding", "drugs"]),
    )
    add_question(survey, main, key="years", type="number", prompt={"en": "Years lived here?"})
    add_question(survey, main, key="comments", type="text", prompt={"en": "Anything else?"})
    db.session.flush()
    q = {x.key: x for x in survey.questions}
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def respond(i: int, language: str, channel: str, answers: dict) -> None:
        r = Response(
            survey_id=survey.id,
            reference=f"OWN{i:04d}",
            language=language,
            channel=channel,
            status="submitted",
            submitted_at=when + timedelta(minutes=i),
        )
        db.session.add(r)
        db.session.flush()
        for key, value in answers.items():
            question = q[key]
            if question.type == "multiple":
                for code in value:
                    db.session.add(
                        Answer(response_id=r.id, question_id=question.id, option_code=code)
                    )
            elif question.type == "ranking":
                for rank, code in enumerate(value, start=1):
                    db.session.add(
                        Answer(
                            response_id=r.id, question_id=question.id, option_code=code, rank=rank
                        )
                    )
            elif question.type == "grid":
                for item, code in value.items():
                    db.session.add(
                        Answer(
                            response_id=r.id,
                            question_id=question.id,
                            item_code=item,
                            option_code=code,
                        )
                    )
            elif question.type == "number":
                db.session.add(Answer(response_id=r.id, question_id=question.id, number=value))
            elif question.type == "text":
                db.session.add(Answer(response_id=r.id, question_id=question.id, text=value))
            else:
                db.session.add(Answer(response_id=r.id, question_id=question.id, option_code=value))

    # 28 men aged 65 and over, all in Abbey.
    men_safe = ["very_safe"] * 14 + ["fairly_safe"] * 10 + ["a_bit_unsafe"] * 2 + ["dont_know"] * 2
    for i in range(28):
        answers = {
            "age_band": "age_65_74" if i % 2 else "age_75_plus",
            "sex": "male",
            "area": "abbey",
            "feel_safe": men_safe[i],
            "contact": ["phoned"] if i < 20 else ["none"],
            "services": {"parks": "good", "lighting": "ok" if i < 20 else "dont_know"},
            "prio": ["asb", "burglary"],
            "years": 40.0 if i < 14 else 50.0,
        }
        if i == 0:
            answers["comments"] = FORMULA
        if i == 1:
            answers["comments"] = MINUS
        respond(i, "en", "paper" if i < 8 else "online", answers)
    # 12 women aged 25-64, in Castle; three answered in Urdu, three in Polish.
    women_safe = ["very_unsafe"] * 6 + ["a_bit_unsafe"] * 4 + ["fairly_safe"] * 2
    for j in range(12):
        answers = {
            "age_band": ("age_25_34", "age_35_44", "age_45_54", "age_55_64")[j % 4],
            "sex": "female",
            "area": "castle",
            "feel_safe": women_safe[j],
            "services": {"parks": "poor", "lighting": "poor"},
            "prio": ["drugs", "speeding"],
            "years": 5.0,
        }
        if j < 10:
            answers["contact"] = ["phoned", "online"] if j < 4 else ["online"]
        language = "ur" if j < 3 else "pl" if j < 6 else "en"
        if j < 3:
            answers["comments"] = URDU
        elif j < 6:
            answers["comments"] = POLISH
        respond(28 + j, language, "online", answers)
    db.session.commit()
    return survey.id


def hand_weights(survey: Survey, frame):
    """Men 0.5, women 2: the weights the hand-worked figures assume."""
    import pandas as pd

    sex = frame["sex"]
    return pd.Series([0.5 if s == "male" else 2.0 for s in sex], index=frame.index, dtype=float)
