"""Export speed and memory: 100,000 responses x 40 questions.

Run from the repository root:  python bench/bench_exports.py [--responses N] [--keep]

Builds a temporary SQLite database (migrations, a partnership with Leicester's
Census 2021 margins, a 40-question survey of every question type: single,
scale, area, grid, multiple choice, ranking, number and free text), bulk
inserts the responses, then times each export to a file:

* the weighting the exports use (`compute_results`, cached afterwards, as in
  the app: the first export after new responses pays for it), which reads
  the answers through the same reader as the exports
  (`consult.services.frames.read_answers`);
* CSV, JSON, Excel and SPSS, each written whole;
* a reference: a plain `csv.writer` over the same rows, already in memory,
  so the CSV ratio shows what fetching and pivoting the answers costs.

Memory: tracemalloc's peak for the CSV export of the full survey and of a
tenth of it, in a second pass (tracemalloc slows Python down, so timings come
from the first pass). Flat memory means the two peaks are close. The process's
peak resident size is printed at the end.

Targets (DESIGN.md): CSV under 5 s; Excel and SPSS under 30 s. The script
prints PASS or MISS for each and never fails for being slow.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"csv": 5.0, "xlsx": 30.0, "sav": 30.0}
SCALE = [
    "strongly_agree",
    "tend_to_agree",
    "neither",
    "tend_to_disagree",
    "strongly_disagree",
    "dont_know",
]
SAFE = ["very_safe", "fairly_safe", "a_bit_unsafe", "very_unsafe", "dont_know"]
ITEMS = ["item_a", "item_b", "item_c", "item_d"]
PRIORITY = ["asb", "burglary", "violence", "knives", "drugs", "alcohol", "vehicles", "hate_crime"]
WORDS = "the street lights on our road have been out for weeks and people feel unsafe".split()


def label(code: str) -> dict[str, str]:
    return {"en": code.replace("_", " ").capitalize()}


def build_survey(slug: str):
    """40 questions: 4 demographic, 22 single/scale, 4 grids, 4 multiple
    choice, 2 rankings, 2 numbers, 2 free text."""
    from sqlalchemy import select

    from consult.extensions import db
    from consult.models import Partnership
    from consult.services.surveys import add_bank_question, add_question, add_section, create_survey

    partnership = db.session.scalars(select(Partnership).filter_by(slug="bench")).one()
    survey = create_survey(
        partnership, slug=slug, title={"en": f"Bench {slug}"}, languages=["en", "ur"]
    )
    section = add_section(survey, "main", {"en": "Main"})
    for key in ("age_band", "sex", "ethnic_group", "area"):
        add_bank_question(survey, section, key)
    for i in range(22):
        codes = SAFE if i % 2 else SCALE
        add_question(
            survey,
            section,
            key=f"q{i:02d}",
            type="single" if i % 2 else "scale",
            prompt={"en": f"Question {i}"},
            options=[{"code": c, "label": label(c), "is_missing": c == "dont_know"} for c in codes],
        )
    for i in range(4):
        add_question(
            survey,
            section,
            key=f"grid{i}",
            type="grid",
            prompt={"en": f"Grid {i}"},
            options=[{"code": c, "label": label(c), "is_missing": c == "dont_know"} for c in SCALE],
            items=[{"code": c, "label": label(c)} for c in ITEMS],
        )
    for i in range(4):
        add_question(
            survey,
            section,
            key=f"multi{i}",
            type="multiple",
            prompt={"en": f"Multiple {i}"},
            options=[{"code": c, "label": label(c)} for c in PRIORITY[:6]],
        )
    for i in range(2):
        add_question(
            survey,
            section,
            key=f"rank{i}",
            type="ranking",
            prompt={"en": f"Priorities {i}"},
            options=[{"code": c, "label": label(c)} for c in PRIORITY],
            settings={"top_n": 3},
        )
    for i in range(2):
        add_question(survey, section, key=f"num{i}", type="number", prompt={"en": f"Number {i}"})
    for i in range(2):
        add_question(survey, section, key=f"text{i}", type="text", prompt={"en": f"Comments {i}"})
    survey.status = "closed"
    db.session.commit()
    return survey


def insert_responses(survey, n: int, seed: int) -> int:
    """Bulk insert through the DB-API: executemany of plain tuples."""
    from consult.extensions import db
    from consult.services.path import ordered_questions

    rng = np.random.default_rng(seed)
    # Everything read from the session before the raw connection starts
    # writing: SQLite would otherwise lock the session's reads out.
    questions = [
        (q.id, q.type, [o.code for o in q.choices], [i.code for i in q.items])
        for q in ordered_questions(survey.questions)
    ]
    survey_id = survey.id
    db.session.commit()
    connection = db.engine.raw_connection()
    cursor = connection.cursor()
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM response")
    first = cursor.fetchone()[0] + 1
    ids = np.arange(first, first + n)
    cursor.executemany(
        "INSERT INTO response (id, survey_id, reference, language, channel, status, started_at,"
        " updated_at, submitted_at, keying, stream) VALUES (?,?,?,?,?,?,?,?,?,1,'open')",
        [
            (
                int(i),
                survey_id,
                f"B{seed}-{i:08d}",
                "ur" if i % 7 == 0 else "en",
                "online",
                "submitted",
                "2026-01-01 10:00:00",
                "2026-01-01 10:10:00",
                "2026-01-01 10:10:00",
            )
            for i in ids
        ],
    )
    rows: list[tuple] = []
    total = 0
    for qid, qtype, choices, items in questions:
        if qtype in ("single", "scale", "area"):
            picks = rng.integers(0, len(choices), n)
            answered = rng.random(n) < 0.97
            rows.extend(
                (int(r), qid, "", choices[p], None, None, None)
                for r, p, a in zip(ids, picks, answered, strict=True)
                if a
            )
        elif qtype == "grid":
            for item in items:
                picks = rng.integers(0, len(choices), n)
                rows.extend(
                    (int(r), qid, item, choices[p], None, None, None)
                    for r, p in zip(ids, picks, strict=True)
                )
        elif qtype == "multiple":
            ticks = rng.random((n, len(choices))) < 0.3
            for j, code in enumerate(choices):
                rows.extend((int(r), qid, "", code, None, None, None) for r in ids[ticks[:, j]])
        elif qtype == "ranking":
            order = np.argsort(rng.random((n, len(choices))), axis=1)[:, :3]
            for rank in range(3):
                rows.extend(
                    (int(r), qid, "", choices[c], rank + 1, None, None)
                    for r, c in zip(ids, order[:, rank], strict=True)
                )
        elif qtype == "number":
            values = rng.integers(0, 80, n)
            rows.extend(
                (int(r), qid, "", "", None, float(v), None)
                for r, v in zip(ids, values, strict=True)
            )
        elif qtype == "text":
            has = rng.random(n) < 0.3
            rows.extend(
                (
                    int(r),
                    qid,
                    "",
                    "",
                    None,
                    None,
                    " ".join(WORDS[: 3 + int(r) % 12]) if r % 50 else '=HYPERLINK("x")',
                )
                for r in ids[has]
            )
        if len(rows) > 500_000:
            cursor.executemany(
                "INSERT INTO answer (response_id, question_id, item_code, option_code, rank, number, text)"
                " VALUES (?,?,?,?,?,?,?)",
                rows,
            )
            total += len(rows)
            rows = []
    cursor.executemany(
        "INSERT INTO answer (response_id, question_id, item_code, option_code, rank, number, text)"
        " VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    total += len(rows)
    connection.commit()
    connection.close()
    return total


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--reuse", metavar="DIR", help="reuse the data set a --keep run left in DIR"
    )
    args = parser.parse_args()

    workdir = (
        Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="consult-bench-exports-"))
    )
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from consult import create_app
    from consult.extensions import db
    from consult.services import exports
    from consult.services.accounts import create_partnership
    from consult.services.benchmarks import import_benchmarks
    from consult.services.results import compute_results
    from consult.services.seed import margins_csv

    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}"}
    )
    n = args.responses
    small_n = max(1, n // 10)
    with app.app_context():
        if args.reuse:
            from consult.models import Answer, Survey

            big = db.session.scalars(sa.select(Survey).filter_by(slug="bench-big")).one()
            small = db.session.scalars(sa.select(Survey).filter_by(slug="bench-small")).one()
            n = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(sa.text("response"))
                .where(sa.text(f"survey_id = {big.id}"))
            )
            small_n = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(sa.text("response"))
                .where(sa.text(f"survey_id = {small.id}"))
            )
            answers, seconds = db.session.scalar(sa.select(sa.func.count(Answer.id))), 0.0
        else:
            upgrade()
            partnership = create_partnership("bench", "Bench partnership")
            import_benchmarks(partnership, margins_csv(), note="bench")
            db.session.commit()
            big = build_survey("bench-big")
            small = build_survey("bench-small")
            seconds, answers = timed(lambda: insert_responses(big, n, 1))
            insert_responses(small, small_n, 2)
        size = (workdir / "bench.sqlite3").stat().st_size / 1e6
        print(
            f"data set: {n:,} responses x {len(big.questions)} questions, {answers:,} answer rows "
            f"(inserted in {seconds:.1f} s); a second survey of {small_n:,} responses; "
            f"database file {size:.0f} MB"
        )

        seconds, _ = timed(lambda: compute_results(big))
        print(f"weighting and results (compute_results, then cached): {seconds:.2f} s")

        files = {}
        results = {}
        for fmt in ("csv", "json", "xlsx", "sav"):
            export = exports.prepare_export(
                big, format=fmt, role="officer", language="en", weighted=True
            )
            path = workdir / f"export.{fmt}"
            with path.open("wb") as f:
                seconds, _ = timed(lambda export=export, f=f: exports.write_export(export, f))
            results[fmt] = seconds
            files[fmt] = path

        # Reference: the same rows, already in memory, through a plain csv.writer.
        export = exports.prepare_export(
            big, format="csv", role="officer", language="en", weighted=True
        )
        rows = [
            row
            for chunk in exports.iter_chunks(big, export.variables, export.weighting)
            for row in chunk.tolist()
        ]
        with (workdir / "reference.csv").open("w", newline="", encoding="utf-8") as f:
            reference, _ = timed(lambda f=f, rows=rows: csv.writer(f).writerows(rows))
        del rows

        print(f"\n{'export':<8}{'seconds':>10}{'size MB':>10}{'vs csv.writer':>16}  target")
        print(
            f"{'csv.writer':<8}{reference:>10.2f}{(workdir / 'reference.csv').stat().st_size / 1e6:>10.1f}{1.0:>16.1f}  (reference)"
        )
        for fmt, seconds in results.items():
            target = TARGETS.get(fmt)
            verdict = (
                ""
                if target is None
                else f"{'PASS' if seconds < target else 'MISS'} (< {target:g} s)"
            )
            print(
                f"{fmt:<8}{seconds:>10.2f}{files[fmt].stat().st_size / 1e6:>10.1f}{seconds / reference:>16.1f}  {verdict}"
            )

        print("\nmemory (tracemalloc peak, CSV export written to a file):")
        peaks = {}
        for survey, count in ((small, small_n), (big, n)):
            export = exports.prepare_export(
                survey, format="csv", role="officer", language="en", weighted=True
            )
            tracemalloc.start()
            with (workdir / "memory.csv").open("wb") as f:
                exports.write_export(export, f)
            peaks[count] = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            print(f"  {count:>8,} responses: {peaks[count]:.1f} MB")
        ratio = peaks[n] / peaks[small_n] if peaks[small_n] else float("nan")
        verdict = "PASS" if ratio < 2 else "MISS"
        print(
            f"  ten times the responses, {ratio:.2f} times the memory: {verdict} (flat: under 2x)"
        )
        print(
            f"process peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
    if args.keep or args.reuse:
        print(f"files kept in {workdir}")
    else:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
