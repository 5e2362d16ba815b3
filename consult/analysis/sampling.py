"""Drawing a stratified random sample of addresses (the design weights of
those who answer are in `consult.analysis.design`).

Pure numpy and pandas: no Flask, no database. The sample stream's service reads the
address file and stores the result; the results pages weight the answers.

The draw is a stratified simple random sample without replacement. Within
each stratum every address has the same chance, n_h / N_h, of being drawn
(N_h addresses in the file's stratum, n_h drawn). It is reproducible: the
same rows in the same order with the same seed draw the same addresses,
because the only randomness is one `numpy.random.Generator(PCG64(seed))`
giving each row a uniform key, and each stratum takes its n_h rows with the
smallest keys. Sorting the keys once (by stratum, then key) is vectorised,
so 5,000 from 100,000 takes milliseconds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Seeds are stored in a signed 64-bit column; a random seed stays below 2**53
#: so it survives a round trip through JSON and spreadsheets unchanged.
MAX_SEED = 2**63 - 1
RANDOM_SEED_LIMIT = 2**53


class SampleSizeError(ValueError):
    """Sizes that cannot be drawn: each problem is one sentence."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class StratumDraw:
    stratum: str
    population: int  # N_h: addresses of the stratum in the file
    drawn: int  # n_h
    probability: float  # n_h / N_h, the same for every address of the stratum


@dataclass(frozen=True)
class Draw:
    seed: int
    #: Row positions (0-based, in file order) of the drawn addresses.
    rows: npt.NDArray[np.int64]
    #: The drawn rows' ids, in file order.
    ids: list[str]
    #: The drawn rows' selection probabilities, aligned with `rows`.
    probabilities: npt.NDArray[np.float64]
    strata: list[StratumDraw]

    @property
    def total(self) -> int:
        return int(self.rows.size)

    @property
    def population(self) -> int:
        return sum(s.population for s in self.strata)


def stratum_sizes(strata: Sequence[str] | npt.NDArray[np.str_]) -> dict[str, int]:
    """N_h for each stratum, in sorted order of the stratum names."""
    names, counts = np.unique(np.asarray(strata, dtype=str), return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts, strict=True)}


def allocate(populations: Mapping[str, int], total: int) -> dict[str, int]:
    """Share `total` between strata in proportion to their sizes, rounding by
    largest remainder (Hamilton's method): each stratum gets the whole part of
    its quota, and the addresses left over go one each to the strata with the
    largest fractions (ties to the earlier stratum name), so the sizes add up
    to `total` exactly."""
    if total < 0:
        raise SampleSizeError(["The sample size must be a positive whole number"])
    population = sum(populations.values())
    if total > population:
        raise SampleSizeError(
            [f"Cannot draw {total} addresses from a file of {population} addresses"]
        )
    names = sorted(populations)
    if not names:
        return {}
    sizes = np.array([populations[n] for n in names], dtype=np.float64)
    quotas = total * sizes / population
    whole = np.floor(quotas).astype(np.int64)
    left = total - int(whole.sum())
    if left:
        # Largest fraction first; the stable sort keeps name order among ties.
        order = np.argsort(-(quotas - whole), kind="stable")
        whole[order[:left]] += 1
    return {n: int(k) for n, k in zip(names, whole, strict=True)}


def check_sizes(populations: Mapping[str, int], sizes: Mapping[str, int]) -> list[str]:
    """The problems with sizes asked for per stratum (none if they can be drawn)."""
    problems = []
    for name in sorted(sizes):
        wanted = sizes[name]
        if name not in populations:
            problems.append(f"Stratum {name!r} is not in the address file")
        elif wanted < 0:
            problems.append(f"Stratum {name!r}: the size must be 0 or more")
        elif wanted > populations[name]:
            problems.append(
                f"Stratum {name!r}: cannot draw {wanted} addresses from its {populations[name]}"
            )
    return problems


def _factorise(
    strata: Sequence[str] | npt.NDArray[np.str_],
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Sorted stratum names and each row's index into them, by hashing (as
    `pandas.factorize` does): sorting 100,000 strings, as `np.unique` does,
    costs ten times more."""
    codes, names = pd.factorize(pd.Series(strata, dtype=object).astype(str), sort=True)
    return [str(n) for n in names], codes.astype(np.int64)


def draw_sample(
    ids: Sequence[str],
    strata: Sequence[str] | None,
    sizes: Mapping[str, int] | int,
    seed: int,
) -> Draw:
    """Draw a stratified simple random sample without replacement.

    `ids` and `strata` are one entry per address, in file order (`strata`
    None: one stratum, named ""). `sizes` is n_h per stratum, or one total
    shared out in proportion to the strata's sizes (`allocate`). A stratum
    missing from a `sizes` mapping draws none. Raises `SampleSizeError` for
    sizes that cannot be drawn."""
    if not 0 <= seed <= MAX_SEED:
        raise SampleSizeError([f"The seed must be a whole number from 0 to {MAX_SEED}"])
    count = len(ids)
    names, codes = _factorise(strata if strata is not None else [""] * count)
    if codes.shape != (count,):
        raise ValueError("ids and strata must have the same length")
    counts = np.bincount(codes, minlength=len(names))
    populations = {str(n): int(c) for n, c in zip(names, counts, strict=True)}
    if isinstance(sizes, int):
        wanted = allocate(populations, sizes)
    else:
        problems = check_sizes(populations, sizes)
        if problems:
            raise SampleSizeError(problems)
        wanted = {name: int(sizes.get(name, 0)) for name in populations}
    drawn = np.array([wanted[str(n)] for n in names], dtype=np.int64)

    rng = np.random.Generator(np.random.PCG64(seed))
    keys = rng.random(count)
    # Rows grouped by stratum, each group in order of its random keys: the
    # first n_h rows of each group are a simple random sample of it.
    order = np.lexsort((keys, codes))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sorted_codes = codes[order]
    rank = np.arange(count) - starts[sorted_codes]
    chosen = np.sort(order[rank < drawn[sorted_codes]])

    probability_by_stratum = np.divide(
        drawn, counts, out=np.zeros(len(names), dtype=np.float64), where=counts > 0
    )
    return Draw(
        seed=seed,
        rows=chosen.astype(np.int64),
        ids=[str(ids[i]) for i in chosen.tolist()],
        probabilities=probability_by_stratum[codes[chosen]],
        strata=[
            StratumDraw(str(n), int(c), int(d), float(p))
            for n, c, d, p in zip(names, counts, drawn, probability_by_stratum, strict=True)
        ],
    )


def random_seed() -> int:
    """A fresh seed for a draw the officer did not seed, recorded with it."""
    return int(np.random.default_rng().integers(0, RANDOM_SEED_LIMIT))
