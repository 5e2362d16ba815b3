"""Plain words for demographic variables and groups, shared by every results page."""

from __future__ import annotations

from typing import Any

from ...vocabulary import VARIABLE_LABELS

VARIABLE_NAMES = {
    **VARIABLE_LABELS,
    "channel": "How people responded",
}
# Not a demographic: results broken down by how responses were collected
# (online, paper, face to face, imported), from each response's channel.
CHANNEL = "channel"


def variable_name(variable: str) -> str:
    return VARIABLE_NAMES.get(variable, variable.replace("_", " ").capitalize())


_ETHNIC_SUBJECTS = {
    "Asian, Asian British or Asian Welsh": "Asian residents",
    "Black, Black British, Black Welsh, Caribbean or African": "Black residents",
    "Mixed or Multiple ethnic groups": "Residents of mixed or multiple ethnic groups",
    "White": "White residents",
    "Other ethnic group": "Residents of other ethnic groups",
}


def group_label(variable: str, category: str) -> str:
    """The subject of a plain-words sentence about a population group."""
    if variable == "age_band":
        if category.endswith("+"):
            return f"People aged {category[:-1]} and over"
        return f"People aged {category.replace('-', '–')}"
    if variable == "sex":
        return {"Female": "Women", "Male": "Men"}.get(category, category)
    if variable == "ethnic_group":
        return _ETHNIC_SUBJECTS.get(category, f"{category} residents")
    if variable == "area":
        return f"People living in {category}"
    if variable == "religion":
        return "People with no religion" if category == "No religion" else f"{category} residents"
    return f"{category} ({variable_name(variable).lower()})"


def _listed(categories: tuple[str, ...]) -> str:
    names = list(categories)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def problem_text(problem: Any) -> str:
    """A weighting problem in the words an officer reads on results pages and
    in the report. The analysis writes its messages for analysts (variable
    codes, iteration counts, tolerances), and `consult results --json` keeps
    them; officers get what it means for their figures."""
    code = problem.code
    variable = problem.variable
    name = variable_name(variable).lower() if variable else ""
    groups = _listed(problem.categories) if problem.categories else ""
    if code == "not_converged":
        if "no respondents" in problem.message:
            return (
                "The weights could not match every population figure, because some groups "
                "of residents have nobody in the responses."
            )
        return (
            "The weights could not be made to match every population figure within the cap "
            "on weights."
        )
    if code == "bounds_not_met":
        return (
            "Matching the population figures would need some people's answers to count for "
            "more (or less) than the cap on weights allows."
        )
    if code == "empty_category" and groups:
        return f"Nobody in {groups} ({name}) answered, so they cannot be weighted up."
    if code == "zero_target" and groups:
        return (
            f"{groups} ({name}) answered, but the population figures give them no share: "
            "their answers count for nothing in weighted figures."
        )
    if code == "unknown_category" and groups:
        return (
            f"Some answers to {name} ({groups}) have no population figure; those people "
            "keep their share of the responses."
        )
    if code in ("variable_not_in_frame", "all_missing") and name:
        return f"Nobody answered the {name} question, so it was not used for weighting."
    if code == "targets_renormalised" and name:
        return (
            f"The population figures for {name} did not add up to 100%; they were scaled "
            "so that they do."
        )
    if code == "invalid_targets" and name:
        return f"The population figures for {name} add up to nothing, so it was not used."
    return str(problem.message)
