"""Double-keying comparison: a batch of paper forms keyed twice.

Run from the repository root:  python bench/bench_keying.py [--forms N]

Builds a temporary SQLite database with a 20-question survey and N forms
(default 500) keyed twice, one answer in twenty differing between the
keyings, then times `cleaning.keyed_forms` (what the comparison page and the
fieldwork monitor's keyed / verified counts use), which reads the batch's
answers in one query per thousand responses. Reference, in the same run: the
same comparison reading each response's answers with its own query
(`answers.load_answers`), as the first version of the page did."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms", type=int, default=500)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="consult-bench-keying-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from consult import create_app
    from consult.extensions import db
    from consult.models import Answer, Response
    from consult.services import cleaning
    from consult.services.accounts import create_partnership
    from consult.services.answers import load_answers
    from consult.services.path import ordered_questions
    from consult.services.surveys import add_question, add_section, create_survey

    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'b.sqlite3'}"}
    )
    with app.app_context():
        upgrade()
        partnership = create_partnership("bench", "Bench")
        survey = create_survey(partnership, slug="keying", title={"en": "Keying"})
        section = add_section(survey, "main", {"en": "Main"})
        codes = ["a", "b", "c", "d"]
        questions = [
            add_question(
                survey,
                section,
                key=f"q{i}",
                type="single",
                prompt={"en": f"Q{i}"},
                options=[{"code": c, "label": {"en": c}} for c in codes],
            )
            for i in range(20)
        ]
        now = datetime.now(UTC)
        rows = []
        for form in range(args.forms):
            for keying in (1, 2):
                response = Response(
                    survey_id=survey.id,
                    reference=f"K{form}-{keying}",
                    language="en",
                    channel="paper",
                    status="submitted" if keying == 1 else "second_keying",
                    submitted_at=now,
                    batch=f"B1/{form:05d}",
                    keying=keying,
                )
                db.session.add(response)
                db.session.flush()
                for i, question in enumerate(questions):
                    code = codes[(form + i) % 4]
                    if keying == 2 and (form * 20 + i) % 20 == form % 20:
                        code = codes[(form + i + 1) % 4]
                    rows.append(
                        {
                            "response_id": response.id,
                            "question_id": question.id,
                            "option_code": code,
                        }
                    )
        db.session.execute(Answer.__table__.insert(), rows)
        db.session.commit()

        if os.environ.get("PROFILE"):
            import cProfile

            cProfile.runctx(
                "cleaning.keyed_forms(survey, 'B1')", globals(), locals(), sort="cumtime"
            )

        def ours_once() -> list[cleaning.KeyedForm]:
            db.session.expire_all()
            return cleaning.keyed_forms(survey, "B1")

        def reference_once() -> int:
            db.session.expire_all()
            ordered = ordered_questions(survey.questions)
            found = 0
            for form in forms:
                assert form.second is not None
                a, b = load_answers(form.first, ordered), load_answers(form.second, ordered)
                found += sum(
                    cleaning.show(q, a.get(q.key)) != cleaning.show(q, b.get(q.key))
                    for q in ordered
                )
            return found

        forms = ours_once()
        differences = sum(len(f.differences) for f in forms)
        # Best of three each, alternating: the machine is shared.
        ours = theirs = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            reference = reference_once()
            theirs = min(theirs, time.perf_counter() - start)
            start = time.perf_counter()
            ours_once()
            ours = min(ours, time.perf_counter() - start)
        assert reference == differences, (reference, differences)
        print(
            f"{args.forms} forms keyed twice x 20 questions, {differences} differences: "
            f"keyed_forms {ours * 1000:.0f} ms; reference (a query per response) "
            f"{theirs * 1000:.0f} ms; ratio {theirs / ours:.1f}x"
        )


if __name__ == "__main__":
    main()
