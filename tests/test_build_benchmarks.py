"""Population benchmark upload and versions, and mapping a demographic
question's answers to benchmark categories."""

from __future__ import annotations

import io

import sqlalchemy as sa
from test_build_web import build

from consult.extensions import db
from consult.models import AuditEvent, BenchmarkSet, Question
from consult.services import ServiceError

GOOD = "variable,category,population_share,base,source\nage_band,16-24,0.2,,Census\nage_band,25+,0.8,,Census\n"


def upload(client, content: str, **fields):
    data = {
        "file": (io.BytesIO(content.encode()), "benchmarks.csv"),
        "note": "Census 2021",
        **fields,
    }
    return client.post_form("/manage/surveys/benchmarks", data, content_type="multipart/form-data")


def test_upload_versions_and_mapping(app, client, signed_in):
    signed_in("officer")
    survey_id, questions = build(client, app)
    response = upload(client, GOOD)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get("/manage/surveys/benchmarks").get_data(as_text=True)
    assert "Version 1" in page and "officer@north-csp.example" in page
    with app.app_context():
        set_id = db.session.scalars(sa.select(BenchmarkSet.id)).one()
    assert "16-24" in client.get(f"/manage/surveys/benchmarks/{set_id}").get_data(as_text=True)
    # Map the age question to the benchmark's categories.
    path = f"/manage/surveys/{survey_id}/questions/{questions['age_band']}"
    assert "16-24" in client.get(f"{path}?variable=age_band").get_data(as_text=True)
    response = client.post_form(
        f"{path}/demographic",
        {"variable": "age_band", "map_aged_16_24": "16-24", "map_aged_25_plus": "Over 25"},
        token_from=path,
    )
    assert response.status_code == 400
    assert "not a age_band category" in response.get_data(as_text=True)
    response = client.post_form(
        f"{path}/demographic",
        {"variable": "age_band", "map_aged_16_24": "16-24", "map_aged_25_plus": "25+"},
        token_from=path,
    )
    assert response.status_code == 302
    with app.app_context():
        question = db.session.get(Question, questions["age_band"])
        assert question.demographic == "age_band"
        assert {o.code: o.benchmark_category for o in question.choices} == {
            "aged_16_24": "16-24",
            "aged_25_plus": "25+",
        }
    # The page offers to check a new version against the survey first.
    page = client.get("/manage/surveys/benchmarks").get_data(as_text=True)
    assert f'<option value="{survey_id}" selected>Feeling safe (/s/safe-2026)</option>' in page
    # A new version checked against the survey: an unmapped category is refused.
    response = upload(client, GOOD.replace("25+", "25-plus"), check=str(survey_id))
    assert response.status_code == 400
    assert "25-plus&#39; is not a category any age_band question maps to" in response.get_data(
        as_text=True
    )
    assert f'<option value="{survey_id}" selected>' in response.get_data(as_text=True)
    response = upload(client, GOOD, check="999999")
    assert response.status_code == 400
    assert 'href="#check">Choose a survey to check the categories against' in response.get_data(
        as_text=True
    )
    assert upload(client, GOOD, check=str(survey_id)).status_code == 302
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(BenchmarkSet.version))) == [1, 2]
        assert (
            len(
                db.session.scalars(
                    sa.select(AuditEvent).filter_by(action="benchmarks_imported")
                ).all()
            )
            == 2
        )


def test_bad_shares_are_named_and_nothing_saved(app, client, signed_in):
    signed_in("officer")
    response = upload(
        client,
        "variable,category,population_share\nage_band,16-24,0.5\nage_band,25+,0.7\nshoe_size,9,1\n",
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "age_band: shares add up to 1.2000" in body
    assert "line 4: unknown variable &#39;shoe_size&#39;" in body
    response = upload(client, "")
    assert response.status_code == 400 and "Choose a file" not in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(BenchmarkSet.id))) == 0


def test_the_command_imports_benchmarks_all_or_nothing(app, accounts, tmp_path):
    accounts.partnership("mid-csp", "Mid")
    bad = tmp_path / "bad.csv"
    bad.write_text("variable,category,population_share\nage_band,16-24,0.5\nage_band,25+,0.7\n")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["consult", "import-benchmarks", str(bad), "--partnership", "mid-csp"]
    )
    assert result.exit_code == 1
    assert "age_band: shares add up to 1.2000" in result.output
    assert "Nothing was imported" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(BenchmarkSet.id))) == 0
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    result = runner.invoke(
        args=["consult", "import-benchmarks", str(good), "--partnership", "mid-csp"]
    )
    assert result.exit_code == 0, result.output
    assert "Imported benchmarks version 1 (2 rows) for mid-csp" in result.output


def test_viewer_cannot_upload_and_other_partnership_cannot_see(app, client, signed_in, accounts):
    from conftest import sign_in

    signed_in("officer")
    assert upload(client, GOOD).status_code == 302
    with app.app_context():
        set_id = db.session.scalars(sa.select(BenchmarkSet.id)).one()
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("viewer"))
    token = client.csrf_token("/manage")
    response = client.post(
        "/manage/surveys/benchmarks",
        data={"csrf_token": token, "file": (io.BytesIO(GOOD.encode()), "b.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    client.post_form("/sign-out", {}, token_from="/manage")
    sign_in(client, accounts.user("officer", partnership="south-csp"))
    assert client.get(f"/manage/surveys/benchmarks/{set_id}").status_code == 404
    assert "No benchmarks yet" in client.get("/manage/surveys/benchmarks").get_data(as_text=True)


def test_demographic_mapping_rules(app_context):
    import pytest
    from test_build_services import make_survey, q

    from consult.services import builder
    from consult.services.benchmarks import import_benchmarks

    survey = make_survey()
    import_benchmarks(survey.partnership, GOOD)
    with pytest.raises(ServiceError, match="Only single-choice"):
        builder.set_demographic(q(survey, "other"), "age_band", {})
    with pytest.raises(ServiceError, match="Unknown demographic variable"):
        builder.set_demographic(q(survey, "age_band"), "star_sign", {})
    builder.set_demographic(
        q(survey, "age_band"), "age_band", {"aged_16_24": "16-24", "prefer_not_to_say": "25+"}
    )
    # A non-answer never counts towards a category.
    assert {o.code: o.benchmark_category for o in q(survey, "age_band").choices}[
        "prefer_not_to_say"
    ] is None
    with pytest.raises(ServiceError, match="Only single-choice"):
        builder.set_demographic(q(survey, "priorities"), "age_band", {})
    builder.create_question(
        survey, survey.sections[0], key="age_again", type="single", prompt="Age?"
    )
    with pytest.raises(ServiceError, match="already asks about age_band"):
        builder.set_demographic(q(survey, "age_again"), "age_band", {})
