"""A resident's response from start to submission: starting, answering (with
the path worked out again after every answer), consent, save-and-resume
codes, invitation codes, submission and expiry.

Submission is idempotent by construction: it flips the status with one guarded
UPDATE (`... WHERE status = 'in_progress'`), so a double click, a browser
resubmit, a replayed POST or two racing requests find exactly one winner and
never a second response. Resume and invitation codes are stored only as
SHA-256 digests and shown once."""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..i18n import best_match
from ..models import (
    Channel,
    Invitation,
    Question,
    Response,
    ResponseStatus,
    Survey,
    SurveyStatus,
)
from ..vocabulary import Stream
from . import ServiceError
from .answers import (
    ParsedAnswer,
    as_stored,
    delete_answers,
    load_answers,
)
from .path import (
    CONSENT,
    Path,
    Step,
    compute_path,
    first_incomplete,
    is_special,
    resume_step,
)
from .survey_cache import survey_questions

# No 0/O, 1/I/L or U: codes are read aloud over the phone and copied from paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
RESUME_CODE_LENGTH = 12  # about 59 bits: cannot be guessed within the rate limit
INVITATION_CODE_LENGTH = 10  # printed on letters; about 49 bits
MAX_INVITATIONS = 20000


def now_utc() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they are UTC.
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- the survey: can it be answered now? ------------------------------------------------


class Availability(enum.StrEnum):
    OPEN = "open"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"
    DRAFT = "draft"


def find_survey(slug: str) -> Survey | None:
    # The partnership comes with it: every resident page names it in the header.
    return db.session.scalars(
        select(Survey).filter_by(slug=slug).options(joinedload(Survey.partnership))
    ).first()


def availability(survey: Survey, now: datetime | None = None) -> Availability:
    now = now or now_utc()
    if survey.status == SurveyStatus.DRAFT:
        return Availability.DRAFT
    if survey.status in (SurveyStatus.CLOSED, SurveyStatus.PUBLISHED):
        return Availability.CLOSED
    closes_at = aware(survey.closes_at)
    if closes_at is not None and closes_at <= now:
        return Availability.CLOSED
    opens_at = aware(survey.opens_at)
    if opens_at is not None and opens_at > now:
        return Availability.NOT_YET_OPEN
    return Availability.OPEN


def open_public_surveys(now: datetime | None = None, limit: int = 50) -> list[Survey]:
    """The surveys anyone may answer now, newest first: `availability` is
    OPEN (asked of the database, so the list never loads every survey) and
    no invitation is needed."""
    now = now or now_utc()
    return list(
        db.session.scalars(
            select(Survey)
            .where(Survey.status == SurveyStatus.OPEN)
            .where(or_(Survey.opens_at.is_(None), Survey.opens_at <= now))
            .where(or_(Survey.closes_at.is_(None), Survey.closes_at > now))
            .where(Survey.requires_invitation.is_(False))
            .order_by(Survey.created_at.desc())
            .limit(limit)
        )
    )


# --- language -------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    # A language the resident asked for (link or cookie) that this survey does
    # not offer: the page says so, in the language it falls back to.
    unavailable: str | None = None


def negotiate_language(
    offered: Sequence[str],
    default: str,
    *,
    requested: str | None,
    remembered: str | None,
    accept: Iterable[tuple[str, float]] | None,
) -> LanguageChoice:
    """The language of a resident page: `?lang=` first, then the language
    remembered in the cookie, then the browser's preference, each only if the
    survey offers it; otherwise the survey's default language."""
    for candidate in (requested, remembered):
        if candidate:
            if candidate in offered:
                return LanguageChoice(candidate)
            return LanguageChoice(default, unavailable=candidate)
    browser = best_match(list(accept or []), list(offered))
    return LanguageChoice(browser or default)


def offered_languages(survey: Survey, enabled: Sequence[str]) -> list[str]:
    """The survey's languages the service has switched on, default first."""
    languages = [code for code in survey.languages if code in enabled]
    if survey.default_language not in languages:
        languages.insert(0, survey.default_language)
    return languages


# --- codes ----------------------------------------------------------------------------


def random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def group(code: str, size: int = 4) -> str:
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def normalise_code(entered: str) -> str:
    """What the resident typed, as stored: case, spaces and hyphens ignored."""
    return "".join(ch for ch in (entered or "").upper() if ch.isalnum())[:40]


def code_digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode("ascii", "ignore")).hexdigest()


def reference_prefix(survey: Survey) -> str:
    initials = "".join(word[0] for word in survey.slug.split("-") if word and word[0].isalpha())
    prefix = initials.upper()[:3]
    return prefix or "R"


def new_reference(survey: Survey) -> str:
    return f"{reference_prefix(survey)}-{group(random_code(8))}"


# --- starting and the journey -------------------------------------------------------------


def start_response(
    survey: Survey,
    language: str,
    *,
    channel: str = Channel.ONLINE,
    now: datetime | None = None,
) -> Response:
    """A new in-progress response with a unique reference."""
    now = now or now_utc()
    for _attempt in range(10):
        response = Response(
            survey_id=survey.id,
            reference=new_reference(survey),
            language=language,
            channel=channel,
            status=ResponseStatus.IN_PROGRESS,
            started_at=now,
            expires_at=now + timedelta(days=survey.resume_days),
        )
        try:
            with db.session.begin_nested():
                db.session.add(response)
            return response
        except IntegrityError:
            # A reference collision (about one in 650 billion): draw again.
            continue
    raise ServiceError("Could not create a response reference; try again.")


@dataclass
class Journey:
    """A response with its survey's questions, answers and current path."""

    survey: Survey
    response: Response
    questions: list[Question]
    answers: dict[str, ParsedAnswer]
    path: Path

    @property
    def by_key(self) -> dict[str, Question]:
        return {q.key: q for q in self.questions}

    def answer(self, key: str) -> ParsedAnswer | None:
        return self.answers.get(key)

    def on_path(self, key: str) -> Question:
        """The question `key`, if this respondent is asked it: the one check
        for both showing a question and saving its answer. Raises `NotOnPath`
        for a question that does not apply (any more), or does not exist."""
        question = self.by_key.get(key)
        if question is None or not self.path.contains(key):
            raise NotOnPath(key)
        return question

    def first_incomplete(self) -> Step | None:
        return first_incomplete(self.path, self.answers, self.response.special_consent)

    def resume_step(self) -> Step | None:
        return resume_step(self.path, self.answers, self.response.special_consent)

    @property
    def is_complete(self) -> bool:
        return self.first_incomplete() is None


def journey(response: Response, questions: list[Question] | None = None) -> Journey:
    survey = db.session.get(Survey, response.survey_id)
    assert survey is not None
    questions = questions if questions is not None else survey_questions(survey)
    answers = load_answers(response, questions)
    path = compute_path(questions, answers, response.special_consent)
    return Journey(survey, response, questions, answers, path)


class NotOnPath(ServiceError):
    """The question is not part of this respondent's survey (any more)."""


class ResponseNotOpen(ServiceError):
    """The response was submitted or has expired; it can no longer change."""


def prune(current: Journey) -> Journey:
    """Drop answers that no longer apply; repeat until the path is stable
    (dropping one answer can hide a question whose answer hides another)."""
    for _round in range(len(current.questions) + 1):
        stale = [q for q in current.path.skipped if q.key in current.answers]
        reset_consent = current.path.under_16 and current.response.special_consent is not None
        if not stale and not reset_consent:
            return current
        delete_answers(current.response, stale)
        if reset_consent:
            # Consent given before saying "under 16" must be asked again if
            # the age answer is later corrected.
            current.response.special_consent = None
        db.session.flush()
        current = journey(current.response, current.questions)
    return current


def touch(response: Response, survey: Survey, now: datetime) -> None:
    response.updated_at = now
    response.expires_at = now + timedelta(days=survey.resume_days)


def ensure_open(response: Response, now: datetime | None = None) -> None:
    if response.status != ResponseStatus.IN_PROGRESS:
        raise ResponseNotOpen("This response has already been submitted.")
    if is_expired(response, now):
        raise ResponseNotOpen("This response has expired.")


def open_for_change(response: Response, now: datetime | None = None) -> Journey:
    """The response locked for this request and still open, with its journey
    read under the lock. Raises `ResponseNotOpen`."""
    _lock(response)
    ensure_open(response, now)
    return journey(response)


def record_language(response: Response, language: str) -> bool:
    """The one place a response's language changes after it started: an open
    response records the language it is being answered in. True when it
    changed (the caller's transaction has something to commit)."""
    if response.status != ResponseStatus.IN_PROGRESS or response.language == language:
        return False
    response.language = language
    return True


def with_answer(current: Journey, question: Question, parsed: ParsedAnswer) -> Journey:
    """The journey once `parsed` is stored for `question`, without reading the
    answers back: the rest were read under the response's lock and nothing
    else can have changed them. Answers it takes off the path are still
    stored: `prune` drops them."""
    db.session.flush()
    answers = dict(current.answers)
    answers.pop(question.key, None)
    stored = as_stored(question, parsed)
    if not stored.is_empty:
        answers[question.key] = stored
    path = compute_path(current.questions, answers, current.response.special_consent)
    return Journey(current.survey, current.response, current.questions, answers, path)


def _lock(response: Response) -> None:
    """Serialise saves to one response: a retried request racing the first
    would otherwise replace the same answer rows twice at once (PostgreSQL
    row lock; SQLite already serialises writers)."""
    db.session.execute(select(Response.id).where(Response.id == response.id).with_for_update())


def record_consent(response: Response, consent: bool, *, now: datetime | None = None) -> Journey:
    now = now or now_utc()
    current = open_for_change(response, now)
    if not current.path.has_consent_step:
        raise NotOnPath(CONSENT)
    response.special_consent = consent
    touch(response, current.survey, now)
    db.session.flush()
    return prune(journey(response, current.questions))


# --- submission -----------------------------------------------------------------------


class Incomplete(ServiceError):
    def __init__(self, step: Step) -> None:
        super().__init__("Some answers are missing.")
        self.step = step


@dataclass(frozen=True)
class SubmitResult:
    response: Response
    # False when this request found the response already submitted (a double
    # click or a replay): the resident sees the same confirmation.
    submitted_now: bool


def submit(response: Response, *, now: datetime | None = None) -> SubmitResult:
    now = now or now_utc()
    if response.status == ResponseStatus.SUBMITTED:
        return SubmitResult(response, submitted_now=False)
    if is_expired(response, now):
        raise ResponseNotOpen("This response has expired.")
    current = prune(journey(response))
    missing = current.first_incomplete()
    if missing is not None:
        raise Incomplete(missing)
    result = db.session.execute(
        update(Response)
        .where(Response.id == response.id, Response.status == ResponseStatus.IN_PROGRESS)
        .values(status=ResponseStatus.SUBMITTED, submitted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    won = result.rowcount == 1  # type: ignore[attr-defined]
    db.session.refresh(response)
    return SubmitResult(response, submitted_now=won)


# --- save and come back -------------------------------------------------------------------


def is_expired(response: Response, now: datetime | None = None) -> bool:
    expires_at = aware(response.expires_at)
    return (
        response.status == ResponseStatus.IN_PROGRESS
        and expires_at is not None
        and expires_at <= (now or now_utc())
    )


def issue_resume_code(response: Response, *, now: datetime | None = None) -> str:
    """A new resume code for `response` (any earlier one stops working).
    Returned once, in plain, for the resident to note; stored as a digest."""
    now = now or now_utc()
    ensure_open(response, now)
    survey = db.session.get(Survey, response.survey_id)
    assert survey is not None
    for _attempt in range(10):
        code = random_code(RESUME_CODE_LENGTH)
        try:
            with db.session.begin_nested():
                response.resume_code_hash = code_digest(code)
                touch(response, survey, now)
                db.session.flush()
            return group(code)
        except IntegrityError:
            continue
    raise ServiceError("Could not create a resume code; try again.")


class ResumeProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"


class ResumeError(ServiceError):
    def __init__(self, problem: ResumeProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def resume(survey: Survey, code: str, *, now: datetime | None = None) -> Response:
    """The response a resume code belongs to. A submitted response is returned
    too (the caller shows its confirmation, never a second submission)."""
    normalised = normalise_code(code)
    if len(normalised) != RESUME_CODE_LENGTH:
        raise ResumeError(ResumeProblem.UNKNOWN)
    response = db.session.scalars(
        select(Response).filter_by(survey_id=survey.id, resume_code_hash=code_digest(normalised))
    ).first()
    if response is None:
        raise ResumeError(ResumeProblem.UNKNOWN)
    if is_expired(response, now):
        raise ResumeError(ResumeProblem.EXPIRED)
    return response


def purge_expired(now: datetime | None = None) -> int:
    """Delete unsubmitted responses whose resume period has passed, with their
    answers: they can never be resumed or submitted, and keeping them would
    hold personal data for no purpose."""
    now = now or now_utc()
    ids = db.session.scalars(
        select(Response.id).where(
            Response.status == ResponseStatus.IN_PROGRESS,
            Response.expires_at.is_not(None),
            Response.expires_at <= now,
        )
    ).all()
    if ids:
        db.session.execute(
            update(Invitation).where(Invitation.response_id.in_(ids)).values(response_id=None)
        )
        from ..models import Answer

        db.session.execute(delete(Answer).where(Answer.response_id.in_(ids)))
        db.session.execute(delete(Response).where(Response.id.in_(ids)))
    return len(ids)


# --- invitation codes -----------------------------------------------------------------


def create_invitations(survey: Survey, count: int) -> list[str]:
    """`count` new invitation codes for paper letters, returned once in plain
    (grouped for printing); only their digests are kept."""
    if not 1 <= count <= MAX_INVITATIONS:
        raise ServiceError(f"Ask for between 1 and {MAX_INVITATIONS} codes", field="count")
    codes: list[str] = []
    digests: set[str] = set()
    existing = set(
        db.session.scalars(select(Invitation.code_hash).where(Invitation.survey_id == survey.id))
    )
    while len(codes) < count:
        code = random_code(INVITATION_CODE_LENGTH)
        digest = code_digest(code)
        if digest in digests or digest in existing:
            continue
        digests.add(digest)
        codes.append(group(code, 5))
    db.session.add_all(Invitation(survey_id=survey.id, code_hash=d) for d in digests)
    db.session.flush()
    return codes


class InvitationProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    # The officer cancelled the code (moved house, asked not to be contacted).
    CANCELLED = "cancelled"


class InvitationError(ServiceError):
    def __init__(self, problem: InvitationProblem, response: Response | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.response = response


def redeem_invitation(
    survey: Survey, code: str, language: str, *, now: datetime | None = None
) -> Response:
    """Start the response an invitation code allows, or carry on with the one
    it already started. A code whose response was submitted cannot start
    another (`InvitationError(USED)`), nor can a cancelled one (`CANCELLED`).
    A code of a drawn address starts a response of the sample stream."""
    now = now or now_utc()
    normalised = normalise_code(code)
    invitation = None
    if len(normalised) == INVITATION_CODE_LENGTH:
        invitation = db.session.scalars(
            select(Invitation).filter_by(survey_id=survey.id, code_hash=code_digest(normalised))
        ).first()
    if invitation is None:
        raise InvitationError(InvitationProblem.UNKNOWN)
    if invitation.cancelled_at is not None:
        raise InvitationError(InvitationProblem.CANCELLED)
    if invitation.response_id is not None:
        existing = db.session.get(Response, invitation.response_id)
        if existing is not None and existing.status == ResponseStatus.SUBMITTED:
            raise InvitationError(InvitationProblem.USED, existing)
        if existing is not None and not is_expired(existing, now):
            return existing
        if existing is not None:
            # The letter still holds: its expired, unsubmitted start is discarded.
            invitation.response_id = None
            db.session.flush()
            db.session.delete(existing)
            db.session.flush()
    response = start_response(survey, language, now=now)
    if invitation.address_id is not None:
        response.stream = Stream.SAMPLE
    db.session.flush()
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.response_id.is_(None))
        .values(response_id=response.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        # Another request redeemed the same code a moment ago: use its response.
        db.session.delete(response)
        db.session.flush()
        db.session.refresh(invitation)
        other = db.session.get(Response, invitation.response_id)
        if other is None:
            raise InvitationError(InvitationProblem.UNKNOWN)
        if other.status == ResponseStatus.SUBMITTED:
            raise InvitationError(InvitationProblem.USED, other)
        return other
    db.session.refresh(invitation)
    return response


def special_questions(questions: Iterable[Question]) -> list[Question]:
    return [q for q in questions if is_special(q)]
