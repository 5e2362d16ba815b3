"""The question results pages: every question listed with its results, a
page per question with the cross-tab chooser, and free-text answers that
officers code with themes and viewers read."""

from __future__ import annotations

import re

import pytest
from conftest import sign_in
from own_survey import POLISH, URDU, build_own_survey

from consult.extensions import db
from consult.models import AnswerTheme, Survey, TextTheme
from consult.services.question_results import clear_cache as clear_question_cache
from consult.services.results import clear_cache


@pytest.fixture
def own(app, accounts):
    clear_cache()
    clear_question_cache()
    accounts.partnership()
    with app.app_context():
        survey_id = build_own_survey()
        survey = db.session.get(Survey, survey_id)
        ids = {q.key: q.id for q in survey.questions}
    return survey_id, ids


def _page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    return response.get_data(as_text=True)


def test_every_question_page_lists_each_question_with_its_results(client, own):
    survey_id, ids = own
    sign_in(client, "viewer@north-csp.example")
    html = _page(client, f"/manage/surveys/{survey_id}/results/questions")
    for prompt in (
        "How safe do you feel in the town centre?",
        "How have you contacted us?",
        "How good are these?",
        "What should come first?",
        "Years lived here?",
        "Anything else?",
    ):
        assert prompt in html
    assert 'id="list-feel_safe-positive"' in html  # the officer's grouping
    assert "Feel safe" in html
    assert 'id="number-years"' in html and "Weighted median" in html
    assert 'id="ranking-prio"' in html
    assert "Street lighting" in html  # a grid row
    assert "8 written answers" in html
    # The results sub-navigation leads here.
    overview = _page(client, f"/manage/surveys/{survey_id}/results")
    assert f"/manage/surveys/{survey_id}/results/questions" in overview


def test_question_page_cross_tab_by_sex_language_and_channel(client, own):
    survey_id, ids = own
    sign_in(client, "viewer@north-csp.example")
    base = f"/manage/surveys/{survey_id}/results/questions/{ids['feel_safe']}"
    html = _page(client, base)
    assert '<option value="sex">' in html and '<option value="language">' in html
    html = _page(client, base + "?by=sex")
    table = html[html.index('id="crosstab-table"') :]
    # 12 women and 26 men answered: both below the minimum base of 30.
    assert table.count("Too few answers to report") == 2
    html = _page(client, base + "?by=channel")
    assert "Online" in html
    _page(client, base + "?by=shoe_size", status=400)
    years = _page(client, f"/manage/surveys/{survey_id}/results/questions/{ids['years']}?by=sex")
    assert "Weighted mean" in years


def test_free_text_read_search_and_theme_ticking(app, client, own):
    survey_id, ids = own
    path = f"/manage/surveys/{survey_id}/results/questions/{ids['comments']}"
    sign_in(client, "officer@north-csp.example")
    html = _page(client, path)
    assert re.search(r'lang="ur" dir="rtl">' + re.escape(URDU), html)
    assert re.search(r'lang="pl" dir="ltr">' + re.escape(POLISH), html)
    assert "Answered in Urdu" in html and "Answered in Polish" in html
    assert "8 of 8 answers" in _page(client, path)
    assert "3 of 8 answers" in _page(client, path + "?search=o%C5%9Bwietlenie")
    assert "3 of 8 answers" in _page(client, path + "?lang=ur")

    # Without a CSRF token nothing is stored.
    assert client.post(path + "/themes", data={"label": "Lighting"}).status_code == 400
    response = client.post_form(path + "/themes", {"label": "Street lighting"}, token_from=path)
    assert response.status_code == 302
    bad = client.post_form(path + "/themes", {"label": ""}, token_from=path)
    assert bad.status_code == 400 and "Enter the theme" in bad.get_data(as_text=True)
    with app.app_context():
        theme = db.session.scalars(db.select(TextTheme)).one()
        theme_id = theme.id
    html = _page(client, path + "?lang=ur")
    rid = int(re.search(r'id="answer-(\d+)"', html).group(1))
    tick = f"{path}/answers/{rid}/themes"
    assert client.post_form(tick, {"theme": str(theme_id)}, token_from=path).status_code == 302
    assert client.post_form(tick, {"theme": str(theme_id)}, token_from=path).status_code == 302
    assert client.post_form(tick, {"theme": "99999"}, token_from=path).status_code == 400
    assert client.post_form(tick, {"theme": "x"}, token_from=path).status_code == 400
    wrong = f"{path}/answers/999999/themes"
    assert client.post_form(wrong, {"theme": str(theme_id)}, token_from=path).status_code == 404
    with app.app_context():
        assert db.session.scalars(db.select(AnswerTheme)).all().__len__() == 1
    html = _page(client, path + f"?theme={theme_id}")
    assert "1 of 8 answers" in html
    listing = _page(client, f"/manage/surveys/{survey_id}/results/questions")
    assert "Answers mentioning each theme" in listing


def test_viewer_reads_themes_and_cannot_change_them(app, client, own):
    survey_id, ids = own
    path = f"/manage/surveys/{survey_id}/results/questions/{ids['comments']}"
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        theme = TextTheme(
            survey_id=survey_id, question_id=ids["comments"], code="lights", label="Lights"
        )
        db.session.add(theme)
        db.session.commit()
        assert survey is not None
    sign_in(client, "viewer@north-csp.example")
    html = _page(client, path)
    assert "Themes: none ticked" in html
    assert "Add a theme" not in html and "Save themes" not in html
    token = client.csrf_token(path)
    assert (
        client.post(path + "/themes", data={"label": "X", "csrf_token": token}).status_code == 403
    )


def test_other_partnership_and_other_survey_get_404(app, client, accounts, own):
    survey_id, ids = own
    accounts.user("officer", partnership="south-csp")
    sign_in(client, "officer@south-csp.example")
    for path in (
        f"/manage/surveys/{survey_id}/results/questions",
        f"/manage/surveys/{survey_id}/results/questions/{ids['comments']}",
    ):
        assert client.get(path).status_code == 404
    token = client.csrf_token("/manage/surveys")
    themes = f"/manage/surveys/{survey_id}/results/questions/{ids['comments']}/themes"
    assert client.post(themes, data={"label": "X", "csrf_token": token}).status_code == 404


def test_question_of_another_survey_is_404(client, own):
    survey_id, ids = own
    sign_in(client, "officer@north-csp.example")
    assert client.get(f"/manage/surveys/{survey_id}/results/questions/999999").status_code == 404


def test_officer_sets_the_summary_share_in_the_builder(app, client, own):
    survey_id, ids = own
    sign_in(client, "officer@north-csp.example")
    listing = _page(client, f"/manage/surveys/{survey_id}/results/questions")
    assert "Feel safe" in listing and "Feel unsafe" not in listing
    path = f"/manage/surveys/{survey_id}/questions/{ids['feel_safe']}"
    page = _page(client, path)
    assert 'name="positive" type="checkbox" value="very_safe" checked' in page
    assert 'value="dont_know"' not in page.split('id="positive"')[1].split("</fieldset>")[0]
    form = {
        "prompt": "How safe do you feel in the town centre?",
        "positive_shown": "1",
        "positive": ["a_bit_unsafe", "very_unsafe"],
        "positive_label": "Feel unsafe",
    }
    assert client.post_form(path, form).status_code == 302
    with app.app_context():
        q = db.session.get(Survey, survey_id).questions
        settings = next(x for x in q if x.key == "feel_safe").settings
        assert settings["positive"] == ["a_bit_unsafe", "very_unsafe"]
        assert settings["positive_label"] == "Feel unsafe"
    html = _page(client, f"/manage/surveys/{survey_id}/results/questions")
    assert "Feel unsafe" in html
    bad = client.post_form(path, {**form, "positive": ["dont_know"]})
    assert bad.status_code == 400
    # Unticking everything removes the grouping; other edits keep it.
    assert client.post_form(path, {"prompt": "Safe?", "positive_shown": "1"}).status_code == 302
    with app.app_context():
        q = db.session.get(Survey, survey_id).questions
        assert "positive" not in next(x for x in q if x.key == "feel_safe").settings
