"""Printable questionnaire speed: a 40-question survey as a PDF.

Run from the repository root:  python bench/bench_printable.py [--repeat N]

Builds a temporary SQLite database with the 40-question survey of
bench/bench_exports.py (every question type: single, scale, area, grids,
multiple choice, rankings, numbers, free text), its texts in English, Urdu
and Gujarati, and times `consult.services.printable.render_pdf` in each
language (best of N). Reference, in the same process: rendering the same
questionnaire's HTML (the template alone, no typesetting), so the ratio shows
what typesetting and shaping cost. Urdu is set in Nastaliq, the slowest
script to shape.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

URDU = "آپ اپنے علاقے میں کتنا محفوظ محسوس کرتے ہیں"
GUJARATI = "તમે તમારા વિસ્તારમાં કેટલું સુરક્ષિત અનુભવો છો"


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="consult-bench-printable-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    from bench_exports import build_survey
    from flask_migrate import upgrade

    from consult import create_app
    from consult.extensions import db
    from consult.services.accounts import create_partnership
    from consult.services.content import set_text
    from consult.services.path import ordered_questions
    from consult.services.printable import render_html, render_pdf

    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}"}
    )
    with app.app_context(), app.test_request_context():
        upgrade()
        partnership = create_partnership("bench", "Bench Community Safety Partnership")
        partnership.return_address = "Community Safety Team\nFREEPOST BENCH\nLeicester LE1 1AA"
        db.session.commit()
        survey = build_survey("bench-printable")
        survey.languages = ["en", "ur", "gu"]
        for question in ordered_questions(survey.questions):
            for language, words in (("ur", URDU), ("gu", GUJARATI)):
                set_text(survey, f"q.{question.key}.prompt", language, f"{words} ({question.key})")
                for option in question.options:
                    prefix = "i" if option.kind == "item" else "o"
                    set_text(survey, f"{prefix}.{question.key}.{option.code}", language, words[:12])
        db.session.commit()
        questions = len(survey.questions)
        print(f"survey: {questions} questions, languages en, ur, gu; best of {args.repeat}")
        render_pdf(survey, "en")  # fonts and WeasyPrint's caches warm
        for language in ("en", "ur", "gu"):
            reference, _html = best(lambda lang=language: render_html(survey, lang), args.repeat)
            seconds, pdf = best(lambda lang=language: render_pdf(survey, lang), args.repeat)
            assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
            print(
                f"{language}: PDF {seconds:.2f} s ({len(pdf) / 1024:.0f} KB); HTML alone "
                f"(reference) {reference * 1000:.0f} ms; ratio {seconds / reference:.0f}x"
            )


if __name__ == "__main__":
    main()
