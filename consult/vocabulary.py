"""The product's vocabulary, defined once: demographic variables, question
types and their sets, statuses, section and partner kinds, representation
flags and their labels. Models, the question bank, services and templates
import these names; `tests/test_vocabulary.py` fails if another module
defines them again.

It imports neither Flask nor SQLAlchemy, so the question bank (and anything
else that must run without the web stack) can use it. The stored values are
the enum values (plain strings): changing one is a data migration, not a
rename."""

from __future__ import annotations

import enum

# --- people and partnerships -------------------------------------------------------------


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    VIEWER = "viewer"


# Roles are ordered: an admin may do what an officer may, an officer what a viewer may.
ROLE_RANK = {Role.VIEWER: 1, Role.OFFICER: 2, Role.ADMIN: 3}

#: The kinds of partner organisation (stored code, label), in the order offered.
PARTNER_KINDS: tuple[tuple[str, str], ...] = (
    ("police", "Police"),
    ("council", "Council"),
    ("fire", "Fire and rescue"),
    ("health", "Health"),
    ("probation", "Probation"),
    ("voluntary", "Voluntary and community sector"),
    ("housing", "Housing"),
    ("education", "Education"),
    ("other", "Other"),
)

# --- surveys, sections, questions --------------------------------------------------------


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class Audience(enum.StrEnum):
    RESIDENTS = "residents"
    STAKEHOLDERS = "stakeholders"


class SectionKind(enum.StrEnum):
    STANDARD = "standard"
    # Equality-monitoring questions ("About you").
    ABOUT_YOU = "about_you"
    # Special-category questions, asked only after explicit consent.
    SPECIAL = "special"


SECTION_KINDS = frozenset(SectionKind)


class QuestionType(enum.StrEnum):
    SINGLE = "single"  # single choice
    MULTIPLE = "multiple"  # multiple choice
    SCALE = "scale"  # rating scale (Likert) with "don't know"
    GRID = "grid"  # several items on one scale
    RANKING = "ranking"  # rank / pick top N
    TEXT = "text"  # free text
    NUMBER = "number"
    AREA = "area"  # ward or postcode district from a list
    DECIMAL = "decimal"  # a number that may have decimal places (stored in `number`)
    DATE = "date"  # day, month, year (stored in `text` as YYYY-MM-DD)
    # A UK postcode, stored as the ward it maps to (`option_code`, one of the
    # question's ward options) and, if the survey keeps it, the sector (`text`).
    POSTCODE = "postcode"


#: Every question type, in the order the builder offers them.
QUESTION_TYPES: tuple[str, ...] = tuple(QuestionType)
#: Types answered by picking one or more of the question's choices.
CHOICE_TYPES = frozenset(
    {
        QuestionType.SINGLE,
        QuestionType.MULTIPLE,
        QuestionType.SCALE,
        QuestionType.AREA,
        QuestionType.POSTCODE,  # its options are the wards a postcode maps to
    }
)
#: Types that have options: the choice types, grid rows and ranked options.
OPTION_TYPES = CHOICE_TYPES | {QuestionType.GRID, QuestionType.RANKING}
#: Types that take no options at all.
FREE_TYPES = frozenset(
    {QuestionType.TEXT, QuestionType.NUMBER, QuestionType.DECIMAL, QuestionType.DATE}
)
#: Answers stored in `number`.
NUMERIC_TYPES = frozenset({QuestionType.NUMBER, QuestionType.DECIMAL})
#: Answers a path condition can compare (gt, lte ...).
COMPARABLE_TYPES = NUMERIC_TYPES | {QuestionType.DATE}


class OptionKind(enum.StrEnum):
    CHOICE = "choice"  # an answer a respondent can pick (or a scale point)
    ITEM = "item"  # a row of a grid


# --- demographic variables ---------------------------------------------------------------

# Demographic roles a question may carry; the same names are used in
# benchmarks, analysis and exports.
DEMOGRAPHIC_VARIABLES: tuple[str, ...] = (
    "age_band",
    "sex",
    "gender_identity",
    "ethnic_group",
    "ethnic_group_detailed",
    "religion",
    "disability",
    "sexual_orientation",
    "tenure",
    "english_proficiency",
    "main_language",
    "area",
    "partner_type",
)
#: How officers read each variable's name in tables and reports.
VARIABLE_LABELS: dict[str, str] = {
    "age_band": "Age",
    "sex": "Sex",
    "gender_identity": "Gender identity",
    "ethnic_group": "Ethnic group",
    "ethnic_group_detailed": "Ethnic group (detailed)",
    "religion": "Religion",
    "disability": "Disability",
    "sexual_orientation": "Sexual orientation",
    "tenure": "Housing tenure",
    "english_proficiency": "Proficiency in English",
    "main_language": "Main language",
    "area": "Ward",
    "partner_type": "Partner type",
}
#: Special-category data (UK GDPR article 9): asked only after explicit consent.
SPECIAL_CATEGORY_VARIABLES = frozenset(
    {"ethnic_group", "ethnic_group_detailed", "religion", "disability", "sexual_orientation"}
)

# --- responses and translations ----------------------------------------------------------


class ResponseStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    # A paper form keyed again by someone else to check the first keying:
    # stored beside it, never counted as a response nor analysed.
    SECOND_KEYING = "second_keying"


class Channel(enum.StrEnum):
    ONLINE = "online"
    PAPER = "paper"
    ASSISTED = "assisted"  # face to face, keyed by an officer or volunteer
    KIOSK = "kiosk"
    IMPORTED = "imported"  # brought in from a file (another survey tool, a contractor)


class Stream(enum.StrEnum):
    """How a response came to be asked for. An open stream gives anyone a voice;
    a sample stream (letters with a code to randomly drawn addresses) measures
    what the population thinks. Results never mix them unless the officer asks."""

    OPEN = "open"
    SAMPLE = "sample"


#: The kinds of outreach channel an officer can track, and how they read.
OUTREACH_KINDS: tuple[tuple[str, str], ...] = (
    ("partner", "Partner organisation"),
    ("event", "Event"),
    ("community_centre", "Community centre"),
    ("youth_council", "Youth council"),
    ("faith_group", "Faith group"),
    ("other", "Other"),
)


class TranslationStatus(enum.StrEnum):
    MACHINE = "machine"  # drafted by machine translation, a native speaker must review it
    DRAFT = "draft"  # written by a person, not yet reviewed
    REVIEWED = "reviewed"


TRANSLATION_STATUSES = frozenset(TranslationStatus)

# --- representation flags ----------------------------------------------------------------

#: The flags of the representation table, in the order they are reported.
FLAGS: tuple[str, ...] = ("under", "over", "too_few", "ok", "no_benchmark", "missing")
#: How officers read each flag, on every page and in every report.
FLAG_LABELS: dict[str, str] = {
    "under": "Under-represented",
    "over": "Over-represented",
    "too_few": "Too few to report",
    "ok": "In line with the population",
    "no_benchmark": "No population figure",
    "missing": "Did not answer",
}
#: The GOV.UK tag colour each flag is shown in.
FLAG_TAGS: dict[str, str] = {
    "under": "govuk-tag--red",
    "over": "govuk-tag--yellow",
    "too_few": "govuk-tag--grey",
    "ok": "govuk-tag--green",
    "no_benchmark": "govuk-tag--grey",
    "missing": "govuk-tag--grey",
}

#: How each group compares with the population, judged by its interval:
#: ``under``/``over`` when the interval lies wholly below/above the population
#: share (and the gap is beyond the ratio thresholds), ``in_line`` when the
#: interval rules out a gap that large, ``cant_tell`` only when the interval is
#: too wide to say either.
STATUSES: tuple[str, ...] = ("under", "over", "in_line", "cant_tell")
#: How officers read each status, and the tag colour it is shown in.
STATUS_LABELS: dict[str, str] = {
    "under": "Under-represented",
    "over": "Over-represented",
    "in_line": "In line",
    "cant_tell": "Can’t tell yet",
}
STATUS_TAGS: dict[str, str] = {
    "under": "govuk-tag--red",
    "over": "govuk-tag--yellow",
    "in_line": "govuk-tag--green",
    "cant_tell": "govuk-tag--grey",
}


class JobStatus(enum.StrEnum):
    """Where a background job is (consult.jobs)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LetterKind(enum.StrEnum):
    """A wave of letters to the sample stream's addresses."""

    FIRST = "first"
    REMINDER = "reminder"
