"""The printable questionnaire: a real PDF, read back with pypdf (every
question and the number beside every answer, in order, routing in words)
and rendered to an image with poppler's pdftoppm (not blank, shaped with the
right Noto face), for the officer who downloads it."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
import sqlalchemy as sa
from PIL import Image
from pypdf import PdfReader
from test_importing import build_survey

from consult.extensions import db
from consult.models import Partnership, SurveyStatus
from consult.services import ServiceError
from consult.services.path import ordered_questions
from consult.services.printable import build_questionnaire, render_pdf
from consult.services.surveys import add_question, add_section, create_survey


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def fonts(pdf: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(pdf))
    names = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def page_image(pdf: bytes, tmp_path, page: int = 1) -> Image.Image:
    source = tmp_path / "q.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "50",
            "-f",
            str(page),
            "-l",
            str(page),
            "-png",
            str(source),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    (image,) = tmp_path.glob("p-*.png")
    return Image.open(image).convert("L")


def ink(image: Image.Image) -> float:
    """Share of the page that is not white."""
    histogram = image.histogram()
    return 1 - sum(histogram[200:]) / sum(histogram)


def test_every_question_and_answer_number_in_order_with_routing_in_words(app_context, tmp_path):
    survey = build_survey()
    survey.partnership.return_address = "Community Safety Team\nFREEPOST NORTH CSP"
    pdf = render_pdf(survey, "en")
    assert pdf.startswith(b"%PDF")
    text = " ".join(pdf_text(pdf).split())
    assert text.startswith("North Safe?")
    expected = [
        "For office use: form serial number",
        "Privacy notice",
        "1. How safe do you feel in the day?",
        "Tick one box.",
        "Very safe 1",
        "Fairly safe 2",
        "Unsafe 3",
        "Don't know 4",
        "2. Were you a victim of crime?",
        "Yes 1",
        "No 2",
        "If you answered ‘No’, go to question 4.",
        "Answer this question only if you answered ‘Yes’ to question 2.",
        "3. Did you report it?",
        "4. Problems?",
        "Select all that apply.",
        "Burglary 1",
        "Anti-social behaviour 2",
        "None of these 3",
        "5. Rank",
        "Write 1 beside the most important, 2 beside the next, and so on, up to 2.",
        "Drugs 1",
        "Speeding 2",
        "Litter 3",
        "6. How worried about",
        "Tick one box in each row.",
        "Very worried 1",
        "Not worried 2",
        "Burglary",
        "Car crime",
        "7. Years lived here",
        "Write a number in the box.",
        "8. Anything else?",
        "Write your answer in the box.",
        "Are you happy to answer these questions?",
        "Yes, I will answer these questions 1",
        "No, skip these questions 2",
        "If you answered ‘No, skip these questions’, go to the end of the questionnaire.",
        "9. Religion",
        "No religion 1",
        "Christian 2",
        "Thank you for taking part.",
        "Please return this form to: Community Safety Team FREEPOST NORTH CSP",
    ]
    position = 0
    for phrase in expected:
        found = text.find(phrase, position)
        assert found >= 0, (
            f"{phrase!r} missing or out of order after …{text[max(0, position - 80) : position]}"
        )
        position = found + len(phrase)
    assert 0.01 < ink(page_image(pdf, tmp_path)) < 0.5


def test_a_go_to_skips_every_question_that_depends_on_the_answer(app_context):
    survey = build_survey()
    reported = next(q for q in survey.questions if q.key == "reported")
    satisfied = add_question(
        survey,
        reported.section,
        key="satisfied",
        type="single",
        prompt={"en": "Satisfied?"},
        show_if={"question": "victim", "in": ["yes"]},
        options=[{"code": "yes", "label": {"en": "Yes"}}],
    )
    db.session.refresh(survey)
    # Straight after "reported": both are skipped by "No".
    order = [q for q in ordered_questions(survey.questions) if q is not satisfied]
    order.insert(order.index(reported) + 1, satisfied)
    for position, question in enumerate(order):
        question.position = position
    db.session.flush()
    questionnaire = build_questionnaire(survey, "en")
    victim = next(q for q in questionnaire.questions if q.key == "victim")
    assert victim.routing == ["If you answered ‘No’, go to question 5."]


def tricky_survey():
    partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).first()
    if partnership is None:
        partnership = Partnership(slug="north-csp", name="North")
        db.session.add(partnership)
        db.session.flush()
    survey = create_survey(
        partnership,
        slug="scripts",
        title={
            "en": "Feeling safe",
            "ur": "آپ کتنا محفوظ محسوس کرتے ہیں؟",
            "gu": "તમે કેટલું સુરક્ષિત અનુભવો છો?",
        },
        languages=["en", "ur", "gu"],
    )
    section = add_section(survey, "main", {"en": "Main"})
    add_question(
        survey,
        section,
        key="safe_dark",
        type="scale",
        prompt={
            "en": "How safe do you feel walking alone after dark?",
            "ur": "اندھیرا ہونے کے بعد اکیلے چلتے ہوئے آپ خود کو کتنا محفوظ محسوس کرتے ہیں؟",
            "gu": "અંધારું થયા પછી એકલા ચાલતી વખતે તમે કેટલું સુરક્ષિત અનુભવો છો?",
        },
        options=[
            {
                "code": "very_safe",
                "label": {"en": "Very safe", "ur": "بہت محفوظ", "gu": "ખૂબ સુરક્ષિત"},
            },
            {"code": "unsafe", "label": {"en": "Unsafe", "ur": "غیر محفوظ", "gu": "અસુરક્ષિત"}},
        ],
    )
    survey.status = SurveyStatus.OPEN
    db.session.flush()
    db.session.refresh(survey)
    return survey


@pytest.mark.parametrize(
    ("language", "face", "direction"),
    [("ur", "Noto-Nastaliq-Urdu", "rtl"), ("gu", "Noto-Sans-Gujarati", "ltr")],
)
def test_urdu_and_gujarati_are_set_in_their_own_noto_face(
    app_context, tmp_path, language, face, direction
):
    survey = tricky_survey()
    assert build_questionnaire(survey, language).direction == direction
    pdf = render_pdf(survey, language)
    assert any(face in name for name in fonts(pdf)), fonts(pdf)
    image = page_image(pdf, tmp_path)
    assert ink(image) > 0.01
    # Right to left: the tick boxes sit at the right-hand edge of the page.
    width, height = image.size
    box_rows = image.crop((0, int(height * 0.3), width, int(height * 0.8)))
    left = ink(box_rows.crop((0, 0, width // 2, box_rows.size[1])))
    right = ink(box_rows.crop((width // 2, 0, width, box_rows.size[1])))
    assert (right > left) if direction == "rtl" else (left > right)


def test_a_language_the_survey_does_not_offer_is_refused(app_context):
    survey = tricky_survey()
    with pytest.raises(ServiceError, match="not offered"):
        build_questionnaire(survey, "pl")


def test_an_officer_downloads_the_pdf_and_sets_the_return_address(app, client, signed_in):
    signed_in("officer")
    with app.app_context():
        survey = build_survey()
        db.session.commit()
        survey_id = survey.id
    page = client.get(f"/manage/surveys/{survey_id}/printable")
    assert page.status_code == 200
    assert "There is no return address yet" in page.get_data(as_text=True)
    saved = client.post_form(
        f"/manage/surveys/{survey_id}/printable",
        {"return_address": "Town Hall\r\nNorth Street"},
    )
    assert saved.status_code == 302
    pdf = client.get(f"/manage/surveys/{survey_id}/printable.pdf?language=ur")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert re.search(r"Town Hall\s+North Street", pdf_text(pdf.data))
    refused = client.get(f"/manage/surveys/{survey_id}/printable.pdf?language=xx")
    assert refused.status_code == 302
    followed = client.get(refused.headers["Location"])
    assert "not offered" in followed.get_data(as_text=True)
    too_long = client.post_form(
        f"/manage/surveys/{survey_id}/printable", {"return_address": "x" * 501}
    )
    assert too_long.status_code == 400


def test_a_viewer_cannot_download_it(app, client, signed_in):
    signed_in("viewer")
    with app.app_context():
        survey = build_survey()
        db.session.commit()
        survey_id = survey.id
    assert client.get(f"/manage/surveys/{survey_id}/printable.pdf").status_code == 403
    assert client.get(f"/manage/surveys/{survey_id}/printable").status_code == 403


def test_the_pdf_follows_every_edit(app_context):
    survey = build_survey()
    first = render_pdf(survey, "en")
    assert render_pdf(survey, "en") == first
    survey.partnership.return_address = "New address"
    assert "New address" in pdf_text(render_pdf(survey, "en"))
    from consult.services.content import set_text

    set_text(survey, "q.victim.prompt", "en", "Has anyone harmed you?")
    db.session.flush()
    db.session.refresh(survey)
    assert "2. Has anyone harmed you?" in " ".join(pdf_text(render_pdf(survey, "en")).split())


def test_the_privacy_notice_names_only_the_topics_the_survey_asks(app_context):
    """A survey whose only special-category question is religion: the printed
    notice and the consent block say religion, not a fixed list of topics."""
    survey = build_survey()
    text = " ".join(pdf_text(render_pdf(survey, "en")).split())
    assert (
        "We do not store your IP address or details of your device with your answers. "
        "Questions on these topics are optional and asked only if you agree: "
        "religion or belief."
    ) in text
    consent = text[text.index("Some questions need your permission") :]
    assert consent.startswith(
        "Some questions need your permission The next questions cover these topics: "
        "Religion or belief The law calls this special category data"
    )
    for claim in ("ethnic", "sexual orientation", "health", "disability"):
        assert claim not in text.lower()
    # Without special-category questions, no such sentence and no consent block.
    religion = next(q for q in survey.questions if q.key == "religion")
    religion.special_category = False
    religion.demographic = None
    religion.section.kind = "standard"
    db.session.flush()
    text = " ".join(pdf_text(render_pdf(survey, "en")).split())
    assert "optional and asked only if you agree" not in text
    assert "Some questions need your permission" not in text


def test_a_form_asking_for_a_postcode_says_what_is_kept(app_context):
    """On paper as on the start page: only the ward (or the sector) is kept."""
    survey = build_survey()
    assert "postcode" not in pdf_text(render_pdf(survey, "en")).lower()
    add_question(
        survey,
        survey.sections[0],
        key="home_postcode",
        type="postcode",
        prompt={"en": "Your postcode?"},
        settings={"keep": "sector"},
        options=[{"code": "e05010458", "label": {"en": "Castle"}}],
    )
    db.session.flush()
    db.session.refresh(survey)  # the new version, as the next request would read it
    text = " ".join(pdf_text(render_pdf(survey, "en")).split())
    assert (
        "We ask for your postcode only to find your area. We keep the area and the first "
        "part of the postcode with its next number (like LE1 5), never your full postcode."
    ) in text
