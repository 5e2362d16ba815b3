"""Shared pieces for the resident-journey tests: a small survey with one
question of every type, and a resident who drives it through the test client
the way a browser would (CSRF token, PRG redirects)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import MultiDict

from consult.extensions import db
from consult.models import Answer, Partnership, Question, Response, Survey, SurveyStatus
from consult.services.accounts import create_partnership
from consult.services.surveys import add_question, add_section, create_survey

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def labels(en: str, ur: str | None = None) -> dict[str, str]:
    return {"en": en, "ur": ur} if ur else {"en": en}


def build_survey(
    app: Flask,
    slug: str = "quick",
    *,
    status: str = SurveyStatus.OPEN,
    languages: tuple[str, ...] = ("en", "ur", "pl"),
    audience: str = "residents",
    requires_invitation: bool = False,
    resume_days: int = 28,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    partnership: str = "north-csp",
) -> int:
    """A survey with every question type, a condition, about-you and special
    sections. Returns its id."""
    with app.app_context():
        owner = db.session.scalars(sa.select(Partnership).filter_by(slug=partnership)).first()
        if owner is None:
            owner = create_partnership(partnership, "North Community Safety Partnership")
        survey = create_survey(
            owner,
            slug=slug,
            title=labels("Quick safety survey", "فوری حفاظتی سروے"),
            languages=list(languages),
            audience=audience,
            intro=labels("Tell us how safe you feel."),
        )
        main = add_section(survey, "main", labels("Feeling safe", "محفوظ محسوس کرنا"))
        add_question(
            survey,
            main,
            key="safe",
            type="single",
            required=True,
            prompt=labels(
                "How safe do you feel after dark?", "اندھیرے کے بعد آپ کتنا محفوظ محسوس کرتے ہیں؟"
            ),
            options=[
                {"code": "very_safe", "label": labels("Very safe", "بہت محفوظ")},
                {"code": "fairly_safe", "label": labels("Fairly safe", "کافی محفوظ")},
                {"code": "unsafe", "label": labels("Unsafe", "غیر محفوظ")},
                {
                    "code": "dont_know",
                    "label": labels("Don't know", "معلوم نہیں"),
                    "is_missing": True,
                },
            ],
        )
        add_question(
            survey,
            main,
            key="contact",
            type="multiple",
            prompt=labels("How have you contacted the police?"),
            options=[
                {"code": "phoned", "label": labels("Phoned 101")},
                {"code": "online", "label": labels("Online")},
                {"code": "none_of_these", "label": labels("None of these"), "exclusive": True},
            ],
        )
        add_question(
            survey,
            main,
            key="worry",
            type="grid",
            required=True,
            prompt=labels("How worried are you about…"),
            options=[
                {"code": "very_worried", "label": labels("Very worried")},
                {"code": "not_worried", "label": labels("Not worried")},
                {"code": "dont_know", "label": labels("Don't know"), "is_missing": True},
            ],
            items=[
                {"code": "burglary", "label": labels("Burglary")},
                {"code": "mugging", "label": labels("Being mugged")},
            ],
        )
        add_question(
            survey,
            main,
            key="priorities",
            type="ranking",
            settings={"top_n": 3},
            prompt=labels("What should come first?"),
            options=[
                {"code": "asb", "label": labels("Anti-social behaviour")},
                {"code": "burglary", "label": labels("Burglary")},
                {"code": "drugs", "label": labels("Drugs")},
                {"code": "something_else", "label": labels("Something else")},
            ],
        )
        add_question(
            survey,
            main,
            key="priorities_other",
            type="text",
            settings={"max_length": 50},
            show_if={"question": "priorities", "in": ["something_else"]},
            prompt=labels("What else should come first?"),
        )
        add_question(
            survey,
            main,
            key="years",
            type="number",
            settings={"min": 0, "max": 100},
            prompt=labels("How many years have you lived here?"),
        )
        about = add_section(survey, "about_you", labels("About you"), kind="about_you")
        add_question(
            survey,
            about,
            key="age_band",
            type="single",
            demographic="age_band",
            prompt=labels("How old are you?"),
            options=[
                {"code": "under_16", "label": labels("Under 16")},
                {"code": "age_16_64", "label": labels("16 to 64")},
                {"code": "age_65_plus", "label": labels("65 or over")},
                {
                    "code": "prefer_not_to_say",
                    "label": labels("Prefer not to say"),
                    "is_missing": True,
                },
            ],
        )
        special = add_section(survey, "special", labels("More about you"), kind="special")
        add_question(
            survey,
            special,
            key="religion",
            type="single",
            demographic="religion",
            special_category=True,
            prompt=labels("What is your religion?"),
            options=[
                {"code": "no_religion", "label": labels("No religion")},
                {"code": "muslim", "label": labels("Muslim")},
                {
                    "code": "prefer_not_to_say",
                    "label": labels("Prefer not to say"),
                    "is_missing": True,
                },
            ],
        )
        survey.status = status
        survey.requires_invitation = requires_invitation
        survey.resume_days = resume_days
        survey.opens_at = (
            opens_at if opens_at is not None else datetime.now(UTC) - timedelta(days=1)
        )
        survey.closes_at = (
            closes_at if closes_at is not None else datetime.now(UTC) + timedelta(days=30)
        )
        db.session.commit()
        return survey.id


class Resident:
    """One browser answering one survey."""

    def __init__(self, client: Any, slug: str = "quick") -> None:
        self.client = client
        self.slug = slug
        self._token: str | None = None

    def url(self, tail: str = "") -> str:
        return f"/s/{self.slug}{tail}"

    def token(self) -> str:
        if self._token is None:
            page = self.client.get(self.url("/resume")).get_data(as_text=True)
            match = CSRF.search(page)
            assert match, "no CSRF token on the resume page"
            self._token = match.group(1)
        return self._token

    def post(self, tail: str, data: dict[str, Any] | None = None, **kwargs: Any):
        fields = data.copy() if isinstance(data, MultiDict) else dict(data or {})
        fields.setdefault("csrf_token", self.token())
        return self.client.post(self.url(tail), data=fields, **kwargs)

    def start(self) -> str:
        response = self.post("")
        assert response.status_code == 302, response.status_code
        return response.location

    def answer(
        self,
        key: str,
        data: dict[str, Any] | None = None,
        *,
        action: str = "continue",
        query: str = "",
    ):
        fields = data.copy() if isinstance(data, MultiDict) else dict(data or {})
        fields["action"] = action
        return self.post(f"/q/{key}{query}", fields)

    def go(self, key: str, data: dict[str, Any] | None = None) -> str:
        response = self.answer(key, data)
        assert response.status_code == 302, (
            key,
            response.status_code,
            response.get_data(as_text=True)[:2000],
        )
        return response.location

    def consent(self, choice: str) -> str:
        response = self.post("/consent", {"consent": choice, "action": "continue"})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response.location

    def complete_quick(self, *, age: str = "age_16_64", consent: str = "yes") -> str:
        """Answer the quick survey to the check page; returns its location."""
        self.start()
        self.go("safe", {"safe": "fairly_safe"})
        self.go("contact", {"contact": ["phoned", "online"]})
        self.go("worry", {"worry-burglary": "very_worried", "worry-mugging": "not_worried"})
        self.go("priorities", {"priorities-rank-1": "drugs", "priorities-rank-2": "asb"})
        self.go("years", {"years": "12"})
        location = self.go("age_band", {"age_band": age})
        if location.endswith("/consent"):
            location = self.consent(consent)
            if consent == "yes":
                location = self.go("religion", {"religion": "no_religion"})
        return location

    def submit(self):
        return self.post("/submit")


def survey_id(app: Flask, slug: str = "quick") -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Survey.id).filter_by(slug=slug)).one()


def responses(app: Flask, slug: str = "quick") -> list[Response]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Response).join(Survey).where(Survey.slug == slug).order_by(Response.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def stored(
    app: Flask, key: str, slug: str = "quick"
) -> list[tuple[str, str, int | None, float | None, str | None]]:
    """The Answer rows for one question, as (item, option, rank, number, text)."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Answer.item_code, Answer.option_code, Answer.rank, Answer.number, Answer.text)
            .join(Question, Question.id == Answer.question_id)
            .join(Survey, Survey.id == Question.survey_id)
            .where(Question.key == key, Survey.slug == slug)
            .order_by(Answer.item_code, Answer.rank, Answer.option_code)
        ).all()
        return [tuple(r) for r in rows]


def page_text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
