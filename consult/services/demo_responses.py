"""Realistic, deliberately biased demo responses for a survey.

Inspections of community safety partnerships keep finding consultations
dominated by older white men, with young people, Asian residents and some
neighbourhoods barely heard. The demo reproduces that, so the results pages
have something true to show: flagged groups, weighting that moves estimates,
priorities whose order changes once the sample is weighted to the population.

Everything is read from the survey in the database (question keys, option
codes, `show_if`, special-category sections, benchmark categories), so the
generator follows the questionnaire rather than a copy of it. Every answer is
on the respondent's path: special-category questions only after consent and
never for under-16s, follow-up questions only when their condition holds.
Attitudes depend a little on who answers (fear after dark on sex, age and
ethnicity; priorities on age, sex and ethnicity), which is what makes weighting
matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, insert, select

from ..extensions import db
from ..models import (
    Answer,
    Channel,
    Option,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    Survey,
)
from .benchmarks import current_benchmarks
from .path import adults_only, is_special, ordered_questions, under_16_codes

# How much more (or less) likely each population group is to answer than its
# population share suggests.
RESPONSE_BIAS: dict[str, dict[str, float]] = {
    "age_band": {
        "16-24": 0.3,
        "25-34": 0.55,
        "35-44": 0.85,
        "45-54": 1.15,
        "55-64": 1.6,
        "65-74": 2.3,
        "75+": 1.8,
    },
    "sex": {"Male": 1.35, "Female": 0.75},
    "ethnic_group": {
        "White": 1.75,
        "Asian, Asian British or Asian Welsh": 0.42,
        "Black, Black British, Black Welsh, Caribbean or African": 0.7,
        "Mixed or Multiple ethnic groups": 0.85,
        "Other ethnic group": 0.6,
    },
}
# Wards the outreach barely reached.
QUIET_WARDS = ("Spinney Hills", "Braunstone Park & Rowley Fields", "Thurncourt")
ASIAN = "Asian, Asian British or Asian Welsh"
BLACK = "Black, Black British, Black Welsh, Caribbean or African"
# Where Asian and white respondents are more likely to live (Leicester's wards).
ASIAN_WARDS = ("Belgrave", "Rushey Mead", "North Evington", "Stoneygate", "Spinney Hills")
WHITE_WARDS = ("Knighton", "Aylestone", "Eyres Monsell", "Thurncourt", "Western", "Evington")

LANGUAGE_MIX = {
    "White": {"en": 0.94, "pl": 0.06},
    ASIAN: {"en": 0.68, "gu": 0.13, "pa": 0.08, "ur": 0.07, "bn": 0.04},
    BLACK: {"en": 0.82, "so": 0.12, "ar": 0.06},
    "Other ethnic group": {"en": 0.75, "ar": 0.15, "pl": 0.05, "so": 0.05},
    "Mixed or Multiple ethnic groups": {"en": 0.95, "ur": 0.05},
}
RELIGION_MIX = {
    ASIAN: {
        "Hindu": 0.5,
        "Muslim": 0.3,
        "Sikh": 0.12,
        "No religion": 0.03,
        "Christian": 0.02,
        "Other religion": 0.02,
        "Buddhist": 0.01,
    },
    "White": {
        "Christian": 0.5,
        "No religion": 0.45,
        "Jewish": 0.01,
        "Other religion": 0.02,
        "Buddhist": 0.02,
    },
    BLACK: {"Christian": 0.55, "Muslim": 0.38, "No religion": 0.07},
    "Mixed or Multiple ethnic groups": {
        "Christian": 0.35,
        "No religion": 0.4,
        "Muslim": 0.2,
        "Other religion": 0.05,
    },
    "Other ethnic group": {
        "Muslim": 0.55,
        "Christian": 0.2,
        "No religion": 0.15,
        "Other religion": 0.1,
    },
}

# Base appeal of each priority and how it shifts with who is asked; matched
# on fragments of the option code so a partnership's own wording still works.
PRIORITY_MODEL: list[tuple[tuple[str, ...], float, dict[str, float]]] = [
    (("anti_social", "asb"), 1.3, {"old": 0.9, "young": -0.8}),
    (("burglary",), 1.0, {"old": 0.6, "asian": 0.2}),
    (("knife", "gun", "weapon"), 0.3, {"young": 1.5, "black": 0.5, "asian": 0.4}),
    (("violen",), 0.5, {"young": 0.6}),
    (("drug",), 0.8, {"young": 0.5}),
    (("hate", "racial", "religious"), -0.6, {"minority": 1.8}),
    (("domestic",), 0.0, {"female": 0.9, "young": 0.3}),
    (("road", "speed"), 1.1, {"old": 0.8, "young": -0.4, "male": 0.2}),
    (("alcohol",), 0.2, {}),
    (("vehicle", "car"), 0.3, {"asian": 0.3}),
    (("centre", "center"), 0.0, {}),
    (("victim", "witness"), -0.1, {"female": 0.2}),
    (("something_else", "other"), -2.2, {}),
]
OTHER_PRIORITIES = (
    "Fly-tipping in the back alleys",
    "Street lighting on the walk home",
    "E-scooters on the pavement",
    "Scams targeting older people",
    "Dog fouling and dangerous dogs",
)
COMMENTS = (
    "More police on foot in the evenings would help.",
    "The park is fine in the day but I avoid it after dark.",
    "Nobody asks young people what we think.",
    "Speeding on our road is the biggest worry.",
    "Thank you for asking.",
    "Racist abuse at the bus stop is not taken seriously.",
    "Street lights are out on our estate.",
)
# Several options counting towards one broad category (the 19 Census ethnic
# groups in 5) are not equally common: Leicester's Census 2021 proportions.
OPTION_WEIGHTS = {
    "asian_indian": 34.3,
    "asian_pakistani": 3.4,
    "asian_bangladeshi": 1.9,
    "asian_chinese": 0.7,
    "asian_other": 3.1,
    "black_african": 5.8,
    "black_caribbean": 1.2,
    "black_other": 0.8,
    "mixed_white_black_caribbean": 1.4,
    "mixed_white_black_african": 0.5,
    "mixed_white_asian": 1.0,
    "mixed_other": 0.9,
    "white_british": 33.2,
    "white_irish": 0.5,
    "white_gypsy_irish_traveller": 0.1,
    "white_roma": 0.2,
    "white_other": 6.9,
    "other_arab": 1.2,
    "other_ethnic_group": 2.9,
    "yes_a_lot": 0.45,
    "yes_a_little": 0.55,
}
ALPHABET = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))


@dataclass
class People:
    """The respondents' latent characteristics (whether or not they disclose them)."""

    n: int
    categories: dict[str, npt.NDArray[Any]]  # variable -> benchmark category per person
    under_16: npt.NDArray[np.bool_]

    def has(self, variable: str, values: Sequence[str]) -> npt.NDArray[np.bool_]:
        cats = self.categories.get(variable)
        if cats is None:
            return np.zeros(self.n, dtype=bool)
        return np.isin(cats, list(values))

    @property
    def young(self) -> npt.NDArray[np.float64]:
        return (self.has("age_band", ("16-24", "25-34")) | self.under_16).astype(float)

    @property
    def old(self) -> npt.NDArray[np.float64]:
        return self.has("age_band", ("65-74", "75+")).astype(float)

    @property
    def female(self) -> npt.NDArray[np.float64]:
        return self.has("sex", ("Female",)).astype(float)

    @property
    def asian(self) -> npt.NDArray[np.float64]:
        return self.has("ethnic_group", (ASIAN,)).astype(float)

    @property
    def black(self) -> npt.NDArray[np.float64]:
        return self.has("ethnic_group", (BLACK,)).astype(float)

    @property
    def minority(self) -> npt.NDArray[np.float64]:
        cats = self.categories.get("ethnic_group")
        if cats is None:
            return np.zeros(self.n)
        return ((cats != "White") & (cats != None)).astype(float)  # noqa: E711


def _choice(
    rng: np.random.Generator,
    labels: Sequence[Any],
    probs: Sequence[float] | npt.NDArray[Any],
    size: int,
) -> npt.NDArray[Any]:
    p = np.asarray(probs, dtype=float)
    p = p / p.sum()
    return np.asarray(labels, dtype=object)[rng.choice(len(labels), size=size, p=p)]


def _population(survey: Survey) -> dict[str, dict[str, float]]:
    benchmark_set = current_benchmarks(survey.partnership_id)
    shares: dict[str, dict[str, float]] = {}
    if benchmark_set is not None:
        for row in benchmark_set.rows:
            shares.setdefault(row.variable, {})[row.category] = row.population_share
    return shares


def _demographic_categories(questions: Sequence[Question]) -> dict[str, list[str]]:
    """Benchmark categories each demographic variable's options count towards."""
    found: dict[str, list[str]] = {}
    for q in questions:
        if not q.demographic:
            continue
        for o in q.choices:
            if o.benchmark_category and not o.is_missing:
                cats = found.setdefault(q.demographic, [])
                if o.benchmark_category not in cats:
                    cats.append(o.benchmark_category)
    return found


def _draw_people(
    rng: np.random.Generator, n: int, survey: Survey, questions: Sequence[Question]
) -> People:
    population = _population(survey)
    asked = _demographic_categories(questions)
    if "ethnic_group_detailed" in asked and "ethnic_group" not in asked:
        asked["ethnic_group"] = sorted(
            {c.split(":")[0].strip() for c in asked["ethnic_group_detailed"]}
        )
    cats: dict[str, npt.NDArray[Any]] = {}

    def draw(variable: str, bias: dict[str, float] | None = None, extra: Any = None) -> None:
        categories = asked.get(variable) or list(population.get(variable, {}))
        if not categories:
            return
        shares = population.get(variable, {})
        base = np.array([shares.get(c, 1.0 / len(categories)) for c in categories])
        factors = np.array([(bias or {}).get(c, 1.0) for c in categories])
        p = base * factors
        if extra is None:
            cats[variable] = _choice(rng, categories, p, n)
            return
        # Person-specific adjustment: one draw per person from their own probabilities.
        weights = p[None, :] * extra(categories)
        weights = weights / weights.sum(axis=1, keepdims=True)
        u = rng.random(n)[:, None]
        idx = (weights.cumsum(axis=1) < u).sum(axis=1).clip(0, len(categories) - 1)
        cats[variable] = np.asarray(categories, dtype=object)[idx]

    draw("age_band", RESPONSE_BIAS["age_band"])
    draw("sex", RESPONSE_BIAS["sex"])
    young = np.isin(cats.get("age_band", np.array([], dtype=object)), ["16-24", "25-34"])

    def ethnic_extra(categories: list[str]) -> npt.NDArray[np.float64]:
        # Younger residents are more diverse, here as in the Census.
        m = np.ones((n, len(categories)))
        if young.size:
            for j, c in enumerate(categories):
                if c != "White":
                    m[young, j] = 1.6
        return m

    draw("ethnic_group", RESPONSE_BIAS["ethnic_group"], ethnic_extra)
    eth = cats.get("ethnic_group", np.full(n, None, dtype=object))

    def area_extra(categories: list[str]) -> npt.NDArray[np.float64]:
        m = np.ones((n, len(categories)))
        for j, c in enumerate(categories):
            if c in QUIET_WARDS:
                m[:, j] = 0.22
            if c in ASIAN_WARDS:
                m[eth == ASIAN, j] *= 3.0
            if c in WHITE_WARDS:
                m[eth == "White", j] *= 1.8
        return m

    draw("area", None, area_extra)

    def religion_extra(categories: list[str]) -> npt.NDArray[np.float64]:
        m = np.full((n, len(categories)), 0.02)
        for group, mix in RELIGION_MIX.items():
            rows = eth == group
            for j, c in enumerate(categories):
                m[rows, j] = mix.get(c, 0.005) / max(
                    population.get("religion", {}).get(c, 0.01), 0.01
                )
        return m

    draw("religion", None, religion_extra)
    for variable in asked:
        if variable not in cats and variable != "ethnic_group_detailed":
            draw(variable)
    if "ethnic_group_detailed" in asked:
        detailed = asked["ethnic_group_detailed"]
        shares = population.get("ethnic_group_detailed", {})
        out = np.empty(n, dtype=object)
        for group in set(eth.tolist()):
            rows = eth == group
            options = [c for c in detailed if c.split(":")[0].strip() == group] or detailed
            out[rows] = _choice(
                rng, options, [shares.get(c, 1.0) for c in options], int(rows.sum())
            )
        cats["ethnic_group_detailed"] = out
    return People(n=n, categories=cats, under_16=np.zeros(n, dtype=bool))


def _ordinal(
    rng: np.random.Generator, latent: npt.NDArray[np.float64], cuts: Sequence[float]
) -> npt.NDArray[np.int64]:
    """Cumulative-logit draw: 0 .. len(cuts); a higher latent gives a higher category."""
    noise = np.asarray(rng.logistic(size=latent.shape[0]), dtype=np.float64)
    above = (latent + noise)[:, None] > np.asarray(cuts, dtype=np.float64)[None, :]
    return np.asarray(above.sum(axis=1), dtype=np.int64)


def _substantive(q: Question) -> list[Option]:
    return [o for o in q.choices if not o.is_missing]


def _missing_option(q: Question) -> Option | None:
    return next((o for o in q.choices if o.is_missing), None)


def _scale_answers(
    rng: np.random.Generator,
    q: Question,
    latent: npt.NDArray[np.float64],
    *,
    ordered: Sequence[str],
    cuts: Sequence[float],
    extra: dict[str, float] | None = None,
    missing: float = 0.02,
) -> npt.NDArray[Any]:
    """Codes on an ordinal scale listed from the low to the high end of `latent`;
    codes of `q` outside `ordered` are drawn with the small probabilities in `extra`."""
    codes = {o.code for o in q.choices}
    scale = [c for c in ordered if c in codes]
    if len(scale) < 2:
        scale = [o.code for o in _substantive(q)]
        cuts = np.linspace(-1.0, 1.5, max(len(scale) - 1, 1)).tolist()
    cuts = list(cuts)[: len(scale) - 1]
    while len(cuts) < len(scale) - 1:
        cuts.append(cuts[-1] + 1.0 if cuts else 0.0)
    out = np.asarray(scale, dtype=object)[_ordinal(rng, latent, cuts)]
    u = rng.random(latent.shape[0])
    start = 0.0
    for code, p in (extra or {}).items():
        if code in codes:
            out[(u >= start) & (u < start + p)] = code
            start += p
    miss = _missing_option(q)
    if miss is not None:
        out[(u >= start) & (u < start + missing)] = miss.code
    return out


def _grid_scale(q: Question) -> list[str]:
    return [o.code for o in _substantive(q)]


def _priorities_utilities(people: People, codes: Sequence[str]) -> npt.NDArray[np.float64]:
    traits = {
        "old": people.old,
        "young": people.young,
        "female": people.female,
        "male": 1.0 - people.female,
        "asian": people.asian,
        "black": people.black,
        "minority": people.minority,
    }
    utilities = np.zeros((people.n, len(codes)))
    for j, code in enumerate(codes):
        for fragments, base, effects in PRIORITY_MODEL:
            if any(f in code for f in fragments):
                utilities[:, j] = base + sum(w * traits[t] for t, w in effects.items())
                break
    return utilities


def _condition_holds(
    show_if: dict[str, Any] | None, answers: dict[str, npt.NDArray[Any]], n: int
) -> npt.NDArray[np.bool_]:
    """The `show_if` forms the questionnaire uses: {"question": key, "in": [...]}
    and {"question": key, "not_in": [...]}. A question that was not answered
    satisfies neither."""
    if not show_if:
        return np.ones(n, dtype=bool)
    values = answers.get(str(show_if.get("question")))
    if values is None:
        return np.zeros(n, dtype=bool)
    wanted = set(show_if.get("in") or show_if.get("not_in") or [])

    def hit(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return bool(wanted & set(v))
        return v in wanted

    matched = np.array([v is not None and hit(v) for v in values], dtype=bool)
    answered = np.array([v is not None for v in values], dtype=bool)
    if "not_in" in show_if:
        return answered & ~matched
    return matched


def generate_answers(
    survey: Survey, n: int, rng: np.random.Generator
) -> tuple[People, dict[str, npt.NDArray[Any]], npt.NDArray[Any]]:
    """Per question key, one value per respondent (None = not on the path or
    skipped): a code, a list of codes (multiple, ranking in rank order), a dict
    item -> code (grid), text or a number. Also each respondent's consent."""
    questions = ordered_questions(survey.questions)
    people = _draw_people(rng, n, survey, questions)
    special_questions = [q for q in questions if is_special(q)]
    age_q = next((q for q in questions if q.demographic == "age_band"), None)
    under_code = None
    if age_q is not None:
        under_code = next((o.code for o in age_q.choices if o.code in under_16_codes(age_q)), None)
    if under_code is not None:
        people.under_16 = rng.random(n) < 0.012
    consent = np.full(n, None, dtype=object)
    if special_questions:
        agreed = rng.random(n) < 0.84
        consent = np.where(agreed, True, False).astype(object)
        consent[people.under_16] = None
    may_special = (consent == True) & ~people.under_16  # noqa: E712

    fear = (
        0.8 * people.female
        + 0.5 * people.minority
        + 0.5 * people.young
        + 0.5 * people.has("age_band", ("75+",))
        + rng.normal(0, 0.6, n)
    )
    area_cats = people.categories.get("area")
    if area_cats is not None:
        ward_effect = {w: rng.normal(0, 0.4) for w in set(area_cats.tolist())}
        fear = fear + np.array([ward_effect[a] for a in area_cats])
    distrust = (
        0.9 * people.young
        + 0.7 * people.black
        + 0.4 * people.asian
        - 0.6 * people.old
        + rng.normal(0, 0.7, n)
    )
    asb_concern = 0.5 * people.old + 0.3 * fear + rng.normal(0, 0.5, n)

    answers: dict[str, npt.NDArray[Any]] = {}
    for q in questions:
        shown = _condition_holds(q.show_if, answers, n)
        if q in special_questions:
            shown &= may_special
        elif adults_only(q):
            # Asked of 16 and over only (gender identity, as the Census asks it).
            shown &= ~people.under_16
        values = np.full(n, None, dtype=object)
        if q.key == "special_category_consent":
            # A consent question, where a survey asks it as one, agrees with
            # the consent recorded on the response.
            values[consent == True] = "yes"  # noqa: E712
            values[consent == False] = "no"  # noqa: E712
            answers[q.key] = values
            continue
        values[:] = _question_values(
            rng, q, people, fear, distrust, asb_concern, answers, under_code
        )
        if not q.required:
            values[rng.random(n) < 0.02] = None
        values[~shown] = None
        answers[q.key] = values
    return people, answers, consent


def _question_values(
    rng: np.random.Generator,
    q: Question,
    people: People,
    fear: npt.NDArray[np.float64],
    distrust: npt.NDArray[np.float64],
    asb_concern: npt.NDArray[np.float64],
    answers: dict[str, npt.NDArray[Any]],
    under_code: str | None,
) -> npt.NDArray[Any]:
    n = people.n
    codes = [o.code for o in q.choices]
    out = np.full(n, None, dtype=object)
    if q.demographic:
        return _demographic_values(rng, q, people, under_code)
    if q.key == "safe_after_dark":
        return _scale_answers(
            rng,
            q,
            fear,
            ordered=("very_safe", "fairly_safe", "a_bit_unsafe", "very_unsafe"),
            cuts=(-0.4, 1.3, 2.6),
            extra={"never_walks_alone": 0.05, "dont_know": 0.01},
        )
    if q.key == "safe_day":
        return _scale_answers(
            rng,
            q,
            fear - 2.0,
            ordered=("very_safe", "fairly_safe", "a_bit_unsafe", "very_unsafe"),
            cuts=(-1.0, 1.0, 2.5),
            extra={"dont_know": 0.01},
        )
    if q.type == QuestionType.GRID:
        scale = _grid_scale(q)
        per_item: dict[str, npt.NDArray[Any]] = {}
        for item in q.items:
            latent = _grid_latent(q.key, item.code, people, fear, distrust, asb_concern, rng)
            # Scales in the bank run from the strong end ("very worried", "very
            # big problem", "strongly agree") to the weak one.
            agree = q.key not in {"worry", "asb"}
            ordered = list(reversed(scale)) if not agree else scale
            cuts = (-1.2, 0.2, 1.4, 2.6) if not agree else (-1.5, -0.2, 1.2, 2.2)
            values = _scale_answers(rng, q, latent, ordered=ordered, cuts=cuts, missing=0.02)
            values[rng.random(n) < 0.01] = None  # an item left blank
            per_item[item.code] = values
        for i in range(n):
            row = {code: v[i] for code, v in per_item.items() if v[i] is not None}
            out[i] = row or None
        return out
    if q.key in {"police_job", "police_council_dealing"}:
        substantive = [o.code for o in _substantive(q)]
        return _scale_answers(
            rng, q, distrust, ordered=substantive, cuts=(-1.8, -0.3, 0.9, 2.0), missing=0.04
        )
    if q.type == QuestionType.RANKING:
        top_n = int(q.settings.get("top_n", 3) or 3)
        utilities = _priorities_utilities(people, codes) + rng.gumbel(size=(n, len(codes)))
        order = np.argsort(-utilities, axis=1)
        how_many = _choice(rng, [top_n, max(top_n - 1, 1), 1], [0.85, 0.1, 0.05], n)
        for i in range(n):
            out[i] = [codes[j] for j in order[i, : int(how_many[i])]]
        return out
    if q.type == QuestionType.TEXT:
        pool: tuple[str, ...]
        if q.show_if:
            pool = OTHER_PRIORITIES
            rate = 0.9
        else:
            pool = COMMENTS
            rate = 0.12
        picked = rng.random(n) < rate
        out[picked] = _choice(rng, pool, [1.0] * len(pool), int(picked.sum()))
        return out
    if q.type == QuestionType.NUMBER:
        low = float(q.settings.get("min", 0) or 0)
        high = float(q.settings.get("max", 40) or 40)
        return np.round(rng.uniform(low, min(high, low + 40), n)).astype(object)
    if q.type == QuestionType.MULTIPLE:
        pickable = [o for o in _substantive(q) if not o.exclusive]
        exclusive = [o for o in q.choices if o.exclusive and not o.is_missing]
        for i in range(n):
            if exclusive and rng.random() < 0.35:
                out[i] = [exclusive[0].code]
            elif pickable:
                k = min(len(pickable), 1 + int(rng.random() < 0.3))
                picks = rng.choice(len(pickable), size=k, replace=False)
                out[i] = [pickable[j].code for j in sorted(picks)]
        return out
    # Any other single choice or scale: mostly the earlier options, a few non-answers.
    options = _substantive(q)
    if not options:
        return out
    if q.key == "victim_last_year":
        yes = rng.random(n) < 0.12 + 0.08 * people.young
        out[:] = np.where(yes, options[0].code, options[min(1, len(options) - 1)].code)
    else:
        weights = 1.0 / np.arange(1, len(options) + 1)
        out[:] = _choice(rng, [o.code for o in options], weights, n)
    miss = _missing_option(q)
    if miss is not None:
        out[rng.random(n) < 0.02] = miss.code
    return out


def _grid_latent(
    key: str,
    item: str,
    people: People,
    fear: npt.NDArray[np.float64],
    distrust: npt.NDArray[np.float64],
    asb_concern: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    """Higher means the stronger end of the grid's scale (worried, a big
    problem, agree), so the caller flips agree-scales for distrust."""
    n = people.n
    noise = rng.normal(0, 0.4, n)
    if key == "worry":
        # Most people are worried about one crime or two, not all of them.
        latent = fear + noise - 1.4
        if any(f in item for f in ("skin", "race", "racial", "ethnic", "religio", "hate")):
            latent = latent + 1.6 * people.minority - 0.8
        if "car" in item:
            latent = latent - 0.5 * people.young
        return latent
    if key == "asb":
        latent = asb_concern + noise
        if "teenager" in item or "young" in item:
            latent = latent + 1.2 * people.old - 1.4 * people.young
        if "drug" in item:
            latent = latent + 0.6 * people.young + 0.3
        if "abandoned" in item or "burnt" in item:
            latent = latent - 1.5
        if "noisy" in item or "neighbour" in item:
            latent = latent + 0.5 * people.young - 0.4
        return latent
    return distrust + noise


def _demographic_values(
    rng: np.random.Generator, q: Question, people: People, under_code: str | None
) -> npt.NDArray[Any]:
    n = people.n
    out = np.full(n, None, dtype=object)
    variable = q.demographic or ""
    by_category: dict[str, list[str]] = {}
    for o in q.choices:
        if o.benchmark_category and not o.is_missing:
            by_category.setdefault(o.benchmark_category, []).append(o.code)
    cats = people.categories.get(variable)
    if variable == "ethnic_group" and cats is not None and any(":" in c for c in by_category):
        # Options are detailed groups counting towards broad categories: pick a
        # detailed option within the person's broad group.
        detailed = people.categories.get("ethnic_group_detailed")
        if detailed is not None:
            cats = detailed
    if cats is not None and by_category:
        for category, option_codes in by_category.items():
            rows = cats == category
            if rows.any():
                weights = [OPTION_WEIGHTS.get(code, 1.0) for code in option_codes]
                out[rows] = _choice(rng, option_codes, weights, int(rows.sum()))
        unmatched = np.array([v is None for v in out])
        if unmatched.any():
            # The person's category has no option of its own (a broad option list
            # for a detailed draw, say): fall back to the options' first word.
            for i in np.flatnonzero(unmatched):
                c = str(cats[i]).split(":")[0].strip()
                matches = [
                    code
                    for cat, codes in by_category.items()
                    if cat.split(":")[0].strip() == c
                    for code in codes
                ]
                if matches:
                    out[i] = matches[int(rng.integers(len(matches)))]
    else:
        substantive = _substantive(q)
        if substantive:
            first_heavy = np.array([8.0] + [1.0] * (len(substantive) - 1))
            out[:] = _choice(rng, [o.code for o in substantive], first_heavy, n)
    miss = _missing_option(q)
    rate = 0.02 if variable in {"age_band", "sex", "area"} else 0.05
    if miss is not None:
        out[rng.random(n) < rate] = miss.code
    if variable == "age_band" and under_code is not None:
        out[people.under_16] = under_code
    return out


def _references(rng: np.random.Generator, n: int) -> list[str]:
    taken = set(
        db.session.scalars(select(Response.reference).where(Response.reference.like("DM-%")))
    )
    refs: list[str] = []
    seen: set[str] = set(taken)
    while len(refs) < n:
        block = rng.choice(ALPHABET, size=(n, 8))
        for row in block:
            ref = f"DM-{''.join(row[:4])}-{''.join(row[4:])}"
            if ref not in seen:
                seen.add(ref)
                refs.append(ref)
                if len(refs) == n:
                    break
    return refs


def _languages(
    rng: np.random.Generator, people: People, offered: Sequence[str]
) -> npt.NDArray[Any]:
    eth = people.categories.get("ethnic_group", np.full(people.n, "White", dtype=object))
    out = np.full(people.n, offered[0] if offered else "en", dtype=object)
    for group, mix in LANGUAGE_MIX.items():
        rows = eth == group
        langs = [lang for lang in mix if lang in offered]
        if rows.any() and langs:
            out[rows] = _choice(rng, langs, [mix[lang] for lang in langs], int(rows.sum()))
    return out


def seed_demo_responses(survey: Survey, n: int = 3000, seed: int = 2026) -> int:
    """Add `n` submitted demo responses to `survey`, unless it already has
    responses. Returns the number added. Bulk inserts: a few thousand
    responses take a couple of seconds even on SQLite."""
    existing = db.session.scalar(
        select(func.count(Response.id)).where(Response.survey_id == survey.id)
    )
    if existing:
        return 0
    rng = np.random.default_rng(seed)
    people, answers, consent = generate_answers(survey, n, rng)
    now = datetime.now(UTC)
    submitted = [now - timedelta(seconds=float(s)) for s in rng.uniform(60, 30 * 24 * 3600, n)]
    durations = rng.uniform(4 * 60, 25 * 60, n)
    languages = _languages(rng, people, survey.languages)
    older = people.old.astype(bool)
    channel = np.where(
        rng.random(n) < np.where(older, 0.18, 0.05),
        Channel.PAPER.value,
        np.where(rng.random(n) < 0.04, Channel.ASSISTED.value, Channel.ONLINE.value),
    )
    references = _references(rng, n)
    response_rows = [
        {
            "survey_id": survey.id,
            "reference": references[i],
            "language": str(languages[i]) if channel[i] == Channel.ONLINE.value else "en",
            "channel": str(channel[i]),
            "status": ResponseStatus.SUBMITTED.value,
            "special_consent": consent[i],
            "started_at": submitted[i] - timedelta(seconds=float(durations[i])),
            "updated_at": submitted[i],
            "submitted_at": submitted[i],
            "batch": "demo-paper" if channel[i] == Channel.PAPER.value else None,
        }
        for i in range(n)
    ]
    ids = (
        db.session.execute(
            insert(Response).returning(Response.id, sort_by_parameter_order=True), response_rows
        )
        .scalars()
        .all()
    )
    rows = _answer_rows(survey, ids, answers)
    for start in range(0, len(rows), 20000):
        db.session.execute(insert(Answer), rows[start : start + 20000])
    db.session.flush()
    return n


def _answer_rows(
    survey: Survey, ids: Sequence[int], answers: dict[str, npt.NDArray[Any]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    append = rows.append
    for q in ordered_questions(survey.questions):
        values = answers.get(q.key)
        if values is None:
            continue
        qid = q.id
        for response_id, value in zip(ids, values, strict=True):
            if value is None:
                continue
            base = {
                "response_id": response_id,
                "question_id": qid,
                "item_code": "",
                "option_code": "",
                "rank": None,
                "number": None,
                "text": None,
            }
            if q.type == QuestionType.GRID:
                for item, code in value.items():
                    append({**base, "item_code": item, "option_code": code})
            elif q.type == QuestionType.RANKING:
                for rank, code in enumerate(value, start=1):
                    append({**base, "option_code": code, "rank": rank})
            elif q.type == QuestionType.MULTIPLE:
                for code in value:
                    append({**base, "option_code": code})
            elif q.type == QuestionType.TEXT:
                append({**base, "text": str(value)})
            elif q.type == QuestionType.NUMBER:
                append({**base, "number": float(value)})
            else:
                append({**base, "option_code": str(value)})
    return rows
