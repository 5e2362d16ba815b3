"""Plain words for demographic variables and groups, shared by every results page."""

from __future__ import annotations

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
