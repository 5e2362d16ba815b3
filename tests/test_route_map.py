"""Meta-tests over the route map: every view is either public or carries a
role check, ids in URLs are typed, paths are kebab-case."""

from __future__ import annotations

import re

from conftest import make_app
from flask import Blueprint, Flask

KEBAB = re.compile(r"^[a-z0-9\-/.]*$")


def route_problems(app: Flask) -> list[str]:
    problems = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if not getattr(view, "_consult_public", False) and not getattr(view, "_consult_role", None):
            problems.append(f"{rule.rule} ({rule.endpoint}) has neither @public nor @role_required")
        static_parts = re.sub(r"<[^>]+>", "", rule.rule)
        if not KEBAB.match(static_parts):
            problems.append(f"{rule.rule} is not kebab-case")
        for name, converter in rule._converters.items():
            if name.endswith("_id") and type(converter).__name__ != "IntegerConverter":
                problems.append(f"{rule.rule}: {name} is not typed <int:>")
    return problems


def test_every_route_is_public_or_role_checked(app):
    assert route_problems(app) == []


def test_officer_routes_are_not_public(app):
    officer = [r for r in app.url_map.iter_rules() if r.rule.startswith("/manage")]
    assert officer, "expected officer routes under /manage"
    for rule in officer:
        assert getattr(app.view_functions[rule.endpoint], "_consult_role", None), rule.rule


def test_the_check_bites_on_an_unprotected_route(database_url):
    app = make_app(database_url)
    extra = Blueprint("extra", __name__)

    @extra.route("/manage/Secret_Report/<survey_id>")
    def leaky(survey_id):
        return "secret"

    app.register_blueprint(extra)
    problems = route_problems(app)
    assert any("neither @public nor @role_required" in p for p in problems)
    assert any("not kebab-case" in p for p in problems)
    assert any("survey_id is not typed" in p for p in problems)


def test_changes_need_an_officer_on_the_route_itself(app):
    """A page viewers may read and officers change has a separate POST view
    with its own role check: a check hidden in the view's body is invisible
    here, and easy to lose."""
    from consult.models import Role

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/manage") or "POST" not in (rule.methods or ()):
            continue
        role = getattr(app.view_functions[rule.endpoint], "_consult_role", None)
        assert role != Role.VIEWER, f"{rule.rule} ({rule.endpoint}) accepts POST from viewers"
