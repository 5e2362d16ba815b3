"""The sample stream end to end: an officer uploads an address file (a bad
one is refused line by line and nothing is stored), the draw is stored with
its seed and one code per drawn address, residents answer with their code
(once), codes can be cancelled, and the response rate per stratum shows.
The command line draws the same way; retention deletes the addresses."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import sqlalchemy as sa
from conftest import sign_in
from test_respond_support import Resident, build_survey, page_text, responses

from consult.extensions import db
from consult.models import (
    AddressSample,
    AuditEvent,
    Invitation,
    Partnership,
    Response,
    SampleAddress,
    Survey,
)
from consult.services import ServiceError
from consult.services.address_files import AddressFileError, parse_addresses, survey_wards
from consult.services.postcodes import import_lookup
from consult.services.retention import apply_retention
from consult.services.sampling import (
    draw_addresses,
    letter_code,
    sample_summary,
    withdraw_sample,
)
from consult.services.surveys import add_bank_question, add_section, create_survey

WARDS = ("e05000001", "e05000002")
INWARD = "ABDEFGHJLNPQRSTUWXYZ"
URDU_USED = "یہ کوڈ پہلے ہی سروے کا جواب دینے کے لیے استعمال ہو چکا ہے"
URDU_CANCELLED = "یہ کوڈ منسوخ کر دیا گیا ہے"


def postcode(i: int) -> str:
    return f"LE{1 + i % 9} {i % 10}{INWARD[i // 10 % 20]}{INWARD[i // 200 % 20]}"


def address_file(count: int = 60, *, extra: str = "") -> bytes:
    """`count` addresses: two thirds owned, one third rented, in two wards."""
    lines = ["id,address_1,address_2,postcode,ward,tenure"]
    for i in range(count):
        tenure = "rented" if i % 3 == 0 else "owned"
        lines.append(
            f"H{i:04d},{i + 1} Long Lane,Flat {i % 4},{postcode(i)},{WARDS[i % 2]},{tenure}"
        )
    return ("\n".join(lines) + "\n" + extra).encode()


def setup(app, slug: str = "quick") -> int:
    survey_id = build_survey(app, slug)
    with app.app_context():
        partnership = db.session.scalars(sa.select(Partnership).filter_by(slug="north-csp")).one()
        if not db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("postcode_ward"))):
            rows = "\n".join(f"{postcode(i)},{WARDS[i % 2]}" for i in range(200))
            import_lookup(partnership, "postcode,ward_code\n" + rows)
        db.session.commit()
    return survey_id


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (AddressSample, SampleAddress, Invitation)
        )


def upload(client, survey_id: int, content: bytes, **fields: str):
    path = f"/manage/surveys/{survey_id}/sample"
    data = {"file": (io.BytesIO(content), "addresses.csv"), **fields}
    return client.post_form(path, data, content_type="multipart/form-data")


def codes(app, survey_id: int) -> dict[str, tuple[int, str]]:
    """external id -> (address id, the code on its letter)."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(SampleAddress.id, SampleAddress.external_id).filter_by(survey_id=survey_id)
        ).all()
        return {ext: (aid, letter_code(survey_id, aid)) for aid, ext in rows}


# --- bad files ------------------------------------------------------------------------------


def test_a_bad_address_file_gets_every_problem_by_line_and_nothing_is_stored(
    app, client, signed_in
):
    survey_id = setup(app)
    signed_in("officer")
    bad = address_file(
        6,
        extra=(
            "H0001,9 Other Road,,LE1 1AA,e05000001,owned\n"  # line 8: duplicate id
            "H0100,1 long lane,flat 0,le1 0aa,e05000001,owned\n"  # line 9: same address as line 2
            "H0101,3 Short Street,,,e05000001,owned\n"  # line 10: no postcode
            "H0102,4 Short Street,,NOT A CODE,e05000002,owned\n"  # line 11: not a postcode
            ",5 Short Street,,LE2 1AB,e05000002,rented\n"  # line 12: no id
            "H0104,6 Short Street,,LE2 1AD,Narnia,rented\n"  # line 13: unknown ward
            "H0105,,,LE2 1AE,e05000002,rented\n"  # line 14: no address
        ),
    )
    page = upload(client, survey_id, bad, size="3", stratum_column="tenure")
    assert page.status_code == 400
    text = page_text(page)
    assert "nothing was drawn or stored" in text
    problems = re.findall(r"<li>(Line \d+:[^<]*)</li>", page.get_data(as_text=True))
    assert [p.split(":")[0] for p in problems] == [f"Line {n}" for n in range(8, 15)]
    assert "Line 8: the id &#39;H0001&#39; appears twice (first on line 3)" in problems[0]
    assert "same address as line 2" in problems[1]
    assert "postcode is missing" in problems[2]
    assert "is not a UK postcode" in problems[3]
    assert "the id is missing" in problems[4]
    assert "Narnia" in problems[5] and "not one of the survey" in problems[5]
    assert "the address is missing" in problems[6]
    assert counts(app) == (0, 0, 0)


def test_sizes_the_file_cannot_give_are_refused_and_nothing_is_stored(app, client, signed_in):
    survey_id = setup(app)
    signed_in("officer")
    too_many = upload(
        client, survey_id, address_file(30), sizes="rented = 11\nowned = 2", stratum_column="tenure"
    )
    assert too_many.status_code == 400
    assert "Stratum &#39;rented&#39;: cannot draw 11 addresses from its 10" in too_many.get_data(
        as_text=True
    )
    no_column = upload(client, survey_id, address_file(30), size="5", stratum_column="colour")
    assert no_column.status_code == 400 and "no column called" in page_text(no_column)
    for fields in ({"size": "five"}, {"size": ""}, {"size": "3", "seed": "-4"}, {"size": "31"}):
        page = upload(client, survey_id, address_file(30), **fields)
        assert page.status_code == 400, fields
    not_csv = upload(client, survey_id, "id;postcode\n\xff".encode("latin-1"), size="1")
    assert not_csv.status_code == 400
    assert counts(app) == (0, 0, 0)


def test_wards_are_checked_against_the_surveys_ward_question(app):
    with app.app_context():
        from consult.services.accounts import create_partnership

        partnership = create_partnership("south-csp", "South Community Safety Partnership")
        survey = create_survey(partnership, slug="wards", title={"en": "Wards"})
        add_bank_question(survey, add_section(survey, "about", {"en": "About you"}), "area")
        db.session.flush()
        known = survey_wards(survey)
        assert known["abbey"] == "abbey" and known["castle"] == "castle"
        content = (
            "ref,address line 1,Post Code,Ward\n"
            "1,1 Abbey Street,LE1 3AA,Abbey\n"
            "2,2 Castle Street,le13ab,castle\n"
            "3,3 Moon Street,LE1 3AD,Moon\n"
        )
        try:
            parse_addresses(content, known_wards=known)
        except AddressFileError as error:
            assert error.problems == ["Line 4: 'Moon' is not one of the survey's wards"]
        else:
            raise AssertionError("an unknown ward was accepted")
        parsed = parse_addresses(
            content.rsplit("3,", 1)[0], known_wards=known, stratum_column="ward"
        )
        assert [(r.external_id, r.postcode, r.area, r.stratum) for r in parsed.rows] == [
            ("1", "LE1 3AA", "abbey", "abbey"),
            ("2", "LE1 3AB", "castle", "castle"),
        ]


# --- a good draw ----------------------------------------------------------------------------


def test_a_good_file_is_drawn_stored_and_shown(app, client, signed_in):
    survey_id = setup(app)
    signed_in("officer")
    # A blank ward is found from the partnership's postcode lookup.
    content = address_file(60, extra=f"H9999,1 New Road,,{postcode(7)},,owned\n")
    done = upload(client, survey_id, content, size="20", stratum_column="tenure", seed="2026")
    assert done.status_code == 302, page_text(done)[:3000]
    page = client.get(done.location)
    text = page_text(page)
    assert "Drew 20 addresses (seed 2026)" in text
    assert re.search(r"Seed\s+2026", text)
    # 41 owned and 20 rented: 20 shared 13.4 / 6.6 -> 13 and 7.
    assert re.search(r"owned\s+41\s+13\s+0\.3171", text), text
    assert re.search(r"rented\s+20\s+7\s+0\.3500", text)
    assert counts(app) == (1, 20, 20)
    with app.app_context():
        sample = db.session.scalars(sa.select(AddressSample)).one()
        assert sample.seed == 2026 and sample.stratum_column == "tenure"
        assert sample.strata == {
            "owned": {"population": 41, "drawn": 13},
            "rented": {"population": 20, "drawn": 7},
        }
        assert len(sample.file_digest) == 64
        addresses = db.session.scalars(sa.select(SampleAddress)).all()
        assert {a.area for a in addresses} <= set(WARDS)
        assert all(
            abs(a.selection_probability - (13 / 41 if a.stratum == "owned" else 7 / 20)) < 1e-12
            for a in addresses
        )
        first = sorted(a.external_id for a in addresses)
        event = db.session.scalars(sa.select(AuditEvent).filter_by(action="sample_drawn")).one()
        assert event.details["seed"] == 2026 and event.details["drawn"] == 20
        # A second draw is refused while the sample stands.
        survey = db.session.get(Survey, survey_id)
        try:
            draw_addresses(survey, content, size=5)
        except ServiceError as error:
            assert "already has a sample" in error.message
        else:
            raise AssertionError("a second sample was drawn")
        # Unused, it can be withdrawn; the same file and seed draw the same addresses.
        assert withdraw_sample(survey) == 20
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
        draw_addresses(survey, content, size=20, stratum_column="tenure", seed=2026)
        db.session.commit()
        again = sorted(db.session.scalars(sa.select(SampleAddress.external_id)))
        assert again == first


def test_a_draw_without_a_seed_records_a_random_one(app):
    survey_id = setup(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        sample = draw_addresses(survey, address_file(30), size=4)
        db.session.commit()
        assert sample.seed >= 0 and sample.strata == {"all": {"population": 30, "drawn": 4}}


# --- residents with a code ------------------------------------------------------------------


def test_codes_open_the_survey_once_and_mark_the_sample_stream(app, client, signed_in):
    survey_id = setup(app)
    other_id = setup(app, "other")
    with app.app_context():
        for sid in (survey_id, other_id):
            draw_addresses(db.session.get(Survey, sid), address_file(30), size=6, seed=11)
        db.session.commit()
    # The start page offers the code from a letter; the short link keeps the code in the fragment.
    start = client.get("/s/quick").get_data(as_text=True)
    assert 'id="letter-code-link" href="/s/quick/invitation"' in start
    assert client.get("/s/quick/l").location.endswith("/s/quick/invitation")
    invitation_page = client.get("/s/quick/invitation").get_data(as_text=True)
    assert re.search(
        r'<script type="module" src="/assets/v/\w+/js/letter-code\.js"', invitation_page
    )

    mine = codes(app, survey_id)
    [(_, code), (cancel_id, cancelled_code), *_rest] = sorted(mine.values())
    resident = Resident(app.test_client())
    began = resident.post("/invitation", {"code": code})
    assert began.location.endswith("/s/quick/q/safe")
    resident.complete_quick()
    assert resident.submit().status_code == 302
    [response] = responses(app)
    assert response.stream == "sample" and response.status == "submitted"

    # Used twice: a clear 400 page, in Urdu too, and no second response.
    used = Resident(app.test_client()).post("/invitation", {"code": code})
    assert used.status_code == 400 and "This code has already been used" in page_text(used)
    used_ur = Resident(app.test_client()).post("/invitation?lang=ur", {"code": code})
    assert used_ur.status_code == 400 and URDU_USED in page_text(used_ur)
    assert 'lang="ur" dir="rtl"' in used_ur.get_data(as_text=True)

    # Cancelled by the officer (POST, CSRF, audited): refused, in Urdu too.
    signed_in("officer")
    listing = f"/manage/surveys/{survey_id}/sample/addresses"
    cancel = client.post_form(f"{listing}/{cancel_id}/cancel", token_from=listing)
    assert cancel.status_code == 302
    assert client.post(f"{listing}/{cancel_id}/cancel", data={}).status_code == 400  # no CSRF
    cancelled = Resident(app.test_client()).post("/invitation", {"code": cancelled_code})
    assert cancelled.status_code == 400 and "This code has been cancelled" in page_text(cancelled)
    cancelled_ur = Resident(app.test_client()).post("/invitation?lang=ur", {"code": cancelled_code})
    assert cancelled_ur.status_code == 400 and URDU_CANCELLED in page_text(cancelled_ur)

    # A code of another survey is not found here, and the page says to check the survey name.
    [(_, elsewhere), *_] = sorted(codes(app, other_id).values())
    wrong = Resident(app.test_client()).post("/invitation", {"code": elsewhere})
    assert wrong.status_code == 400
    assert "We could not find that code" in page_text(wrong)
    assert "Check the survey name on your letter" in page_text(wrong)
    assert len(responses(app)) == 1 and responses(app, "other") == []

    # The officer's list shows each code's status; rates per stratum count the answer.
    text = page_text(client.get(f"{listing}?status=submitted"))
    assert "1 address." in text and "Submitted" in text
    assert "1 address." in page_text(client.get(f"{listing}?status=cancelled"))
    assert "4 addresses." in page_text(client.get(f"{listing}?status=not_used"))
    found = page_text(client.get(f"{listing}?q=Long+Lane"))
    assert "6 addresses." in found
    with app.app_context():
        summary = sample_summary(db.session.get(Survey, survey_id))
        assert summary is not None
        total = summary.total
        assert (total.drawn, total.started, total.submitted, total.cancelled) == (6, 1, 1, 1)
        assert abs(total.rate - 1 / 6) < 1e-12
        event = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="sample_code_cancelled")
        ).one()
        assert event.target == f"sample_address:{cancel_id}"
        # Used codes keep the sample: it cannot be withdrawn any more.
        try:
            withdraw_sample(db.session.get(Survey, survey_id))
        except ServiceError as error:
            assert "have been used" in error.message
        else:
            raise AssertionError("a used sample was withdrawn")


def test_no_letter_link_without_a_sample_and_viewers_cannot_cancel(
    app, client, signed_in, accounts
):
    survey_id = setup(app)
    assert "letter-code-link" not in client.get("/s/quick").get_data(as_text=True)
    sign_in(client, accounts.user("viewer", partnership="north-csp"))
    empty = page_text(client.get(f"/manage/surveys/{survey_id}/sample"))
    assert "This survey has no sample stream" in empty and "Draw the sample" not in empty
    example = client.get(f"/manage/surveys/{survey_id}/sample/example.csv")
    assert example.get_data().decode("utf-8-sig").startswith("id,address_1,address_2,postcode")
    assert upload(client, survey_id, address_file(12), size="3").status_code == 403
    assert counts(app)[0] == 0
    with app.app_context():
        draw_addresses(db.session.get(Survey, survey_id), address_file(12), size=3, seed=1)
        db.session.commit()
    [(address_id, _code), *_] = sorted(codes(app, survey_id).values())
    listing = f"/manage/surveys/{survey_id}/sample/addresses"
    page = client.get(listing)
    assert page.status_code == 200 and "Cancel code" not in page_text(page)
    assert "Sample stream" in page_text(client.get(f"/manage/surveys/{survey_id}/sample"))
    forbidden = client.post_form(f"{listing}/{address_id}/cancel", token_from=listing)
    assert forbidden.status_code == 403
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Invitation.id)).where(Invitation.cancelled_at.is_not(None))
            )
            == 0
        )


def test_another_partnership_cannot_see_the_sample(app, client, accounts):
    survey_id = setup(app)
    sign_in(client, accounts.user("officer", partnership="south-csp"))
    assert client.get(f"/manage/surveys/{survey_id}/sample").status_code == 404
    assert client.get(f"/manage/surveys/{survey_id}/sample/addresses").status_code == 404


# --- command line and retention -------------------------------------------------------------


def test_the_command_line_draws_and_prints_per_stratum(app, tmp_path):
    setup(app)
    good = tmp_path / "addresses.csv"
    good.write_bytes(address_file(60))
    runner = app.test_cli_runner()
    args = ["consult", "sample-draw", "quick", "--addresses", str(good), "--size", "20"]
    result = runner.invoke(args=[*args, "--stratum-column", "tenure", "--seed", "2026"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "owned: drew 13 of 40 (probability 0.3250)",
        "rented: drew 7 of 20 (probability 0.3500)",
        "Total: drew 20 of 60",
        "Seed: 2026",
    ]
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already has a sample" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(address_file(5, extra="H0001,x,,LE1 1AA,e05000001,owned\n"))
    setup(app, "other")
    failed = runner.invoke(
        args=["consult", "sample-draw", "other", "--addresses", str(bad), "--size", "2"]
    )
    assert failed.exit_code != 0
    assert "Line 7: the id 'H0001' appears twice (first on line 3)" in failed.output
    assert "Nothing was drawn." in failed.output
    missing = runner.invoke(
        args=["consult", "sample-draw", "nope", "--addresses", str(good), "--size", "2"]
    )
    assert missing.exit_code != 0 and "No survey called 'nope'" in missing.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AddressSample.id))) == 1


def test_retention_deletes_the_drawn_addresses_and_their_codes(app):
    survey_id = setup(app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        draw_addresses(survey, address_file(30), size=5, seed=3)
        db.session.commit()
    [(_, code), *_] = sorted(codes(app, survey_id).values())
    resident = Resident(app.test_client())
    resident.post("/invitation", {"code": code})
    resident.complete_quick()
    resident.submit()
    with app.app_context():
        db.session.get(Survey, survey_id).retention_until = date.today() - timedelta(days=1)
        db.session.commit()
        report = apply_retention()
        [outcome] = report.surveys
        assert outcome.sample_addresses == 5
        assert db.session.scalar(sa.select(sa.func.count(SampleAddress.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 0
        # The seed and per-stratum counts stay, as aggregates.
        sample = db.session.scalars(sa.select(AddressSample)).one()
        assert sample.strata == {"all": {"population": 30, "drawn": 5}}
        event = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="retention_applied")
        ).one()
        assert event.details["sample_addresses_deleted"] == 5


def test_a_district_sized_file_passes_the_request_cap(app, client, signed_in):
    survey_id = setup(app)
    signed_in("officer")
    content = address_file(45_000)
    assert len(content) > app.config["MAX_CONTENT_LENGTH"]
    done = upload(client, survey_id, content, size="500", seed="1")
    assert done.status_code == 302
    assert counts(app) == (1, 500, 500)
    # Other requests keep the service's cap.
    big = {"code": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)}
    assert client.post("/s/quick/invitation", data=big).status_code == 413


def test_only_a_signed_in_officer_gets_the_larger_cap(app, client):
    survey_id = setup(app)
    content = address_file(45_000)
    assert len(content) > app.config["MAX_CONTENT_LENGTH"]
    anonymous = client.post(
        f"/manage/surveys/{survey_id}/sample",
        data={"file": (io.BytesIO(content), "addresses.csv"), "size": "5"},
        content_type="multipart/form-data",
    )
    assert anonymous.status_code == 413
    assert counts(app)[0] == 0
