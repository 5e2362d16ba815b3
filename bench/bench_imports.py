"""Response import speed: 10,000 rows x 40 questions from CSV.

Run from the repository root:  python bench/bench_imports.py [--rows N]

Builds a temporary SQLite database with two identical 40-question surveys of
every question type (the survey of bench/bench_exports.py), fills the first
with N responses, exports it to CSV (our own export format) and imports that
file into the second survey, checking every row against the questions and
the routing and storing it (`consult.services.importing.import_responses`).
Then imports the same file again (stores nothing: every row was imported
before).

Reference, in the same process: reading the same file with a plain
`csv.reader` into lists, so the ratio shows what checking and storing cost.
Target (issue 12): under 10 s for 10,000 rows on SQLite. Prints PASS or MISS
and never fails for being slow.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="consult-bench-imports-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    from bench_exports import build_survey, insert_responses
    from flask_migrate import upgrade

    from consult import create_app
    from consult.extensions import db
    from consult.services import exports
    from consult.services.accounts import create_partnership
    from consult.services.importing import import_responses

    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}"}
    )
    with app.app_context(), app.test_request_context():
        upgrade()
        create_partnership("bench", "Bench partnership")
        db.session.commit()
        source = build_survey("bench-source")
        target = build_survey("bench-target")
        insert_responses(source, args.rows, 1)
        export = exports.prepare_export(source, format="csv", role=None, weighted=False)
        content = b"".join(exports.stream_csv(export))
        # The export does not say whether each resident agreed to the
        # special-category questions; an import must (a `consent` column).
        lines = content.decode("utf-8-sig").split("\r\n")
        lines = [lines[0] + ",consent"] + [line + ",yes" for line in lines[1:] if line]
        content = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
        print(
            f"file: {args.rows:,} rows x {len(source.questions)} questions, "
            f"{len(export.variables)} columns, {len(content) / 1e6:.1f} MB"
        )

        start = time.perf_counter()
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        reference = time.perf_counter() - start
        assert len(rows) == args.rows + 1

        from consult.services.importing import ImportRefused

        try:
            import_responses(target, content, "bench.csv", channel="paper", dry_run=True)
        except ImportRefused as error:
            print(*error.report.problems[:5], sep="\n")
            raise
        db.session.rollback()
        start = time.perf_counter()
        report = import_responses(target, content, "bench.csv", channel="paper")
        db.session.commit()
        seconds = time.perf_counter() - start
        assert report.stored == args.rows, report.problems[:5]

        start = time.perf_counter()
        again = import_responses(target, content, "bench.csv", channel="paper")
        db.session.rollback()
        repeat = time.perf_counter() - start
        assert again.stored == 0 and again.already == args.rows

        verdict = "PASS" if seconds < TARGET else "MISS"
        print(f"plain csv.reader over the file (reference): {reference:.3f} s")
        print(
            f"import {args.rows:,} rows (check + store): {seconds:.2f} s "
            f"({seconds / reference:.0f}x the reference); target {TARGET:.0f} s: {verdict}"
        )
        print(f"import the same file again (nothing stored): {repeat:.2f} s")


if __name__ == "__main__":
    main()
