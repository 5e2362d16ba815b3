"""The questionnaire builder's editing rules and the survey lifecycle.

Two rules protect data. Once a survey has any response (in progress or
submitted), the question keys and option codes that stored answers refer to
cannot change and questions and options cannot be removed: wording may still
be edited (and every edit is written to the audit log), anything structural
means a new wave. And a question may only be shown on condition of an
*earlier* question's answer, so the path through a questionnaire can always
be worked out in one pass, with no loops.

Every function checks before it writes, so a refused action leaves the
survey exactly as it was.

One module per concern: `common` (the lock and the checks every edit goes
through), `conditions`, `sections`, `questions`, `options` and `lifecycle`
(settings, opening, status, deleting, new waves). This package's names are
the builder's interface; views and other services import them from here."""

from __future__ import annotations

from ...vocabulary import OPTION_TYPES
from ..path import ordered_questions
from .common import (
    CONDITION_SOURCE_TYPES,
    MAX_TEXT,
    RESERVED_PREFIX,
    TRANSITIONS,
    TYPE_LABELS,
    is_locked,
    response_count,
)
from .conditions import (
    COMPARISONS,
    condition_problems,
    describe_condition,
    set_comparison,
    set_condition,
    validate_condition,
)
from .lifecycle import (
    SurveySettings,
    change_status,
    delete_survey,
    opening_problems,
    repeat_as_new_wave,
    start_survey,
    texts_for,
    update_settings,
)
from .options import (
    add_option,
    delete_option,
    move_option,
    update_option,
)
from .questions import (
    POSITIVE_TYPES,
    benchmark_categories,
    create_question,
    delete_question,
    move_question,
    set_demographic,
    update_question,
)
from .sections import (
    create_section,
    delete_section,
    move_section,
    rename_section,
)

__all__ = [
    "COMPARISONS",
    "CONDITION_SOURCE_TYPES",
    "MAX_TEXT",
    "OPTION_TYPES",
    "POSITIVE_TYPES",
    "RESERVED_PREFIX",
    "SurveySettings",
    "TRANSITIONS",
    "TYPE_LABELS",
    "add_option",
    "benchmark_categories",
    "change_status",
    "condition_problems",
    "create_question",
    "create_section",
    "delete_option",
    "delete_question",
    "delete_section",
    "delete_survey",
    "describe_condition",
    "is_locked",
    "move_option",
    "move_question",
    "move_section",
    "opening_problems",
    "ordered_questions",
    "rename_section",
    "repeat_as_new_wave",
    "response_count",
    "set_comparison",
    "set_condition",
    "set_demographic",
    "start_survey",
    "texts_for",
    "update_option",
    "update_question",
    "update_settings",
    "validate_condition",
]
