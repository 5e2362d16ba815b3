"""Headline measures: the standard indicators a survey built from the question
bank carries (feeling unsafe after dark, worry, anti-social behaviour,
confidence), each as a share of respondents, weighted beside unweighted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt
import pandas as pd

from ...analysis import weighted_share
from ...models import Question, QuestionType, Survey
from ..content import SurveyTexts, item_key

#: A headline counts as moved by weighting from this many percentage points.
CHANGE_THRESHOLD = 0.01
UNSAFE_AFTER_DARK = ("a_bit_unsafe", "very_unsafe")
WORRIED = ("very_worried", "fairly_worried")
BIG_PROBLEM = ("very_big_problem", "fairly_big_problem")
POLICE_GOOD = ("excellent", "good")
AGREE = ("strongly_agree", "tend_to_agree", "agree")


@dataclass(frozen=True)
class Headline:
    """One headline measure: the share of respondents saying something, with
    95% intervals unweighted (Wilson) and weighted (Wilson on the estimate's
    own effective base, n / design effect, from the replicate standard error),
    the standard error and design effect, and whether the effective base is
    too small to report."""

    key: str
    topic: str
    label: str
    question_key: str
    n: int
    share: float
    low: float
    high: float
    weighted_share: float
    weighted_low: float
    weighted_high: float
    effective_n: float
    se: float = float("nan")
    deff: float = float("nan")
    suppressed: bool = False

    @property
    def change(self) -> float:
        return self.weighted_share - self.share

    @property
    def changed_by_weighting(self) -> bool:
        return bool(np.isfinite(self.change) and abs(self.change) >= CHANGE_THRESHOLD)


@dataclass(frozen=True)
class Measure:
    """A headline's definition: how to turn a response into 1 / 0 / not answered."""

    key: str
    topic: str
    label: str
    question_key: str
    indicator: Callable[[pd.DataFrame], pd.Series]


def _missing_codes(question: Question) -> set[str]:
    return {o.code for o in question.choices if o.is_missing} | {"prefer_not_to_say"}


def _positive(question: Question, wanted: Sequence[str], first: int) -> set[str]:
    """The codes counting as "yes"; a survey whose options were renamed falls
    back to the first `first` substantive scale points."""
    codes = {o.code for o in question.choices}
    found = codes & set(wanted)
    if found:
        return found
    substantive = [o.code for o in question.choices if not o.is_missing]
    return set(substantive[:first])


def _yes_no(
    index: pd.Index, answered: npt.NDArray[np.bool_], hit: npt.NDArray[np.bool_]
) -> pd.Series:
    out = np.full(len(index), None, dtype=object)
    out[answered] = "no"
    out[answered & hit] = "yes"
    return pd.Series(out, index=index, dtype="object")


def _indicator(
    frame: pd.DataFrame, *, column: str, positive: set[str], missing: set[str]
) -> pd.Series:
    values = frame[column]
    answered = (values.notna() & ~values.isin(list(missing))).to_numpy(dtype=bool)
    return _yes_no(frame.index, answered, values.isin(list(positive)).to_numpy(dtype=bool))


def _any_indicator(
    frame: pd.DataFrame, *, columns: list[str], positive: set[str], missing: set[str]
) -> pd.Series:
    block = frame[columns]
    answered = (block.notna() & ~block.isin(list(missing))).any(axis=1).to_numpy(dtype=bool)
    hit = block.isin(list(positive)).any(axis=1).to_numpy(dtype=bool)
    return _yes_no(frame.index, answered, hit)


def headline_measures(survey: Survey, texts: SurveyTexts | None = None) -> list[Measure]:
    """The standard headline measures, for the questions this survey has."""
    texts = texts or SurveyTexts(survey)
    lang = survey.default_language
    by_key = {q.key: q for q in survey.questions}
    measures: list[Measure] = []

    def single(key: str, topic: str, label: str, wanted: Sequence[str], first: int) -> None:
        q = by_key.get(key)
        if q is None or q.type not in (QuestionType.SINGLE, QuestionType.SCALE):
            return
        positive, missing = _positive(q, wanted, first), _missing_codes(q)
        if not positive:
            return
        measures.append(
            Measure(
                key,
                topic,
                label,
                key,
                partial(_indicator, column=key, positive=positive, missing=missing),
            )
        )

    # "I never walk alone after dark" stays in the base (as in the Crime Survey
    # for England and Wales) unless the survey marks it as a non-answer.
    single(
        "safe_after_dark",
        "Feeling safe",
        "Feel unsafe walking alone after dark (a bit or very unsafe)",
        UNSAFE_AFTER_DARK,
        0,
    )
    worry = by_key.get("worry")
    if worry is not None and worry.type == QuestionType.GRID and worry.items:
        columns = [f"worry__{i.code}" for i in worry.items]
        positive, missing = _positive(worry, WORRIED, 2), _missing_codes(worry)
        measures.append(
            Measure(
                "worry_any",
                "Worry about crime",
                "Very or fairly worried about at least one of the crimes asked about",
                "worry",
                partial(_any_indicator, columns=columns, positive=positive, missing=missing),
            )
        )
    asb = by_key.get("asb")
    if asb is not None and asb.type == QuestionType.GRID:
        positive, missing = _positive(asb, BIG_PROBLEM, 2), _missing_codes(asb)
        for item in asb.items:
            column = f"asb__{item.code}"
            label = texts.get(item_key("asb", item.code), lang, item.code)
            measures.append(
                Measure(
                    column,
                    "Anti-social behaviour",
                    f"{label}: a very or fairly big problem",
                    "asb",
                    partial(_indicator, column=column, positive=positive, missing=missing),
                )
            )
    single(
        "police_job",
        "Confidence",
        "The police in this area do an excellent or good job",
        POLICE_GOOD,
        2,
    )
    single(
        "police_council_dealing",
        "Confidence",
        "Agree the police and council deal with the anti-social behaviour and crime that matter",
        AGREE,
        2,
    )
    return measures


def headline(
    measure: Measure,
    frame: pd.DataFrame,
    weights: pd.Series,
    replicates: pd.DataFrame | None,
    *,
    min_base: int = 30,
) -> Headline | None:
    data = pd.DataFrame({"y": measure.indicator(frame)}, index=frame.index)
    if not data["y"].notna().any():
        return None
    table = weighted_share(
        data, "y", weights=weights, positive={"yes"}, replicates=replicates, min_base=min_base
    )
    row = table.iloc[0]
    return Headline(
        key=measure.key,
        topic=measure.topic,
        label=measure.label,
        question_key=measure.question_key,
        n=int(row["n"]),
        share=float(row["share"]),
        low=float(row["share_low"]),
        high=float(row["share_high"]),
        weighted_share=float(row["weighted_share"]),
        weighted_low=float(row["weighted_low"]),
        weighted_high=float(row["weighted_high"]),
        effective_n=float(row["effective_n"]),
        se=float(row["se"]),
        deff=float(row["deff"]),
        suppressed=bool(row["suppressed"]),
    )
