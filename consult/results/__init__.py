"""Officer results pages: /manage/surveys/<id>/results and its sub-pages.

The overview opens on whose voices are missing (representation against the
partnership's benchmarks), because every number below it has to be read in
that light; then headline measures weighted beside unweighted, the priorities
with their bands, and the weighting diagnostics, which are always on show.
Viewers read everything; choosing a weighting scheme, acknowledging the flags
and marking priorities final need an officer. All numbers come from
`consult.services.results`, cached per results state.
"""

from __future__ import annotations

import math
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from ..extensions import db
from ..models import Job, Role, Survey
from ..security import has_role, owned_or_404, role_required
from ..services import ServiceError
from ..services.benchmarks import current_benchmarks
from ..services.results import (
    CHANNEL,
    DecisionStatus,
    SurveyResults,
    acknowledge_flags,
    breakdown,
    choose_scheme,
    compute_results,
    current_scheme,
    decision_status,
    default_variables,
    mark_priorities_final,
    needs_override,
    problem_text,
    survey_variables,
    use_default_scheme,
    variable_name,
    weightable_variables,
)
from ..services.results.background import results_or_job
from ..services.results.streams import (
    COMBINED_STATEMENT,
    STREAM_NAMES,
    available_streams,
    combine_streams,
    resolve_stream,
    set_combine_streams,
)
from ..vocabulary import FLAG_LABELS, FLAG_TAGS, FLAGS, STATUS_LABELS, STATUS_TAGS, STATUSES

bp = Blueprint("results", __name__, url_prefix="/manage/surveys")


@bp.url_defaults
def _keep_stream(endpoint: str, values: dict[str, Any]) -> None:
    """Links between results pages stay on the stream being read."""
    stream = g.get("results_stream")
    if stream and "stream" not in values:
        values["stream"] = stream


def chosen_stream(survey: Survey) -> str | None:
    """The stream the page reads (``?stream=``), remembered for its links;
    None for a survey without a sample stream."""
    stream = resolve_stream(survey, request.args.get("stream"))
    g.results_stream = stream
    return stream


STATUS_TEXT = {status: (STATUS_LABELS[status], STATUS_TAGS[status]) for status in STATUSES}

FLAG_TEXT = {flag: (FLAG_LABELS[flag], FLAG_TAGS[flag]) for flag in FLAGS}


def pct(value: Any, dp: int = 1) -> str:
    """A share as a percentage with one decimal place; a dash when unknown."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(number):
        return "–"
    return f"{100 * number:.{dp}f}%"


def number(value: Any, dp: int = 0) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(x):
        return "–"
    return f"{x:,.{dp}f}"


def points(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{100 * value:+.1f}"


def _render(template: str, survey: Survey, http_status: int = 200, **context: Any):
    return (
        render_template(
            template,
            survey=survey,
            pct=pct,
            number=number,
            points=points,
            flag_text=FLAG_TEXT,
            status_text=STATUS_TEXT,
            variable_name=variable_name,
            problem_text=problem_text,
            can_decide=has_role(Role.OFFICER),
            needs_override=needs_override,
            streams=available_streams(survey),
            stream_names=STREAM_NAMES,
            combined_statement=COMBINED_STATEMENT,
            **context,
        ),
        http_status,
    )


def _representation_sections(results: SurveyResults, survey: Survey) -> list[dict[str, Any]]:
    """One table per demographic variable, in questionnaire order, with the
    benchmark sources numbered so each row can point at its own."""
    table = results.representation
    order = survey_variables(survey)
    variables = [v for v in order if v in set(table["variable"])]
    variables += [v for v in dict.fromkeys(table["variable"]) if v not in variables]
    sections = []
    for variable in variables:
        rows = table[table["variable"] == variable].to_dict("records")
        sources: list[str] = []
        for row in rows:
            source = str(row.get("source") or "")
            if source and source not in sources:
                sources.append(source)
            row["source_number"] = sources.index(source) + 1 if source else None
        sections.append(
            {
                "variable": variable,
                "name": variable_name(variable),
                "rows": rows,
                "sources": sources,
                "flagged": sum(1 for r in rows if r.get("status") in ("under", "over")),
            }
        )
    return sections


def _context(survey: Survey) -> tuple[SurveyResults, DecisionStatus]:
    results = compute_results(survey, stream=chosen_stream(survey))
    return results, decision_status(survey, results)


def _page_context(survey: Survey) -> tuple[SurveyResults, DecisionStatus]:
    """For pages that show no respondent-level figures: the results computed
    once and shared by every app server (see services.results.cache)."""
    results = _results_or_computing_page(survey)
    return results, decision_status(survey, results)


def _results_or_computing_page(survey: Survey) -> SurveyResults:
    """The shared results; for a large survey whose results a background job
    is still computing, the request ends here with a page that says so and
    looks again in a few seconds."""
    found = results_or_job(survey, stream=chosen_stream(survey))
    db.session.commit()
    if isinstance(found, Job):
        page, status = _render("results/computing.html", survey, 202, job=found)
        response = make_response(page, status)
        response.headers["Retry-After"] = "5"
        abort(response)
    return found


@bp.route("/<int:survey_id>/results")
@role_required(Role.VIEWER)
def overview(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    results, status = _page_context(survey)
    return _render(
        "results/overview.html",
        survey,
        results=results,
        status=status,
        sections=_representation_sections(results, survey),
    )


@bp.route("/<int:survey_id>/results/priorities")
@role_required(Role.VIEWER)
def priorities(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    results, status = _page_context(survey)
    return _render("results/priorities.html", survey, results=results, status=status, errors=[])


@bp.route("/<int:survey_id>/results/priorities/acknowledge", methods=["POST"])
@role_required(Role.OFFICER)
def acknowledge(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    results, status = _context(survey)
    if request.form.get("confirm") != "yes":
        errors = [
            {"text": "Confirm that you have read the representation flags", "href": "#confirm"}
        ]
        return _render(
            "results/priorities.html", survey, 400, results=results, status=status, errors=errors
        )
    acknowledge_flags(survey, g.user, results)
    db.session.commit()
    flash("You have confirmed that you read the representation flags", "success")
    return redirect(url_for("results.priorities", survey_id=survey.id))


@bp.route("/<int:survey_id>/results/priorities/final", methods=["POST"])
@role_required(Role.OFFICER)
def mark_final(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    # One step: ticking "I have read the flags" and pressing "Mark final"
    # records the acknowledgement and the decision together.
    try:
        mark_priorities_final(
            survey,
            g.user,
            acknowledge=request.form.get("confirm") == "yes",
            override=request.form.get("override") == "yes",
            override_reason=request.form.get("override_reason", "")[:500],
        )
    except ServiceError as error:
        db.session.rollback()
        results, status = _context(survey)
        href = {"acknowledge": "#confirm", "override": "#override"}.get(
            error.field or "", "#mark-final"
        )
        return _render(
            "results/priorities.html",
            survey,
            400,
            results=results,
            status=status,
            errors=[{"text": error.message, "href": href}],
        )
    db.session.commit()
    flash("The priorities are marked final for the strategy", "success")
    return redirect(url_for("results.priorities", survey_id=survey.id))


@bp.route("/<int:survey_id>/results/breakdown")
@role_required(Role.VIEWER)
def breakdown_page(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    results = compute_results(survey, stream=chosen_stream(survey))
    variables = [v for v in survey_variables(survey) if v in results.demographics.columns]
    variables.append(CHANNEL)
    measures = list(results.measures.values())
    available = {m.key for m in measures if any(h.key == m.key for h in results.headlines)}
    measures = [m for m in measures if m.key in available]
    variable = request.args.get("variable") or (variables[0] if variables else "")
    measure = request.args.get("measure") or (measures[0].key if measures else "")
    errors: list[dict[str, str]] = []
    table = None
    if variables and measures:
        try:
            table = breakdown(results, measure, variable)
        except ServiceError as error:
            errors.append({"text": error.message, "href": f"#{error.field}"})
    return _render(
        "results/breakdown.html",
        survey,
        400 if errors else 200,
        results=results,
        variables=variables,
        measures=measures,
        chosen_variable=variable,
        chosen_measure=measure,
        table=table,
        errors=errors,
    )


@bp.route("/<int:survey_id>/results/weighting")
@role_required(Role.VIEWER)
def weighting(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    return _weighting_page(survey, errors=[], form=None)


def _weighting_page(
    survey: Survey,
    *,
    errors: list[dict[str, str]],
    form: dict[str, Any] | None,
    http_status: int = 200,
):
    results = _results_or_computing_page(survey)
    benchmark_set = current_benchmarks(survey.partnership_id)
    scheme = current_scheme(survey)
    if form is None:
        form = {
            "variables": list(results.scheme["variables"]),
            "lower_bound": ""
            if scheme is None or scheme.lower_bound is None
            else f"{scheme.lower_bound:g}",
            "upper_bound": ""
            if scheme is None or scheme.upper_bound is None
            else f"{scheme.upper_bound:g}",
        }
    return _render(
        "results/weighting.html",
        survey,
        http_status,
        results=results,
        scheme=scheme,
        available=weightable_variables(survey, benchmark_set),
        defaults=default_variables(survey, benchmark_set),
        form=form,
        errors=errors,
    )


def _bound(text: str, field: str, label: str) -> tuple[float | None, dict[str, str] | None]:
    text = text.strip()
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, {"text": f"{label} must be a number, like 0.2 or 5", "href": f"#{field}"}
    if not math.isfinite(value):
        return None, {"text": f"{label} must be a number, like 0.2 or 5", "href": f"#{field}"}
    return value, None


@bp.route("/<int:survey_id>/results/weighting", methods=["POST"])
@role_required(Role.OFFICER)
def choose_weighting(survey_id: int):
    survey = owned_or_404(Survey, survey_id)
    if request.form.get("action") == "default":
        use_default_scheme(survey, g.user)
        db.session.commit()
        flash("The results are weighted by the default variables again", "success")
        return redirect(url_for("results.overview", survey_id=survey.id))
    form: dict[str, Any] = {
        "variables": request.form.getlist("variables"),
        "lower_bound": request.form.get("lower_bound", "")[:20],
        "upper_bound": request.form.get("upper_bound", "")[:20],
    }
    lower, lower_error = _bound(form["lower_bound"], "lower_bound", "The smallest weight allowed")
    upper, upper_error = _bound(form["upper_bound"], "upper_bound", "The largest weight allowed")
    errors = [e for e in (lower_error, upper_error) if e]
    if not errors:
        try:
            choose_scheme(
                survey, g.user, variables=form["variables"], lower_bound=lower, upper_bound=upper
            )
        except ServiceError as error:
            db.session.rollback()
            href = "#variables" if error.field == "variables" else f"#{error.field}"
            errors.append({"text": error.message, "href": href})
    if errors:
        return _weighting_page(survey, errors=errors, form=form, http_status=400)
    db.session.commit()
    flash("Weighting scheme saved: the results below use it", "success")
    return redirect(url_for("results.overview", survey_id=survey.id))


@bp.route("/<int:survey_id>/results/streams", methods=["POST"])
@role_required(Role.OFFICER)
def choose_streams(survey_id: int):
    """Show, or stop showing, the two streams combined."""
    survey = owned_or_404(Survey, survey_id)
    combine = request.form.get("combine") == "yes"
    if combine != combine_streams(survey):
        set_combine_streams(survey, g.user, combine)
        db.session.commit()
    flash(
        "The results also show both streams combined"
        if combine
        else "The results show the sample and open streams separately only",
        "success",
    )
    return redirect(url_for("results.overview", survey_id=survey.id))


# Every question's results: views in their own module, on this blueprint.
from . import questions as _questions  # noqa: E402,F401
