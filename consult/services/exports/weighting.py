"""Which weights an export carries, and the statement of how they were made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...models import Survey


@dataclass
class Weighting:
    """Weights aligned to response ids, and the scheme that made them."""

    weights: pd.Series | None  # None: unweighted (every weight 1)
    scheme: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def weighted(self) -> bool:
        return self.weights is not None

    def describe(self) -> str:
        if not self.weighted:
            return "Unweighted: every response has weight 1."
        s = self.scheme
        bounds = s.get("bounds")
        trim = (
            f"weights trimmed to [{bounds[0]:g}, {bounds[1]:g}] times the mean"
            if bounds
            else "no trimming"
        )
        text = (
            f"{str(s.get('method', 'rake')).capitalize()} to population benchmarks version "
            f"{s.get('benchmark_version')} on {', '.join(s.get('variables', [])) or 'no variables'}; "
            f"{trim}; tolerance {s.get('tol', 1e-6):g}; weights have mean 1."
        )
        if s.get("stream"):
            text += (
                " Streams weighted separately: responses of the sample stream (a letter's code)"
                " carry the sample stream's weights, design weights raked to the population"
                " (mean 1 over the sample stream); responses of the open stream carry the open"
                " stream's own raking weights (mean 1 over the open stream). Only the sample"
                " stream estimates what residents think; do not pool the two."
            )
        return text


def unweighted() -> Weighting:
    return Weighting(None, {"method": "none", "variables": [], "bounds": None}, {}, [])


def weighting_from_results(survey: Survey) -> Weighting:
    """The weights the results pages show (the current scheme, or the default
    one), so an export and the dashboard never disagree. Whether they apply
    at all is `question_results.applied_weighting`'s decision, the one the
    question results and the report follow too."""
    from ..question_results import applied_weighting
    from ..results import compute_results

    res = compute_results(survey)
    applied = applied_weighting(res)
    weights = applied.weights
    if res.stream is not None and weights is not None:
        # Each response carries its own stream's weights (see describe()).
        other = applied_weighting(compute_results(survey, stream="open")).weights
        if other is not None:
            weights = pd.concat([weights, other])
    info = res.scheme or {}
    lower, upper = info.get("lower_bound"), info.get("upper_bound")
    scheme = {
        "method": info.get("method", "rake"),
        "variables": list(info.get("variables") or []),
        "bounds": [lower, upper] if lower is not None and upper is not None else None,
        "benchmark_version": info.get("benchmark_version", res.benchmark_version),
        "tol": info.get("tolerance", res.rake.tol),
        "scheme_id": info.get("id"),
        "default_scheme": bool(info.get("default", True)),
        "stream": res.stream,
    }
    diagnostics = rake_diagnostics(res.rake)
    problems = [p.message for p in res.problems]
    if applied.weights is None:
        return Weighting(
            None,
            {**unweighted().scheme, "benchmark_version": scheme["benchmark_version"]},
            {},
            problems,
        )
    return Weighting(weights, scheme, diagnostics, problems)


def rake_diagnostics(result: Any) -> dict[str, Any]:
    return {
        "converged": bool(result.converged),
        "iterations": int(result.iterations),
        "max_margin_error": float(result.max_margin_error),
        "effective_sample_size": float(result.effective_sample_size),
        "design_effect": float(result.design_effect),
        "min_weight": float(result.min_weight),
        "max_weight": float(result.max_weight),
        "trimmed": bool(result.trimmed),
    }


def resolve_weighting(survey: Survey, weighted: bool) -> Weighting:
    return weighting_from_results(survey) if weighted else unweighted()
