"""The data model. Every row of partnership data hangs off exactly one
`Partnership` (the tenant); services reach it only through queries scoped to
the signed-in user's partnership (see `consult.security`).

Stored values never depend on language: options are stable codes, and every
prompt, hint and label lives in `TextEntry`, one row per language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

# The vocabulary is defined once, in consult.vocabulary, and re-exported here
# (see __all__) so that `from consult.models import SurveyStatus` keeps working.
from .vocabulary import (
    CHOICE_TYPES,
    COMPARABLE_TYPES,
    DEMOGRAPHIC_VARIABLES,
    NUMERIC_TYPES,
    ROLE_RANK,
    SPECIAL_CATEGORY_VARIABLES,
    Audience,
    Channel,
    JobStatus,
    OptionKind,
    QuestionType,
    ResponseStatus,
    Role,
    SectionKind,
    Stream,
    SurveyStatus,
    TranslationStatus,
)

if TYPE_CHECKING:
    # Flask-SQLAlchemy's db.Model is built at run time; mypy sees the declarative base.
    from .extensions import Base as Model
else:
    Model = db.Model


__all__ = [
    "CHOICE_TYPES",
    "COMPARABLE_TYPES",
    "NUMERIC_TYPES",
    "DEMOGRAPHIC_VARIABLES",
    "ROLE_RANK",
    "SPECIAL_CATEGORY_VARIABLES",
    "Audience",
    "Channel",
    "OptionKind",
    "QuestionType",
    "ResponseStatus",
    "Role",
    "SectionKind",
    "Stream",
    "SurveyStatus",
    "TranslationStatus",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Partnership(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    colour: Mapped[str | None] = mapped_column(sa.String(7))
    # Where residents post a paper questionnaire back (printed on every form).
    return_address: Mapped[str | None] = mapped_column(sa.Text)
    # Officers and viewers must use two-factor sign-in too (admins always must).
    require_two_factor: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="partnership")
    surveys: Mapped[list[Survey]] = relationship(back_populates="partnership")


class User(Model):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Set by a temporary password (command line): the next sign-in must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Two-factor (TOTP): the secret is stored when set-up starts and counts
    # only once a code from it has been entered (totp_enabled_at set).
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The last time step a code was accepted for: a code is never accepted twice.
    totp_last_counter: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Membership(Model):
    __table_args__ = (sa.UniqueConstraint("user_id", "partnership_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnership.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(20))
    # An admin deactivates a person's access to their partnership only; the
    # account itself ends when no active membership is left.
    active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    partnership: Mapped[Partnership] = relationship(back_populates="memberships")


class OfficerSession(Model):
    """A signed-in session, held on the server: the cookie carries only a
    random token whose hash is stored here, so a session can be ended (sign-out,
    password change, deactivation) and its idle and absolute limits are
    checked against times the browser cannot change."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class RecoveryCode(Model):
    """One of a user's single-use two-factor recovery codes, stored hashed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class PasswordToken(Model):
    """A one-time set-password link: single use, expiring, stored hashed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The partnership whose admin issued it; None when issued on the command line.
    partnership_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("partnership.id", ondelete="CASCADE")
    )
    # False for a person who already had an account: the link then only
    # welcomes them to the partnership and can never change their password.
    sets_password: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class SignInThrottle(Model):
    """Failed sign-in attempts per key (an account at an address, or an
    address): the next attempt waits longer after each failure. Keys are
    hashed, so neither typed email addresses nor client addresses are stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    next_allowed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class PartnerOrganisation(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    # A code of consult.vocabulary.PARTNER_KINDS (police, council, fire, ...).
    kind: Mapped[str] = mapped_column(sa.String(30))


class Survey(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    # Public URL /s/<slug>: unique across the whole service.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    audience: Mapped[str] = mapped_column(sa.String(20), default=Audience.RESIDENTS)
    status: Mapped[str] = mapped_column(sa.String(20), default=SurveyStatus.DRAFT)
    default_language: Mapped[str] = mapped_column(sa.String(8), default="en")
    # Comma-separated language codes, default language first.
    languages_csv: Mapped[str] = mapped_column("languages", sa.String(100), default="en")
    opens_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    retention_until: Mapped[date | None] = mapped_column(sa.Date)
    # Days a saved, unsubmitted response can be resumed.
    resume_days: Mapped[int] = mapped_column(default=28)
    requires_invitation: Mapped[bool] = mapped_column(default=False)
    # Waves: the survey this one repeats (same question keys), and its number.
    baseline_id: Mapped[int | None] = mapped_column(sa.ForeignKey("survey.id", ondelete="SET NULL"))
    wave: Mapped[int] = mapped_column(default=1)
    retention_applied_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    partnership: Mapped[Partnership] = relationship(back_populates="surveys")
    sections: Mapped[list[Section]] = relationship(
        back_populates="survey", order_by="Section.position", cascade="all, delete-orphan"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan"
    )
    texts: Mapped[list[TextEntry]] = relationship(
        back_populates="survey", cascade="all, delete-orphan"
    )

    @property
    def languages(self) -> list[str]:
        return [code for code in self.languages_csv.split(",") if code]

    @languages.setter
    def languages(self, codes: list[str]) -> None:
        ordered = [self.default_language] + [c for c in codes if c != self.default_language]
        self.languages_csv = ",".join(dict.fromkeys(ordered))


class Section(Model):
    __table_args__ = (sa.UniqueConstraint("survey_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    # A SectionKind: "about_you" sections hold equality-monitoring questions;
    # "special" ones special-category questions, asked only after explicit consent.
    kind: Mapped[str] = mapped_column(sa.String(20), default=SectionKind.STANDARD)

    survey: Mapped[Survey] = relationship(back_populates="sections")
    questions: Mapped[list[Question]] = relationship(
        back_populates="section", order_by="Question.position"
    )


class Question(Model):
    __table_args__ = (sa.UniqueConstraint("survey_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(sa.ForeignKey("section.id", ondelete="SET NULL"))
    # The variable name in every export, DataFrame and SPSS file.
    key: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    type: Mapped[str] = mapped_column(sa.String(20))
    required: Mapped[bool] = mapped_column(default=False)
    # A condition on earlier answers, e.g. {"question": "age_band", "in": ["16-24"]};
    # None means always shown. Evaluated only by consult.services.path.
    show_if: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    demographic: Mapped[str | None] = mapped_column(sa.String(40))
    special_category: Mapped[bool] = mapped_column(default=False)
    # Asked only of people aged 16 and over (the Census asks gender identity,
    # sexual orientation and religion of 16+ only). Always true for
    # special-category questions; consult.services.path applies it.
    adults_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Type-specific settings: top_n, max_length, min, max, unit ...
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    bank_key: Mapped[str | None] = mapped_column(sa.String(60))

    survey: Mapped[Survey] = relationship(back_populates="questions")
    section: Mapped[Section | None] = relationship(back_populates="questions")
    options: Mapped[list[Option]] = relationship(
        back_populates="question", order_by="Option.position", cascade="all, delete-orphan"
    )

    @property
    def choices(self) -> list[Option]:
        return [o for o in self.options if o.kind == OptionKind.CHOICE]

    @property
    def items(self) -> list[Option]:
        return [o for o in self.options if o.kind == OptionKind.ITEM]


class Option(Model):
    __table_args__ = (sa.UniqueConstraint("question_id", "kind", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(10), default=OptionKind.CHOICE)
    code: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    # "None of these" / "Prefer not to say": cannot be combined with other choices.
    exclusive: Mapped[bool] = mapped_column(default=False)
    # "Prefer not to say" / "Don't know": a non-answer for analysis.
    is_missing: Mapped[bool] = mapped_column(default=False)
    # The population benchmark category this code counts towards, if any.
    benchmark_category: Mapped[str | None] = mapped_column(sa.String(200))

    question: Mapped[Question] = relationship(back_populates="options")


class TextEntry(Model):
    """One piece of survey content in one language. `key` names what it is:
    `survey.title`, `section.<key>.title`, `q.<key>.prompt`, `q.<key>.hint`,
    `o.<question>.<code>` (options), `i.<question>.<code>` (grid items)."""

    __table_args__ = (sa.UniqueConstraint("survey_id", "key", "language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(8))
    value: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default=TranslationStatus.REVIEWED)
    # Digest of the default-language text this translation was made from, so a
    # later change to the source marks the translation outdated.
    source_digest: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    survey: Mapped[Survey] = relationship(back_populates="texts")


class AddressSample(Model):
    """One reproducible draw of addresses for a survey's sample stream: the
    seed and the per-stratum population and drawn counts are kept, so the draw
    can be repeated and every design weight explained."""

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    # SHA-256 of the uploaded address file: the same file and seed draw the same addresses.
    file_digest: Mapped[str] = mapped_column(sa.String(64), default="")
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    stratum_column: Mapped[str | None] = mapped_column(sa.String(60))
    # {stratum: {"population": N_h, "drawn": n_h}}: N_h addresses in the file, n_h drawn.
    strata: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    addresses: Mapped[list[SampleAddress]] = relationship(
        back_populates="sample", cascade="all, delete-orphan"
    )


class SampleAddress(Model):
    """A drawn address. Only drawn addresses are kept (data minimisation); the
    stratum's population count stays on `AddressSample.strata`."""

    __table_args__ = (sa.UniqueConstraint("sample_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(
        sa.ForeignKey("address_sample.id", ondelete="CASCADE"), index=True
    )
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(sa.String(80))
    # Address lines joined by newlines, as they go on the letter.
    lines: Mapped[str] = mapped_column(sa.Text)
    postcode: Mapped[str] = mapped_column(sa.String(10))
    area: Mapped[str] = mapped_column(sa.String(80), default="")
    stratum: Mapped[str] = mapped_column(sa.String(80), default="")
    # n_h / N_h of its stratum: the design weight starts from its inverse.
    selection_probability: Mapped[float] = mapped_column(sa.Float)

    sample: Mapped[AddressSample] = relationship(back_populates="addresses")


class Invitation(Model):
    """A code printed on a letter: one submitted response per code. Codes of a
    sample stream belong to one drawn address."""

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    response_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("response.id", ondelete="SET NULL"), unique=True
    )
    address_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("sample_address.id", ondelete="CASCADE"), unique=True
    )
    # A cancelled code (moved house, asked not to be contacted) opens nothing.
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class OutreachChannel(Model):
    """A tracked way of reaching residents (a partner organisation, an event, a
    community centre, a youth council): its own link, QR code and poster, and
    the paper batches handed out through it."""

    __table_args__ = (sa.UniqueConstraint("survey_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    # A code of consult.vocabulary.OUTREACH_KINDS.
    kind: Mapped[str] = mapped_column(sa.String(30))
    # The short, unguessable part of the channel's link (/s/<slug>/c/<token>).
    token: Mapped[str] = mapped_column(sa.String(16), unique=True)
    archived_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class OutreachPlan(Model):
    """A survey's outreach settings: the effective base the officer counts as
    usable for a group (consult.analysis.targets). Advice only: nothing here
    ever closes a survey or turns anyone away. No row means the defaults."""

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), unique=True
    )
    usable_base: Mapped[int] = mapped_column(default=100)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Response(Model):
    # No IP address or user agent is ever stored with answers.
    # An imported row is stored once per survey: a second import of the same
    # file meets this constraint instead of adding the rows again.
    __table_args__ = (sa.UniqueConstraint("survey_id", "import_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    # Shown to the resident on the confirmation page; used for erasure requests.
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    language: Mapped[str] = mapped_column(sa.String(8))
    channel: Mapped[str] = mapped_column(sa.String(20), default=Channel.ONLINE)
    # Open (the public link, a channel's link, paper, imports) or sample (a
    # drawn address's code): consult.vocabulary.Stream.
    stream: Mapped[str] = mapped_column(sa.String(10), default=Stream.OPEN)
    outreach_channel_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outreach_channel.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20), default=ResponseStatus.IN_PROGRESS)
    # The resident's consent to special-category questions: None = not asked yet.
    special_consent: Mapped[bool | None] = mapped_column()
    resume_code_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # A unique key per submission attempt: a replayed or racing submit finds the
    # constraint, never a second row.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    submitted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Paper and face-to-face entry.
    entered_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    batch: Mapped[str | None] = mapped_column(sa.String(60))
    keying: Mapped[int] = mapped_column(default=1)
    # Imported responses: "id:<external_id>" from the file, or "row:<digest>"
    # of the row where the file has no ids; and the digest of the row's
    # content, so a changed row under a known id is refused, not skipped.
    import_key: Mapped[str | None] = mapped_column(sa.String(80))
    import_digest: Mapped[str | None] = mapped_column(sa.String(64))

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(Model):
    # Empty strings, not NULLs, in the key columns: NULLs never collide in a
    # unique constraint, so duplicates would slip through on both engines.
    __table_args__ = (
        sa.UniqueConstraint("response_id", "question_id", "item_code", "option_code"),
        # Results and exports read one question's answers for a range of
        # responses at a time (`frames.read_answers`); with every value but
        # free text in this index, that read does not touch the table.
        sa.Index(
            "ix_answer_question",
            "question_id",
            "response_id",
            "item_code",
            "option_code",
            "rank",
            "number",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("response.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(sa.String(60), default="")
    option_code: Mapped[str] = mapped_column(sa.String(60), default="")
    rank: Mapped[int | None] = mapped_column()
    number: Mapped[float | None] = mapped_column(sa.Float)
    text: Mapped[str | None] = mapped_column(sa.Text)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()


class BenchmarkSet(Model):
    """A version of a partnership's population benchmarks; results name the
    version they were weighted to."""

    __table_args__ = (sa.UniqueConstraint("partnership_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    rows: Mapped[list[PopulationBenchmark]] = relationship(
        back_populates="benchmark_set", cascade="all, delete-orphan"
    )


class PopulationBenchmark(Model):
    __table_args__ = (sa.UniqueConstraint("benchmark_set_id", "variable", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_set_id: Mapped[int] = mapped_column(
        sa.ForeignKey("benchmark_set.id", ondelete="CASCADE"), index=True
    )
    variable: Mapped[str] = mapped_column(sa.String(40))
    category: Mapped[str] = mapped_column(sa.String(200))
    population_share: Mapped[float] = mapped_column(sa.Float)
    base: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default="")
    source: Mapped[str] = mapped_column(sa.Text, default="")

    benchmark_set: Mapped[BenchmarkSet] = relationship(back_populates="rows")


class AuditEvent(Model):
    """Who did what and when. Never holds a resident's answers or contact details."""

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(sa.String(60))
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )

    user: Mapped[User | None] = relationship()


class WeightingScheme(Model):
    """The weighting an officer chose for a survey's results: which population
    margins to rake to and how far weights may be trimmed. Kept, never edited,
    so every published figure can name the scheme that produced it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    variables: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Trimming bounds as multiples of the mean weight; None means no trimming.
    lower_bound: Mapped[float | None] = mapped_column(sa.Float)
    upper_bound: Mapped[float | None] = mapped_column(sa.Float)
    benchmark_set_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("benchmark_set.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    is_current: Mapped[bool] = mapped_column(default=True)

    benchmark_set: Mapped[BenchmarkSet | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class PriorityDecision(Model):
    """A step towards priorities the strategy can rely on: `acknowledged`
    (an officer read the representation flags) or `final`. Rows are only ever
    added, so the history of who decided what, on which results, stays."""

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The results state the decision was taken on (responses, scheme, benchmarks).
    state_key: Mapped[str] = mapped_column(sa.String(200), default="")
    n_responses: Mapped[int] = mapped_column(default=0)
    # acknowledged: the flagged groups at that moment; final: the priority order.
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship()


class SurveySnapshot(Model):
    """What stays of a survey's results once its retention date has passed and
    the raw responses are deleted: the totals, taken just before deletion, so
    results pages and reports can still say how many answered and how."""

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), unique=True
    )
    taken_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    n_responses: Mapped[int] = mapped_column(default=0)
    # The weighting the weighted figures used: variables, benchmark version, bounds.
    weighting: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    effective_n: Mapped[float | None] = mapped_column(sa.Float)

    aggregates: Mapped[list[RetainedAggregate]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan"
    )


class RetainedAggregate(Model):
    """One count of a snapshot: respondents choosing `option_code` (for grid
    `item_code`) in question `question_key`, out of `base` who answered it,
    unweighted and weighted. Free text keeps only how many answered; numbers
    and rankings keep their (weighted) mean in `mean`."""

    __table_args__ = (
        sa.UniqueConstraint("snapshot_id", "question_key", "item_code", "option_code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_snapshot.id", ondelete="CASCADE"), index=True
    )
    question_key: Mapped[str] = mapped_column(sa.String(60))
    item_code: Mapped[str] = mapped_column(sa.String(60), default="")
    option_code: Mapped[str] = mapped_column(sa.String(60), default="")
    count: Mapped[int] = mapped_column(default=0)
    base: Mapped[int] = mapped_column(default=0)
    weighted_count: Mapped[float] = mapped_column(sa.Float, default=0.0)
    weighted_base: Mapped[float] = mapped_column(sa.Float, default=0.0)
    mean: Mapped[float | None] = mapped_column(sa.Float)

    snapshot: Mapped[SurveySnapshot] = relationship(back_populates="aggregates")

    @property
    def weighted_share(self) -> float | None:
        return self.weighted_count / self.weighted_base if self.weighted_base else None


class TextTheme(Model):
    """A theme an officer reads for in one free-text question's answers
    ("Street lighting"). Ticked per answer (`AnswerTheme`), it becomes a
    weighted variable with its own results, like a multiple-choice question."""

    __table_args__ = (sa.UniqueConstraint("question_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(60))
    label: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class AnswerTheme(Model):
    """A theme ticked on one response's answer to the theme's question."""

    __table_args__ = (sa.UniqueConstraint("theme_id", "response_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(sa.ForeignKey("text_theme.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("response.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class AnswerCorrection(Model):
    """One change an officer made to a stored answer: cleaning a response, or
    settling a difference between two keyings of a paper form. The old and new
    values are answers, so they live here, with the response (deleted with it),
    and not in the audit log, which records only who changed what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("response.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"))
    # "cleaning"; or how a keying difference was settled: "first", "second", "paper".
    source: Mapped[str] = mapped_column(sa.String(20))
    old_value: Mapped[str] = mapped_column(sa.Text, default="")
    new_value: Mapped[str] = mapped_column(sa.Text, default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    question: Mapped[Question] = relationship()
    user: Mapped[User | None] = relationship()


class PostcodeLookupSet(Model):
    """A version of a partnership's postcode -> ward table, uploaded as CSV;
    postcode questions map answers through the newest version."""

    __table_args__ = (sa.UniqueConstraint("partnership_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class PostcodeWard(Model):
    __table_args__ = (sa.UniqueConstraint("lookup_set_id", "postcode"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lookup_set_id: Mapped[int] = mapped_column(
        sa.ForeignKey("postcode_lookup_set.id", ondelete="CASCADE"), index=True
    )
    # Normalised: upper case, one space before the inward code ("LE1 5WW").
    postcode: Mapped[str] = mapped_column(sa.String(8))
    ward_code: Mapped[str] = mapped_column(sa.String(60))


class WardArea(Model):
    """A ward (a benchmark category of `area`) and the larger area the
    partnership groups it into. When too few residents of a ward answer,
    weighting groups wards into these areas instead of dropping wards."""

    __table_args__ = (sa.UniqueConstraint("partnership_id", "ward"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    ward: Mapped[str] = mapped_column(sa.String(200))
    area: Mapped[str] = mapped_column(sa.String(120))


class ResultsPreference(Model):
    """How an officer chose to read a survey's results: whether the sample and
    open streams are also shown combined (off unless chosen)."""

    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True
    )
    combine_streams: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ResultsCache(Model):
    """A survey's computed results, shared by every app server: stored once
    per results state (responses, questionnaire, weighting scheme, benchmarks,
    stream), so a state computed anywhere is read everywhere. A new state is a
    new key; old rows are pruned when a new one is stored."""

    __table_args__ = (sa.UniqueConstraint("survey_id", "state_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    state_key: Mapped[str] = mapped_column(sa.String(400))
    # zlib-compressed pickle of the summary the overview, priorities and
    # weighting pages render (no respondent-level answers).
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Job(Model):
    """A piece of background work (letters, results for a large survey, a large
    export), run on RQ over Redis or inline (consult.jobs). Its idempotency key
    makes a second request for the same work find this row, and its progress
    is the checkpoint a rerun after a killed worker continues from."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # A kind registered in consult.jobs (e.g. "letters").
    kind: Mapped[str] = mapped_column(sa.String(40))
    # The partnership's scope comes through the survey (owned_or_404 on it).
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    # One job per piece of work, e.g. "letters:<survey>:<wave>".
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # A consult.vocabulary.JobStatus: queued, running, done, failed.
    status: Mapped[str] = mapped_column(sa.String(10), default=JobStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    # What went wrong, in words that name no resident or address.
    error: Mapped[str] = mapped_column(sa.Text, default="")
    # Where the result is: "file:<name>" for a JobFile of this job, or a
    # reference the job's kind understands.
    result: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Moved at every checkpoint: a running job that stops moving was killed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class JobFile(Model):
    """A file a job made, kept in the database so every app server can hand it
    out: its checkpointed parts while it runs, its result when done."""

    __table_args__ = (sa.UniqueConstraint("job_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("job.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class LetterSettings(Model):
    """What an officer writes on a survey's letters: why we ask, and how to ask
    for a paper questionnaire. Empty means the default wording."""

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), unique=True
    )
    why: Mapped[str] = mapped_column(sa.Text, default="")
    contact: Mapped[str] = mapped_column(sa.Text, default="")


class LetterWave(Model):
    """One mailing of the sample stream's letters: wave 1 the first letters,
    2, 3 ... the reminders. Response rate per wave counts the responses
    submitted between its date and the next wave's."""

    __table_args__ = (sa.UniqueConstraint("survey_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column()
    # A consult.vocabulary.LetterKind: "first" or "reminder".
    kind: Mapped[str] = mapped_column(sa.String(10))
    count: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
