"""Low findings of the hostile test (issue 13), re-run: each once gave a 500.

* a benchmark CSV with a field over the csv module's 131,072-character limit;
* `/manage/audit?page=99999999999999999999` (an offset no database integer holds);
* and, found beside them, a benchmark base of `1e400` (infinite) and a NUL
  character in a benchmark file."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_build_benchmarks import GOOD, upload

from consult.extensions import db
from consult.models import BenchmarkSet
from consult.services.benchmarks import BenchmarkFileError, parse_benchmarks

LONG = "x" * 140_000
HOSTILE_CSV = {
    "long-field": (
        f'variable,category,population_share\nage_band,16-24,0.2\nage_band,"{LONG}",0.8\n',
        "line 3: a value is longer than 131,072 characters",
    ),
    "long-header": (f'variable,category,"{LONG}"\n', "line 1: a value is longer than 131,072"),
    "unclosed-quote": (
        'variable,category,population_share\nage_band,"16-24,0.2\n' + "y" * 140_000,
        "a value is longer than 131,072 characters",
    ),
    "infinite-base": (
        "variable,category,population_share,base\nage_band,16-24,1,1e400\n",
        "line 2: base '1e400' is not a whole number",
    ),
    "nul": (
        "variable,category,population_share\nage_band,16\x0024,1\n",
        "line 2: the line contains a NUL character",
    ),
}


@pytest.mark.parametrize("name", HOSTILE_CSV)
def test_hostile_benchmark_files_are_refused_with_the_line(name):
    content, message = HOSTILE_CSV[name]
    with pytest.raises(BenchmarkFileError) as error:
        parse_benchmarks(content)
    assert message in error.value.problems[0], error.value.problems


@pytest.mark.parametrize("name", HOSTILE_CSV)
def test_hostile_benchmark_uploads_get_a_clear_400(app, client, signed_in, name):
    signed_in("officer")
    content, message = HOSTILE_CSV[name]
    response = upload(client, content)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body.replace("&#39;", "'"), body[:3000]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(BenchmarkSet.id))) == 0
    # The page still works, and a good file afterwards is taken.
    assert upload(client, GOOD).status_code == 302


@pytest.mark.parametrize(
    "page", ["99999999999999999999", str(2**63), "1000001", "-99999999999999999999"]
)
def test_an_audit_page_past_any_real_log_is_not_a_500(client, signed_in, page):
    signed_in("admin")
    response = client.get(f"/manage/audit?page={page}")
    if page.startswith("-"):
        assert response.status_code == 200  # read as the first page
    else:
        assert response.status_code == 404
    assert client.get("/manage/audit?page=1000000").status_code == 200
    assert client.get("/manage/audit?page=nonsense").status_code == 200
