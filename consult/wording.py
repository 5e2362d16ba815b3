"""Small helpers for the English wording of officer pages: counts with the
right noun ("1 person", "2 people") and census category names as people read
them. Pure functions (no Flask), so services and analysis can use them too.

Officer pages are English-only (see consult.app.ENGLISH_ONLY_BLUEPRINTS), so
these plurals are English rules; text a resident reads goes through
Flask-Babel's ngettext, which knows each language's plural forms."""

from __future__ import annotations


def counted(count: int, one: str, many: str) -> str:
    """ "1 response", "2 responses", "1,204 people"."""
    return f"{count:,} {one if count == 1 else many}"


def category_label(name: object) -> str:
    """A census category as people read it. ONS labels some categories
    "Group: Subgroup" and repeats the group when it has one subgroup
    ("Shared ownership: Shared ownership"): show that once. The stored name
    is unchanged, since benchmark files match on it."""
    text = "" if name is None else str(name)
    head, sep, tail = text.partition(": ")
    if sep and head.strip().casefold() == tail.strip().casefold():
        return head.strip()
    return text
