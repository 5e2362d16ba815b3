"""Drawing the sample stream: 5,000 addresses from 100,000.

Run from the repository root:  python bench/bench_sample_draw.py [--addresses N] [--size N]

Times, in one process:

* the pure draw (`consult.analysis.sampling.draw_sample`), stratified by ward
  over 21 wards, total shared in proportion (median of 5 runs);
* the reference: `numpy.random.Generator.permutation` of the same number of
  rows (median of 5), so the ratio says what stratifying costs over one
  shuffle;
* a second reference for the file: `csv.reader` alone over the same file,
  the floor for any check of it in Python;
* the full service path on a temporary SQLite database
  (`consult.services.sampling.draw_addresses`): reading and checking every
  line of the CSV file (postcodes, duplicate ids and addresses, wards against
  the postcode lookup), the draw, and storing the drawn addresses and one
  code each (bulk INSERTs), committed.

Target (issue 16): the draw under 1 s. Prints PASS or MISS, never fails for
being slow.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 1.0
INWARD = "ABDEFGHJLNPQRSTUWXYZ"


def postcode(i: int) -> str:
    return f"LE{1 + i % 9} {i % 10}{INWARD[i // 10 % 20]}{INWARD[i // 200 % 20]}"


def address_file(count: int, wards: list[str]) -> bytes:
    lines = ["id,address_1,address_2,postcode,ward,tenure"]
    for i in range(count):
        lines.append(
            f"U{i:07d},{i % 400 + 1} Street {i // 400},Leicester,{postcode(i)},"
            f"{wards[i % len(wards)]},{'rented' if i % 3 == 0 else 'owned'}"
        )
    return ("\n".join(lines) + "\n").encode()


def median_time(fn, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=5_000)
    args = parser.parse_args()
    from consult.analysis.sampling import draw_sample

    wards = [f"e0501{n:04d}" for n in range(21)]
    ids = [f"U{i:07d}" for i in range(args.addresses)]
    strata = [wards[i % len(wards)] for i in range(args.addresses)]

    pure = median_time(lambda: draw_sample(ids, strata, args.size, seed=2026))
    rng = np.random.default_rng(2026)
    reference = median_time(lambda: rng.permutation(args.addresses))
    print(f"Pure draw, {args.size:,} from {args.addresses:,} in {len(wards)} strata: {pure:.4f} s")
    print(f"Reference, numpy permutation of {args.addresses:,}: {reference:.4f} s")
    print(f"Ratio: {pure / reference:.1f}x  [{'PASS' if pure < TARGET else 'MISS'} < {TARGET} s]")

    workdir = Path(tempfile.mkdtemp(prefix="consult-bench-sample-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from consult import create_app
    from consult.extensions import db
    from consult.models import Invitation, SampleAddress
    from consult.services.accounts import create_partnership
    from consult.services.address_files import parse_addresses, survey_wards
    from consult.services.postcodes import import_lookup
    from consult.services.sampling import draw_addresses
    from consult.services.surveys import create_survey

    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'b.sqlite3'}"}
    )
    content = address_file(args.addresses, wards)
    with app.app_context(), app.test_request_context():
        upgrade()
        partnership = create_partnership("bench", "Bench")
        lookup = "\n".join(f"{postcode(i)},{wards[i % len(wards)]}" for i in range(4000))
        import_lookup(partnership, "postcode,ward_code\n" + lookup)
        survey = create_survey(partnership, slug="sample", title={"en": "Sample"})
        db.session.commit()

        start = time.perf_counter()
        parse_addresses(content, known_wards=survey_wards(survey), stratum_column="ward")
        parsing = time.perf_counter() - start

        start = time.perf_counter()
        draw_addresses(survey, content, size=args.size, stratum_column="ward", seed=2026)
        db.session.commit()
        full = time.perf_counter() - start
        stored = db.session.scalar(db.select(db.func.count(SampleAddress.id)))
        issued = db.session.scalar(db.select(db.func.count(Invitation.id)))
    import csv
    import io

    start = time.perf_counter()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    reading = time.perf_counter() - start
    size_mb = len(content) / 1e6
    print(f"Reference, csv.reader alone over the file ({len(rows) - 1:,} rows): {reading:.3f} s")
    print(
        f"Reading and checking the file alone ({size_mb:.1f} MB): {parsing:.3f} s  "
        f"[ratio to csv.reader alone {parsing / reading:.1f}x]"
    )
    print(
        f"Full service path on SQLite (check file, draw, store {stored:,} addresses and "
        f"{issued:,} codes, commit): {full:.3f} s  "
        f"[ratio to the reference {full / reference:.0f}x; "
        f"{'PASS' if full < TARGET else 'MISS'} < {TARGET} s]"
    )


if __name__ == "__main__":
    main()
