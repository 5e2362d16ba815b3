"""Can these margins be weighted to? Collapse what cannot, before raking.

Raking cannot weight up a population category nobody in the sample belongs
to, and a category with two or three respondents makes each of them carry a
large slice of the population (their weights explode, or the iteration drives
other people's weights towards zero to meet the margins). So before raking,
every category with fewer than ``min_count`` respondents is merged into a
neighbour following a declared hierarchy, and the merge is reported in plain
words. The same collapsed variables are used for the full sample and for
every replicate, so replicate intervals describe the weighting that was used.

Hierarchies (in this order of preference):

* ordered variables (age bands): merge with the adjacent band that has fewer
  respondents, repeatedly, until every band has enough;
* the 19 detailed Census ethnic groups: merge into their high-level group
  (the text before the colon);
* wards: into the areas the partnership defines (``area_groups``), if any;
  otherwise the ward variable is dropped from the scheme;
* anything else (and the high-level groups above, if still sparse): the
  sparse categories are combined into one; if that is still too small, or
  only one category would be left, the variable is dropped from the scheme.

Census "not answered / not stated" categories are not groups of people; they
are removed from the targets (and the rest renormalised) by
:func:`drop_not_stated` before any of this.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._codes import DEFAULT_MISSING_CODES, is_missing

#: Fewer respondents than this in a category and it is merged before raking.
DEFAULT_MIN_COUNT = 5

#: Variables whose categories have a natural order (merge with neighbours).
ORDERED_VARIABLES = frozenset({"age_band"})

_NOT_STATED = re.compile(
    r"^\s*(not\s+(answered|stated|known|recorded)|no\s+(answer|code\s+required)|"
    r"does\s+not\s+apply|prefer\s+not\s+to\s+say|unknown)\s*$",
    re.IGNORECASE,
)


def is_not_stated(category: object) -> bool:
    """True for Census categories that record non-response, not a group of people."""
    return isinstance(category, str) and bool(_NOT_STATED.match(category))


def drop_not_stated(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """The benchmarks without "not answered / not stated" rows.

    Shares are not rescaled here: every consumer renormalises per variable
    (raking and representation both do), which is exactly "the other shares
    renormalised". The removed rows are listed in ``attrs["not_stated"]`` as
    ``(variable, category, share)``.
    """
    if benchmarks.empty or "category" not in benchmarks.columns:
        out = benchmarks.copy()
        out.attrs["not_stated"] = []
        return out
    mask = benchmarks["category"].map(is_not_stated).to_numpy(dtype=bool)
    removed = [
        (str(v), str(c), float(s))
        for v, c, s in zip(
            benchmarks.loc[mask, "variable"],
            benchmarks.loc[mask, "category"],
            benchmarks.loc[mask, "population_share"],
            strict=True,
        )
    ]
    out = benchmarks.loc[~mask].reset_index(drop=True)
    out.attrs["not_stated"] = removed
    return out


@dataclass(frozen=True)
class Collapse:
    """What happened to one variable before raking."""

    variable: str
    action: str  # "collapsed" or "dropped"
    mapping: dict[str, str]  # original category -> category weighted to
    groups: dict[str, tuple[str, ...]]  # category weighted to -> originals (merged only)
    empty: tuple[str, ...]  # categories that had nobody
    sparse: tuple[str, ...]  # categories with some, but fewer than min_count
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "variable": self.variable,
            "action": self.action,
            "groups": {k: list(v) for k, v in self.groups.items()},
            "empty": list(self.empty),
            "sparse": list(self.sparse),
            "message": self.message,
        }


@dataclass
class Feasibility:
    """The variables and targets to rake to, after collapsing."""

    frame: pd.DataFrame
    targets: dict[str, dict[str, float]]
    collapses: list[Collapse] = field(default_factory=list)
    min_count: int = DEFAULT_MIN_COUNT

    @property
    def dropped(self) -> list[str]:
        return [c.variable for c in self.collapses if c.action == "dropped"]


def _counts(values: pd.Series, cats: Sequence[str], missing: Collection[str]) -> dict[str, int]:
    answered = values[~is_missing(values, missing)].astype(str)
    vc = answered.value_counts()
    return {c: int(vc.get(c, 0)) for c in cats}


def _band_label(cats: Sequence[str]) -> str:
    if len(cats) == 1:
        return cats[0]
    low = cats[0].split("-")[0].rstrip("+")
    last = cats[-1]
    if last.endswith("+"):
        return f"{low}+"
    return f"{low}-{last.split('-')[-1]}"


def _merge_ordered(
    cats: Sequence[str], counts: Mapping[str, int], min_count: int
) -> list[list[str]]:
    """Merge adjacent bands, smallest first, until each has min_count respondents."""
    blocks = [[c] for c in cats]

    def size(block: list[str]) -> int:
        return sum(counts[c] for c in block)

    while len(blocks) > 1:
        sizes = [size(b) for b in blocks]
        i = int(np.argmin(sizes))
        if sizes[i] >= min_count:
            break
        if i == 0:
            j = 1
        elif i == len(blocks) - 1:
            j = i - 1
        else:
            # The smaller neighbour: the merge that moves fewest people's weights.
            j = i - 1 if sizes[i - 1] <= sizes[i + 1] else i + 1
        lo, hi = min(i, j), max(i, j)
        blocks[lo : hi + 1] = [blocks[lo] + blocks[hi]]
    return blocks


def _combine_sparse(
    cats: Sequence[str], counts: Mapping[str, int], min_count: int
) -> list[list[str]] | None:
    """Combine every sparse category into one; None when that cannot help."""
    sparse = [c for c in cats if counts[c] < min_count]
    rest = [c for c in cats if counts[c] >= min_count]
    if not sparse:
        return [[c] for c in cats]
    if not rest:
        return None
    if sum(counts[c] for c in sparse) < min_count:
        # Still too few together: fold them into the smallest adequate group
        # (e.g. every ethnic group but the largest weighted as one), as long
        # as two groups remain to weight to.
        if len(rest) < 2:
            return None
        smallest = min(rest, key=lambda c: counts[c])
        return [[c] for c in rest if c != smallest] + [[smallest, *sparse]]
    return [[c] for c in rest] + [sparse]


def _combined_label(block: Sequence[str]) -> str:
    return block[0] if len(block) == 1 else " / ".join(block)


def _words(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _reason(empty: Sequence[str], sparse: Sequence[str], min_count: int, noun: str) -> str:
    parts = []
    if empty:
        parts.append(
            f"{len(empty)} had no responses" if len(empty) > 1 else f"{empty[0]} had no responses"
        )
    if sparse:
        parts.append(
            f"{len(sparse)} had fewer than {min_count}"
            if len(sparse) > 1
            else f"{sparse[0]} had fewer than {min_count}"
        )
    return " and ".join(parts)


def check_feasibility(
    frame: pd.DataFrame,
    targets: Mapping[str, Mapping[str, float]],
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    area_groups: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    missing_codes: Collection[str] = DEFAULT_MISSING_CODES,
) -> Feasibility:
    """Collapse or drop sparse categories of each raking variable.

    ``frame`` holds one column per variable in ``targets`` (categories as
    text). Returns a new frame (only the collapsed columns are rewritten;
    missing answers stay missing) and targets summed over merged categories.
    ``names`` maps a variable to the word used in messages ("Age bands",
    "Wards"); ``area_groups`` maps a ward to the area the partnership groups
    it into.
    """
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    names = names or {}
    out = frame.copy()
    new_targets: dict[str, dict[str, float]] = {}
    collapses: list[Collapse] = []
    for var, shares in targets.items():
        cats = [str(c) for c in shares]
        if var not in frame.columns:
            new_targets[var] = {str(c): float(s) for c, s in shares.items()}
            continue
        counts = _counts(frame[var], cats, missing_codes)
        relevant = [c for c in cats if float(shares[c]) > 0]
        empty = tuple(c for c in relevant if counts[c] == 0)
        sparse = tuple(c for c in relevant if 0 < counts[c] < min_count)
        noun = names.get(var, var.replace("_", " ").capitalize())
        if not empty and not sparse:
            new_targets[var] = {c: float(shares[c]) for c in cats}
            continue
        reason = _reason(empty, sparse, min_count, noun)
        if var == "area":
            grouped = _area_blocks(cats, counts, area_groups, min_count) if area_groups else None
            if grouped is None:
                message = f"Wards were left out of the weighting because {reason}" + (
                    ", and the partnership has not grouped wards into larger areas."
                    if not area_groups
                    else ", even after grouping them into the partnership's areas."
                )
                collapses.append(Collapse(var, "dropped", {}, {}, empty, sparse, message))
                continue
            blocks, labels = grouped
            message = f"Wards were grouped into {len(blocks)} areas because {reason}."
        else:
            found = _merged_blocks(var, cats, counts, min_count)
            if found is None:
                verb = "were" if noun.endswith("s") else "was"
                message = (
                    f"{noun} {verb} left out of the weighting because {reason}, and merging "
                    "categories would not leave two groups large enough to weight to."
                )
                collapses.append(Collapse(var, "dropped", {}, {}, empty, sparse, message))
                continue
            blocks, labels = found
            merged = [(lab, b) for lab, b in zip(labels, blocks, strict=True) if len(b) > 1]
            detail = "; ".join(
                f"{_words(b)} were weighted as one group ({lab})" for lab, b in merged
            )
            message = f"{noun}: {detail}, because {reason}."
        _record(
            out,
            new_targets,
            collapses,
            var,
            cats,
            shares,
            blocks,
            labels,
            empty,
            sparse,
            message,
            missing_codes,
        )
    # Dropped variables are not raked to.
    return Feasibility(frame=out, targets=new_targets, collapses=collapses, min_count=min_count)


def _area_blocks(
    cats: Sequence[str], counts: Mapping[str, int], area_groups: Mapping[str, str], min_count: int
) -> tuple[list[list[str]], list[str]] | None:
    """Wards grouped into the partnership's areas, sparse areas combined;
    None when that does not leave two groups to weight to."""
    parents = [area_groups.get(c, c) for c in cats]
    parent_cats = list(dict.fromkeys(parents))
    first = [[c for c, p in zip(cats, parents, strict=True) if p == pc] for pc in parent_cats]
    pc_counts = {
        pc: sum(counts[c] for c in block) for pc, block in zip(parent_cats, first, strict=True)
    }
    second = _combine_sparse(parent_cats, pc_counts, min_count)
    if second is None or len(second) < 2:
        return None
    blocks = [[c for pc in group for c in first[parent_cats.index(pc)]] for group in second]
    return blocks, [_combined_label(group) for group in second]


def _merged_blocks(
    var: str, cats: Sequence[str], counts: Mapping[str, int], min_count: int
) -> tuple[list[list[str]], list[str]] | None:
    """A variable's sparse categories merged (adjacent bands of an ordered
    variable, detailed ethnic groups into their broad group, others into
    the smallest adequate group); None when that does not leave two groups
    to weight to."""
    blocks: list[list[str]] | None
    labels: list[str] | None
    if var in ORDERED_VARIABLES:
        blocks = _merge_ordered(cats, counts, min_count)
        labels = [_band_label(b) for b in blocks]
    elif var == "ethnic_group_detailed":
        parents = [c.split(":")[0].strip() for c in cats]
        parent_cats = list(dict.fromkeys(parents))
        first = [[c for c, p in zip(cats, parents, strict=True) if p == pc] for pc in parent_cats]
        # Only sparse groups are merged up; a detailed group with enough
        # people keeps its own margin.
        blocks = []
        labels = []
        for pc, block in zip(parent_cats, first, strict=True):
            keep = [c for c in block if counts[c] >= min_count]
            merge = [c for c in block if counts[c] < min_count]
            blocks.extend([[c] for c in keep])
            labels.extend(keep)
            if merge:
                blocks.append(merge)
                labels.append(pc if not keep else f"{pc}: other")
        sizes = {lab: sum(counts[c] for c in b) for lab, b in zip(labels, blocks, strict=True)}
        if any(s < min_count for s in sizes.values()):
            blocks = [[c for c in first[i]] for i in range(len(parent_cats))]
            labels = list(parent_cats)
            pc_counts = {
                pc: sum(counts[c] for c in b) for pc, b in zip(labels, blocks, strict=True)
            }
            second = _combine_sparse(labels, pc_counts, min_count)
            if second is None:
                blocks = None
            else:
                blocks = [[c for lab in g for c in blocks[labels.index(lab)]] for g in second]
                labels = [_combined_label(g) for g in second]
    else:
        second = _combine_sparse(cats, counts, min_count)
        blocks = second
        labels = None if second is None else [_combined_label(b) for b in second]
    if blocks is None or labels is None or len(blocks) < 2:
        return None
    return blocks, labels


def _record(
    out: pd.DataFrame,
    new_targets: dict[str, dict[str, float]],
    collapses: list[Collapse],
    var: str,
    cats: Sequence[str],
    shares: Mapping[str, float],
    blocks: Sequence[Sequence[str]],
    labels: Sequence[str],
    empty: tuple[str, ...],
    sparse: tuple[str, ...],
    message: str,
    missing_codes: Collection[str],
) -> None:
    mapping = {c: lab for lab, b in zip(labels, blocks, strict=True) for c in b}
    new_targets[var] = {
        lab: float(sum(float(shares[c]) for c in b)) for lab, b in zip(labels, blocks, strict=True)
    }
    values = out[var]
    keep = is_missing(values, missing_codes)
    text = values.astype("object")
    mapped = text.map(lambda v: mapping.get(str(v), v) if isinstance(v, str) else v)
    out[var] = mapped.where(~keep, values.astype("object")).astype("object")
    groups = {lab: tuple(b) for lab, b in zip(labels, blocks, strict=True) if len(b) > 1}
    collapses.append(Collapse(var, "collapsed", mapping, groups, empty, sparse, message))
