"""Results for every question of a survey, whatever its type, and
cross-tabulations of any question by any demographic, by language and by
channel; free-text answers to read, search and code with themes.

The statistics are in `consult.analysis.questions`; this module turns
questions into indicator sets, labels the numbers and reads the free text
and theme ticks. The functions take the response frame (see
`consult.services.frames`), a weights series or None (None: unweighted) and
optionally replicate weights; which weights apply is decided in one place,
`applied_weighting`, so every page, export and report uses the same.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import func, select

from ..analysis.priorities import priorities
from ..analysis.questions import (
    IndicatorSet,
    NumberSummary,
    categorical_set,
    flags_set,
    grid_set,
    grouped_set,
    number_bands,
    number_summary,
    share_estimates,
    top_n_set,
)
from ..extensions import db
from ..i18n import LANGUAGES
from ..models import (
    NUMERIC_TYPES,
    Answer,
    AnswerTheme,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    Survey,
    TextTheme,
    User,
)
from . import ServiceError
from .audit import record
from .content import SurveyTexts
from .path import ordered_questions
from .survey_cache import _version as survey_version

CHANNEL_NAMES = {
    "online": "Online",
    "paper": "Paper questionnaire",
    "assisted": "Face to face (keyed by staff)",
    "kiosk": "Kiosk",
}
#: Cross-tabulation by the response itself rather than a demographic question.
BY_LANGUAGE, BY_CHANNEL = "language", "channel"
POSITIVE = "positive"
TEXT_PAGE_SIZE = 50
MAX_THEMES = 30
_CODE = re.compile(r"[^a-z0-9]+")


# --------------------------------------------------------------------------- #
# Which weights apply
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class AppliedWeighting:
    """The weights every question's results use: None when the results are
    shown unweighted (no benchmarks, nothing to weight by, or weights that
    could not meet the margins), with the replicates that go with them."""

    weights: pd.Series | None
    replicates: pd.DataFrame | None
    description: str

    @property
    def weighted(self) -> bool:
        return self.weights is not None


def applied_weighting(results: Any) -> AppliedWeighting:
    """The one place the question results, the Excel workbook and the
    strategy report ask which weights apply, given the survey's computed
    results (`consult.services.results.SurveyResults`), whose `weighted` is
    the outcome of the one weighting decision
    (`consult.services.results.schemes.decide_weighting`): weights that
    could not meet the margins are never used here."""
    if not getattr(results, "weighted", False):
        return AppliedWeighting(None, None, "Unweighted: every response counts once.")
    variables = ", ".join(results.scheme.get("variables") or [])
    return AppliedWeighting(
        results.weights.astype("float64"),
        results.replicates,
        f"Weighted to the population by {variables}.",
    )


def min_base() -> int:
    try:
        return int(current_app.config.get("MIN_BASE", 30))
    except RuntimeError:
        return 30


# --------------------------------------------------------------------------- #
# Questions as indicator sets
# --------------------------------------------------------------------------- #


def missing_codes(question: Question) -> list[str]:
    return sorted({o.code for o in question.choices if o.is_missing} | {"prefer_not_to_say"})


def substantive(question: Question) -> list[str]:
    return [o.code for o in question.choices if not o.is_missing]


def positive_codes(question: Question) -> list[str]:
    """The answers the officer groups as the question's summary share ("feel
    safe": very or fairly safe); bank items come with theirs."""
    wanted = (question.settings or {}).get(POSITIVE) or []
    codes = set(substantive(question))
    return [c for c in wanted if c in codes]


def positive_label(question: Question, texts: SurveyTexts, language: str) -> str:
    label = str((question.settings or {}).get("positive_label") or "").strip()
    if label:
        return label
    codes = positive_codes(question)
    return " or ".join(texts.option(question, c, language) for c in codes)


@dataclass
class ThemeData:
    """Ticked themes as flags per response (columns `{key}__theme__{code}`:
    1 ticked, 0 not, NaN for responses without a text answer to that
    question) and the themes, by question key."""

    flags: pd.DataFrame
    themes: dict[str, list[TextTheme]] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)


def theme_column(question_key: str, code: str) -> str:
    return f"{question_key}__theme__{code}"


def load_themes(survey: Survey, index: pd.Index) -> ThemeData:
    """The survey's themes and ticks, aligned to `index` (response ids)."""
    themes = list(
        db.session.scalars(
            select(TextTheme)
            .filter_by(survey_id=survey.id)
            .order_by(TextTheme.question_id, TextTheme.position, TextTheme.id)
        )
    )
    by_question: dict[int, list[TextTheme]] = {}
    for t in themes:
        by_question.setdefault(t.question_id, []).append(t)
    keys = {q.id: q.key for q in survey.questions}
    flags: dict[str, pd.Series] = {}
    answered_counts: dict[str, int] = {}
    themes_by_key: dict[str, list[TextTheme]] = {}
    for question_id, items in by_question.items():
        key = keys.get(question_id)
        if key is None:
            continue
        themes_by_key[key] = items
        answered_ids = db.session.scalars(
            select(Answer.response_id).where(
                Answer.question_id == question_id,
                Answer.text.is_not(None),
                Answer.text != "",
            )
        ).all()
        answered = pd.Index(answered_ids).intersection(index)
        answered_counts[key] = len(answered)
        base = pd.Series(np.nan, index=index)
        base.loc[answered] = 0.0
        ticks = db.session.execute(
            select(AnswerTheme.theme_id, AnswerTheme.response_id).where(
                AnswerTheme.theme_id.in_([t.id for t in items])
            )
        ).all()
        for t in items:
            column = base.copy()
            ids = pd.Index([r for theme_id, r in ticks if theme_id == t.id]).intersection(answered)
            column.loc[ids] = 1.0
            flags[theme_column(key, t.code)] = column
    text_ids = {q.id: q.key for q in survey.questions if q.type == QuestionType.TEXT}
    if text_ids:
        for question_id, count in db.session.execute(
            select(Answer.question_id, func.count(Answer.id))
            .join(Response, Response.id == Answer.response_id)
            .where(
                Answer.question_id.in_(list(text_ids)),
                Response.status == ResponseStatus.SUBMITTED,
                Answer.text.is_not(None),
                Answer.text != "",
            )
            .group_by(Answer.question_id)
        ):
            answered_counts.setdefault(text_ids[question_id], int(count))
    return ThemeData(pd.DataFrame(flags, index=index), themes_by_key, answered_counts)


@dataclass
class _Plan:
    """How one question's results are computed: its indicator sets (the
    distribution and, if any, the positive grouping), labels per code."""

    question: Question
    sets: list[IndicatorSet]
    labels: dict[str, str]
    items: dict[str, str]
    bands: list[str] = field(default_factory=list)


def _plan(
    question: Question,
    frame: pd.DataFrame,
    texts: SurveyTexts,
    language: str,
    themes: ThemeData | None,
) -> _Plan | None:
    key, qtype = question.key, question.type
    labels = {o.code: texts.option(question, o.code, language) for o in question.choices}
    items = {i.code: texts.item(question, i.code, language) for i in question.items}
    missing = missing_codes(question)
    codes = substantive(question)
    positive = positive_codes(question)
    sets: list[IndicatorSet] = []
    if qtype in (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.AREA, QuestionType.POSTCODE):
        if key not in frame.columns or not codes:
            return None
        sets.append(categorical_set(key, frame[key], codes, missing_codes=missing))
        if positive:
            sets.append(grouped_set(sets[0], positive, POSITIVE))
    elif qtype == QuestionType.GRID:
        rows = {
            f"{key}__{i.code}": frame[f"{key}__{i.code}"]
            for i in question.items
            if f"{key}__{i.code}" in frame.columns
        }
        if not rows or not codes:
            return None
        sets.append(grid_set(key, rows, codes, missing_codes=missing))
        if positive:
            sets.append(grouped_set(sets[0], positive, POSITIVE))
    elif qtype == QuestionType.MULTIPLE:
        columns = [f"{key}__{c}" for c in (o.code for o in question.choices)]
        columns = [c for c in columns if c in frame.columns]
        if not columns:
            return None
        sets.append(flags_set(key, frame[columns], [c.split("__", 1)[1] for c in columns]))
    elif qtype == QuestionType.RANKING:
        columns = [f"{key}__{o.code}" for o in question.choices]
        columns = [c for c in columns if c in frame.columns]
        if not columns:
            return None
        top_n = int((question.settings or {}).get("top_n", 3) or 3)
        sets.append(top_n_set(key, frame[columns], [c.split("__", 1)[1] for c in columns], top_n))
    elif qtype in NUMERIC_TYPES:
        if key not in frame.columns:
            return None
        edges = (question.settings or {}).get("bands")
        _, band_labels, assigned = number_bands(frame[key], edges=edges)
        if not band_labels:
            return _Plan(question, [], labels, items, [])
        sets.append(
            categorical_set(key, pd.Series(assigned, index=frame.index, dtype=object), band_labels)
        )
        return _Plan(question, sets, labels, items, band_labels)
    elif qtype == QuestionType.DATE:
        # Dates are stored as YYYY-MM-DD: their results are the share in each month.
        if key not in frame.columns:
            return None
        text = frame[key].astype("string")
        answered = (text.notna() & (text != "")).to_numpy(dtype=bool)
        months = text.str.slice(0, 7).astype(object).where(answered, None)
        order = sorted(set(months[answered]))
        if not order:
            return _Plan(question, [], labels, items, [])
        sets.append(categorical_set(key, months, order))
        return _Plan(question, sets, labels, items, order)
    elif qtype == QuestionType.TEXT:
        found = (themes.themes.get(key) if themes else None) or []
        if not found or themes is None:
            return _Plan(question, [], labels, items)
        columns = [theme_column(key, t.code) for t in found]
        labels = {t.code: t.label for t in found}
        sets.append(flags_set(key, themes.flags[columns], [t.code for t in found]))
    else:
        return None
    return _Plan(question, sets, labels, items)


# --------------------------------------------------------------------------- #
# Results of every question
# --------------------------------------------------------------------------- #


@dataclass
class QuestionResult:
    """One question's results. `rows` hold one dict per answer (and per
    grid row): code, label, item, base n, count, shares with intervals,
    standard error, design effect, effective base, suppressed."""

    key: str
    type: str
    prompt: str
    question_id: int
    n: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    positive: list[dict[str, Any]] = field(default_factory=list)
    positive_label: str = ""
    nonanswers: list[tuple[str, int]] = field(default_factory=list)
    number: NumberSummary | None = None
    unit: str = ""
    ranking: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_n: int = 0
    text_answers: int = 0
    themes: list[TextTheme] = field(default_factory=list)
    min_base: int = 30

    @property
    def has_results(self) -> bool:
        return bool(self.rows or self.number is not None and self.number.n)


def _rows(table: pd.DataFrame, plan: _Plan) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in cast(list[dict[str, Any]], table.to_dict("records")):
        column = str(r["column"])
        item = column.split("__", 1)[1] if "__" in column else ""
        r["code"] = r["category"]
        r["item"] = item
        r["item_label"] = plan.items.get(item, item) if plan.question.type == "grid" else ""
        r["label"] = plan.labels.get(str(r["category"]), str(r["category"]))
        out.append(r)
    return out


def _nonanswers(
    question: Question, frame: pd.DataFrame, labels: dict[str, str]
) -> list[tuple[str, int]]:
    if question.type not in (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.AREA):
        return []
    if question.key not in frame.columns:
        return []
    counts = frame[question.key].value_counts()
    return [
        (labels.get(code, code), int(counts.get(code, 0)))
        for code in (o.code for o in question.choices if o.is_missing)
        if int(counts.get(code, 0))
    ]


def question_results(
    survey: Survey,
    frame: pd.DataFrame,
    weights: pd.Series | None = None,
    replicates: pd.DataFrame | None = None,
    *,
    themes: ThemeData | None = None,
    questions: Sequence[Question] | None = None,
    language: str | None = None,
    base: int | None = None,
) -> list[QuestionResult]:
    """Every question's results, in questionnaire order. All shares are
    computed in one pass (`share_estimates`)."""
    language = language or survey.default_language
    texts = SurveyTexts(survey)
    base = min_base() if base is None else base
    questions = list(questions) if questions is not None else ordered_questions(survey.questions)
    w = None if weights is None else weights.reindex(frame.index).to_numpy(dtype=np.float64)
    rep = None if replicates is None else replicates.reindex(frame.index).to_numpy(np.float64)
    plans = [_plan(q, frame, texts, language, themes) for q in questions]
    sets = [s for p in plans if p is not None for s in p.sets]
    # Two sets of one question (distribution and positive grouping) share
    # a question key: tell them apart by their position.
    tags = [(id(s)) for s in sets]
    table = share_estimates(sets, weights=w, replicates=rep, min_base=base)
    sizes = [len(s.categories) for s in sets]
    starts = np.cumsum([0, *sizes])
    part_of = {tag: (int(starts[i]), int(starts[i + 1])) for i, tag in enumerate(tags)}
    results: list[QuestionResult] = []
    for question, plan in zip(questions, plans, strict=True):
        result = QuestionResult(
            key=question.key,
            type=question.type,
            prompt=texts.prompt(question, language),
            question_id=question.id,
            n=0,
            min_base=base,
        )
        results.append(result)
        if plan is None:
            continue
        parts = [table.iloc[part_of[id(s)][0] : part_of[id(s)][1]] for s in plan.sets]
        if parts:
            result.rows = _rows(parts[0], plan)
            result.n = int(parts[0]["n"].max()) if len(parts[0]) else 0
        if len(parts) > 1:
            result.positive = _rows(parts[1], plan)
            result.positive_label = positive_label(question, texts, language)
        result.nonanswers = _nonanswers(question, frame, plan.labels)
        if question.type in NUMERIC_TYPES:
            result.number = number_summary(
                frame[question.key], weights=w, replicates=rep, min_base=base
            )
            result.n = result.number.n
            result.unit = str((question.settings or {}).get("unit") or "")
        elif question.type == QuestionType.RANKING and result.n:
            top_n = int((question.settings or {}).get("top_n", 3) or 3)
            result.top_n = top_n
            ranked = priorities(
                frame,
                question.key,
                weights=None if w is None else pd.Series(w, index=frame.index),
                top_n=top_n,
                # Mean ranks only: the bands (from the replicates) are the
                # priorities page's, computed once by the survey's results.
                replicates=None,
            )
            for r in cast(list[dict[str, Any]], ranked.table.to_dict("records")):
                result.ranking[str(r["option"])] = r
            order = {str(o): i for i, o in enumerate(ranked.table["option"])}
            result.rows.sort(key=lambda r: order.get(str(r["code"]), len(order)))
        elif question.type == QuestionType.TEXT and themes is not None:
            result.themes = themes.themes.get(question.key, [])
            result.text_answers = themes.answered.get(question.key, 0)
            result.n = result.text_answers
    return results


# --------------------------------------------------------------------------- #
# The survey's question results, as the pages show them
# --------------------------------------------------------------------------- #

_CACHE: OrderedDict[tuple[Any, ...], tuple[list[QuestionResult], AppliedWeighting]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _theme_stamp(survey: Survey) -> tuple[Any, ...]:
    themes = db.session.execute(
        select(func.count(TextTheme.id), func.max(TextTheme.id)).where(
            TextTheme.survey_id == survey.id
        )
    ).one()
    ticks = db.session.execute(
        select(func.count(AnswerTheme.id), func.max(AnswerTheme.id))
        .join(TextTheme, TextTheme.id == AnswerTheme.theme_id)
        .where(TextTheme.survey_id == survey.id)
    ).one()
    return (*themes, *ticks)


def survey_question_results(
    survey: Survey, *, language: str | None = None, stream: str | None = None
) -> tuple[list[QuestionResult], AppliedWeighting, Any]:
    """Every question's results under the weighting that applies, with the
    applied weighting and the survey's computed results (of `stream`, for a
    survey with a sample stream: see `results.compute_results`)."""
    from .results import compute_results

    results = compute_results(survey, stream=stream)
    applied = applied_weighting(results)
    base = min_base()
    # The questionnaire's version moves on with any edit of a question, its
    # settings (a new summary share) or its texts: results are relabelled.
    key = (results.state_key, survey_version(survey), _theme_stamp(survey), language, base)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
    if found is not None:
        return found[0], found[1], results
    themes = load_themes(survey, results.frame.index)
    computed = question_results(
        survey,
        results.frame,
        applied.weights,
        applied.replicates,
        themes=themes,
        language=language,
        base=base,
    )
    with _CACHE_LOCK:
        _CACHE[key] = (computed, applied)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return computed, applied, results


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# --------------------------------------------------------------------------- #
# Cross-tabulation
# --------------------------------------------------------------------------- #


def by_choices(survey: Survey, demographics: pd.DataFrame) -> list[tuple[str, str]]:
    """What a question can be cross-tabulated by: each demographic the
    survey asks, the response language and the channel."""
    from .results import survey_variables, variable_name

    choices = [(v, variable_name(v)) for v in survey_variables(survey) if v in demographics.columns]
    return [*choices, (BY_LANGUAGE, "Language answered in"), (BY_CHANNEL, "How people responded")]


def group_series(
    by: str, frame: pd.DataFrame, demographics: pd.DataFrame
) -> tuple[pd.Series, list[str]]:
    """Each response's group for `by`, and the groups' order."""
    if by == BY_LANGUAGE:
        names = {c: lang.english_name for c, lang in LANGUAGES.items()}
        series = frame["resp_language"].map(lambda c: names.get(c, c))
        order = [names[c] for c in LANGUAGES if names[c] in set(series.dropna())]
        return series, order
    if by == BY_CHANNEL:
        series = frame["resp_channel"].map(lambda c: CHANNEL_NAMES.get(c, c))
        return series, [n for n in CHANNEL_NAMES.values() if n in set(series.dropna())]
    if by not in demographics.columns:
        raise ServiceError("Choose a group this survey asks about", field="by")
    series = demographics[by].reindex(frame.index)
    return series, list(dict.fromkeys(str(v) for v in series.dropna()))


@dataclass
class CrossTab:
    question: QuestionResult
    by: str
    by_label: str
    groups: list[str]
    rows: list[dict[str, Any]]  # one per (group, indicator), like QuestionResult.rows
    numbers: dict[str, NumberSummary] = field(default_factory=dict)
    min_base: int = 30

    def cell(self, group: str, column: str, code: str) -> dict[str, Any] | None:
        for r in self.rows:
            if r["group"] == group and r["column"] == column and r["code"] == code:
                return r
        return None


def crosstab(
    survey: Survey,
    question: Question,
    frame: pd.DataFrame,
    demographics: pd.DataFrame,
    by: str,
    weights: pd.Series | None = None,
    replicates: pd.DataFrame | None = None,
    *,
    themes: ThemeData | None = None,
    language: str | None = None,
    base: int | None = None,
) -> CrossTab:
    """`question` by the groups of `by`, weighted beside unweighted, with
    intervals; groups below the minimum base are marked suppressed."""
    language = language or survey.default_language
    base = min_base() if base is None else base
    texts = SurveyTexts(survey)
    groups, order = group_series(by, frame, demographics)
    label = dict(by_choices(survey, demographics)).get(by, by)
    overall = question_results(
        survey,
        frame,
        weights,
        replicates,
        themes=themes,
        questions=[question],
        language=language,
        base=base,
    )[0]
    plan = _plan(question, frame, texts, language, themes)
    w = None if weights is None else weights.reindex(frame.index).to_numpy(dtype=np.float64)
    rep = None if replicates is None else replicates.reindex(frame.index).to_numpy(np.float64)
    rows: list[dict[str, Any]] = []
    if plan is not None and plan.sets:
        sets = plan.sets[1:2] if len(plan.sets) > 1 else plan.sets[:1]
        table = share_estimates(
            sets,
            weights=w,
            replicates=rep,
            groups=groups.to_numpy(dtype=object),
            group_order=order,
            min_base=base,
        )
        rows = _rows(table, plan)
    numbers: dict[str, NumberSummary] = {}
    if question.type in NUMERIC_TYPES and question.key in frame.columns:
        values = frame[question.key].to_numpy(dtype=np.float64)
        g = groups.to_numpy(dtype=object)
        for name in order:
            inside = np.array([x == name for x in g], dtype=bool)
            numbers[name] = number_summary(
                values[inside],
                weights=None if w is None else w[inside],
                replicates=None if rep is None else rep[inside],
                min_base=base,
            )
    return CrossTab(overall, by, label, order, rows, numbers, base)


# --------------------------------------------------------------------------- #
# Free text: read, search, filter, and code with themes
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class TextAnswer:
    response_id: int
    reference: str
    language: str
    language_name: str
    text: str
    theme_ids: frozenset[int]


@dataclass
class TextPage:
    answers: list[TextAnswer]
    total: int
    matching: int
    page: int
    pages: int
    languages: list[tuple[str, str]]


def text_question(survey: Survey, question_id: int) -> Question:
    question = next((q for q in survey.questions if q.id == question_id), None)
    if question is None:
        raise ServiceError("This survey has no such question", field="question")
    return question


def text_answers(
    survey: Survey,
    question: Question,
    *,
    search: str = "",
    language: str = "",
    theme_id: int | None = None,
    page: int = 1,
) -> TextPage:
    """Submitted free-text answers to `question`, newest first, filtered by
    words (case-insensitive, in any script), the respondent's language and
    a theme; `TEXT_PAGE_SIZE` a page."""
    rows = db.session.execute(
        select(Response.id, Response.reference, Response.language, Answer.text)
        .join(Answer, Answer.response_id == Response.id)
        .where(
            Response.survey_id == survey.id,
            Response.status == ResponseStatus.SUBMITTED,
            Answer.question_id == question.id,
            Answer.text.is_not(None),
            Answer.text != "",
        )
        .order_by(Response.id.desc())
    ).all()
    ticks: dict[int, set[int]] = {}
    for theme, response in db.session.execute(
        select(AnswerTheme.theme_id, AnswerTheme.response_id)
        .join(TextTheme, TextTheme.id == AnswerTheme.theme_id)
        .where(TextTheme.question_id == question.id)
    ):
        ticks.setdefault(response, set()).add(theme)
    present = sorted({r.language for r in rows})
    names = {c: (LANGUAGES[c].english_name if c in LANGUAGES else c) for c in present}
    words = search.strip().casefold()[:200]
    matching = [
        r
        for r in rows
        if (not words or words in (r.text or "").casefold())
        and (not language or r.language == language)
        and (theme_id is None or theme_id in ticks.get(r.id, set()))
    ]
    pages = max(1, -(-len(matching) // TEXT_PAGE_SIZE))
    page = min(max(1, page), pages)
    chosen = matching[(page - 1) * TEXT_PAGE_SIZE : page * TEXT_PAGE_SIZE]
    return TextPage(
        [
            TextAnswer(
                r.id,
                r.reference,
                r.language,
                names.get(r.language, r.language),
                r.text,
                frozenset(ticks.get(r.id, set())),
            )
            for r in chosen
        ],
        len(rows),
        len(matching),
        page,
        pages,
        [(c, names[c]) for c in present],
    )


def themes_for(question: Question) -> list[TextTheme]:
    return list(
        db.session.scalars(
            select(TextTheme)
            .filter_by(question_id=question.id)
            .order_by(TextTheme.position, TextTheme.id)
        )
    )


def add_theme(survey: Survey, question: Question, label: str, user: User) -> TextTheme:
    """A new theme to tick on `question`'s answers."""
    if question.survey_id != survey.id or question.type != QuestionType.TEXT:
        raise ServiceError("Themes are for free-text questions", field="label")
    label = " ".join(label.split())
    if not label:
        raise ServiceError("Enter the theme, like Street lighting", field="label")
    if len(label) > 200:
        raise ServiceError("A theme must be 200 characters or fewer", field="label")
    existing = themes_for(question)
    if len(existing) >= MAX_THEMES:
        raise ServiceError(f"A question can have at most {MAX_THEMES} themes", field="label")
    if any(t.label.casefold() == label.casefold() for t in existing):
        raise ServiceError(f"There is already a theme called {label}", field="label")
    base = _CODE.sub("_", label.casefold()).strip("_")[:50] or "theme"
    if not base[0].isalpha():
        base = f"t_{base}"[:50]
    code, n = base, 2
    taken = {t.code for t in existing}
    while code in taken:
        code, n = f"{base}_{n}", n + 1
    theme = TextTheme(
        survey_id=survey.id,
        question_id=question.id,
        code=code,
        label=label,
        position=len(existing) + 1,
    )
    db.session.add(theme)
    db.session.flush()
    record(
        "text_theme_added",
        partnership_id=survey.partnership_id,
        user_id=user.id,
        target=f"survey:{survey.id}:{question.key}",
        details={"theme": code},
    )
    return theme


def response_in_survey(survey: Survey, response_id: int) -> bool:
    """Whether the response belongs to the survey (a foreign id is a 404)."""
    return (
        db.session.scalar(
            select(Response.id).where(Response.id == response_id, Response.survey_id == survey.id)
        )
        is not None
    )


def set_answer_themes(
    survey: Survey, question: Question, response_id: int, theme_ids: Sequence[int], user: User
) -> None:
    """Tick exactly `theme_ids` on one response's answer to `question`."""
    if question.survey_id != survey.id or question.type != QuestionType.TEXT:
        raise ServiceError("Themes are for free-text questions")
    answer = db.session.scalar(
        select(Answer.id)
        .join(Response, Response.id == Answer.response_id)
        .where(
            Answer.question_id == question.id,
            Answer.response_id == response_id,
            Response.survey_id == survey.id,
            Response.status == ResponseStatus.SUBMITTED,
            Answer.text.is_not(None),
        )
    )
    if answer is None:
        raise ServiceError("That answer is not one of this question's submitted answers")
    themes = {t.id: t for t in themes_for(question)}
    unknown = [t for t in theme_ids if t not in themes]
    if unknown:
        raise ServiceError("Choose themes of this question")
    wanted = set(theme_ids)
    current = {
        a.theme_id: a
        for a in db.session.scalars(
            select(AnswerTheme).where(
                AnswerTheme.response_id == response_id,
                AnswerTheme.theme_id.in_(list(themes)),
            )
        )
    }
    for theme_id, tick in current.items():
        if theme_id not in wanted:
            db.session.delete(tick)
    for theme_id in wanted - set(current):
        db.session.add(
            AnswerTheme(theme_id=theme_id, response_id=response_id, created_by_id=user.id)
        )
    db.session.flush()


__all__ = [
    "AppliedWeighting",
    "CrossTab",
    "QuestionResult",
    "ThemeData",
    "add_theme",
    "applied_weighting",
    "by_choices",
    "crosstab",
    "load_themes",
    "question_results",
    "set_answer_themes",
    "survey_question_results",
    "text_answers",
]


# --------------------------------------------------------------------------- #
# Rows of the Excel "Weighted results" sheet
# --------------------------------------------------------------------------- #

SHEET_HEADER = [
    "question",
    "variable",
    "type",
    "measure",
    "code",
    "label",
    "item",
    "base",
    "count",
    "share",
    "weighted_share",
    "weighted_low",
    "weighted_high",
    "value",
    "weighted_value",
    "se",
    "design_effect",
    "effective_n",
]


def _figure(value: Any, small: bool) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if small or not np.isfinite(number):
        return None
    return round(number, 6)


def sheet_rows(results: Sequence[QuestionResult], min_cell: int) -> list[list[Any]]:
    """Every question's estimates as rows of the "Weighted results" sheet,
    with every figure resting on fewer than `min_cell` respondents (a base,
    or a count within it) left blank."""
    rows: list[list[Any]] = []

    def share_row(result: QuestionResult, r: dict[str, Any], measure: str, kind: str) -> None:
        base_small = int(r["n"]) < min_cell
        small = base_small or int(r["count"]) < min_cell
        rows.append(
            [
                result.key,
                r["column"] if kind != "text_theme" else theme_column(result.key, r["code"]),
                kind,
                measure,
                r["code"],
                r["label"],
                r.get("item_label") or "",
                None if base_small else int(r["n"]),
                None if small else int(r["count"]),
                _figure(r["share"], small),
                _figure(r["weighted_share"], small),
                _figure(r["weighted_low"], small),
                _figure(r["weighted_high"], small),
                None,
                None,
                _figure(r["se"], small),
                _figure(r["deff"], small),
                _figure(r["effective_n"], base_small),
            ]
        )

    def value_row(
        result: QuestionResult,
        measure: str,
        code: str,
        label: str,
        n: int,
        value: float,
        weighted: float,
        low: float | None = None,
        high: float | None = None,
        se: float | None = None,
        effective_n: float | None = None,
    ) -> None:
        small = n < min_cell
        rows.append(
            [
                result.key,
                result.key,
                result.type,
                measure,
                code,
                label,
                "",
                None if small else n,
                None,
                None,
                None,
                _figure(low, small),
                _figure(high, small),
                _figure(value, small),
                _figure(weighted, small),
                _figure(se, small),
                None,
                _figure(effective_n, small),
            ]
        )

    for result in results:
        if result.type == QuestionType.TEXT:
            for r in result.rows:
                share_row(result, r, "theme_share", "text_theme")
            continue
        measure = {
            QuestionType.MULTIPLE: "share_choosing",
            QuestionType.RANKING: f"top_{result.top_n}_share",
            QuestionType.NUMBER: "band_share",
            QuestionType.DECIMAL: "band_share",
            QuestionType.DATE: "month_share",
        }.get(QuestionType(result.type), "share")
        for r in result.rows:
            share_row(result, r, measure, result.type)
        for r in result.positive:
            share_row(result, {**r, "label": result.positive_label}, "positive_share", result.type)
        if result.number is not None and result.number.n:
            s = result.number
            value_row(
                result,
                "mean",
                "(mean)",
                "Mean",
                s.n,
                s.mean,
                s.weighted_mean,
                s.weighted_mean_low,
                s.weighted_mean_high,
                s.weighted_mean_se,
                s.effective_n,
            )
            value_row(
                result,
                "median",
                "(median)",
                "Median",
                s.n,
                s.median,
                s.weighted_median,
                s.weighted_median_low,
                s.weighted_median_high,
                None,
                s.effective_n,
            )
        for code, r in result.ranking.items():
            label = next((x["label"] for x in result.rows if x["code"] == code), code)
            value_row(
                result,
                "mean_rank",
                code,
                label,
                int(r["ranked_by"]),
                r["unweighted_mean_rank"],
                r["mean_rank"],
            )
    return rows
